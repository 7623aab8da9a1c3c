//! MLEM/OSEM through the SPECT model: likelihood ascent, convergence, attenuation correction,
//! resolution recovery, GPU↔CPU agreement and bad input.

mod common;
use common::*;
use ndarray::{Array3, ArrayD, Axis};
use std::f64::consts::PI;
use tomors::recon::{IterationReport, log_likelihood, penalised_log_likelihood};
use tomors::{Backend, Bsrem, Collimator, ImageGrid, Osem, Prior, SpectGeometry, SpectProjector};

const MU_WATER: f32 = 0.0154;

fn grid(nz: usize, n: usize, d: f64) -> ImageGrid {
    ImageGrid::new_3d([nz, n, n], [d, d, d]).unwrap()
}

/// In-plane radius (mm) of every voxel centre of `grid`, shaped like the grid.
fn radius_map(grid: &ImageGrid) -> Array3<f64> {
    let [nz, ny, nx] = grid.shape();
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    Array3::from_shape_fn((nz, ny, nx), |(_, iy, ix)| {
        (ox + ix as f64 * dx).hypot(oy + iy as f64 * dy)
    })
}

fn cylinder(grid: &ImageGrid, radius: f64, value: f32) -> Array3<f32> {
    radius_map(grid).mapv(|r| if r <= radius { value } else { 0.0 })
}

/// A cylinder of activity 1 with a hot rod (4) and a cold rod (0), in a water μ-map.
fn rods(grid: &ImageGrid) -> (Array3<f32>, Array3<f32>) {
    let [nz, ny, nx] = grid.shape();
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let activity = Array3::from_shape_fn((nz, ny, nx), |(_, iy, ix)| {
        let (x, y) = (ox + ix as f64 * dx, oy + iy as f64 * dy);
        if (x - 25.0).hypot(y) < 12.0 {
            4.0
        } else if (x + 20.0).hypot(y - 15.0) < 10.0 {
            0.0
        } else if x.hypot(y) < 55.0 {
            1.0
        } else {
            0.0
        }
    });
    (activity, cylinder(grid, 60.0, MU_WATER))
}

fn small_spect(backend: Backend) -> (SpectProjector, Array3<f32>) {
    let g = grid(6, 32, 4.0);
    let (activity, mu) = rods(&g);
    let geometry = SpectGeometry::new(angles(32, 2.0 * PI), 180.0, 32, 4.0)
        .unwrap()
        .with_collimator(Collimator::preset("lehr").unwrap());
    (
        SpectProjector::new(geometry, g, Some(mu.view()), backend).unwrap(),
        activity,
    )
}

/// MLEM never lowers the Poisson log-likelihood on noisy data (with a background term).
fn mlem_likelihood_never_decreases(backend: Backend) {
    let (p, activity) = small_spect(backend);
    let clean = p.forward(activity.view().into_dyn()).unwrap();
    let background = clean.mapv(|_| 0.5f32);
    let data = poisson(&(&clean * 2.0f32 + &background), 5);
    let mut likelihoods = Vec::new();
    let mut record = |r: &IterationReport<'_>| {
        likelihoods.push(
            log_likelihood(&p, data.view(), r.image.clone(), Some(background.view())).unwrap(),
        );
        true
    };
    let osem = Osem {
        background: Some(background.view()),
        ..Osem::mlem(12)
    };
    let image = osem.run_with(&p, data.view(), Some(&mut record)).unwrap();
    println!("{backend} log-likelihood per iteration: {likelihoods:?}");
    assert_eq!(likelihoods.len(), 12);
    for w in likelihoods.windows(2) {
        assert!(
            w[1] >= w[0] - 1e-9 * w[0].abs(),
            "likelihood fell: {} → {}",
            w[0],
            w[1]
        );
    }
    assert!(likelihoods[11] > likelihoods[0]);
    assert!(image.iter().all(|v| v.is_finite() && *v >= 0.0));
}

/// On noiseless data OSEM approaches the truth: the relative error inside the object falls
/// at every iteration.
fn osem_converges_on_noiseless_data(backend: Backend) {
    let (p, activity) = small_spect(backend);
    let data = p.forward(activity.view().into_dyn()).unwrap();
    let mask = radius_map(p.grid()).mapv(|r| r < 55.0);
    let truth: Vec<f32> = activity
        .iter()
        .zip(&mask)
        .filter(|(_, m)| **m)
        .map(|(v, _)| *v)
        .collect();
    let mut errors = Vec::new();
    let mut record = |r: &IterationReport<'_>| {
        let est: Vec<f32> = r
            .image
            .iter()
            .zip(&mask)
            .filter(|(_, m)| **m)
            .map(|(v, _)| *v)
            .collect();
        errors.push(rel_l2(&est, &truth));
        true
    };
    Osem::new(10, 8)
        .run_with(&p, data.view(), Some(&mut record))
        .unwrap();
    println!("{backend} OSEM relative error per iteration (8 subsets): {errors:.4?}");
    for w in errors.windows(2) {
        assert!(w[1] < w[0], "error rose: {} → {}", w[0], w[1]);
    }
    // The collimator blur makes the rods' edges converge slowly: 0.309 → 0.232 here.
    assert!(
        errors[9] < 0.8 * errors[0] && errors[9] < 0.25,
        "relative error after 10 iterations: {}",
        errors[9]
    );
}

/// A uniform water cylinder (20 cm, μ = 0.0154/mm) reconstructs flat with attenuation in the
/// model, and cupped without it.
fn attenuation_corrected_cylinder_is_flat(backend: Backend) {
    let g = grid(3, 64, 4.0);
    let activity = cylinder(&g, 100.0, 1.0);
    let mu = cylinder(&g, 100.0, MU_WATER);
    let geometry = SpectGeometry::new(angles(64, 2.0 * PI), 200.0, 64, 4.0).unwrap();
    let with_mu =
        SpectProjector::new(geometry.clone(), g.clone(), Some(mu.view()), backend).unwrap();
    let without = SpectProjector::new(geometry, g.clone(), None, backend).unwrap();
    let data = with_mu.forward(activity.view().into_dyn()).unwrap();
    let r = radius_map(&g);
    let ring_mean = |img: &ArrayD<f32>, lo: f64, hi: f64| -> f64 {
        let slice = img.index_axis(Axis(0), 1);
        let (sum, n) = slice
            .iter()
            .zip(r.index_axis(Axis(0), 1))
            .filter(|(_, r)| **r >= lo && **r < hi)
            .fold((0.0, 0), |(s, n), (v, _)| (s + *v as f64, n + 1));
        sum / n as f64
    };
    let profile = |img: &ArrayD<f32>| -> Vec<f64> {
        (0..8)
            .map(|i| ring_mean(img, i as f64 * 10.0, i as f64 * 10.0 + 10.0))
            .collect()
    };
    let corrected = Osem::new(8, 8).run(&with_mu, data.view()).unwrap();
    let uncorrected = Osem::new(8, 8).run(&without, data.view()).unwrap();
    let (pc, pu) = (profile(&corrected), profile(&uncorrected));
    println!("{backend} corrected radial profile (0–80 mm): {pc:.3?}");
    println!("{backend} uncorrected radial profile: {pu:.3?}");
    for v in &pc {
        assert!(
            (v / pc[7] - 1.0).abs() < 0.05,
            "corrected profile not flat: {pc:?}"
        );
    }
    assert!(
        pu[0] / pu[7] < 0.75,
        "no cupping without attenuation modelling: {pu:?}"
    );
}

/// FWHM (voxels) of the profile through the maximum of `img` along x.
fn fwhm_x(img: &ArrayD<f32>) -> (f64, [f64; 3]) {
    let img = img.view().into_dimensionality::<ndarray::Ix3>().unwrap();
    let (imax, _) = img
        .indexed_iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    let row: Vec<f32> = img.slice(ndarray::s![imax.0, imax.1, ..]).to_vec();
    let peak = row[imax.2];
    let half = peak / 2.0;
    let mut left = imax.2 as f64;
    for i in (0..imax.2).rev() {
        if row[i] < half {
            left = i as f64 + ((half - row[i]) / (row[i + 1] - row[i])) as f64;
            break;
        }
    }
    let mut right = imax.2 as f64;
    for i in imax.2 + 1..row.len() {
        if row[i] < half {
            right = i as f64 - ((half - row[i]) / (row[i - 1] - row[i])) as f64;
            break;
        }
    }
    let total: f64 = img.iter().map(|&v| v as f64).sum();
    let centroid = [0, 1, 2].map(|a| {
        img.indexed_iter()
            .map(|(i, &v)| v as f64 * [i.0, i.1, i.2][a] as f64)
            .sum::<f64>()
            / total
    });
    (right - left, centroid)
}

/// A point source reconstructed with the collimator model is sharper (closer to its true
/// size) than without it, and sits where it was.
fn resolution_modelling_sharpens_a_point(backend: Backend) {
    let g = grid(15, 40, 4.0);
    let geometry = SpectGeometry::new(angles(60, 2.0 * PI), 200.0, 40, 4.0).unwrap();
    let modelled = SpectProjector::new(
        geometry
            .clone()
            .with_collimator(Collimator::preset("legp").unwrap()),
        g.clone(),
        None,
        backend,
    )
    .unwrap();
    let ideal = SpectProjector::new(geometry, g.clone(), None, backend).unwrap();
    let mut point = Array3::<f32>::zeros((15, 40, 40));
    point[[7, 14, 26]] = 100.0;
    let data = modelled.forward(point.view().into_dyn()).unwrap();
    let with = Osem::new(20, 6).run(&modelled, data.view()).unwrap();
    let without = Osem::new(20, 6).run(&ideal, data.view()).unwrap();
    let ((fw, cw), (fo, co)) = (fwhm_x(&with), fwhm_x(&without));
    println!(
        "{backend} point FWHM: with model {fw:.2} voxels (centroid {cw:.2?}), without {fo:.2} (centroid {co:.2?})"
    );
    assert!(fw < fo * 0.8, "model does not sharpen: {fw} vs {fo}");
    for (c, t) in cw.iter().zip([7.0, 14.0, 26.0]) {
        assert!(
            (c - t).abs() < 0.25,
            "centroid {cw:?} is not at the source (7, 14, 26)"
        );
    }
}

/// Coefficient of variation (std / mean) of `img` over voxels within 40 mm of the axis.
fn noise_in_centre(img: &ArrayD<f32>, grid: &ImageGrid) -> f64 {
    let r = radius_map(grid);
    let v: Vec<f64> = img
        .iter()
        .zip(r.iter())
        .filter(|(_, r)| **r < 40.0)
        .map(|(v, _)| *v as f64)
        .collect();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt() / mean
}

/// One-step-late MAP with a quadratic or relative-difference prior lowers the noise of a
/// uniform region; β = 0 is plain OSEM exactly.
fn map_priors_reduce_noise(backend: Backend) {
    let g = grid(4, 32, 4.0);
    let mu = cylinder(&g, 60.0, MU_WATER);
    let geometry = SpectGeometry::new(angles(32, 2.0 * PI), 180.0, 32, 4.0).unwrap();
    let p = SpectProjector::new(geometry, g.clone(), Some(mu.view()), backend).unwrap();
    let truth = cylinder(&g, 55.0, 1.0);
    let data = poisson(&(p.forward(truth.view().into_dyn()).unwrap() * 2.0f32), 21);
    let plain = Osem::new(6, 8).run(&p, data.view()).unwrap();
    let zero_beta = Osem {
        prior: Some(Prior::quadratic(0.0).unwrap()),
        ..Osem::new(6, 8)
    }
    .run(&p, data.view())
    .unwrap();
    assert_eq!(plain, zero_beta);
    let quadratic = Osem {
        prior: Some(Prior::quadratic(0.05).unwrap()),
        ..Osem::new(6, 8)
    }
    .run(&p, data.view())
    .unwrap();
    let rdp = Osem {
        prior: Some(Prior::relative_difference(0.5, 2.0).unwrap()),
        ..Osem::new(6, 8)
    }
    .run(&p, data.view())
    .unwrap();
    let (n0, nq, nr) = (
        noise_in_centre(&plain, &g),
        noise_in_centre(&quadratic, &g),
        noise_in_centre(&rdp, &g),
    );
    println!(
        "{backend} noise (CoV within 40 mm): OSEM {n0:.3}, quadratic MAP {nq:.3}, RDP MAP {nr:.3}"
    );
    assert!(
        nq < 0.7 * n0 && nr < 0.7 * n0,
        "priors do not smooth: {n0} {nq} {nr}"
    );
    assert!(
        quadratic
            .iter()
            .chain(rdp.iter())
            .all(|v| v.is_finite() && *v >= 0.0)
    );
}

/// BSREM on noisy data (a background term, 4 subsets): the penalised likelihood rises at every
/// iteration once the relaxation has settled (from the 4th of 20, α ≤ 0.53), for the relative-difference
/// prior and for a quadratic prior of β = 2, which makes one-step-late MAP-EM's denominator
/// collapse; the images stay finite and ≥ 0.
fn bsrem_objective_rises_once_relaxed(backend: Backend) {
    let (p, activity) = small_spect(backend);
    let clean = p.forward(activity.view().into_dyn()).unwrap();
    let background = clean.mapv(|_| 0.5f32);
    let data = poisson(&(&clean * 2.0f32 + &background), 9);
    for prior in [
        Prior::relative_difference(20.0, 2.0).unwrap(),
        Prior::quadratic(2.0).unwrap(),
    ] {
        let mut objectives = Vec::new();
        let mut record = |r: &IterationReport<'_>| {
            assert!(r.image.iter().all(|v| v.is_finite() && *v >= 0.0));
            objectives.push(
                penalised_log_likelihood(
                    &p,
                    data.view(),
                    r.image.view(),
                    Some(background.view()),
                    &prior,
                )
                .unwrap(),
            );
            true
        };
        let bsrem = Bsrem {
            background: Some(background.view()),
            ..Bsrem::new(20, 4, prior)
        };
        bsrem.run_with(&p, data.view(), Some(&mut record)).unwrap();
        println!("{backend} BSREM {prior:?}: objective per iteration {objectives:.1?}");
        for (i, w) in objectives.windows(2).enumerate().skip(3) {
            assert!(
                w[1] >= w[0] - 1e-9 * w[0].abs(),
                "{prior:?}: objective fell at iteration {}: {} → {}",
                i + 2,
                w[0],
                w[1]
            );
        }
        assert!(objectives[19] > objectives[0]);
    }
}

/// With one subset, no prior and no relaxation, BSREM's step is MLEM's update
/// (`x + (x/p)(Aᵀq − p) = x·Aᵀq/p`): the two agree to f32 rounding.
fn bsrem_without_prior_is_mlem(backend: Backend) {
    let (p, activity) = small_spect(backend);
    let data = p.forward(activity.view().into_dyn()).unwrap();
    let mlem = Osem::mlem(5).run(&p, data.view()).unwrap();
    let bsrem = Bsrem {
        relaxation: 0.0,
        ..Bsrem::new(5, 1, Prior::quadratic(0.0).unwrap())
    }
    .run(&p, data.view())
    .unwrap();
    let d = rel_l2(bsrem.as_slice().unwrap(), mlem.as_slice().unwrap());
    println!("{backend} BSREM (one subset, β = 0) against MLEM: {d:.2e}");
    assert!(d < 1e-5, "{d:e}");
}

#[test]
#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
fn gpu_and_cpu_osem_agree() {
    let (cpu, activity) = small_spect(Backend::Cpu);
    let (gpu, _) = small_spect(Backend::Gpu);
    let data = poisson(&cpu.forward(activity.view().into_dyn()).unwrap(), 9);
    let osem = Osem::new(4, 8);
    let a = osem.run(&cpu, data.view()).unwrap();
    let b = osem.run(&gpu, data.view()).unwrap();
    let diff = rel_l2(b.as_slice().unwrap(), a.as_slice().unwrap());
    println!("OSEM 4×8 GPU vs CPU: relative L2 {diff:.2e}");
    assert!(diff < 1e-4, "{diff:e}");
    let map = Osem {
        prior: Some(Prior::relative_difference(0.5, 2.0).unwrap()),
        ..Osem::new(4, 8)
    };
    let (a, b) = (
        map.run(&cpu, data.view()).unwrap(),
        map.run(&gpu, data.view()).unwrap(),
    );
    let diff = rel_l2(b.as_slice().unwrap(), a.as_slice().unwrap());
    println!("RDP MAP-OSEM 4×8 GPU vs CPU: relative L2 {diff:.2e}");
    assert!(diff < 1e-4, "{diff:e}");
}

#[test]
fn bad_input_gives_errors_and_never_nan() {
    let (p, activity) = small_spect(Backend::Cpu);
    let data = p.forward(activity.view().into_dyn()).unwrap();
    let mut negative = data.clone();
    negative[[0, 0, 0]] = -1.0;
    let err = Osem::new(1, 1).run(&p, negative.view()).unwrap_err();
    assert!(err.to_string().contains("negative"), "{err}");
    let mut nan = data.clone();
    nan[[1, 2, 3]] = f32::NAN;
    assert!(matches!(
        Osem::new(1, 1).run(&p, nan.view()),
        Err(tomors::Error::NonFinite { .. })
    ));
    let err = Osem::new(1, 33).run(&p, data.view()).unwrap_err();
    assert!(err.to_string().contains("33 subsets for 32 views"), "{err}");
    assert!(Osem::new(0, 1).run(&p, data.view()).is_err());
    let wrong = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[32, 6, 31]));
    assert!(matches!(
        Osem::new(1, 1).run(&p, wrong.view()),
        Err(tomors::Error::ShapeMismatch { .. })
    ));
    let bad_filter = Osem {
        post_filter_fwhm: Some(-2.0),
        ..Osem::new(1, 1)
    };
    assert!(bad_filter.run(&p, data.view()).is_err());

    // A detector narrower than the object (truncated views: each subset misses voxels others
    // see) and all-zero data (zero expectation everywhere) must not produce NaN.
    let g = grid(2, 32, 4.0);
    let narrow = SpectProjector::new(
        SpectGeometry::new(angles(16, 2.0 * PI), 150.0, 12, 4.0).unwrap(),
        g.clone(),
        None,
        Backend::Cpu,
    )
    .unwrap();
    let zeros = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&narrow.data_shape()));
    let image = Osem::new(3, 4).run(&narrow, zeros.view()).unwrap();
    assert!(image.iter().all(|v| *v == 0.0));
    let blob = cylinder(&g, 20.0, 1.0);
    let data = narrow.forward(blob.view().into_dyn()).unwrap();
    let image = Osem::new(3, 4).run(&narrow, data.view()).unwrap();
    assert!(image.iter().all(|v| v.is_finite() && *v >= 0.0));
}

backend_tests!(
    bsrem_objective_rises_once_relaxed,
    bsrem_without_prior_is_mlem,
    map_priors_reduce_noise,
    mlem_likelihood_never_decreases,
    osem_converges_on_noiseless_data,
    attenuation_corrected_cylinder_is_flat,
    resolution_modelling_sharpens_a_point,
);
