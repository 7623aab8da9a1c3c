import pickle

import numpy as np
import pytest

import tomors
from conftest import parallel_case, rel_l2, require_gpu


def test_shapes_backend_and_dtype(backend):
    geom, grid = parallel_case(48, 60)
    p = tomors.Projector(geom, grid, backend=backend)
    assert p.backend == backend
    assert p.image_shape == [48, 48]
    assert p.data_shape == [60, geom.n_cols]
    x = tomors.shepp_logan(grid)
    y = p.forward(x)
    assert y.dtype == np.float32 and list(y.shape) == p.data_shape
    z = p.adjoint(y)
    assert z.dtype == np.float32 and list(z.shape) == p.image_shape
    assert y.flags.c_contiguous and y.flags.owndata is not None


@pytest.mark.parametrize(
    "make",
    [
        lambda: tomors.ParallelBeam(np.linspace(0, np.pi, 41, endpoint=False), 47, col_spacing=0.9, col_offset=2.5),
        lambda: tomors.FanBeam(np.linspace(0, 2 * np.pi, 50, endpoint=False), 45, 1.3, 150.0, 260.0, detector="flat", col_offset=-3.0),
        lambda: tomors.FanBeam(np.linspace(0, 2 * np.pi, 50, endpoint=False), 45, 1.3, 150.0, 260.0, detector="arc", col_offset=1.0),
    ],
    ids=["parallel", "fan-flat", "fan-arc"],
)
def test_adjointness(backend, make):
    grid = tomors.ImageGrid((31, 36), spacing=(1.1, 0.8))
    p = tomors.Projector(make(), grid, backend=backend)
    tol = 1e-6 if backend == "cpu" else 1e-4
    for seed in range(3):
        assert p.adjointness_test(seed) < tol
    # And by hand, with NumPy's own random arrays.
    rng = np.random.default_rng(1)
    x = rng.random(p.image_shape, dtype=np.float32)
    y = rng.random(p.data_shape, dtype=np.float32)
    lhs = np.vdot(p.forward(x).astype(np.float64), y.astype(np.float64))
    rhs = np.vdot(x.astype(np.float64), p.adjoint(y).astype(np.float64))
    assert abs(lhs - rhs) / abs(lhs) < tol


def test_gpu_matches_cpu():
    require_gpu()
    geom = tomors.FanBeam(np.linspace(0, 2 * np.pi, 120, endpoint=False), 101, 1.5, 300.0, 500.0, detector="arc")
    grid = tomors.ImageGrid((64, 64), spacing=1.0)
    cpu = tomors.Projector(geom, grid, backend="cpu")
    gpu = tomors.Projector(geom, grid, backend="gpu")
    x = tomors.shepp_logan(grid)
    sino = tomors.shepp_logan_sinogram(geom, grid)
    assert rel_l2(gpu.forward(x), cpu.forward(x)) < 1e-5
    assert rel_l2(gpu.adjoint(sino), cpu.adjoint(sino)) < 1e-5
    assert rel_l2(tomors.fbp(sino, gpu, "hann", 0.9), tomors.fbp(sino, cpu, "hann", 0.9)) < 1e-5


def test_stack_3d():
    grid = tomors.ImageGrid((4, 32, 32), spacing=(2.0, 1.0, 1.0))
    geom = tomors.ParallelBeam(np.arange(40) * np.pi / 40, 47, n_rows=4, row_spacing=2.0)
    p = tomors.Projector(geom, grid, backend="cpu")
    vol = tomors.shepp_logan(grid)
    assert vol.shape == (4, 32, 32)
    proj = p.forward(vol)
    assert proj.shape == (40, 4, 47)
    exact = tomors.shepp_logan_sinogram(geom, grid)
    assert exact.shape == (40, 4, 47)
    rec = tomors.fbp(exact, p)
    assert rec.shape == (4, 32, 32)


def test_auto_reports_its_choice():
    geom, grid = parallel_case(16, 10)
    p = tomors.Projector(geom, grid)  # auto
    assert p.backend in ("cpu", "gpu")
    assert p.backend in p.device


def test_norm_and_reuse():
    geom, grid = parallel_case(32, 40)
    p = tomors.Projector(geom, grid, backend="cpu")
    n = p.norm(20)
    x = np.ones(p.image_shape, np.float32)
    assert np.linalg.norm(p.forward(x)) <= n * np.linalg.norm(x) * (1 + 1e-4)
    plan = tomors.FBP(p, filter="shepp-logan", cutoff=0.8)
    sino = tomors.shepp_logan_sinogram(geom, grid)
    a, b = plan(sino), plan(sino)
    np.testing.assert_array_equal(a, b)


def test_objects_pickle():
    geom, grid = parallel_case(16, 12)
    fan = tomors.FanBeam([0.0, 1.0, 2.0], 21, 1.0, 100.0, 180.0, detector="arc")
    for obj in (geom, grid, fan):
        clone = pickle.loads(pickle.dumps(obj))
        assert repr(clone) == repr(obj)
    p = tomors.Projector(geom, grid, backend="cpu")
    q = pickle.loads(pickle.dumps(p))
    x = tomors.shepp_logan(grid)
    np.testing.assert_array_equal(q.forward(x), p.forward(x))
