"""SPECT-CT from DICOM in one call, PET-CT sinograms with the CT's attenuation, a reconstructed PET
series over its CT (SUV, fused summary), and CT numbers to attenuation coefficients.

    import tomors
    r = tomors.spect_ct("NM/scan.dcm", "CT/", photopeak_kev=208, output_dir="out/")
    r.image            # float32 [z, y, x], counts/s per voxel ("CPS"), or Bq/mL with a calibration
    r.grid             # where it lies (tomors.io.PatientGrid, the CT's frame of reference)
    r.mu_map           # the attenuation map used, 1/mm
    r.files["summary_png"]

The photopeak window is the narrowest holding ``photopeak_kev``; scatter comes from the windows
adjacent to it (TEW by default); the μ-map from the CT at the photopeak energy (bilinear
water-bone model on NIST data, bone CT number by kVp: see ``hu_to_mu``); the collimator
response from the header's collimator; OSEM 4 × 8 by default. Writing (``output_dir``) gives
a DICOM NM series in the CT's study and frame of reference, NIfTI of the image and μ-map, and a
one-page summary PNG; nothing is overwritten.

Everything is plain data (NumPy arrays, dataclasses), so the call runs as is under Dask
(``dask.delayed(tomors.spect_ct)(...)``) or any process pool.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _tomors
from .fusion import Registration, Rigid
from .io import PatientGrid, _grid

__all__ = [
    "spect_ct",
    "SpectCtResult",
    "SpectCtBedsResult",
    "pet_ct",
    "PetCtResult",
    "fuse_pet_ct",
    "FusedPetCtResult",
    "hu_to_mu",
    "attenuation_coefficients",
    "bone_ct_number",
]

PathLike = Union[str, os.PathLike]


@dataclass
class SpectCtResult:
    """A SPECT-CT reconstruction (see ``spect_ct``)."""

    image: np.ndarray
    """Activity ``[z, y, x]`` in ``units``."""
    units: str
    """``"CPS"`` (counts per second per voxel) or ``"BQML"``."""
    grid: PatientGrid
    """Where the image lies, in the CT's frame of reference."""
    mu_map: Optional[np.ndarray]
    """The μ-map the model used (1/mm, on ``grid``); ``None`` without attenuation correction."""
    hu_to_mu: Optional[Tuple[float, float, float]]
    """The HU → μ curve used: μ of water (1/mm), slopes below and above 0 HU (1/mm per HU)."""
    photopeak_window: int
    scatter_windows: Tuple[Optional[int], Optional[int]]
    """Indices (into the NM's windows) of the lower and upper scatter windows used."""
    decay_factor: float
    """The decay correction the image was multiplied by (1.0 without one)."""
    settings: List[str]
    warnings: List[str]
    backend: str
    reconstruction_seconds: float
    registration: Optional[Registration] = None
    """With ``register=True``: the registration of the CT to the emission data, whose
    ``transform`` placed the CT."""
    files: Optional[Dict[str, object]] = field(default=None, repr=False)
    """What was written with ``output_dir``: ``dicom`` (paths), ``series_uid``, ``nifti``,
    ``mu_map_nifti``, ``summary_png``."""


@dataclass
class SpectCtBedsResult:
    """Several beds of one study in one volume (see ``spect_ct`` with a list of NM files),
    reconstructed jointly or each on its own and stitched."""

    image: np.ndarray
    """Activity ``[z, y, x]`` in ``units`` over the union of the beds: joint, one OSEM from every
    bed's data; stitched, in the overlap each voxel the mean of the beds that see it weighted by
    their sensitivity."""
    units: str
    grid: PatientGrid
    """The union of the beds' fields of view, in the CT's frame of reference."""
    weight: np.ndarray
    """Joint: the model's sensitivity image; stitched: the summed sensitivity weights; on
    ``grid``."""
    method: str
    """``"joint"`` or ``"stitched"``."""
    beds: List[SpectCtResult]
    """Each bed, lowest first along the slice axis: stitched, its own reconstruction; joint, the
    volume over its grid."""
    files: Optional[Dict[str, object]] = field(default=None, repr=False)
    """What was written with ``output_dir``: ``dicom`` (paths), ``series_uid``, ``nifti``,
    ``summary_png``."""


def spect_ct(
    nm_path: Union[PathLike, List[PathLike]],
    ct_path: PathLike,
    photopeak_kev: float,
    *,
    scatter: str = "tew",
    dew_k: float = 0.5,
    attenuation: bool = True,
    bone_hu: Optional[float] = None,
    hu_to_mu: Optional[Tuple[float, float, float]] = None,
    collimator=None,
    iterations: int = 4,
    subsets: int = 8,
    post_filter_fwhm: Optional[float] = None,
    calibration_cps_per_mbq: Optional[float] = None,
    decay_correction: str = "start",
    ct_motion: Optional[Rigid] = None,
    register: bool = False,
    allow_other_frame: bool = False,
    require_full_ct: bool = False,
    beds: str = "joint",
    backend: str = "auto",
    output_dir: Optional[PathLike] = None,
    progress: Optional[Callable[[str, int, int], None]] = None,
) -> SpectCtResult:
    """Reconstructs an NM tomographic acquisition (``nm_path``, one DICOM file) with its CT
    (``ct_path``, a folder or file): attenuation, scatter and collimator response in the model.
    With a list of NM files (the beds of one whole-body study), the beds are reconstructed into
    one volume over the CT (:class:`SpectCtBedsResult`): ``beds="joint"`` (default) in one OSEM
    from every bed's data (each bed's detector rows from 20 mm inside its camera's field of
    view), ``beds="stitched"`` each on its own, then stitched, weighted by each bed's
    sensitivity; beds of different studies or collimators, or beds that do not overlap, raise
    ``InvalidArgumentError``.

    - ``scatter``: ``"tew"`` (windows just below and above the photopeak; no upper window counts
      as 0), ``"dew"`` (``dew_k`` × the window below) or ``"none"``.
    - ``bone_hu``: the CT number of cortical bone on your CT (default: from its kVp), or
      ``hu_to_mu = (mu_water, lower_slope, upper_slope)`` in 1/mm and 1/mm per HU.
    - ``collimator``: a ``tomors.Collimator`` or a type name (``"megp"``: Siemens Symbia's at
      the photopeak energy); default: the one the header names, its maker's, at the photopeak.
    - ``calibration_cps_per_mbq``: the camera's sensitivity; the image is then in Bq/mL.
    - ``decay_correction``: ``"start"`` (to the acquisition's start, when the header gives the
      half-life; else none, and the settings say so), ``"injection"`` (needs the injection and
      acquisition times too) or ``"none"``.
    - ``ct_motion``: a ``tomors.fusion.Rigid`` placing the CT when the scanners' coordinates are
      off (e.g. ``register_rigid(...).transform`` against another session's CT).
    - ``register``: register the CT to the emission data itself (its body outline against a
      scatter-window reconstruction, by mutual information), starting from ``ct_motion`` or the
      scanners' coordinates, and place it by the result (``.registration``). For a patient who
      moved between the scans; precise to about one emission voxel.
    - ``require_full_ct``: refuse a CT stopping short of the body in the emission field of view
      (default: accept it, assume air beyond, and warn).
    - ``progress(stage, done, of)``: called at each stage and after each iteration.

    Warnings (e.g. a short CT) are issued with ``warnings.warn`` and kept in ``.warnings``.
    Raises ``tomors.errors.InvalidArgumentError`` for NM and CT from different studies or
    frames of reference, a photopeak no window holds, missing scatter windows, an unknown
    collimator, and other bad settings; ``tomors.errors.DicomError`` for unreadable files.
    """
    if collimator is not None and isinstance(collimator, str):
        from ._tomors import Collimator

        collimator = Collimator.for_camera(collimator, kev=float(photopeak_kev))
    several = isinstance(nm_path, (list, tuple))
    d = _tomors.spect_ct(
        [Path(p) for p in nm_path] if several else [Path(nm_path)],
        Path(ct_path),
        float(photopeak_kev),
        scatter,
        float(dew_k),
        bool(attenuation),
        bone_hu,
        hu_to_mu,
        collimator,
        int(iterations),
        int(subsets),
        post_filter_fwhm,
        calibration_cps_per_mbq,
        decay_correction,
        None if ct_motion is None else ct_motion._tuple(),
        bool(register),
        bool(allow_other_frame),
        bool(require_full_ct),
        beds,
        backend,
        None if output_dir is None else Path(output_dir),
        progress,
    )
    files = d.get("files")
    if files is not None:
        files = dict(files)
        files["dicom"] = [Path(p) for p in files["dicom"]]
        for k in ("nifti", "mu_map_nifti", "summary_png"):
            if k in files:
                files[k] = None if files[k] is None else Path(files[k])
    if several:
        results = [_spect_ct_result(b, None) for b in d["beds"]]
        for w in (w for b in results for w in b.warnings):
            warnings.warn(w, stacklevel=2)
        return SpectCtBedsResult(
            image=d["image"],
            units=d["units"],
            grid=_grid(d["grid"]),
            weight=d["weight"],
            method=d["method"],
            beds=results,
            files=files,
        )
    for w in d["warnings"]:
        warnings.warn(w, stacklevel=2)
    return _spect_ct_result(d, files)


def _spect_ct_result(d: dict, files: Optional[Dict[str, object]]) -> SpectCtResult:
    return SpectCtResult(
        image=d["image"],
        units=d["units"],
        grid=_grid(d["grid"]),
        mu_map=d["mu_map"],
        hu_to_mu=d["hu_to_mu"],
        photopeak_window=d["photopeak_window"],
        scatter_windows=tuple(d["scatter_windows"]),
        decay_factor=d["decay_factor"],
        settings=list(d["settings"]),
        warnings=list(d["warnings"]),
        backend=d["backend"],
        reconstruction_seconds=d["reconstruction_seconds"],
        registration=None if d["registration"] is None else Registration._from_dict(d["registration"]),
        files=files,
    )


@dataclass
class PetCtResult:
    """A PET-CT reconstruction (see ``pet_ct``)."""

    image: np.ndarray
    """Activity ``[plane, y, x]`` (sinogram units per mm of line integral)."""
    mu_map: np.ndarray
    """The 511 keV μ-map the model used, 1/mm, on the PET grid."""
    hu_to_mu: Tuple[float, float, float]
    warnings: List[str]
    backend: str
    reconstruction_seconds: float


def pet_ct(
    sinograms: np.ndarray,
    geometry,
    grid: PatientGrid,
    ct_path: PathLike,
    *,
    iterations: int = 4,
    subsets: int = 12,
    background: Optional[np.ndarray] = None,
    normalisation: Optional[np.ndarray] = None,
    bone_hu: Optional[float] = None,
    hu_to_mu: Optional[Tuple[float, float, float]] = None,
    require_full_ct: bool = False,
    post_filter_fwhm: Optional[float] = None,
    backend: str = "auto",
) -> PetCtResult:
    """OSEM of PET ``sinograms`` ``[views, planes, cols]`` (a ``tomors.ParallelBeam`` with one
    detector row per plane, views over [0, π)) on ``grid`` (``[planes, y, x]`` in the CT's frame
    of reference) with attenuation factors from the CT in ``ct_path`` at 511 keV; ``background``
    (randoms + scatter) and ``normalisation`` shaped like the sinograms. A CT short of the body
    warns (or, with ``require_full_ct``, raises)."""
    d = _tomors.pet_ct(
        sinograms, geometry, grid._tuple(), Path(ct_path), int(iterations), int(subsets), background,
        normalisation, bone_hu, hu_to_mu, bool(require_full_ct), post_filter_fwhm, backend,
    )
    for w in d["warnings"]:
        warnings.warn(w, stacklevel=2)
    return PetCtResult(
        image=d["image"],
        mu_map=d["mu_map"],
        hu_to_mu=d["hu_to_mu"],
        warnings=list(d["warnings"]),
        backend=d["backend"],
        reconstruction_seconds=d["reconstruction_seconds"],
    )


@dataclass
class FusedPetCtResult:
    """A reconstructed PET series over its CT (see ``fuse_pet_ct``)."""

    image: np.ndarray
    """The PET ``[z, y, x]`` in ``units``."""
    units: str
    """``"SUVbw"`` (g/mL), or the series' own units when SUV was not asked for or the header
    lacks what it needs (``warnings`` then says what)."""
    grid: PatientGrid
    """Where the PET lies in the CT's frame of reference."""
    summary: np.ndarray
    """The one-page summary (MIP, three planes fused over the CT, settings): uint8 RGB
    ``[rows, cols, 3]``."""
    settings: List[str]
    warnings: List[str]
    registration: Optional[Registration] = None
    """With ``register=True``: the registration of the CT to the PET."""
    files: Optional[Dict[str, Path]] = field(default=None, repr=False)
    """What was written with ``output_dir``: ``nifti``, ``summary_png``."""


def fuse_pet_ct(
    pet_path: PathLike,
    ct_path: PathLike,
    *,
    suv: bool = True,
    ct_motion: Optional[Rigid] = None,
    register: bool = False,
    allow_other_frame: bool = False,
    backend: str = "auto",
    output_dir: Optional[PathLike] = None,
) -> FusedPetCtResult:
    """Places a reconstructed PET series (``pet_path``, a folder or file) over its CT
    (``ct_path``): in SUVbw when the header gives dose, weight and times (else in its own units,
    with a warning), by the scanners' coordinates, a given ``ct_motion``, or with
    ``register=True`` by registering the CT to the PET. Returns the image, its grid in the CT's
    frame and the summary page as an RGB array; ``output_dir`` also writes ``pet.nii.gz`` and
    ``summary.png`` (never overwriting). Raises ``tomors.errors.InvalidArgumentError`` for a PET
    and a CT of different studies or frames of reference (unless ``allow_other_frame``)."""
    d = _tomors.fuse_pet_ct(
        Path(pet_path),
        Path(ct_path),
        bool(suv),
        None if ct_motion is None else ct_motion._tuple(),
        bool(register),
        bool(allow_other_frame),
        backend,
        None if output_dir is None else Path(output_dir),
    )
    for w in d["warnings"]:
        warnings.warn(w, stacklevel=2)
    files = d.get("files")
    return FusedPetCtResult(
        image=d["image"],
        units=d["units"],
        grid=_grid(d["grid"]),
        summary=d["summary"],
        settings=list(d["settings"]),
        warnings=list(d["warnings"]),
        registration=None if d["registration"] is None else Registration._from_dict(d["registration"]),
        files=None if files is None else {k: Path(v) for k, v in files.items()},
    )


def hu_to_mu(
    ct: np.ndarray,
    kev: float,
    kvp: Optional[float] = None,
    *,
    bone_hu: Optional[float] = None,
    coefficients: Optional[Tuple[float, float, float]] = None,
) -> np.ndarray:
    """μ (1/mm, float32) at ``kev`` of a CT volume in HU ``[z, y, x]``: air–water mixture below
    0 HU, water–cortical-bone mixture above (NIST SRD 126 coefficients), with cortical bone at
    ``bone_hu`` on this CT, or at the CT number tabulated for ``kvp`` (80–140 kVp, from vendor
    curves), or your own ``coefficients = (mu_water, lower_slope, upper_slope)``."""
    return _tomors.hu_to_mu(ct, float(kev), kvp, bone_hu, coefficients)


def attenuation_coefficients(kev: float) -> Tuple[float, float]:
    """μ of water and of ICRU-44 cortical bone at ``kev`` (40–1000 keV), 1/mm (NIST SRD 126)."""
    return _tomors.attenuation_coefficients(float(kev))


def bone_ct_number(kvp: float) -> float:
    """The CT number (HU) tomors assumes for cortical bone on a CT run at ``kvp`` (80–140)."""
    return _tomors.bone_ct_number(float(kvp))
