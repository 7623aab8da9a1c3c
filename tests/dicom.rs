//! DICOM readers on the shared real SPECT/CT study and codec samples; writers read back.

mod common;

use common::shared_data;
use tomors::io::dicom::{ReadLimits, SeriesSelect, read_ct_series, read_nm_projections};

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn nm_projections_load_with_their_header_geometry() {
    let dir = shared_data("spect_ct_lu177/NM");
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
    assert_eq!(
        nm.detector_positions,
        [Some([-280.3446, -287.5446, 457.6446])]
    );
    assert_eq!(
        nm.detector_orientations,
        [Some([0.999996, -0.002793, 0.0, 0.0, 0.0, -1.0])]
    );
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
    // GE's MEGP at Lu-177's 208 keV photopeak.
    let megp = nm.collimator_at(208.0).unwrap();
    assert_eq!(
        megp,
        tomors::Collimator::for_camera(Some("GE"), "MEGP", 208.0).unwrap()
    );
    let geometry = nm.spect_geometry(Some(megp)).unwrap();
    assert_eq!(geometry.collimator(), Some(megp));
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn ct_series_loads_as_one_hu_volume() {
    let dir = shared_data("spect_ct_lu177/CT");
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
            &shared_data("spect_ct_lu177/NM").join("bed1_projections.dcm"),
            &ReadLimits::default(),
        )
        .unwrap()
        .frame_of_reference_uid
    );
}

/// The real study's NM projections, CT and the CT's HU resampled onto the NM reconstruction grid.
fn study() -> (
    tomors::io::dicom::NmProjections,
    tomors::io::dicom::CtSeries,
) {
    let nm_dir = shared_data("spect_ct_lu177/NM");
    let ct_dir = shared_data("spect_ct_lu177/CT");
    let limits = ReadLimits::default();
    let nm = read_nm_projections(&nm_dir.join("bed1_projections.dcm"), &limits).unwrap();
    let ct = read_ct_series(&ct_dir, &SeriesSelect::Largest, &limits).unwrap();
    (nm, ct)
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
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn mu_map_projections_line_up_with_the_nm_body_outline() {
    use ndarray::{Array3, Axis};
    let (nm, ct) = study();
    // The CT's body (couch left out) on the NM reconstruction grid, projected along each view.
    let body = tomors::fusion::body_mask(ct.volume.data.view(), -300.0)
        .mapv(|b| if b { 1.0_f32 } else { 0.0 });
    let body = tomors::fusion::resample(
        body.view(),
        &ct.volume.grid,
        &nm.grid,
        0.0,
        tomors::fusion::Resampling::Trilinear,
        tomors::Backend::Cpu,
    )
    .unwrap();
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
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn nac_reconstruction_lies_inside_the_ct_body() {
    let (nm, ct) = study();
    let projector = tomors::SpectProjector::new(
        nm.spect_geometry(Some(nm.collimator_at(208.0).unwrap()))
            .unwrap(),
        nm.image_grid().unwrap(),
        None,
        tomors::Backend::Cpu,
    )
    .unwrap();
    let body = tomors::fusion::body_mask(ct.volume.data.view(), -300.0);
    let g = &ct.volume.grid;
    let recon_on_ct = |window: usize, grid: &tomors::PatientGrid| {
        let rec = tomors::Osem::new(2, 10)
            .run(&projector, nm.counts[window].view().into_dyn())
            .unwrap();
        let rec: ndarray::Array3<f32> = rec.into_dimensionality().unwrap();
        tomors::fusion::resample(
            rec.view(),
            grid,
            g,
            0.0,
            tomors::fusion::Resampling::Trilinear,
            tomors::Backend::Cpu,
        )
        .unwrap()
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
        let outline = tomors::fusion::resample(
            rec.view(),
            &grid,
            g,
            0.0,
            tomors::fusion::Resampling::Trilinear,
            tomors::Backend::Cpu,
        )
        .unwrap();
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

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn every_codec_decodes_to_the_uncompressed_pixels() {
    let dir = shared_data("dicom_codecs");
    let read = |name: &str| {
        read_ct_series(
            &dir.join(format!("CT1_{name}.dcm")),
            &SeriesSelect::Largest,
            &ReadLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .volume
        .data
    };
    let reference = read("UNC");
    assert_eq!(reference.shape(), &[1, 512, 512]);
    for lossless in ["RLE", "JPLL", "JLSL", "J2KR"] {
        let v = read(lossless);
        let differ = v.iter().zip(&reference).filter(|(a, b)| a != b).count();
        eprintln!("{lossless}: {differ} pixels differ from CT1_UNC");
        assert_eq!(differ, 0, "{lossless}");
    }
    // JPEG 2000 irreversible at 69:1 (Lossy Image Compression Ratio): an error, but a small one.
    let lossy = read("J2KI");
    let n = lossy.len() as f64;
    let rmse = (lossy
        .iter()
        .zip(&reference)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let max = lossy
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    let range = reference.iter().fold(f32::MIN, |m, v| m.max(*v))
        - reference.iter().fold(f32::MAX, |m, v| m.min(*v));
    eprintln!("J2KI (69:1): RMSE {rmse:.2} HU, max |error| {max} HU, over a range of {range} HU");
    assert!(rmse > 0.0 && rmse < 0.01 * range as f64);
}

/// A volume with negative and positive values and structure along every axis.
fn test_volume(shape: [usize; 3], offset: f32) -> ndarray::Array3<f32> {
    ndarray::Array3::from_shape_fn(shape, |(z, y, x)| {
        offset
            + 100.0 * ((z as f32 * 0.7).sin() + (y as f32 * 0.3).cos() * (x as f32 * 0.2).sin())
            + z as f32
    })
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn written_series_read_back_to_the_same_voxels_and_geometry() {
    use tomors::io::dicom::{
        Reference, SeriesWriter, WriteModality, read_nm_volume, read_pet_series,
    };
    let dir = std::env::temp_dir().join(format!("tomors-write-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let grid = tomors::PatientGrid::axis_aligned(
        [7, 12, 10],
        [4.4196, 4.4196, 4.4196],
        [-20.5, -7.25, 101.0],
    )
    .unwrap();
    let limits = ReadLimits::default();
    let reference = {
        let first = std::fs::read_dir(shared_data("spect_ct_lu177/CT"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        Reference::from_file(&first).unwrap()
    };
    for (modality, units, offset) in [
        (WriteModality::Nm, "BQML", 200.0),
        (WriteModality::Pt, "BQML", 150.0),
        (WriteModality::Ct, "HU", -500.0),
    ] {
        let volume = test_volume(grid.shape, offset);
        let folder = dir.join(format!("{modality:?}"));
        let writer = SeriesWriter::new(modality, units).with_reference(reference.clone());
        let written = writer.write(volume.view(), &grid, &folder).unwrap();
        assert_eq!(written.files.len(), 7);
        let back = match modality {
            WriteModality::Nm => read_nm_volume(&folder, &SeriesSelect::Largest, &limits).unwrap(),
            WriteModality::Pt => {
                read_pet_series(&folder, &SeriesSelect::Largest, &limits)
                    .unwrap()
                    .volume
            }
            WriteModality::Ct => {
                read_ct_series(&folder, &SeriesSelect::Largest, &limits)
                    .unwrap()
                    .volume
            }
        };
        assert_eq!(back.grid.shape, grid.shape);
        for k in 0..3 {
            assert!((back.grid.spacing[k] - grid.spacing[k]).abs() < 1e-6);
            assert!((back.grid.origin[k] - grid.origin[k]).abs() < 1e-6);
        }
        assert_eq!(back.grid.axes, grid.axes);
        assert_eq!(back.units.as_deref(), Some(units));
        // 16-bit storage with a per-slice slope: error at most half a step of the slice's scale.
        for (z, (a, b)) in back.data.outer_iter().zip(volume.outer_iter()).enumerate() {
            let scale = b.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
            let signed = b.iter().any(|v| *v < 0.0);
            let step = scale / if signed { 32_767.0 } else { 65_535.0 };
            let err = a
                .iter()
                .zip(b)
                .fold(0.0_f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                err <= 0.5 * step + 2e-7 * scale,
                "{modality:?} slice {z}: {err} > {step}/2"
            );
        }
        assert_eq!(back.series_uid, written.series_uid);
        assert_eq!(back.study_uid, reference.study_uid);
        assert_eq!(
            back.frame_of_reference_uid,
            reference.frame_of_reference_uid
        );
        // Never over an existing file: the second write fails and leaves the first intact.
        let before = std::fs::read(&written.files[0]).unwrap();
        let again = writer.write(volume.view(), &grid, &folder);
        assert!(
            matches!(again, Err(tomors::Error::InvalidArgument(_))),
            "{again:?}"
        );
        assert_eq!(std::fs::read(&written.files[0]).unwrap(), before);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nifti_holds_the_voxels_and_the_ras_affine() {
    let dir = std::env::temp_dir().join(format!("tomors-nifti-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let grid =
        tomors::PatientGrid::axis_aligned([5, 6, 8], [2.5, 0.8, 0.9], [-10.0, 20.0, 30.0]).unwrap();
    let volume = test_volume(grid.shape, 0.0);
    for name in ["v.nii", "v.nii.gz"] {
        let path = dir.join(name);
        tomors::io::nifti::write_nifti(volume.view(), &grid, &path, "test [BQML]").unwrap();
        let obj = nifti::ReaderOptions::new().read_file(&path).unwrap();
        let h = obj.header().clone();
        assert_eq!(&h.dim[..4], &[3, 8, 6, 5]);
        // RAS: x and y negated from LPS; columns scaled by the spacing.
        assert_eq!(h.srow_x, [-0.9, 0.0, 0.0, 10.0]);
        assert_eq!(h.srow_y, [0.0, -0.8, 0.0, -20.0]);
        assert_eq!(h.srow_z, [0.0, 0.0, 2.5, 30.0]);
        use nifti::{IntoNdArray, NiftiObject};
        let data = obj.into_volume().into_ndarray::<f32>().unwrap();
        // The file's (i, j, k) is the volume's (ix, iy, iz).
        for ((z, y, x), v) in volume.indexed_iter() {
            assert_eq!(data[[x, y, z]], *v);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pet_series_gives_suv_factors() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use tomors::io::dicom::{SeriesWriter, WriteModality, read_pet_series};
    let dir = std::env::temp_dir().join(format!("tomors-suv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let grid = tomors::PatientGrid::axis_aligned([3, 4, 4], [3.0, 2.0, 2.0], [0.0; 3]).unwrap();
    let volume = test_volume(grid.shape, 500.0);
    let written = SeriesWriter::new(WriteModality::Pt, "BQML")
        .write(volume.view(), &grid, &dir)
        .unwrap();
    // Add what a PET scanner writes: dose, half-life, injection and series times, weight.
    for file in &written.files {
        let mut obj = dicom_object::open_file(file).unwrap();
        let mut drug = dicom_object::InMemDicomObject::new_empty();
        drug.put(DataElement::new(
            tags::RADIONUCLIDE_TOTAL_DOSE,
            VR::DS,
            PrimitiveValue::from("370000000"),
        ));
        drug.put(DataElement::new(
            tags::RADIONUCLIDE_HALF_LIFE,
            VR::DS,
            PrimitiveValue::from("6586.2"),
        ));
        drug.put(DataElement::new(
            tags::RADIOPHARMACEUTICAL_START_TIME,
            VR::TM,
            PrimitiveValue::from("100000.00"),
        ));
        obj.put(DataElement::new(
            tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![drug]),
        ));
        obj.put(DataElement::new(
            tags::DECAY_CORRECTION,
            VR::CS,
            PrimitiveValue::from("START"),
        ));
        obj.put(DataElement::new(
            tags::SERIES_TIME,
            VR::TM,
            PrimitiveValue::from("110000"),
        ));
        obj.put(DataElement::new(
            tags::PATIENT_WEIGHT,
            VR::DS,
            PrimitiveValue::from("70"),
        ));
        obj.write_to_file(file).unwrap();
    }
    let pet = read_pet_series(&dir, &SeriesSelect::Largest, &ReadLimits::default()).unwrap();
    let s = &pet.suv;
    assert_eq!(s.units.as_deref(), Some("BQML"));
    assert_eq!(s.injection_time_s, Some(36_000.0));
    assert_eq!(s.series_time_s, Some(39_600.0));
    let expected = 70_000.0 / (370e6 * (-3600.0 * std::f64::consts::LN_2 / 6586.2).exp());
    let got = s.suv_bw_scale().unwrap();
    assert!((got / expected - 1.0).abs() < 1e-12, "{got} vs {expected}");
    // An injection date-time (with a time-zone offset) on the day before the series: ten
    // minutes before midnight is −600 s.
    for file in &written.files {
        let mut obj = dicom_object::open_file(file).unwrap();
        let mut drug = obj
            .element(tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()[0]
            .clone();
        drug.put(DataElement::new(
            tags::RADIOPHARMACEUTICAL_START_DATE_TIME,
            VR::DT,
            PrimitiveValue::from("20240228235000+0100"),
        ));
        obj.put(DataElement::new(
            tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![drug]),
        ));
        obj.put(DataElement::new(
            tags::SERIES_DATE,
            VR::DA,
            PrimitiveValue::from("20240229"),
        ));
        obj.write_to_file(file).unwrap();
    }
    let late = read_pet_series(&dir, &SeriesSelect::Largest, &ReadLimits::default()).unwrap();
    assert_eq!(late.suv.injection_time_s, Some(-600.0));
    // Without a weight there is no SUVbw, and the error says why.
    let mut no_weight = s.clone();
    no_weight.patient_weight_kg = None;
    assert!(
        no_weight
            .suv_bw_scale()
            .unwrap_err()
            .to_string()
            .contains("weight")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn broken_series_and_files_give_errors_that_say_where() {
    let ct = shared_data("spect_ct_lu177/CT");
    let nm = shared_data("spect_ct_lu177/NM");
    let limits = ReadLimits::default();
    let dir = std::env::temp_dir().join(format!("tomors-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut files: Vec<_> = std::fs::read_dir(&ct)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let position = |f: &std::path::Path| {
        let o = dicom_object::OpenFileOptions::new()
            .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
            .open_file(f)
            .unwrap();
        o.element(dicom_dictionary_std::tags::IMAGE_POSITION_PATIENT)
            .unwrap()
            .to_multi_float64()
            .unwrap()[2]
    };
    files.sort_by(|a, b| position(a).total_cmp(&position(b)));
    let link_all = |folder: &std::path::Path, skip: Option<usize>, twice: Option<usize>| {
        std::fs::create_dir_all(folder).unwrap();
        for (i, f) in files.iter().enumerate() {
            if Some(i) != skip {
                std::os::unix::fs::symlink(f, folder.join(format!("{i:03}.dcm"))).unwrap();
            }
        }
        if let Some(i) = twice {
            std::os::unix::fs::symlink(&files[i], folder.join("copy.dcm")).unwrap();
        }
    };
    // A slice missing in the middle.
    let missing = dir.join("missing");
    link_all(&missing, Some(100), None);
    let e = read_ct_series(&missing, &SeriesSelect::Largest, &limits)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("1 slice(s) missing") && e.contains("(0020,0032)"),
        "{e}"
    );
    // The same slice twice.
    let twice = dir.join("twice");
    link_all(&twice, None, Some(50));
    let e = read_ct_series(&twice, &SeriesSelect::Largest, &limits)
        .unwrap_err()
        .to_string();
    assert!(e.contains("repeats the slice position"), "{e}");
    // Asking for a series that is not there lists what is.
    let e = read_ct_series(&ct, &SeriesSelect::Uid("1.2.3".into()), &limits)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("holds no series 1.2.3") && e.contains("CT "),
        "{e}"
    );
    // A truncated NM file, a non-DICOM file, and a size over the limits.
    let bytes = std::fs::read(nm.join("bed1_projections.dcm")).unwrap();
    std::fs::write(dir.join("truncated.dcm"), &bytes[..bytes.len() / 3]).unwrap();
    let e = read_nm_projections(&dir.join("truncated.dcm"), &limits).unwrap_err();
    assert!(
        matches!(&e, tomors::Error::Dicom { path, .. } if path.ends_with("truncated.dcm")),
        "{e}"
    );
    std::fs::write(dir.join("text.dcm"), b"not a DICOM file at all").unwrap();
    let e = read_nm_projections(&dir.join("text.dcm"), &limits)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("text.dcm") && e.contains("not a DICOM file"),
        "{e}"
    );
    let tight = ReadLimits {
        max_pixel_bytes: 1 << 20,
        ..limits
    };
    let e = read_nm_projections(&nm.join("bed1_projections.dcm"), &tight)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(0028,0008)") && e.contains("over the limit"),
        "{e}"
    );
    // A CT series is not NM projections.
    let e = read_nm_projections(&files[0], &limits)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(0008,0060)") && e.contains("expected \"NM\""),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tilted_stacks_are_refused() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use tomors::io::dicom::{SeriesWriter, WriteModality};
    let dir = std::env::temp_dir().join(format!("tomors-tilt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let grid = tomors::PatientGrid::axis_aligned([4, 6, 6], [2.0, 1.0, 1.0], [0.0; 3]).unwrap();
    let volume = test_volume(grid.shape, -100.0);
    let limits = ReadLimits::default();
    // Slices shifted along y as z grows: a 20° gantry tilt without the tag.
    let sheared = dir.join("sheared");
    let w = SeriesWriter::new(WriteModality::Ct, "HU")
        .write(volume.view(), &grid, &sheared)
        .unwrap();
    for (i, file) in w.files.iter().enumerate() {
        let mut obj = dicom_object::open_file(file).unwrap();
        let y = format!("{:.4}", i as f64 * 2.0 * 20f64.to_radians().tan());
        obj.put(DataElement::new(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            PrimitiveValue::Strs(vec!["0".to_string(), y, format!("{}", i as f64 * 2.0)].into()),
        ));
        obj.write_to_file(file).unwrap();
    }
    let e = read_ct_series(&sheared, &SeriesSelect::Largest, &limits)
        .unwrap_err()
        .to_string();
    assert!(e.contains("20.00° from their normal (gantry tilt)"), "{e}");
    // The tag alone.
    let tagged = dir.join("tagged");
    let w = SeriesWriter::new(WriteModality::Ct, "HU")
        .write(volume.view(), &grid, &tagged)
        .unwrap();
    let mut obj = dicom_object::open_file(&w.files[0]).unwrap();
    obj.put(DataElement::new(
        tags::GANTRY_DETECTOR_TILT,
        VR::DS,
        PrimitiveValue::from("15"),
    ));
    obj.write_to_file(&w.files[0]).unwrap();
    let e = read_ct_series(&tagged, &SeriesSelect::Largest, &limits)
        .unwrap_err()
        .to_string();
    assert!(e.contains("(0018,1120)") && e.contains("15°"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn dual_head_views_are_merged() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    let nm = shared_data("spect_ct_lu177/NM");
    // The real header as a dual-head acquisition: 1 window, detectors 1 and 2 of 3 views each,
    // head 2 starting 180° from head 1; frame f holds the value f.
    let mut obj = common::small_nm(
        &nm.join("bed1_projections.dcm"),
        &[1; 6],
        &[2, 2, 2, 1, 1, 1],
        &[1, 2, 3, 1, 2, 3],
    );
    let head1 = obj
        .element(tags::DETECTOR_INFORMATION_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0]
        .clone();
    let mut head2 = head1.clone();
    head2.put(DataElement::new(
        tags::START_ANGLE,
        VR::DS,
        PrimitiveValue::from("0.16"),
    ));
    let mut head1 = head1;
    head1.put(DataElement::new(
        tags::START_ANGLE,
        VR::DS,
        PrimitiveValue::from("180.16"),
    ));
    obj.put(DataElement::new(
        tags::DETECTOR_INFORMATION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![head1, head2]),
    ));
    let dir = std::env::temp_dir().join(format!("tomors-dual-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dual.dcm");
    obj.write_to_file(&file).unwrap();
    let p = read_nm_projections(&file, &ReadLimits::default()).unwrap();
    // Detector 1's views first (frames 3, 4, 5), then detector 2's (frames 0, 1, 2).
    assert_eq!(p.detectors, [1, 1, 1, 2, 2, 2]);
    let firsts: Vec<f32> = (0..6).map(|v| p.counts[0][[v, 0, 0]]).collect();
    assert_eq!(firsts, [3.0, 4.0, 5.0, 0.0, 1.0, 2.0]);
    assert_eq!(p.start_angles_deg, [180.16, 0.16]);
    for (v, phi) in [180.16_f64, 186.16, 192.16, 0.16, 6.16, 12.16]
        .iter()
        .enumerate()
    {
        assert!((p.angles[v] + phi.to_radians()).abs() < 1e-12);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn multi_frame_nm_volumes_are_read_along_their_normal() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use tomors::io::dicom::{SeriesWriter, WriteModality, read_nm_volume};
    let dir = std::env::temp_dir().join(format!("tomors-nmvol-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // One slice as tomors writes it, turned into a 3-frame RECON TOMO object whose geometry
    // lives only in the Detector Information Sequence, as vendors write reconstructions.
    let grid =
        tomors::PatientGrid::axis_aligned([1, 4, 5], [3.0, 2.0, 2.0], [-4.0, -3.0, 10.0]).unwrap();
    let w = SeriesWriter::new(WriteModality::Nm, "CNTS")
        .write(
            ndarray::Array3::<f32>::zeros(grid.shape).view(),
            &grid,
            &dir.join("one"),
        )
        .unwrap();
    let mut obj = dicom_object::open_file(&w.files[0]).unwrap();
    obj.remove_element(tags::IMAGE_POSITION_PATIENT);
    obj.remove_element(tags::IMAGE_ORIENTATION_PATIENT);
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("3"),
    ));
    obj.put(DataElement::new(
        tags::RESCALE_SLOPE,
        VR::DS,
        PrimitiveValue::from("0.5"),
    ));
    let pixels: Vec<u16> = (0..60).collect();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    ));
    let file = dir.join("volume.dcm");
    obj.write_to_file(&file).unwrap();
    let v = read_nm_volume(&file, &SeriesSelect::Largest, &ReadLimits::default()).unwrap();
    assert_eq!(v.data.shape(), &[3, 4, 5]);
    assert_eq!(v.data[[2, 3, 4]], 59.0 * 0.5);
    assert_eq!(v.grid.origin, [-4.0, -3.0, 10.0]);
    assert_eq!(v.grid.spacing, [3.0, 2.0, 2.0]);
    // Frames follow the normal (row × column = +z here), 3 mm apart.
    assert_eq!(v.grid.position([2.0, 0.0, 0.0]), [-4.0, -3.0, 16.0]);
    assert_eq!(v.units.as_deref(), Some("CNTS"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn nm_half_life_and_time_since_injection_are_read() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    let nm = shared_data("spect_ct_lu177/NM");
    let mut obj = common::small_nm(
        &nm.join("bed1_projections.dcm"),
        &[1; 3],
        &[1; 3],
        &[1, 2, 3],
    );
    let dir = std::env::temp_dir().join(format!("tomors-decay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("timed.dcm");
    // The shared file is anonymised: no half-life, no times.
    obj.write_to_file(&file).unwrap();
    let p = read_nm_projections(&file, &ReadLimits::default()).unwrap();
    assert_eq!((p.half_life_s, p.injection_to_start_s), (None, None));
    // Lu-177 injected on 28 February 2024 at 10:00, imaged on 1 March at 09:30 (a leap year).
    let mut drug = dicom_object::InMemDicomObject::new_empty();
    drug.put(DataElement::new(
        tags::RADIONUCLIDE_HALF_LIFE,
        VR::DS,
        PrimitiveValue::from("574300"),
    ));
    drug.put(DataElement::new(
        tags::RADIOPHARMACEUTICAL_START_DATE_TIME,
        VR::DT,
        PrimitiveValue::from("20240228100000"),
    ));
    obj.put(DataElement::new(
        tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![drug]),
    ));
    obj.put(DataElement::new(
        tags::ACQUISITION_DATE,
        VR::DA,
        PrimitiveValue::from("20240301"),
    ));
    obj.put(DataElement::new(
        tags::ACQUISITION_TIME,
        VR::TM,
        PrimitiveValue::from("093000"),
    ));
    std::fs::remove_file(&file).unwrap();
    obj.write_to_file(&file).unwrap();
    let p = read_nm_projections(&file, &ReadLimits::default()).unwrap();
    assert_eq!(p.half_life_s, Some(574_300.0));
    assert_eq!(p.injection_to_start_s, Some(2.0 * 86_400.0 - 1800.0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn rotations_at_other_table_positions_are_beds_and_refused() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    let nm = shared_data("spect_ct_lu177/NM");
    let dir = std::env::temp_dir().join(format!("tomors-rotations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Two rotations of two views each; the second at the given table position.
    let file = |traverse: &str| {
        let mut obj = common::small_nm(
            &nm.join("bed1_projections.dcm"),
            &[1; 4],
            &[1; 4],
            &[1, 2, 1, 2],
        );
        obj.put(DataElement::new(
            tags::ROTATION_VECTOR,
            VR::US,
            PrimitiveValue::U16([1, 1, 2, 2].into_iter().collect()),
        ));
        let first = obj
            .element(tags::ROTATION_INFORMATION_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()[0]
            .clone();
        let mut items = [first.clone(), first];
        items[0].put(DataElement::new(
            tags::TABLE_TRAVERSE,
            VR::DS,
            PrimitiveValue::from("100"),
        ));
        items[1].put(DataElement::new(
            tags::TABLE_TRAVERSE,
            VR::DS,
            PrimitiveValue::from(traverse),
        ));
        obj.put(DataElement::new(
            tags::ROTATION_INFORMATION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(items.to_vec()),
        ));
        let path = dir.join(format!("rotations-{traverse}.dcm"));
        obj.write_to_file(&path).unwrap();
        path
    };
    // At one table position, the rotations' views are one bed.
    let one = read_nm_projections(&file("100.2"), &ReadLimits::default()).unwrap();
    assert_eq!(one.counts[0].shape()[0], 4);
    // 350 mm further: two beds in one file, refused rather than merged.
    let e = read_nm_projections(&file("450"), &ReadLimits::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(0018,1131)") && e.contains("several") && e.contains("[100.0, 450.0]"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
