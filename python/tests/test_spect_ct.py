"""tomors.spect_ct on the shared real SPECT/CT study, HU → μ, and rigid registration."""

import math
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import tomors
from tomors.fusion import Rigid, register_rigid, resample
from tomors.io import PatientGrid

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
STUDY = DATA / "spect_ct_lu177"
needs_study = pytest.mark.skipif(not STUDY.exists(), reason=f"{STUDY} absent (real data lives in ../shared/data)")


def nm_file():
    return next((STUDY / "NM").iterdir())


def test_hu_to_mu_follows_the_water_bone_model():
    water, bone = tomors.attenuation_coefficients(140.5)
    assert abs(water - 0.01536) < 2e-5  # NIST, Tc-99m
    assert tomors.bone_ct_number(120) == 1358.0
    ct = np.array([[[-1000.0, -500.0, 0.0, 1358.0, -3000.0]]], dtype=np.float32)
    mu = tomors.hu_to_mu(ct, 140.5, kvp=120)
    np.testing.assert_allclose(mu[0, 0], [0.0, water / 2, water, bone, 0.0], rtol=1e-5, atol=1e-9)
    own = tomors.hu_to_mu(ct, 140.5, coefficients=(0.015, 1.5e-5, 1.0e-5))
    np.testing.assert_allclose(own[0, 0, 2:4], [0.015, 0.015 + 1358 * 1.0e-5], rtol=1e-6)
    assert ct[0, 0, 0] == -1000.0  # the input is untouched
    with pytest.raises(tomors.InvalidArgumentError, match="kvp"):
        tomors.hu_to_mu(ct, 140.5)
    with pytest.raises(tomors.InvalidArgumentError, match="kVp"):
        tomors.hu_to_mu(ct, 140.5, kvp=60)
    with pytest.raises(tomors.InvalidArgumentError, match="keV"):
        tomors.hu_to_mu(ct, 20.0, kvp=120)
    bad = ct.copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(tomors.NonFiniteError):
        tomors.hu_to_mu(bad, 140.5, kvp=120)


def blobs(grid: PatientGrid):
    z, y, x = np.meshgrid(*[np.arange(n) for n in grid.shape], indexing="ij")
    p = [grid.origin[k] + (x, y, z)[k] * grid.spacing[2 - k] for k in range(3)]

    def g(c, s):
        return np.exp(-sum((p[k] - c[k]) ** 2 for k in range(3)) / (2 * s * s))

    return (100 * g((0, 0, 0), 18) + 60 * g((14, -8, 6), 6) + 80 * g((-10, 12, -9), 4)).astype(np.float32)


def test_register_rigid_finds_a_known_motion_and_rigid_moves_grids(backend):
    grid = PatientGrid((40, 40, 40), (2.0, 2.0, 2.0), (-39.0, -39.0, -39.0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    fixed = blobs(grid)
    centre = (0.0, 0.0, 0.0)
    truth = Rigid((0.0, math.radians(3), 0.0), (4.0, -2.0, 3.0), centre)
    moved = truth.move_grid(grid)
    # The moved grid puts every voxel where the motion takes it.
    np.testing.assert_allclose(moved.origin, truth.apply(grid.origin), atol=1e-12)
    found = register_rigid(fixed, grid, fixed, moved, backend=backend)
    assert found.nmi > found.nmi_start
    for k in range(3):
        assert abs(found.transform.translation[k] - truth.translation[k]) < 0.5
        assert abs(found.transform.angles[k] - truth.angles[k]) < math.radians(0.3)
    back = resample(fixed, moved, found.transform.move_grid(grid))
    inner = (slice(6, -6),) * 3  # away from the edges the motion carries out of the volume
    assert np.abs(back[inner] - fixed[inner]).max() < 0.02 * fixed.max()
    with pytest.raises(tomors.InvalidArgumentError, match="bins"):
        register_rigid(fixed, grid, fixed, moved, bins=2)
    # A grid that is no grid (zero spacing) is refused, not moved.
    flat = PatientGrid((4, 4, 4), (2.0, 0.0, 2.0), (0.0, 0.0, 0.0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    with pytest.raises(tomors.InvalidGeometryError):
        truth.move_grid(flat)


@needs_study
def test_spect_ct_on_the_real_study(tmp_path):
    stages = []
    with pytest.warns(UserWarning, match="does not cover the emission field of view"):
        r = tomors.spect_ct(
            nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu", output_dir=tmp_path,
            progress=lambda stage, done, of: stages.append((stage, done, of)),
        )
    assert r.image.shape == (128, 128, 128) and r.image.dtype == np.float32
    assert r.units == "CPS" and r.backend.startswith("cpu")
    assert r.photopeak_window == 1 and r.scatter_windows == (3, 2)
    assert r.mu_map.shape == r.image.shape and 0.012 < np.percentile(r.mu_map[r.mu_map > 0.005], 50) < 0.016
    assert stages[0] == ("reading", 0, 0) and stages[-1] == ("iteration", 1, 1)
    assert any("TEW" in line for line in r.settings)
    # The anonymised header gives no half-life: no decay correction, and the settings say so.
    assert r.decay_factor == 1.0 and any("no half-life" in line for line in r.settings)
    files = r.files
    assert len(files["dicom"]) == 128 and files["summary_png"].stat().st_size > 10_000
    # The DICOM series is in the CT's study and frame of reference, readable by pydicom.
    pydicom = pytest.importorskip("pydicom")
    ct = tomors.io.read_ct_series(STUDY / "CT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = pydicom.dcmread(files["dicom"][0])
    assert ds.FrameOfReferenceUID == ct.frame_of_reference_uid and ds.StudyInstanceUID == ct.study_uid
    back = tomors.io.read_nm_volume(files["dicom"][0].parent)
    assert np.abs(back.values - r.image).max() <= r.image.max() / 30000
    # Nothing is overwritten.
    with pytest.raises(tomors.InvalidArgumentError, match="exists already"):
        tomors.spect_ct(nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu", output_dir=tmp_path)
    # The result is plain data: it pickles (Dask ships it between workers).
    again = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(again.image, r.image)

    # With a calibration factor the image is in Bq/mL: counts/s ÷ (cps/MBq) × 1e6 ÷ voxel mL.
    with pytest.warns(UserWarning):
        bq = tomors.spect_ct(nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu", calibration_cps_per_mbq=9.5)
    voxel_ml = np.prod(r.grid.spacing) / 1000
    assert bq.units == "BQML"
    np.testing.assert_allclose(bq.image, r.image / 9.5 * 1e6 / voxel_ml, rtol=1e-5, atol=1e-3)


@needs_study
def test_spect_ct_registers_the_ct_to_the_emission_data_when_asked():
    stages = []
    with pytest.warns(UserWarning):
        r = tomors.spect_ct(
            nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu", register=True,
            progress=lambda stage, done, of: stages.append(stage),
        )
    reg = r.registration
    assert "registration" in stages and reg.nmi >= reg.nmi_start
    # This study's hardware registration is good to a few mm: the CT stays close.
    centre = reg.transform.centre
    moved = reg.transform.apply(centre)
    assert math.dist(moved, centre) < 10.0
    assert any(line.startswith("CT registered to emission") for line in r.settings)
    # The image lies where the registration puts the emission grid in the CT's frame.
    plain = tomors.spect_ct(nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu", attenuation=False)
    assert plain.registration is None
    np.testing.assert_allclose(r.grid.origin, reg.transform.move_grid(plain.grid).origin, atol=1e-9)


@needs_study
def test_spect_ct_refuses_bad_requests():
    with pytest.raises(tomors.InvalidArgumentError, match="no energy window holds 364"):
        tomors.spect_ct(nm_file(), STUDY / "CT", 364, backend="cpu")
    with pytest.raises(tomors.InvalidArgumentError, match="cuts through"):
        tomors.spect_ct(nm_file(), STUDY / "CT", 208, backend="cpu", require_full_ct=True)
    with pytest.raises(tomors.InvalidArgumentError, match="scatter"):
        tomors.spect_ct(nm_file(), STUDY / "CT", 208, scatter="magic")
    with pytest.raises(tomors.InvalidArgumentError, match="decay_correction"):
        tomors.spect_ct(nm_file(), STUDY / "CT", 208, decay_correction="yesterday")
    with pytest.raises(tomors.InvalidArgumentError, match="half-life"):
        tomors.spect_ct(nm_file(), STUDY / "CT", 208, decay_correction="injection", backend="cpu")
    with pytest.raises(tomors.DicomError):
        ct_file = next(p for p in sorted((STUDY / "CT").rglob("*")) if p.is_file())
        tomors.spect_ct(ct_file, STUDY / "CT", 208)  # a CT slice is no NM acquisition

    def stop(stage, done, of):
        raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        tomors.spect_ct(nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu", progress=stop)


@needs_study
def test_spect_ct_runs_under_dask_in_another_process():
    dask = pytest.importorskip("dask")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the short CT, said once per run
        task = dask.delayed(tomors.spect_ct)(nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu")
        (remote,) = dask.compute(task, scheduler="processes", num_workers=1)
        local = tomors.spect_ct(nm_file(), STUDY / "CT", 208, iterations=1, backend="cpu")
    assert remote.grid == local.grid and remote.units == local.units
    np.testing.assert_allclose(remote.image, local.image, rtol=1e-5, atol=1e-6 * local.image.max())


@needs_study
def test_pet_ct_with_the_real_ct_is_flat(backend):
    ct = tomors.io.read_ct_series(STUDY / "CT")
    c = [ct.grid.origin[k] + (ct.grid.shape[2 - k] - 1) / 2 * ct.grid.spacing[2 - k] for k in range(2)]
    n, planes, d = 64, 4, 6.0
    grid = PatientGrid((planes, n, n), (d, d, d), (c[0] - (n - 1) / 2 * d, c[1] - (n - 1) / 2 * d, 100.0),
                       ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    mu = resample(tomors.hu_to_mu(ct.values, 511, kvp=ct.kvp), ct.grid, grid, "average", backend="cpu")
    truth = (mu > 0.005).astype(np.float32)  # soft tissue and bone: the body
    geom = tomors.ParallelBeam(np.arange(90) * np.pi / 90, n_cols=91, col_spacing=d, n_rows=planes, row_spacing=d)
    prompts = tomors.PetProjector(geom, tomors.ImageGrid((planes, n, n), spacing=d), attenuation=mu,
                                  backend="cpu").forward(truth)
    r = tomors.pet_ct(prompts, geom, grid, STUDY / "CT", iterations=6, subsets=10, backend=backend)
    assert r.warnings == [] and r.backend.startswith(backend)
    np.testing.assert_allclose(r.mu_map, mu, rtol=1e-4, atol=1e-7)
    inner = truth.copy()
    for _ in range(3):  # three pixels in from the body's edge
        inner[:, 1:-1, 1:-1] = inner[:, 1:-1, 1:-1] * inner[:, :-2, 1:-1] * inner[:, 2:, 1:-1] * inner[:, 1:-1, :-2] * inner[:, 1:-1, 2:]
    assert abs(r.image[inner > 0].mean() - 1.0) < 0.05


@needs_study
def test_fuse_pet_ct_gives_suv_a_summary_and_registers(tmp_path):
    ct = tomors.io.read_ct_series(STUDY / "CT")
    # A PET of 6 mm voxels about the CT's centre: 4 kBq/mL in the body (HU > -300), a hot cube.
    z0, y0, x0 = (n // 2 for n in ct.grid.shape)
    centre = [ct.grid.origin[k] + (x0, y0, z0)[k] * ct.grid.spacing[2 - k] for k in range(3)]
    shape = (50, 80, 80)
    origin = tuple(centre[k] - (shape[2 - k] - 1) * 3.0 for k in range(3))
    pet_grid = PatientGrid(shape, (6.0, 6.0, 6.0), origin, ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    body = resample((ct.values > -300).astype(np.float32), ct.grid, pet_grid, method="average")
    activity = np.where(body > 0.5, 4000.0, 0.0).astype(np.float32)
    activity[20:26, 40:46, 30:36] = 32000.0
    tomors.io.write_dicom_series(activity, pet_grid, tmp_path / "PET", modality="PT", units="BQML", reference=STUDY / "CT")

    with pytest.warns(UserWarning, match="no SUV"):
        r = tomors.fuse_pet_ct(tmp_path / "PET", STUDY / "CT", backend="cpu", output_dir=tmp_path / "out")
    assert r.units == "BQML" and r.registration is None
    np.testing.assert_allclose(r.grid.origin, origin, atol=1e-3)
    assert np.abs(r.image - activity).max() <= 32000 / 30000
    assert r.summary.dtype == np.uint8 and r.summary.ndim == 3 and r.summary.shape[2] == 3
    assert r.files["summary_png"].stat().st_size > 10_000
    # Registration of a CT that is where it should be stays put.
    with pytest.warns(UserWarning):
        g = tomors.fuse_pet_ct(tmp_path / "PET", STUDY / "CT", backend="cpu", register=True)
    t = g.registration.transform
    assert math.dist(t.apply(t.centre), t.centre) < 2.0 and max(abs(a) for a in t.angles) < math.radians(0.5)
    with pytest.raises(tomors.InvalidArgumentError, match="exists already"):
        tomors.fuse_pet_ct(tmp_path / "PET", STUDY / "CT", backend="cpu", output_dir=tmp_path / "out")


BEDS = DATA / "spect_ct_lu177_two_beds"


@pytest.mark.skipif(not BEDS.exists(), reason=f"{BEDS} absent (real data lives in ../shared/data)")
def test_two_beds_make_one_volume(tmp_path):
    nm = [BEDS / "NM" / "bed1_projections.dcm", BEDS / "NM" / "bed2_projections.dcm"]
    # The CT stops at the thighs: the lower bed warns that it is under-corrected beyond.
    with pytest.warns(UserWarning, match="does not cover"):
        r = tomors.spect_ct(nm, BEDS / "CT", 208, iterations=1, subsets=4, backend="cpu", output_dir=tmp_path)
    assert isinstance(r, tomors.SpectCtBedsResult) and len(r.beds) == 2 and r.method == "joint"
    # 209 slices: the upper bed starts 80.1 slices above the lower one.
    assert r.image.shape == (209, 128, 128) and r.weight.shape == r.image.shape
    assert r.beds[0].image.shape == (128, 128, 128)
    assert np.isfinite(r.image).all() and (r.image >= 0).all()
    # The lowest bed first; the union starts at its first slice.
    assert r.beds[0].grid.origin[2] < r.beds[1].grid.origin[2]
    np.testing.assert_allclose(r.grid.origin, r.beds[0].grid.origin, atol=1e-6)
    assert len(r.files["dicom"]) == 209 and r.files["nifti"].exists() and r.files["summary_png"].exists()
    with pytest.raises(tomors.InvalidArgumentError, match="no NM files"):
        tomors.spect_ct([], BEDS / "CT", 208, backend="cpu")
    with pytest.raises(tomors.InvalidArgumentError, match="joint"):
        tomors.spect_ct(nm, BEDS / "CT", 208, beds="sideways", backend="cpu")
