//! Dot-product tests ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ for every geometry on every backend.

mod common;
use common::*;
use tomors::{Backend, DetectorShape, Geometry, ImageGrid, LinearOperator, Projector};

fn cases() -> Vec<(&'static str, Geometry, ImageGrid)> {
    use DetectorShape::{Arc, Flat};
    vec![
        (
            "parallel even",
            parallel(60, 48, 1.0, 0.0),
            grid2(32, 32, 1.0, 1.0),
        ),
        (
            "parallel odd, offset, non-square",
            parallel(47, 51, 0.8, 3.3),
            grid2(33, 29, 1.3, 0.9),
        ),
        (
            "fan flat even",
            fan(72, 64, 1.5, 0.0, 200.0, 350.0, Flat),
            grid2(40, 40, 1.0, 1.0),
        ),
        (
            "fan flat odd, offset, non-square",
            fan(61, 57, 1.2, -4.1, 150.0, 260.0, Flat),
            grid2(31, 37, 1.1, 0.8),
        ),
        (
            "fan arc even",
            fan(72, 64, 1.5, 0.0, 200.0, 350.0, Arc),
            grid2(40, 40, 1.0, 1.0),
        ),
        (
            "fan arc odd, offset, non-square",
            fan(59, 55, 1.3, 2.7, 160.0, 300.0, Arc),
            grid2(35, 27, 0.9, 1.2),
        ),
    ]
}

fn dot_product_test(backend: Backend) {
    let tol = dot_tolerance(backend);
    for (name, geometry, grid) in cases() {
        let p = Projector::new(geometry, grid, backend).unwrap();
        for seed in 0..3 {
            let err = p.adjointness_test(seed).unwrap();
            println!("{} {name} seed {seed}: {err:.2e}", backend);
            assert!(
                err < tol,
                "{name}: relative adjointness error {err:.3e} ≥ {tol:e}"
            );
        }
    }
}

fn dot_product_test_stack(backend: Backend) {
    let tol = dot_tolerance(backend);
    let grid = ImageGrid::new_3d([5, 24, 20], [2.0, 1.0, 1.1]).unwrap();
    let geometry = tomors::FanBeam::with_rows(
        angles(40, std::f64::consts::TAU),
        tomors::DetectorColumns {
            n_cols: 36,
            spacing: 1.4,
            offset: 0.5,
        },
        5,
        2.0,
        120.0,
        220.0,
        DetectorShape::Flat,
    )
    .unwrap();
    let p = Projector::new(geometry, grid, backend).unwrap();
    let err = p.adjointness_test(7).unwrap();
    assert!(err < tol, "stack: {err:.3e}");
}

fn norm_is_consistent(backend: Backend) {
    // ‖A‖² is the largest eigenvalue of AᵀA: ‖Ax‖ ≤ ‖A‖‖x‖ for any x.
    let p = Projector::new(parallel(40, 40, 1.0, 0.0), grid2(28, 28, 1.0, 1.0), backend).unwrap();
    let norm = p.norm(30).unwrap();
    let ones = ndarray::ArrayD::<f32>::ones(ndarray::IxDyn(&[28, 28]));
    let ax = p.forward(ones.view()).unwrap();
    let ratio = (ax.iter().map(|v| (*v as f64).powi(2)).sum::<f64>()).sqrt() / 28.0;
    assert!(
        ratio <= norm * (1.0 + 1e-4),
        "‖A1‖/‖1‖ = {ratio} > ‖A‖ = {norm}"
    );
    assert!(
        ratio > 0.5 * norm,
        "power iteration from ones should be near the top eigenvalue"
    );
}

backend_tests!(dot_product_test, dot_product_test_stack, norm_is_consistent);
