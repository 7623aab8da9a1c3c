"""DICOM and NIfTI in and out.

Readers return dataclasses whose geometry the projectors accept directly::

    import tomors, tomors.io
    nm = tomors.io.read_nm_projections("NM/bed1_projections.dcm")
    peak = nm.window_at(208.0)                            # index of the 208 keV window
    spect = tomors.SpectProjector(nm.geometry, nm.image_grid)
    image = tomors.osem(nm.counts[peak], spect, iterations=4, subsets=10)
    ct = tomors.io.read_ct_series("CT/")                  # HU, [slices, rows, cols]
    tomors.io.write_dicom_series(image, nm.grid, "out/", modality="NM", units="CNTS",
                                 reference="CT/")         # same study and frame of reference

Units: mm, keV, seconds; angles in radians (tomors's θ, see CONVENTIONS.md); patient
coordinates are DICOM's LPS. Errors raise :class:`tomors.errors.DicomError` naming the file and
the attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _tomors

PathLike = Union[str, Path]

__all__ = [
    "PatientGrid",
    "Volume",
    "CtSeries",
    "PetSeries",
    "SuvFactors",
    "EnergyWindow",
    "NmProjections",
    "SeriesInfo",
    "read_ct_series",
    "read_pet_series",
    "read_nm_projections",
    "read_nm_volume",
    "write_dicom_series",
    "write_nifti",
    "scan",
    "read_interfile",
    "write_interfile",
    "read_petlink",
    "read_mmr_norm",
]


@dataclass(frozen=True)
class PatientGrid:
    """Where a voxel grid lies in patient coordinates (DICOM LPS, mm).

    ``shape`` and ``spacing`` are in array order ``(z, y, x)``; ``origin`` is the patient
    position ``(x, y, z)`` of the centre of voxel ``[0, 0, 0]``; ``axes`` are the unit vectors
    ``(x, y, z)`` of increasing ``ix``, ``iy`` and ``iz``.
    """

    shape: Tuple[int, int, int]
    spacing: Tuple[float, float, float]
    origin: Tuple[float, float, float]
    axes: Tuple[Tuple[float, float, float], ...]

    @property
    def affine(self) -> np.ndarray:
        """4×4 matrix from ``(ix, iy, iz, 1)`` to patient ``(x, y, z, 1)``."""
        dz, dy, dx = self.spacing
        m = np.eye(4)
        axes = np.asarray(self.axes, dtype=float)
        m[:3, 0] = axes[0] * dx
        m[:3, 1] = axes[1] * dy
        m[:3, 2] = axes[2] * dz
        m[:3, 3] = self.origin
        return m

    def image_grid(self):
        """The same voxels as a :class:`tomors.ImageGrid` (centred, the projectors' frame)."""
        from . import ImageGrid

        return ImageGrid(self.shape, spacing=self.spacing)

    def _tuple(self):
        return (tuple(self.shape), tuple(self.spacing), tuple(self.origin), tuple(map(tuple, self.axes)))


def _grid(t) -> PatientGrid:
    shape, spacing, origin, axes = t
    return PatientGrid(tuple(shape), tuple(spacing), tuple(origin), tuple(tuple(a) for a in axes))


@dataclass
class Volume:
    """A volume read from DICOM: ``values[slice, row, col]`` (rescale applied) and its grid."""

    values: np.ndarray
    grid: PatientGrid
    modality: str
    units: Optional[str]
    series_uid: str
    study_uid: Optional[str]
    frame_of_reference_uid: Optional[str]
    files: List[Path] = field(repr=False)


def _volume(d) -> Volume:
    return Volume(
        values=d["values"],
        grid=_grid(d["grid"]),
        modality=d["modality"],
        units=d["units"],
        series_uid=d["series_uid"],
        study_uid=d["study_uid"],
        frame_of_reference_uid=d["frame_of_reference_uid"],
        files=[Path(f) for f in d["files"]],
    )


@dataclass
class CtSeries(Volume):
    """A CT series: ``values`` in HU (float32); ``kvp`` the tube voltage when given."""

    kvp: Optional[float] = None


@dataclass(frozen=True)
class SuvFactors:
    """What SUV needs, as the PET series states it; ``suv_bw_scale`` multiplies Bq/mL voxels
    into SUVbw (g/mL), or is ``None`` with the reason in ``suv_bw_unavailable``."""

    units: Optional[str]
    decay_correction: Optional[str]
    injected_activity_bq: Optional[float]
    half_life_s: Optional[float]
    injection_time_s: Optional[float]
    series_time_s: Optional[float]
    patient_weight_kg: Optional[float]
    suv_bw_scale: Optional[float]
    suv_bw_unavailable: Optional[str]


@dataclass
class PetSeries(Volume):
    """A PET series (activity concentration, ``units`` usually ``"BQML"``) with SUV factors."""

    suv: Optional[SuvFactors] = None

    def suv_bw(self) -> np.ndarray:
        """The volume in SUVbw; raises :class:`ValueError` saying what the series lacks."""
        if self.suv is None or self.suv.suv_bw_scale is None:
            raise ValueError(self.suv.suv_bw_unavailable if self.suv else "no SUV factors")
        return self.values * np.float32(self.suv.suv_bw_scale)


@dataclass(frozen=True)
class EnergyWindow:
    """An acquisition energy window (keV)."""

    name: Optional[str]
    lower_kev: float
    upper_kev: float

    @property
    def width_kev(self) -> float:
        return self.upper_kev - self.lower_kev

    @property
    def centre_kev(self) -> float:
        return 0.5 * (self.lower_kev + self.upper_kev)


@dataclass
class NmProjections:
    """SPECT projections of one NM file, mapped to tomors's conventions.

    ``counts[w]`` is window ``w``'s ``[views, rows, cols]`` float32 counts; ``angles`` the view
    angles θ (radians), ``radii`` the radius of rotation per view (mm). ``geometry`` (a
    :class:`tomors.SpectGeometry`, with the header's collimator at the energy asked for) and
    ``image_grid`` (a :class:`tomors.ImageGrid`) go straight into
    :class:`tomors.SpectProjector`; ``grid`` places that reconstruction in patient coordinates.
    Per detector: ``start_angles_deg`` (DICOM's angle), ``detector_positions`` and
    ``detector_orientations`` (Image Position/Orientation (Patient), as the file gives them).
    """

    counts: List[np.ndarray]
    windows: List[EnergyWindow]
    angles: np.ndarray
    radii: np.ndarray
    detectors: np.ndarray
    frame_durations: np.ndarray
    start_angles_deg: List[float]
    detector_positions: List[Optional[Tuple[float, float, float]]]
    detector_orientations: List[Optional[Tuple[float, ...]]]
    angular_step_deg: float
    rotation_direction: str
    pixel_spacing: Tuple[float, float]
    col_offset: float
    collimator: Optional[str]
    geometry: object
    image_grid: object
    grid: PatientGrid
    series_uid: str
    study_uid: Optional[str]
    frame_of_reference_uid: Optional[str]
    manufacturer: Optional[str]
    path: Path

    def window_at(self, kev: float) -> Optional[int]:
        """Index of the (narrowest) window holding ``kev``, or ``None``."""
        inside = [(w.width_kev, i) for i, w in enumerate(self.windows) if w.lower_kev <= kev <= w.upper_kev]
        return min(inside)[1] if inside else None


@dataclass(frozen=True)
class SeriesInfo:
    """One series found by :func:`scan`."""

    modality: str
    series_uid: str
    study_uid: Optional[str]
    frame_of_reference_uid: Optional[str]
    description: Optional[str]
    rows: int
    cols: int
    frames: int
    files: Tuple[Path, ...] = field(repr=False)


def read_ct_series(path: PathLike, series_uid: Optional[str] = None) -> CtSeries:
    """Reads a CT series from a folder (searched recursively) or a file: the largest CT series,
    or the one ``series_uid`` names. Slices are sorted along their normal; size, spacing and
    orientation must agree; missing slices, uneven spacing and gantry tilt raise
    :class:`tomors.errors.DicomError`."""
    d = _tomors.read_ct_series(str(path), series_uid)
    v = _volume(d)
    return CtSeries(**v.__dict__, kvp=d["kvp"])


def read_pet_series(path: PathLike, series_uid: Optional[str] = None) -> PetSeries:
    """Reads a PET (PT) series like :func:`read_ct_series`, with its SUV factors."""
    d = _tomors.read_pet_series(str(path), series_uid)
    v = _volume(d)
    return PetSeries(**v.__dict__, suv=SuvFactors(**d["suv"]))


def read_nm_volume(path: PathLike, series_uid: Optional[str] = None) -> Volume:
    """Reads a reconstructed NM volume: single-frame slices (as tomors writes them) or one
    multi-frame RECON TOMO object."""
    return _volume(_tomors.read_nm_volume(str(path), series_uid))


def read_nm_projections(path: PathLike, kev: Optional[float] = None) -> NmProjections:
    """Reads an NM tomographic acquisition (multi-frame NM Image Storage), split into energy
    windows by the Frame Increment Pointer, with every detector's views merged. With ``kev``
    (the photopeak to reconstruct), ``geometry`` models the collimator the header names at
    that energy (:meth:`tomors.Collimator.for_camera`); without, it has no collimator
    response."""
    d = _tomors.read_nm_projections(str(path), kev)
    return NmProjections(
        counts=list(d["counts"]),
        windows=[EnergyWindow(*w) for w in d["windows"]],
        angles=np.asarray(d["angles"]),
        radii=np.asarray(d["radii"]),
        detectors=np.asarray(d["detectors"]),
        frame_durations=np.asarray(d["frame_durations"]),
        start_angles_deg=list(d["start_angles_deg"]),
        detector_positions=[None if p is None else tuple(p) for p in d["detector_positions"]],
        detector_orientations=[None if o is None else tuple(o) for o in d["detector_orientations"]],
        angular_step_deg=d["angular_step_deg"],
        rotation_direction=d["rotation_direction"],
        pixel_spacing=tuple(d["pixel_spacing"]),
        col_offset=d["col_offset"],
        collimator=d["collimator"],
        geometry=d["geometry"],
        image_grid=d["image_grid"],
        grid=_grid(d["grid"]),
        series_uid=d["series_uid"],
        study_uid=d["study_uid"],
        frame_of_reference_uid=d["frame_of_reference_uid"],
        manufacturer=d["manufacturer"],
        path=Path(d["path"]),
    )


def write_dicom_series(
    volume: np.ndarray,
    grid: PatientGrid,
    folder: PathLike,
    modality: str = "NM",
    units: str = "CNTS",
    reference: Optional[PathLike] = None,
    description: Optional[str] = None,
    series_number: int = 1001,
) -> List[Path]:
    """Writes ``volume[slice, row, col]`` (placed by ``grid``) as a DICOM series, one file per
    slice (``slice_0001.dcm``...), each written atomically; existing files are never
    overwritten. ``modality``: ``"NM"``, ``"PT"`` or ``"CT"``. ``reference``: a DICOM file or
    folder (e.g. the CT) whose study, frame of reference and patient the series joins, so
    viewers overlay it. Values are stored as 16-bit integers with a per-slice rescale slope.
    Returns the files written."""
    d = _tomors.write_dicom_series(
        volume,
        grid._tuple(),
        str(folder),
        modality,
        units,
        None if reference is None else str(reference),
        description,
        series_number,
    )
    return [Path(f) for f in d["files"]]


def write_nifti(volume: np.ndarray, grid: PatientGrid, path: PathLike, description: str = "") -> None:
    """Writes ``volume[z, y, x]`` as NIfTI-1 float32 (``.nii`` or ``.nii.gz``), atomically, with
    the grid's affine in RAS as the sform."""
    _tomors.write_nifti(volume, grid._tuple(), str(path), description)


def scan(path: PathLike) -> Tuple[List[SeriesInfo], List[Tuple[Path, str]]]:
    """The DICOM series under ``path`` (largest first) and the files skipped, with why."""
    d = _tomors.scan_dicom(str(path))
    series = [
        SeriesInfo(
            modality=s["modality"],
            series_uid=s["series_uid"],
            study_uid=s["study_uid"],
            frame_of_reference_uid=s["frame_of_reference_uid"],
            description=s["description"],
            rows=s["rows"],
            cols=s["cols"],
            frames=s["frames"],
            files=tuple(Path(f) for f in s["files"]),
        )
        for s in d["series"]
    ]
    return series, [(Path(p), why) for p, why in d["skipped"]]


def read_interfile(path: PathLike):
    """An Interfile file: ``(volume, ImageGrid)`` for an image header (``.hv``), or
    ``(sinogram, SinogramLayout)`` for STIR projection data (``.hs``), the sinogram in
    tomors' order ``[views, planes, tangential]``."""
    return _tomors.read_interfile(Path(path))


def write_interfile(path: PathLike, sinogram, layout) -> None:
    """Writes ``sinogram`` (``[views, planes, tangential]`` of ``layout``, non-TOF) as STIR
    Interfile projection data: the header at ``path`` (``.hs``), the floats beside it (``.s``)."""
    _tomors.write_interfile(Path(path), sinogram, layout)


def read_petlink(path: PathLike, layout=None, window: Optional[Tuple[float, float]] = None,
                 pairs: bool = False, randoms_estimate: str = "ml-singles") -> dict:
    """A PETLINK 32-bit list-mode file (``.l.hdr``) histogrammed into ``layout`` (default the
    file's span-1 layout) within ``window`` (seconds): a dict with ``prompts``, ``delayeds``,
    ``randoms`` (estimated from the delayeds: ``randoms_estimate="ml-singles"``, singles fitted
    by maximum likelihood to the delayeds' fan sums, or ``"fan-sums"``, their product),
    ``layout``, ``counts`` and, with ``pairs=True``, ``prompt_pairs`` (an ``(n, 4)`` array of
    crystal pairs for :func:`tomors.lm_osem`)."""
    return _tomors.read_petlink(Path(path), layout, window, pairs, randoms_estimate)


def read_mmr_norm(path: PathLike, layout) -> np.ndarray:
    """Normalisation factors (detector efficiencies) for ``layout`` from a Siemens mMR
    component normalisation file (``.n.hdr``), the layout's shape without TOF."""
    return _tomors.read_mmr_norm(Path(path), layout)


def read_rtk_geometry(path: PathLike, n_rows: int, n_cols: int, row_spacing: float, col_spacing: float,
                      origin: Optional[Tuple[float, float]] = None):
    """A ``tomors.ConeBeam`` from an RTK geometry file (flat panel; RTK's y axis is tomors's z)
    for projection images of ``n_rows`` x ``n_cols`` pixels of ``row_spacing`` x
    ``col_spacing`` mm whose pixel (0, 0) sits at ``origin`` (u, v) mm (default: centred)."""
    return _tomors.read_rtk_geometry(Path(path), n_rows, n_cols, row_spacing, col_spacing, origin)


def write_rtk_geometry(path: PathLike, cone) -> None:
    """Writes a circular flat-panel ``tomors.ConeBeam`` as an RTK geometry file (atomically;
    the projection images taken as centred)."""
    _tomors.write_rtk_geometry(Path(path), cone)


def read_tiff_stack(paths) -> np.ndarray:
    """A projection stack ``(views, rows, cols)`` float32 from TIFF files in order (one
    multi-page file, or one file per view), values as stored (convert intensities with
    ``-np.log(I / I0)``)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return _tomors.read_tiff_stack([Path(p) for p in paths])
