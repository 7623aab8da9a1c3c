#!/usr/bin/env python3
"""Independent, vectorised NumPy Monte Carlo of a small cylindrical TOF PET scanner.

Geometry follows tomors (src/geometry/pet/scanner.rs) exactly:
  crystal c of ring r at angle psi = 2*pi*c/N (+ view_offset),
  x = R sin(psi),  y = -R cos(psi),  z = (r - (rings-1)/2) * ring_spacing,
  R = radius + interaction_depth (the effective radius; photons are detected on it).
  TOF bin k (0..K-1) is centred (k - (K-1)/2) * width from the LOR midpoint, positive towards
  crystal b (the second of the pair). ps <-> mm: mm = ps * c/2, c/2 = 0.299792458/2 mm/ps.

Physics: emissions sampled from the activity; isotropic back-to-back photons (polar cosine
sampled uniformly in [-cos_max, cos_max], the only directions that can reach both ends of the
axial extent: the isotropic emission count is N_emit / cos_max); pair survival with probability
exp(-integral mu) along the whole line; both photons must hit the detection cylinder within the
axial extent |z| <= rings*spacing/2; each hit maps to the nearest crystal (ring, crystal); the
TOF coordinate is the arrival-time difference (|p-A|-|p-B|)/2 measured towards crystal b (the
signed distance of p from the midpoint of the hit points), blurred by a Gaussian of the FWHM,
binned to the nearest bin centre; out-of-range bins drop the event. The pair order (which hit is
crystal a) is random.
Random-like events: uniformly random crystal pairs whose LOR passes through the water cylinder,
with a uniformly random TOF bin (many of these TOF windows miss the object).

Truth scale: for the Joseph line-integral model (expected counts on a LOR = integral of x dl,
x in 1/mm... units of the recon), a crystal pair of patches (2 pi R/N) x s sees an emission
density rho (per mm^3) as  y = cos^4(theta) * pi s^2 / (2 N^2) * integral(rho dl) * att,
theta the LOR's angle to the transaxial plane. Hence a reconstruction without the cos^4
obliquity factor should give image = activity * truth_scale * <cos^4> (about 0.97-0.98 here),
and exactly activity * truth_scale with it. truth_scale = N_emit_iso / integral(activity dV) *
pi s^2 / (2 N^2).

Output .npz: pairs (n,4) int64 [ring_a, crystal_a, ring_b, crystal_b]; tof (n,) int64 in 0..K-1;
is_random (n,) bool; all parameters (scalars) and phantom parameters.
"""
import argparse
import json
import math
import time

import numpy as np

MM_PER_PS = 0.299792458 / 2.0
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))  # 2.3548200450309493 (tomors' constant)


def crystal_xyz(rings, crystals, radius_eff, spacing, ring, crystal, view_offset=0.0):
    """Crystal centre (x, y, z) in mm, tomors' convention. Vectorised over ring, crystal."""
    psi = 2.0 * np.pi * np.asarray(crystal, dtype=np.float64) / crystals + view_offset
    x = radius_eff * np.sin(psi)
    y = -radius_eff * np.cos(psi)
    z = (np.asarray(ring, dtype=np.float64) - (rings - 1) / 2.0) * spacing
    return np.stack(np.broadcast_arrays(x, y, z), axis=-1)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("scanner")
    g.add_argument("--rings", type=int, default=16)
    g.add_argument("--crystals", type=int, default=256, help="crystals per ring")
    g.add_argument("--radius", type=float, default=200.0, help="inner radius, mm")
    g.add_argument("--interaction-depth", type=float, default=0.0, help="mm; effective radius = radius + depth")
    g.add_argument("--ring-spacing", type=float, default=4.0, help="mm")
    g.add_argument("--view-offset", type=float, default=0.0, help="angle of crystal 0, radians (tomors default 0)")
    g.add_argument("--tof-bins", type=int, default=17)
    g.add_argument("--tof-bin-width", type=float, default=24.0, help="mm along the LOR (24 mm = 160.11 ps)")
    g.add_argument("--tof-fwhm", type=float, default=60.0, help="mm along the LOR (60 mm = 400.28 ps)")
    g = p.add_argument_group("phantom")
    g.add_argument("--phantom", choices=["cylinder", "point"], default="cylinder")
    g.add_argument("--cyl-radius", type=float, default=100.0)
    g.add_argument("--cyl-half-length", type=float, default=None, help="default: the axial half extent rings*spacing/2")
    g.add_argument("--mu", type=float, default=0.0096, help="water, 1/mm (cylinder phantom; point: --point-mu)")
    g.add_argument("--bg-activity", type=float, default=1.0)
    g.add_argument("--hot", type=float, nargs=3, default=[40.0, 0.0, 0.0], help="hot sphere centre x y z (mm)")
    g.add_argument("--hot-activity", type=float, default=4.0)
    g.add_argument("--cold", type=float, nargs=3, default=[-40.0, 0.0, 0.0], help="cold sphere centre x y z (mm)")
    g.add_argument("--cold-activity", type=float, default=0.0)
    g.add_argument("--sphere-radius", type=float, default=20.0)
    g.add_argument("--point", type=float, nargs=3, default=[30.0, -20.0, 6.0], help="point source x y z (mm)")
    g.add_argument("--point-mu", type=float, default=0.0, help="attenuation of the point-source run (water cylinder mu, 0: none)")
    g = p.add_argument_group("run")
    g.add_argument("--n-events", type=int, default=800_000, help="total events (trues + random-like)")
    g.add_argument("--random-fraction", type=float, default=0.0002, help="fraction of random-like events")
    g.add_argument("--seed", type=int, default=20240601)
    g.add_argument("--chunk", type=int, default=2_000_000, help="emissions simulated per vectorised chunk")
    g.add_argument("--out", default="events.npz")
    return p.parse_args(argv)


class Phantom:
    def __init__(self, a):
        self.kind = a.phantom
        self.cyl_r = a.cyl_radius
        self.cyl_h = a.cyl_half_length
        self.bg = a.bg_activity
        self.spheres = [(np.array(a.hot), a.sphere_radius, a.hot_activity),
                        (np.array(a.cold), a.sphere_radius, a.cold_activity)]
        self.point = np.array(a.point, dtype=np.float64)
        self.mu = a.mu if self.kind == "cylinder" else a.point_mu
        self.amax = max([self.bg] + [s[2] for s in self.spheres])
        self.r_max = self.cyl_r if self.kind == "cylinder" else float(np.hypot(*self.point[:2]))

    def activity(self, p):
        a = np.where((p[:, 0] ** 2 + p[:, 1] ** 2 <= self.cyl_r ** 2) & (np.abs(p[:, 2]) <= self.cyl_h), self.bg, 0.0)
        for c, r, act in self.spheres:  # spheres replace the background (later ones win)
            inside = ((p - c) ** 2).sum(1) <= r * r
            a = np.where(inside, act, a)
        return a

    def integral(self):
        if self.kind == "point":
            return 1.0
        v = self.bg * np.pi * self.cyl_r ** 2 * 2 * self.cyl_h
        for _, r, act in self.spheres:
            v += (act - self.bg) * 4.0 / 3.0 * np.pi * r ** 3
        return v

    def sample(self, rng, n):
        """n candidate draws -> accepted emission points (rejection sampling), in order."""
        if self.kind == "point":
            return np.repeat(self.point[None, :], n, 0)
        p = np.empty((n, 3))
        p[:, 0] = rng.uniform(-self.cyl_r, self.cyl_r, n)
        p[:, 1] = rng.uniform(-self.cyl_r, self.cyl_r, n)
        p[:, 2] = rng.uniform(-self.cyl_h, self.cyl_h, n)
        keep = rng.random(n) * self.amax < self.activity(p)
        return p[keep]


def simulate(a):
    t0 = time.time()
    rng = np.random.default_rng(a.seed)
    if a.cyl_half_length is None:
        a.cyl_half_length = a.rings * a.ring_spacing / 2.0
    ph = Phantom(a)
    R = a.radius + a.interaction_depth
    H = a.rings * a.ring_spacing / 2.0
    K, w = a.tof_bins, a.tof_bin_width
    if K % 2 == 0:
        raise SystemExit("--tof-bins must be odd (tomors requires it)")
    sigma = a.tof_fwhm / FWHM_PER_SIGMA
    N = a.crystals
    if ph.r_max >= R:
        raise SystemExit("object must lie inside the detector")
    cos_max = min(1.0, H / math.sqrt(R * R - ph.r_max ** 2 + H * H))

    n_rand = int(round(a.n_events * a.random_fraction))
    n_true = a.n_events - n_rand
    out_pairs, out_tof, n_emit, n_kept = [], [], 0, 0
    stats = dict(emitted=0, axial_hits=0, survived=0, tof_dropped=0)
    while n_kept < n_true:
        p = ph.sample(rng, a.chunk)
        m = len(p)
        c = rng.uniform(-cos_max, cos_max, m)
        phi = rng.uniform(0.0, 2 * np.pi, m)
        s = np.sqrt(1.0 - c * c)
        u = np.stack([s * np.cos(phi), s * np.sin(phi), c], 1)
        # hits on the detection cylinder x^2 + y^2 = R^2: t_plus > 0 > t_minus
        aa = u[:, 0] ** 2 + u[:, 1] ** 2
        bb = p[:, 0] * u[:, 0] + p[:, 1] * u[:, 1]
        cc = p[:, 0] ** 2 + p[:, 1] ** 2 - R * R
        sq = np.sqrt(bb * bb - aa * cc)
        tp = (-bb + sq) / aa
        tm = (-bb - sq) / aa
        zA = p[:, 2] + tp * u[:, 2]
        zB = p[:, 2] + tm * u[:, 2]
        ok = (np.abs(zA) <= H) & (np.abs(zB) <= H)
        stats["axial_hits"] += int(ok.sum())
        # attenuation: mu times the length of the segment [tm, tp] inside the water cylinder
        if ph.mu > 0:
            cw = p[:, 0] ** 2 + p[:, 1] ** 2 - ph.cyl_r ** 2
            dw = bb * bb - aa * cw
            sw = np.sqrt(np.maximum(dw, 0.0))
            lo = np.maximum((-bb - sw) / aa, tm)
            hi = np.minimum((-bb + sw) / aa, tp)
            with np.errstate(divide="ignore", invalid="ignore"):
                z1 = (-ph.cyl_h - p[:, 2]) / u[:, 2]
                z2 = (ph.cyl_h - p[:, 2]) / u[:, 2]
            zl = np.where(u[:, 2] != 0, np.minimum(z1, z2), -np.inf)
            zh = np.where(u[:, 2] != 0, np.maximum(z1, z2), np.inf)
            lo = np.maximum(lo, zl)
            hi = np.minimum(hi, zh)
            L = np.where(dw > 0, np.maximum(hi - lo, 0.0), 0.0)
            ok &= rng.random(m) < np.exp(-ph.mu * L)
        else:
            rng.random(m)  # keep the stream layout independent of mu
        stats["survived"] += int(ok.sum())
        # TOF: p is at t=0 and the hits' midpoint at (tp+tm)/2, so p lies (tp+tm)/2 from the
        # midpoint towards B (t<0); this equals the arrival-time difference (|p-A|-|p-B|)/2.
        d_towards_B = 0.5 * (tp + tm)
        swap = rng.random(m) < 0.5  # True: crystal a = B, b = A
        d = np.where(swap, -d_towards_B, d_towards_B)  # towards crystal b
        d = d + rng.normal(0.0, sigma, m)
        k = np.floor(d / w + (K - 1) / 2.0 + 0.5).astype(np.int64)
        inrange = (k >= 0) & (k < K)
        stats["tof_dropped"] += int((ok & ~inrange).sum())
        ok &= inrange
        A = p + tp[:, None] * u
        B = p + tm[:, None] * u

        def to_crystal(X):
            psi = np.mod(np.arctan2(X[:, 0], -X[:, 1]) - a.view_offset, 2 * np.pi)
            cr = np.mod(np.floor(psi * N / (2 * np.pi) + 0.5).astype(np.int64), N)
            rg = np.clip(np.floor(X[:, 2] / a.ring_spacing + a.rings / 2.0).astype(np.int64), 0, a.rings - 1)
            return rg, cr

        rA, cA = to_crystal(A)
        rB, cB = to_crystal(B)
        ra = np.where(swap, rB, rA); ca = np.where(swap, cB, cA)
        rb = np.where(swap, rA, rB); cb = np.where(swap, cA, cB)
        idx = np.nonzero(ok)[0]
        need = n_true - n_kept
        if len(idx) > need:
            idx = idx[:need]
            n_emit += int(idx[-1]) + 1  # emissions up to the last kept one
        else:
            n_emit += m
        out_pairs.append(np.stack([ra[idx], ca[idx], rb[idx], cb[idx]], 1))
        out_tof.append(k[idx])
        n_kept += len(idx)
    stats["emitted"] = n_emit
    pairs = np.concatenate(out_pairs)
    tof = np.concatenate(out_tof)

    # random-like events: uniform crystal pairs whose LOR crosses the water cylinder, uniform TOF bin
    rp, rt = [], []
    got = 0
    while got < n_rand:
        m = max(4 * (n_rand - got), 1024)
        ra = rng.integers(0, a.rings, m); rb = rng.integers(0, a.rings, m)
        ca = rng.integers(0, N, m); cb = rng.integers(0, N, m)
        dist = R * np.abs(np.cos(np.pi * (ca - cb) / N))  # in-plane distance of the chord from the axis
        sel = np.nonzero((ca != cb) & (dist < a.cyl_radius))[0][: n_rand - got]
        rp.append(np.stack([ra[sel], ca[sel], rb[sel], cb[sel]], 1))
        rt.append(rng.integers(0, K, len(sel)))
        got += len(sel)
    if n_rand:
        pairs = np.concatenate([pairs] + rp)
        tof = np.concatenate([tof] + rt)
    is_random = np.zeros(len(pairs), bool)
    is_random[n_true:] = True
    perm = rng.permutation(len(pairs))
    pairs, tof, is_random = pairs[perm].astype(np.int64), tof[perm].astype(np.int64), is_random[perm]

    n_emit_iso = n_emit / cos_max
    s_ = a.ring_spacing
    truth_scale = n_emit_iso / ph.integral() * math.pi * s_ * s_ / (2.0 * N * N)
    params = dict(
        rings=a.rings, crystals_per_ring=N, radius=a.radius, interaction_depth=a.interaction_depth,
        radius_eff=R, ring_spacing=a.ring_spacing, view_offset=a.view_offset,
        tof_bins=K, tof_bin_width_mm=w, tof_fwhm_mm=a.tof_fwhm, tof_sigma_mm=sigma,
        tof_bin_width_ps=w / MM_PER_PS, tof_fwhm_ps=a.tof_fwhm / MM_PER_PS, mm_per_ps=MM_PER_PS,
        axial_half_extent=H, phantom=a.phantom, cyl_radius=a.cyl_radius, cyl_half_length=a.cyl_half_length,
        mu=ph.mu, bg_activity=a.bg_activity, hot_center=list(a.hot), hot_activity=a.hot_activity,
        cold_center=list(a.cold), cold_activity=a.cold_activity, sphere_radius=a.sphere_radius,
        point=list(a.point), seed=a.seed, n_events=len(pairs), n_true=n_true, n_random=n_rand,
        n_emit=n_emit, cos_max=cos_max, n_emit_isotropic=n_emit_iso, activity_integral=ph.integral(),
        truth_scale=truth_scale, stats=stats, stats_note="axial_hits, survived, tof_dropped count whole chunks (past the last kept event too)",
        seconds=time.time() - t0,
    )
    return pairs, tof, is_random, params


def main(argv=None):
    a = parse(argv)
    pairs, tof, is_random, params = simulate(a)
    np.savez_compressed(a.out, pairs=pairs, tof=tof, is_random=is_random, params_json=json.dumps(params),
                        **{k: np.asarray(v) for k, v in params.items() if k != "stats"})
    print(json.dumps(params, indent=1))
    print(f"wrote {a.out}: {len(pairs)} events ({params['n_random']} random-like), TOF bin histogram:",
          np.bincount(tof, minlength=a.tof_bins).tolist())


if __name__ == "__main__":
    main()
