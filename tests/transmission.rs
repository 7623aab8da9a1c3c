//! CT ordered-subsets algorithms: OS-SPS on pre-log counts and OS-SART on line integrals.

mod common;
use common::*;
use ndarray::ArrayD;
use tomors::phantom::EllipsePhantom;
use tomors::recon::{OrderedSubsets, transmission_log_likelihood};
use tomors::{Backend, LinearOperator, Projector, Weighted};

/// A 64² Shepp-Logan of μ (water ≈ 0.02/mm at CT energies), 1 mm pixels, 90 views.
fn case(backend: Backend) -> (Projector, ArrayD<f32>, ArrayD<f32>) {
    let grid = grid2(64, 64, 2.0, 2.0);
    let p = Projector::new(parallel(90, 95, 2.0, 0.0), grid.clone(), backend).unwrap();
    let phantom = EllipsePhantom::shepp_logan(60.0);
    let mu = phantom
        .rasterize(&grid, 2)
        .unwrap()
        .mapv(|v| v * 0.02)
        .into_dyn();
    let line = p.forward(mu.view()).unwrap();
    (p, mu, line)
}

fn mask_error(image: &ArrayD<f32>, truth: &ArrayD<f32>) -> f64 {
    rel_l2(image.as_slice().unwrap(), truth.as_slice().unwrap())
}

/// SPS (one subset) never lowers the transmission likelihood; OS-SPS with 6 subsets gets
/// close to the truth from noiseless counts.
fn os_sps_ascends_and_converges(backend: Backend) {
    let (p, mu, line) = case(backend);
    let blank = line.mapv(|_| 1e4f32);
    let counts = (&blank * &line.mapv(|l| (-l).exp())).mapv(|v| v.round());
    let mut previous = f64::NEG_INFINITY;
    for it in 1..=4 {
        let image = OrderedSubsets::new(it, 1)
            .os_sps(&p, counts.view(), blank.view(), None)
            .unwrap();
        let l = transmission_log_likelihood(&p, counts.view(), blank.view(), None, image.view())
            .unwrap();
        assert!(
            l >= previous,
            "SPS likelihood fell at iteration {it}: {previous} → {l}"
        );
        previous = l;
    }
    let errors: Vec<f64> = [2, 5, 10]
        .iter()
        .map(|&it| {
            mask_error(
                &OrderedSubsets::new(it, 6)
                    .os_sps(&p, counts.view(), blank.view(), None)
                    .unwrap(),
                &mu,
            )
        })
        .collect();
    println!("{backend} OS-SPS 6 subsets, relative error after 2/5/10 iterations: {errors:.4?}");
    assert_converges(&errors);
}

/// Relative errors after three growing iteration counts: falling at each, by 40 % overall, to
/// under 0.3.
fn assert_converges(errors: &[f64]) {
    assert!(
        errors[2] < errors[1]
            && errors[1] < errors[0]
            && errors[2] < 0.6 * errors[0]
            && errors[2] < 0.3,
        "{errors:?}"
    );
}

/// OS-SART on exact line integrals converges and respects non-negativity.
fn os_sart_converges(backend: Backend) {
    let (p, mu, line) = case(backend);
    let errors: Vec<f64> = [1, 3, 10]
        .iter()
        .map(|&it| {
            mask_error(
                &OrderedSubsets::new(it, 10)
                    .os_sart(&p, line.view(), 1.0, true)
                    .unwrap(),
                &mu,
            )
        })
        .collect();
    println!("{backend} OS-SART 10 subsets, relative error after 1/3/10 iterations: {errors:.4?}");
    assert_converges(&errors);
    let image = OrderedSubsets::new(2, 10)
        .os_sart(&p, line.view(), 1.0, true)
        .unwrap();
    assert!(image.iter().all(|v| *v >= 0.0));
}

#[test]
fn bad_transmission_input_is_refused() {
    let (p, _, line) = case(Backend::Cpu);
    let blank = line.mapv(|_| 1e4f32);
    let negative = line.mapv(|_| -1.0f32);
    assert!(
        OrderedSubsets::new(1, 1)
            .os_sps(&p, negative.view(), blank.view(), None)
            .is_err()
    );
    assert!(
        OrderedSubsets::new(1, 91)
            .os_sps(&p, blank.view(), blank.view(), None)
            .is_err()
    );
    assert!(
        OrderedSubsets::new(1, 1)
            .os_sart(&p, line.view(), 2.5, true)
            .is_err()
    );
    let mut nan = line.clone();
    nan[[0, 0]] = f32::NAN;
    assert!(matches!(
        OrderedSubsets::new(1, 1).os_sart(&p, nan.view(), 1.0, true),
        Err(tomors::Error::NonFinite { .. })
    ));
    // Zero blank and zero counts: no data anywhere; the result stays 0, never NaN.
    let zeros = line.mapv(|_| 0.0f32);
    let image = OrderedSubsets::new(2, 3)
        .os_sps(&p, zeros.view(), zeros.view(), None)
        .unwrap();
    assert!(image.iter().all(|v| *v == 0.0));
}

/// The algorithms run over any `ViewSubsets` operator, here `W A` (a projector followed by
/// per-ray weights). OS-SART's step is unchanged by a weight that is constant over a subset
/// (it cancels in the row and column normalisations), so with weights that depend only on the
/// view's subset (`view mod 10`, the interleaved subsets), `W A` on data `W p` must reproduce
/// `A` on `p`; a subset given the wrong rows of `W` would not.
fn algorithms_run_over_a_weighted_operator(backend: Backend) {
    let (p, mu, line) = case(backend);
    let n_views = p.data_shape()[0];
    assert_eq!(n_views % 10, 0);
    let view_len = line.len() / n_views;
    let weights: Vec<f32> = (0..line.len())
        .map(|i| 0.5 + ((i / view_len) % 10) as f32 * 0.25)
        .collect();
    let weighted_line: Vec<f32> = line.iter().zip(&weights).map(|(l, w)| l * w).collect();
    let w = Weighted::new(&p, weights).unwrap();
    assert!(w.adjointness_test(2).unwrap() < dot_tolerance(backend));
    let data = ndarray::ArrayViewD::from_shape(line.shape(), &weighted_line).unwrap();
    let settings = OrderedSubsets::new(3, 10);
    let plain = settings.os_sart(&p, line.view(), 1.0, true).unwrap();
    let through_w = settings.os_sart(&w, data, 1.0, true).unwrap();
    let diff = mask_error(&through_w, &plain);
    assert!(diff < 1e-4, "W A against A: {diff:.2e}");
    assert!(mask_error(&through_w, &mu) < 0.5);
}

backend_tests!(
    os_sps_ascends_and_converges,
    os_sart_converges,
    algorithms_run_over_a_weighted_operator
);
