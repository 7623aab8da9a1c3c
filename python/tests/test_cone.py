"""Cone-beam CT from Python: geometry, projector pair, FDK, iterative, pickling, errors."""

import pickle

import numpy as np
import pytest

import tomors


def cone(detector="flat", **kw):
    angles = np.linspace(0, 2 * np.pi, 90, endpoint=False)
    return tomors.ConeBeam(angles, 48, 56, 1.2, 1.2, 120.0, 200.0, detector=detector, **kw)


def test_fdk_of_exact_data_matches_the_phantom():
    grid = tomors.ImageGrid((40, 40, 40), spacing=1.0)
    geom = cone()
    proj = tomors.Projector(geom, grid, backend="cpu")
    data = tomors.shepp_logan_sinogram(geom, grid, radius=18.0)
    assert data.shape == (90, 48, 56)
    image = tomors.fdk(data, proj, filter="hann", cutoff=1.0)
    truth = tomors.shepp_logan(grid, radius=18.0)
    centre = (slice(14, 26), slice(10, 30), slice(12, 28))
    err = np.sqrt(np.mean((image[centre] - truth[centre]) ** 2))
    assert err < 0.05, err
    # The FBP plan class runs FDK for a ConeBeam, with a buffer cap (slabs), same bits.
    capped = tomors.FBP(proj, filter="hann", max_buffer_bytes=64 << 10)(data)
    assert np.array_equal(capped, image)


@pytest.mark.parametrize("detector", ["flat", "cylindrical"])
def test_projector_pair_is_adjoint(detector):
    grid = tomors.ImageGrid((12, 12, 12), spacing=1.0)
    proj = tomors.Projector(cone(detector, col_offset=2.0), grid, backend="cpu")
    assert proj.adjointness_test(seed=3) < 1e-6
    assert proj.data_shape == [90, 48, 56]


def test_vectors_round_trip_and_pickle():
    geom = cone(pitch=5.0)
    vec = geom.vectors()
    again = tomors.ConeBeam.from_vectors(vec, geom.n_rows, geom.n_cols)
    assert again.n_views == 90
    grid = tomors.ImageGrid((8, 8, 8))
    p = tomors.Projector(geom, grid, backend="cpu")
    q = pickle.loads(pickle.dumps(p))
    x = np.random.default_rng(0).random((8, 8, 8), dtype=np.float32)
    assert np.array_equal(p.forward(x), q.forward(x))


def test_iterative_over_the_cone_projector():
    grid = tomors.ImageGrid((16, 16, 16), spacing=1.0)
    geom = cone()
    proj = tomors.Projector(geom, grid, backend="cpu")
    truth = 0.02 * tomors.shepp_logan(grid, radius=7.0)
    data = proj.forward(truth)
    seen = []
    x = tomors.cgls(data, proj, 10, callback=lambda it, image: seen.append(it) or it < 3)
    assert seen == [1, 2, 3] and x.shape == (16, 16, 16)
    start = np.sqrt(np.mean(truth ** 2))
    errors = [np.sqrt(np.mean((x - truth) ** 2)) for x in (tomors.os_sart(data, proj, 10, 6), tomors.cgls(data, proj, 20))]
    assert max(errors) < 0.5 * start, (errors, start)


def test_bad_cone_input_raises():
    angles = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    with pytest.raises(tomors.InvalidGeometryError):
        tomors.ConeBeam(angles, 4, 4, 1.0, 1.0, 200.0, 100.0)
    with pytest.raises(tomors.InvalidArgumentError):
        tomors.ConeBeam(angles, 4, 4, 1.0, 1.0, 100.0, 200.0, detector="round")
    with pytest.raises(tomors.InvalidGeometryError):
        tomors.ConeBeam.from_vectors(np.zeros((3, 11)), 4, 4)
    bad = np.array([[0, -100, 0, 0, 100, 0, 1, 0, 0, 1, 0, 1]], dtype=float)  # u, v not orthogonal
    with pytest.raises(tomors.InvalidGeometryError):
        tomors.ConeBeam.from_vectors(bad, 4, 4)
    grid = tomors.ImageGrid((300, 300, 300))
    with pytest.raises(tomors.InvalidGeometryError):  # source inside the grid
        tomors.Projector(tomors.ConeBeam(angles, 4, 4, 1.0, 1.0, 100.0, 200.0), grid)
    small = tomors.ImageGrid((8, 8, 8))
    p = tomors.Projector(tomors.ConeBeam(angles, 4, 4, 1.0, 1.0, 100.0, 200.0), small, backend="cpu")
    with pytest.raises(tomors.ShapeMismatchError):
        tomors.fdk(np.zeros((10, 4, 5)), p)
    with pytest.raises(tomors.NonFiniteError):
        tomors.fdk(np.full((10, 4, 4), np.nan), p)
    fan = tomors.Projector(tomors.FanBeam(angles, 8, 1.0, 100.0, 200.0), tomors.ImageGrid((8, 8)), backend="cpu")
    with pytest.raises(TypeError):
        tomors.fdk(np.zeros((10, 8)), fan)


def test_rtk_geometry_and_tiff_round_trip(tmp_path):
    geom = cone(col_offset=4.0)
    path = tmp_path / "geometry.xml"
    tomors.io.write_rtk_geometry(path, geom)
    back = tomors.io.read_rtk_geometry(path, 48, 56, 1.2, 1.2)
    assert back.n_views == geom.n_views
    grid = tomors.ImageGrid((8, 8, 8))
    x = np.random.default_rng(1).random((8, 8, 8), dtype=np.float32)
    a = tomors.Projector(geom, grid, backend="cpu").forward(x)
    b = tomors.Projector(back, grid, backend="cpu").forward(x)
    # The same rays (offsets folded into the detector centre): f32 rounding apart.
    assert np.abs(a - b).max() < 1e-4 * a.max()
    with pytest.raises(tomors.errors.TomorsIOError):
        tomors.io.read_tiff_stack(tmp_path / "missing.tif")
