//! SPECT-CT and PET-CT on the shared real study (Lu-177, GE Discovery NM/CT with an Optima CT540):
//! registration of a deliberately misaligned CT, and the end-to-end pipeline.

mod common;

use std::time::Instant;

use tomors::fusion::{
    Registration, RegistrationOptions, Resampling, Rigid, register_rigid, resample,
};
use tomors::io::dicom::{ReadLimits, SeriesSelect, read_ct_series, read_nm_projections};

#[test]
#[ignore = "real data and GPU: needs ../shared/data and a wgpu adapter; run with --include-ignored"]
fn registration_recovers_a_known_misalignment_of_the_real_ct() {
    let dir = common::shared_data("spect_ct_lu177");
    let limits = ReadLimits::default();
    let nm = read_nm_projections(
        &dir.join("NM")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
        &limits,
    )
    .unwrap();
    let ct = read_ct_series(&dir.join("CT"), &SeriesSelect::Largest, &limits).unwrap();
    let v = &ct.volume;
    // Fixed: the CT as it lies, averaged onto the 4.4 mm emission grid.
    let fixed = resample(
        v.data.view(),
        &v.grid,
        &nm.grid,
        -1000.0,
        Resampling::Average,
        tomors::Backend::Cpu,
    )
    .unwrap();
    // Moving: the same voxels placed 10 mm and 5° away (translation (6, −8, 0) mm; rotation
    // 3° about x, 4° about z, about the emission grid's centre).
    let truth = Rigid {
        angles: [3f64.to_radians(), 0.0, 4f64.to_radians()],
        translation: [6.0, -8.0, 0.0],
        centre: nm.grid.centre(),
    };
    assert!((truth.rotation_angle().to_degrees() - 5.0).abs() < 0.01);
    let moved_grid = truth.move_grid(&v.grid);
    for backend in [tomors::Backend::Cpu, tomors::Backend::Gpu] {
        let t = Instant::now();
        let options = RegistrationOptions {
            moving_range: Some((-1000.0, 1500.0)),
            fixed_range: Some((-1000.0, 1500.0)),
            backend,
            ..RegistrationOptions::default()
        };
        let Registration {
            transform,
            nmi_start,
            nmi,
            evaluations,
        } = register_rigid(fixed.view(), &nm.grid, v.data.view(), &moved_grid, &options).unwrap();
        let (mm, rad) = transform.difference(&truth, &nm.grid);
        let (mm0, rad0) = Rigid::identity(nm.grid.centre()).difference(&truth, &nm.grid);
        // Centre displacement and rotation error: 1 mm and 0.5°, as the issue asks.
        let c = nm.grid.centre();
        let (a, b) = (transform.apply(c), truth.apply(c));
        let centre_mm = (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt();
        println!(
            "registration on {backend}: {:.2} s, {evaluations} NMI evaluations, NMI {nmi_start:.4} → {nmi:.4}; \
             error before {mm0:.1} mm / {:.2}°, after {centre_mm:.2} mm at the centre, {mm:.2} mm at the \
             566 mm cube's corners, {:.3}°",
            t.elapsed().as_secs_f64(),
            rad0.to_degrees(),
            rad.to_degrees()
        );
        assert!(centre_mm < 1.0 && mm < 1.0 && rad.to_degrees() < 0.5);
    }
}

use ndarray::{Array3, ArrayView3, Axis};
use tomors::io::dicom::{CtSeries, NmProjections, read_nm_volume};
use tomors::physics::HuToMu;
use tomors::pipeline::{
    DecayCorrection, ScatterCorrection, SpectCtOptions, Stage, register_ct_to_emission, spect_ct,
    spect_ct_from,
};
use tomors::{Backend, Osem, PatientGrid, SpectProjector};

fn real_study() -> (
    NmProjections,
    std::path::PathBuf,
    CtSeries,
    std::path::PathBuf,
) {
    let dir = common::shared_data("spect_ct_lu177");
    let limits = ReadLimits::default();
    let nm_path = dir
        .join("NM")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let nm = read_nm_projections(&nm_path, &limits).unwrap();
    let ct = read_ct_series(&dir.join("CT"), &SeriesSelect::Largest, &limits).unwrap();
    (nm, nm_path, ct, dir.join("CT"))
}

/// The CT's body ([`tomors::fusion::body_mask`] at −300 HU) on `grid`: voxels at least half inside it.
fn body_on(ct: &CtSeries, grid: &PatientGrid) -> Array3<bool> {
    let v = &ct.volume;
    let body =
        tomors::fusion::body_mask(v.data.view(), -300.0).mapv(|b| if b { 1.0f32 } else { 0.0 });
    resample(
        body.view(),
        &v.grid,
        grid,
        0.0,
        Resampling::Average,
        tomors::Backend::Cpu,
    )
    .unwrap()
    .mapv(|f| f >= 0.5)
}

/// Depth of each body voxel below the body's surface within its axial slice, in voxels
/// (1 on the outermost ring), by repeated 4-neighbour erosion; 0 outside.
fn depth(mask: ArrayView3<bool>) -> Array3<u32> {
    let mut d = mask.mapv(|b| b as u32);
    let (nz, ny, nx) = mask.dim();
    for level in 1.. {
        let mut grew = false;
        let prev = d.clone();
        for z in 0..nz {
            for y in 1..ny - 1 {
                for x in 1..nx - 1 {
                    let inner = [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)]
                        .iter()
                        .all(|&(a, b)| prev[[z, a, b]] >= level);
                    if prev[[z, y, x]] == level && inner {
                        d[[z, y, x]] = level + 1;
                        grew = true;
                    }
                }
            }
        }
        if !grew {
            break;
        }
    }
    d
}

/// Mean of `image` over body voxels of depth in `range` (voxels), in slices where `slices` holds.
fn shell_mean(
    image: ArrayView3<f32>,
    depth: ArrayView3<u32>,
    range: std::ops::Range<u32>,
    slices: &[usize],
) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for &z in slices {
        for (v, d) in image
            .index_axis(Axis(0), z)
            .iter()
            .zip(depth.index_axis(Axis(0), z))
        {
            if range.contains(d) {
                sum += *v as f64;
                n += 1;
            }
        }
    }
    sum / n.max(1) as f64
}

/// Mean of `image` per ring of depth `rings` (one value per ring), over `slices`.
fn ring_profile(
    image: ArrayView3<f32>,
    depth: ArrayView3<u32>,
    rings: std::ops::Range<u32>,
    slices: &[usize],
) -> Vec<f64> {
    rings
        .map(|k| shell_mean(image, depth, k..k + 1, slices))
        .collect()
}

/// A profile as text, three decimals.
fn show(profile: &[f64]) -> String {
    profile
        .iter()
        .map(|v| format!("{v:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Emission slices that the CT covers with margin and that hold a body at least 12 voxels deep
/// (trunk, not neck or head).
fn trunk_slices(depth: ArrayView3<u32>, grid: &PatientGrid, ct: &CtSeries) -> Vec<usize> {
    let v = &ct.volume.grid;
    (0..grid.shape[0])
        .filter(|&z| {
            let p = grid.position([
                z as f64,
                grid.shape[1] as f64 / 2.0,
                grid.shape[2] as f64 / 2.0,
            ]);
            let iz = v.index_of(p)[0];
            iz > 2.0
                && iz < v.shape[0] as f64 - 3.0
                && depth.index_axis(Axis(0), z).iter().any(|&d| d >= 12)
        })
        .collect()
}

fn relative_l2(a: ArrayView3<f32>, b: ArrayView3<f32>) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (num / den).sqrt()
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn real_study_end_to_end_on_the_cpu() {
    let (_, nm_path, _, ct_dir) = real_study();
    let mut options = SpectCtOptions::new(208.0);
    options.backend = Backend::Cpu;
    let mut stages = Vec::new();
    let mut progress = |s: Stage| stages.push(s);
    let t = Instant::now();
    let ac = spect_ct(&nm_path, &ct_dir, &options, Some(&mut progress)).unwrap();
    println!(
        "AC+SC+RR: {:.1} s in all, {:.1} s reconstructing",
        t.elapsed().as_secs_f64(),
        ac.reconstruction_seconds
    );
    assert_eq!(stages[0], Stage::Reading);
    assert_eq!(stages.last(), Some(&Stage::Iteration { done: 4, of: 4 }));
    assert!(stages.contains(&Stage::AttenuationMap) && stages.contains(&Stage::Scatter));
    for line in ac.settings() {
        println!("  {line}");
    }
    // Windows: 187.2–228.8 keV photopeak, 166.9–186.3 and 229.6–251.2 keV for TEW.
    assert_eq!((ac.photopeak, ac.scatter_windows), (1, (Some(3), Some(2))));
    assert_eq!(ac.units, "CPS");
    // The CT stops inside the head: the pipeline says so.
    assert!(
        ac.warnings.iter().any(|w| w.contains("last slice")),
        "{:?}",
        ac.warnings
    );

    // Uptake inside the body outline, over the slices the CT covers.
    let body = body_on(&ac.ct, &ac.grid);
    let covered = |z: usize| {
        let iz = ac
            .ct
            .volume
            .grid
            .index_of(ac.grid.position([z as f64, 64.0, 64.0]))[0];
        iz >= 0.0 && iz <= ac.ct.volume.grid.shape[0] as f64 - 1.0
    };
    let (mut total, mut inside) = (0.0, 0.0);
    for ((z, y, x), &v) in ac.image.indexed_iter() {
        if covered(z) {
            total += v as f64;
            if body[[z, y, x]] {
                inside += v as f64;
            }
        }
    }
    // The hottest voxels (top 0.05 %): salivary and lacrimal glands, in the head and neck.
    let mut sorted: Vec<f32> = ac.image.iter().copied().collect();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let cut = sorted[sorted.len() / 2000];
    let hot: Vec<[usize; 3]> = ac
        .image
        .indexed_iter()
        .filter(|(_, v)| **v > cut)
        .map(|((z, y, x), _)| [z, y, x])
        .collect();
    let hot_inside = hot.iter().filter(|i| body[**i]).count() as f64 / hot.len() as f64;
    let hot_z: Vec<f64> = hot
        .iter()
        .map(|i| ac.grid.position([i[0] as f64, i[1] as f64, i[2] as f64])[2])
        .collect();
    let head_and_neck = hot_z.iter().filter(|&&z| z > 280.0).count() as f64 / hot_z.len() as f64;
    println!(
        "activity inside the CT body: {:.1} % (slices the CT covers); hottest {} voxels: {:.1} % inside, {:.1} % above z = 280 mm",
        100.0 * inside / total,
        hot.len(),
        100.0 * hot_inside,
        100.0 * head_and_neck
    );
    assert!(inside / total > 0.85 && hot_inside > 0.95);

    // Centre-dip: the same reconstruction without attenuation correction, compared over the
    // trunk's body voxels by depth below the surface.
    let mut nac_options = options.clone();
    nac_options.attenuation = false;
    let nac = spect_ct_from(
        ac.nm.clone(),
        &nm_path,
        (*ac.ct).clone(),
        &nac_options,
        None,
    )
    .unwrap();
    let d = depth(body.view());
    let trunk = trunk_slices(d.view(), &ac.grid, &ac.ct);
    assert!(trunk.len() > 20, "{} trunk slices", trunk.len());
    // Rings as in the uniform-body test below: 13–26 mm deep against 40 mm and deeper.
    let ratio = |img: ArrayView3<f32>| {
        shell_mean(img, d.view(), 10..100, &trunk) / shell_mean(img, d.view(), 4..7, &trunk)
    };
    let (r_ac, r_nac) = (ratio(ac.image.view()), ratio(nac.image.view()));
    println!(
        "trunk ({} slices): mean activity ≥ 40 mm deep / 13–26 mm deep: {r_nac:.3} without AC, {r_ac:.3} with AC",
        trunk.len()
    );
    assert!(r_ac > 1.3 * r_nac);

    // Outputs: DICOM in the CT's study and frame of reference, NIfTI, summary; never overwritten.
    let out = std::env::temp_dir().join(format!("tomors-spectct-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let files = ac.write(&out).unwrap();
    assert_eq!(files.dicom.len(), 128);
    let back = read_nm_volume(
        &out.join("dicom"),
        &SeriesSelect::Largest,
        &ReadLimits::default(),
    )
    .unwrap();
    assert_eq!(
        back.frame_of_reference_uid,
        ac.ct.volume.frame_of_reference_uid
    );
    assert_eq!(back.study_uid, ac.ct.volume.study_uid);
    assert_eq!(back.units.as_deref(), Some("CPS"));
    assert_eq!(back.grid.shape, ac.grid.shape);
    assert!((0..3).all(|k| (back.grid.origin[k] - ac.grid.origin[k]).abs() < 1e-3));
    let max = ac.image.iter().copied().fold(0.0f32, f32::max);
    assert!(
        back.data
            .iter()
            .zip(&ac.image)
            .all(|(a, b)| (a - b).abs() <= max / 30000.0)
    );
    let png = std::fs::metadata(&files.summary_png).unwrap();
    assert!(png.len() > 10_000);
    assert!(files.mu_map_nifti.is_some() && files.nifti.exists());
    assert!(ac.write(&out).is_err(), "a second write must be refused");
    std::fs::remove_dir_all(&out).unwrap();
}

/// The physical check behind "no centre-dip": a uniform activity filling the real patient's
/// body (from the CT), projected through the real acquisition's geometry, μ-map (208 keV) and
/// MEGP response, comes back flat from depth to surface with attenuation correction, and
/// dips without it.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn uniform_activity_in_the_real_body_is_flat_with_attenuation_correction() {
    let (nm, _, ct, _) = real_study();
    let v = &ct.volume;
    let mu_ct = HuToMu::at_energy(208.0, ct.kvp.unwrap())
        .unwrap()
        .apply(v.data.view())
        .unwrap();
    let mu = resample(
        mu_ct.view(),
        &v.grid,
        &nm.grid,
        0.0,
        Resampling::Average,
        tomors::Backend::Cpu,
    )
    .unwrap();
    let body = body_on(&ct, &nm.grid);
    let d = depth(body.view());
    let trunk = trunk_slices(d.view(), &nm.grid, &ct);
    let mut truth = Array3::<f32>::zeros(body.raw_dim());
    for &z in &trunk {
        truth
            .index_axis_mut(Axis(0), z)
            .zip_mut_with(&body.index_axis(Axis(0), z), |t, &b| *t = b as u8 as f32);
    }
    let geometry = nm
        .spect_geometry(Some(nm.collimator_at(208.0).unwrap()))
        .unwrap();
    let ac = SpectProjector::new(
        geometry.clone(),
        nm.image_grid().unwrap(),
        Some(mu.view()),
        Backend::Cpu,
    )
    .unwrap();
    let nac = SpectProjector::new(geometry, nm.image_grid().unwrap(), None, Backend::Cpu).unwrap();
    let data = ac.forward(truth.view().into_dyn()).unwrap();
    let osem = Osem::new(4, 8);
    let with = osem
        .run(&ac, data.view())
        .unwrap()
        .into_dimensionality()
        .unwrap();
    let without = osem
        .run(&nac, data.view())
        .unwrap()
        .into_dimensionality()
        .unwrap();
    // Slices away from the ends of the filled trunk (no axial spill-out), rings from the 4th
    // (13–18 mm deep) inward: the outer three rings hold the edge's blur (system resolution
    // ≈ 3 voxels at this radius), which is resolution, not attenuation.
    let inner = &trunk[4..trunk.len() - 4];
    let profile = |img: ArrayView3<f32>| ring_profile(img, d.view(), 4..16, inner);
    let (p_with, p_without) = (profile(with.view()), profile(without.view()));
    println!(
        "uniform body (truth 1), {} slices, mean per ring from 13–18 mm to 62–66 mm deep:",
        inner.len()
    );
    println!("  with AC:    {}", show(&p_with));
    println!("  without AC: {}", show(&p_without));
    let worst = p_with.iter().map(|v| (v - 1.0).abs()).fold(0.0, f64::max);
    let dip = p_without[p_without.len() - 1] / p_without[0];
    println!(
        "  with AC within {:.1} % of the truth; without AC the deepest ring is {:.0} % below the outer one",
        100.0 * worst,
        100.0 * (1.0 - dip)
    );
    assert!(worst < 0.06, "AC profile not flat: {p_with:?}");
    assert!(dip < 0.75, "NAC profile shows no centre-dip: {p_without:?}");
}

/// `nm` with its bins summed 2 × 2 (and its grid halved to match): a quarter of the work, for
/// running the full pipeline on software Vulkan.
fn binned(mut nm: NmProjections) -> NmProjections {
    for c in nm.counts.iter_mut() {
        let (v, r, k) = c.dim();
        *c = Array3::from_shape_fn((v, r / 2, k / 2), |(i, y, x)| {
            c[[i, 2 * y, 2 * x]]
                + c[[i, 2 * y + 1, 2 * x]]
                + c[[i, 2 * y, 2 * x + 1]]
                + c[[i, 2 * y + 1, 2 * x + 1]]
        });
    }
    nm.pixel_spacing = nm.pixel_spacing.map(|s| 2.0 * s);
    let g = &nm.grid;
    let origin = g.position([0.5, 0.5, 0.5]);
    nm.grid = PatientGrid::new(
        g.shape.map(|n| n / 2),
        g.spacing.map(|s| 2.0 * s),
        origin,
        g.axes,
    )
    .unwrap();
    nm
}

#[test]
#[ignore = "real data and GPU: needs ../shared/data and a wgpu adapter; run with --include-ignored"]
fn gpu_and_cpu_pipelines_agree_on_the_real_study() {
    let (nm, nm_path, ct, _) = real_study();
    let nm = binned(nm);
    let mut images = Vec::new();
    for backend in [Backend::Cpu, Backend::Gpu] {
        let mut options = SpectCtOptions::new(208.0);
        options.backend = backend;
        options.iterations = 2;
        let r = spect_ct_from(nm.clone(), &nm_path, ct.clone(), &options, None).unwrap();
        println!(
            "{}: {:.2} s reconstructing (64³, 60 views, OSEM 2 × 8, AC + TEW + MEGP)",
            r.backend, r.reconstruction_seconds
        );
        images.push((r.image, r.mu_map.unwrap()));
    }
    let rel = relative_l2(images[1].0.view(), images[0].0.view());
    let mu = relative_l2(images[1].1.view(), images[0].1.view());
    println!(
        "GPU against CPU: image relative L2 {rel:.2e}; μ-map (CT averaged on each backend) {mu:.2e}"
    );
    assert!(rel < 1e-4 && mu < 1e-5);
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn bad_pairs_and_settings_are_refused_with_reasons() {
    let (nm, nm_path, ct, _) = real_study();
    let options = SpectCtOptions::new(208.0);
    let fails = |nm: NmProjections, ct: CtSeries, o: &SpectCtOptions, expect: &str| {
        let e = spect_ct_from(nm, &nm_path, ct, o, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(expect), "expected {expect:?} in: {e}");
        println!("refused: {e}");
    };
    // Another frame of reference, another study, or no UIDs to tell.
    let mut other = ct.clone();
    other.volume.frame_of_reference_uid = Some("1.2.3.4".into());
    fails(
        nm.clone(),
        other.clone(),
        &options,
        "different frame of reference UIDs",
    );
    other.volume.study_uid = Some("1.2.3.5".into());
    fails(nm.clone(), other, &options, "different study UIDs");
    let mut unknown = ct.clone();
    unknown.volume.frame_of_reference_uid = None;
    fails(nm.clone(), unknown, &options, "no frame of reference UID");
    // A photopeak no window holds.
    fails(
        nm.clone(),
        ct.clone(),
        &SpectCtOptions::new(364.0),
        "no energy window holds 364 keV",
    );
    // No scatter window below the photopeak: TEW and DEW refuse; "none" is the way out.
    let mut lonely = nm.clone();
    lonely.windows.remove(3);
    lonely.counts.remove(3);
    fails(
        lonely.clone(),
        ct.clone(),
        &options,
        "no scatter window lies just below",
    );
    let dew = SpectCtOptions {
        scatter: ScatterCorrection::DualEnergyWindow { k: 0.5 },
        ..options.clone()
    };
    fails(
        lonely,
        ct.clone(),
        &dew,
        "no scatter window lies just below",
    );
    // A CT that stops short of the body, when a full one is required.
    let strict = SpectCtOptions {
        require_full_ct: true,
        ..options.clone()
    };
    fails(
        nm.clone(),
        ct.clone(),
        &strict,
        "its last slice (196) cuts through",
    );
    // No kVp, unknown collimator, uneven views, a bad calibration.
    let mut no_kvp = ct.clone();
    no_kvp.kvp = None;
    fails(nm.clone(), no_kvp, &options, "no kVp");
    let mut odd = nm.clone();
    odd.collimator = Some("PINHOLE".into());
    fails(odd, ct.clone(), &options, "no model for");
    let mut uneven = nm.clone();
    uneven.frame_durations[3] = 12.0;
    fails(uneven, ct.clone(), &options, "one positive duration");
    for calibration in [-3.0, 0.0, f64::NAN, f64::INFINITY] {
        let bad_cal = SpectCtOptions {
            calibration_cps_per_mbq: Some(calibration),
            iterations: 1,
            ..options.clone()
        };
        fails(nm.clone(), ct.clone(), &bad_cal, "calibration factor");
    }
}

/// A CT whose coordinates are off, placed by the motion that undoes it, gives the μ-map of
/// the CT as acquired (the same patient positions are sampled).
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn a_given_ct_motion_places_a_moved_ct() {
    let (nm, nm_path, ct, _) = real_study();
    let nm = binned(nm);
    let truth = Rigid {
        angles: [0.0, 2f64.to_radians(), 3f64.to_radians()],
        translation: [8.0, -6.0, 5.0],
        centre: nm.grid.centre(),
    };
    let mut options = SpectCtOptions::new(208.0);
    options.backend = Backend::Cpu;
    options.iterations = 1;
    let plain = spect_ct_from(nm.clone(), &nm_path, ct.clone(), &options, None).unwrap();
    let mut moved = ct.clone();
    moved.volume.grid = truth.move_grid(&ct.volume.grid);
    options.ct_motion = Some(truth);
    let placed = spect_ct_from(nm, &nm_path, moved, &options, None).unwrap();
    let (a, b) = (placed.mu_map.unwrap(), plain.mu_map.unwrap());
    let rel = relative_l2(a.view(), b.view());
    println!("μ-map of the moved-and-placed CT against the CT as acquired: relative L2 {rel:.1e}");
    assert!(rel < 1e-5);
    assert!(relative_l2(placed.image.view(), plain.image.view()) < 1e-5);
    // The result is placed in the CT's (moved) frame: where the motion takes the emission grid.
    let want = truth.move_grid(&plain.grid);
    assert!((0..3).all(|k| (placed.grid.origin[k] - want.origin[k]).abs() < 1e-9));
}

/// Registration of the CT to the emission data itself (the hardware registration is not
/// assumed): the same placement is found for the CT as acquired and for the CT first moved by a
/// known 10 mm / 5° motion, and the pipeline places the CT by it.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn the_ct_registers_to_the_emission_data_wherever_it_starts() {
    let (nm, nm_path, ct, _) = real_study();
    let peak = nm.window_at(208.0).unwrap();
    let collimator = nm.collimator_at(208.0).unwrap();
    let truth = Rigid {
        angles: [3f64.to_radians(), 0.0, 4f64.to_radians()],
        translation: [6.0, -8.0, 0.0],
        centre: nm.grid.centre(),
    };
    let mut moved = ct.clone();
    moved.volume.grid = truth.move_grid(&ct.volume.grid);
    // Errors are measured at the corners of the body's bounding box on the emission grid.
    let corners = body_box_corners(&body_on(&ct, &nm.grid), &nm.grid);
    let t = Instant::now();
    let as_acquired =
        register_ct_to_emission(&nm, peak, collimator, &ct, None, Backend::Cpu).unwrap();
    let seconds = t.elapsed().as_secs_f64();
    let found = register_ct_to_emission(&nm, peak, collimator, &moved, None, Backend::Cpu).unwrap();
    let t0 = as_acquired.transform;
    let identity = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let (hardware_mm, hardware_rad) = disagreement(&corners, |p| p, identity, &t0);
    // Moved by `truth`, the CT's voxel once at t0(p) is now at truth(t0(p)).
    let expected = |p| truth.apply(t0.apply(p));
    let (mm, rad) = disagreement(&corners, expected, compose(&truth, &t0), &found.transform);
    println!(
        "CT to emission: {seconds:.1} s on the cpu, NMI {:.4} → {:.4}; the CT as acquired is \
         placed {hardware_mm:.2} mm / {:.2}° from the scanners' coordinates (at the body's \
         corners); moved by 10 mm / 5° first, it comes back to within {mm:.2} mm / {:.2}° of \
         that placement",
        as_acquired.nmi_start,
        as_acquired.nmi,
        hardware_rad.to_degrees(),
        rad.to_degrees()
    );
    // The hardware registration of this study is good to a few mm; the registration agrees
    // with itself to within about an emission voxel (4.4 mm) and 1°: its cost has near-equal
    // maxima about 3 mm apart (BENCHMARKS.md), so the moved CT may land on the other one
    // (0.80 mm with the collimator model before septal penetration, 4.51 mm with it).
    assert!(hardware_mm < 10.0 && hardware_rad.to_degrees() < 1.0);
    assert!(
        mm < 1.5 * 4.4 && rad.to_degrees() < 1.0,
        "{:?}",
        found.transform
    );

    // Accuracy against a known truth: the lower scatter window replaced by noise-free data of
    // uniform activity in the CT's body as it lies (attenuated at 177 keV, MEGP response), so
    // the right placement is the scanners' own.
    let v = &ct.volume;
    let mu = HuToMu::at_energy(177.0, ct.kvp.unwrap())
        .unwrap()
        .apply(v.data.view())
        .unwrap();
    let mu = resample(
        mu.view(),
        &v.grid,
        &nm.grid,
        0.0,
        Resampling::Average,
        Backend::Cpu,
    )
    .unwrap();
    let activity = body_on(&ct, &nm.grid).mapv(|b| 100.0 * b as u8 as f32);
    let projector = SpectProjector::new(
        nm.spect_geometry(Some(collimator)).unwrap(),
        nm.image_grid().unwrap(),
        Some(mu.view()),
        Backend::Cpu,
    )
    .unwrap();
    let mut synthetic = nm.clone();
    let below = nm.window_at(177.0).unwrap();
    synthetic.counts[below] = projector
        .forward(activity.view().into_dyn())
        .unwrap()
        .into_dimensionality()
        .unwrap();
    let r = register_ct_to_emission(&synthetic, peak, collimator, &ct, None, Backend::Cpu).unwrap();
    let (bias_mm, bias_rad) = disagreement(&corners, |p| p, identity, &r.transform);
    println!(
        "on noise-free uniform-body data made from this CT, registration is {bias_mm:.2} mm / \
         {:.2}° from the truth",
        bias_rad.to_degrees()
    );
    // The cost has near-equal maxima here, 3 mm (along y) and 0.4° apart, and the last bits of
    // the data decide which is found: within two emission voxels (8.8 mm) and 1° at the
    // body's extremes.
    assert!(
        bias_mm < 8.8 && bias_rad.to_degrees() < 1.0,
        "{:?}",
        r.transform
    );

    // The pipeline registers when asked, and places the CT by the result.
    let mut options = SpectCtOptions::new(208.0);
    options.backend = Backend::Cpu;
    options.iterations = 1;
    options.register = true;
    let r = spect_ct_from(nm.clone(), &nm_path, moved, &options, None).unwrap();
    let registration = r.registration.as_ref().unwrap();
    assert_eq!(registration.transform, found.transform);
    assert_eq!(r.grid, found.transform.move_grid(&nm.grid));
    assert!(
        r.settings()
            .iter()
            .any(|l| l.starts_with("CT registered to emission"))
    );

    // A CT too short for the search's margin is refused before any work.
    let mut short = ct.clone();
    short.volume.data = ct.volume.data.slice(ndarray::s![..40, .., ..]).to_owned();
    short.volume.grid.shape[0] = 40;
    let e = register_ct_to_emission(&nm, peak, collimator, &short, None, Backend::Cpu).unwrap_err();
    let wrong = register_ct_to_emission(&nm, 6, collimator, &ct, None, Backend::Cpu).unwrap_err();
    assert!(wrong.to_string().contains("6 energy windows"), "{wrong}");
    assert!(
        e.to_string().contains("registration needs at least 16"),
        "{e}"
    );
}

/// The eight corners (patient mm) of the bounding box of `mask` on `grid`.
fn body_box_corners(mask: &Array3<bool>, grid: &PatientGrid) -> Vec<[f64; 3]> {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0; 3];
    for ((z, y, x), _) in mask.indexed_iter().filter(|(_, b)| **b) {
        for (k, i) in [z, y, x].into_iter().enumerate() {
            lo[k] = lo[k].min(i);
            hi[k] = hi[k].max(i);
        }
    }
    (0..8)
        .map(|c| {
            let pick = |k: usize| if c >> k & 1 == 1 { hi[k] } else { lo[k] } as f64;
            grid.position([pick(0), pick(1), pick(2)])
        })
        .collect()
}

/// The rotation matrices' product `a · b` of two motions (rows).
fn compose(a: &Rigid, b: &Rigid) -> [[f64; 3]; 3] {
    let (ra, rb) = (a.matrix(), b.matrix());
    [0, 1, 2].map(|i| [0, 1, 2].map(|j| (0..3).map(|k| ra[i][k] * rb[k][j]).sum()))
}

/// The largest distance between `want(p)` and `got.apply(p)` over `points`, and the angle
/// between `got`'s rotation and `want_rotation`.
fn disagreement(
    points: &[[f64; 3]],
    want: impl Fn([f64; 3]) -> [f64; 3],
    want_rotation: [[f64; 3]; 3],
    got: &Rigid,
) -> (f64, f64) {
    let mm = points
        .iter()
        .map(|&p| {
            let (a, b) = (want(p), got.apply(p));
            (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt()
        })
        .fold(0.0, f64::max);
    let (r, w) = (got.matrix(), want_rotation);
    let trace: f64 = (0..3)
        .map(|i| (0..3).map(|k| r[i][k] * w[i][k]).sum::<f64>())
        .sum();
    (mm, ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos())
}

/// Units, checked against data made without tomors' projector: a Gaussian source (σ 10 mm) at
/// the centre of rotation, counting 50 counts/s into every view (25 s each; its projection is
/// the same Gaussian in every view), reconstructs to a total of 50 counts/s, and with a
/// calibration of 10 counts/s per MBq to 5 MBq.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn a_gaussian_source_comes_back_in_counts_per_second_and_becquerels() {
    let (mut nm, nm_path, ct, _) = real_study();
    let (rate, seconds) = (50.0f32, 25.0f32);
    // The centre of rotation projects onto the middle of the 128 × 128 camera (between bins
    // 63 and 64 on both axes).
    nm.frame_durations
        .iter_mut()
        .for_each(|t| *t = seconds as f64);
    nm.col_offset = 0.0;
    let (views, rows, cols) = nm.counts[1].dim();
    let [dz, du] = nm.pixel_spacing;
    let gauss = |i: usize, n: usize, d: f64| {
        (-((i as f64 - (n as f64 - 1.0) / 2.0) * d).powi(2) / 200.0).exp()
    };
    let frame = ndarray::Array2::from_shape_fn((rows, cols), |(r, c)| {
        gauss(r, rows, dz) * gauss(c, cols, du)
    });
    let frame = &frame / frame.sum();
    let mut blob = Array3::<f32>::zeros((views, rows, cols));
    for mut v in blob.outer_iter_mut() {
        v.assign(&frame.mapv(|f| (f * (rate * seconds) as f64) as f32));
    }
    nm.counts[1] = blob;
    let mut options = SpectCtOptions::new(208.0);
    options.backend = Backend::Cpu;
    options.attenuation = false;
    options.scatter = ScatterCorrection::None;
    options.iterations = 2;
    let r = spect_ct_from(nm.clone(), &nm_path, ct.clone(), &options, None).unwrap();
    let total: f64 = r.image.iter().map(|&v| v as f64).sum();
    options.calibration_cps_per_mbq = Some(10.0);
    let bq = spect_ct_from(nm.clone(), &nm_path, ct.clone(), &options, None).unwrap();
    let voxel_ml = bq.grid.spacing.iter().product::<f64>() / 1000.0;
    let mbq: f64 = bq.image.iter().map(|&v| v as f64 * voxel_ml / 1e6).sum();
    println!(
        "Gaussian source of {rate} counts/s: {total:.3} counts/s ({}), {mbq:.4} MBq ({})",
        r.units, bq.units
    );
    assert_eq!((r.units, bq.units), ("CPS", "BQML"));
    assert!((total / rate as f64 - 1.0).abs() < 0.01);
    assert!((mbq / 5.0 - 1.0).abs() < 0.01);
    // This anonymised header gives no half-life: no decay correction, and the settings say so.
    assert_eq!(r.decay_factor, 1.0);
    assert!(r.settings().iter().any(|l| l.contains("no half-life")));

    // Decay, with a Tc-99m half-life (6.0067 h) and an injection 2 h before the 60 × 25 s
    // acquisition: λT / (1 − e^(−λT)) = 1.0242 to its start, × e^(λ · 7200 s) = 1.2596 more to
    // the injection.
    let mut nm = nm;
    nm.half_life_s = Some(6.0067 * 3600.0);
    nm.injection_to_start_s = Some(7200.0);
    let lambda = std::f64::consts::LN_2 / (6.0067 * 3600.0);
    let during = lambda * 1500.0 / (1.0 - (-lambda * 1500.0).exp());
    let sum = |r: &tomors::pipeline::SpectCt| r.image.iter().map(|&v| v as f64).sum::<f64>();
    options.calibration_cps_per_mbq = None;
    let start = spect_ct_from(nm.clone(), &nm_path, ct.clone(), &options, None).unwrap();
    options.decay_correction = DecayCorrection::Injection;
    let injection = spect_ct_from(nm.clone(), &nm_path, ct.clone(), &options, None).unwrap();
    println!(
        "decay to the acquisition's start x{:.5}, to the injection x{:.5}",
        sum(&start) / total,
        sum(&injection) / total
    );
    assert!((sum(&start) / total / during - 1.0).abs() < 1e-5);
    assert!((sum(&injection) / total / (during * (lambda * 7200.0).exp()) - 1.0).abs() < 1e-5);
    assert!(
        injection
            .settings()
            .iter()
            .any(|l| l.starts_with("decay-corrected to injection"))
    );
    // Asked for the injection without the times: a clear error.
    nm.injection_to_start_s = None;
    let e = spect_ct_from(nm, &nm_path, ct, &options, None).unwrap_err();
    assert!(
        e.to_string().contains("injection and acquisition times"),
        "{e}"
    );
}

/// PET-CT twin: a uniform activity filling the real patient's chest (8 planes of 4 mm at
/// z = 100 mm), projected through 511 keV attenuation from the real CT, comes back flat with the
/// CT's attenuation factors in the model, and dips without them.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn pet_ct_corrects_attenuation_from_the_real_ct() {
    let (_, _, ct, _) = real_study();
    let c = ct.volume.grid.centre();
    let (n, planes, d) = (96usize, 8usize, 4.0);
    let origin = [
        c[0] - (n as f64 - 1.0) / 2.0 * d,
        c[1] - (n as f64 - 1.0) / 2.0 * d,
        100.0 - (planes as f64 - 1.0) / 2.0 * d,
    ];
    let grid = PatientGrid::axis_aligned([planes, n, n], [d; 3], origin).unwrap();
    let views: Vec<f64> = (0..120)
        .map(|i| i as f64 * std::f64::consts::PI / 120.0)
        .collect();
    let columns = tomors::DetectorColumns {
        n_cols: 137,
        spacing: d,
        offset: 0.0,
    };
    let geometry = tomors::ParallelBeam::with_detector(views, columns, planes, d).unwrap();
    let truth = body_on(&ct, &grid).mapv(|b| b as u8 as f32);
    let mu = HuToMu::at_energy(511.0, ct.kvp.unwrap()).unwrap();
    let mu_map = resample(
        mu.apply(ct.volume.data.view()).unwrap().view(),
        &ct.volume.grid,
        &grid,
        0.0,
        Resampling::Average,
        Backend::Cpu,
    )
    .unwrap();
    let image_grid = grid.image_grid().unwrap();
    let attenuated = tomors::PetProjector::new(
        geometry.clone(),
        image_grid.clone(),
        Some(mu_map.view().into_dyn()),
        None,
        Backend::Cpu,
    )
    .unwrap();
    let prompts = attenuated.forward(truth.view().into_dyn()).unwrap();
    let options = tomors::pipeline::PetCtOptions {
        backend: Backend::Cpu,
        iterations: 6,
        ..Default::default()
    };
    let r =
        tomors::pipeline::pet_ct(prompts.view(), geometry.clone(), &grid, &ct, &options).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(relative_l2(r.mu_map.view(), mu_map.view()) < 1e-6);
    let plain = tomors::PetProjector::new(geometry, image_grid, None, None, Backend::Cpu).unwrap();
    let nac: Array3<f32> = Osem::new(6, 12)
        .run(&plain, prompts.view())
        .unwrap()
        .into_dimensionality()
        .unwrap();
    let d = depth(truth.mapv(|v| v > 0.5).view());
    let planes_inside: Vec<usize> = (2..planes - 2).collect();
    let profile = |img: ArrayView3<f32>| ring_profile(img, d.view(), 4..12, &planes_inside);
    let (with, without) = (profile(r.image.view()), profile(nac.view()));
    println!(
        "PET-CT, uniform chest (truth 1), rings 12–16 mm to 40–44 mm deep: with AC {}; without {} ({:.2} s on {})",
        show(&with),
        show(&without),
        r.reconstruction_seconds,
        r.backend
    );
    assert!(with.iter().all(|v| (v - 1.0).abs() < 0.05), "{with:?}");
    assert!(without[without.len() - 1] < 0.8 * without[0], "{without:?}");
}

/// A reconstructed PET series over its CT: a PT series made from the real CT's body (5 kBq/mL,
/// a 40 mm sphere at 40 kBq/mL), written as DICOM in the CT's study and frame of reference,
/// is placed where it was written, converted to SUVbw, registered back when the CT is moved,
/// and summarised on one page.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn a_pet_series_is_placed_over_its_ct_in_suv_and_summarised() {
    use tomors::io::dicom::{Reference, SeriesWriter, WriteModality};
    use tomors::pipeline::{FusePetCtOptions, fuse_pet_ct, fuse_pet_ct_from};
    let (_, _, ct, ct_dir) = real_study();
    let v = &ct.volume;
    let shape = [100, 128, 128];
    let spacing = [4.0; 3];
    let c = v.grid.centre();
    let origin = [0, 1, 2].map(|k| c[k] - (shape[2 - k] - 1) as f64 * spacing[2 - k] / 2.0);
    let pet_grid = PatientGrid::axis_aligned(shape, spacing, origin).unwrap();
    let mut activity = body_on(&ct, &pet_grid).mapv(|b| 5000.0 * b as u8 as f32);
    let hot = [c[0] + 40.0, c[1], c[2] + 60.0];
    for ((z, y, x), a) in activity.indexed_iter_mut() {
        let p = pet_grid.position([z as f64, y as f64, x as f64]);
        if (0..3).map(|k| (p[k] - hot[k]).powi(2)).sum::<f64>() < 20.0f64.powi(2) {
            *a = 40_000.0;
        }
    }
    let dir = std::env::temp_dir().join(format!("tomors-petct-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SeriesWriter::new(WriteModality::Pt, "BQML")
        .with_reference(Reference::from_file(&v.files[0]).unwrap())
        .write(activity.view(), &pet_grid, &dir.join("PET"))
        .unwrap();

    // From the files: no dose or weight in these headers, so no SUV, and a warning says why.
    let options = FusePetCtOptions {
        backend: Backend::Cpu,
        ..FusePetCtOptions::default()
    };
    let fused = fuse_pet_ct(&dir.join("PET"), &ct_dir, &options).unwrap();
    assert_eq!(fused.units, "BQML");
    assert!(fused.warnings[0].contains("no SUV"), "{:?}", fused.warnings);
    assert!((0..3).all(|k| (fused.grid.origin[k] - origin[k]).abs() < 1e-3));
    let worst = (&fused.image - &activity)
        .iter()
        .map(|d| d.abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 40_000.0 / 30_000.0, "{worst}");

    // With what SUV needs: 350 MBq given (ADMIN), 70 kg: body 1 g/mL, the sphere 8.
    let mut pet = fused.pet.clone();
    pet.suv.injected_activity_bq = Some(350e6);
    pet.suv.patient_weight_kg = Some(70.0);
    pet.suv.decay_correction = Some("ADMIN".into());
    let suv = fuse_pet_ct_from(pet.clone(), ct.clone(), &options).unwrap();
    assert_eq!(suv.units, "SUVbw");
    assert!(suv.warnings.is_empty());
    let at = |p: [f64; 3]| {
        let i = pet_grid.index_of(p).map(|x| x.round() as usize);
        suv.image[[i[0], i[1], i[2]]]
    };
    assert!((at(hot) - 8.0).abs() < 0.01 && (at(c) - 1.0).abs() < 0.01);

    // The CT moved by 10 mm / 5°: registration to the PET brings it back.
    let truth = Rigid {
        angles: [3f64.to_radians(), 0.0, 4f64.to_radians()],
        translation: [6.0, -8.0, 0.0],
        centre: pet_grid.centre(),
    };
    let mut moved = ct.clone();
    moved.volume.grid = truth.move_grid(&v.grid);
    let registered = fuse_pet_ct_from(
        pet.clone(),
        moved,
        &FusePetCtOptions {
            register: true,
            ..options.clone()
        },
    )
    .unwrap();
    let r = registered.registration.as_ref().unwrap();
    let corners = body_box_corners(&body_on(&ct, &pet_grid), &pet_grid);
    let (mm, rad) = disagreement(&corners, |p| truth.apply(p), truth.matrix(), &r.transform);
    println!(
        "PET over CT: the CT moved by 10 mm / 5° is registered back to within {mm:.2} mm / \
         {:.2}° at the body's corners (NMI {:.4} → {:.4})",
        rad.to_degrees(),
        r.nmi_start,
        r.nmi
    );
    assert!(mm < 4.0 && rad.to_degrees() < 0.5, "{:?}", r.transform);
    assert!(
        registered
            .settings()
            .iter()
            .any(|l| l.starts_with("CT registered to PET"))
    );

    // Written: NIfTI and the summary page; nothing is overwritten.
    let files = suv.write(&dir.join("out")).unwrap();
    let png = std::fs::metadata(&files.summary_png).unwrap().len();
    assert!(files.nifti.exists() && png > 10_000);
    let e = suv.write(&dir.join("out")).unwrap_err();
    assert!(e.to_string().contains("exists already"), "{e}");

    // An image not of its grid's shape is a typed error, not a panic.
    let e = tomors::pipeline::register_ct_to_image(
        activity.slice(ndarray::s![..50, .., ..]),
        &pet_grid,
        &ct,
        None,
        Backend::Cpu,
    )
    .unwrap_err();
    assert!(matches!(e, tomors::Error::ShapeMismatch { .. }), "{e}");

    // A CT of another frame of reference is refused.
    let mut other = ct.clone();
    other.volume.frame_of_reference_uid = Some("1.2.3".into());
    let e = fuse_pet_ct_from(pet, other, &options).unwrap_err();
    assert!(
        e.to_string().contains("different frame of reference UIDs"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Both beds of the real study (OSEM 4 × 8, TEW, attenuation from the whole CT, MEGP at
/// 208 keV) in one volume over the CT, reconstructed jointly (one OSEM from both beds' data)
/// and each on its own and stitched. Stitched, the lower bed's measured slices below the
/// overlap come through unchanged. Where the beds' measured fields overlap neither volume has
/// a step, measured on the profile of each slice's activity inside the CT's body: at every
/// slice of the junction the profile changes from slice to slice as that of the bed going on
/// there does, within 0.15 (printed, with the step a hard cut would make and the departure of
/// the beds' plain mean). Away from the
/// overlap the joint and stitched volumes agree (slice totals and voxels, printed).
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn both_beds_make_one_volume_without_a_step_jointly_or_stitched() {
    use tomors::pipeline::{MultiBed, spect_ct_beds};
    let dir = common::shared_data("spect_ct_lu177_two_beds");
    let nm: Vec<std::path::PathBuf> = ["bed1_projections.dcm", "bed2_projections.dcm"]
        .iter()
        .map(|f| dir.join("NM").join(f))
        .collect();
    let mut options = SpectCtOptions::new(208.0);
    options.backend = Backend::Cpu;
    let t = Instant::now();
    let joint = spect_ct_beds(&nm, &dir.join("CT"), &options, MultiBed::Joint, None).unwrap();
    println!(
        "two beds reconstructed jointly in {:.1} s (OSEM {:.1} s)",
        t.elapsed().as_secs_f64(),
        joint.beds[0].reconstruction_seconds
    );
    let t = Instant::now();
    let whole = spect_ct_beds(&nm, &dir.join("CT"), &options, MultiBed::Stitched, None).unwrap();
    println!(
        "two beds reconstructed and stitched in {:.1} s (OSEM {:.1} + {:.1} s)",
        t.elapsed().as_secs_f64(),
        whole.beds[0].reconstruction_seconds,
        whole.beds[1].reconstruction_seconds
    );
    let [nz, ny, nx] = whole.volume.grid.shape;
    assert_eq!((ny, nx), (128, 128));
    // The upper bed's 128 slices of 4.42 mm start 80.1 slices above the lower bed's: the union
    // has 209 on the lower bed's lattice, the last reaching the upper bed's last 0.1 slice; the
    // beds overlap by about 48 slices (207 mm).
    assert_eq!(nz, 209, "{:?}", whole.volume.grid);
    assert_eq!(joint.volume.grid, whole.volume.grid);
    for v in [&joint.volume, &whole.volume] {
        assert!(v.image.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
    let (lower, upper) = (&whole.beds[0], &whole.beds[1]);
    assert!(lower.grid.origin[2] < upper.grid.origin[2]);
    let overlap_start =
        ((upper.grid.origin[2] - whole.volume.grid.origin[2]) / 4.4196).ceil() as usize;
    let overlap_end = 127; // the lower bed's last slice
    // Every voxel some bed's measured rows reach (weight > 0) and only the lower bed covers
    // is the lower bed's; voxels no bed's camera measured, at the ends of the matrix, are 0.
    let st = &whole.volume;
    let mut worst = 0.0f64;
    for z in 0..overlap_start - 1 {
        for ((&x, &w), &y) in st
            .image
            .index_axis(Axis(0), z)
            .iter()
            .zip(st.weight.index_axis(Axis(0), z))
            .zip(lower.image.index_axis(Axis(0), z))
        {
            if w > 0.0 {
                worst = worst.max((x - y).abs() as f64 / (y.abs() as f64).max(1e-30));
            } else {
                assert_eq!(x, 0.0);
            }
        }
    }
    assert!(worst < 1e-5, "the lower bed alone: {worst:e}");
    assert!(st.weight.index_axis(Axis(0), 0).iter().all(|w| *w == 0.0));
    // Activity per union slice inside the body: stitched, joint, and each bed on its own (the
    // upper bed's nearest slice: it lies 0.1 slice off the union's).
    let body = body_on(&upper.ct, &whole.volume.grid);
    let in_body = |img: ndarray::ArrayView2<'_, f32>, z: usize| -> f64 {
        img.iter()
            .zip(body.index_axis(Axis(0), z))
            .filter(|(_, b)| **b)
            .map(|(v, _)| *v as f64)
            .sum()
    };
    let shift = (upper.grid.origin[2] - whole.volume.grid.origin[2]) / 4.4196;
    let stitched = |z: usize| in_body(whole.volume.image.index_axis(Axis(0), z), z);
    let jointly = |z: usize| in_body(joint.volume.image.index_axis(Axis(0), z), z);
    let low = |z: usize| in_body(lower.image.index_axis(Axis(0), z), z);
    let up = |z: usize| {
        let k = (z as f64 - shift).round() as usize;
        if k < upper.grid.shape[0] {
            in_body(upper.image.index_axis(Axis(0), k), z)
        } else {
            0.0
        }
    };
    let change = |p: &dyn Fn(usize) -> f64, z: usize| {
        let (a, b) = (p(z - 1), p(z));
        (b - a) / (0.5 * (a + b))
    };
    // The beds' measured overlap: where both images hold a quarter of their median slice.
    let median = |p: &dyn Fn(usize) -> f64, zs: std::ops::RangeInclusive<usize>| {
        let mut v: Vec<f64> = zs.map(p).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m_low, m_up) = (
        median(&low, 0..=overlap_end),
        median(&up, overlap_start..=nz - 1),
    );
    let last_low = (0..=overlap_end)
        .rev()
        .find(|&z| low(z) > 0.25 * m_low)
        .unwrap();
    let first_up = (overlap_start..nz).find(|&z| up(z) > 0.25 * m_up).unwrap();
    assert!(
        first_up + 4 < last_low,
        "measured overlap {first_up}..={last_low}"
    );
    for z in first_up - 3..=last_low + 3 {
        println!(
            "slice {z}: joint {:.1}, stitched {:.1}, lower bed {:.1}, upper bed {:.1}, change \
             {:+.3} / {:+.3} / {:+.3} / {:+.3}",
            jointly(z),
            stitched(z),
            low(z),
            up(z),
            change(&jointly, z),
            change(&stitched, z),
            change(&low, z),
            change(&up, z),
        );
    }
    // The junction: the measured overlap and 3 slices either side. At each of its slices the
    // volume's slice-to-slice change against that of the bed going on there (the lower bed up
    // to the overlap's middle, where the upper bed's data begin; the upper above it, where the
    // lower bed's end), which sees only anatomy and noise: a step shows as the difference.
    let (j0, j1) = (first_up - 3, last_low + 3);
    let mid = (first_up + last_low) / 2;
    let going_on = |z: usize| {
        if z <= mid {
            change(&low, z)
        } else {
            change(&up, z)
        }
    };
    let excess = |p: &dyn Fn(usize) -> f64| {
        (j0..=j1)
            .map(|z| (change(p, z) - going_on(z)).abs())
            .fold(0.0, f64::max)
    };
    // For scale: the step a hard cut at the overlap's middle would make, and the plain mean of
    // the two beds where both are non-zero (no taper, no measured rows).
    let cut = (up(mid) - low(mid - 1)) / (0.5 * (up(mid) + low(mid - 1)));
    let plain = |z: usize| {
        let (a, b) = (low(z), up(z));
        if a > 0.0 && b > 0.0 {
            0.5 * (a + b)
        } else {
            a.max(b)
        }
    };
    println!(
        "measured overlap slices {first_up}..={last_low}, junction {j0}..={j1}: a hard cut at \
         slice {mid} steps by {cut:.3}; the two beds' plain mean departs from the bed going on by \
         up to {:.3}",
        excess(&plain)
    );
    for (name, p) in [
        ("joint", &jointly as &dyn Fn(usize) -> f64),
        ("stitched", &stitched),
    ] {
        let e = excess(p);
        println!(
            "{name}: in the junction the profile's slice-to-slice change departs from the bed \
             going on by at most {e:.3}"
        );
        assert!(e < 0.15, "{name}: a step of {e:.3} in the junction");
    }
    // Joint against stitched away from the junction, where both have data: each slice's
    // activity in the body, and the body's voxels (correlation, total).
    // (Not within 10 slices of the measured volume's ends either: there the stitched volume
    // drops each bed's outer 25 mm and tapers, the joint one counts rows from 20 mm in.)
    let measured: Vec<usize> = (0..nz)
        .filter(|&z| stitched(z) > 0.05 * m_low.max(m_up))
        .collect();
    let (first, last) = (measured[0] + 10, measured[measured.len() - 1] - 10);
    let away: Vec<usize> = (first..=last).filter(|z| !(j0..=j1).contains(z)).collect();
    let slice_worst = away
        .iter()
        .map(|&z| (jointly(z) / stitched(z) - 1.0).abs())
        .fold(0.0, f64::max);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for &z in &away {
        for ((&x, &y), &inside) in joint
            .volume
            .image
            .index_axis(Axis(0), z)
            .iter()
            .zip(whole.volume.image.index_axis(Axis(0), z))
            .zip(body.index_axis(Axis(0), z))
        {
            if inside {
                a.push(x as f64);
                b.push(y as f64);
            }
        }
    }
    let r = common::correlation(&a, &b);
    let totals = a.iter().sum::<f64>() / b.iter().sum::<f64>();
    println!(
        "joint against stitched away from the junction ({} slices): slice totals within \
         {slice_worst:.3}, voxel correlation {r:.4}, total {totals:.4}",
        away.len()
    );
    assert!(
        r > 0.99 && (totals - 1.0).abs() < 0.02 && slice_worst < 0.1,
        "{r} {totals} {slice_worst}"
    );
    // The whole volumes, body or not, ends included: the joint one holds no counts the
    // stitched one lacks (slices only uncounted rows see are 0, not a pile of what the counted
    // rows did not explain: 24 % of the joint's counts, in voxels up to 275× the body's
    // hottest, before they were), and no voxel far hotter. (The stitched volume's outer ends
    // are 0 where no bed's rows weigh half: before, a bed's hot edge slices stood there alone,
    // 1.6× the next slices.)
    let sum = |v: &tomors::pipeline::BedsVolume| v.image.iter().map(|&x| x as f64).sum::<f64>();
    let max = |v: &tomors::pipeline::BedsVolume| v.image.iter().fold(0.0f32, |m, &x| m.max(x));
    let (whole_totals, hottest) = (
        sum(&joint.volume) / sum(&whole.volume),
        max(&joint.volume) / max(&whole.volume),
    );
    println!(
        "whole volumes, joint against stitched: total {whole_totals:.4}, hottest voxel {hottest:.3}"
    );
    assert!(
        (whole_totals - 1.0).abs() < 0.03 && hottest < 1.5,
        "{whole_totals} {hottest}"
    );

    // Beds that cannot be stitched are refused with a reason.
    let mut beds = whole.beds;
    let refused = |beds: &[tomors::pipeline::SpectCt], expect: &str| {
        let e = tomors::pipeline::stitch(beds).unwrap_err().to_string();
        assert!(e.contains(expect), "expected {expect:?} in: {e}");
        println!("refused: {e}");
    };
    refused(&[], "no beds");
    let uid = beds[1].nm.study_uid.replace("1.2.3.4".into());
    refused(&beds, "study");
    beds[1].nm.study_uid = uid;
    let collimator = std::mem::replace(
        &mut beds[1].collimator,
        tomors::Collimator::preset("lehr").unwrap(),
    );
    refused(&beds, "collimator response");
    beds[1].collimator = collimator;
    beds[1].grid.origin[2] += 400.0;
    refused(&beds, "gap");
    beds[1].grid.origin[2] -= 400.0;
    beds[1].grid.origin[0] += 5.0;
    refused(&beds, "shifted");
    beds[1].grid.origin[0] -= 5.0;
    assert!(tomors::pipeline::stitch(&beds).is_ok());
}
