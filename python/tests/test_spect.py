"""SPECT model and OSEM from Python: matched pair, reconstruction, callbacks, errors, pickling."""

import pickle

import numpy as np
import pytest

import tomors


def make(backend, collimator=True, n=24, views=24):
    grid = tomors.ImageGrid((6, n, n), spacing=4.0)
    activity, mu = tomors.nema_iec(grid)  # the body is larger than this grid: a uniform crop
    col = tomors.Collimator.preset("lehr") if collimator else None
    geom = tomors.SpectGeometry(np.linspace(0, 2 * np.pi, views, endpoint=False), n_cols=n, col_spacing=4.0, radius=200.0, collimator=col)
    return tomors.SpectProjector(geom, grid, attenuation=mu, backend=backend), activity, mu


def test_adjoint_matches(backend):
    p, _, _ = make(backend)
    assert p.backend == backend
    assert p.adjointness_test(seed=3) < 1e-4


def test_osem_reduces_error_and_reports_each_iteration(backend):
    p, activity, _ = make(backend)
    data = p.forward(activity)
    assert data.shape == (24, 6, 24) and data.dtype == np.float32
    seen = []

    def record(iteration, image):
        seen.append((iteration, float(np.linalg.norm(image - activity) / np.linalg.norm(activity))))

    image = tomors.osem(data, p, iterations=3, subsets=4, callback=record)
    assert [i for i, _ in seen] == [1, 2, 3]
    errors = [e for _, e in seen]
    assert errors[2] < errors[1] < errors[0] < 0.5
    assert image.shape == (6, 24, 24) and np.isfinite(image).all()


def test_callback_stops_early_and_exceptions_propagate():
    p, activity, _ = make("cpu", collimator=False)
    data = p.forward(activity)
    calls = []
    tomors.mlem(data, p, iterations=10, callback=lambda i, x: calls.append(i) or i < 2)
    assert calls == [1, 2]

    def boom(i, x):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        tomors.osem(data, p, iterations=3, subsets=2, callback=boom)


def test_background_and_likelihood_ascent():
    p, activity, _ = make("cpu")
    rng = np.random.default_rng(1)
    mean = p.forward(activity) * 5
    background = np.full_like(mean, 0.3)
    counts = rng.poisson(mean + background).astype(np.float32)
    values = []
    tomors.mlem(counts, p, iterations=5, background=background, callback=lambda i, x: values.append(tomors.log_likelihood(counts, p, x, background)))
    assert all(b >= a - 1e-9 * abs(a) for a, b in zip(values, values[1:]))


def test_post_filter_smooths():
    p, activity, _ = make("cpu", collimator=False)
    data = p.forward(activity)
    sharp = tomors.osem(data, p, iterations=2, subsets=4)
    smooth = tomors.osem(data, p, iterations=2, subsets=4, post_filter_fwhm=8.0)
    assert np.abs(np.diff(smooth, axis=2)).sum() < np.abs(np.diff(sharp, axis=2)).sum()


def test_bad_input_raises():
    p, activity, mu = make("cpu", collimator=False)
    data = p.forward(activity)
    with pytest.raises(tomors.InvalidArgumentError, match="negative"):
        tomors.osem(-data, p, iterations=1, subsets=1)
    with pytest.raises(tomors.InvalidArgumentError, match="subsets"):
        tomors.osem(data, p, iterations=1, subsets=25)
    bad = data.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(tomors.NonFiniteError):
        tomors.osem(bad, p, iterations=1, subsets=1)
    with pytest.raises(tomors.ShapeMismatchError):
        tomors.SpectProjector(tomors.SpectGeometry([0.0], 24, 4.0, 200.0), tomors.ImageGrid((6, 24, 24), spacing=4.0), attenuation=mu[:, :, :-1])
    with pytest.raises(ValueError, match="radius"):
        tomors.SpectGeometry([0.0, 1.0], 24, 4.0, radius=[200.0])
    with pytest.raises(tomors.InvalidGeometryError):
        tomors.SpectGeometry([0.0, 1.0], 24, 4.0, radius=-5.0)
    with pytest.raises(tomors.InvalidArgumentError):
        tomors.Collimator.preset("pinhole")
    with pytest.raises(TypeError):
        tomors.osem(data.astype(np.complex64), p, iterations=1, subsets=1)


def test_pickles_with_its_attenuation_map():
    p, activity, _ = make("cpu")
    q = pickle.loads(pickle.dumps(p))
    np.testing.assert_array_equal(q.forward(activity), p.forward(activity))


def test_map_prior_and_scatter_background():
    p, activity, _ = make("cpu", collimator=False)
    rng = np.random.default_rng(4)
    clean = p.forward(activity) * 3
    lower = rng.poisson(np.full(clean.shape, 6.0)).astype(np.float32)
    scatter = tomors.triple_energy_window(lower, None, 6.0, 6.0, 28.0)
    np.testing.assert_allclose(scatter, lower / 6.0 * 14.0, rtol=1e-6)
    np.testing.assert_allclose(tomors.dual_energy_window(lower, k=0.5), lower * 0.5)
    counts = rng.poisson(clean + scatter).astype(np.float32)
    plain = tomors.osem(counts, p, iterations=3, subsets=4, background=scatter)
    smooth = tomors.osem(counts, p, iterations=3, subsets=4, background=scatter, prior=tomors.Prior.relative_difference(0.5))
    assert np.isfinite(smooth).all() and (smooth >= 0).all()
    assert np.abs(np.diff(smooth, axis=2)).sum() < np.abs(np.diff(plain, axis=2)).sum()
    with pytest.raises(tomors.InvalidArgumentError):
        tomors.Prior.quadratic(-1.0)


def test_vendor_collimators_at_an_energy():
    ge = tomors.Collimator.for_camera("MEGP", "GE MEDICAL SYSTEMS", kev=208.0)
    siemens = tomors.Collimator.for_camera("ME", "SIEMENS NM", kev=208.0)
    # GE's MEGP holes (3.0 / 58 mm) shortened by penetration at 208 keV; intrinsic 3.8 mm at 140 keV.
    assert 3.0 / 58.0 < ge.fwhm_slope < 3.0 / 55.0
    assert abs(ge.intrinsic_fwhm - 3.8 * (140 / 208) ** 0.5) < 1e-12
    assert siemens.fwhm(100.0) != ge.fwhm(100.0)
    same = tomors.Collimator.from_spec(3.0, 1.05, 58.0, kev=208.0)
    assert same.fwhm(150.0) == ge.fwhm(150.0)
    with pytest.raises(ValueError, match="unknown collimator"):
        tomors.Collimator.for_camera("pinhole")
    with pytest.raises(ValueError, match="keV"):
        tomors.Collimator.for_camera("lehr", kev=20.0)


def test_voi_stats_from_a_mask_a_level_and_a_fraction():
    image = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    s = tomors.voi_stats(image, (2.0, 2.0, 2.5), mask=np.ones_like(image))
    assert s["voxels"] == 24 and abs(s["volume_ml"] - 0.24) < 1e-12
    assert s["mean"] == 11.5 and s["max"] == 23.0 and abs(s["total"] - 2.76) < 1e-12
    assert tomors.voi_stats(image, (1, 1, 1), level=20.0)["voxels"] == 4
    first = np.zeros(image.shape, bool)
    first[0] = True
    half = tomors.voi_stats(image, (1, 1, 1), fraction_of_max=0.5, within=first)
    assert (half["voxels"], half["min"], half["max"]) == (6, 6.0, 11.0)
    with pytest.raises(ValueError, match="exactly one"):
        tomors.voi_stats(image, (1, 1, 1), mask=first, level=1.0)
    with pytest.raises(tomors.ShapeMismatchError):
        tomors.voi_stats(image, (1, 1, 1), mask=np.ones((2, 3, 5)))
    with pytest.raises(ValueError, match="no voxel"):
        tomors.voi_stats(image, (1, 1, 1), level=100.0)


def test_bsrem_raises_its_objective(backend):
    p, activity, _ = make(backend, collimator=False)
    rng = np.random.default_rng(8)
    background = np.full(p.forward(activity).shape, 0.5, np.float32)
    counts = rng.poisson(p.forward(activity) * 3 + background).astype(np.float32)
    prior = tomors.Prior.relative_difference(5.0)
    objectives = []

    def record(iteration, image):
        objectives.append(tomors.penalised_log_likelihood(counts, p, image, prior, background=background))

    image = tomors.bsrem(counts, p, prior, iterations=12, subsets=4, background=background, callback=record)
    assert len(objectives) == 12 and np.isfinite(image).all() and (image >= 0).all()
    assert all(b >= a - 1e-9 * abs(a) for a, b in zip(objectives[3:], objectives[4:])), objectives
    assert objectives[-1] > objectives[0]
    with pytest.raises(tomors.InvalidArgumentError):
        tomors.bsrem(counts, p, prior, iterations=2, subsets=4, relaxation=-1.0)


def test_bsrem_for_noise_and_nema_recovery():
    # The truth sampled at voxel centres recovers exactly; regions are the grid's shape.
    grid = tomors.ImageGrid((16, 80, 80), spacing=4.0)
    truth, _ = tomors.nema_iec(grid, supersample=1)
    spheres, background = tomors.nema_regions(grid)
    assert len(spheres) == 6 and background.shape == truth.shape and background.dtype == bool
    r = tomors.nema_recovery(truth, grid)
    assert [d for d, _, _ in r["spheres"]] == [10, 13, 17, 22, 28, 37]
    assert all(m == 1.0 and x == 1.0 for _, m, x in r["spheres"]) and r["background_noise"] == 0.0
    with pytest.raises(TypeError):
        tomors.nema_recovery(truth[0], grid)

    # BSREM reaches the noise asked for over a uniform region (β = 1 gives about 0.17).
    p, activity, _ = make("cpu", collimator=False)
    counts = np.random.default_rng(3).poisson(p.forward(activity) * 2).astype(np.float32) / 2
    region = np.zeros(activity.shape, bool)
    region[1:5, 18:22, 2:14] = True
    assert (activity[region] == 1).all()
    prior = tomors.Prior.relative_difference(0.1)
    image, beta, noise, runs = tomors.bsrem_for_noise(counts, p, prior, 0.17, region, iterations=4, subsets=4)
    assert abs(noise / 0.17 - 1) <= 0.03 and beta > 0.1 and runs > 1
    sel = image[region]
    assert abs(sel.std(ddof=1) / sel.mean() - noise) < 1e-6
    with pytest.raises(tomors.InvalidArgumentError, match="no β reached"):
        tomors.bsrem_for_noise(counts, p, prior, 1e-9, region, iterations=2, subsets=4, max_reconstructions=2)
