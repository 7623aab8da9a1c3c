"""Type stubs for the compiled extension. Units: mm, 1/mm, radians; arrays float32."""

from typing import Callable, Literal, Optional, Sequence, Union
from pathlib import Path

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
F32Array = npt.NDArray[np.float32]
Geometry = Union["ParallelBeam", "FanBeam", "ConeBeam"]

__version__: str

class Pacs:
    """A PACS over the DICOM network: C-ECHO, C-FIND at study level, C-GET of a whole study
    (into folder/<study UID>/, through a .partial folder), C-STORE of DICOM files. Errors:
    NetworkError (unreachable, association refused, failure status), InvalidArgumentError (bad
    AE titles, host, port or timeout)."""

    def __init__(
        self, host: str, port: int, ae_title: str, calling_ae_title: str = "TOMORS", timeout_s: float = 60.0
    ) -> None: ...
    def echo(self) -> None: ...
    def find_studies(
        self, patient_id: Optional[str] = None, study_date: Optional[str] = None, modality: Optional[str] = None,
        study_uid: Optional[str] = None,
    ) -> list[dict]:
        """One dict per study: study_uid, patient_id, patient_name, study_date, description,
        modalities."""
    def retrieve_study(self, study_uid: str, folder: object) -> tuple[Path, int]:
        """The study's folder and the number of instances received."""
    def store(self, files: Sequence[object]) -> int:
        """How many files were stored."""

class ImageGrid:
    """Regular voxel grid centred on the rotation axis.

    shape: (ny, nx) or (nz, ny, nx); spacing: mm, scalar or per axis (same order);
    origin: centre of voxel 0 in mm (same order), default centred.
    """

    def __init__(
        self,
        shape: Sequence[int],
        spacing: Union[float, Sequence[float], None] = None,
        origin: Optional[Sequence[float]] = None,
    ) -> None: ...
    @property
    def shape(self) -> list[int]: ...
    @property
    def spacing(self) -> list[float]: ...
    @property
    def origin(self) -> list[float]: ...

class ParallelBeam:
    """Parallel beam: angles (radians), n_cols bins of col_spacing mm shifted by col_offset mm,
    n_rows rows (one per slice) of row_spacing mm."""

    def __init__(
        self,
        angles: ArrayLike,
        n_cols: int,
        col_spacing: float = 1.0,
        col_offset: float = 0.0,
        n_rows: int = 1,
        row_spacing: float = 1.0,
    ) -> None: ...
    @property
    def angles(self) -> list[float]: ...
    @property
    def n_cols(self) -> int: ...
    @property
    def n_rows(self) -> int: ...

class FanBeam:
    """Fan beam: source at source_to_center mm from the axis, detector source_to_detector mm
    from the source, flat or arc (equiangular; col_spacing is then arc length in mm)."""

    def __init__(
        self,
        angles: ArrayLike,
        n_cols: int,
        col_spacing: float,
        source_to_center: float,
        source_to_detector: float,
        detector: Literal["flat", "arc"] = "flat",
        col_offset: float = 0.0,
        n_rows: int = 1,
        row_spacing: float = 1.0,
    ) -> None: ...
    @property
    def angles(self) -> list[float]: ...
    @property
    def n_cols(self) -> int: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def max_fan_angle(self) -> float: ...

class ConeBeam:
    """Cone-beam CT: a circular orbit (a helix with pitch mm per turn), detector n_rows x n_cols
    pixels of row_spacing x col_spacing mm at the detector, flat or cylindrical, shifted by
    col_offset/row_offset mm. ConeBeam.from_vectors takes any trajectory as (views, 12) rows:
    source, detector centre, column step u, row step v (mm, ASTRA's cone_vec order)."""

    def __init__(
        self,
        angles: ArrayLike,
        n_rows: int,
        n_cols: int,
        row_spacing: float,
        col_spacing: float,
        source_to_center: float,
        source_to_detector: float,
        detector: Literal["flat", "cylindrical"] = "flat",
        col_offset: float = 0.0,
        row_offset: float = 0.0,
        pitch: float = 0.0,
    ) -> None: ...
    @staticmethod
    def from_vectors(
        vectors: ArrayLike, n_rows: int, n_cols: int, detector: Literal["flat", "cylindrical"] = "flat"
    ) -> ConeBeam: ...
    def vectors(self) -> F32Array:
        """Per-view vectors, shape (views, 12)."""
    @property
    def n_views(self) -> int: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def n_cols(self) -> int: ...
    @property
    def detector(self) -> Literal["flat", "cylindrical"]: ...
    @property
    def data_shape(self) -> list[int]: ...

class Projector:
    """Matched pair A (Joseph forward projection, line integrals in value x mm) and its exact
    adjoint for a ParallelBeam, FanBeam or ConeBeam, planned once on backend "auto" (GPU if
    present), "gpu" or "cpu"."""

    def __init__(
        self,
        geometry: Geometry,
        grid: ImageGrid,
        backend: Literal["auto", "gpu", "cpu"] = "auto",
        max_chunk_bytes: Optional[int] = None,
    ) -> None: ...
    def forward(self, image: ArrayLike) -> F32Array:
        """image: image_shape -> projections: data_shape (new array)."""
    def adjoint(self, data: ArrayLike) -> F32Array:
        """data: data_shape -> image: image_shape (new array), exact transpose of forward."""
    def adjointness_test(self, seed: int = 0) -> float: ...
    def norm(self, iterations: int = 20) -> float: ...
    @property
    def backend(self) -> Literal["cpu", "gpu"]: ...
    @property
    def device(self) -> str: ...
    @property
    def image_shape(self) -> list[int]: ...
    @property
    def data_shape(self) -> list[int]: ...
    @property
    def grid(self) -> ImageGrid: ...

Filter = Literal["ram-lak", "shepp-logan", "cosine", "hamming", "hann"]

class FBP:
    """Reusable filtered back-projection plan (FDK for a ConeBeam); call it on projection data.
    max_buffer_bytes caps each device buffer of an FDK plan (volumes stream in slabs)."""

    def __init__(
        self,
        projector: Projector,
        filter: Filter = "ram-lak",
        cutoff: float = 1.0,
        max_buffer_bytes: Optional[int] = None,
    ) -> None: ...
    def __call__(self, data: ArrayLike) -> F32Array: ...

def fbp(data: ArrayLike, projector: Projector, filter: Filter = "ram-lak", cutoff: float = 1.0) -> F32Array:
    """Filtered back-projection; data in line integrals of mu (1/mm x mm) gives mu in 1/mm."""

def fdk(
    projections: ArrayLike,
    projector: Projector,
    filter: Filter = "ram-lak",
    cutoff: float = 1.0,
    max_buffer_bytes: Optional[int] = None,
) -> F32Array:
    """FDK of cone-beam line integrals (views, rows, cols) with a ConeBeam projector; returns mu
    in 1/mm. Full scan, offset detector (Wang weights) or short scan (Parker) from the geometry."""

def cgls(
    data: ArrayLike,
    projector: Projector,
    iterations: int,
    x0: Optional[ArrayLike] = None,
    callback: Optional[Callback] = None,
) -> F32Array:
    """CGLS least squares on post-log line integrals (no constraint; stop early to regularise);
    callback(iteration, image) returning False stops."""

def shepp_logan(grid: ImageGrid, radius: Optional[float] = None, supersample: int = 1) -> F32Array:
    """Modified Shepp-Logan (max 1.0); radius = head half-height in mm (default: grid's inscribed radius)."""

def shepp_logan_sinogram(geometry: Geometry, grid: ImageGrid, radius: Optional[float] = None) -> F32Array:
    """Exact line integrals of shepp_logan(grid, radius) for every detector bin centre."""

def adapters() -> list[tuple[str, str, str]]:
    """(name, backend, device type) of every wgpu adapter found."""

class Collimator:
    """Parallel-hole collimator-detector response: Gaussian of FWHM
    sqrt((fwhm_at_face + fwhm_slope * b)**2 + intrinsic_fwhm**2) mm at b mm from the face."""

    def __init__(self, fwhm_at_face: float, fwhm_slope: float, intrinsic_fwhm: float = 0.0) -> None: ...
    @staticmethod
    def preset(name: Literal["lehr", "legp", "megp", "hegp"]) -> Collimator: ...
    @staticmethod
    def from_holes(hole_diameter: float, hole_length: float, intrinsic_fwhm: float = 3.8) -> Collimator: ...
    @staticmethod
    def for_camera(name: str, manufacturer: Optional[str] = None, kev: float = 140.0) -> Collimator:
        """A vendor's collimator (GE, Siemens, Mediso) at photon energy `kev`: septal
        penetration as an effective hole length, intrinsic FWHM scaled by sqrt(140 / kev)."""
    @staticmethod
    def from_spec(hole_diameter: float, septal_thickness: float, hole_length: float, kev: float,
                  intrinsic_fwhm_140: float = 3.8) -> Collimator: ...
    fwhm_at_face: float
    fwhm_slope: float
    intrinsic_fwhm: float
    def fwhm(self, distance: float) -> float:
        """System FWHM (mm) at `distance` mm from the collimator face."""

class SpectGeometry:
    """SPECT views at `angles` (radians) on an orbit of `radius` mm (scalar or one per view),
    `n_cols` bins of `col_spacing` mm (= the grid's pixel size), one row per slice."""

    def __init__(
        self,
        angles: Sequence[float],
        n_cols: int,
        col_spacing: float,
        radius: Union[float, Sequence[float]],
        collimator: Optional[Collimator] = None,
        col_offset: float = 0.0,
    ) -> None: ...
    @property
    def angles(self) -> list[float]: ...
    @property
    def radii(self) -> list[float]: ...
    @property
    def n_cols(self) -> int: ...
    @property
    def collimator(self) -> Optional[Collimator]: ...

class SpectProjector:
    """SPECT system model (attenuation by `attenuation`, mu in 1/mm on the grid, and the
    collimator response), a matched pair: vol[z, y, x] <-> proj[view, row, col]."""

    def __init__(
        self,
        geometry: SpectGeometry,
        grid: ImageGrid,
        attenuation: Optional[ArrayLike] = None,
        backend: Literal["auto", "gpu", "cpu"] = "auto",
    ) -> None: ...
    def forward(self, image: ArrayLike) -> F32Array:
        """Expected counts (activity x mm), shape data_shape (new array)."""
    def adjoint(self, data: ArrayLike) -> F32Array:
        """Exact transpose of forward, shape image_shape (new array)."""
    def adjointness_test(self, seed: int = 0) -> float: ...
    def norm(self, iterations: int = 20) -> float: ...
    @property
    def backend(self) -> Literal["cpu", "gpu"]: ...
    @property
    def device(self) -> str: ...
    @property
    def image_shape(self) -> list[int]: ...
    @property
    def data_shape(self) -> list[int]: ...

class Prior:
    """Prior for MAP reconstruction: one-step-late EM (osem) or BSREM (bsrem); 26-neighbourhood,
    inverse-distance weights."""

    @staticmethod
    def quadratic(beta: float) -> Prior: ...
    @staticmethod
    def relative_difference(beta: float, gamma: float = 2.0) -> Prior: ...

class PetProjector:
    """PET 2D model: Joseph line integrals of a ParallelBeam (views over [0, pi)) times
    attenuation factors exp(-A mu) and normalisation factors."""

    def __init__(
        self,
        geometry: ParallelBeam,
        grid: ImageGrid,
        attenuation: Optional[ArrayLike] = None,
        normalisation: Optional[ArrayLike] = None,
        backend: Literal["auto", "gpu", "cpu"] = "auto",
    ) -> None: ...
    def forward(self, image: ArrayLike) -> F32Array:
        """Expected trues m * (A x), shape data_shape (new array)."""
    def adjoint(self, data: ArrayLike) -> F32Array:
        """Exact transpose A^T (m * y), shape image_shape (new array)."""
    def adjointness_test(self, seed: int = 0) -> float: ...
    def norm(self, iterations: int = 20) -> float: ...
    @property
    def factors(self) -> Optional[F32Array]: ...
    @property
    def backend(self) -> Literal["cpu", "gpu"]: ...
    @property
    def device(self) -> str: ...
    @property
    def image_shape(self) -> list[int]: ...
    @property
    def data_shape(self) -> list[int]: ...

EmissionModel = Union[SpectProjector, PetProjector, "Pet3dProjector"]
Callback = Callable[[int, F32Array], Optional[bool]]

def osem(
    data: ArrayLike,
    projector: EmissionModel,
    iterations: int,
    subsets: int,
    background: Optional[ArrayLike] = None,
    x0: Optional[ArrayLike] = None,
    callback: Optional[Callback] = None,
    post_filter_fwhm: Optional[float] = None,
    prior: Optional[Prior] = None,
    max_resident_bytes: Optional[int] = None,
) -> F32Array:
    """OSEM of counts `data` (>= 0); callback(iteration, image) returning False stops early;
    with `prior`, one-step-late MAP-EM. `max_resident_bytes` bounds what the data-sized inputs
    (data, background, factors) take in the backend's memory: above it they stay in host memory
    and each subset's share is sent in turn (the same image)."""

def mlem(
    data: ArrayLike,
    projector: EmissionModel,
    iterations: int,
    background: Optional[ArrayLike] = None,
    x0: Optional[ArrayLike] = None,
    callback: Optional[Callback] = None,
    post_filter_fwhm: Optional[float] = None,
    prior: Optional[Prior] = None,
    max_resident_bytes: Optional[int] = None,
) -> F32Array:
    """MLEM: osem with one subset."""

def triple_energy_window(
    lower: ArrayLike, upper: Optional[ArrayLike], lower_width_kev: float, upper_width_kev: float, peak_width_kev: float
) -> F32Array:
    """TEW scatter estimate (C_l/W_l + C_u/W_u) * W_peak / 2."""

def dual_energy_window(scatter_window: ArrayLike, k: float = 0.5) -> F32Array:
    """DEW scatter estimate k * C_scatter."""

def log_likelihood(data: ArrayLike, projector: EmissionModel, image: ArrayLike, background: Optional[ArrayLike] = None) -> float:
    """Poisson log-likelihood sum(y log ybar - ybar), ybar = A image + background."""

def bsrem(
    data: ArrayLike, projector: EmissionModel, prior: Prior, iterations: int, subsets: int, relaxation: float = 0.3,
    background: Optional[ArrayLike] = None, x0: Optional[ArrayLike] = None,
    callback: Optional[Callable[[int, F32Array], Optional[bool]]] = None, post_filter_fwhm: Optional[float] = None,
) -> F32Array:
    """BSREM: convergent penalised-likelihood reconstruction (relaxed, EM-preconditioned
    ordered-subsets gradient steps, step 1 / (1 + relaxation * n))."""

def batch(
    settings: object, input: object, output: object, progress: Optional[Callable[[str, str], object]] = None
) -> dict:
    """Every study under input, by the pipeline it needs, into output (see tomors.batch)."""

def batch_plan(settings: str, input: object, output: object) -> dict:
    """Checks the settings (TOML text) and folders, creates output, finds the studies: backend,
    pending ((uid, study JSON, memory estimate in bytes) triples), already_done, unreadable."""

def batch_study(settings: str, study: str, output: object) -> str:
    """One study (JSON from batch_plan) into output/<uid>/; its record as JSON."""

def batch_failed(study: str, output: object, why: str) -> str:
    """The failed record (JSON) of a study whose worker never returned one; its .partial removed."""

def batch_log(output: object, record: str) -> None:
    """Appends a record (JSON) to output/batch.jsonl."""

def bsrem_for_noise(
    data: ArrayLike, projector: EmissionModel, prior: Prior, noise: float, region: ArrayLike, iterations: int,
    subsets: int, relaxation: float = 0.3, background: Optional[ArrayLike] = None, x0: Optional[ArrayLike] = None,
    post_filter_fwhm: Optional[float] = None, tolerance: float = 0.03, max_reconstructions: int = 12,
) -> tuple[F32Array, float, float, int]:
    """BSREM with the beta that gives the noise (std / mean over region, non-zero inside):
    (image, beta, noise, reconstructions). The prior's beta starts the search."""

def penalised_log_likelihood(
    data: ArrayLike, projector: EmissionModel, image: ArrayLike, prior: Prior, background: Optional[ArrayLike] = None
) -> float:
    """L(image) - beta * U(image), the objective bsrem maximises."""

def voi_stats(
    image: ArrayLike, spacing: tuple[float, float, float], mask: Optional[ArrayLike] = None,
    level: Optional[float] = None, fraction_of_max: Optional[float] = None, within: Optional[ArrayLike] = None,
) -> dict:
    """Volume-of-interest statistics (voxels, volume_ml, mean, std, max, min, total = sum of
    value x voxel mL) over a mask, or the voxels >= level, or >= fraction_of_max of the maximum."""

def nema_iec(
    grid: ImageGrid, contrast: float = 4.0, background: float = 1.0, mu_water: float = 0.0154, supersample: int = 2
) -> tuple[F32Array, F32Array]:
    """(activity, mu) of the NEMA IEC body-like phantom on a 3D grid (2D: the spheres' plane)."""

def nema_regions(grid: ImageGrid) -> tuple[list[np.ndarray], np.ndarray]:
    """(spheres, background): the six sphere masks (10 to 37 mm) and the background mask on a 3D grid."""

def nema_recovery(image: ArrayLike, grid: ImageGrid, contrast: float = 4.0, background: float = 1.0) -> dict:
    """Recovery per sphere: spheres [(diameter_mm, mean, max)] over the true activity,
    background_recovery and background_noise (std / mean)."""

def nema_nu2(
    image: ArrayLike, grid: ImageGrid, ratio: float = 4.0, cold: Sequence[float] = (), sphere_z: float = 0.0
) -> dict:
    """NEMA NU 2 image quality of a reconstructed NEMA IEC phantom (centred in-plane, spheres at
    z = sphere_z; ``cold``: diameters of the water-filled spheres): spheres [dict: diameter_mm,
    cold, contrast, variability, sphere_mean, background_mean], lung_residual,
    background_centres, table (Markdown, percentages). Fractions, not percentages."""

def os_sps(
    counts: ArrayLike,
    blank: ArrayLike,
    projector: Projector,
    iterations: int,
    subsets: int,
    background: Optional[ArrayLike] = None,
    x0: Optional[ArrayLike] = None,
    callback: Optional[Callback] = None,
) -> F32Array:
    """CT OS-SPS on pre-log counts ~ Poisson(blank * exp(-A mu) + background); returns mu.
    callback(iteration, image) after each iteration; returning False stops."""

def os_sart(
    sinogram: ArrayLike,
    projector: Projector,
    iterations: int,
    subsets: int,
    relaxation: float = 1.0,
    non_negative: bool = True,
    x0: Optional[ArrayLike] = None,
    callback: Optional[Callback] = None,
) -> F32Array:
    """CT OS-SART on post-log line integrals; callback(iteration, image) returning False stops."""

# DICOM and NIfTI (wrapped by tomors.io, which returns dataclasses; see its docstrings).
_GridTuple = tuple[tuple[int, int, int], tuple[float, float, float], tuple[float, float, float], tuple[tuple[float, float, float], ...]]

def read_ct_series(path: str, series_uid: Optional[str] = None) -> dict: ...
def read_pet_series(path: str, series_uid: Optional[str] = None) -> dict: ...
def read_nm_volume(path: str, series_uid: Optional[str] = None) -> dict: ...
def read_nm_projections(path: str, kev: Optional[float] = None) -> dict: ...
def write_dicom_series(
    volume: ArrayLike,
    grid: _GridTuple,
    folder: str,
    modality: str,
    units: str,
    reference: Optional[str] = None,
    description: Optional[str] = None,
    series_number: int = 1001,
) -> dict: ...
def write_nifti(volume: ArrayLike, grid: _GridTuple, path: str, description: str = "") -> None: ...
def scan_dicom(path: str) -> dict: ...

# Resampling and fused pictures (wrapped by tomors.fusion).
def resample(volume: ArrayLike, source: _GridTuple, target: _GridTuple, method: str = "trilinear", outside: float = 0.0, backend: str = "auto") -> F32Array: ...
def plane_image(volume: ArrayLike, spacing: tuple[float, float, float], plane: str, at: tuple[int, int, int], mip: bool = False) -> F32Array: ...
def fuse(
    anatomy: ArrayLike,
    window: object = None,
    emission: Optional[ArrayLike] = None,
    colormap: str = "hot",
    value_range: Optional[tuple[float, float]] = None,
    threshold: float = 0.1,
    alpha: float = 0.6,
) -> np.ndarray: ...
def write_png(rgb: np.ndarray, path: str) -> None: ...

_RigidTuple = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

def recon_pet(
    listmode: Optional[object], sinogram: Optional[object], norm: Optional[object], mu: Optional[object],
    ct: Optional[object], background: list, span: int, mash: int, window: Optional[tuple[float, float]],
    iterations: int, subsets: int, voxel: float, post_filter_fwhm: Optional[float], list_mode: bool,
    sensitivity: Optional[object], randoms: bool, randoms_estimate: str, rdp_beta: Optional[float],
    rdp_gamma: float, bsrem_iterations: int, calibration: Optional[float],
    phantom_bq_ml: Optional[float], phantom_assay_time: Optional[str],
    isotope: Optional[tuple[str, float, float]], weight_kg: Optional[float], height_m: Optional[float],
    sex: Optional[str], injected_bq: Optional[float], injection_time: Optional[str],
    live_fraction: Optional[float], max_resident_bytes: Optional[int], backend: str,
    output_dir: Optional[object], progress: Optional[Callable[[str, int, int], object]],
) -> dict: ...
def spect_ct(
    nm_path: list, ct_path: object, photopeak_kev: float, scatter: str, dew_k: float, attenuation: bool,
    bone_hu: Optional[float], hu_to_mu: Optional[tuple[float, float, float]], collimator: Optional[Collimator],
    iterations: int, subsets: int, post_filter_fwhm: Optional[float], calibration_cps_per_mbq: Optional[float],
    decay_correction: str, ct_motion: Optional[_RigidTuple], register: bool, allow_other_frame: bool, require_full_ct: bool, beds: str,
    backend: str, output_dir: Optional[object], progress: Optional[Callable[[str, int, int], object]],
) -> dict: ...
def fuse_pet_ct(
    pet_path: object, ct_path: object, suv: bool, ct_motion: Optional[_RigidTuple], register: bool,
    allow_other_frame: bool, backend: str, output_dir: Optional[object],
) -> dict: ...
def hu_to_mu(ct: ArrayLike, kev: float, kvp: Optional[float] = None, bone_hu: Optional[float] = None, coefficients: Optional[tuple[float, float, float]] = None) -> F32Array: ...
def attenuation_coefficients(kev: float) -> tuple[float, float]: ...
def bone_ct_number(kvp: float) -> float: ...
def register_rigid(
    fixed: ArrayLike, fixed_grid: _GridTuple, moving: ArrayLike, moving_grid: _GridTuple, bins: int,
    fixed_range: Optional[tuple[float, float]], moving_range: Optional[tuple[float, float]],
    start: Optional[_RigidTuple], max_translation: float, max_rotation: float, backend: str,
) -> dict: ...
def rigid_move_grid(motion: _RigidTuple, grid: _GridTuple) -> _GridTuple: ...
def rigid_apply(motion: _RigidTuple, point: tuple[float, float, float]) -> tuple[float, float, float]: ...
def pet_ct(
    sinograms: ArrayLike, geometry: ParallelBeam, grid: _GridTuple, ct_path: object, iterations: int, subsets: int,
    background: Optional[ArrayLike], normalisation: Optional[ArrayLike], bone_hu: Optional[float],
    hu_to_mu: Optional[tuple[float, float, float]], require_full_ct: bool, post_filter_fwhm: Optional[float], backend: str,
) -> dict: ...


class PetScanner:
    """A cylindrical PET scanner (rings of crystal positions, gaps included)."""

    def __init__(
        self,
        rings: int,
        crystals_per_ring: int,
        radius: float,
        ring_spacing: float,
        interaction_depth: float = 0.0,
        blocks: Optional[tuple[int, int, int]] = None,
        tof: Optional[tuple[int, float, float]] = None,
        name: str = "scanner",
        view_offset: float = 0.0,
    ) -> None: ...
    @staticmethod
    def mmr() -> "PetScanner": ...
    @staticmethod
    def generic_tof() -> "PetScanner": ...
    @property
    def name(self) -> str: ...
    @property
    def rings(self) -> int: ...
    @property
    def crystals_per_ring(self) -> int: ...
    @property
    def effective_radius(self) -> float: ...
    @property
    def ring_spacing(self) -> float: ...
    @property
    def view_offset(self) -> float: ...
    @property
    def tof(self) -> Optional[tuple[int, float, float]]: ...
    def crystal_position(self, ring: int, crystal: int) -> tuple[float, float, float]: ...

class SinogramLayout:
    """Segments, span, maximum ring difference, view mashing and TOF of a scanner's sinograms;
    data are [views, planes, (tof,) tangential]."""

    def __init__(
        self,
        scanner: PetScanner,
        tangential: int,
        span: int = 1,
        max_ring_difference: Optional[int] = None,
        view_mashing: int = 1,
        tof: bool = True,
    ) -> None: ...
    @staticmethod
    def mmr(span: int = 11) -> "SinogramLayout": ...
    @property
    def shape(self) -> list[int]: ...
    @property
    def scanner(self) -> PetScanner: ...
    @property
    def span(self) -> int: ...
    @property
    def views(self) -> int: ...
    @property
    def planes(self) -> int: ...
    @property
    def tof_bins(self) -> int: ...
    @property
    def segments(self) -> list[tuple[int, int, int, int]]: ...
    def bin(self, a: tuple[int, int], b: tuple[int, int], tof: int = 0) -> Optional[tuple[int, int, int, int]]: ...

class Pet3dProjector:
    """3D PET model: Joseph (TOF) line integrals between crystal pairs, times attenuation and
    normalisation factors."""

    def __init__(
        self,
        layout: SinogramLayout,
        grid: ImageGrid,
        attenuation: Optional[ArrayLike] = None,
        normalisation: Optional[ArrayLike] = None,
        backend: Literal["auto", "gpu", "cpu"] = "auto",
    ) -> None: ...
    def forward(self, image: ArrayLike) -> F32Array: ...
    def adjoint(self, data: ArrayLike) -> F32Array: ...
    def adjointness_test(self, seed: int = 0) -> float: ...
    def norm(self, iterations: int = 20) -> float: ...
    def sensitivity(self) -> F32Array: ...
    @property
    def factors(self) -> Optional[F32Array]: ...
    @property
    def layout(self) -> SinogramLayout: ...
    @property
    def backend(self) -> Literal["cpu", "gpu"]: ...
    @property
    def device(self) -> str: ...
    @property
    def image_shape(self) -> list[int]: ...
    @property
    def data_shape(self) -> list[int]: ...

def lm_osem(
    events: npt.NDArray[np.int64],
    projector: Pet3dProjector,
    iterations: int,
    subsets: int,
    tof_bins: Optional[npt.NDArray[np.int64]] = None,
    background: Optional[ArrayLike] = None,
    post_filter_fwhm: Optional[float] = None,
    sensitivity: Optional[ArrayLike] = None,
    outside: str = "warn",
    max_resident_bytes: Optional[int] = None,
) -> F32Array:
    """List-mode OSEM of (n, 4) crystal pairs [ring_a, crystal_a, ring_b, crystal_b].

    `sensitivity`: the projector's `sensitivity()`, computed once and reused (default: computed
    here). Events outside the layout are dropped; `outside` = "warn" (UserWarning with the
    count), "error" (InvalidArgumentError) or "drop". `max_resident_bytes`: events and their
    per-event inputs beyond it stay in host memory and go to the backend a subset at a time
    (the same image)."""

def read_interfile(path: object) -> tuple[F32Array, object]: ...
def write_interfile(path: object, sinogram: ArrayLike, layout: SinogramLayout) -> None: ...
def read_rtk_geometry(
    path: object, n_rows: int, n_cols: int, row_spacing: float, col_spacing: float,
    origin: Optional[tuple[float, float]] = None,
) -> ConeBeam: ...
def write_rtk_geometry(path: object, cone: ConeBeam) -> None: ...
def read_tiff_stack(paths: list[object]) -> F32Array: ...
def read_petlink(path: object, layout: Optional[SinogramLayout], window: Optional[tuple[float, float]], pairs: bool, randoms_estimate: str = "ml-singles") -> dict: ...
def read_mmr_norm(path: object, layout: SinogramLayout) -> F32Array: ...
