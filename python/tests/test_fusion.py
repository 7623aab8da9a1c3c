"""tomors.fusion: resampling between patient grids and fused pictures."""

import numpy as np
import pytest

import tomors
import tomors.fusion as tf
from conftest import require_gpu
from tomors.io import PatientGrid

AXES = ((1, 0, 0), (0, 1, 0), (0, 0, 1))


def test_resample_moves_and_averages():
    fine = PatientGrid((8, 8, 8), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), AXES)
    z, y, x = np.meshgrid(*[np.arange(8.0)] * 3, indexing="ij")
    ramp = (x + 2 * y + 3 * z).astype(np.float32)
    shifted = PatientGrid((4, 4, 4), (1.0, 1.0, 1.0), (1.5, 2.0, 0.5), AXES)
    out = tf.resample(ramp, fine, shifted)
    zz, yy, xx = np.meshgrid(np.arange(4) + 0.5, np.arange(4) + 2.0, np.arange(4) + 1.5, indexing="ij")
    np.testing.assert_allclose(out, xx + 2 * yy + 3 * zz, atol=1e-4)
    board = ((x + y + z) % 2).astype(np.float32)
    coarse = PatientGrid((4, 4, 4), (2.0, 2.0, 2.0), (1.0, 1.0, 1.0), AXES)
    np.testing.assert_allclose(tf.resample(board, fine, coarse, "average")[:3, :3, :3], 0.5, atol=1e-6)
    with pytest.raises(tomors.errors.InvalidArgumentError, match="trilinear"):
        tf.resample(board, fine, coarse, "cubic")


def test_resample_gpu_matches_cpu():
    """The GPU against the CPU twin (comparing the CPU with itself would prove nothing)."""
    require_gpu()
    backend = "gpu"
    fine = PatientGrid((12, 14, 16), (2.0, 1.0, 1.0), (0.0, 0.0, 0.0), AXES)
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in fine.shape], indexing="ij")
    volume = np.sin(x / 3) * np.cos(y / 4) + z
    tilted = tf.Rigid((0.1, 0.0, 0.2), (0.5, -0.5, 1.0), (8.0, 7.0, 11.0)).move_grid(
        PatientGrid((5, 6, 7), (4.0, 2.5, 2.5), (1.0, 1.0, 1.0), AXES))
    for method in ("trilinear", "average"):
        cpu = tf.resample(volume, fine, tilted, method, outside=-5.0, backend="cpu")
        got = tf.resample(volume, fine, tilted, method, outside=-5.0, backend=backend)
        assert (cpu == -5.0).any() and (cpu != -5.0).any()
        np.testing.assert_allclose(got, cpu, atol=1e-4)


def test_fused_picture(tmp_path):
    volume = np.zeros((4, 6, 8), np.float32)
    volume[3, 0, 7] = 1.0  # superior, anterior, patient's left
    coronal = tf.plane(volume, (2.5, 1.0, 1.0), "coronal", (0, 0, 0))
    assert coronal.shape == (10, 8) and coronal[0, 7] > 0.5
    ct = np.full((10, 8), 40.0, np.float32)
    rgb = tf.fuse(ct, "soft-tissue", emission=coronal, colormap="inferno", threshold=0.5, alpha=1.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (10, 8, 3)
    assert tuple(rgb[9, 0]) == (128, 128, 128)  # below the threshold: the CT alone
    assert tuple(rgb[0, 7]) != (128, 128, 128)
    tf.write_png(rgb, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TypeError, match="uint8"):
        tf.write_png(rgb.astype(np.float32), tmp_path / "g.png")
    with pytest.raises(tomors.errors.ShapeMismatchError):
        tf.write_png(rgb[:, :, :2], tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()
    with pytest.raises(tomors.errors.InvalidArgumentError, match="window"):
        tf.fuse(ct, "liver")
    with pytest.raises(tomors.errors.ShapeMismatchError):
        tf.fuse(ct, (40, 400), emission=np.zeros((3, 3), np.float32))
