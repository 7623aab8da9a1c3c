"""Side-by-side benchmark: tomors FBP against scikit-image's iradon on the same exact sinogram.

The issue's reference case: 512² pixels of 1 mm, 720 views over 180°, 725 bins of 1 mm, ram-lak.
Prints the best of N runs for each, their ratio, and the RMSE inside the reconstruction circle
(each against the phantom rasterised on its own pixel grid; see tests/test_accuracy.py).

    python python/benchmarks/fbp_vs_skimage.py [--repeat 5] [--backend cpu]
"""

import argparse
import os
import time

import numpy as np
from skimage.transform import iradon

import tomors

N, VIEWS, BINS = 512, 720, 725


def best_of(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def circle_rmse(rec, truth):
    c = (N - 1) / 2
    yy, xx = np.mgrid[:N, :N]
    inside = np.hypot(xx - c, yy - c) <= N / 2 - 1
    return float(np.sqrt(np.mean((rec[inside] - truth[inside]) ** 2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backend", default="cpu")
    args = ap.parse_args()

    grid = tomors.ImageGrid((N, N))
    theta = np.arange(VIEWS) * np.pi / VIEWS
    geom = tomors.ParallelBeam(theta, BINS)
    sino = tomors.shepp_logan_sinogram(geom, grid, radius=N / 2)
    proj = tomors.Projector(geom, grid, backend=args.backend)
    plan = tomors.FBP(proj)

    t_plan, rec = best_of(lambda: plan(sino), args.repeat)
    t_once, _ = best_of(lambda: tomors.fbp(sino, proj), args.repeat)
    t_sk, sk = best_of(
        lambda: iradon(sino.T, theta=-np.degrees(theta), filter_name="ramp", output_size=N, circle=True),
        args.repeat,
    )
    truth = tomors.shepp_logan(grid, radius=N / 2, supersample=4)
    sk_truth = tomors.shepp_logan(tomors.ImageGrid((N, N), origin=(-N / 2, -N / 2)), radius=N / 2, supersample=4)

    threads = os.cpu_count()
    print(f"512² parallel FBP, 720 views, 725 bins, ram-lak; {threads} CPU threads; best of {args.repeat}")
    print("| implementation | time (s) | speed-up vs skimage | RMSE in circle |")
    print("|---|---:|---:|---:|")
    print(f"| tomors {proj.device}, plan reused | {t_plan:.4f} | {t_sk / t_plan:.1f}× | {circle_rmse(rec, truth):.5f} |")
    print(f"| tomors {proj.device}, tomors.fbp (plans each call) | {t_once:.4f} | {t_sk / t_once:.1f}× | |")
    print(f"| scikit-image iradon | {t_sk:.4f} | 1.0× | {circle_rmse(sk, sk_truth):.5f} |")


if __name__ == "__main__":
    main()
