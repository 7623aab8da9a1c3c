import sys
import numpy as np
import pytest

import tomors
from conftest import parallel_case


@pytest.fixture
def projector():
    geom, grid = parallel_case(16, 12, cols=23)
    return tomors.Projector(geom, grid, backend="cpu")


def test_wrong_shape(projector):
    with pytest.raises(tomors.ShapeMismatchError, match=r"expected \[16, 16\]"):
        projector.forward(np.zeros((16, 17), np.float32))
    with pytest.raises(ValueError):  # also a ValueError
        projector.adjoint(np.zeros((12, 22), np.float32))
    with pytest.raises(tomors.ShapeMismatchError):
        projector.forward(np.zeros((0, 16), np.float32))
    with pytest.raises(tomors.ShapeMismatchError):
        projector.forward(np.float32(3.0))


def test_non_finite(projector):
    x = np.zeros((16, 16), np.float32)
    x[2, 3] = np.nan
    with pytest.raises(tomors.NonFiniteError, match="flat index 35"):
        projector.forward(x)
    y = np.zeros((12, 23))
    y[0, 0] = np.inf
    with pytest.raises(tomors.NonFiniteError):
        projector.adjoint(y)
    with pytest.raises(tomors.NonFiniteError):  # float64 beyond float32's range becomes inf
        projector.forward(np.full((16, 16), 1e300))


def test_bad_dtypes(projector):
    with pytest.raises(TypeError, match="complex"):
        projector.forward(np.zeros((16, 16), np.complex64))
    with pytest.raises(TypeError, match="object"):
        projector.forward(np.empty((16, 16), dtype=object))
    with pytest.raises(TypeError):
        projector.forward(np.full((16, 16), "a"))


def test_conversions_are_accepted(projector):
    rng = np.random.default_rng(0)
    x32 = rng.random((16, 16), dtype=np.float32)
    ref = projector.forward(x32)
    np.testing.assert_array_equal(projector.forward(x32.astype(np.float64)), ref)
    np.testing.assert_array_equal(projector.forward(np.asfortranarray(x32)), ref)
    np.testing.assert_array_equal(projector.forward(x32.T.copy().T), ref)
    big = np.zeros((32, 32), np.float32)
    big[::2, ::2] = x32
    np.testing.assert_array_equal(projector.forward(big[::2, ::2]), ref)
    ints = np.arange(256, dtype=np.int32).reshape(16, 16)
    np.testing.assert_array_equal(projector.forward(ints), projector.forward(ints.astype(np.float32)))
    np.testing.assert_array_equal(projector.forward(ints.tolist()), projector.forward(ints.astype(np.float32)))


def test_inputs_are_not_modified(projector):
    x = np.random.default_rng(1).random((16, 16), dtype=np.float32)
    before = x.copy()
    projector.forward(x)
    tomors.fbp(projector.forward(x), projector)
    np.testing.assert_array_equal(x, before)


def test_absurd_geometry():
    with pytest.raises(tomors.InvalidGeometryError, match="expected a value > 0 and at most"):
        tomors.ImageGrid((8, 8), spacing=-1.0)
    with pytest.raises(tomors.InvalidGeometryError, match="1e300"):
        tomors.ImageGrid((8, 8), spacing=1e300)
    with pytest.raises(tomors.InvalidGeometryError):
        tomors.ImageGrid((8, 8), spacing=float("nan"))
    with pytest.raises(tomors.InvalidGeometryError):
        tomors.ImageGrid((8, 8, 8, 8))
    with pytest.raises(tomors.InvalidGeometryError, match="angle list is empty"):
        tomors.ParallelBeam([], 10)
    with pytest.raises(tomors.InvalidGeometryError):
        tomors.ParallelBeam([0.0, float("inf")], 10)
    with pytest.raises(tomors.InvalidGeometryError, match="beyond the rotation centre"):
        tomors.FanBeam([0.0], 10, 1.0, 500.0, 300.0)
    with pytest.raises(tomors.InvalidArgumentError, match='"flat" or "arc"'):
        tomors.FanBeam([0.0], 10, 1.0, 500.0, 800.0, detector="curved")
    fan = tomors.FanBeam(np.linspace(0, 2 * np.pi, 10, endpoint=False), 50, 1.0, 100.0, 300.0)
    with pytest.raises(tomors.InvalidGeometryError, match="source"):
        tomors.Projector(fan, tomors.ImageGrid((256, 256)))
    with pytest.raises(TypeError):
        tomors.Projector("parallel", tomors.ImageGrid((8, 8)))
    with pytest.raises(TypeError):
        tomors.ParallelBeam(np.zeros((2, 2)), 10)


def test_bad_arguments(projector):
    sino = np.zeros(projector.data_shape, np.float32)
    with pytest.raises(tomors.InvalidArgumentError, match="ram-lak"):
        tomors.fbp(sino, projector, filter="gaussian")
    with pytest.raises(tomors.InvalidArgumentError, match=r"\(0, 1\]"):
        tomors.fbp(sino, projector, cutoff=0.0)
    with pytest.raises(tomors.InvalidArgumentError, match="auto"):
        tomors.Projector(*parallel_case(8, 4), backend="tpu")
    limited = tomors.ParallelBeam(np.linspace(0, np.pi / 2, 30), 23)
    p = tomors.Projector(limited, tomors.ImageGrid((16, 16)), backend="cpu")
    with pytest.raises(tomors.InvalidGeometryError, match="180"):
        tomors.fbp(np.zeros(p.data_shape), p)


def test_exception_hierarchy():
    for cls in (tomors.ShapeMismatchError, tomors.NonFiniteError, tomors.InvalidGeometryError, tomors.InvalidArgumentError):
        assert issubclass(cls, tomors.TomorsError) and issubclass(cls, ValueError)
    for cls in (tomors.NoGpuError, tomors.GpuError):
        assert issubclass(cls, tomors.TomorsError) and issubclass(cls, RuntimeError)


def test_sizes_beyond_the_machine_raise_before_allocating():
    # Was a process abort ("memory allocation of N bytes failed") at the first phantom.
    with pytest.raises(tomors.TooLargeError, match="would need") as e:
        tomors.ImageGrid((100000, 100000, 100000))
    assert isinstance(e.value, MemoryError) and isinstance(e.value, tomors.TomorsError)
    with pytest.raises(MemoryError):
        tomors.ImageGrid((200000, 200000))


@pytest.mark.parametrize("timeout_s", [float("nan"), 0.0, 1e20, 2.0**64, 1e300])
def test_pacs_timeouts_no_duration_holds_are_refused(timeout_s):
    # 1e20 s was a PanicException when the association opened (no Duration holds it).
    with pytest.raises(tomors.InvalidArgumentError, match="timeout_s"):
        tomors.Pacs("127.0.0.1", 1, "PACS", timeout_s=timeout_s).echo()


@pytest.mark.parametrize("name, call", [
    ("shape", lambda: tomors.ImageGrid((-64, 64))),
    ("port", lambda: tomors.Pacs("localhost", 70000, "PACS")),
    ("n_rows", lambda: tomors.io.read_rtk_geometry("geometry.xml", -32, 32, 1.0, 1.0)),
    ("iterations", lambda: tomors.mlem(np.zeros((4, 8), np.float32),
                                       tomors.Projector(*parallel_case(8, 4), backend="cpu"), -1)),
    ("span", lambda: tomors.SinogramLayout.mmr(2**40)),
])
def test_integers_out_of_range_say_what_was_expected(name, call):
    # Were bare OverflowErrors ("can't convert negative int to unsigned").
    with pytest.raises(tomors.InvalidArgumentError, match="out of range: expected a whole number from 0") as e:
        call()
    if sys.version_info >= (3, 11):
        assert any(name in note for note in e.value.__notes__), e.value.__notes__


def test_silent_on_a_headless_machine():
    # Mesa printed "XDG_RUNTIME_DIR is invalid or not set" at every start without it.
    import os
    import subprocess
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    out = subprocess.run([sys.executable, "-c", "import tomors; print(len(tomors.adapters()))"],
                         env=env, capture_output=True, text=True, check=True)
    assert "XDG_RUNTIME_DIR" not in out.stderr, out.stderr
    assert int(out.stdout) >= 1
