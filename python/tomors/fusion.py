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
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _tomors
from .io import PatientGrid

__all__ = ["resample", "plane", "fuse", "write_png", "WINDOWS", "COLORMAPS"]

WINDOWS = ("soft-tissue", "lung", "bone", "brain")
"""Window presets (level, width in HU): soft tissue (40, 400), lung (−600, 1500), bone (400, 1800),
brain (40, 80)."""

COLORMAPS = ("grey", "hot", "inferno", "viridis")


def resample(
    volume: np.ndarray, source: PatientGrid, target: PatientGrid, method: str = "trilinear", outside: float = 0.0
) -> np.ndarray:
    """``volume`` (placed by ``source``) on the voxels of ``target``: ``"trilinear"`` at the
    target centres, or ``"average"`` over each target voxel (for downsampling, e.g. a CT onto a
    SPECT grid). Points beyond the source take ``outside``."""
    return _tomors.resample(volume, source._tuple(), target._tuple(), method, outside)


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
