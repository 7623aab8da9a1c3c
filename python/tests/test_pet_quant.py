"""Quantitative 3D PET through ``tomors.recon_pet``: a Ge-68 phantom calibrates the scanner, an
F-18 study of another concentration, frame and decay reads back in Bq/mL, and SUVbw computed by
pydicom from the written tags alone (units, decay correction, dose, half-life, times, weight)
matches both the image's own SUV map and the truth."""

import datetime as dt
import math

import numpy as np
import pytest

import tomors
import tomors.io

pydicom = pytest.importorskip("pydicom")

SENSITIVITY = 2.5e-3  # image units per positron per mL: what the calibration must find
F18 = ("F-18", 6586.2, 0.9686)
GE68 = ("Ge-68", 270.95 * 86400.0, 0.891)


def _layout():
    scanner = tomors.PetScanner(8, 64, 60.0, 4.0, interaction_depth=2.0, name="small")
    return tomors.SinogramLayout(scanner, 40, span=1, max_ring_difference=7)


def _positrons(nuclide, start, duration):
    """Positrons per mL over the frame from a unit concentration at the scan start (midpoint sum)."""
    _, half_life, fraction = nuclide
    t = start + (np.arange(100_000) + 0.5) * duration / 100_000
    return float(np.exp(-math.log(2) * t / half_life).sum() * duration / 100_000 * fraction)


def _acquire(path, concentration, positrons, keys):
    grid = tomors.ImageGrid((15, 24, 24), (2.0, 4.0, 4.0))
    z, y, x = np.meshgrid(*[np.arange(n) for n in (15, 24, 24)], indexing="ij")
    px, py = (x - 11.5) * 4.0, (y - 11.5) * 4.0
    phantom = np.where(np.hypot(px, py) <= 36.0, concentration, 0.0).astype(np.float32)
    layout = _layout()
    sinogram = tomors.Pet3dProjector(layout, grid, backend="cpu").forward(phantom * positrons * SENSITIVITY)
    tomors.io.write_interfile(path, sinogram, layout)
    text = path.read_text().replace("!END OF INTERFILE :=", keys + "\n!END OF INTERFILE :=")
    path.write_text(text)
    return path


def _suv_from_tags(files):
    """SUVbw volume computed from the DICOM tags by pydicom, as a viewer would (QIBA)."""
    slices = sorted((pydicom.dcmread(f) for f in files), key=lambda d: float(d.ImagePositionPatient[2]))
    d = slices[0]
    assert d.Modality == "PT" and d.Units == "BQML" and d.DecayCorrection == "START"
    corrected = d.CorrectedImage
    assert (corrected if isinstance(corrected, str) else list(corrected)) == "DECY"
    assert list(d.SeriesType) == ["STATIC", "IMAGE"]
    r = d.RadiopharmaceuticalInformationSequence[0]
    injected = float(r.RadionuclideTotalDose)
    half_life = float(r.RadionuclideHalfLife)
    injection = dt.datetime.strptime(r.RadiopharmaceuticalStartDateTime[:14], "%Y%m%d%H%M%S")
    series = dt.datetime.strptime(d.SeriesDate + d.SeriesTime[:6], "%Y%m%d%H%M%S")
    decayed = injected * 2.0 ** (-(series - injection).total_seconds() / half_life)
    scale = float(d.PatientWeight) * 1000.0 / decayed
    volume = np.stack([s.pixel_array * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices])
    return volume * scale, d


def _interior(r):
    """Voxels well inside the cylinder: radius < 24 mm, the middle half of the slices."""
    nz, ny, nx = r.grid.shape
    dz, dy, dx = r.grid.spacing
    x = r.grid.origin[0] + np.arange(nx) * dx
    y = r.grid.origin[1] + np.arange(ny) * dy
    mask = np.zeros((nz, ny, nx), bool)
    mask[nz // 4 : nz - nz // 4] = np.hypot(x[None, :], y[:, None]) < 24.0
    return mask


def test_calibrated_study_reads_bq_ml_and_suv_through_pydicom(tmp_path):
    cal_hs = _acquire(
        tmp_path / "cal.hs", 5000.0, _positrons(GE68, 86400.0, 600.0),
        "isotope name := Ge-68\nisotope gamma halflife (sec) := 23410080\nisotope branching factor := 0.891\n"
        "image duration (sec) := 600\n%study date (yyyy:mm:dd) := 2026:12:02\n"
        "%study time (hh:mm:ss GMT+00:00) := 08:00:00",
    )
    common = dict(iterations=10, subsets=4, voxel=4.0, backend="cpu")
    cal = tomors.recon_pet(sinogram=cal_hs, phantom_bq_ml=5000.0,
                           phantom_assay_time="2026-12-01T08:00:00", **common)
    assert cal.units == "PROPCNTS" and cal.phantom["nuclide"] == "Ge-68" and cal.phantom["voxels"] > 500
    factor = cal.phantom["calibration"]

    study_hs = _acquire(
        tmp_path / "study.hs", 12000.0, _positrons(F18, 0.0, 900.0),
        "isotope name := F-18\nisotope gamma halflife (sec) := 6586.2\nisotope branching factor := 0.9686\n"
        "radiopharmaceutical := Fluorodeoxyglucose\nimage duration (sec) := 900\n"
        "%study date (yyyy:mm:dd) := 2026:12:07\n%study time (hh:mm:ss GMT+00:00) := 10:00:00",
    )
    r = tomors.recon_pet(sinogram=study_hs, calibration=factor, weight_kg=80.0, injected_mbq=300.0,
                         injection_time=dt.datetime(2026, 12, 7, 8, 45), output_dir=tmp_path / "out", **common)
    assert r.units == "BQML" and r.corrected == ["DECY"]
    q = r.quantitation
    assert q["nuclide"] == "F-18" and q["duration_s"] == 900.0 and 1.04 < q["decay_factor"] < 1.06
    inside = _interior(r)
    assert abs(r.image[inside].mean() / 12000.0 - 1) < 0.02, r.image[inside].mean()
    # A sinogram has no singles: no dead time, and the reason says so.
    assert r.dead_time["source"] == "none" and r.dead_time["live_fraction"] is None
    assert "sinogram carries no singles" in r.dead_time["reason"]
    assert any("dead time not corrected" in w for w in r.warnings)
    # A given live fraction is applied (DTIM) and reported: the counts divided by it.
    g = tomors.recon_pet(sinogram=study_hs, calibration=factor, live_fraction=0.8, **common)
    assert g.dead_time["source"] == "given" and g.dead_time["live_fraction"] == 0.8
    assert g.corrected == ["DECY", "DTIM"] and g.quantitation["live_fraction"] == 0.8
    assert g.image[inside].mean() / r.image[inside].mean() == pytest.approx(1 / 0.8, rel=1e-5)

    truth = 12000.0 * 80_000.0 / (300e6 * 2.0 ** (-4500.0 / 6586.2))
    suv_tags, d = _suv_from_tags(r.files["dicom"])
    own = r.image * r.suv_bw_per_bq_ml
    assert suv_tags.shape == own.shape
    # The tags and the image's own SUV map agree to the 16-bit storage.
    assert np.abs(suv_tags - own).max() <= own.max() / 20000
    assert abs(suv_tags[inside].mean() / truth - 1) < 0.02, suv_tags[inside].mean()
    assert float(d.DecayFactor) == pytest.approx(q["decay_factor"], rel=1e-6)
    assert float(d.ActualFrameDuration) == 900_000
    assert d.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical == "Fluorodeoxyglucose"

    # SUV needs a calibration; a negative weight is refused, naming it.
    with pytest.raises(tomors.InvalidArgumentError, match="calibration"):
        tomors.recon_pet(sinogram=study_hs, weight_kg=80.0, injected_mbq=300.0, **common)
    with pytest.raises(tomors.InvalidArgumentError, match="weight"):
        tomors.recon_pet(sinogram=study_hs, calibration=factor, weight_kg=-80.0, injected_mbq=300.0,
                         injection_time="2026-12-07T08:45:00", **common)
