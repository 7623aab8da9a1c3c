"""tomors against PyTomography on the same SPECT-CT study, same machine, same settings.

Both reconstruct the 208 keV window of the shared Lu-177 study with OSEM 4 × 8, TEW scatter from
the adjacent windows, attenuation from the CT and the MEGP collimator response, each package
with its own corrections (its own HU → μ curve, PSF model and projector). Each result is written
as DICOM by its own package, read back by tomors with its geometry, and PyTomography's is
resampled onto tomors' grid: the comparison is then in one frame of reference.

    python python/benchmarks/compare_pytomography.py NM.dcm [NM2.dcm ...] CT_DIR OUT_DIR
        [--same-mu-curve] [--beds joint|stitched]

Needs PyTomography (and torch) and tomors in one environment. Prints timings, the correlation of
the two images (all voxels, and voxels above 1 % of the maximum), the ratio of total
reconstructed counts, and the μ-maps' agreement. With one NM file it then passes one image
through both system models, part by part (rotation and sum, + collimator response, +
attenuation by one μ-map), and prints how far apart their projections are, so that a set-up
slip (PyTomography's lengths are in cm) shows as a model difference before anyone reads it into
the images. With several NM files (the beds of one study) tomors reconstructs them into one
volume (``--beds``, joint by default) and PyTomography reconstructs each bed and stitches them
with its ``stitch_multibed`` (each bed's half of the overlap); the script then also compares
slice totals along the body, away from and across the junction.
"""

import argparse
import time
from glob import glob
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

import tomors
from tomors.fusion import resample

parser = argparse.ArgumentParser()
parser.add_argument("paths", nargs="+", type=Path, help="NM file(s), then the CT folder, then the output folder")
parser.add_argument("--same-mu-curve", action="store_true")
parser.add_argument("--beds", choices=["joint", "stitched"], default="joint")
args = parser.parse_args()
if len(args.paths) < 3:
    parser.error("give NM file(s), a CT folder and an output folder")
nm_paths, ct_dir, out = args.paths[:-2], args.paths[-2], args.paths[-1]
out.mkdir(parents=True, exist_ok=True)
ITERATIONS, SUBSETS, KEV = 4, 8, 208.0
files_ct = [f for f in sorted(glob(str(ct_dir / "**" / "*"), recursive=True)) if Path(f).is_file()]

# ---- tomors
# With --same-mu-curve tomors converts the CT with PyTomography's HU → μ curve (the bilinear
# curve its table gives for this scanner, CT kVp and photopeak), so the μ-maps differ only by how
# each package samples the CT on the emission grid (tomors averages over each voxel,
# PyTomography interpolates at its centre).
hu_to_mu = None
if args.same_mu_curve:
    from pytomography.io.SPECT.dicom import get_HU2mu_conversion  # noqa: E402

    k = get_HU2mu_conversion(files_ct, KEV).keywords
    assert k["b1"] == k["b2"], k
    # PyTomography's curve is in 1/cm: (μ water, slope below 0 HU, slope above) in 1/mm.
    hu_to_mu = (float(k["b1"]) / 10, float(k["a1"]) / 10, float(k["a2"]) / 10)
    print(f"PyTomography's HU → μ curve at {KEV} keV (1/mm): {hu_to_mu}")
t = time.perf_counter()
# (Warns: the CT stops short of the head's top.)
ours = tomors.spect_ct(nm_paths[0] if len(nm_paths) == 1 else nm_paths, ct_dir, KEV, iterations=ITERATIONS,
                       subsets=SUBSETS, backend="cpu", hu_to_mu=hu_to_mu, beds=args.beds,
                       output_dir=out / "tomors")
t_ours = time.perf_counter() - t
first = ours if len(nm_paths) == 1 else ours.beds[0]
nms = {p: tomors.io.read_nm_projections(p, KEV) for p in nm_paths}  # geometry with the collimator at KEV
durations = {float(np.mean(nm.frame_durations)) for nm in nms.values()}
assert len(durations) == 1, f"beds with different frame durations: {durations}"
ours_counts = ours.image * durations.pop()  # counts per voxel, as PyTomography reconstructs
print(f"tomors: {t_ours:.1f} s in all")
for line in first.settings:
    print("   ", line)

# ---- PyTomography (its own corrections), each bed on its own
import pytomography  # noqa: E402
import torch  # noqa: E402
from pytomography.algorithms import OSEM  # noqa: E402
from pytomography.io.SPECT import dicom  # noqa: E402
from pytomography.likelihoods import PoissonLogLikelihood  # noqa: E402
from pytomography.projectors.SPECT import SPECTSystemMatrix  # noqa: E402
from pytomography.transforms.SPECT import SPECTAttenuationTransform, SPECTPSFTransform  # noqa: E402

torch.set_num_threads(max(1, __import__("os").cpu_count() or 1))
peak, lower, upper = first.photopeak_window, *first.scatter_windows
# PyTomography's lengths are in cm: the camera's 3.8 mm intrinsic FWHM at 140 keV is 0.38 here (it
# scales it by (E / 140 keV)^-1/2, as tomors does).
psf = SPECTPSFTransform(dicom.get_psfmeta_from_scanner_params("GI-MEGP", energy_keV=KEV, intrinsic_resolution_140keV=0.38))
t = time.perf_counter()
recons, attenuation = [], None
for nm_path in nm_paths:
    object_meta, proj_meta = dicom.get_metadata(str(nm_path), index_peak=peak)
    photopeak = dicom.get_projections(str(nm_path), index_peak=peak)
    scatter = dicom.get_energy_window_scatter_estimate(str(nm_path), index_peak=peak, index_lower=lower,
                                                       index_upper=upper)
    attenuation = SPECTAttenuationTransform(filepath=files_ct)
    system = SPECTSystemMatrix(obj2obj_transforms=[attenuation, psf], proj2proj_transforms=[],
                               object_meta=object_meta, proj_meta=proj_meta)
    recons.append(OSEM(PoissonLogLikelihood(system, photopeak, scatter))(n_iters=ITERATIONS, n_subsets=SUBSETS))
if len(nm_paths) == 1:
    theirs_t, geometry_file = recons[0], nm_paths[0]
else:
    theirs_t = dicom.stitch_multibed(torch.stack(recons), [str(p) for p in nm_paths])
    # save_dcm places a volume's top slice at the file's detector Image Position and counts
    # down from there: the stitched volume ends at the top of the highest bed.
    geometry_file = max(nm_paths, key=lambda p: nms[p].grid.origin[2])
t_theirs = time.perf_counter() - t
print(f"PyTomography {pytomography.__version__}: {t_theirs:.1f} s (reading, μ-map, PSF set-up and OSEM; "
      f"{torch.get_num_threads()} threads)")
theirs_dir = out / "pytomography"
dicom.save_dcm(str(theirs_dir), theirs_t, str(geometry_file), "OSEM_4it8ss")


def read_pytomography_series(folder):
    """PyTomography's DICOM output, read with pydicom (it lacks HighBit, which tomors' reader
    requires): values [z, y, x] and their PatientGrid."""
    import pydicom

    slices = [pydicom.dcmread(f) for f in sorted(folder.glob("*.dcm"))]
    slices.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    values = np.stack([d.pixel_array * float(d.RescaleSlope) + float(getattr(d, "RescaleIntercept", 0))
                       for d in slices]).astype(np.float32)
    first = slices[0]
    iop = [float(v) for v in first.ImageOrientationPatient]
    row, col = iop[:3], iop[3:]
    dz = float(slices[1].ImagePositionPatient[2]) - float(first.ImagePositionPatient[2])
    dy, dx = (float(v) for v in first.PixelSpacing)
    grid = tomors.io.PatientGrid(values.shape, (dz, dy, dx), tuple(float(v) for v in first.ImagePositionPatient),
                                 (tuple(row), tuple(col), (0.0, 0.0, 1.0)))
    return values, grid


# ---- one frame: PyTomography's DICOM output placed by its own geometry, resampled onto tomors' grid
theirs_values, theirs_grid = read_pytomography_series(theirs_dir)
theirs = resample(theirs_values, theirs_grid, ours.grid)


def corr(a, b, mask=None):
    if mask is not None:
        a, b = a[mask], b[mask]
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


mu_ours = first.mu_map if len(nm_paths) == 1 else None
hot = ours_counts > 0.01 * ours_counts.max()
print()
print(f"grid: tomors {ours.grid.shape} origin {np.round(ours.grid.origin, 2)}; "
      f"PyTomography {theirs_grid.shape} origin {np.round(theirs_grid.origin, 2)}")
print(f"correlation, all voxels: {corr(ours_counts, theirs):.4f}; voxels above 1 % of max "
      f"({hot.sum()}): {corr(ours_counts, theirs, hot):.4f}")
for sigma in (1, 2, 3):
    print(f"correlation after a Gaussian of σ = {sigma} voxel(s) on both: "
          f"{corr(gaussian_filter(ours_counts, sigma), gaussian_filter(theirs, sigma)):.4f}")
smooth_ours, smooth_theirs = gaussian_filter(ours_counts, 2), gaussian_filter(theirs, 2)
shifts = {dz: corr(smooth_ours, np.roll(smooth_theirs, dz, axis=0)) for dz in (-2, -1, 0, 1, 2)}
print("σ = 2 correlation with PyTomography's image moved by dz slices: "
      + ", ".join(f"{dz:+d}: {c:.4f}" for dz, c in shifts.items()))
print(f"total counts: tomors {ours_counts.sum():.4g}, PyTomography {theirs.sum():.4g}, "
      f"ratio tomors/PyTomography {ours_counts.sum() / theirs.sum():.4f}")
print(f"max: tomors {ours_counts.max():.4g}, PyTomography {theirs.max():.4g}")
if mu_ours is not None:
    body = mu_ours > 0.005
    # PyTomography's μ-map shares its DICOM output's voxels: [x, y, z] → [z, y, x] as saved.
    mu_theirs = resample(np.ascontiguousarray(attenuation.attenuation_map.cpu().numpy().transpose(2, 1, 0)) / 10.0,
                         theirs_grid, ours.grid)
    print(f"  over the CT body (μ > 0.005/mm): ratio {ours_counts[body].sum() / theirs[body].sum():.4f}")
    print(f"μ-maps: correlation {corr(mu_ours, mu_theirs):.4f}; median ratio in soft tissue "
          f"{np.median(mu_ours[body] / np.maximum(mu_theirs[body], 1e-6)):.4f}")
    np.savez_compressed(out / "comparison.npz", tomors=ours_counts, pytomography=theirs,
                        mu_tomors=mu_ours, mu_pytomography=mu_theirs)
else:
    np.savez_compressed(out / "comparison.npz", tomors=ours_counts, pytomography=theirs)

if len(nm_paths) > 1:
    # Slice totals along the body, over the slices both volumes hold (PyTomography's runs to
    # the ends of the beds' matrices, tomors' to the ends of their measured fields); with two
    # beds, also below, inside and above the matrices' overlap.
    ours_z, theirs_z = ours_counts.sum(axis=(1, 2)), theirs.sum(axis=(1, 2))
    both = (ours_z > 0) & (theirs_z > 0)
    ratio = ours_z[both] / theirs_z[both]
    print(f"slice totals, tomors / PyTomography, over the {both.sum()} slices both hold: "
          f"median {np.median(ratio):.4f}, 5th-95th percentile {np.percentile(ratio, 5):.4f}-{np.percentile(ratio, 95):.4f}")
    print(f"correlation over those slices: {corr(ours_counts[both], theirs[both]):.4f}; "
          f"totals over them {ours_counts[both].sum() / theirs[both].sum():.4f}")
    if len(nm_paths) == 2:
        def slice_at(z_mm):  # the union's slice at patient z (mm)
            return int(round((z_mm - ours.grid.origin[2]) / ours.grid.spacing[0]))

        lower, upper = ours.beds  # lowest first
        k_upper = slice_at(upper.grid.origin[2])
        k_lower_end = slice_at(lower.grid.origin[2] + lower.grid.shape[0] * lower.grid.spacing[0])
        print(f"matrices overlap over slices {k_upper}..{k_lower_end} of {ours.grid.shape[0]}")
        for name, zs in [("lower bed only", np.arange(0, k_upper)), ("matrix overlap", np.arange(k_upper, k_lower_end)),
                         ("upper bed only", np.arange(k_lower_end, ours.grid.shape[0]))]:
            zs = zs[both[zs]]
            if zs.size:
                print(f"  {name} ({zs.size} slices): correlation {corr(ours_counts[zs], theirs[zs]):.4f}, "
                      f"totals {ours_counts[zs].sum() / theirs[zs].sum():.4f}")
    np.savetxt(out / "slice_totals.txt", np.stack([ours_z, theirs_z], axis=1), header="tomors PyTomography (counts per slice)")
else:
    # ---- the two system models on one image, before any reconstruction: each model part in
    # turn (rotation and sum; + collimator response; + attenuation by the same μ-map). A unit
    # slip in either package's set-up shows here as a percent-level difference, not as a vague
    # image one. PyTomography's objects are [x, y, z] and its projections [view, r, z] with r
    # running against tomors' columns; the measured photopeak, as each package reads it, checks
    # that mapping.
    nm_kev = nms[nm_paths[0]]

    def to_ours(p):
        return np.ascontiguousarray(np.asarray(p).transpose(0, 2, 1)[:, :, ::-1])

    def to_theirs(x):
        return torch.tensor(np.ascontiguousarray(x.transpose(2, 1, 0)))

    assert np.array_equal(to_ours(photopeak.cpu().numpy()), nm_kev.counts[peak]), "projection layouts differ"
    assert theirs_grid.shape == ours.grid.shape and np.allclose(theirs_grid.origin, ours.grid.origin), \
        "the object grids differ: the model check needs one grid"
    rng = np.random.default_rng(1)
    zz, yy, xx = np.mgrid[:128, :128, :128].astype(np.float32)
    blobs = np.zeros(ours.grid.shape, np.float32)
    for _ in range(12):  # smooth Gaussian blobs, 2-8 voxels wide, inside the field
        c, s, a = rng.uniform(30, 98, 3), rng.uniform(2, 8), rng.uniform(0.5, 2)
        blobs += a * np.exp(-((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) / (2 * s * s))
    dx = nm_kev.pixel_spacing[0]
    bare = tomors.SpectGeometry(nm_kev.angles, nm_kev.geometry.n_cols, dx, nm_kev.radii, None, nm_kev.col_offset)
    mu = mu_ours.astype(np.float32)
    print()
    print("one image (12 Gaussian blobs) through both system models, relative L2 of the projections:")
    for name, geometry, mu_model, transforms in [
        ("rotation and sum", bare, None, []),
        ("+ MEGP response", nm_kev.geometry, None, [psf]),
        ("+ attenuation (tomors' μ-map in both)", nm_kev.geometry, mu,
         [SPECTAttenuationTransform(to_theirs(mu * 10.0)), psf]),
    ]:
        p_ours = tomors.SpectProjector(geometry, nm_kev.image_grid, mu_model, "cpu").forward(blobs) / dx  # → sums
        p_theirs = to_ours(SPECTSystemMatrix(transforms, [], object_meta, proj_meta).forward(to_theirs(blobs)).cpu().numpy())
        print(f"  {name}: {np.linalg.norm(p_ours - p_theirs) / np.linalg.norm(p_theirs):.4f} "
              f"(totals, tomors / PyTomography: {p_ours.sum() / p_theirs.sum():.5f})")
