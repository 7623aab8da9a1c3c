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
        eprintln!("{backend:?} dot test (seed {seed}): {err:.2e}");
        assert!(err < dot_tolerance(backend), "dot test {err:e}");
    }
}

fn dot_product_span1(backend: Backend) {
    dot_test(
        backend,
        SinogramLayout::new(small_scanner(), 40, 1, 7, 1).unwrap(),
    );
}

fn dot_product_span3_mashed(backend: Backend) {
    dot_test(
        backend,
        SinogramLayout::new(small_scanner(), 40, 3, 5, 2).unwrap(),
    );
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
                let bin = SinogramBin {
                    view,
                    plane,
                    tof: 0,
                    tangential,
                };
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
    let num: f64 = summed
        .iter()
        .zip(b)
        .map(|(s, p)| ((s - p) as f64).powi(2))
        .sum();
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

/// Every voxel keeps its precision whatever other voxels receive: signed data from 1e-20 (the
/// lines through the centre) to 1e20 (the outermost lines). Each probe voxel j is compared with
/// `Σᵢ yᵢ·aᵢⱼ` in f64, `aᵢⱼ` read from the forward projection of the unit image `e_j` (one tap
/// per line, so exact), relative to `Σᵢ |yᵢ·aᵢⱼ|`. A scale common to the whole back-projection
/// (set by its largest value) rounded the central voxels to 0.
fn back_projection_keeps_every_voxels_precision(backend: Backend) {
    let layout = SinogramLayout::new(small_scanner(), 40, 1, 7, 1).unwrap();
    let grid = small_grid();
    let p = Pet3dProjector::new(layout.clone(), grid.clone(), backend).unwrap();
    let half = (layout.tangential() as f64 - 1.0) / 2.0;
    let y = ArrayD::from_shape_fn(IxDyn(&layout.shape()), |i| {
        let exponent = -20.0 + 40.0 * (i[2] as f64 - half).abs() / half;
        let sign = if (i[0] * 7 + i[1] * 3 + i[2]) % 3 == 0 {
            -1.0
        } else {
            1.0
        };
        let mantissa = 1.0 + ((i[0] * 5 + i[1] * 11 + i[2] * 13) % 7) as f64 / 7.0;
        (sign * mantissa * 10f64.powf(exponent)) as f32
    });
    let x = p.adjoint(y.view()).unwrap();
    let shape = grid.array_shape();
    let (mut smallest, mut largest) = (f64::INFINITY, 0.0f64);
    for (z, yy, xx) in [
        (4, 12, 12),
        (4, 11, 12),
        (3, 12, 14),
        (4, 12, 16),
        (5, 13, 18),
        (4, 12, 20),
        (2, 12, 23),
        (6, 3, 4),
        (0, 4, 12),
        (7, 20, 11),
    ] {
        let mut e = ArrayD::zeros(IxDyn(&shape));
        e[[z, yy, xx]] = 1.0f32;
        let a = p.forward(e.view()).unwrap();
        let (exact, size) = a
            .iter()
            .zip(y.iter())
            .fold((0.0f64, 0.0f64), |(s, m), (&w, &v)| {
                let t = w as f64 * v as f64;
                (s + t, m + t.abs())
            });
        let got = x[[z, yy, xx]] as f64;
        eprintln!("voxel ({z}, {yy}, {xx}): {got:.6e}, exact {exact:.6e}, Σ|terms| {size:.3e}");
        assert!(size > 0.0, "probe ({z}, {yy}, {xx}) receives nothing");
        assert!(
            (got - exact).abs() <= 1e-5 * size,
            "voxel ({z}, {yy}, {xx}): {got:e} against {exact:e} (Σ|terms| {size:e})"
        );
        smallest = smallest.min(size);
        largest = largest.max(size);
    }
    assert!(
        smallest < 1e-20 * largest,
        "the probes span {smallest:e}..{largest:e}"
    );
}

/// The TOF sensitivity image, one walk per line with the bins' union as one wide bin, equals
/// the back-projection of ones over every TOF bin (the renormalised truncated kernel
/// telescopes), on a grid whose corners the bins do not cover (there it is below the non-TOF
/// sensitivity) and on one they cover with 3σ to spare (there it equals the non-TOF one).
fn tof_sensitivity_is_the_sum_over_tof_bins(backend: Backend) {
    let relative = |a: &ArrayD<f32>, b: &ArrayD<f32>| {
        let top = b.iter().fold(0.0f32, |m, v| m.max(*v));
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / top)
            .fold(0.0f32, f32::max)
    };
    for (bins, grid) in [
        (5, small_grid()),
        (15, ImageGrid::new_3d([8, 16, 16], [4.0, 4.0, 4.0]).unwrap()),
    ] {
        let scanner = small_scanner().with_tof(TofBins::new(bins, 20.0, 30.0).unwrap());
        let layout = SinogramLayout::new(scanner, 40, 1, 7, 1).unwrap();
        let mu = ArrayD::from_shape_fn(IxDyn(&grid.array_shape()), |i| {
            0.0096 * (1.0 + (i[1] + i[2]) as f32 / 30.0)
        });
        let model = |l: SinogramLayout| {
            Pet3dProjector::new(l, grid.clone(), backend)
                .unwrap()
                .with_attenuation(mu.view())
                .unwrap()
        };
        let tof = model(layout.clone());
        let s = tof.sensitivity().unwrap();
        let ones = ArrayD::from_elem(IxDyn(&layout.shape()), 1.0f32);
        let summed = tof.adjoint(ones.view()).unwrap();
        let plain = model(layout.clone().without_tof()).sensitivity().unwrap();
        let (to_sum, to_plain) = (relative(&s, &summed), relative(&s, &plain));
        eprintln!(
            "{backend:?}, {bins} TOF bins: against the TOF sum {to_sum:.2e}, against non-TOF {to_plain:.2e} of the maximum"
        );
        assert!(to_sum < 1e-6, "{to_sum:e}");
        if bins == 15 {
            assert!(to_plain < 1e-6, "{to_plain:e}");
        } else {
            assert!(
                to_plain > 1e-2,
                "the bins should not cover this grid: {to_plain:e}"
            );
        }
    }
}

backend_tests!(
    dot_product_span1,
    dot_product_span3_mashed,
    dot_product_tof,
    line_integrals_are_chord_lengths,
    tof_bins_sum_to_the_line_integral,
    back_projection_reruns_are_bit_identical,
    back_projection_keeps_every_voxels_precision,
    tof_sensitivity_is_the_sum_over_tof_bins,
);

mod reconstruction {
    //! OSEM on exact analytic 3D data (the model's own LORs are averages over each bin's
    //! crystal pairs; the data are not), with attenuation, TOF and non-TOF.

    use super::*;
    use ndarray::Array3;
    use tomors::Osem;
    use tomors::phantom::{Solid, SolidPhantom};

    /// Water at 511 keV, 1/mm.
    const MU_WATER: f64 = 0.0096;
    const RADIUS: f64 = 40.0;
    const SPHERE: ([f64; 3], f64) = ([12.0, -10.0, 0.0], 11.0);

    /// 16 rings of 4 mm, 96 crystals on an 80 mm (+2 mm depth) radius; a grid covering the
    /// rings' axial extent.
    pub(super) fn scanner() -> PetScanner {
        PetScanner::new("test", 16, 96, 80.0, 2.0, 4.0).unwrap()
    }

    pub(super) fn grid() -> ImageGrid {
        ImageGrid::new_3d([16, 32, 32], [4.0, 4.0, 4.0]).unwrap()
    }

    fn layout(tof: bool) -> SinogramLayout {
        let s = if tof {
            scanner().with_tof(TofBins::new(9, 16.0, 24.0).unwrap())
        } else {
            scanner()
        };
        SinogramLayout::new(s, 64, 3, 13, 1).unwrap()
    }

    fn cylinder() -> Solid {
        Solid::cylinder([0.0; 3], RADIUS, 48.0)
    }

    /// Uniform cylinder (activity 1 per mm³), optionally with a 4:1 sphere.
    fn activity(sphere: bool) -> SolidPhantom {
        let mut solids = vec![(cylinder(), 1.0)];
        if sphere {
            solids.push((Solid::sphere(SPHERE.0, SPHERE.1), 3.0));
        }
        SolidPhantom { solids }
    }

    /// Exact data with attenuation, and the model with the μ-map rasterised on the grid.
    fn problem(backend: Backend, tof: bool, sphere: bool) -> (Pet3dProjector, ArrayD<f32>) {
        let layout = layout(tof);
        let mu = SolidPhantom {
            solids: vec![(cylinder(), MU_WATER)],
        };
        let att = mu.attenuation_factors(&layout);
        let mut data = activity(sphere).sinogram(&layout);
        let k = layout.tof_bins() as usize;
        let tang = layout.tangential() as usize;
        let att = att.as_slice().unwrap();
        for (i, v) in data.as_slice_mut().unwrap().iter_mut().enumerate() {
            let line = i / (k * tang) * tang + i % tang;
            *v *= att[line];
        }
        let mu_map = mu.rasterize(&grid(), 3).unwrap().into_dyn();
        let model = Pet3dProjector::new(layout, grid(), backend)
            .unwrap()
            .with_attenuation(mu_map.view())
            .unwrap();
        (model, data)
    }

    fn centres(f: impl Fn([f64; 3]) -> bool) -> Vec<[usize; 3]> {
        let g = grid();
        let [nz, ny, nx] = g.shape();
        let (o, d) = (g.origin(), g.spacing());
        let mut out = Vec::new();
        for iz in 0..nz {
            for iy in 0..ny {
                for ix in 0..nx {
                    let p = [
                        o[2] + ix as f64 * d[2],
                        o[1] + iy as f64 * d[1],
                        o[0] + iz as f64 * d[0],
                    ];
                    if f(p) {
                        out.push([iz, iy, ix]);
                    }
                }
            }
        }
        out
    }

    fn mean(x: &Array3<f32>, at: &[[usize; 3]]) -> f64 {
        at.iter().map(|&i| x[i] as f64).sum::<f64>() / at.len() as f64
    }

    /// Attenuation-corrected OSEM of a uniform cylinder is flat (±5 %) and quantitative.
    pub(super) fn uniform_cylinder_is_flat(backend: Backend) {
        let (model, data) = problem(backend, false, false);
        let x = Osem::new(6, 8).run(&model, data.view()).unwrap();
        let x = x.into_dimensionality::<ndarray::Ix3>().unwrap();
        let roi = centres(|p| p[0].hypot(p[1]) < 0.7 * RADIUS && p[2].abs() < 16.0);
        let m = mean(&x, &roi);
        let worst = roi
            .iter()
            .map(|&i| (x[i] as f64 / m - 1.0).abs())
            .fold(0.0, f64::max);
        eprintln!("cylinder: mean {m:.4} (true 1), worst deviation from the mean {worst:.4}");
        assert!(worst < 0.05, "not flat: {worst}");
        assert!((m - 1.0).abs() < 0.05, "mean {m}");
    }

    /// Error to the phantom per iteration, TOF and non-TOF, and the hot sphere's contrast
    /// recovery at the end.
    pub(super) fn tof_converges_faster(backend: Backend) {
        let sphere = centres(|p| {
            let d = [p[0] - SPHERE.0[0], p[1] - SPHERE.0[1], p[2] - SPHERE.0[2]];
            (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() < SPHERE.1 - 4.0
        });
        let background = centres(|p| {
            let d = [p[0] + 15.0, p[1] - 12.0, p[2]];
            d[0].hypot(d[1]) < 10.0 && d[2].abs() < 12.0
        });
        let inside = centres(|p| p[0].hypot(p[1]) < RADIUS - 4.0 && p[2].abs() < 20.0);
        let truth = activity(true).rasterize(&grid(), 3).unwrap();
        let run = |tof: bool| -> (Vec<f64>, f64) {
            let (model, data) = problem(backend, tof, true);
            let mut errors = Vec::new();
            let mut crc = 0.0;
            let mut cb = |r: &tomors::recon::IterationReport<'_>| {
                let x = r
                    .image
                    .to_owned()
                    .into_dimensionality::<ndarray::Ix3>()
                    .unwrap();
                let (mut num, mut den) = (0.0, 0.0);
                for &i in &inside {
                    num += (x[i] as f64 - truth[i] as f64).powi(2);
                    den += (truth[i] as f64).powi(2);
                }
                errors.push((num / den).sqrt());
                crc = (mean(&x, &sphere) / mean(&x, &background) - 1.0) / 3.0;
                true
            };
            Osem::new(10, 2)
                .run_with(&model, data.view(), Some(&mut cb))
                .unwrap();
            (errors, crc)
        };
        let ((with, crc_tof), (without, crc_plain)) = (run(true), run(false));
        eprintln!("relative error per iteration, TOF:     {with:.4?}");
        eprintln!("relative error per iteration, non-TOF: {without:.4?}");
        // Iterations non-TOF needs to reach TOF's error after 2.
        let catch_up = without.iter().position(|&e| e <= with[1]).map(|i| i + 1);
        eprintln!("non-TOF reaches TOF's 2-iteration error after {catch_up:?} iterations");
        eprintln!("hot-sphere CRC after 10 iterations: TOF {crc_tof:.3}, non-TOF {crc_plain:.3}");
        assert!(
            with[0] < without[0] && with[1] < without[1],
            "TOF should converge faster"
        );
        assert!(crc_tof > 0.7 && crc_plain > 0.7);
    }
}

fn uniform_cylinder_is_flat(backend: Backend) {
    reconstruction::uniform_cylinder_is_flat(backend);
}
fn tof_converges_faster(backend: Backend) {
    reconstruction::tof_converges_faster(backend);
}

mod recon_tests {
    use super::*;
    backend_tests!(uniform_cylinder_is_flat, tof_converges_faster);
}

mod list_mode {
    //! List mode: dot tests, bit-identical reruns, and list-mode MLEM of a histogram's events
    //! equal to sinogram MLEM of the histogram.

    use super::*;
    use tomors::recon::lm_osem;
    use tomors::{ListModeEvents, ListModeProjector, Osem};

    fn events(tof: bool) -> (Pet3dProjector, ListModeEvents, ArrayD<f32>) {
        let scanner = if tof {
            small_scanner().with_tof(small_tof())
        } else {
            small_scanner()
        };
        let layout = SinogramLayout::new(scanner, 40, 1, 7, 1).unwrap();
        let model = Pet3dProjector::new(layout.clone(), small_grid(), Backend::Cpu).unwrap();
        // Whole counts from a smooth object: the histogram the events come from.
        let x = ArrayD::from_shape_fn(IxDyn(&small_grid().array_shape()), |i| {
            let (y, x) = (i[1] as f32 - 11.5, i[2] as f32 - 11.5);
            if x.hypot(y) < 9.0 {
                0.02 * (1.0 + (i[0] % 3) as f32)
            } else {
                0.0
            }
        });
        let counts = model.forward(x.view()).unwrap().mapv(|v| v.round());
        let ev = ListModeEvents::from_sinogram(&layout, counts.view()).unwrap();
        (model, ev, counts)
    }

    pub(super) fn lm_dot_product(backend: Backend) {
        for tof in [false, true] {
            let (_, ev, _) = events(tof);
            let layout = ev.layout().clone();
            let sino = Pet3dProjector::new(layout, small_grid(), backend).unwrap();
            let lm = ListModeProjector::new(ev, &sino).unwrap();
            let err = lm.adjointness_test(7).unwrap();
            eprintln!("{backend:?} list-mode dot test (TOF {tof}): {err:.2e}");
            assert!(
                err < dot_tolerance(backend),
                "list-mode dot test (TOF {tof}): {err:e}"
            );
        }
    }

    pub(super) fn lm_back_projection_is_bit_identical(backend: Backend) {
        let (_, ev, _) = events(true);
        let sino = Pet3dProjector::new(ev.layout().clone(), small_grid(), backend).unwrap();
        let lm = ListModeProjector::new(ev, &sino).unwrap();
        let y: Vec<f32> = (0..lm.data_shape()[0])
            .map(|i| ((i * 37) % 11) as f32 - 5.0)
            .collect();
        let mut a = vec![0.0; small_grid().len()];
        let mut b = vec![0.0; small_grid().len()];
        lm.adjoint_into(&y, &mut a).unwrap();
        lm.adjoint_into(&y, &mut b).unwrap();
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
    }

    /// TOF events whose window misses the object: lines through the centre with the outermost
    /// TOF bins, 37 mm and more from the midpoint, where the image starts at 1e-30 (an object
    /// of radius 24 mm). Their ratios are 10²⁹ before the cap; a back-projection scaled to its
    /// largest value zeroed every other contribution and the image collapsed. Now the image
    /// inside the object is what it is without them (within 1 %), finite, and the events' own
    /// counts stay outside it.
    pub(super) fn lm_events_that_miss_the_object(backend: Backend) {
        let scanner = small_scanner().with_tof(TofBins::new(9, 15.0, 12.0).unwrap());
        let layout = SinogramLayout::new(scanner, 40, 1, 7, 1).unwrap();
        let grid = small_grid();
        let model = Pet3dProjector::new(layout.clone(), grid.clone(), backend).unwrap();
        let radius = |i: &ndarray::IxDyn| (i[1] as f32 - 11.5).hypot(i[2] as f32 - 11.5);
        let x = ArrayD::from_shape_fn(IxDyn(&grid.array_shape()), |i| {
            if radius(&i) < 6.0 { 0.05 } else { 0.0 }
        });
        let counts = model.forward(x.view()).unwrap().mapv(|v| v.round());
        let mut missing = counts.clone();
        let tang = layout.tangential() as usize;
        for view in (0..layout.views() as usize).step_by(4) {
            for plane in [0, 3, 7] {
                for tof in [0, 8] {
                    missing[[view, plane, tof, tang / 2]] += 1.0;
                }
            }
        }
        let x0 = ArrayD::from_shape_fn(IxDyn(&grid.array_shape()), |i| {
            if radius(&i) < 8.0 { 1.0 } else { 1e-30 }
        });
        // MLEM: subsets of events would differ between the two sets.
        let osem = Osem {
            x0: Some(x0.view()),
            ..Osem::mlem(5)
        };
        let run = |c: &ArrayD<f32>| {
            let ev = ListModeEvents::from_sinogram(&layout, c.view()).unwrap();
            lm_osem(&ListModeProjector::new(ev, &model).unwrap(), &osem).unwrap()
        };
        let (with, without) = (run(&missing), run(&counts));
        assert!(with.iter().all(|v| v.is_finite() && *v >= 0.0));
        let inside = |a: &ArrayD<f32>| -> Vec<f64> {
            a.indexed_iter()
                .filter(|(i, _)| radius(i) < 5.0)
                .map(|(_, v)| *v as f64)
                .collect()
        };
        let (a, b) = (inside(&with), inside(&without));
        let num: f64 = a.iter().zip(&b).map(|(p, q)| (p - q).powi(2)).sum();
        let den: f64 = b.iter().map(|q| q * q).sum();
        let rel = (num / den).sqrt();
        let mean = b.iter().sum::<f64>() / b.len() as f64;
        eprintln!(
            "{backend:?}: inside the object, with vs without the events that miss it: relative L2 {rel:.2e} (mean {mean:.4})"
        );
        assert!(
            mean > 0.02,
            "the image inside the object collapsed: mean {mean}"
        );
        assert!(rel < 1e-2, "{rel}");
    }

    pub(super) fn lm_mlem_equals_sinogram_mlem(backend: Backend) {
        for tof in [false, true] {
            let (_, ev, counts) = events(tof);
            let layout = ev.layout().clone();
            let sino = Pet3dProjector::new(layout, small_grid(), backend).unwrap();
            let n = ev.len();
            let lm = ListModeProjector::new(ev, &sino).unwrap();
            let a = lm_osem(&lm, &Osem::mlem(3)).unwrap();
            let b = Osem::mlem(3).run(&sino, counts.view()).unwrap();
            let num: f64 = a
                .iter()
                .zip(&b)
                .map(|(p, q)| ((p - q) as f64).powi(2))
                .sum();
            let den: f64 = b.iter().map(|q| (*q as f64).powi(2)).sum();
            let rel = (num / den).sqrt();
            eprintln!("TOF {tof}: {n} events, list-mode vs sinogram MLEM relative L2 {rel:.2e}");
            assert!(rel < 1e-4, "{rel}");
        }
    }
}

fn lm_dot_product(backend: Backend) {
    list_mode::lm_dot_product(backend);
}
fn lm_events_that_miss_the_object(backend: Backend) {
    list_mode::lm_events_that_miss_the_object(backend);
}
fn lm_back_projection_is_bit_identical(backend: Backend) {
    list_mode::lm_back_projection_is_bit_identical(backend);
}
fn lm_mlem_equals_sinogram_mlem(backend: Backend) {
    list_mode::lm_mlem_equals_sinogram_mlem(backend);
}

mod list_mode_tests {
    use super::*;
    backend_tests!(
        lm_dot_product,
        lm_back_projection_is_bit_identical,
        lm_mlem_equals_sinogram_mlem,
        lm_events_that_miss_the_object,
        osem_within_a_memory_budget_is_bit_identical
    );
}

/// OSEM (span 3, attenuation factors, a background) and list-mode OSEM with the data-sized
/// inputs held on the host and sent a subset at a time (`max_resident_bytes`) give the bits of
/// the resident runs, in less backend memory.
fn osem_within_a_memory_budget_is_bit_identical(backend: Backend) {
    use tomors::recon::IterationReport;
    use tomors::{ListModeEvents, ListModeProjector, Osem};
    let layout = SinogramLayout::new(small_scanner(), 40, 3, 7, 1).unwrap();
    let grid = small_grid();
    let x = ArrayD::from_shape_fn(IxDyn(&grid.array_shape()), |i| {
        let (y, x) = (i[1] as f32 - 11.5, i[2] as f32 - 11.5);
        if x.hypot(y) < 9.0 { 0.05 } else { 0.0 }
    });
    let mu = x.mapv(|v| if v > 0.0 { 0.0096 } else { 0.0 });
    let p = Pet3dProjector::new(layout.clone(), grid, backend)
        .unwrap()
        .with_attenuation(mu.view())
        .unwrap();
    let y = p.forward(x.view()).unwrap().mapv(|v| v.round() + 1.0);
    let background = y.mapv(|_| 0.5);
    let run = |budget: Option<u64>| {
        let mut bytes = 0;
        let mut report = |r: &IterationReport<'_>| {
            bytes = r.plan_bytes;
            true
        };
        let osem = Osem {
            background: Some(background.view()),
            max_resident_bytes: budget,
            ..Osem::new(2, 4)
        };
        let image = osem.run_with(&p, y.view(), Some(&mut report)).unwrap();
        (image, bytes)
    };
    let ((resident, whole), (streamed, part)) = (run(None), run(Some(1)));
    assert!(
        resident == streamed,
        "sinogram OSEM: the budget changed the image"
    );
    let data_bytes = 4 * y.len() as u64;
    eprintln!("{backend:?}: sinogram OSEM plan {whole} B resident, {part} B streamed");
    assert!(whole - part >= 2 * data_bytes, "{whole} vs {part}");

    // List mode: span-1 events (one crystal pair per bin).
    let span1 = SinogramLayout::new(small_scanner(), 40, 1, 7, 1).unwrap();
    let p1 = Pet3dProjector::new(span1.clone(), small_grid(), backend).unwrap();
    let counts = p1.forward(x.view()).unwrap().mapv(|v| v.round().min(3.0));
    let events = ListModeEvents::from_sinogram(&span1, counts.view()).unwrap();
    let lm = ListModeProjector::new(events, &p1).unwrap();
    let lm_run = |budget| {
        let mut bytes = 0;
        let mut report = |r: &IterationReport<'_>| {
            bytes = r.plan_bytes;
            true
        };
        let osem = Osem {
            max_resident_bytes: budget,
            ..Osem::new(2, 3)
        };
        let image = tomors::recon::lm_osem_with(&lm, &osem, Some(&mut report)).unwrap();
        (image, bytes)
    };
    let ((resident, whole), (streamed, part)) = (lm_run(None), lm_run(Some(1)));
    assert!(
        resident == streamed,
        "list-mode OSEM: the budget changed the image"
    );
    // The events (16 bytes each) and the measured ones (4) are held a subset at a time.
    let n = lm.events().len() as u64;
    eprintln!(
        "{backend:?}: list-mode OSEM of {n} events, plan {whole} B resident, {part} B streamed"
    );
    assert!(whole - part >= 20 * n / 2, "{whole} vs {part}");
    // A list-mode model holds one sensitivity share, not one image per subset: BSREM, which
    // needs each subset's, is refused with a reason.
    let ones = ArrayD::from_elem(IxDyn(&[lm.events().len(), 1]), 1.0f32);
    let bsrem = tomors::Bsrem::new(1, 3, tomors::Prior::quadratic(0.1).unwrap());
    let e = bsrem.run(&lm, ones.view()).unwrap_err().to_string();
    assert!(e.contains("list-mode OSEM"), "{e}");
}

/// GPU and CPU agree after OSEM (TOF, attenuation, span 3): relative L2 below 1e-4.
#[test]
#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
fn gpu_and_cpu_agree_after_osem() {
    let scanner = small_scanner().with_tof(small_tof());
    let layout = SinogramLayout::new(scanner, 40, 3, 7, 1).unwrap();
    let grid = small_grid();
    let x = ArrayD::from_shape_fn(IxDyn(&grid.array_shape()), |i| {
        let (y, x) = (i[1] as f32 - 11.5, i[2] as f32 - 11.5);
        if x.hypot(y) < 9.0 {
            1.0 + (i[0] % 2) as f32
        } else {
            0.0
        }
    });
    let mu = x.mapv(|v| if v > 0.0 { 0.0096 } else { 0.0 });
    let run = |backend| {
        let p = Pet3dProjector::new(layout.clone(), grid.clone(), backend)
            .unwrap()
            .with_attenuation(mu.view())
            .unwrap();
        let y = p.forward(x.view()).unwrap();
        tomors::Osem::new(3, 4).run(&p, y.view()).unwrap()
    };
    let (c, g) = (run(Backend::Cpu), run(Backend::Gpu));
    let num: f64 = c
        .iter()
        .zip(&g)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum();
    let den: f64 = c.iter().map(|a| (*a as f64).powi(2)).sum();
    let rel = (num / den).sqrt();
    eprintln!("OSEM 3×4 (TOF, attenuation): GPU vs CPU relative L2 {rel:.2e}");
    assert!(rel < 1e-4, "{rel}");
}

/// Bad input: typed errors naming what was expected, never a panic.
#[test]
fn bad_input_is_a_typed_error() {
    use tomors::{Error, ListModeEvents};
    let layout = SinogramLayout::new(small_scanner(), 40, 1, 7, 1).unwrap();
    let grid = small_grid();
    let p = Pet3dProjector::new(layout.clone(), grid.clone(), Backend::Cpu).unwrap();
    // A sinogram whose shape is not its layout's.
    let wrong = ArrayD::<f32>::zeros(IxDyn(&[32, 63, 40]));
    match p.adjoint(wrong.view()) {
        Err(Error::ShapeMismatch { expected, .. }) => assert_eq!(expected, layout.shape()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        tomors::Osem::new(1, 2).run(&p, wrong.view()),
        Err(Error::ShapeMismatch { .. })
    ));
    // A μ-map on another grid.
    let mu = ArrayD::<f32>::zeros(IxDyn(&[8, 24, 23]));
    let err = Pet3dProjector::new(layout.clone(), grid.clone(), Backend::Cpu)
        .unwrap()
        .with_attenuation(mu.view())
        .unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("[8, 24, 24]"), "{err}");
    // Events with a crystal beyond the scanner.
    let err = ListModeEvents::from_crystals(&layout, &[[0, 1, 2, 40], [8, 3, 1, 30]], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("event 1") && err.contains("ring < 8"), "{err}");
    let err = ListModeEvents::from_crystals(&layout, &[[0, 64, 2, 40]], None).unwrap_err();
    assert!(err.to_string().contains("crystal < 64"), "{err}");
    // TOF bins for a non-TOF layout, and a 2D grid.
    assert!(ListModeEvents::from_crystals(&layout, &[[0, 1, 2, 40]], Some(&[0])).is_err());
    let flat = ImageGrid::new_2d([24, 24], [4.0, 4.0]).unwrap();
    assert!(Pet3dProjector::new(layout, flat, Backend::Cpu).is_err());
}
