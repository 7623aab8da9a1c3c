//! The 3D PET model: signed dot-product tests (non-TOF, TOF, span and mashing), line
//! integrals against exact chord lengths, deterministic back-projection, GPU ↔ CPU parity.

mod common;
use common::*;
use ndarray::{ArrayD, IxDyn};
use tomors::geometry::pet::{PetScanner, SinogramBin, SinogramLayout, TofBins};
use tomors::{Backend, ImageGrid, LinearOperator, Pet3dProjector};

/// A small scanner: 8 rings of 4 mm, 64 crystals on a 60 mm (+2 mm depth) radius.
fn small_scanner() -> PetScanner {
    PetScanner::new("small", 8, 64, 60.0, 2.0, 4.0).unwrap()
}

fn small_grid() -> ImageGrid {
    ImageGrid::new_3d([8, 24, 24], [4.0, 4.0, 4.0]).unwrap()
}

fn small_tof() -> TofBins {
    TofBins::new(5, 20.0, 30.0).unwrap()
}

fn dot_test(backend: Backend, layout: SinogramLayout) {
    let p = Pet3dProjector::new(layout, small_grid(), backend).unwrap();
    for seed in [1, 2] {
        let err = p.adjointness_test(seed).unwrap();
        assert!(err < dot_tolerance(backend), "dot test {err:e}");
    }
}

fn dot_product_span1(backend: Backend) {
    dot_test(backend, SinogramLayout::new(small_scanner(), 40, 1, 7, 1).unwrap());
}

fn dot_product_span3_mashed(backend: Backend) {
    dot_test(backend, SinogramLayout::new(small_scanner(), 40, 3, 5, 2).unwrap());
}

fn dot_product_tof(backend: Backend) {
    let scanner = small_scanner().with_tof(small_tof());
    dot_test(backend, SinogramLayout::new(scanner, 40, 3, 7, 1).unwrap());
}

/// Length (mm) of the segment p1–p2 inside the box `lo..hi` (slab method).
fn chord(p1: [f64; 3], p2: [f64; 3], lo: [f64; 3], hi: [f64; 3]) -> f64 {
    let d: Vec<f64> = (0..3).map(|k| p2[k] - p1[k]).collect();
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for k in 0..3 {
        if d[k].abs() < 1e-12 {
            if p1[k] < lo[k] || p1[k] > hi[k] {
                return 0.0;
            }
            continue;
        }
        let a = (lo[k] - p1[k]) / d[k];
        let b = (hi[k] - p1[k]) / d[k];
        t0 = t0.max(a.min(b));
        t1 = t1.min(a.max(b));
    }
    (t1 - t0).max(0.0) * (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// An image of ones projects to the chord length of every line of response through the
/// image's box: mean absolute error under 1 % of a voxel side.
fn line_integrals_are_chord_lengths(backend: Backend) {
    let layout = SinogramLayout::new(small_scanner(), 40, 1, 7, 1).unwrap();
    let grid = small_grid();
    let p = Pet3dProjector::new(layout.clone(), grid.clone(), backend).unwrap();
    let ones = ArrayD::from_elem(IxDyn(&grid.array_shape()), 1.0f32);
    let sino = p.forward(ones.view()).unwrap();
    let flat = sino.as_slice().unwrap();
    let (lo, hi) = ([-48.0, -48.0, -16.0], [48.0, 48.0, 16.0]);
    let scanner = layout.scanner();
    let (mut sum, mut n, mut worst) = (0.0, 0, 0.0f64);
    for view in 0..layout.views() {
        for plane in 0..layout.planes() {
            for tangential in 0..layout.tangential() {
                let bin = SinogramBin { view, plane, tof: 0, tangential };
                let ((r1, c1), (r2, c2)) = layout.pairs(bin)[0];
                let [x1, y1] = scanner.crystal_xy(c1);
                let [x2, y2] = scanner.crystal_xy(c2);
                let exact = chord(
                    [x1, y1, scanner.ring_z(r1)],
                    [x2, y2, scanner.ring_z(r2)],
                    lo,
                    hi,
                );
                let err = (flat[layout.index(bin)] as f64 - exact).abs();
                sum += err;
                worst = worst.max(err);
                n += 1;
            }
        }
    }
    let mean = sum / n as f64;
    eprintln!("chord lengths: mean |error| {mean:.2e} mm, worst {worst:.2e} mm over {n} lines");
    assert!(mean < 0.01 * 4.0, "mean |error| {mean} mm");
}

/// TOF bins split each line's integral: their sum is the non-TOF integral (to the kernel's
/// truncation and the bins' coverage of the line).
fn tof_bins_sum_to_the_line_integral(backend: Backend) {
    let scanner = small_scanner().with_tof(TofBins::new(9, 20.0, 30.0).unwrap());
    let layout = SinogramLayout::new(scanner, 40, 1, 3, 1).unwrap();
    let grid = small_grid();
    let tof = Pet3dProjector::new(layout.clone(), grid.clone(), backend).unwrap();
    let plain = Pet3dProjector::new(layout.clone().without_tof(), grid.clone(), backend).unwrap();
    let x = ArrayD::from_shape_fn(IxDyn(&grid.array_shape()), |i| {
        1.0 + ((i[0] * 3 + i[1] * 5 + i[2] * 7) % 11) as f32 / 11.0
    });
    let a = tof.forward(x.view()).unwrap();
    let b = plain.forward(x.view()).unwrap();
    let k = 9;
    let tang = layout.tangential() as usize;
    let summed: Vec<f32> = a
        .as_slice()
        .unwrap()
        .chunks_exact(k * tang)
        .flat_map(|c| (0..tang).map(move |t| (0..k).map(|j| c[j * tang + t]).sum::<f32>()))
        .collect();
    let b = b.as_slice().unwrap();
    let num: f64 = summed.iter().zip(b).map(|(s, p)| ((s - p) as f64).powi(2)).sum();
    let den: f64 = b.iter().map(|p| (*p as f64).powi(2)).sum();
    let rel = (num / den).sqrt();
    assert!(rel < 2e-3, "TOF sum vs non-TOF: relative L2 {rel:e}");
}

/// The back-projection sums in fixed point: two runs give the same bits.
fn back_projection_reruns_are_bit_identical(backend: Backend) {
    let scanner = small_scanner().with_tof(small_tof());
    let layout = SinogramLayout::new(scanner, 40, 3, 7, 1).unwrap();
    let p = Pet3dProjector::new(layout.clone(), small_grid(), backend).unwrap();
    let y = ArrayD::from_shape_fn(IxDyn(&layout.shape()), |i| {
        ((i[0] * 31 + i[1] * 17 + i[2] * 7 + i[3]) % 13) as f32 - 6.0
    });
    let a = p.adjoint(y.view()).unwrap();
    let b = p.adjoint(y.view()).unwrap();
    let bits = |x: &ArrayD<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    assert!(a.iter().any(|v| *v != 0.0));
}

backend_tests!(
    dot_product_span1,
    dot_product_span3_mashed,
    dot_product_tof,
    line_integrals_are_chord_lengths,
    tof_bins_sum_to_the_line_integral,
    back_projection_reruns_are_bit_identical,
);
