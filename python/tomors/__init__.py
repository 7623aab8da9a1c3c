"""tomors: tomographic reconstruction on the GPU (wgpu) and the CPU.

Quick start::

    import numpy as np, tomors
    grid = tomors.ImageGrid((256, 256), spacing=1.0)
    geom = tomors.ParallelBeam(np.linspace(0, np.pi, 360, endpoint=False), n_cols=363)
    proj = tomors.Projector(geom, grid)              # GPU when there is one, else CPU
    sino = tomors.shepp_logan_sinogram(geom, grid)   # exact line integrals, (360, 363)
    image = tomors.fbp(sino, proj, filter="hann", cutoff=0.9)

Units: mm, 1/mm, radians. Arrays: images ``img[y, x]`` / ``vol[z, y, x]``, projections
``sino[view, col]`` / ``proj[view, row, col]``, float32. Inputs of other real dtypes or
layouts are converted once to C-ordered float32 (a copy); float32 C-contiguous inputs are
used in place. Outputs are new float32 arrays.

SPECT (attenuation and collimator response in the model, OSEM)::

    grid = tomors.ImageGrid((64, 64, 64), spacing=4.0)
    activity, mu = tomors.nema_iec(grid)
    geom = tomors.SpectGeometry(np.linspace(0, 2 * np.pi, 60, endpoint=False), n_cols=64,
                                col_spacing=4.0, radius=250.0,
                                collimator=tomors.Collimator.preset("lehr"))
    spect = tomors.SpectProjector(geom, grid, attenuation=mu)
    counts = np.random.poisson(spect.forward(activity)).astype(np.float32)
    image = tomors.osem(counts, spect, iterations=4, subsets=6)

3D PET (a scanner's sinograms, TOF when the scanner has it; list mode)::

    layout = tomors.SinogramLayout(tomors.PetScanner.generic_tof(), tangential=400, span=3,
                                   max_ring_difference=20)
    pet = tomors.Pet3dProjector(layout, tomors.ImageGrid((48, 96, 96), spacing=4.0),
                                attenuation=mu_511)
    image = tomors.osem(sinogram, pet, iterations=3, subsets=12)
    lm = tomors.io.read_petlink("list.l.hdr", pairs=True)   # histograms, randoms, events
"""

import os as _os


def _private_runtime_dir():
    """Mesa's drivers print "XDG_RUNTIME_DIR is invalid or not set" on every start when it is
    unset (containers, CI, ssh without a login session); tomors draws nothing on a display, so
    a private folder serves, as the command line does. Set before the extension loads wgpu."""
    current = _os.environ.get("XDG_RUNTIME_DIR")
    if current and _os.path.isdir(current):
        return
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="tomors-runtime-")
    _os.environ["XDG_RUNTIME_DIR"] = folder
    atexit.register(shutil.rmtree, folder, True)


_private_runtime_dir()

from . import errors, fusion, io  # noqa: E402
from .batch import BatchReport, batch
from .pet import PetReconResult, recon_pet
from .spect_ct import (
    FusedPetCtResult,
    PetCtResult,
    SpectCtBedsResult,
    SpectCtResult,
    attenuation_coefficients,
    bone_ct_number,
    fuse_pet_ct,
    hu_to_mu,
    pet_ct,
    spect_ct,
)
from ._tomors import (
    FBP,
    Collimator,
    ConeBeam,
    FanBeam,
    ImageGrid,
    Pacs,
    ParallelBeam,
    Pet3dProjector,
    PetProjector,
    PetScanner,
    Prior,
    SinogramLayout,
    Projector,
    SpectGeometry,
    SpectProjector,
    __version__,
    adapters,
    bsrem,
    bsrem_for_noise,
    cgls,
    dual_energy_window,
    fbp,
    fdk,
    lm_osem,
    log_likelihood,
    mlem,
    penalised_log_likelihood,
    nema_iec,
    nema_recovery,
    nema_nu2,
    nema_regions,
    os_sart,
    os_sps,
    osem,
    shepp_logan,
    shepp_logan_sinogram,
    triple_energy_window,
    voi_stats,
)
from .errors import (
    GpuError,
    InvalidArgumentError,
    InvalidGeometryError,
    NoGpuError,
    NonFiniteError,
    ShapeMismatchError,
    TomorsError,
    TomorsIOError,
    DicomError,
    NetworkError,
    TooLargeError,
)

__all__ = [
    "FBP",
    "Collimator",
    "ConeBeam",
    "FanBeam",
    "ImageGrid",
    "Pacs",
    "ParallelBeam",
    "Pet3dProjector",
    "PetProjector",
    "PetScanner",
    "Prior",
    "SinogramLayout",
    "Projector",
    "SpectGeometry",
    "SpectProjector",
    "__version__",
    "adapters",
    "BatchReport",
    "batch",
    "bsrem",
    "bsrem_for_noise",
    "cgls",
    "dual_energy_window",
    "errors",
    "fusion",
    "io",
    "fbp",
    "fdk",
    "lm_osem",
    "log_likelihood",
    "mlem",
    "penalised_log_likelihood",
    "nema_iec",
    "nema_recovery",
    "nema_nu2",
    "nema_regions",
    "os_sart",
    "os_sps",
    "osem",
    "shepp_logan",
    "shepp_logan_sinogram",
    "triple_energy_window",
    "voi_stats",
    "spect_ct",
    "recon_pet",
    "PetReconResult",
    "SpectCtBedsResult",
    "SpectCtResult",
    "pet_ct",
    "PetCtResult",
    "fuse_pet_ct",
    "FusedPetCtResult",
    "hu_to_mu",
    "attenuation_coefficients",
    "bone_ct_number",
    "GpuError",
    "InvalidArgumentError",
    "InvalidGeometryError",
    "NoGpuError",
    "NonFiniteError",
    "ShapeMismatchError",
    "TomorsError",
    "TomorsIOError",
    "DicomError",
    "NetworkError",
    "TooLargeError",
]
