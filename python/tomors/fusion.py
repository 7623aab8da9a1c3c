"""Volumes of different frames of reference together, and fused pictures.

    import tomors.io, tomors.fusion as tf
    ct = tomors.io.read_ct_series("CT/")
    spect_on_ct = tf.resample(image, nm.grid, ct.grid)               # trilinear (upsampling)
    mu_grid = tf.resample(ct.values, ct.grid, nm.grid, "average", outside=-1000)  # downsampling
    centre = [n // 2 for n in ct.grid.shape]
    rgb = tf.fuse(tf.plane(ct.values, ct.grid, "coronal", centre),
                  window="soft-tissue",
                  emission=tf.plane(spect_on_ct, ct.grid, "coronal", centre),
                  colormap="inferno", threshold=0.1, alpha=0.6)       # uint8 [rows, cols, 3]
    tf.write_png(rgb, "fused.png")

Pictures follow radiology: axial seen from the feet (patient's right on the left, anterior at the
top), coronal from the front, sagittal from the patient's left; pixels are square.
"""

from __future__ import annotations

from pathlib import Path
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _tomors
from .io import PatientGrid

__all__ = ["resample", "plane", "fuse", "write_png", "Rigid", "Registration", "register_rigid", "WINDOWS", "COLORMAPS"]

WINDOWS = ("soft-tissue", "lung", "bone", "brain")
"""Window presets (level, width in HU): soft tissue (40, 400), lung (−600, 1500), bone (400, 1800),
brain (40, 80)."""

COLORMAPS = ("grey", "hot", "inferno", "viridis")


def resample(
    volume: np.ndarray,
    source: PatientGrid,
    target: PatientGrid,
    method: str = "trilinear",
    outside: float = 0.0,
    backend: str = "auto",
) -> np.ndarray:
    """``volume`` (placed by ``source``) on the voxels of ``target``: ``"trilinear"`` at the
    target centres, or ``"average"`` over each target voxel (for downsampling, e.g. a CT onto a
    SPECT grid). Points beyond the source take ``outside``. ``backend``: ``"auto"`` (the GPU
    when there is one), ``"gpu"`` or ``"cpu"``; both give the same numbers to f32 rounding."""
    return _tomors.resample(volume, source._tuple(), target._tuple(), method, outside, backend)


def plane(
    volume: np.ndarray, grid: Union[PatientGrid, Sequence[float]], which: str, at: Sequence[int], mip: bool = False
) -> np.ndarray:
    """The ``"axial"``, ``"coronal"`` or ``"sagittal"`` slice of ``volume[z, y, x]`` through
    voxel ``at = (iz, iy, ix)`` (or, with ``mip``, the maximum along the plane's normal), in
    display orientation with square pixels. ``grid``: a PatientGrid or the spacing
    ``(dz, dy, dx)`` in mm; the volume must be axis-aligned to the patient."""
    spacing = grid.spacing if isinstance(grid, PatientGrid) else grid
    return _tomors.plane_image(volume, tuple(spacing), which, tuple(at), mip)


def fuse(
    anatomy: np.ndarray,
    window: Union[str, Tuple[float, float]] = "soft-tissue",
    emission: Optional[np.ndarray] = None,
    colormap: str = "hot",
    value_range: Optional[Tuple[float, float]] = None,
    threshold: float = 0.1,
    alpha: float = 0.6,
) -> np.ndarray:
    """An RGB picture (uint8 ``[rows, cols, 3]``): ``anatomy`` in grey through ``window`` (a
    preset of :data:`WINDOWS` or ``(level, width)``), with ``emission`` (same shape) in
    ``colormap`` blended at ``alpha`` wherever it exceeds ``threshold`` × its range
    (``value_range``, default 0 to its maximum)."""
    return _tomors.fuse(anatomy, window, emission, colormap, value_range, threshold, alpha)


def write_png(rgb: np.ndarray, path: Union[str, Path]) -> None:
    """Writes an RGB picture from :func:`fuse` (uint8 ``[rows, cols, 3]``) as PNG, atomically."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise TypeError(f"rgb has dtype {rgb.dtype}; expected uint8 (as tomors.fusion.fuse returns)")
    _tomors.write_png(np.ascontiguousarray(rgb), str(path))


@dataclass(frozen=True)
class Rigid:
    """A rigid motion of patient coordinates (LPS, mm): ``p' = R (p - centre) + centre +
    translation`` with ``R = Rz(angles[2]) Ry(angles[1]) Rx(angles[0])`` (radians)."""

    angles: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    translation: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    centre: Tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _tuple(self):
        return (tuple(self.angles), tuple(self.translation), tuple(self.centre))

    def apply(self, point: Sequence[float]) -> Tuple[float, float, float]:
        """Where the motion takes ``point`` (x, y, z mm)."""
        return tuple(_tomors.rigid_apply(self._tuple(), tuple(point)))

    def move_grid(self, grid: PatientGrid) -> PatientGrid:
        """``grid`` moved as a whole (each voxel centre to ``apply`` of it)."""
        from .io import _grid

        return _grid(_tomors.rigid_move_grid(self._tuple(), grid._tuple()))


@dataclass(frozen=True)
class Registration:
    """What ``register_rigid`` found: ``transform`` takes each fixed position to where the
    moving volume holds its match; NMI (1–2) at the start and at the end."""

    transform: Rigid
    nmi_start: float
    nmi: float
    evaluations: int

    @staticmethod
    def _from_dict(d: dict) -> "Registration":
        angles, translation, centre = d["transform"]
        return Registration(
            transform=Rigid(tuple(angles), tuple(translation), tuple(centre)),
            nmi_start=d["nmi_start"],
            nmi=d["nmi"],
            evaluations=d["evaluations"],
        )


def register_rigid(
    fixed: np.ndarray,
    fixed_grid: PatientGrid,
    moving: np.ndarray,
    moving_grid: PatientGrid,
    *,
    bins: int = 32,
    fixed_range: Optional[Tuple[float, float]] = None,
    moving_range: Optional[Tuple[float, float]] = None,
    start: Optional[Rigid] = None,
    max_translation: float = 40.0,
    max_rotation: float = math.radians(20.0),
    backend: str = "auto",
) -> Registration:
    """Rigid (6 degrees of freedom) registration of ``moving`` to ``fixed`` by normalised mutual
    information (partial-volume joint histogram, pattern search to 0.05 mm). Ranges map values
    onto the ``bins`` (default: 0.5th–99.5th percentiles; ``(-1000, 1500)`` suits a CT).
    ``resample(moving, result.transform.move_grid(fixed_grid) ...)`` is then aligned with
    ``fixed``; ``tomors.spect_ct(..., ct_motion=result.transform)`` places a CT by it. The cost
    runs on ``backend`` (``"auto"``: the GPU when there is one)."""
    d = _tomors.register_rigid(
        fixed,
        fixed_grid._tuple(),
        moving,
        moving_grid._tuple(),
        int(bins),
        fixed_range,
        moving_range,
        None if start is None else start._tuple(),
        float(max_translation),
        float(max_rotation),
        backend,
    )
    return Registration._from_dict(d)
