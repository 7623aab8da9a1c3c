"""tomors.Pacs against the Orthanc that scripts/test.sh starts (TOMORS_ORTHANC_DICOM =
host:port): a synthetic study stored, found, retrieved whole; a PACS that is down or refuses
the association raises NetworkError."""

import os
import socket

import numpy as np
import pydicom
import pytest

import tomors
from tomors.io import PatientGrid, write_dicom_series

AXES = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def orthanc():
    address = os.environ.get("TOMORS_ORTHANC_DICOM")
    if not address:
        pytest.skip("no Orthanc (scripts/test.sh starts one and sets TOMORS_ORTHANC_DICOM)")
    host, port = address.rsplit(":", 1)
    return host, int(port)


def test_store_find_retrieve(tmp_path):
    host, port = orthanc()
    pacs = tomors.Pacs(host, port, "ORTHANC", timeout_s=30)
    pacs.echo()
    grid = PatientGrid((6, 16, 16), (4.0, 2.0, 2.0), (0.0, 0.0, 0.0), AXES)
    files = write_dicom_series(np.arange(6 * 256, dtype=np.float32).reshape(6, 16, 16), grid,
                               tmp_path / "CT", modality="CT", units="HU")
    assert pacs.store(files) == 6
    study = pydicom.dcmread(files[0]).StudyInstanceUID
    found = pacs.find_studies(study_uid=study)
    assert [m["study_uid"] for m in found] == [study] and found[0]["modalities"] == ["CT"]
    assert pacs.find_studies(patient_id="NO-SUCH-PATIENT") == []
    folder, n = pacs.retrieve_study(study, tmp_path / "in")
    assert folder == tmp_path / "in" / study and n == 6
    sent = {pydicom.dcmread(f).SOPInstanceUID for f in files}
    got = {pydicom.dcmread(f).SOPInstanceUID for f in folder.iterdir()}
    assert got == sent
    for f in folder.iterdir():
        pixels = pydicom.dcmread(f).pixel_array
        original = next(g for g in files if pydicom.dcmread(g).SOPInstanceUID == f.stem)
        np.testing.assert_array_equal(pixels, pydicom.dcmread(original).pixel_array)
    assert not list((tmp_path / "in").glob(".*.partial"))


def test_refused_down_and_bad_settings():
    host, port = orthanc()
    with pytest.raises(tomors.NetworkError, match="no association"):
        tomors.Pacs(host, port, "NOT_ORTHANC", timeout_s=10).echo()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(tomors.NetworkError, match=f"ORTHANC@127.0.0.1:{closed}"):
        tomors.Pacs("127.0.0.1", closed, "ORTHANC", timeout_s=5).find_studies()
    with pytest.raises(tomors.InvalidArgumentError, match="ae_title"):
        tomors.Pacs(host, port, "A_TITLE_FAR_TOO_LONG")
