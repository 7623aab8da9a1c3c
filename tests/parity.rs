//! GPU ↔ CPU parity: the same plan on both backends gives the same numbers, and a stack split
//! into many GPU chunks gives the same numbers as one chunk.

mod common;
use common::*;
use ndarray::{ArrayD, IxDyn};
use std::f64::consts::PI;
use tomors::phantom::EllipsoidPhantom;
use tomors::{
    Backend, DetectorColumns, DetectorShape, FanBeam, Fbp, Geometry, ImageGrid, ParallelBeam,
    PlanOptions, Projector, RampFilter,
};

/// The stages run the same f32 arithmetic; differences come only from fused multiply-adds,
/// transcendental functions and (for the filter) FFT versus direct summation.
const PARITY_TOL: f64 = 1e-5;

fn stack_cases() -> Vec<(&'static str, Geometry, ImageGrid)> {
    let grid = ImageGrid::new_3d([3, 96, 88], [2.0, 1.5, 1.7]).unwrap();
    let cols = DetectorColumns {
        n_cols: 131,
        spacing: 1.6,
        offset: 1.3,
    };
    let fan = |shape| {
        FanBeam::with_rows(angles(180, 2.0 * PI), cols, 3, 2.0, 400.0, 700.0, shape)
            .unwrap()
            .into()
    };
    vec![
        (
            "parallel",
            ParallelBeam::with_detector(angles(120, PI), cols, 3, 2.0)
                .unwrap()
                .into(),
            grid.clone(),
        ),
        ("fan flat", fan(DetectorShape::Flat), grid.clone()),
        ("fan arc", fan(DetectorShape::Arc), grid),
    ]
}

#[test]
#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
fn gpu_matches_cpu() {
    let phantom = EllipsoidPhantom::shepp_logan(70.0);
    for (name, geometry, grid) in stack_cases() {
        let image = phantom.rasterize(&grid, 1).unwrap().into_dyn();
        let data = phantom.line_integrals(&geometry, &grid).unwrap();
        let cpu = Projector::new(geometry.clone(), grid.clone(), Backend::Cpu).unwrap();
        let gpu = Projector::new(geometry, grid, Backend::Gpu).unwrap();
        let fwd = rel_l2(
            gpu.forward(image.view()).unwrap().as_slice().unwrap(),
            cpu.forward(image.view()).unwrap().as_slice().unwrap(),
        );
        let adj = rel_l2(
            gpu.adjoint(data.view()).unwrap().as_slice().unwrap(),
            cpu.adjoint(data.view()).unwrap().as_slice().unwrap(),
        );
        let filter = RampFilter::new(tomors::FilterWindow::Hann, 0.8).unwrap();
        let f_cpu = Fbp::new(&cpu, filter)
            .unwrap()
            .reconstruct(data.view())
            .unwrap();
        let f_gpu = Fbp::new(&gpu, filter)
            .unwrap()
            .reconstruct(data.view())
            .unwrap();
        let rec = rel_l2(f_gpu.as_slice().unwrap(), f_cpu.as_slice().unwrap());
        println!("{name}: forward {fwd:.2e}, adjoint {adj:.2e}, fbp {rec:.2e}");
        assert!(
            fwd < PARITY_TOL && adj < PARITY_TOL && rec < PARITY_TOL,
            "{name}: {fwd:.2e} {adj:.2e} {rec:.2e}"
        );
    }
}

#[test]
#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
fn chunked_gpu_stack_matches_one_chunk() {
    // 7 slices with a chunk cap of 2 slices' worth: chunks of 2, 2, 2, 1.
    let grid = ImageGrid::new_3d([7, 40, 40], [1.0, 1.0, 1.0]).unwrap();
    let geometry: Geometry = ParallelBeam::with_detector(
        angles(50, PI),
        DetectorColumns {
            n_cols: 60,
            spacing: 1.0,
            offset: 0.0,
        },
        7,
        1.0,
    )
    .unwrap()
    .into();
    let slice_bytes = (4 * 50 * 60) as u64;
    let small = Projector::with_options(
        geometry.clone(),
        grid.clone(),
        PlanOptions {
            backend: Backend::Gpu,
            max_chunk_bytes: 2 * slice_bytes,
        },
    )
    .unwrap();
    let whole = Projector::new(geometry, grid.clone(), Backend::Gpu).unwrap();
    assert_eq!(small.chunk_slices(), 2);
    assert_eq!(whole.chunk_slices(), 7);
    let phantom = EllipsoidPhantom::shepp_logan(18.0);
    let image = phantom.rasterize(&grid, 1).unwrap().into_dyn();
    let a = small.forward(image.view()).unwrap();
    let b = whole.forward(image.view()).unwrap();
    assert_eq!(a, b, "forward: chunking must not change a single bit");
    let y = ArrayD::from_shape_fn(IxDyn(&[50, 7, 60]), |i| {
        ((i[0] * 7 + i[1] * 3 + i[2]) % 11) as f32
    });
    assert_eq!(
        small.adjoint(y.view()).unwrap(),
        whole.adjoint(y.view()).unwrap(),
        "adjoint"
    );
    let fa = Fbp::new(&small, RampFilter::default())
        .unwrap()
        .reconstruct(b.view())
        .unwrap();
    let fb = Fbp::new(&whole, RampFilter::default())
        .unwrap()
        .reconstruct(b.view())
        .unwrap();
    assert_eq!(fa, fb, "fbp");
    assert!(small.device_bytes() < whole.device_bytes());
}

#[test]
fn stack_slices_are_independent_and_ordered() {
    // Slice j of the stack projects exactly like a 2D plan of slice j alone (rows ↔ slices).
    let grid = ImageGrid::new_3d([4, 32, 32], [3.0, 1.0, 1.0]).unwrap();
    let geometry: Geometry = ParallelBeam::with_detector(
        angles(30, PI),
        DetectorColumns {
            n_cols: 45,
            spacing: 1.0,
            offset: 0.0,
        },
        4,
        3.0,
    )
    .unwrap()
    .into();
    let image = EllipsoidPhantom::shepp_logan(14.0)
        .rasterize(&grid, 1)
        .unwrap();
    let stack = Projector::new(geometry, grid, Backend::Cpu)
        .unwrap()
        .forward(image.view().into_dyn())
        .unwrap();
    let single = Projector::new(
        parallel(30, 45, 1.0, 0.0),
        grid2(32, 32, 1.0, 1.0),
        Backend::Cpu,
    )
    .unwrap();
    for z in 0..4 {
        let s = single
            .forward(image.index_axis(ndarray::Axis(0), z).into_dyn())
            .unwrap();
        assert_eq!(stack.index_axis(ndarray::Axis(1), z), s.view(), "slice {z}");
    }
}
