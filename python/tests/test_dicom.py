"""tomors.io on the shared real SPECT/CT study and codec samples, and written series read back
with pydicom (no warnings: pytest turns warnings into errors here)."""

import warnings
from pathlib import Path

import numpy as np
import pytest

import tomors
import tomors.io

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
STUDY = DATA / "spect_ct_lu177"
CODECS = DATA / "dicom_codecs"
needs_study = pytest.mark.skipif(not STUDY.exists(), reason=f"{STUDY} absent (real data lives in ../shared/data)")
needs_codecs = pytest.mark.skipif(not CODECS.exists(), reason=f"{CODECS} absent")

pydicom = pytest.importorskip("pydicom")


@pytest.fixture(scope="module")
def nm():
    return tomors.io.read_nm_projections(STUDY / "NM" / "bed1_projections.dcm")


@pytest.fixture(scope="module")
def ct():
    return tomors.io.read_ct_series(STUDY / "CT")


@needs_study
def test_nm_projections_and_their_geometry(nm):
    assert len(nm.counts) == 6 and all(c.shape == (60, 128, 128) and c.dtype == np.float32 for c in nm.counts)
    assert [(w.lower_kev, w.upper_kev) for w in nm.windows][:2] == [(101.7, 124.3), (187.2, 228.8)]
    assert nm.window_at(208.0) == 1
    assert nm.start_angles_deg == [180.16] and nm.rotation_direction == "CC" and nm.angular_step_deg == 6.0
    np.testing.assert_allclose(nm.angles, -np.deg2rad(180.16 + 6.0 * np.arange(60)))
    assert np.all(nm.radii == 253.7) and nm.collimator == "MEGP"
    assert nm.detector_positions == [(-280.3446, -287.5446, 457.6446)]
    assert sum(float(c.sum()) for c in nm.counts) == 5692479.0
    # Without an energy no collimator is modelled; with one, the header's (GE's MEGP) at it.
    assert nm.geometry.collimator is None
    at208 = tomors.io.read_nm_projections(STUDY / "NM" / "bed1_projections.dcm", kev=208.0)
    assert repr(at208.geometry.collimator) == repr(tomors.Collimator.for_camera("megp", "GE MEDICAL SYSTEMS", 208.0))
    # The geometry and grid go straight into a projector.
    spect = tomors.SpectProjector(at208.geometry, nm.image_grid, backend="cpu")
    assert spect.forward(np.ones(nm.image_grid.shape, np.float32)).shape == (60, 128, 128)
    # Same counts as pydicom's frames of window 2, once the mapping (columns and rows reversed,
    # see tomors.io.dicom's docs) is undone.
    ds = pydicom.dcmread(STUDY / "NM" / "bed1_projections.dcm")
    frames = ds.pixel_array[np.asarray(ds.EnergyWindowVector) == 2]
    np.testing.assert_array_equal(nm.counts[1], frames[:, ::-1, ::-1].astype(np.float32))


@needs_study
def test_ct_series(ct, nm):
    assert ct.values.shape == (197, 512, 512) and ct.values.dtype == np.float32
    assert ct.grid.spacing[0] == pytest.approx(2.5) and ct.kvp == 120.0 and ct.units == "HU"
    assert ct.grid.origin[2] == pytest.approx(-113.0)
    assert ct.frame_of_reference_uid == nm.frame_of_reference_uid
    # HU = stored × slope + intercept, as pydicom computes it, for the slice at the origin.
    first = pydicom.dcmread(ct.files[0])
    hu = first.pixel_array * float(first.RescaleSlope) + float(first.RescaleIntercept)
    np.testing.assert_array_equal(ct.values[0], hu.astype(np.float32))
    assert ct.grid.affine[2, 3] == pytest.approx(float(first.ImagePositionPatient[2]))


@needs_codecs
def test_codecs_match_pydicom():
    reference = tomors.io.read_ct_series(CODECS / "CT1_UNC.dcm").values
    for name in ["RLE", "JPLL", "JLSL", "J2KR"]:
        np.testing.assert_array_equal(tomors.io.read_ct_series(CODECS / f"CT1_{name}.dcm").values, reference)
    # The lossy JPEG 2000: the same pixels as OpenJPEG's decoder (through pydicom) gives.
    pytest.importorskip("openjpeg")
    ds = pydicom.dcmread(CODECS / "CT1_J2KI.dcm")
    theirs = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    ours = tomors.io.read_ct_series(CODECS / "CT1_J2KI.dcm").values[0]
    assert np.abs(ours - theirs).max() <= 1.0
    rmse = float(np.sqrt(np.mean((ours - reference[0]) ** 2)))
    assert 0 < rmse < 0.01 * float(np.ptp(reference))


@pytest.mark.parametrize("modality,units", [("NM", "BQML"), ("PT", "BQML"), ("CT", "HU")])
def test_written_series_reads_back_in_pydicom_and_tomors(tmp_path, modality, units):
    grid = tomors.io.PatientGrid((6, 9, 8), (3.27, 2.2, 2.2), (-10.5, 4.25, 30.0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    z, y, x = np.meshgrid(*[np.arange(n) for n in grid.shape], indexing="ij")
    volume = (np.sin(0.7 * z) + np.cos(0.3 * y) * x + (50.0 if modality != "CT" else -400.0)).astype(np.float32)
    reference = next((STUDY / "CT").iterdir()) if STUDY.exists() else None
    files = tomors.io.write_dicom_series(volume, grid, tmp_path, modality=modality, units=units, reference=reference)
    assert [f.name for f in files] == [f"slice_{i:04d}.dcm" for i in range(1, 7)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slices = [pydicom.dcmread(f) for f in files]
        values = np.stack([s.pixel_array * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices])
    for i, s in enumerate(slices):
        assert s.Modality == modality
        np.testing.assert_allclose([float(v) for v in s.ImagePositionPatient], grid.affine[:3] @ [0, 0, i, 1])
        assert [float(v) for v in s.PixelSpacing] == [2.2, 2.2]
        assert [float(v) for v in s.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        if reference is not None:
            ref = pydicom.dcmread(reference, stop_before_pixels=True)
            assert s.StudyInstanceUID == ref.StudyInstanceUID
            assert s.FrameOfReferenceUID == ref.FrameOfReferenceUID
            assert s.SeriesInstanceUID != ref.SeriesInstanceUID
    step = np.abs(volume).max(axis=(1, 2)) / np.where(volume.min(axis=(1, 2)) < 0, 32767, 65535)
    assert np.all(np.abs(values - volume).max(axis=(1, 2)) <= 0.5 * step + 1e-6 * np.abs(volume).max())
    back = (tomors.io.read_nm_volume if modality == "NM" else tomors.io.read_pet_series if modality == "PT" else tomors.io.read_ct_series)(tmp_path)
    np.testing.assert_allclose(back.values, values, rtol=0, atol=1e-4 * np.abs(volume).max())
    np.testing.assert_allclose(back.grid.affine, grid.affine, atol=1e-9)
    assert back.units == units
    # Never over an existing file.
    with pytest.raises(tomors.errors.InvalidArgumentError, match="never overwrites"):
        tomors.io.write_dicom_series(volume, grid, tmp_path, modality=modality, units=units)


def test_nifti_header_and_voxels(tmp_path):
    grid = tomors.io.PatientGrid((3, 4, 5), (2.5, 0.8, 0.9), (-10.0, 20.0, 30.0), ((1, 0, 0), (0, 1, 0), (0, 0, 1)))
    volume = np.arange(60, dtype=np.float32).reshape(grid.shape)
    path = tmp_path / "v.nii"
    tomors.io.write_nifti(volume, grid, path, description="counts")
    raw = path.read_bytes()
    dims = np.frombuffer(raw[40:56], dtype="<i2")
    assert list(dims[:4]) == [3, 5, 4, 3]
    srow = np.frombuffer(raw[280:328], dtype="<f4").reshape(3, 4)
    np.testing.assert_allclose(srow, [[-0.9, 0, 0, 10.0], [0, -0.8, 0, -20.0], [0, 0, 2.5, 30.0]], rtol=1e-6)
    offset = int(np.frombuffer(raw[108:112], dtype="<f4")[0])
    data = np.frombuffer(raw[offset:], dtype="<f4").reshape(3, 4, 5)  # Fortran (x fastest) = C [z, y, x]
    np.testing.assert_array_equal(data, volume)


def test_bad_files_raise_dicom_error(tmp_path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff")
    with pytest.raises(tomors.errors.DicomError, match="bad.dcm"):
        tomors.io.read_nm_projections(bad)
    with pytest.raises(tomors.errors.DicomError, match="no readable DICOM"):
        tomors.io.read_ct_series(tmp_path)
    assert issubclass(tomors.errors.DicomError, tomors.errors.TomorsIOError)


@needs_study
def test_scan_lists_the_study():
    series, skipped = tomors.io.scan(STUDY)
    assert [(s.modality, s.frames) for s in series] == [("NM", 360), ("CT", 197)] and skipped == []
