"""SPECT OSEM, tomors against PyTomography on the same machine, in the same run.

Case (the issue's): NEMA IEC body-like phantom on a 128³ grid of 4 mm, 120 views over 360°
on a 250 mm circular orbit, 128 bins of 4 mm, attenuation (the phantom's μ-map, 140 keV) and
the LEHR collimator response (FWHM √((1.11 + 1.11/24.05·b)² + 3.8²) mm at b mm) in both
system models; OSEM 4 iterations × 8 subsets, each package reconstructing projections made
by its own forward model of the same phantom (the two packages orient views differently).

    pip install pytomography   # with torch (CPU is enough)
    python python/benchmarks/spect_vs_pytomography.py [--size 128] [--views 120] [--backend cpu]

Prints a Markdown table: seconds per reconstruction (best of --repeat) and the ratio.
"""

import argparse
import os
import time

import numpy as np

import tomors


def tomors_case(n, views, backend):
    d = 512.0 / n
    grid = tomors.ImageGrid((n, n, n), spacing=d)
    activity, mu = tomors.nema_iec(grid)
    angles = np.arange(views) * 2 * np.pi / views
    geom = tomors.SpectGeometry(angles, n_cols=n, col_spacing=d, radius=250.0, collimator=tomors.Collimator.preset("lehr"))
    projector = tomors.SpectProjector(geom, grid, attenuation=mu, backend=backend)
    return projector, activity, mu, d


def best_of(repeat, run):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--views", type=int, default=120)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    n, views = args.size, args.views

    projector, activity, mu, d = tomors_case(n, views, args.backend)
    data = projector.forward(activity)
    t_tomors, _ = best_of(args.repeat, lambda: tomors.osem(data, projector, iterations=4, subsets=8))

    import torch
    import pytomography
    from pytomography.algorithms import OSEM
    from pytomography.likelihoods import PoissonLogLikelihood
    from pytomography.metadata.SPECT import SPECTObjectMeta, SPECTProjMeta, SPECTPSFMeta
    from pytomography.projectors.SPECT import SPECTSystemMatrix
    from pytomography.transforms.SPECT import SPECTAttenuationTransform, SPECTPSFTransform

    torch.set_num_threads(os.cpu_count())
    pytomography.device = torch.device("cpu")
    # PyTomography objects are [x, y, z].
    to_xyz = lambda a: torch.tensor(np.ascontiguousarray(np.transpose(a, (2, 1, 0))), dtype=torch.float32)
    object_meta = SPECTObjectMeta((d, d, d), (n, n, n))
    proj_meta = SPECTProjMeta((n, n), (d, d), np.arange(views) * 360.0 / views, radii=np.full(views, 250.0))
    sigma = lambda r, a, b, c: np.sqrt((a + b * r) ** 2 + c**2) / 2.354820045
    psf = SPECTPSFTransform(SPECTPSFMeta((1.11, 1.11 / 24.05, 3.8), sigma_fit=sigma))
    att = SPECTAttenuationTransform(to_xyz(mu))
    system = SPECTSystemMatrix(obj2obj_transforms=[att, psf], proj2proj_transforms=[], object_meta=object_meta, proj_meta=proj_meta)
    projections = system.forward(to_xyz(activity))
    t_pyt, _ = best_of(args.repeat, lambda: OSEM(PoissonLogLikelihood(system, projections))(n_iters=4, n_subsets=8))

    device = projector.device
    print(f"| case | tomors ({device}) | PyTomography {pytomography.__version__} (torch {torch.__version__}, CPU, {torch.get_num_threads()} threads) | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| SPECT {n}³ × {views} views, μ + LEHR, OSEM 4×8 | {t_tomors:.2f} s | {t_pyt:.2f} s | {t_pyt / t_tomors:.1f}× |")


if __name__ == "__main__":
    main()
