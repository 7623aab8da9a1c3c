#!/usr/bin/env python3
"""TOF list-mode OSEM with tomors on the events of mc_tof_listmode.py, side by side with
parallelproj (lm_osem_parallelproj.py, run in the same process unless --pp-json is given).

Same as the parallelproj side (imported from lm_osem_parallelproj.py): the image grid (shape,
voxel sizes, origin: Setup), the voxelised mu-map (Setup.mumap, given to tomors as
`attenuation`, which forward-projects it like the parallelproj script's --att mumap) and the
metrics code (metrics()).

tomors side, with nothing of parallelproj's loop mirrored:
  * PetScanner(rings, crystals, radius, ring_spacing, interaction_depth, tof=(K, width_ps,
    fwhm_ps), view_offset) from the events file's parameters;
  * SinogramLayout span 1, max ring difference = rings - 1, tangential bins = the fewest that
    hold every crystal pair whose line passes within the image square's corner radius + 1 mm
    (the LORs of the parallelproj script's sensitivity), or --tangential;
  * Pet3dProjector(layout, grid, attenuation=mu-map, backend="cpu"); sensitivity() computed
    once and passed to lm_osem (its time is printed separately);
  * lm_osem(events, projector, iterations, subsets, tof_bins=k, sensitivity=...): event i in
    subset i mod S, bit-reversed order, uniform start at n / sum(sensitivity), ratio cap 1e4
    (all tomors' own defaults). parallelproj is run with --max-ratio 1e4 (the same cap).

Usage:
  export PARALLELPROJ_C_LIB=$PP/lib/libparallelproj_c.so OMP_NUM_THREADS=2   # see README.md
  nice -n 19 python lm_osem_tomors.py events.npz [--iterations 2 --subsets 10 --no-tof]
         [--pp-json events_pp_cap1e4.json]   # reuse a parallelproj run instead of running it
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("RAYON_NUM_THREADS", os.environ["OMP_NUM_THREADS"])

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lm_osem_parallelproj as lpp  # noqa: E402  (Setup, metrics, parser)
import tomors  # noqa: E402


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("events")
    p.add_argument("--iterations", type=int, default=2)
    p.add_argument("--subsets", type=int, default=10)
    p.add_argument("--nxy", type=int, default=100)
    p.add_argument("--vxy", type=float, default=2.5)
    p.add_argument("--nz", type=int, default=None, help="default 2 * rings (as the parallelproj script)")
    p.add_argument("--vz", type=float, default=None, help="default ring_spacing / 2")
    p.add_argument("--no-tof", action="store_true")
    p.add_argument("--tangential", type=int, default=None, help="default: the fewest covering the image")
    p.add_argument("--pp-json", default=None, help="parallelproj log (.json, image next to it) to compare with "
                                                      "instead of running lm_osem_parallelproj here")
    p.add_argument("--out", default=None, help="tomors image .npy (default <events>_tomors[_notof].npy)")
    return p.parse_args(argv)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def view_tangential(N, ca, cb):
    """tomors' SinogramLayout::view_tangential, vectorised: (view, t, swapped)."""
    a = np.asarray(ca, np.int64); b = np.asarray(cb, np.int64)
    t = (a - b + 3 * N // 2) % N
    v = (a - (t >> 1) + N) % N
    hi_v = v >= N // 2
    t = np.where(hi_v, np.where(t >= N // 2, t - N, -t), np.where(t >= N // 2, N - t, t))
    v = np.where(hi_v, v - N // 2, v)
    c1 = (v + (t >> 1)) % N
    return v, t, c1 != a


def covering_tangential(N, R, corner):
    """Fewest (even) tangential bins holding every t whose line passes within corner + 1 mm of
    the axis (a line of tangential position t lies R |sin(pi t / N)| from the axis)."""
    t = np.arange(-N // 2, N // 2)
    near = t[R * np.abs(np.sin(np.pi * t / N)) < corner + 1.0]
    half = int(max(-near.min(), near.max() + 1))
    return min(2 * half, N - 2)


def outside_layout(pairs, N, T, max_rd):
    """Events tomors' layout drops: one crystal, tangential beyond T, ring difference beyond."""
    _, t, _ = view_tangential(N, pairs[:, 1], pairs[:, 3])
    out = (pairs[:, 1] == pairs[:, 3]) | (t < -T // 2) | (t >= T // 2)
    out |= np.abs(pairs[:, 2] - pairs[:, 0]) > max_rd
    return int(out.sum())


def rel_l2(a, b):
    return float(np.linalg.norm((a - b).ravel()) / np.linalg.norm(b.ravel()))


def main(argv=None):
    a = parse(argv)
    d = np.load(a.events)
    P = json.loads(str(d["params_json"]))
    pairs = np.ascontiguousarray(d["pairs"], dtype=np.int64)
    tof = np.ascontiguousarray(d["tof"], dtype=np.int64)
    tag = "_notof" if a.no_tof else ""

    # --- parallelproj side (same grid/mu-map/metrics code) -------------------------------
    pp_args = [a.events, "--iterations", str(a.iterations), "--subsets", str(a.subsets), "--nxy", str(a.nxy),
               "--vxy", str(a.vxy), "--att", "mumap", "--max-ratio", "1e4", "--save-extras"]
    if a.nz:
        pp_args += ["--nz", str(a.nz)]
    if a.vz:
        pp_args += ["--vz", str(a.vz)]
    if a.no_tof:
        pp_args.append("--no-tof")
    base = os.path.splitext(a.events)[0]
    if a.pp_json is None:
        pp_out = f"{base}_pp_cap1e4{tag}.npy"
        print("== parallelproj: lm_osem_parallelproj.py", " ".join(pp_args + ["--out", pp_out]), flush=True)
        t0 = time.perf_counter()
        lpp.main(pp_args + ["--out", pp_out])
        pp_wall = time.perf_counter() - t0
        pp_json = os.path.splitext(pp_out)[0] + ".json"
    else:
        pp_json, pp_wall = a.pp_json, None
    with open(pp_json) as f:
        pp_log = json.load(f)
    pp_img = np.load(os.path.splitext(pp_json)[0] + ".npy")
    pp_sens_path = os.path.splitext(pp_json)[0] + "_sens.npy"
    pp_sens = np.load(pp_sens_path) if os.path.exists(pp_sens_path) else None

    # --- tomors side ---------------------------------------------------------------------
    st = lpp.Setup(P, lpp.parse(pp_args))
    rings, N = int(P["rings"]), int(P["crystals_per_ring"])
    K = int(P["tof_bins"])
    tof_ps = (K, float(P["tof_bin_width_ps"]), float(P["tof_fwhm_ps"]))
    scanner = tomors.PetScanner(rings, N, float(P["radius"]), float(P["ring_spacing"]),
                                interaction_depth=float(P["interaction_depth"]), tof=tof_ps,
                                name="MC scanner", view_offset=float(P["view_offset"]))
    assert abs(scanner.effective_radius - float(P["radius_eff"])) < 1e-9
    for (r, c) in ((0, 0), (rings - 1, N // 3), (rings // 2, N - 1)):  # crystal positions as the MC's
        from mc_tof_listmode import crystal_xyz
        mc = crystal_xyz(rings, N, float(P["radius_eff"]), float(P["ring_spacing"]), r, c, float(P["view_offset"]))
        assert np.allclose(scanner.crystal_position(r, c), mc, atol=1e-9), (r, c)
    corner = math.hypot(st.shape[1] * st.vox[1], st.shape[2] * st.vox[2]) / 2
    T = a.tangential or covering_tangential(N, scanner.effective_radius, corner)
    layout = tomors.SinogramLayout(scanner, tangential=T, span=1, max_ring_difference=rings - 1, tof=not a.no_tof)
    grid = tomors.ImageGrid(list(st.shape), spacing=[float(v) for v in st.vox], origin=[float(v) for v in st.origin])
    n_out = outside_layout(pairs, N, T, rings - 1)
    log = dict(uptime_start=uptime(), rayon_threads=os.environ.get("RAYON_NUM_THREADS"),
               tomors_version=tomors.__version__, n_events=int(len(pairs)), tangential=T, layout_shape=layout.shape,
               grid=dict(shape=grid.shape, spacing=grid.spacing, origin=grid.origin), tof_ps=tof_ps,
               events_outside_layout_numpy=n_out)
    print(f"== tomors {tomors.__version__}: layout {layout.shape} (span 1, max ring difference {rings - 1}, "
          f"{T} tangential bins for the image's corner radius {corner:.1f} mm), grid {grid.shape}", flush=True)
    print(log["uptime_start"], flush=True)

    t0 = time.perf_counter()
    proj = tomors.Pet3dProjector(layout, grid, attenuation=st.mumap, backend="cpu")
    log["projector_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sens = proj.sensitivity()
    log["sensitivity_s"] = time.perf_counter() - t0
    print(f"projector (with attenuation) {log['projector_s']:.1f} s, sensitivity {log['sensitivity_s']:.1f} s "
          f"[{proj.device}]", flush=True)

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = tomors.lm_osem(pairs, proj, a.iterations, a.subsets, tof_bins=None if a.no_tof else tof,
                             sensitivity=sens, outside="warn")
    log["lm_osem_s"] = time.perf_counter() - t0
    msgs = [str(w.message) for w in caught]
    dropped = sum(int(m.group(1)) for m in (re.match(r"(\d+) of \d+ events lie outside", s) for s in msgs) if m)
    log["lm_osem_warnings"] = msgs
    log["events_dropped_by_tomors"] = dropped
    print(f"lm_osem {a.iterations} it x {a.subsets} subsets: {log['lm_osem_s']:.1f} s; events dropped as "
          f"outside the layout: {dropped} (numpy check: {n_out}); warnings: {msgs or 'none'}", flush=True)

    out = a.out or f"{base}_tomors{tag}.npy"
    np.save(out, img)
    np.save(os.path.splitext(out)[0] + "_sens.npy", sens)
    m_t, _ = lpp.metrics(img, st, P)
    m_p = pp_log["metrics"]
    log["metrics"] = m_t
    log["uptime_end"] = uptime()
    log["image_rel_l2_vs_pp"] = rel_l2(img, pp_img)
    if pp_sens is not None:
        inside = pp_sens > 0
        log["sensitivity_rel_l2_vs_pp"] = rel_l2(sens, pp_sens)
        log["sensitivity_max_rel_diff_where_pp_gt_1pct_max"] = float(
            np.max(np.abs(sens - pp_sens)[pp_sens > 0.01 * pp_sens.max()] / pp_sens[pp_sens > 0.01 * pp_sens.max()]))
        log["sensitivity_sum_ratio_tomors_over_pp"] = float(sens[inside].sum() / pp_sens[inside].sum())
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(log, f, indent=1, default=str)

    # --- side by side --------------------------------------------------------------------
    mode = "non-TOF" if a.no_tof else "TOF"
    print(f"\n### {mode} list-mode OSEM, {a.iterations} iterations x {a.subsets} subsets, {len(pairs)} events "
          f"({os.path.basename(a.events)}), grid {list(st.shape)} voxels {st.vox.tolist()} mm\n")
    print("| metric | parallelproj | tomors | tomors / parallelproj |")
    print("|---|---:|---:|---:|")
    for k in ("bg_mean", "bg_std", "bg_cov", "hot_over_bg", "cold_over_bg", "crc_hot", "crc_cold",
              "bg_mean_over_truth", "cyl_mean_over_truth", "total_over_truth", "outside_cyl_fraction"):
        print(f"| {k} | {m_p[k]:.6g} | {m_t[k]:.6g} | {m_t[k] / m_p[k]:.5f} |")
    pp_it = sum(i["seconds"] for i in pp_log["iterations"])
    print(f"| recon wall s (busy machine, not final) | {pp_it:.2f} | {log['lm_osem_s']:.2f} | |")
    print(f"| sensitivity wall s (not final) | {pp_log['sensitivity_s']:.2f} | {log['sensitivity_s']:.2f} | |")
    print(f"\nimage rel. L2 (tomors - pp) / pp: {log['image_rel_l2_vs_pp']:.3e}")
    if pp_sens is not None:
        print(f"sensitivity rel. L2: {log['sensitivity_rel_l2_vs_pp']:.3e}; sum ratio tomors/pp "
              f"{log['sensitivity_sum_ratio_tomors_over_pp']:.6f}; max rel. diff where pp > 1% of max: "
              f"{log['sensitivity_max_rel_diff_where_pp_gt_1pct_max']:.3e}")
    print(f"parallelproj events with ybar <= 0 (ratio 0 there; tomors gives them the cap 1e4): "
          f"{[i['events_with_zero_expectation'] for i in pp_log['iterations']]}, capped: "
          f"{[i['events_capped'] for i in pp_log['iterations']]}")
    print(f"tomors: events dropped outside the layout {dropped}; image -> {out}; log -> "
          f"{os.path.splitext(out)[0] + '.json'}; parallelproj log -> {pp_json}")
    print(log["uptime_end"])


if __name__ == "__main__":
    main()
