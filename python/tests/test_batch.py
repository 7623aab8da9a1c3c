"""tomors.batch on synthetic studies: a PET over its CT, a study with a damaged CT and one with
nothing to reconstruct; bad settings; resuming."""

import hashlib

import numpy as np
import pytest

import tomors
from tomors.io import PatientGrid, write_dicom_series


AXES = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def pet_ct_study(folder, damaged=False):
    grid = PatientGrid((24, 48, 48), (5.0, 5.0, 5.0), (-117.5, -117.5, -57.5), AXES)
    yy, xx = np.mgrid[0:48, 0:48]
    body = np.hypot(xx - 23.5, yy - 23.5) < 18
    ct = np.where(body, 0.0, -1000.0).astype(np.float32)[None].repeat(24, axis=0)
    ct_files = write_dicom_series(ct, grid, folder / "CT", modality="CT", units="HU")
    pet = np.where(body, 3000.0, 0.0).astype(np.float32)[None].repeat(24, axis=0)
    write_dicom_series(pet, grid, folder / "PET", modality="PT", units="BQML", reference=ct_files[0])
    if damaged:
        data = ct_files[5].read_bytes()
        ct_files[5].write_bytes(data[:-2000])


def digest(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_of_studies(tmp_path):
    source = tmp_path / "in"
    pet_ct_study(source / "petct")
    pet_ct_study(source / "damaged", damaged=True)
    write_dicom_series(np.ones((4, 8, 8), np.float32), PatientGrid((4, 8, 8), (4.0,) * 3, (0.0,) * 3, AXES), source / "recon")
    (source / "notes.txt").write_text("not DICOM")
    before = digest(source)
    settings = tmp_path / "settings.toml"
    settings.write_text('backend = "cpu"\n[pet]\nsuv = true\n')
    seen = []
    report = tomors.batch(settings, source, tmp_path / "out", progress=lambda study, status: seen.append(status))
    statuses = sorted(r["status"] for r in report.records)
    assert statuses == ["done", "failed", "unsupported"] and sorted(seen) == statuses
    done = next(r for r in report.records if r["status"] == "done")
    assert done["pipeline"] == "pet-ct" and (tmp_path / "out" / done["study"] / "pet.nii.gz").exists()
    failed = next(r for r in report.records if r["status"] == "failed")
    assert failed["error"] and not (tmp_path / "out" / failed["study"]).exists()
    assert any(p.name == "notes.txt" for p, _ in report.unreadable)
    log = (tmp_path / "out" / "batch.jsonl").read_text().splitlines()
    assert len(log) == 3
    # A second run: the finished study is skipped.
    again = tomors.batch(settings, source, tmp_path / "out")
    assert again.already_done == [done["study"]] and all(r["status"] != "done" for r in again.records)
    assert digest(source) == before


def test_bad_settings_and_folders(tmp_path):
    pet_ct_study(tmp_path / "in")
    settings = tmp_path / "settings.toml"
    settings.write_text("[spect]\niterations = 'four'\n")
    with pytest.raises(tomors.InvalidArgumentError, match="line 2"):
        tomors.batch(settings, tmp_path / "in", tmp_path / "out")
    settings.write_text("[spect]\nphotopeak = 208\n")
    with pytest.raises(tomors.InvalidArgumentError, match="unknown field"):
        tomors.batch(settings, tmp_path / "in", tmp_path / "out")
    settings.write_text("")
    with pytest.raises(tomors.InvalidArgumentError, match="inside the input"):
        tomors.batch(settings, tmp_path / "in", tmp_path / "in" / "out")
    assert not (tmp_path / "in" / "out").exists()
