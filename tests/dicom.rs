//! DICOM readers on the shared real SPECT/CT study and codec samples; writers read back.

mod common;

use common::shared_data;
use tomors::io::dicom::{ReadLimits, SeriesSelect, read_ct_series, read_nm_projections};

#[test]
fn nm_projections_load_with_their_header_geometry() {
    let Some(dir) = shared_data("spect_ct_lu177/NM") else {
        return;
    };
    let nm =
        read_nm_projections(&dir.join("bed1_projections.dcm"), &ReadLimits::default()).unwrap();
    assert_eq!(nm.windows.len(), 6);
    for c in &nm.counts {
        assert_eq!(c.shape(), &[60, 128, 128]);
    }
    let bounds: Vec<(f64, f64)> = nm
        .windows
        .iter()
        .map(|w| (w.lower_kev, w.upper_kev))
        .collect();
    assert_eq!(
        bounds,
        [
            (101.7, 124.3),
            (187.2, 228.8),
            (229.63, 251.16),
            (166.89, 186.31),
            (124.32, 134.68),
            (91.2, 100.8)
        ]
    );
    assert_eq!(nm.windows[1].name.as_deref(), Some("Lu177_EM"));
    assert_eq!(nm.window_at(208.0), Some(1));
    assert_eq!(nm.start_angles_deg, [180.16]);
    assert_eq!(nm.rotation_direction, "CC");
    assert_eq!(nm.angular_step_deg, 6.0);
    assert!(nm.radii.iter().all(|r| *r == 253.7));
    assert!(nm.frame_durations.iter().all(|t| *t == 25.0));
    assert_eq!(nm.pixel_spacing, [4.4196, 4.4196]);
    assert_eq!(nm.collimator.as_deref(), Some("MEGP"));
    // θ = −φ, φ = 180.16° + 6°·k (CC).
    for (k, a) in nm.angles.iter().enumerate() {
        let phi = 180.16 + 6.0 * k as f64;
        assert!((a + phi.to_radians()).abs() < 1e-12);
    }
    // Total counts are the file's (nothing lost in the split), and the header's maximum.
    let total: f64 = nm
        .counts
        .iter()
        .map(|c| c.iter().map(|v| *v as f64).sum::<f64>())
        .sum();
    let max = nm
        .counts
        .iter()
        .flat_map(|c| c.iter())
        .fold(0.0_f32, |m, v| m.max(*v));
    assert_eq!(max, 58.0);
    // Counts Accumulated (0018,0070) of the file.
    assert_eq!(total, 5_692_479.0);
    assert!(nm.spect_geometry(None).unwrap().collimator().is_some());
}

#[test]
fn ct_series_loads_as_one_hu_volume() {
    let Some(dir) = shared_data("spect_ct_lu177/CT") else {
        return;
    };
    let ct = read_ct_series(&dir, &SeriesSelect::Largest, &ReadLimits::default()).unwrap();
    let v = &ct.volume;
    assert_eq!(v.data.shape(), &[197, 512, 512]);
    let g = &v.grid;
    eprintln!("CT grid {g:?}, kVp {:?}", ct.kvp);
    assert!((g.spacing[0] - 2.5).abs() < 1e-6);
    assert!((g.spacing[1] - 0.977).abs() < 1e-3 && (g.spacing[2] - 0.977).abs() < 1e-3);
    // Slices sorted inferior → superior: z from −113 to 377 mm.
    assert!((g.origin[2] - -113.0).abs() < 0.5, "{:?}", g.origin);
    assert!((g.position([196.0, 0.0, 0.0])[2] - 377.0).abs() < 0.5);
    assert_eq!(ct.kvp, Some(120.0));
    // Air outside, soft tissue inside.
    let corner = v.data[[100, 5, 5]];
    let centre = v.data[[100, 256, 256]];
    assert!(
        corner < -900.0 && (-200.0..200.0).contains(&centre),
        "{corner} {centre}"
    );
    assert_eq!(
        v.frame_of_reference_uid,
        read_nm_projections(
            &shared_data("spect_ct_lu177/NM")
                .unwrap()
                .join("bed1_projections.dcm"),
            &ReadLimits::default(),
        )
        .unwrap()
        .frame_of_reference_uid
    );
}

/// The real study's NM projections, CT and the CT's HU resampled onto the NM reconstruction grid.
fn study() -> Option<(
    tomors::io::dicom::NmProjections,
    tomors::io::dicom::CtSeries,
)> {
    let nm_dir = shared_data("spect_ct_lu177/NM")?;
    let ct_dir = shared_data("spect_ct_lu177/CT")?;
    let limits = ReadLimits::default();
    let nm = read_nm_projections(&nm_dir.join("bed1_projections.dcm"), &limits).unwrap();
    let ct = read_ct_series(&ct_dir, &SeriesSelect::Largest, &limits).unwrap();
    Some((nm, ct))
}

/// The patient's body in a CT: voxels above −300 HU connected (in their slice) to the slice's
/// largest such region, which leaves out the couch and air.
fn body_mask(hu: ndarray::ArrayView3<f32>) -> ndarray::Array3<bool> {
    let [nz, ny, nx] = [hu.shape()[0], hu.shape()[1], hu.shape()[2]];
    let mut out = ndarray::Array3::from_elem((nz, ny, nx), false);
    for z in 0..nz {
        let mut label = vec![0u32; ny * nx];
        let mut sizes = vec![0usize];
        for start in 0..ny * nx {
            if label[start] != 0 || hu[[z, start / nx, start % nx]] <= -300.0 {
                continue;
            }
            let id = sizes.len() as u32;
            let mut stack = vec![start];
            label[start] = id;
            let mut size = 0;
            while let Some(p) = stack.pop() {
                size += 1;
                let (y, x) = (p / nx, p % nx);
                let mut visit = |q: usize| {
                    if label[q] == 0 && hu[[z, q / nx, q % nx]] > -300.0 {
                        label[q] = id;
                        stack.push(q);
                    }
                };
                if y > 0 {
                    visit(p - nx)
                }
                if y + 1 < ny {
                    visit(p + nx)
                }
                if x > 0 {
                    visit(p - 1)
                }
                if x + 1 < nx {
                    visit(p + 1)
                }
            }
            sizes.push(size);
        }
        if let Some((best, _)) = sizes.iter().enumerate().skip(1).max_by_key(|(_, s)| **s) {
            for (i, l) in label.iter().enumerate() {
                out[[z, i / nx, i % nx]] = *l == best as u32;
            }
        }
    }
    out
}

/// Column profile edges (first and last bin above `f` × the profile's maximum) and their
/// midpoint, in bins.
fn edges(profile: &[f64], f: f64) -> (f64, f64) {
    let m = profile.iter().copied().fold(0.0, f64::max);
    let l = profile.iter().position(|v| *v > f * m).unwrap_or(0);
    let r = profile.len() - 1 - profile.iter().rev().position(|v| *v > f * m).unwrap_or(0);
    (l as f64, r as f64)
}

#[test]
fn mu_map_projections_line_up_with_the_nm_body_outline() {
    use ndarray::{Array3, Axis};
    let Some((nm, ct)) = study() else { return };
    // The CT's body (couch left out) on the NM reconstruction grid, projected along each view.
    let body = body_mask(ct.volume.data.view()).mapv(|b| if b { 1.0_f32 } else { 0.0 });
    let body =
        tomors::fusion::resample_trilinear(body.view(), &ct.volume.grid, &nm.grid, 0.0).unwrap();
    let project = |angles: Vec<f64>| -> Array3<f32> {
        let g =
            tomors::SpectGeometry::with_orbit(angles, nm.radii.clone(), 128, nm.pixel_spacing[1])
                .unwrap();
        let p =
            tomors::SpectProjector::new(g, nm.image_grid().unwrap(), None, tomors::Backend::Cpu)
                .unwrap();
        p.forward(body.view().into_dyn())
            .unwrap()
            .into_dimensionality()
            .unwrap()
    };
    let shadow = project(nm.angles.clone());
    // Counts of every window: scatter fills the body, so their sum outlines it.
    let mut counts = nm.counts[0].clone();
    for c in &nm.counts[1..] {
        counts += c;
    }
    // Rows both see: inside the CT's z range and the camera's useful field of view (row totals
    // at least a quarter of the median), less 4 rows at each end.
    let totals: Vec<f64> = (0..128)
        .map(|r| counts.index_axis(Axis(1), r).sum() as f64)
        .collect();
    let mut sorted = totals.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[64];
    let (z0, z1) = (
        ct.volume.grid.origin[2],
        ct.volume.grid.position([196.0, 0.0, 0.0])[2],
    );
    let seen: Vec<usize> = (0..128)
        .filter(|&r| {
            let z = nm.grid.position([r as f64, 0.0, 0.0])[2];
            totals[r] >= 0.25 * median && (z0..=z1).contains(&z)
        })
        .collect();
    let rows: Vec<usize> = seen[4..seen.len() - 4].to_vec();
    eprintln!(
        "rows compared: {}..={} ({} rows)",
        rows[0],
        rows[rows.len() - 1],
        rows.len()
    );

    // Transaxial: per view, the midpoint of the body's extent along u.
    let midpoints = |img: &Array3<f32>, f: f64, flip: bool| -> Vec<f64> {
        (0..img.shape()[0])
            .map(|v| {
                let mut p: Vec<f64> = (0..128)
                    .map(|c| rows.iter().map(|&r| img[[v, r, c]] as f64).sum())
                    .collect();
                if flip {
                    p.reverse();
                }
                let (l, r) = edges(&p, f);
                0.5 * (l + r)
            })
            .collect()
    };
    let rms = |a: &[f64], b: &[f64]| {
        (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
    };
    let ct_mid = midpoints(&shadow, 0.01, false);
    let nm_mid = midpoints(&counts, 0.1, false);
    let du = nm.pixel_spacing[1];
    let aligned = rms(&ct_mid, &nm_mid) * du;
    let flipped = rms(&ct_mid, &midpoints(&counts, 0.1, true)) * du;
    let mirrored_angles = rms(
        &midpoints(
            &project(nm.angles.iter().map(|a| -a).collect()),
            0.01,
            false,
        ),
        &nm_mid,
    ) * du;
    eprintln!(
        "body midpoint along u, RMS over 60 views: {aligned:.2} mm as read; {flipped:.2} mm with columns reversed; {mirrored_angles:.2} mm with θ = +φ"
    );

    // Axial: the body's width per row (averaged over views), which narrows sharply at the neck.
    let widths = |img: &Array3<f32>, f: f64| -> Vec<f64> {
        (0..128)
            .map(|r| {
                (0..img.shape()[0])
                    .map(|v| {
                        let p: Vec<f64> = (0..128).map(|c| img[[v, r, c]] as f64).collect();
                        let (l, r) = edges(&p, f);
                        r - l
                    })
                    .sum::<f64>()
                    / img.shape()[0] as f64
            })
            .collect()
    };
    let ct_w = widths(&shadow, 0.01);
    let nm_w = widths(&counts, 0.1);
    // The neck: the row where the width falls most steeply (over 4 rows).
    let neck = |w: &[f64]| {
        rows[2..rows.len() - 2]
            .iter()
            .copied()
            .min_by(|&a, &b| (w[a + 2] - w[a - 2]).total_cmp(&(w[b + 2] - w[b - 2])))
            .unwrap()
    };
    let (ct_neck, nm_neck) = (neck(&ct_w), neck(&nm_w));
    eprintln!(
        "neck (steepest narrowing of the body): CT row {ct_neck} ({:.1} → {:.1} bins wide), NM row {nm_neck} ({:.1} → {:.1})",
        ct_w[ct_neck - 2],
        ct_w[ct_neck + 2],
        nm_w[nm_neck - 2],
        nm_w[nm_neck + 2]
    );

    assert!(aligned < 3.0 * du, "{aligned} mm");
    assert!(flipped > 5.0 * aligned && mirrored_angles > 5.0 * aligned);
    // Outlines from thresholded counts are coarse: within two rows (8.8 mm). The 3D check in
    // `nac_reconstruction_lies_inside_the_ct_body` pins the registration to ±4 mm.
    assert!(ct_neck.abs_diff(nm_neck) <= 2, "CT {ct_neck}, NM {nm_neck}");
    // A real narrowing (not noise): the width falls by a quarter or more.
    assert!(ct_w[ct_neck + 2] < 0.75 * ct_w[ct_neck - 2]);
}

#[test]
fn nac_reconstruction_lies_inside_the_ct_body() {
    let Some((nm, ct)) = study() else { return };
    let projector = tomors::SpectProjector::new(
        nm.spect_geometry(None).unwrap(),
        nm.image_grid().unwrap(),
        None,
        tomors::Backend::Cpu,
    )
    .unwrap();
    let body = body_mask(ct.volume.data.view());
    let g = &ct.volume.grid;
    let recon_on_ct = |window: usize, grid: &tomors::PatientGrid| {
        let rec = tomors::Osem::new(2, 10)
            .run(&projector, nm.counts[window].view().into_dyn())
            .unwrap();
        let rec: ndarray::Array3<f32> = rec.into_dimensionality().unwrap();
        tomors::fusion::resample_trilinear(rec.view(), grid, g, 0.0).unwrap()
    };
    // Photopeak (208 keV): where is the uptake? Voxels above 10 % of the maximum, and all
    // counts, inside the CT's body (couch and air excluded).
    let peak = recon_on_ct(1, &nm.grid);
    let max = peak.iter().copied().fold(0.0_f32, f32::max);
    let share = |img: &ndarray::Array3<f32>, mask: &ndarray::Array3<bool>| {
        let hot: Vec<bool> = img
            .iter()
            .zip(mask)
            .filter(|(v, _)| **v > 0.1 * max)
            .map(|(_, b)| *b)
            .collect();
        let total: f64 = img.iter().map(|v| *v as f64).sum();
        let inside: f64 = img
            .iter()
            .zip(mask)
            .filter(|(_, b)| **b)
            .map(|(v, _)| *v as f64)
            .sum();
        (
            hot.iter().filter(|b| **b).count() as f64 / hot.len() as f64,
            inside / total,
        )
    };
    let (hot_inside, counts_inside) = share(&peak, &body);
    // The same reconstruction placed 30 mm anterior: the measure must notice.
    let mut moved = nm.grid.clone();
    moved.origin[1] -= 30.0;
    let (hot_moved, _) = share(&recon_on_ct(1, &moved), &body);
    eprintln!(
        "208 keV NAC OSEM 2×10 on the CT grid: {:.1} % of uptake voxels (> 10 % of max) and {:.1} % of all counts inside the CT body; moved 30 mm anterior: {:.1} %",
        100.0 * hot_inside,
        100.0 * counts_inside,
        100.0 * hot_moved
    );
    // Scatter window (91–101 keV) outlines the body: its support (> 5 % of max) against the
    // CT body over the slices both cover well (Dice), with the reconstruction moved by up to
    // ±8 mm along each axis: the overlap must be best (to 0.002) within 4 mm of where the
    // files put it.
    let rec = tomors::Osem::new(2, 10)
        .run(&projector, nm.counts[5].view().into_dyn())
        .unwrap();
    let rec: ndarray::Array3<f32> = rec.into_dimensionality().unwrap();
    let omax = rec.iter().copied().fold(0.0_f32, f32::max);
    let dice = |axis: usize, shift: f64| {
        let mut grid = nm.grid.clone();
        grid.origin[axis] += shift;
        let outline = tomors::fusion::resample_trilinear(rec.view(), &grid, g, 0.0).unwrap();
        let (mut both, mut na, mut nb) = (0.0, 0.0, 0.0);
        for ((z, y, x), v) in outline.indexed_iter() {
            if (40..=180).contains(&z) {
                let (a, b) = (*v > 0.05 * omax, body[[z, y, x]]);
                na += f64::from(u8::from(a));
                nb += f64::from(u8::from(b));
                both += f64::from(u8::from(a && b));
            }
        }
        2.0 * both / (na + nb)
    };
    let at_zero = dice(0, 0.0);
    for (axis, name) in ["x", "y", "z"].iter().enumerate() {
        let scores: Vec<(f64, f64)> = [-8.0, -4.0, 4.0, 8.0]
            .iter()
            .map(|&s| (s, dice(axis, s)))
            .collect();
        eprintln!(
            "Dice of the scatter-window outline with the CT body, moved along {name}: 0 mm {at_zero:.4}, {scores:.4?}"
        );
        let (best_shift, best) = scores
            .iter()
            .copied()
            .fold((0.0, at_zero), |a, b| if b.1 > a.1 { b } else { a });
        assert!(
            best_shift.abs() <= 4.0 && best - at_zero < 0.002,
            "{name}: {scores:?}"
        );
    }
    assert!(at_zero > 0.8, "{at_zero}");
    assert!(hot_inside > 0.93, "{hot_inside}");
    assert!(hot_moved < hot_inside - 0.05, "{hot_moved}");
}
