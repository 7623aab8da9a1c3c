"""Studies per hour of full-correction SPECT-CT batches: one and two workers in-process
(``workers`` in the settings), and Dask LocalClusters of one and two worker processes, on the
same studies.

    python python/benchmarks/batch_throughput.py STUDY_FOLDER COPIES WORK_FOLDER

STUDY_FOLDER holds one SPECT-CT study (NM projections and its CT); it is copied COPIES times
with new study, series and instance UIDs (pydicom), so that each copy is a study of its own.
Settings: backend cpu, photopeak 208 keV, every other setting the default (OSEM 4 x 8, TEW,
attenuation, the header's collimator). Prints one Markdown row per configuration."""

import os
import shutil
import sys
import time
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

import tomors


def copies(study: Path, n: int, into: Path) -> Path:
    root = into / "in"
    if root.exists():
        return root
    for i in range(n):
        study_uid, series = generate_uid(), {}
        for f in sorted(p for p in study.rglob("*") if p.is_file()):
            ds = pydicom.dcmread(f)
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = series.setdefault(ds.SeriesInstanceUID, generate_uid())
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            out = root / f"study{i}" / f.relative_to(study)
            out.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(out)
    return root


def run(label, settings, source, out, n, client=None):
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    report = tomors.batch(settings, source, out, client=client)
    wall = time.perf_counter() - t
    done = [r for r in report.records if r["status"] == "done"]
    assert len(done) == n, report.records
    per = sum(r["seconds"] for r in done) / n
    print(f"| {label} | {n} | {wall:.1f} s | {per:.1f} s | {3600 * n / wall:.0f} |", flush=True)
    return wall


def main():
    study, n, work = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    source = copies(study, n, work)
    settings = work / "settings.toml"
    settings.write_text('backend = "cpu"\n[spect]\nphotopeak_kev = 208.0\n')
    print("| configuration | studies | wall | per study (log) | studies per hour |")
    print("|---|---:|---:|---:|---:|")
    run("in-process, 1 worker (rayon: all cores)", settings, source, work / "direct", n)
    two = work / "settings-2.toml"
    two.write_text('backend = "cpu"\nworkers = 2\n[spect]\nphotopeak_kev = 208.0\n')
    run("in-process, 2 workers (threads sharing rayon's cores)", two, source, work / "direct2", n)
    from distributed import Client, LocalCluster

    for workers, rayon in ((1, None), (2, None), (2, "1")):
        if rayon:
            os.environ["RAYON_NUM_THREADS"] = rayon
        else:
            os.environ.pop("RAYON_NUM_THREADS", None)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, memory_limit="10GiB") as c, Client(c) as client:
            threads = rayon or "all cores"
            run(f"Dask LocalCluster, {workers} worker process(es) (rayon: {threads})", settings, source,
                work / f"dask{workers}-{rayon}", n, client)


if __name__ == "__main__":
    main()
