"""PET 2D OSEM: tomors against ODL with ASTRA's CPU projector, same data, same machine, one run.

The case is `tomors bench --cases pet` at the issue's size: one plane of the NEMA IEC body
phantom on a 256² grid of 2 mm, 288 views over 180°, bins of 2 mm covering the diagonal, the
phantom's μ-map at 511 keV in the system model (attenuation factors exp(−A μ)), noise-free
data from tomors' own model, OSEM 4 iterations × 12 subsets from a uniform image.

ODL runs the same algorithm the way an ODL user writes it for speed: one ray transform per
subset (impl="astra_cpu"), the attenuation factors as a multiplication in data space, the
sensitivity image of each subset computed once before the iterations (what ODL's `osmlem`
would recompute every sub-iteration), and the update x ← x · A_sᵀ(y_s / A_s x) / A_sᵀ1.
Subsets are the same interleaved views, visited in the same order.

    # in an environment of its own: ODL 1.0 registers a pytest plugin that breaks pytest 8
    pip install astra-toolbox odl
    python python/benchmarks/pet_vs_odl_astra.py [--repeat 3] [--views 288]

Prints one Markdown table: time per OSEM run (best of `--repeat`, after one warm-up), and each
result's relative L2 error against the phantom inside the body, so the two are seen to solve
the same problem.
"""

import argparse
import time

import numpy as np

import tomors


def bit_reversed(n):
    """Subset visiting order of tomors (bit-reversed, so consecutive subsets are far apart)."""
    bits = max(1, (n - 1).bit_length())
    order = sorted(range(1 << bits), key=lambda i: int(f"{i:0{bits}b}"[::-1], 2))
    return [i for i in order if i < n]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--views", type=int, default=288)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--subsets", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import astra  # noqa: F401  (fail early with a clear ImportError)
    import odl
    from odl.applications import tomo  # ODL 1.0 (earlier releases: odl.tomo)

    n, views, d = args.n, args.views, 512.0 / args.n
    n_cols = int(np.ceil(n * np.sqrt(2))) | 1
    angles = np.arange(views) * np.pi / views
    grid = tomors.ImageGrid((n, n), spacing=d)
    geometry = tomors.ParallelBeam(angles, n_cols, col_spacing=d)
    activity, mu = tomors.nema_iec(grid, mu_water=0.0096)
    model = tomors.PetProjector(geometry, grid, attenuation=mu, backend="cpu")
    data = model.forward(activity)
    factors = model.factors
    body = mu > 0

    def rel_err(image):
        return float(np.linalg.norm((image - activity)[body]) / np.linalg.norm(activity[body]))

    # tomors
    def run_tomors():
        return tomors.osem(data, model, args.iterations, args.subsets)

    # ODL + ASTRA (CPU). ODL's space axes (x0, x1) are tomors' (x, y): images go in transposed.
    half = n * d / 2
    space = odl.uniform_discr([-half, -half], [half, half], [n, n], dtype="float32")
    det = odl.uniform_partition(-n_cols * d / 2, n_cols * d / 2, n_cols)
    order = bit_reversed(args.subsets)
    subsets = [np.arange(s, views, args.subsets) for s in order]
    ops, ys = [], []
    for idx in subsets:
        geo = tomo.Parallel2dGeometry(odl.nonuniform_partition(angles[idx]), det)
        ray = tomo.RayTransform(space, geo, impl="astra_cpu")
        att = ray.range.element(factors[idx])
        ops.append(att @ ray)
        ys.append(np.ascontiguousarray(data[idx]))

    def divide(a, b):
        return np.divide(a, b, out=np.zeros_like(a), where=b > 0)

    def run_odl():
        x = space.one()
        sens = [op.adjoint(op.range.one()).data for op in ops]
        for _ in range(args.iterations):
            for op, y, s in zip(ops, ys, sens):
                ratio = divide(y, op(x).data)
                back = op.adjoint(op.range.element(ratio)).data
                x = space.element(x.data * divide(back, s))
        return np.asarray(x.data).T

    # Same data to both? Compare the forward models once.
    odl_data = np.concatenate([op(space.element(activity.T)).data for op in ops])
    tomors_data = np.concatenate([data[idx] for idx in subsets])
    model_diff = float(np.linalg.norm(odl_data - tomors_data) / np.linalg.norm(tomors_data))

    rows = []
    for name, run in [("tomors (cpu)", run_tomors), ("ODL 1.0 + ASTRA 2.5 (astra_cpu)", run_odl)]:
        run()
        best, image = np.inf, None
        for _ in range(args.repeat):
            t = time.perf_counter()
            image = run()
            best = min(best, time.perf_counter() - t)
        rows.append((name, best, rel_err(image)))

    print(f"PET 2D {n}² × {views} views, μ in the model, OSEM {args.iterations} × {args.subsets}, "
          f"best of {args.repeat}; the two forward models differ by {model_diff:.1%} (rel. L2)")
    print("| implementation | OSEM time (s) | rel. L2 error in the body |")
    print("|---|---:|---:|")
    for name, t, e in rows:
        print(f"| {name} | {t:.3f} | {e:.4f} |")
    print(f"tomors is {rows[1][1] / rows[0][1]:.1f}× faster")


if __name__ == "__main__":
    main()
