#!/usr/bin/env python3
"""TOF list-mode OSEM with parallelproj (C/OpenMP library) on the events of mc_tof_listmode.py.

Conventions (checked with a point source, see --point mode / README):
  * world (x, y, z) mm, tomors' crystal positions (x = R sin psi, y = -R cos psi); parallelproj
    is fed (z, y, x) so its image array is [nz, ny, nx] = tomors' array order;
  * LOR start = crystal a, end = crystal b; parallelproj's signed TOF bin it has its centre at
    it * width (+ tofcenter_offset) from the LOR midpoint towards the END point, so
    it = k - (K-1)//2 for the MC's / tomors' bin k in 0..K-1 (centre (k-(K-1)/2) w towards b);
  * TOF kernel: Gaussian sigma = FWHM / 2.35482, integrated over the bin width (erf
    difference), truncated at 3 sigma and renormalised by 1/erf(3/sqrt 2) (same as tomors);
  * grid centred, voxel [0,0,0] centre at -(n-1)/2 * d on each axis (tomors' default);
  * sensitivity: non-TOF back-projection of att (x norm) over ALL crystal pairs of different
    in-plane crystal positions (every ring pair), divided by the number of subsets per subset;
  * subsets: event i in subset i mod S, visited in bit-reversed order (as tomors' subset_plan);
  * start image: uniform n_events / sum(sensitivity) where sensitivity > 0 (as tomors);
  * EM ratio 1 / ybar, 0 where ybar <= 0; --max-ratio caps it (tomors caps y/ybar at 1e4).

Usage: export PARALLELPROJ_C_LIB=$PP/lib/libparallelproj_c.so OMP_NUM_THREADS=2   # see README.md; python lm_osem_parallelproj.py events.npz [--iterations 2 --subsets 10]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")
import parallelproj.backend as ppb  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mc_tof_listmode import FWHM_PER_SIGMA, crystal_xyz  # noqa: E402


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("events")
    p.add_argument("--iterations", type=int, default=2)
    p.add_argument("--subsets", type=int, default=10)
    p.add_argument("--nxy", type=int, default=100, help="in-plane voxels (nx = ny)")
    p.add_argument("--vxy", type=float, default=2.5, help="in-plane voxel size, mm")
    p.add_argument("--nz", type=int, default=None, help="default 2 * rings")
    p.add_argument("--vz", type=float, default=None, help="default ring_spacing / 2")
    p.add_argument("--att", choices=["mumap", "analytic", "none"], default="mumap",
                   help="attenuation factors: forward projection of the voxelised mu-map (default, like a "
                        "projector given a mu image), exact chord through the water cylinder, or none")
    p.add_argument("--geom-norm", choices=["none", "cos4"], default="none",
                   help="cos4: multiply every LOR by cos^4(axial angle) (the MC's true geometric efficiency)")
    p.add_argument("--nsigmas", type=float, default=3.0)
    p.add_argument("--no-tof", action="store_true", help="ignore TOF (non-TOF list-mode OSEM)")
    p.add_argument("--tof-sign", type=int, choices=[1, -1], default=1, help="-1 flips the TOF bins (diagnostic)")
    p.add_argument("--max-ratio", type=float, default=None, help="cap on 1/ybar per event (tomors: 1e4)")
    p.add_argument("--out", default=None, help="image .npy (default <events>_pp.npy)")
    p.add_argument("--save-extras", action="store_true", help="also save sensitivity, mu-map, truth .npy")
    return p.parse_args(argv)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def bit_reversed_order(S):
    bits = (S - 1).bit_length() if S > 1 else 0
    rev = lambda s: int(format(s, f"0{bits}b")[::-1], 2) if bits else 0  # noqa: E731
    return [r for r in (rev(s) for s in range(1 << bits)) if r < S]


class Setup:
    def __init__(self, P, a):
        self.P = P
        rings, N = int(P["rings"]), int(P["crystals_per_ring"])
        self.rings, self.N = rings, N
        self.R, self.s = float(P["radius_eff"]), float(P["ring_spacing"])
        nz = a.nz or 2 * rings
        vz = a.vz or self.s / 2
        self.shape = (nz, a.nxy, a.nxy)
        self.vox = np.array([vz, a.vxy, a.vxy], np.float32)
        self.origin = (-(np.array(self.shape) - 1) / 2.0 * self.vox).astype(np.float32)
        # voxel centre coordinates (z, y, x)
        self.zc = self.origin[0] + np.arange(nz) * self.vox[0]
        self.yc = self.origin[1] + np.arange(a.nxy) * self.vox[1]
        self.xc = self.origin[2] + np.arange(a.nxy) * self.vox[2]
        self.K = int(P["tof_bins"])
        self.w = float(P["tof_bin_width_mm"])
        self.sigma = float(P["tof_fwhm_mm"]) / FWHM_PER_SIGMA
        self.a = a
        self.mu = float(P["mu"])
        self.mumap = self.voxelise(lambda x, y, z: (x * x + y * y <= float(P["cyl_radius"]) ** 2)
                                   & (np.abs(z) <= float(P["cyl_half_length"]))).astype(np.float32) * self.mu

    def voxelise(self, inside, sup=5):
        """Fraction of each voxel inside the region (sup^3 sub-samples), array (z, y, x)."""
        off = (np.arange(sup) + 0.5) / sup - 0.5
        out = np.zeros(self.shape, np.float64)
        for oz in off:
            z = (self.zc + oz * self.vox[0])[:, None, None]
            for oy in off:
                y = (self.yc + oy * self.vox[1])[None, :, None]
                for ox in off:
                    x = (self.xc + ox * self.vox[2])[None, None, :]
                    out += inside(x, y, z)
        return out / sup ** 3

    def truth(self):
        P = self.P
        cyl = lambda x, y, z: (x * x + y * y <= float(P["cyl_radius"]) ** 2) & (np.abs(z) <= float(P["cyl_half_length"]))  # noqa: E731
        img = float(P["bg_activity"]) * self.voxelise(cyl)
        for c, act in ((P["hot_center"], P["hot_activity"]), (P["cold_center"], P["cold_activity"])):
            c = np.asarray(c, float); r = float(P["sphere_radius"])
            sph = self.voxelise(lambda x, y, z: (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= r * r)
            img += (float(act) - float(P["bg_activity"])) * sph
        return img * float(P["truth_scale"])

    def pp_xyz(self, ring, crystal):
        """Crystal centres as parallelproj coordinates (z, y, x), float32, C-contiguous."""
        xyz = crystal_xyz(self.rings, self.N, self.R, self.s, ring, crystal, float(self.P["view_offset"]))
        return np.ascontiguousarray(xyz[..., ::-1], dtype=np.float32)

    def lor_factors(self, xs, xe):
        """Multiplicative factor per LOR: attenuation (x cos^4 norm)."""
        f = np.ones(len(xs), np.float32)
        if self.a.att == "mumap" and self.mu > 0:
            f *= np.exp(-ppb.joseph3d_fwd(xs, xe, self.mumap, self.origin, self.vox))
        elif self.a.att == "analytic" and self.mu > 0:
            f *= np.exp(-self.mu * self.chord(xs.astype(np.float64), xe.astype(np.float64))).astype(np.float32)
        if self.a.geom_norm == "cos4":
            d = (xe - xs).astype(np.float64)
            c2 = (d[:, 1] ** 2 + d[:, 2] ** 2) / (d ** 2).sum(1)
            f *= (c2 * c2).astype(np.float32)
        return f

    def chord(self, xs, xe):
        """Length of the segment xs-xe inside the water cylinder (coordinates z, y, x)."""
        P = self.P
        rc, hc = float(P["cyl_radius"]), float(P["cyl_half_length"])
        d = xe - xs
        aa = d[:, 1] ** 2 + d[:, 2] ** 2
        bb = xs[:, 1] * d[:, 1] + xs[:, 2] * d[:, 2]
        cc = xs[:, 1] ** 2 + xs[:, 2] ** 2 - rc * rc
        disc = bb * bb - aa * cc
        sq = np.sqrt(np.maximum(disc, 0))
        lo = np.maximum((-bb - sq) / aa, 0.0); hi = np.minimum((-bb + sq) / aa, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z1 = (-hc - xs[:, 0]) / d[:, 0]; z2 = (hc - xs[:, 0]) / d[:, 0]
        lo = np.where(d[:, 0] != 0, np.maximum(lo, np.minimum(z1, z2)), lo)
        hi = np.where(d[:, 0] != 0, np.minimum(hi, np.maximum(z1, z2)), hi)
        return np.where(disc > 0, np.maximum(hi - lo, 0) * np.sqrt((d ** 2).sum(1)), 0.0)

    def sensitivity(self):
        """Non-TOF back-projection of the LOR factors over all crystal pairs (ca != cb, any rings)."""
        N = self.N
        ca, cb = np.triu_indices(N, 1)
        # skip in-plane chords that miss the image square entirely (chord distance > corner radius)
        corner = math.hypot(self.shape[1] * self.vox[1], self.shape[2] * self.vox[2]) / 2
        keep = self.R * np.abs(np.cos(np.pi * (ca - cb) / N)) < corner + 1.0
        ca, cb = ca[keep], cb[keep]
        sens = np.zeros(self.shape, np.float32)
        n_lors = 0
        for ra in range(self.rings):
            rb = np.repeat(np.arange(self.rings), len(ca))
            xs = self.pp_xyz(np.full(len(rb), ra), np.tile(ca, self.rings))
            xe = self.pp_xyz(rb, np.tile(cb, self.rings))
            f = self.lor_factors(xs, xe)
            sens += ppb.joseph3d_back(xs, xe, self.shape, self.origin, self.vox, f)
            n_lors += len(f)
        return sens, n_lors, int(keep.size)


def metrics(img, st, P):
    z, y, x = np.meshgrid(st.zc, st.yc, st.xc, indexing="ij")
    r = np.hypot(x, y)
    hot = np.asarray(P["hot_center"], float); cold = np.asarray(P["cold_center"], float)
    rs = float(P["sphere_radius"])
    dh = np.sqrt((x - hot[0]) ** 2 + (y - hot[1]) ** 2 + (z - hot[2]) ** 2)
    dc = np.sqrt((x - cold[0]) ** 2 + (y - cold[1]) ** 2 + (z - cold[2]) ** 2)
    bg = (r >= 67.5) & (r <= 87.5) & (np.abs(z) <= 24)
    hot_core = dh <= rs - 5; cold_core = dc <= rs - 5
    cyl = (r <= float(P["cyl_radius"]) - 5) & (np.abs(z) <= float(P["cyl_half_length"]) - 4)
    bgm, bgs = float(img[bg].mean()), float(img[bg].std())
    hm, cm = float(img[hot_core].mean()), float(img[cold_core].mean())
    truth = st.truth()
    ts = float(P["truth_scale"])
    ratio_act = float(P["hot_activity"]) / float(P["bg_activity"])
    out = dict(
        roi_voxels=dict(bg=int(bg.sum()), hot=int(hot_core.sum()), cold=int(cold_core.sum()), cyl=int(cyl.sum())),
        bg_mean=bgm, bg_std=bgs, bg_cov=bgs / bgm, hot_mean=hm, cold_mean=cm,
        hot_over_bg=hm / bgm, cold_over_bg=cm / bgm,
        crc_hot=(hm / bgm - 1) / (ratio_act - 1), crc_cold=1 - cm / bgm,
        bg_mean_over_truth=bgm / (ts * float(P["bg_activity"])),
        cyl_mean=float(img[cyl].mean()), cyl_truth_mean=float(truth[cyl].mean()),
        cyl_mean_over_truth=float(img[cyl].mean() / truth[cyl].mean()),
        total_over_truth=float(img.sum() / truth.sum()),
        outside_cyl_fraction=float(img[r > float(P["cyl_radius"]) + 5].sum() / img.sum()),
    )
    return out, truth


def point_metrics(img, st, P):
    pt = np.asarray(P["point"], float)  # x, y, z
    iz, iy, ix = np.unravel_index(np.argmax(img), img.shape)
    m = img >= 0.5 * img.max()
    w = img * m
    cz = float((w.sum((1, 2)) * st.zc).sum() / w.sum())
    cy = float((w.sum((0, 2)) * st.yc).sum() / w.sum())
    cx = float((w.sum((0, 1)) * st.xc).sum() / w.sum())
    return dict(true_xyz=pt.tolist(), peak_xyz=[float(st.xc[ix]), float(st.yc[iy]), float(st.zc[iz])],
                centroid_xyz_above_half_max=[cx, cy, cz],
                error_mm=float(np.linalg.norm(np.array([cx, cy, cz]) - pt)),
                voxels_above_half_max=int(m.sum()))


def main(argv=None):
    a = parse(argv)
    d = np.load(a.events)
    P = json.loads(str(d["params_json"]))
    pairs, tof = d["pairs"], d["tof"]
    st = Setup(P, a)
    log = dict(uptime_start=uptime(), omp_threads=os.environ.get("OMP_NUM_THREADS"),
               c_lib=ppb.lib_parallelproj_c._name, n_events=int(len(pairs)), args=vars(a),
               grid=dict(shape=st.shape, voxel=st.vox.tolist(), origin=st.origin.tolist()))
    print(log["uptime_start"], flush=True)

    t = time.perf_counter()
    sens, n_lors, n_inplane = st.sensitivity()
    log["sensitivity_s"] = time.perf_counter() - t
    log["sensitivity_lors"] = n_lors
    print(f"sensitivity: {n_lors} LORs in {log['sensitivity_s']:.1f} s", flush=True)

    t = time.perf_counter()
    xs = st.pp_xyz(pairs[:, 0], pairs[:, 1])
    xe = st.pp_xyz(pairs[:, 2], pairs[:, 3])
    fac = st.lor_factors(xs, xe)
    half = (st.K - 1) // 2
    it = (a.tof_sign * (tof - half)).astype(np.int16)
    log["event_factors_s"] = time.perf_counter() - t

    sig = np.array([st.sigma], np.float32); off = np.array([0.0], np.float32)
    if a.no_tof:
        fwd = lambda x, s_: ppb.joseph3d_fwd(xs[s_], xe[s_], x, st.origin, st.vox)  # noqa: E731
        back = lambda v, s_: ppb.joseph3d_back(xs[s_], xe[s_], st.shape, st.origin, st.vox, v)  # noqa: E731
    else:
        fwd = lambda x, s_: ppb.joseph3d_fwd_tof_lm(xs[s_], xe[s_], x, st.origin, st.vox, st.w, sig, off,  # noqa: E731
                                                      a.nsigmas, it[s_])
        back = lambda v, s_: ppb.joseph3d_back_tof_lm(xs[s_], xe[s_], st.shape, st.origin, st.vox, v, st.w,  # noqa: E731
                                                        sig, off, a.nsigmas, it[s_])

    S = a.subsets
    order = bit_reversed_order(S)
    subsets = [np.ascontiguousarray(np.arange(s, len(pairs), S)) for s in order]
    support = sens > 0
    x = np.where(support, np.float32(len(pairs) / sens.sum()), 0).astype(np.float32)
    sens_s = sens / S
    log["iterations"] = []
    for k in range(a.iterations):
        t = time.perf_counter()
        zero = 0; capped = 0
        for s_ in subsets:
            ybar = fwd(x, s_) * fac[s_]
            ok = ybar > 0
            zero += int((~ok).sum())
            ratio = np.zeros_like(ybar)
            ratio[ok] = 1.0 / ybar[ok]
            if a.max_ratio is not None:
                capped += int((ratio > a.max_ratio).sum())
                np.minimum(ratio, a.max_ratio, out=ratio)
            bp = back((ratio * fac[s_]).astype(np.float32), s_)
            x = np.where(support, x * bp / np.where(support, sens_s, 1), 0).astype(np.float32)
        dt = time.perf_counter() - t
        log["iterations"].append(dict(iteration=k + 1, seconds=dt, events_with_zero_expectation=zero,
                                      events_capped=capped, uptime=uptime()))
        print(f"iteration {k + 1}: {dt:.2f} s, events with ybar<=0: {zero}, capped: {capped}", flush=True)

    out = a.out or os.path.splitext(a.events)[0] + "_pp.npy"
    np.save(out, x)
    base = os.path.splitext(out)[0]
    if P.get("phantom") == "point":
        log["point"] = point_metrics(x, st, P)
    else:
        m, truth = metrics(x, st, P)
        log["metrics"] = m
        if a.save_extras:
            np.save(base + "_truth.npy", truth.astype(np.float32))
    if a.save_extras:
        np.save(base + "_sens.npy", sens)
        np.save(base + "_mumap.npy", st.mumap)
    log["uptime_end"] = uptime()
    with open(base + ".json", "w") as f:
        json.dump(log, f, indent=1, default=str)
    print(json.dumps({k: v for k, v in log.items() if k in ("metrics", "point")}, indent=1))
    print("image ->", out, "; log ->", base + ".json")


if __name__ == "__main__":
    main()
