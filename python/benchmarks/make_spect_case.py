"""Writes the SPECT benchmark case (NEMA IEC body-like phantom, 128³ of 4 mm, 120 views over
360° on a 250 mm orbit, LEHR response, attenuation at 140 keV) as .npy files for
`tomors osem`, for the memory measurement in BENCHMARKS.md:

    python python/benchmarks/make_spect_case.py spect        # spect_proj.npy, spect_mu.npy
    /usr/bin/time -v tomors osem spect_proj.npy --mu spect_mu.npy -o rec.npy \\
        --pixel 4 --radius 250 --collimator lehr --iterations 4 --subsets 8
"""

import argparse

import numpy as np

import tomors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--views", type=int, default=120)
    args = ap.parse_args()
    n, d = args.size, 512.0 / args.size
    grid = tomors.ImageGrid((n, n, n), spacing=d)
    activity, mu = tomors.nema_iec(grid)
    geom = tomors.SpectGeometry(np.arange(args.views) * 2 * np.pi / args.views, n_cols=n, col_spacing=d, radius=250.0, collimator=tomors.Collimator.preset("lehr"))
    proj = tomors.SpectProjector(geom, grid, attenuation=mu, backend="cpu").forward(activity)
    np.save(f"{args.prefix}_proj.npy", proj)
    np.save(f"{args.prefix}_mu.npy", mu)
    print(f"{args.prefix}_proj.npy {proj.shape}, {args.prefix}_mu.npy {mu.shape}")


if __name__ == "__main__":
    main()
