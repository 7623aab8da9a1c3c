//! Accuracy against exact analytic line integrals of the modified Shepp-Logan phantom.

mod common;
use common::*;
use ndarray::Array2;
use std::f64::consts::PI;
use tomors::phantom::EllipsePhantom;
use tomors::{
    Backend, DetectorColumns, DetectorShape, FanBeam, Fbp, Geometry, ImageGrid, ParallelBeam,
    Projector, RampFilter,
};

/// The reference case: 512² pixels of 1 mm, 720 views over 180°, 725 bins of 1 mm.
fn reference_parallel() -> (Geometry, ImageGrid) {
    let g = ParallelBeam::new(angles(720, PI), 725, 1.0).unwrap();
    (g.into(), ImageGrid::new_2d([512, 512], [1.0, 1.0]).unwrap())
}

/// Fan beams over the same field: source 1000 mm from the axis, detector at 1500 mm,
/// 725 bins of 1 mm at the isocentre, 1080 views over 360°.
fn reference_fan(shape: DetectorShape) -> Geometry {
    let cols = DetectorColumns {
        n_cols: 725,
        spacing: 1.5,
        offset: 0.0,
    };
    FanBeam::new(angles(1080, 2.0 * PI), cols, 1000.0, 1500.0, shape)
        .unwrap()
        .into()
}

fn phantom() -> EllipsePhantom {
    EllipsePhantom::shepp_logan(256.0)
}

/// Joseph's method samples between voxel centres, the exact integral sees sharp edges:
/// the issue bounds the difference at 1 % relative L2 for a 1 mm rasterised phantom.
const FORWARD_TOL: f64 = 0.01;

fn forward_matches_exact_line_integrals(backend: Backend) {
    let (g, grid) = reference_parallel();
    let truth = phantom().rasterize(&grid, 4).unwrap();
    for geometry in [
        g,
        reference_fan(DetectorShape::Flat),
        reference_fan(DetectorShape::Arc),
    ] {
        let exact = phantom().line_integrals(&geometry).unwrap();
        let p = Projector::new(geometry, grid.clone(), backend).unwrap();
        let sino = p.forward(truth.view().into_dyn()).unwrap();
        let err = rel_l2(sino.as_slice().unwrap(), exact.as_slice().unwrap());
        println!("{} forward vs exact: {err:.4}", backend);
        assert!(err < FORWARD_TOL, "relative L2 {err:.4} ≥ {FORWARD_TOL}");
    }
}

fn fbp_rmse(geometry: Geometry, grid: &ImageGrid, backend: Backend) -> f64 {
    let exact = phantom().line_integrals(&geometry).unwrap();
    let truth: Array2<f32> = phantom().rasterize(grid, 4).unwrap();
    let p = Projector::new(geometry, grid.clone(), backend).unwrap();
    let rec = Fbp::new(&p, RampFilter::default())
        .unwrap()
        .reconstruct(exact.view().into_dyn())
        .unwrap();
    rmse_in_circle(
        rec.as_slice().unwrap(),
        truth.as_slice().unwrap(),
        grid,
        grid.inscribed_radius(),
    )
}

/// scikit-image's `iradon` scores about 0.041 on this case (python/tests/test_accuracy.py
/// measures both side by side); we measure 0.0152 against the 4×4-supersampled phantom and
/// guard that with a little room for rounding differences between platforms.
const PARALLEL_RMSE: f64 = 0.02;

fn fbp_of_exact_data(backend: Backend) {
    let (g, grid) = reference_parallel();
    let parallel = fbp_rmse(g, &grid, backend);
    println!("{} parallel FBP RMSE: {parallel:.4}", backend);
    assert!(parallel < PARALLEL_RMSE, "parallel RMSE {parallel:.4}");
    for shape in [DetectorShape::Flat, DetectorShape::Arc] {
        let rmse = fbp_rmse(reference_fan(shape), &grid, backend);
        println!("{} fan {shape:?} FBP RMSE: {rmse:.4}", backend);
        assert!(
            rmse <= 1.2 * parallel,
            "fan {shape:?} RMSE {rmse:.4} > 1.2 × parallel {parallel:.4}"
        );
    }
}

fn short_scan_fan_fbp(backend: Backend) {
    // Parker weights: 180° + fan angle + a little, against a full scan of the same step.
    let grid = ImageGrid::new_2d([128, 128], [2.0, 2.0]).unwrap();
    let cols = DetectorColumns {
        n_cols: 181,
        spacing: 3.0,
        offset: 0.0,
    };
    let full = FanBeam::new(
        angles(720, 2.0 * PI),
        cols,
        800.0,
        1200.0,
        DetectorShape::Arc,
    )
    .unwrap();
    let gamma = full.max_fan_angle();
    let span = PI + 2.0 * gamma + 0.05;
    let step = 2.0 * PI / 720.0;
    let short_angles: Vec<f64> = (0..=(span / step) as usize)
        .map(|i| 0.3 + i as f64 * step)
        .collect();
    let short = FanBeam::new(short_angles, cols, 800.0, 1200.0, DetectorShape::Arc).unwrap();
    let e_full = fbp_rmse(full.into(), &grid, backend);
    let e_short = fbp_rmse(short.into(), &grid, backend);
    println!(
        "{} short-scan RMSE {e_short:.4} vs full {e_full:.4}",
        backend
    );
    assert!(
        e_short < 1.25 * e_full,
        "short scan {e_short:.4} vs full scan {e_full:.4}"
    );
}

fn fbp_returns_mu_of_a_uniform_disc(backend: Backend) {
    // A water disc (μ = 0.0154 /mm, radius 80 mm): the centre comes back as 0.0154 within 1 %.
    let mu = 0.0154;
    let disc = EllipsePhantom {
        ellipses: vec![tomors::phantom::Ellipse {
            value: mu,
            center: [0.0, 0.0],
            axes: [80.0, 80.0],
            angle: 0.0,
        }],
    };
    let grid = ImageGrid::new_2d([128, 128], [1.5, 1.5]).unwrap();
    let geometries: Vec<Geometry> = vec![
        ParallelBeam::new(angles(360, PI), 200, 1.5).unwrap().into(),
        reference_fan(DetectorShape::Flat),
        reference_fan(DetectorShape::Arc),
    ];
    for geometry in geometries {
        let p = Projector::new(geometry, grid.clone(), backend).unwrap();
        let rec = tomors::fbp(
            disc.line_integrals(p.geometry()).unwrap().view().into_dyn(),
            &p,
            RampFilter::default(),
        )
        .unwrap();
        let centre = rec.slice(ndarray::s![54..74, 54..74]).mean().unwrap() as f64;
        assert!((centre - mu).abs() < 0.01 * mu, "centre {centre} vs μ {mu}");
    }
}

/// Known answer: rays along the grid axes through an image of ones sum to the chord length
/// exactly (Joseph samples one voxel per step, each weighted by the step length). At θ = 0 the
/// rays travel along +y, so every column inside the grid sees `ny · dy` mm; at θ = π/2 they
/// travel along −x and see `nx · dx` mm. In 2D and on a 3D stack (every slice alike).
fn axis_aligned_rays_through_ones_give_chord_lengths(backend: Backend) {
    let (ny, nx, dy, dx) = (24, 30, 1.25, 0.8);
    for nz in [1, 3] {
        let grid = if nz == 1 {
            grid2(ny, nx, dy, dx)
        } else {
            ImageGrid::new_3d([nz, ny, nx], [2.0, dy, dx]).unwrap()
        };
        // Bins of one pixel, centred on the pixel centres along each axis.
        for (angle, n_cols, du, chord) in [
            (0.0, nx, dx, ny as f64 * dy),
            (PI / 2.0, ny, dy, nx as f64 * dx),
        ] {
            let cols = DetectorColumns {
                n_cols,
                spacing: du,
                offset: 0.0,
            };
            let geometry = ParallelBeam::with_detector(vec![angle], cols, nz, 2.0).unwrap();
            let p = Projector::new(geometry, grid.clone(), backend).unwrap();
            let ones = ndarray::ArrayD::<f32>::ones(ndarray::IxDyn(&p.image_shape()));
            let sums = p.forward(ones.view()).unwrap();
            for &v in sums.iter() {
                assert!(
                    (v as f64 - chord).abs() < 1e-4 * chord,
                    "{nz} slice(s), view {angle:.3}: {v} against the chord {chord} mm"
                );
            }
        }
    }
}

/// A half-fan (offset-detector) full scan: Wang's weights and the detector padded to a
/// symmetric one before filtering give the centred detector's accuracy.
#[test]
fn offset_fan_detector_matches_a_centred_one() {
    let grid = ImageGrid::new_2d([96, 96], [1.0, 1.0]).unwrap();
    let phantom = EllipsePhantom::shepp_logan(44.0);
    let truth: Array2<f32> = phantom.rasterize(&grid, 4).unwrap();
    for shape in [DetectorShape::Flat, DetectorShape::Arc] {
        let rmse = |n_cols: usize, offset: f64| {
            let cols = DetectorColumns {
                n_cols,
                spacing: 1.25,
                offset,
            };
            let g: Geometry = FanBeam::new(angles(180, 2.0 * PI), cols, 300.0, 500.0, shape)
                .unwrap()
                .into();
            let exact = phantom.line_integrals(&g).unwrap();
            let p = Projector::new(g, grid.clone(), Backend::Cpu).unwrap();
            let rec = Fbp::new(&p, RampFilter::default())
                .unwrap()
                .reconstruct(exact.view().into_dyn())
                .unwrap();
            rmse_in_circle(
                rec.as_slice().unwrap(),
                truth.as_slice().unwrap(),
                &grid,
                40.0,
            )
        };
        let (centred, offset) = (rmse(120, 0.0), rmse(96, 34.0));
        println!("{shape:?}: half-fan RMSE {offset:.4} vs centred {centred:.4}");
        assert!(offset < 1.3 * centred, "{shape:?}: {offset} vs {centred}");
    }
}

/// The known flat-versus-arc difference (issue 14) is resolution, not weighting. Over the same
/// field (512², 720 views, 800 bins of 1.2 mm, source 600 mm, detector 1000 mm) a flat panel
/// samples the parallel-beam coordinate p = D_so·sin γ more densely towards its edges than an
/// arc (dp/du ∝ cos³γ against cos γ), so the unapodised ramp passes more bandwidth at the
/// periphery: sharper, with more ringing at the skull against the box-averaged truth. With
/// Ram-Lak the flat RMSE is higher (0.0181 vs 0.0166), with a Hann window lower (0.0148 vs
/// 0.0175): the ranking follows the window, which a weighting error would not.
#[test]
fn flat_versus_arc_follows_the_window() {
    let grid = ImageGrid::new_2d([512, 512], [1.0, 1.0]).unwrap();
    let fan = |shape| -> Geometry {
        let cols = DetectorColumns {
            n_cols: 800,
            spacing: 1.2,
            offset: 0.0,
        };
        FanBeam::new(angles(720, 2.0 * PI), cols, 600.0, 1000.0, shape)
            .unwrap()
            .into()
    };
    let rmse = |shape, window| {
        let g = fan(shape);
        let exact = phantom().line_integrals(&g).unwrap();
        let truth: Array2<f32> = phantom().rasterize(&grid, 4).unwrap();
        let p = Projector::new(g, grid.clone(), Backend::Cpu).unwrap();
        let rec = Fbp::new(&p, RampFilter::new(window, 1.0).unwrap())
            .unwrap()
            .reconstruct(exact.view().into_dyn())
            .unwrap();
        let r = grid.inscribed_radius();
        rmse_in_circle(rec.as_slice().unwrap(), truth.as_slice().unwrap(), &grid, r)
    };
    use tomors::FilterWindow::{Hann, RamLak};
    let (flat_ramp, arc_ramp) = (
        rmse(DetectorShape::Flat, RamLak),
        rmse(DetectorShape::Arc, RamLak),
    );
    let (flat_hann, arc_hann) = (
        rmse(DetectorShape::Flat, Hann),
        rmse(DetectorShape::Arc, Hann),
    );
    println!(
        "Ram-Lak: flat {flat_ramp:.4}, arc {arc_ramp:.4}; Hann: flat {flat_hann:.4}, arc {arc_hann:.4}"
    );
    assert!(flat_ramp > arc_ramp && flat_hann < arc_hann);
}

backend_tests!(
    axis_aligned_rays_through_ones_give_chord_lengths,
    forward_matches_exact_line_integrals,
    fbp_of_exact_data,
    short_scan_fan_fbp,
    fbp_returns_mu_of_a_uniform_disc
);
