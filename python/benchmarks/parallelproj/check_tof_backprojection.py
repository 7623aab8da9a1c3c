"""One TOF back-projection (no EM) of point-source events: the peak shows the TOF convention
(with the sign flipped the peak moves to the point's mirror image through the LOR midpoints)."""
import sys, json, numpy as np, os
import parallelproj.backend as ppb
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mc_tof_listmode import crystal_xyz, FWHM_PER_SIGMA
d = np.load(sys.argv[1]); P = json.loads(str(d["params_json"]))
shape = (32, 100, 100); vox = np.array([2, 2.5, 2.5], np.float32); org = (-(np.array(shape) - 1) / 2 * vox).astype(np.float32)
xyz = lambda r, c: np.ascontiguousarray(crystal_xyz(P["rings"], P["crystals_per_ring"], P["radius_eff"], P["ring_spacing"], r, c)[:, ::-1], np.float32)
pr = d["pairs"]; xs, xe = xyz(pr[:, 0], pr[:, 1]), xyz(pr[:, 2], pr[:, 3])
K = P["tof_bins"]; sig = np.array([P["tof_fwhm_mm"] / FWHM_PER_SIGMA], np.float32); off = np.zeros(1, np.float32)
print("TOF convention check: start = crystal a, end = crystal b, signed bin = k - (K-1)//2")
for sign in (1, -1):
    it = (sign * (d["tof"] - (K - 1) // 2)).astype(np.int16)
    bp = ppb.joseph3d_back_tof_lm(xs, xe, shape, org, vox, np.ones(len(xs), np.float32), P["tof_bin_width_mm"], sig, off, 3.0, it)
    iz, iy, ix = np.unravel_index(np.argmax(bp), shape)
    z, y, x = np.meshgrid(*[org[a] + np.arange(shape[a]) * vox[a] for a in range(3)], indexing="ij")
    c = [float((bp * q).sum() / bp.sum()) for q in (x, y, z)]
    near = float(bp[(x - P["point"][0]) ** 2 + (y - P["point"][1]) ** 2 + (z - P["point"][2]) ** 2 <= 15 ** 2].sum() / bp.sum())
    print(f"sign {sign:+d}: TOF back-projection peak at x,y,z = {org[2]+ix*vox[2]:.2f}, {org[1]+iy*vox[1]:.2f}, "
          f"{org[0]+iz*vox[0]:.2f}; centroid of the whole back-projection = {c[0]:.1f}, {c[1]:.1f}, {c[2]:.1f}; "
          f"mass within 15 mm = {near:.3f}; peak {bp.max():.0f}   (true point {P['point']})")
