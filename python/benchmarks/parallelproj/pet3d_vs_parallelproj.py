#!/usr/bin/env python3
"""Side-by-side CPU benchmark: tomors' Pet3dProjector / lm_osem vs parallelproj's Joseph
projectors (C/OpenMP library), on the same lines of response.

Problem (defaults): the Siemens mMR ring geometry (inner radius 328 mm, interaction depth 7 mm,
so effective radius 335 mm; ring spacing 4.0625 mm; 504 crystal positions per ring in blocks of
8 crystals + 1 gap, first gap at 0; tomors' PetScanner.mmr()) cut down to --rings 8 rings; span
1, all ring differences (max ring difference rings - 1), --tangential 344 bins, no mashing;
image [2 rings - 1, nxy, nxy] (15 x 344 x 344) at 2.086 mm in-plane, ring_spacing / 2 in z,
centred (voxel 0 at -(n - 1)/2 * d). Threads: --threads (OMP_NUM_THREADS for parallelproj,
RAYON_NUM_THREADS for tomors), both set before either library is loaded.
TOF (the mMR has none): --tof K,width_ps,fwhm_ps, default 13,120,400 = tomors'
PetScanner.generic_tof() TOF (13 bins of 17.99 mm, FWHM 59.96 mm); both truncate the kernel at
3 sigma and renormalise it by 1/erf(3/sqrt 2).

Lines of response: tomors' conventions (docs/CONVENTIONS.md "3D PET", sinogram.rs), rebuilt in
NumPy: unmashed view v in 0..n/2 and tangential t = i - T/2 pair crystals
c1 = (v + floor(t/2)) mod n, c2 = (v - floor((t+1)/2) + n/2) mod n, crystal c at
(R sin psi, -R cos psi), psi = 2 pi c / n, R = radius + interaction depth; span-1 planes in segment
order 0, -1, +1, -2, ... (segment = ring difference d = r2 - r1), axial position min(r1, r2), ring
z = (r - (rings - 1)/2) * spacing. A bin's LOR runs from crystal (r1, c1) to (r2, c2); TOF bin k
is centred (k - (K-1)/2) * width from the midpoint towards (r2, c2). parallelproj is given
xstart = (z1, y1, x1), xend = (z2, y2, x2) (its axis 0 = z, so both images are [z, y, x]) and the
signed TOF bin k - (K-1)/2. The script checks these end points against tomors' own
(SinogramLayout.bin of the crystal pairs, PetScanner.crystal_position) on a sample of bins.

Timed (best of --repeat after one warm-up call, wall clock, both codes on the same inputs):
forward, adjoint (non-TOF sinogram), TOF forward, TOF adjoint (TOF sinogram), and list-mode
OSEM non-TOF / TOF (--lm-iterations x --lm-subsets on --lm-events events drawn from the
(TOF) forward projection of the phantom, crystal order randomly swapped per event; sensitivity
images precomputed, not timed; the parallelproj loop is NumPy around joseph3d_{fwd,back}[_tof_lm]
with tomors' subset plan (event i in subset i mod S, bit-reversed order), start image
(n / sum sens) and ratio rule 1 / max(ybar, 1e-4); its timing includes turning events into end
points). Agreement: relative L2 ||pp - tomors|| / ||tomors|| of the outputs (data for the
forward projections; images for the adjoints and LM-OSEM, whole and "interior": without the
outermost in-plane voxel ring and voxels within 3 voxels of the crystal radius, where the two
Joseph implementations differ by design: tomors clamps the interpolation onto edge voxels and
weights the first/last plane by the fraction inside the box/segment, parallelproj interpolates
with zeros outside and takes whole planes).

Sensitivities (not timed): non-TOF = back-projection of ones; TOF = tomors' sensitivity() of the
TOF model and parallelproj's TOF back-projection of ones over every TOF bin (the default TOF bins,
13 x 18 mm, do not cover the image, so the TOF sum is not the non-TOF sensitivity).

Cost: on 2 busy cores the --rings 4 --nxy 172 --repeat 1 --lm-events 2e5 run took 6.5 min and
0.8 GB; the full problem is ~7-8x the projector work, i.e. expect ~25-30 min for --repeat 1 and
~1 h for --repeat 3 on a quiet 2-core machine (TOF sinogram projections dominate; --skip helps).

Usage: export PARALLELPROJ_C_LIB=$PP/lib/libparallelproj_c.so OMP_NUM_THREADS=2   # see README.md
  python pet3d_vs_parallelproj.py --json bench_full.json            # full problem
  python pet3d_vs_parallelproj.py --rings 2 --nxy 96 --repeat 1 --lm-events 100000   # quick check
"""
import argparse
import json
import os
import subprocess
import sys
import time


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rings", type=int, default=8)
    p.add_argument("--nxy", type=int, default=344)
    p.add_argument("--voxel", type=float, default=2.086, help="in-plane voxel size, mm")
    p.add_argument("--tangential", type=int, default=344)
    p.add_argument("--repeat", type=int, default=3, help="timed calls after the warm-up (best is reported)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tof", default="13,120,400", help="K,bin width ps,FWHM ps")
    p.add_argument("--nsigmas", type=float, default=3.0, help="TOF kernel truncation (tomors: 3, fixed)")
    p.add_argument("--lm-events", type=float, default=1e6)
    p.add_argument("--lm-iterations", type=int, default=1)
    p.add_argument("--lm-subsets", type=int, default=10)
    p.add_argument("--skip", default="", help="comma list of fwd,back,tof_fwd,tof_back,lm,lm_tof to skip")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", default=None, help="write the results here too")
    return p.parse_args(argv)


A = parse()
os.environ["OMP_NUM_THREADS"] = str(A.threads)
os.environ["RAYON_NUM_THREADS"] = str(A.threads)

import numpy as np  # noqa: E402
import parallelproj.backend as ppb  # noqa: E402
import tomors  # noqa: E402

MM_PER_PS = 0.299792458 / 2.0
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
MMR = dict(crystals=504, radius=328.0, depth=7.0, spacing=4.0625, blocks=(8, 1, 0))


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def best(fn, repeat):
    """One warm-up call, then `repeat` timed calls: (best seconds, all seconds, last result)."""
    out = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), times, out


def rel_l2(a, b):
    a = np.asarray(a, np.float64).ravel(); b = np.asarray(b, np.float64).ravel()
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def fmt_err(e):
    if e is None:
        return ""
    if isinstance(e, tuple):
        return f"{e[0]:.2e} (interior {e[1]:.2e})"
    return f"{e:.2e}"


def bit_reversed_order(S):
    bits = (S - 1).bit_length() if S > 1 else 0
    rev = lambda s: int(format(s, f"0{bits}b")[::-1], 2) if bits else 0  # noqa: E731
    return [r for r in (rev(s) for s in range(1 << bits)) if r < S]


class Lors:
    """Every span-1 sinogram bin's end points, tomors' conventions, NumPy."""

    def __init__(self, rings, N, T, R, spacing, view_offset=0.0):
        self.rings, self.N, self.T, self.R, self.s = rings, N, T, R, spacing
        self.view_offset = view_offset
        V = N // 2
        v = np.arange(V)[:, None]
        t = np.arange(T)[None, :] - T // 2
        self.c1 = (v + (t >> 1)) % N                      # [V, T]
        self.c2 = (v - ((t + 1) >> 1) + N // 2) % N
        r1, r2 = [], []
        for d in [0] + [x for k in range(1, rings) for x in (-k, k)]:  # segments 0, -1, +1, ...
            for axial in range(rings - abs(d)):
                r1.append(axial if d >= 0 else axial - d)
                r2.append(axial + d if d >= 0 else axial)
        self.r1, self.r2 = np.array(r1), np.array(r2)   # [P]
        self.V, self.P = V, len(r1)

    def xyz(self, ring, crystal):
        psi = 2 * np.pi * np.asarray(crystal, np.float64) / self.N + self.view_offset
        z = (np.asarray(ring, np.float64) - (self.rings - 1) / 2) * self.s
        return np.stack(np.broadcast_arrays(self.R * np.sin(psi), -self.R * np.cos(psi), z), -1)

    def pp_points(self):
        """xstart, xend as parallelproj (z, y, x), shape [V, P, T, 3] float32."""
        c1 = self.c1[:, None, :]; c2 = self.c2[:, None, :]
        r1 = self.r1[None, :, None]; r2 = self.r2[None, :, None]
        xs = self.xyz(r1, c1)[..., ::-1]
        xe = self.xyz(r2, c2)[..., ::-1]
        return np.ascontiguousarray(xs, np.float32), np.ascontiguousarray(xe, np.float32)

    def check_against(self, layout, scanner, rng, n=2000):
        """tomors' own bin of each sampled bin's crystal pair, and its crystal positions."""
        assert layout.views == self.V and layout.planes == self.P, (layout.shape, self.V, self.P)
        for _ in range(n):
            v, p, i = rng.integers(self.V), rng.integers(self.P), rng.integers(self.T)
            a = (int(self.r1[p]), int(self.c1[v, i])); b = (int(self.r2[p]), int(self.c2[v, i]))
            got = layout.bin(a, b, 0)
            assert got is not None and (got[0], got[1], got[3]) == (v, p, i), ((v, p, i), a, b, got)
            if layout.tof_bins > 1:  # the reversed pair: same bin, TOF bin mirrored
                k = int(rng.integers(layout.tof_bins))
                ab, ba = layout.bin(a, b, k), layout.bin(b, a, k)
                assert ab[2] == k and ba[2] == layout.tof_bins - 1 - k, (ab, ba, k)
            for (r, c) in (a, b):
                assert np.allclose(scanner.crystal_position(r, c), self.xyz(r, c), atol=1e-6)


def phantom(shape, vox, R):
    """Piecewise-constant cylinder + ellipsoids, zero within 3 voxels of the in-plane box edge and
    inside 0.9 R (so both codes' different edge handling does not enter the comparison)."""
    nz, ny, nx = shape
    z = (np.arange(nz) - (nz - 1) / 2)[:, None, None] * vox[0]
    y = (np.arange(ny) - (ny - 1) / 2)[None, :, None] * vox[1]
    x = (np.arange(nx) - (nx - 1) / 2)[None, None, :] * vox[2]
    half = min((nx / 2 - 3) * vox[2], (ny / 2 - 3) * vox[1], 0.9 * R)
    rc = 0.85 * half
    img = np.zeros(shape, np.float32)
    img += (x ** 2 + (y / 0.8) ** 2 <= rc ** 2) * (1.0 + 0 * z)
    img += 3.0 * ((x - 0.4 * rc) ** 2 + y ** 2 + (z * 2) ** 2 <= (0.15 * rc) ** 2)
    img -= 0.8 * ((x + 0.35 * rc) ** 2 + (y - 0.2 * rc) ** 2 <= (0.2 * rc) ** 2)
    img += 2.0 * (x ** 2 + (y + 0.45 * rc) ** 2 <= (0.08 * rc) ** 2)
    return np.ascontiguousarray(img, np.float32)


def main():
    a = A
    skip = set(filter(None, a.skip.split(",")))
    rng = np.random.default_rng(a.seed)
    K, w_ps, fwhm_ps = a.tof.split(",")
    K, w_ps, fwhm_ps = int(K), float(w_ps), float(fwhm_ps)
    w_mm, sigma_mm = w_ps * MM_PER_PS, fwhm_ps * MM_PER_PS / FWHM_PER_SIGMA
    ref = tomors.PetScanner.mmr()
    R = MMR["radius"] + MMR["depth"]
    assert (ref.crystals_per_ring, ref.effective_radius, ref.ring_spacing) == (MMR["crystals"], R, MMR["spacing"])
    mk = lambda tof: tomors.PetScanner(a.rings, MMR["crystals"], MMR["radius"], MMR["spacing"],  # noqa: E731
                                       interaction_depth=MMR["depth"], blocks=MMR["blocks"], tof=tof,
                                       name=f"mMR geometry, {a.rings} rings")
    scanner_tof = mk((K, w_ps, fwhm_ps))
    kw = dict(tangential=a.tangential, span=1, max_ring_difference=a.rings - 1)
    layout = tomors.SinogramLayout(scanner_tof, tof=False, **kw)
    layout_tof = tomors.SinogramLayout(scanner_tof, tof=True, **kw)
    nz = 2 * a.rings - 1
    vox = np.array([MMR["spacing"] / 2, a.voxel, a.voxel], np.float32)
    shape = (nz, a.nxy, a.nxy)
    origin = (-(np.array(shape) - 1) / 2.0 * vox).astype(np.float32)
    grid = tomors.ImageGrid(list(shape), spacing=[float(v) for v in vox], origin=[float(v) for v in origin])

    lors = Lors(a.rings, MMR["crystals"], a.tangential, R, MMR["spacing"])
    lors.check_against(layout_tof, scanner_tof, rng)
    xs, xe = lors.pp_points()
    V, P, T = lors.V, lors.P, lors.T
    n_lor = V * P * T
    img = phantom(shape, vox, R)
    info = dict(uptime_start=uptime(), threads=a.threads, tomors=tomors.__version__,
                parallelproj_c=ppb.lib_parallelproj_c._name, sinogram=[V, P, T], lors=n_lor, tof_bins=K,
                tof_width_mm=w_mm, tof_sigma_mm=sigma_mm, image=list(shape), voxel_mm=vox.tolist(),
                repeat=a.repeat, args=vars(a))
    print(f"{info['uptime_start']}\nscanner: mMR geometry, {a.rings} rings x {MMR['crystals']} crystals, R_eff {R} mm; "
          f"span 1, sinogram {V} x {P} x {T} = {n_lor} LORs (TOF: x {K} bins of {w_mm:.3f} mm, FWHM "
          f"{fwhm_ps * MM_PER_PS:.3f} mm); image {shape} voxels {vox.tolist()} mm; threads {a.threads}; "
          f"best of {a.repeat} after a warm-up", flush=True)

    t = time.perf_counter()
    proj = tomors.Pet3dProjector(layout, grid, backend="cpu")
    proj_tof = tomors.Pet3dProjector(layout_tof, grid, backend="cpu")
    info["tomors_projectors_s"] = time.perf_counter() - t
    print(f"tomors device: {proj.device}", flush=True)
    sig = np.array([sigma_mm], np.float32); off = np.array([0.0], np.float32)
    rows, agree = [], {}
    # interior: not the outermost in-plane voxel ring of the box, and 3 voxels inside the crystal
    # radius (both codes treat the box edge and the LOR's end points differently: tomors clamps
    # the interpolation onto the edge voxels and weights the first/last plane by the fraction of it
    # inside the box/segment; parallelproj interpolates with zeros outside and takes whole planes)
    yy = (np.arange(shape[1]) - (shape[1] - 1) / 2) * vox[1]
    xx = (np.arange(shape[2]) - (shape[2] - 1) / 2) * vox[2]
    interior = np.zeros(shape, bool)
    interior[:, 1:-1, 1:-1] = True
    interior &= (yy[None, :, None] ** 2 + xx[None, None, :] ** 2 < (R - 3 * vox[1]) ** 2)
    img_cmp = lambda t_, p_: (rel_l2(p_, t_), rel_l2(p_[interior], t_[interior]))  # noqa: E731

    def run(name, f_t, f_p, compare):
        bt, tt, out_t = best(f_t, a.repeat)
        bp, tp, out_p = best(f_p, a.repeat)
        err = compare(out_t, out_p) if compare else None
        rows.append(dict(op=name, tomors_s=bt, pp_s=bp, ratio=bp / bt, tomors_all=tt, pp_all=tp, rel_l2=err))
        print(f"  {name}: tomors {bt:.3f} s {['%.3f' % x for x in tt]}, parallelproj {bp:.3f} s "
              f"{['%.3f' % x for x in tp]}, rel. L2 {fmt_err(err)}  [{uptime()}]", flush=True)
        return out_t, out_p

    y = None
    if "fwd" not in skip or "back" not in skip or "lm" not in skip:
        y, y_p = run("forward", lambda: proj.forward(img),
                     lambda: ppb.joseph3d_fwd(xs, xe, img, origin, vox),
                     lambda t_, p_: rel_l2(p_, t_))
        agree["forward_sum_ratio_pp_over_tomors"] = float(y_p.sum(dtype=np.float64) / y.sum(dtype=np.float64))
    if "back" not in skip:
        yc = np.ascontiguousarray(y)
        run("adjoint", lambda: proj.adjoint(yc),
            lambda: ppb.joseph3d_back(xs, xe, shape, origin, vox, yc), img_cmp)
    ytof = None
    if "tof_fwd" not in skip or "tof_back" not in skip or "lm_tof" not in skip:
        ytof, ytof_p = run("TOF forward", lambda: proj_tof.forward(img),
                           lambda: ppb.joseph3d_fwd_tof_sino(xs, xe, img, origin, vox, w_mm, sig, off, a.nsigmas, K),
                           lambda t_, p_: rel_l2(np.moveaxis(p_, -1, 2), t_))
        agree["tof_forward_sum_ratio_pp_over_tomors"] = float(ytof_p.sum(dtype=np.float64) / ytof.sum(dtype=np.float64))
        if y is not None:
            agree["tof_sum_over_nontof_tomors"] = float(ytof.sum(dtype=np.float64) / y.sum(dtype=np.float64))
        del ytof_p
    if "tof_back" not in skip:
        ytc = np.ascontiguousarray(ytof)
        ytp = np.ascontiguousarray(np.moveaxis(ytof, 2, -1))  # [V, P, T, K] for parallelproj
        run("TOF adjoint", lambda: proj_tof.adjoint(ytc),
            lambda: ppb.joseph3d_back_tof_sino(xs, xe, shape, origin, vox, ytp, w_mm, sig, off, a.nsigmas, K),
            img_cmp)
        del ytp

    # ---- list-mode OSEM --------------------------------------------------------------------
    n_ev = int(a.lm_events)
    half = (K - 1) // 2

    def draw_events(data, tofk):
        """n_ev events ~ data (per LOR, or [V, P, K, T] with TOF); random crystal order."""
        if tofk:
            per_lor = data.sum(2, dtype=np.float64).ravel()
        else:
            per_lor = np.asarray(data, np.float64).ravel()
        lor = rng.choice(per_lor.size, size=n_ev, p=per_lor / per_lor.sum())
        v, rest = np.divmod(lor, P * T)
        p, i = np.divmod(rest, T)
        ev = np.stack([lors.r1[p], lors.c1[v, i], lors.r2[p], lors.c2[v, i]], 1).astype(np.int64)
        k = np.zeros(n_ev, np.int64)
        if tofk:
            prof = data[v, p, :, i].astype(np.float64)          # [n, K]
            cdf = np.cumsum(prof, 1); cdf /= cdf[:, -1:]
            k = (rng.random((n_ev, 1)) > cdf).sum(1).astype(np.int64)
        swap = rng.random(n_ev) < 0.5
        ev[swap] = ev[swap][:, [2, 3, 0, 1]]
        k[swap] = K - 1 - k[swap]
        return ev, k

    def pp_lm_osem(ev, k, sens, tofk):
        """parallelproj list-mode OSEM (tomors' subset plan, start image, ratio rule)."""
        S = a.lm_subsets
        xs_e = np.ascontiguousarray(lors.xyz(ev[:, 0], ev[:, 1])[:, ::-1], np.float32)
        xe_e = np.ascontiguousarray(lors.xyz(ev[:, 2], ev[:, 3])[:, ::-1], np.float32)
        it = (k - half).astype(np.int16)
        sub = [np.arange(s, len(ev), S) for s in bit_reversed_order(S)]
        parts = [(np.ascontiguousarray(xs_e[s]), np.ascontiguousarray(xe_e[s]), np.ascontiguousarray(it[s]))
                 for s in sub]
        support = sens > 0
        x = np.where(support, np.float32(len(ev) / sens.sum(dtype=np.float64)), 0).astype(np.float32)
        sens_s = np.where(support, sens / S, 1).astype(np.float32)
        for _ in range(a.lm_iterations):
            for (s0, s1, t1) in parts:
                if tofk:
                    ybar = ppb.joseph3d_fwd_tof_lm(s0, s1, x, origin, vox, w_mm, sig, off, a.nsigmas, t1)
                else:
                    ybar = ppb.joseph3d_fwd(s0, s1, x, origin, vox)
                ratio = (1.0 / np.maximum(ybar, np.float32(1e-4))).astype(np.float32)
                if tofk:
                    bp = ppb.joseph3d_back_tof_lm(s0, s1, shape, origin, vox, ratio, w_mm, sig, off, a.nsigmas, t1)
                else:
                    bp = ppb.joseph3d_back(s0, s1, shape, origin, vox, ratio)
                x = np.where(support, x * bp / sens_s, 0).astype(np.float32)
        return x

    if n_ev > 0 and ("lm" not in skip or "lm_tof" not in skip):
        t = time.perf_counter()
        sens_t = proj.sensitivity()
        info["tomors_sensitivity_s"] = time.perf_counter() - t
        t = time.perf_counter()
        sens_p = ppb.joseph3d_back(xs, xe, shape, origin, vox, np.ones((V, P, T), np.float32))
        info["pp_sensitivity_s"] = time.perf_counter() - t
        agree["sensitivity_rel_l2"], agree["sensitivity_rel_l2_interior"] = img_cmp(sens_t, sens_p)
        # the TOF layout's sensitivity is the same non-TOF back-projection (tomors computes it so
        # when its TOF bins cover the image, else over every TOF bin): use tomors' own for TOF too.
        sens_tt = sens_pt = None
        if "lm_tof" not in skip:
            # TOF sensitivity: tomors' sensitivity() of the TOF model (the non-TOF back-projection
            # when its TOF bins cover the image, else over every TOF bin); parallelproj: the TOF
            # back-projection of ones over every TOF bin (the generic TOF bins do not cover the image)
            t = time.perf_counter()
            sens_tt = proj_tof.sensitivity()
            info["tomors_tof_sensitivity_s"] = time.perf_counter() - t
            t = time.perf_counter()
            sens_pt = ppb.joseph3d_back_tof_sino(xs, xe, shape, origin, vox, np.ones((V, P, T, K), np.float32),
                                                 w_mm, sig, off, a.nsigmas, K)
            info["pp_tof_sensitivity_s"] = time.perf_counter() - t
            agree["tof_sensitivity_rel_l2"], agree["tof_sensitivity_rel_l2_interior"] = img_cmp(sens_tt, sens_pt)
            agree["tof_sensitivity_sum_over_nontof_tomors"] = float(sens_tt.sum(dtype=np.float64) / sens_t.sum(dtype=np.float64))
        for name, tofk, data, pr, st, sp in (("LM-OSEM", False, y, proj, sens_t, sens_p),
                                             ("LM-OSEM TOF", True, ytof, proj_tof, sens_tt, sens_pt)):
            if (("lm" if not tofk else "lm_tof") in skip) or data is None:
                continue
            ev, k = draw_events(data, tofk)
            run(f"{name} ({a.lm_iterations} it x {a.lm_subsets} subsets, {n_ev:.3g} events)",
                lambda: tomors.lm_osem(ev, pr, a.lm_iterations, a.lm_subsets, tof_bins=k if tofk else None,
                                       sensitivity=st, outside="error"),
                lambda: pp_lm_osem(ev, k, sp, tofk), img_cmp)

    info["uptime_end"] = uptime()
    info["rows"] = rows
    info["agreement"] = agree
    print(f"\n### tomors {tomors.__version__} vs parallelproj 1.10.2 (C/OpenMP), CPU, {a.threads} threads\n")
    print(f"mMR geometry {a.rings} rings x {MMR['crystals']}, span 1, {V}x{P}x{T} LORs, TOF {K} x {w_ps:g} ps, "
          f"FWHM {fwhm_ps:g} ps; image {shape[0]}x{shape[1]}x{shape[2]} @ {vox[1]:g} mm (z {vox[0]:g} mm); "
          f"best of {a.repeat} after a warm-up\n")
    print("| operation | tomors (s) | parallelproj (s) | parallelproj / tomors | rel. L2 (pp vs tomors) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        e = fmt_err(r["rel_l2"])
        print(f"| {r['op']} | {r['tomors_s']:.3f} | {r['pp_s']:.3f} | {r['ratio']:.2f} | {e} |")
    print("\nagreement: " + ", ".join(f"{k} {v:.6g}" for k, v in agree.items()))
    print(f"load: start [{info['uptime_start']}] end [{info['uptime_end']}]")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(info, f, indent=1, default=str)


if __name__ == "__main__":
    main()
