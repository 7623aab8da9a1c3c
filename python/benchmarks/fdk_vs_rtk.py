"""tomors FDK against RTK's FDK (itk-rtk, CPU) on the same cone-beam data, same machine, one run.

The data are exact line integrals of the 3D Shepp-Logan (tomors.shepp_logan_sinogram) for a
flat-panel circular orbit; RTK gets them with the equivalent geometry (RTK rotates about its y
axis: tomors (x, y, z) is RTK (x, −z, y), gantry angle = tomors's β in degrees, detector columns
along RTK's u, rows along v). Both reconstruct on the same grid; RMSE against the voxelised
phantom (2³ samples per voxel) inside the well-sampled region: 80 % of the phantom's in-plane
extent, central 80 slices; timings are the reconstruction only (best of --repeat).

    python python/benchmarks/fdk_vs_rtk.py [--n 256] [--views 360] [--threads 2] [--repeat 1]

Needs tomors and itk-rtk (`pip install itk-rtk`) in one environment.
"""

import argparse
import time

import numpy as np

import tomors

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=256)
ap.add_argument("--views", type=int, default=360)
ap.add_argument("--pixels", type=int, default=512)
ap.add_argument("--pixel", type=float, default=0.8)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--backend", default="cpu")
a = ap.parse_args()

n, views, det, du = a.n, a.views, a.pixels, a.pixel
dso, dsd = 600.0, 1000.0
radius = 0.4 * n
angles = np.arange(views) * 2 * np.pi / views
cone = tomors.ConeBeam(angles, det, det, du, du, dso, dsd)
grid = tomors.ImageGrid((n, n, n), spacing=1.0)
t = time.time()
data = tomors.shepp_logan_sinogram(cone, grid, radius=radius)
print(f"exact data {data.shape} in {time.time() - t:.1f} s")
truth = tomors.shepp_logan(grid, radius=radius, supersample=2)

c = (n - 1) / 2
z, y, x = np.mgrid[0:n, 0:n, 0:n]
mask = (((x - c) / (0.69 * radius)) ** 2 + ((y - c) / (0.92 * radius)) ** 2 < 0.64) & (np.abs(z - c) < 40)


def rmse(v):
    return float(np.sqrt(np.mean((v[mask] - truth[mask]) ** 2)))


def best(f):
    times, out = [], None
    for _ in range(max(1, a.repeat)):
        t = time.time()
        out = f()
        times.append(time.time() - t)
    return out, min(times)


proj = tomors.Projector(cone, grid, backend=a.backend)
plan = tomors.FBP(proj)
ours, t_ours = best(lambda: plan(data))

import itk  # noqa: E402
from itk import RTK as rtk  # noqa: E402

itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(a.threads)
geometry = rtk.ThreeDCircularProjectionGeometry.New()
for b in angles:
    geometry.AddProjection(dso, dsd, float(np.degrees(b)), 0.0, 0.0)
image = itk.image_from_array(np.ascontiguousarray(data))
image.SetSpacing([du, du, 1.0])
image.SetOrigin([-(det - 1) / 2 * du, -(det - 1) / 2 * du, 0.0])
T = itk.Image[itk.F, 3]
source = rtk.ConstantImageSource[T].New()
source.SetOrigin([-(n - 1) / 2] * 3)
source.SetSpacing([1.0] * 3)
source.SetSize([n] * 3)
source.SetConstant(0.0)


def rtk_fdk():
    f = rtk.FDKConeBeamReconstructionFilter[T].New()
    f.SetInput(0, source.GetOutput())
    f.SetInput(1, image)
    f.SetGeometry(geometry)
    f.Update()
    # RTK's array is [z_rtk, y_rtk, x_rtk] = [−y, z, x] of tomors.
    return itk.array_from_image(f.GetOutput()).transpose(1, 0, 2)[:, ::-1, :]


theirs, t_rtk = best(rtk_fdk)
print(f"| case | tool | backend | time (s) | RMSE (well-sampled region) |")
print(f"|---|---|---|---:|---:|")
name = f"FDK {n}³ from {views} × {det}²"
print(f"| {name} | tomors | {proj.device} | {t_ours:.2f} | {rmse(ours):.5f} |")
from importlib.metadata import version  # noqa: E402

print(f"| {name} | RTK (itk-rtk {version('itk-rtk')}) | cpu ({a.threads} threads) | {t_rtk:.2f} | {rmse(theirs):.5f} |")
print(f"speed-up {t_rtk / t_ours:.1f}×; RMSE ratio tomors/RTK {rmse(ours) / rmse(theirs):.4f}")
