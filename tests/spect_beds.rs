//! Several SPECT beds as one model (`SpectBeds`): an exact adjoint pair with rows left out, the
//! resident plan an ordered-subsets reconstruction runs on equal to the operator it stands for,
//! and bad combinations of beds refused.

mod common;
use common::*;
use ndarray::{Array3, ArrayD, IxDyn, s};
use std::f64::consts::PI;
use tomors::{
    Backend, Collimator, ImageGrid, LinearOperator, Osem, SpectBed, SpectBeds, SpectGeometry,
    SpectProjector, SystemModel,
};

const N: usize = 20;
const D: f64 = 4.0;
/// Slices of the shared image, and each bed's offset and slice count: the upper bed's slices
/// fall between the image's.
const NZ: usize = 20;
const BEDS: [(f64, usize); 2] = [(0.0, 12), (7.6, 12)];

fn grid(nz: usize) -> ImageGrid {
    ImageGrid::new_3d([nz, N, N], [D, D, D]).unwrap()
}

/// A smooth positive volume with structure along every axis.
fn phantom(nz: usize) -> Array3<f32> {
    Array3::from_shape_fn((nz, N, N), |(z, y, x)| {
        let (u, v) = (x as f32 - 9.5, y as f32 - 9.5);
        if u.hypot(v) < 8.0 {
            1.0 + 0.5 * ((z as f32) * 0.4).sin() + 0.05 * u
        } else {
            0.0
        }
    })
}

fn mu(nz: usize) -> Array3<f32> {
    Array3::from_shape_fn((nz, N, N), |(z, y, x)| {
        let (u, v) = (x as f32 - 9.5, y as f32 - 9.5);
        if u.hypot(v) < 8.5 {
            0.015 + 0.001 * (z % 3) as f32
        } else {
            0.0
        }
    })
}

/// Two overlapping beds (9 and 8 views, different starting angles, the upper on a
/// non-circular orbit), each with the LEHR response and its slices of one μ-map; the lower
/// bed leaves out its last detector row, the upper its first two and counts 1.25 × more.
fn beds(backend: Backend) -> SpectBeds {
    beds_counting(
        backend,
        [
            (0..12).map(|r| r < 11).collect(),
            (0..12).map(|r| r >= 2).collect(),
        ],
    )
}

/// The beds of [`beds`], counting the rows flagged in `rows_used`.
fn beds_counting(backend: Backend, rows_used: [Vec<bool>; 2]) -> SpectBeds {
    let lehr = Collimator::preset("lehr").unwrap();
    let mu = mu(NZ);
    let geometries = [
        SpectGeometry::new(angles(9, 2.0 * PI), 160.0, N, D).unwrap(),
        SpectGeometry::with_orbit(
            angles(8, 2.0 * PI).iter().map(|a| a + 0.2).collect(),
            (0..8).map(|i| 150.0 + 5.0 * i as f64).collect(),
            N,
            D,
        )
        .unwrap(),
    ];
    let list = geometries
        .into_iter()
        .zip(BEDS)
        .zip(rows_used)
        .map(|((geometry, (offset, nz)), rows)| {
            let first = offset as usize;
            let m = mu.slice(s![first..first + nz, .., ..]).to_owned();
            SpectBed {
                projector: SpectProjector::new(
                    geometry.with_collimator(lehr),
                    grid(nz),
                    Some(m.view()),
                    backend,
                )
                .unwrap(),
                offset,
                rows_used: Some(rows),
                scale: if first == 0 { 1.0 } else { 1.25 },
            }
        })
        .collect();
    SpectBeds::new(list, NZ).unwrap()
}

/// The joint model is a matched pair, and each bed's part of its data is that bed's model of
/// its slices (interpolated for the bed between the image's) times its scale, with the rows it
/// leaves out 0.
fn joint_model_is_an_exact_pair(backend: Backend) {
    let tol = dot_tolerance(backend);
    let model = beds(backend);
    assert_eq!(model.data_shape(), vec![17, 12, N]);
    for seed in 0..3 {
        let err = model.adjointness_test(seed).unwrap();
        println!("{backend} seed {seed}: {err:.2e}");
        assert!(err < tol, "adjointness error {err:.3e} ≥ {tol:e}");
    }
    let x = phantom(NZ);
    let y = model.expected(x.view().into_dyn()).unwrap();
    let mut v0 = 0;
    for (b, bed) in model.beds().iter().enumerate() {
        let seen = model.bed_image(b, x.view()).unwrap();
        // Bed slice j between image slices ⌊offset⌋ + j and the next.
        let first = bed.offset.floor() as usize;
        let t = (bed.offset - bed.offset.floor()) as f32;
        for j in [0, 5, 11] {
            let want = (1.0 - t) * x[[first + j, 9, 9]] + t * x[[first + j + 1, 9, 9]];
            assert!(
                (seen[[j, 9, 9]] - want).abs() <= 1e-6 * want.abs(),
                "bed {b} slice {j}"
            );
        }
        let own = bed.projector.forward(seen.view().into_dyn()).unwrap();
        let nv = own.shape()[0];
        for ((v, r, c), &want) in own
            .view()
            .into_dimensionality::<ndarray::Ix3>()
            .unwrap()
            .indexed_iter()
        {
            let used = bed.rows_used.as_ref().unwrap()[r];
            let got = y[[v0 + v, r, c]];
            let want = if used { want * bed.scale } else { 0.0 };
            assert_eq!(got, want, "view {v} row {r}");
        }
        v0 += nv;
    }
}

/// OSEM on the joint model's resident plan (2 subsets, interleaved across both beds, each
/// bed's views split between them; a background; the rows left out, a scaled bed) gives, to rounding, the
/// same image as the two sub-iterations written out with the operator: the plan puts every
/// bed's views, slices and row factors where the operator does.
fn resident_osem_is_the_operator_osem(backend: Backend) {
    let model = beds(backend);
    let truth = phantom(NZ);
    let clean = model.expected(truth.view().into_dyn()).unwrap();
    let background = clean.mapv(|v| 0.1 * v + 0.05);
    let data = &clean + &background;
    let x0 = Array3::from_elem((NZ, N, N), 1.0f32);
    let osem = Osem {
        background: Some(background.view()),
        x0: Some(x0.view().into_dyn()),
        ..Osem::new(1, 2)
    };
    let got = osem.run(&model, data.view()).unwrap();

    // By hand: subset s holds the views v ≡ s (mod 2) of the joint data, visited 0 then 1.
    let shape = model.data_shape();
    let factors = model.factors().unwrap().to_vec();
    let mut x = x0.into_raw_vec_and_offset().0;
    for s in 0..2 {
        let in_subset = |i: usize| (i / (shape[1] * shape[2])) % 2 == s;
        let mut ax = vec![0.0f32; data.len()];
        model.forward_into(&x, &mut ax).unwrap();
        let ratio: Vec<f32> = (0..data.len())
            .map(|i| {
                let d = ax[i] + background.as_slice().unwrap()[i];
                if in_subset(i) && factors[i] > 0.0 && d > 0.0 {
                    data.as_slice().unwrap()[i] / d
                } else {
                    0.0
                }
            })
            .collect();
        let ones: Vec<f32> = (0..data.len())
            .map(|i| if in_subset(i) { 1.0 } else { 0.0 })
            .collect();
        let (mut back, mut sens) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
        model.adjoint_into(&ratio, &mut back).unwrap();
        model.adjoint_into(&ones, &mut sens).unwrap();
        for ((x, b), s) in x.iter_mut().zip(&back).zip(&sens) {
            if *s > 0.0 {
                *x *= b / s;
            }
        }
    }
    let want = ArrayD::from_shape_vec(IxDyn(&[NZ, N, N]), x).unwrap();
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = got
        .iter()
        .zip(&want)
        .fold(0.0f32, |m, (g, w)| m.max((g - w).abs()))
        / scale;
    println!("{backend}: resident OSEM against the operator's, worst {worst:.2e} of the peak");
    let tol = if backend == Backend::Cpu { 1e-5 } else { 1e-4 };
    assert!(worst < tol, "{worst:.3e}");
}

#[test]
fn bad_beds_are_refused() {
    let bed = |nz: usize, first: usize, n: usize, d: f64| SpectBed {
        projector: SpectProjector::new(
            SpectGeometry::new(angles(4, 2.0 * PI), 160.0, n, d).unwrap(),
            ImageGrid::new_3d([nz, n, n], [d, d, d]).unwrap(),
            None,
            Backend::Cpu,
        )
        .unwrap(),
        offset: first as f64,
        rows_used: None,
        scale: 1.0,
    };
    let message = |r: tomors::Result<SpectBeds>| r.unwrap_err().to_string();
    assert!(message(SpectBeds::new(vec![], 4)).contains("no beds"));
    // Another voxel size, another slice size.
    assert!(
        message(SpectBeds::new(
            vec![bed(4, 0, 8, 4.0), bed(4, 2, 8, 3.0)],
            6
        ))
        .contains("share")
    );
    assert!(
        message(SpectBeds::new(
            vec![bed(4, 0, 8, 4.0), bed(4, 2, 10, 4.0)],
            6
        ))
        .contains("share")
    );
    // Past the image's end (also by the interpolated slice of a fractional offset); a
    // negative offset; a slice no bed sees.
    let mut past = bed(4, 0, 8, 4.0);
    past.offset = 2.5;
    assert!(message(SpectBeds::new(vec![bed(4, 0, 8, 4.0), past], 6)).contains("slices 2..7"));
    let mut negative = bed(4, 0, 8, 4.0);
    negative.offset = -0.5;
    assert!(message(SpectBeds::new(vec![negative], 6)).contains("offset -0.5"));
    assert!(
        message(SpectBeds::new(
            vec![bed(4, 0, 8, 4.0), bed(4, 3, 8, 4.0)],
            6
        ))
        .contains("slices 3..7")
    );
    assert!(
        message(SpectBeds::new(
            vec![bed(4, 0, 8, 4.0), bed(4, 5, 8, 4.0)],
            9
        ))
        .contains("slice 4")
    );
    // Row flags: wrong length, none used.
    let mut short = bed(4, 0, 8, 4.0);
    short.rows_used = Some(vec![true; 3]);
    assert!(message(SpectBeds::new(vec![short], 4)).contains("row flags"));
    let mut none = bed(4, 0, 8, 4.0);
    none.rows_used = Some(vec![false; 4]);
    assert!(message(SpectBeds::new(vec![none], 4)).contains("row flags"));
    // A scale that is not a count ratio.
    for scale in [0.0, -1.0, f32::NAN] {
        let mut b = bed(4, 0, 8, 4.0);
        b.scale = scale;
        assert!(message(SpectBeds::new(vec![b], 4)).contains("scale"));
    }
    // A good pair.
    assert!(SpectBeds::new(vec![bed(4, 0, 8, 4.0), bed(4, 2, 8, 4.0)], 6).is_ok());
}

backend_tests!(
    joint_model_is_an_exact_pair,
    resident_osem_is_the_operator_osem
);

/// Slices are measured where, for some bed, at least half of what it reads of them comes
/// through rows it counts: the standard beds (the upper one's slices between the image's)
/// measure every slice; with more rows left out, the slices between the beds' counted rows
/// are not measured.
#[test]
fn measured_slices_follow_the_counted_rows() {
    let all = beds(Backend::Cpu).measured_slices();
    assert_eq!(all, vec![true; NZ]);
    // Lower bed: rows 0..=8 counted (image slices 0..=8). Upper bed at 7.6: rows 4.. counted;
    // image slice k reads its row k − 7 (weight 0.4) and k − 8 (0.6), so slice 11 (rows 4 and
    // 3: 0.4 counted) is not measured, slice 12 (rows 5 and 4) is, and so is slice 19 (row 11
    // alone, weight 0.6, counted).
    let rows = [
        (0..12).map(|r| r <= 8).collect(),
        (0..12).map(|r| r >= 4).collect(),
    ];
    let measured = beds_counting(Backend::Cpu, rows).measured_slices();
    let want: Vec<bool> = (0..NZ).map(|k| k <= 8 || k >= 12).collect();
    assert_eq!(measured, want);
}
