"""PET 2D model with OSEM, and the CT ordered-subsets algorithms, from Python."""

import numpy as np
import pytest

import tomors


def disc(n, d, radius, value):
    c = (n - 1) / 2
    y, x = np.mgrid[:n, :n]
    return np.where(np.hypot((x - c) * d, (y - c) * d) <= radius, value, 0).astype(np.float32)


def test_pet_osem_with_attenuation_and_randoms(backend):
    n, d = 40, 4.0
    grid = tomors.ImageGrid((n, n), spacing=d)
    geom = tomors.ParallelBeam(np.arange(48) * np.pi / 48, n_cols=60, col_spacing=d)
    mu = disc(n, d, 72.0, 0.0096)
    pet = tomors.PetProjector(geom, grid, attenuation=mu, backend=backend)
    assert pet.backend == backend
    assert pet.adjointness_test(1) < 1e-4
    assert pet.factors.shape == (48, 60) and pet.factors.max() <= 1.0
    truth = disc(n, d, 60.0, 3.0)
    trues = pet.forward(truth)
    randoms = np.full_like(trues, 0.2)
    image = tomors.osem(trues + randoms, pet, iterations=8, subsets=6, background=randoms)
    centre = image[18:22, 18:22].mean()
    assert abs(centre / 3.0 - 1.0) < 0.05
    values = []
    tomors.mlem(trues + randoms, pet, iterations=3, background=randoms, callback=lambda i, x: values.append(tomors.log_likelihood(trues + randoms, pet, x, randoms)))
    assert values[0] <= values[1] <= values[2]


def test_ct_os_sps_and_os_sart(backend):
    grid = tomors.ImageGrid((48, 48), spacing=2.0)
    geom = tomors.ParallelBeam(np.arange(60) * np.pi / 60, n_cols=71, col_spacing=2.0)
    proj = tomors.Projector(geom, grid, backend=backend)
    mu = tomors.shepp_logan(grid, radius=45.0) * 0.02
    line = proj.forward(mu)
    blank = np.full_like(line, 1e4)
    counts = np.round(blank * np.exp(-line)).astype(np.float32)
    sps = tomors.os_sps(counts, blank, proj, iterations=20, subsets=6)
    sart = tomors.os_sart(line, proj, iterations=20, subsets=10)
    for image in (sps, sart):
        assert (image >= 0).all()
        assert np.linalg.norm(image - mu) / np.linalg.norm(mu) < 0.3
    with pytest.raises(tomors.InvalidArgumentError):
        tomors.os_sps(-counts, blank, proj, iterations=1, subsets=1)
    with pytest.raises(tomors.InvalidArgumentError):
        tomors.os_sart(line, proj, iterations=1, subsets=1, relaxation=3.0)


def test_nema_phantom_in_2d_feeds_pet():
    grid = tomors.ImageGrid((64, 64), spacing=6.0)
    activity, mu = tomors.nema_iec(grid, contrast=8.0, mu_water=0.0096)
    assert activity.shape == (64, 64) and mu.shape == (64, 64)
    assert activity.max() == pytest.approx(8.0) and mu.max() == pytest.approx(0.0096)
    geom = tomors.ParallelBeam(np.arange(64) * np.pi / 64, n_cols=91, col_spacing=6.0)
    pet = tomors.PetProjector(geom, grid, attenuation=mu, backend="cpu")
    assert pet.forward(activity).shape == (64, 91)


def test_every_projector_has_the_same_operator_surface():
    """Projector, SpectProjector and PetProjector share one wrapper: shapes, device, forward,
    adjoint, adjointness test, norm and pickling."""
    import pickle

    n, d = 24, 4.0
    grid2 = tomors.ImageGrid((n, n), spacing=d)
    geom = tomors.ParallelBeam(np.arange(16) * np.pi / 16, n_cols=35, col_spacing=d)
    mu = disc(n, d, 40.0, 0.0096)
    spect_geom = tomors.SpectGeometry(np.arange(12) * 2 * np.pi / 12, radius=150.0, n_cols=n, col_spacing=d)
    projectors = [
        tomors.Projector(geom, grid2, backend="cpu"),
        tomors.PetProjector(geom, grid2, attenuation=mu, backend="cpu"),
        tomors.SpectProjector(spect_geom, tomors.ImageGrid((3, n, n), spacing=d), backend="cpu"),
    ]
    for p in projectors:
        x = np.ones(p.image_shape, np.float32)
        y = p.forward(x)
        assert list(y.shape) == p.data_shape
        assert list(p.adjoint(y).shape) == p.image_shape
        assert p.adjointness_test(3) < 1e-6
        assert p.norm(10) > 0
        assert p.backend == "cpu" and p.device.startswith("cpu")
        assert type(p).__name__ in repr(p)
        again = pickle.loads(pickle.dumps(p))
        np.testing.assert_array_equal(again.forward(x), y)


def test_osem_says_what_it_needs_when_given_a_ct_projector():
    grid = tomors.ImageGrid((16, 16), spacing=2.0)
    ct = tomors.Projector(tomors.ParallelBeam(np.arange(8) * np.pi / 8, n_cols=23, col_spacing=2.0), grid, backend="cpu")
    data = np.ones(ct.data_shape, np.float32)
    with pytest.raises(TypeError, match="needs an emission model.*got Projector.*os_sps"):
        tomors.osem(data, ct, iterations=1, subsets=1)
    with pytest.raises(TypeError, match="got str"):
        tomors.log_likelihood(data, "pet", np.ones(ct.image_shape, np.float32))


def test_a_pickled_pet_projector_is_the_model_that_was_built():
    """The pickle holds the arrays the model used, not the caller's (later edited) ones."""
    import pickle

    n, d = 16, 4.0
    grid = tomors.ImageGrid((n, n), spacing=d)
    geom = tomors.ParallelBeam(np.arange(10) * np.pi / 10, n_cols=23, col_spacing=d)
    mu = disc(n, d, 24.0, 0.0096)
    pet = tomors.PetProjector(geom, grid, attenuation=mu, backend="cpu")
    mu[:] = 1.0
    again = pickle.loads(pickle.dumps(pet))
    np.testing.assert_array_equal(again.factors, pet.factors)
