"""The Python API under Dask: slices of a stack reconstructed as independent blocks."""

import pickle

import dask.array as da
import numpy as np

import tomors


def test_fbp_of_a_stack_with_map_blocks():
    n, views, cols, slices = 48, 60, 69, 6
    theta = np.arange(views) * np.pi / views
    grid = tomors.ImageGrid((slices, n, n), spacing=(2.0, 1.0, 1.0))
    geom = tomors.ParallelBeam(theta, cols, n_rows=slices, row_spacing=2.0)
    proj = tomors.shepp_logan_sinogram(geom, grid)  # (views, slices, cols)

    # One block per two slices, laid out (slices, views, cols) so blocks split along axis 0.
    stack = da.from_array(np.ascontiguousarray(proj.transpose(1, 0, 2)), chunks=(2, views, cols))

    def reconstruct(block):
        rows = block.shape[0]
        g = tomors.ImageGrid((rows, n, n), spacing=(2.0, 1.0, 1.0))
        p = tomors.Projector(tomors.ParallelBeam(theta, cols, n_rows=rows, row_spacing=2.0), g, backend="cpu")
        return tomors.fbp(block.transpose(1, 0, 2), p)

    volume = stack.map_blocks(reconstruct, chunks=((2, 2, 2), (n,), (n,)), dtype=np.float32)
    got = volume.compute(scheduler="threads")
    whole = tomors.fbp(proj, tomors.Projector(geom, grid, backend="cpu"))
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-6)


def test_projector_travels_to_workers():
    # Distributed workers receive pickled objects; the plan is rebuilt on arrival.
    grid = tomors.ImageGrid((32, 32))
    p = tomors.Projector(tomors.ParallelBeam(np.arange(30) * np.pi / 30, 47), grid, backend="cpu")
    images = da.from_array(np.stack([tomors.shepp_logan(grid)] * 4), chunks=(1, 32, 32))
    shipped = pickle.loads(pickle.dumps(p))
    sinos = images.map_blocks(lambda b: shipped.forward(b[0])[None], chunks=((1,) * 4, (30,), (47,)), dtype=np.float32)
    out = sinos.compute(scheduler="threads")
    np.testing.assert_array_equal(out[2], p.forward(tomors.shepp_logan(grid)))


# tomors.batch on a LocalCluster of worker processes: the real one-bed SPECT-CT study (when
# ../shared/data is there) and a synthetic PET over CT, against a sequential run.

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from test_batch import pet_ct_study

STUDY = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "spect_ct_lu177"
SETTINGS = 'backend = "cpu"\n[spect]\nphotopeak_kev = 208.0\niterations = 1\nsubsets = 4\n'


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """An input folder and the outputs of a sequential run over it."""
    if not STUDY.is_dir():
        pytest.skip("../shared/data/spect_ct_lu177 is missing")
    root = tmp_path_factory.mktemp("dask")
    (root / "in").mkdir()
    os.symlink(STUDY.resolve(), root / "in" / "lu177")
    pet_ct_study(root / "in" / "petct")
    (root / "settings.toml").write_text(SETTINGS)
    report = tomors.batch(root / "settings.toml", root / "in", root / "sequential")
    assert sorted(r["status"] for r in report.records) == ["done", "done"]
    return root


def images(out):
    """Each study's reconstructed volume (NIfTI bytes; DICOM files carry fresh UIDs)."""
    found = {}
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        for name in ("recon.nii.gz", "pet.nii.gz"):
            if (d / name).exists():
                found[d.name] = (d / name).read_bytes()
    return found


def left_over(out):
    return [p.name for p in out.iterdir() if p.name.endswith(".partial")]


def cluster(**kw):
    kw = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": None, **kw}
    return LocalCluster(**kw)


def test_a_local_cluster_gives_the_sequential_images(studies):
    with cluster(memory_limit="6GiB", resources={"MEMORY": 6 * 2**30}) as c, Client(c) as client:
        seen = []
        report = tomors.batch(studies / "settings.toml", studies / "in", studies / "dask", client=client,
                              progress=lambda uid, status: seen.append(status))
    assert sorted(r["status"] for r in report.records) == ["done", "done"] and seen == ["done", "done"]
    want = images(studies / "sequential")
    assert len(want) == 2 and images(studies / "dask") == want
    assert len((studies / "dask" / "batch.jsonl").read_text().splitlines()) == 2
    # A second run finds both done.
    with cluster(n_workers=1) as c, Client(c) as client:
        again = tomors.batch(studies / "settings.toml", studies / "in", studies / "dask", client=client)
    assert again.records == [] and sorted(again.already_done) == sorted(want)


def test_a_killed_worker_s_study_is_rerun_whole(studies):
    out = studies / "killed"
    with cluster() as c, Client(c) as client:
        done = {}
        runner = threading.Thread(target=lambda: done.update(
            report=tomors.batch(studies / "settings.toml", studies / "in", out, client=client)))
        runner.start()
        # Kill the worker that is writing the SPECT-CT study (the longer one) once its .partial
        # folder exists.
        spect_uid = next(uid for uid in images(studies / "sequential") if (studies / "sequential" / uid / "recon.nii.gz").exists())
        partial = out / f".{spect_uid}.partial"
        t = time.monotonic()
        while not partial.exists():
            assert time.monotonic() - t < 120 and runner.is_alive(), "the study never started"
            time.sleep(0.05)
        pids = client.run(os.getpid)
        holder = next(w for w, keys in client.processing().items() if any(spect_uid in str(k) for k in keys))
        os.kill(pids[holder], signal.SIGKILL)
        runner.join(timeout=300)
        assert not runner.is_alive()
        assert pids[holder] not in client.run(os.getpid).values(), "the worker was not killed"
    report = done["report"]
    assert sorted(r["status"] for r in report.records) == ["done", "done"], report.records
    assert images(out) == images(studies / "sequential")
    assert left_over(out) == []
    assert len((out / "batch.jsonl").read_text().splitlines()) == 2


def test_a_study_too_large_for_every_worker_is_logged_and_the_batch_goes_on(studies):
    out = studies / "small"
    # The one-bed study is estimated at about 1.4 GiB.
    with cluster(n_workers=1, memory_limit="1GiB") as c, Client(c) as client:
        report = tomors.batch(studies / "settings.toml", studies / "in", out, client=client)
    by_status = {r["status"]: r for r in report.records}
    assert sorted(by_status) == ["done", "failed"]
    assert "no worker has that much" in by_status["failed"]["error"]
    assert by_status["failed"]["pipeline"] == "spect-ct" and left_over(out) == []
