"""Exact cone-beam projections of the 3D Shepp-Logan (half-height 0.4 n mm) for a circular
orbit with a flat n_det × n_det detector, saved as float32 .npy `[views, rows, cols]` for
`tomors fdk` (the "larger than the device" runs in BENCHMARKS.md).

    python python/benchmarks/cone_data.py --n 512 --views 512 --det 512 --pixel 1.2 \
        --source-to-center 800 --source-to-detector 1200 --out cbct512.npy
"""

import argparse
import time

import numpy as np

import tomors

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, required=True, help="voxels along each axis (1 mm)")
ap.add_argument("--views", type=int, required=True)
ap.add_argument("--det", type=int, required=True, help="detector rows and columns")
ap.add_argument("--pixel", type=float, required=True, help="detector pixel, mm")
ap.add_argument("--source-to-center", type=float, required=True)
ap.add_argument("--source-to-detector", type=float, required=True)
ap.add_argument("--out", required=True)
a = ap.parse_args()

angles = np.arange(a.views) * 2 * np.pi / a.views
cone = tomors.ConeBeam(
    angles, a.det, a.det, a.pixel, a.pixel, a.source_to_center, a.source_to_detector
)
grid = tomors.ImageGrid((a.n, a.n, a.n), spacing=1.0)
t = time.time()
data = tomors.shepp_logan_sinogram(cone, grid, radius=0.4 * a.n)
np.save(a.out, data.astype(np.float32))
print(f"{data.shape} in {time.time() - t:.1f} s -> {a.out}")
