"""Times tomors.io's DICOM readers against the same work done with pydicom (read every file,
sort slices along the normal, stack, rescale; split NM frames by energy window), best of N.

    python python/benchmarks/dicom_read.py [--repeat 5]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pydicom

import tomors.io

STUDY = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "spect_ct_lu177"


def pydicom_ct(folder):
    slices = [pydicom.dcmread(f) for f in sorted(folder.iterdir())]
    row, col = np.array(slices[0].ImageOrientationPatient[:3], float), np.array(slices[0].ImageOrientationPatient[3:], float)
    normal = np.cross(row, col)
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, float))))
    return np.stack([s.pixel_array * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices]).astype(np.float32)


def pydicom_nm(path):
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array
    windows = np.asarray(ds.EnergyWindowVector)
    return [frames[windows == w].astype(np.float32) for w in np.unique(windows)]


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    nm = STUDY / "NM" / "bed1_projections.dcm"
    rows = [
        ("CT series, 197 slices of 512² (HU volume)", lambda: tomors.io.read_ct_series(STUDY / "CT"), lambda: pydicom_ct(STUDY / "CT")),
        ("NM projections, 360 frames of 128² (6 windows)", lambda: tomors.io.read_nm_projections(nm), lambda: pydicom_nm(nm)),
    ]
    print(f"| read | tomors.io (s) | pydicom {pydicom.__version__} (s) |")
    print("|---|---:|---:|")
    for name, ours, theirs in rows:
        print(f"| {name} | {best(ours, a.repeat):.3f} | {best(theirs, a.repeat):.3f} |")


if __name__ == "__main__":
    main()
