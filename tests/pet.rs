//! The PET 2D system model: attenuation and normalisation factors in a matched pair, OSEM with
//! randoms/scatter as background, on both backends.

mod common;
use common::*;
use ndarray::{Array2, Array3, ArrayD, IxDyn};
use std::f64::consts::PI;
use tomors::recon::{IterationReport, log_likelihood};
use tomors::{
    Backend, Emission, ImageGrid, LinearOperator, Osem, ParallelBeam, PetProjector, Weighted,
};

/// Water at 511 keV, 1/mm.
const MU_WATER: f32 = 0.0096;

fn disc(n: usize, d: f64, radius: f64, value: f32) -> Array2<f32> {
    let c = (n as f64 - 1.0) / 2.0;
    Array2::from_shape_fn((n, n), |(iy, ix)| {
        if ((ix as f64 - c) * d).hypot((iy as f64 - c) * d) <= radius {
            value
        } else {
            0.0
        }
    })
}

fn pet_2d(backend: Backend, n: usize, views: usize, normalised: bool) -> (PetProjector, ImageGrid) {
    let d = 4.0;
    let grid = ImageGrid::new_2d([n, n], [d, d]).unwrap();
    let cols = n + n / 2;
    let geometry = ParallelBeam::new(angles(views, PI), cols, d).unwrap();
    let mu = disc(n, d, (0.4 * n as f64).floor() * d, MU_WATER).into_dyn();
    let norm = normalised.then(|| {
        ArrayD::from_shape_fn(IxDyn(&[views, cols]), |i| {
            0.8 + 0.4 * (((i[0] * 7 + i[1] * 13) % 10) as f32 / 10.0)
        })
    });
    let p = PetProjector::new(
        geometry,
        grid.clone(),
        Some(mu.view()),
        norm.as_ref().map(|n| n.view()),
        backend,
    )
    .unwrap();
    (p, grid)
}

fn adjointness(backend: Backend) {
    let (p, _) = pet_2d(backend, 33, 40, true);
    for seed in 0..2 {
        let err = p.adjointness_test(seed).unwrap();
        println!("{backend} PET 2D seed {seed}: {err:.2e}");
        assert!(err < dot_tolerance(backend), "{err}");
    }
    let grid = ImageGrid::new_3d([3, 24, 24], [4.0, 4.0, 4.0]).unwrap();
    let geometry = ParallelBeam::with_detector(
        angles(30, PI),
        tomors::DetectorColumns {
            n_cols: 35,
            spacing: 4.0,
            offset: 0.0,
        },
        3,
        4.0,
    )
    .unwrap();
    let mu = Array3::from_elem((3, 24, 24), MU_WATER).into_dyn();
    let p = PetProjector::new(geometry, grid, Some(mu.view()), None, backend).unwrap();
    let err = p.adjointness_test(5).unwrap();
    assert!(err < dot_tolerance(backend), "stack: {err}");
}

/// A line through the centre of a water disc of radius R is attenuated by exp(−2Rμ).
fn attenuation_factors_match_the_chord(backend: Backend) {
    let (p, _) = pet_2d(backend, 64, 16, false);
    let factors = p.factors().unwrap();
    let centre = (64 + 32 - 1) / 2;
    let radius = 25.0 * 4.0;
    let expected = (-2.0 * radius * MU_WATER as f64).exp();
    for v in 0..16 {
        let f = factors[[v, centre]] as f64;
        assert!(
            (f / expected - 1.0).abs() < 0.03,
            "view {v}: {f} vs {expected}"
        );
    }
}

/// MLEM with randoms never lowers the likelihood; OSEM reconstructs a uniform disc flat.
fn mlem_ascends_and_osem_corrects_attenuation(backend: Backend) {
    let (p, _) = pet_2d(backend, 48, 60, true);
    let truth = disc(48, 4.0, 0.35 * 48.0 * 4.0, 1.0).into_dyn();
    let trues = p.forward(truth.view()).unwrap() * 5.0f32;
    let randoms = trues.mapv(|_| 0.4f32);
    let mut s = 17u64;
    let counts = (&trues + &randoms).mapv(|m| {
        // Poisson by inversion (means here are small).
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (mut k, mut pk, mut cdf) = (0.0, (-(m as f64)).exp(), (-(m as f64)).exp());
        while u > cdf && k < 500.0 {
            k += 1.0;
            pk *= m as f64 / k;
            cdf += pk;
        }
        k as f32
    });
    let mut likelihoods = Vec::new();
    let mut record = |r: &IterationReport<'_>| {
        likelihoods.push(
            log_likelihood(&p, counts.view(), r.image.clone(), Some(randoms.view())).unwrap(),
        );
        true
    };
    Osem {
        background: Some(randoms.view()),
        ..Osem::mlem(8)
    }
    .run_with(&p, counts.view(), Some(&mut record))
    .unwrap();
    println!("{backend} PET MLEM log-likelihood: {likelihoods:?}");
    for w in likelihoods.windows(2) {
        assert!(w[1] >= w[0] - 1e-9 * w[0].abs(), "{} → {}", w[0], w[1]);
    }
    // Noiseless: the attenuation-corrected disc is flat (centre vs. rim within 5 %).
    let image = Osem::new(10, 6).run(&p, trues.view()).unwrap();
    let centre = image.slice(ndarray::s![22..26, 22..26]).mean().unwrap() / 5.0;
    let rim = image.slice(ndarray::s![22..26, 9..13]).mean().unwrap() / 5.0;
    println!("{backend} PET OSEM 10×6: centre {centre:.3}, rim {rim:.3}");
    assert!(
        (centre - 1.0).abs() < 0.05 && (rim - 1.0).abs() < 0.05,
        "centre {centre}, rim {rim}"
    );
}

#[test]
#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
fn gpu_and_cpu_pet_osem_agree() {
    let (cpu, _) = pet_2d(Backend::Cpu, 40, 48, true);
    let (gpu, _) = pet_2d(Backend::Gpu, 40, 48, true);
    assert_eq!(gpu.backend().kind(), "gpu");
    let truth = disc(40, 4.0, 60.0, 2.0).into_dyn();
    let data = cpu.forward(truth.view()).unwrap();
    let background = data.mapv(|_| 0.1f32);
    let osem = Osem {
        background: Some(background.view()),
        ..Osem::new(4, 8)
    };
    let (a, b) = (
        osem.run(&cpu, data.view()).unwrap(),
        osem.run(&gpu, data.view()).unwrap(),
    );
    let diff = rel_l2(b.as_slice().unwrap(), a.as_slice().unwrap());
    println!("PET OSEM 4×8 GPU vs CPU: {diff:.2e}");
    assert!(diff < 1e-4, "{diff}");
}

#[test]
fn bad_factors_are_refused() {
    let grid = ImageGrid::new_2d([16, 16], [4.0, 4.0]).unwrap();
    let geometry = ParallelBeam::new(angles(8, PI), 24, 4.0).unwrap();
    let negative = ArrayD::from_elem(IxDyn(&[8, 24]), -1.0f32);
    let err = PetProjector::new(
        geometry.clone(),
        grid.clone(),
        None,
        Some(negative.view()),
        Backend::Cpu,
    )
    .unwrap_err();
    assert!(err.to_string().contains("normalisation"), "{err}");
    let wrong = ArrayD::<f32>::zeros(IxDyn(&[16, 15]));
    assert!(matches!(
        PetProjector::new(geometry, grid, Some(wrong.view()), None, Backend::Cpu),
        Err(tomors::Error::ShapeMismatch { .. })
    ));
}

backend_tests!(
    adjointness,
    attenuation_factors_match_the_chord,
    mlem_ascends_and_osem_corrects_attenuation
);

/// A Rust user's own operator reconstructs emission data: OSEM over `Emission(W A)`, with `A`
/// the line-integral projector and `W` the PET model's factors, gives what OSEM over the
/// PetProjector gives (the same model, built from the operator layer's parts).
#[test]
fn osem_runs_over_a_users_operator() {
    let (pet, grid) = pet_2d(Backend::Cpu, 32, 36, true);
    let truth = disc(32, 4.0, 40.0, 2.0).into_dyn();
    let data = pet.forward(truth.view()).unwrap();
    let factors = pet.factors().unwrap().as_slice().unwrap().to_vec();
    let user = Emission::new(
        Weighted::new(pet.projector(), factors).unwrap(),
        grid.spacing(),
    )
    .unwrap();
    assert!(Emission::new(pet.projector(), [0.0, 1.0, 1.0]).is_err());
    let settings = Osem::new(3, 6);
    let ours = settings.run(&pet, data.view()).unwrap();
    let theirs = settings.run(&user, data.view()).unwrap();
    let diff = rel_l2(theirs.as_slice().unwrap(), ours.as_slice().unwrap());
    println!("OSEM over Emission(W A) against PetProjector: {diff:.2e}");
    assert!(diff < 1e-4, "{diff:.2e}");
    assert!(rel_l2(theirs.as_slice().unwrap(), truth.as_slice().unwrap()) < 0.5);
}
