//! Bad input gives a typed error naming what was expected; nothing panics.

mod common;
use common::*;
use ndarray::{ArrayD, IxDyn};
use std::f64::consts::PI;
use tomors::{
    Backend, DetectorColumns, DetectorShape, Error, FanBeam, Fbp, ImageGrid, ParallelBeam,
    Projector, RampFilter,
};

fn cols(n: usize) -> DetectorColumns {
    DetectorColumns {
        n_cols: n,
        spacing: 1.0,
        offset: 0.0,
    }
}

#[test]
fn absurd_geometry_is_refused() {
    let msg = |e: Error| e.to_string();
    assert!(matches!(
        ImageGrid::new_2d([0, 4], [1.0, 1.0]),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(
        msg(ImageGrid::new_2d([4, 4], [1.0, -1.0]).unwrap_err())
            .contains("expected a value > 0 and at most 1e6 mm")
    );
    // A voxel of 1e300 mm is a mistake, not a geometry (it was accepted).
    assert!(matches!(
        ImageGrid::new_2d([4, 4], [1e300, 1.0]),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(matches!(
        ImageGrid::new_2d([4, 4], [f64::NAN, 1.0]),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(msg(ParallelBeam::new(vec![], 10, 1.0).unwrap_err()).contains("angle list is empty"));
    assert!(matches!(
        ParallelBeam::new(vec![0.0, f64::INFINITY], 10, 1.0),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(matches!(
        ParallelBeam::new(vec![0.0], 0, 1.0),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(matches!(
        ParallelBeam::new(vec![0.0], 10, 0.0),
        Err(Error::InvalidGeometry(_))
    ));
    // Detector before the centre.
    let e = FanBeam::new(vec![0.0], cols(10), 500.0, 400.0, DetectorShape::Flat).unwrap_err();
    assert!(msg(e).contains("source_to_center = 500"));
    // A fan wider than 180°.
    let wide = DetectorColumns {
        n_cols: 1000,
        spacing: 5.0,
        offset: 0.0,
    };
    assert!(matches!(
        FanBeam::new(vec![0.0], wide, 500.0, 1000.0, DetectorShape::Arc),
        Err(Error::InvalidGeometry(_))
    ));
    // Source inside the grid.
    let fan = FanBeam::new(
        angles(10, 2.0 * PI),
        cols(50),
        100.0,
        300.0,
        DetectorShape::Flat,
    )
    .unwrap();
    let e = Projector::new(fan, grid2(256, 256, 1.0, 1.0), Backend::Cpu).unwrap_err();
    assert!(msg(e).contains("expected source_to_center >"));
    // Rows that do not match the slices.
    let stack = ImageGrid::new_3d([3, 8, 8], [1.0, 1.0, 1.0]).unwrap();
    let e = Projector::new(
        ParallelBeam::new(vec![0.0], 10, 1.0).unwrap(),
        stack,
        Backend::Cpu,
    )
    .unwrap_err();
    assert!(msg(e).contains("one row per slice"));
}

#[test]
fn wrong_shapes_and_non_finite_values_are_refused() {
    let p = Projector::new(
        parallel(10, 12, 1.0, 0.0),
        grid2(8, 8, 1.0, 1.0),
        Backend::Cpu,
    )
    .unwrap();
    let wrong = ArrayD::<f32>::zeros(IxDyn(&[8, 9]));
    match p.forward(wrong.view()) {
        Err(Error::ShapeMismatch { expected, got, .. }) => {
            assert_eq!(expected, vec![8, 8]);
            assert_eq!(got, vec![8, 9]);
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    let empty = ArrayD::<f32>::zeros(IxDyn(&[0, 12]));
    assert!(matches!(
        p.adjoint(empty.view()),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut nan = ArrayD::<f32>::zeros(IxDyn(&[10, 12]));
    nan[[3, 4]] = f32::NAN;
    match p.adjoint(nan.view()) {
        Err(Error::NonFinite { index, .. }) => assert_eq!(index, 3 * 12 + 4),
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let mut inf = ArrayD::<f32>::zeros(IxDyn(&[8, 8]));
    inf[[0, 0]] = f32::INFINITY;
    assert!(matches!(
        p.forward(inf.view()),
        Err(Error::NonFinite { .. })
    ));
    let mut out = ArrayD::<f32>::zeros(IxDyn(&[10, 11]));
    assert!(matches!(
        p.forward_into(ArrayD::zeros(IxDyn(&[8, 8])).view(), out.view_mut()),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn non_contiguous_inputs_and_outputs_work() {
    let p = Projector::new(
        parallel(10, 12, 1.0, 0.0),
        grid2(8, 8, 1.0, 1.0),
        Backend::Cpu,
    )
    .unwrap();
    let image = ArrayD::from_shape_fn(IxDyn(&[8, 8]), |i| (i[0] * 8 + i[1]) as f32);
    let transposed = image.t().to_owned();
    let via_view = p.forward(transposed.t().into_dyn()).unwrap();
    assert_eq!(via_view, p.forward(image.view()).unwrap());
    let mut out_t = ArrayD::<f32>::zeros(IxDyn(&[12, 10]));
    p.forward_into(image.view(), out_t.view_mut().reversed_axes())
        .unwrap();
    assert_eq!(out_t.t(), via_view.view());
}

#[test]
fn fbp_needs_enough_views() {
    let limited = ParallelBeam::new(angles(60, PI / 2.0), 20, 1.0).unwrap();
    let p = Projector::new(limited, grid2(12, 12, 1.0, 1.0), Backend::Cpu).unwrap();
    let e = Fbp::new(&p, RampFilter::default()).unwrap_err();
    assert!(e.to_string().contains("covering 180°"), "{e}");
    let short = FanBeam::new(angles(100, PI), cols(60), 300.0, 500.0, DetectorShape::Arc).unwrap();
    let p = Projector::new(short, grid2(32, 32, 1.0, 1.0), Backend::Cpu).unwrap();
    let e = Fbp::new(&p, RampFilter::default()).unwrap_err();
    assert!(e.to_string().contains("180° + the fan angle"), "{e}");
    assert!("nonsense".parse::<tomors::FilterWindow>().is_err());
    assert!("quantum".parse::<Backend>().is_err());
}

/// The public operator layer checks buffer lengths: a wrong-sized slice is a typed error, not
/// a panic in a kernel, for every projector and for composed operators.
#[test]
fn operator_buffers_of_the_wrong_length_are_refused() {
    use tomors::{LinearOperator, ViewSubsets, Weighted};
    let grid = ImageGrid::new_2d([8, 8], [1.0, 1.0]).unwrap();
    let p = Projector::new(parallel(6, 13, 1.0, 0.0), grid, Backend::Cpu).unwrap();
    let (n_in, n_out) = (64, 6 * 13);
    let shape_error = |r: tomors::Result<()>| matches!(r, Err(Error::ShapeMismatch { .. }));
    // Projector's own forward_into takes arrays; the operator layer's takes slices.
    let op: &dyn LinearOperator = &p;
    assert!(shape_error(
        op.forward_into(&vec![0.0; n_in - 1], &mut vec![0.0; n_out])
    ));
    assert!(shape_error(
        op.forward_into(&vec![0.0; n_in], &mut vec![0.0; n_out + 1])
    ));
    assert!(shape_error(
        op.adjoint_into(&vec![0.0; n_in], &mut vec![0.0; n_in])
    ));
    let w = Weighted::new(&p, vec![1.0; n_out]).unwrap();
    assert!(shape_error(
        w.adjoint_into(&vec![0.0; n_out - 2], &mut vec![0.0; n_in])
    ));
    assert!(
        op.forward_into(&vec![1.0; n_in], &mut vec![0.0; n_out])
            .is_ok()
    );
    assert!(matches!(p.subset(&[0, 6]), Err(Error::InvalidArgument(_))));
    assert!(matches!(w.subset(&[7]), Err(Error::InvalidArgument(_))));
}
