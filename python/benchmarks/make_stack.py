"""Writes the exact sinogram of the 3D Shepp-Logan phantom for a stack of 512² slices of 1 mm
(720 views over 180°, 725 bins of 1 mm) as float32 .npy, `[views, slices, cols]`, for the
memory measurement in BENCHMARKS.md.

    python python/benchmarks/make_stack.py --slices 512 stack.npy
"""

import argparse

import numpy as np

import tomors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--slices", type=int, default=512)
    args = ap.parse_args()
    n, views, cols = 512, 720, 725
    grid = tomors.ImageGrid((args.slices, n, n), spacing=1.0)
    geom = tomors.ParallelBeam(np.arange(views) * np.pi / views, cols, n_rows=args.slices, row_spacing=1.0)
    sino = tomors.shepp_logan_sinogram(geom, grid, radius=n / 2)
    np.save(args.out, sino)
    print(f"{args.out}: {sino.shape} float32, {sino.nbytes / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
