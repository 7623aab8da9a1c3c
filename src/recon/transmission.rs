//! Iterative CT: OS-SPS on pre-log transmission counts (Poisson model with a blank scan),
//! OS-SART and CGLS on post-log line integrals.
//!
//! All run over any [`ViewSubsets`] operator (a [`crate::Projector`] on either backend, a
//! [`crate::Weighted`] one, or an operator of your own) with one operator per subset of views;
//! images and per-subset sums are kept between iterations on the host, projections move to
//! and from the backend once per sub-iteration.

use super::em::{IterationReport, subset_plan};
use crate::array::{check_input, non_negative_input};
use crate::error::{Error, Result};
use crate::operator::{LinearOperator, ViewSubsets};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

/// `A x` into a new vector.
fn forward<A: LinearOperator>(op: &A, x: &[f32]) -> Result<Vec<f32>> {
    let mut out = vec![0.0; op.out_shape().iter().product()];
    op.forward_into(x, &mut out)?;
    Ok(out)
}

/// `Aᵀ y` into a new vector.
fn adjoint<A: LinearOperator>(op: &A, y: &[f32]) -> Result<Vec<f32>> {
    let mut out = vec![0.0; op.in_shape().iter().product()];
    op.adjoint_into(y, &mut out)?;
    Ok(out)
}

/// Settings shared by the CT algorithms.
#[derive(Debug, Clone)]
pub struct OrderedSubsets<'a> {
    /// Full passes through the data (≥ 1).
    pub iterations: usize,
    /// Ordered subsets of views (1 ≤ subsets ≤ views), interleaved and visited in bit-reversed order.
    pub subsets: usize,
    /// Starting image (μ in 1/mm), default 0.
    pub x0: Option<ArrayViewD<'a, f32>>,
}

impl<'a> OrderedSubsets<'a> {
    /// `iterations` passes over `subsets` subsets, starting from 0.
    pub fn new(iterations: usize, subsets: usize) -> Self {
        Self {
            iterations,
            subsets,
            x0: None,
        }
    }

    /// One operator per subset, with the view indices of each.
    fn subset_operators<A: ViewSubsets>(&self, op: &A) -> Result<Vec<(A::Subset, Vec<usize>)>> {
        let (order, ranges) = subset_plan(op.out_shape()[0], self.subsets);
        ranges
            .into_iter()
            .map(|r| {
                let views = order[r].to_vec();
                op.subset(&views).map(|p| (p, views))
            })
            .collect()
    }

    fn start(&self, shape: &[usize]) -> Result<Vec<f32>> {
        match &self.x0 {
            None => Ok(vec![0.0; shape.iter().product()]),
            Some(x0) => non_negative_input("x0", x0.clone(), shape),
        }
    }

    /// OS-SPS (Erdogan & Fessler 1999, precomputed curvatures) for pre-log `counts`
    /// `y ~ Poisson(b·exp(−A μ) + r)`, with the blank (air) scan `blank` (`b`, > 0 where
    /// there is data) and an optional additive `background` (`r`: scatter, dark current).
    /// Each sub-iteration is `μ ← max(0, μ + S · A_sᵀ ḣ_s / d)` with `ḣ = (1 − y/ȳ)·b·e^{−Aμ}`
    /// and `d = Aᵀ(c ⊙ A 1)`, `c = (y − r)²/y` (0 where `y ≤ r`). One subset is SPS, whose
    /// likelihood never decreases.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for bad settings or negative counts, blank or background;
    /// shape and finiteness errors; GPU failures.
    pub fn os_sps<A: ViewSubsets>(
        &self,
        projector: &A,
        counts: ArrayViewD<'_, f32>,
        blank: ArrayViewD<'_, f32>,
        background: Option<ArrayViewD<'_, f32>>,
    ) -> Result<ArrayD<f32>> {
        self.os_sps_with_callback(projector, counts, blank, background, None)
    }

    /// As [`OrderedSubsets::os_sps`], calling `callback` after every iteration; it returns
    /// `false` to stop early.
    ///
    /// # Errors
    /// As [`OrderedSubsets::os_sps`].
    pub fn os_sps_with_callback<A: ViewSubsets>(
        &self,
        projector: &A,
        counts: ArrayViewD<'_, f32>,
        blank: ArrayViewD<'_, f32>,
        background: Option<ArrayViewD<'_, f32>>,
        mut callback: Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
    ) -> Result<ArrayD<f32>> {
        let data_shape = projector.out_shape();
        super::em::check_schedule(self.iterations, self.subsets, data_shape[0])?;
        let y = non_negative_input("counts", counts, &data_shape)?;
        let b = non_negative_input("blank scan", blank, &data_shape)?;
        let r = match background {
            Some(r) => non_negative_input("background", r, &data_shape)?,
            None => vec![0.0; y.len()],
        };
        let view_len: usize = data_shape[1..].iter().product();
        // Denominator d = Aᵀ(c · A1), once.
        let shape = projector.in_shape();
        let ones = vec![1.0f32; shape.iter().product()];
        let gamma = forward(projector, &ones)?;
        let weighted: Vec<f32> = gamma
            .iter()
            .zip(&y)
            .zip(&r)
            .map(|((g, &yi), &ri)| {
                if yi > ri {
                    g * (yi - ri) * (yi - ri) / yi
                } else {
                    0.0
                }
            })
            .collect();
        let d = adjoint(projector, &weighted)?;
        let mut mu = self.start(&shape)?;
        let scale = self.subsets as f32;
        let subsets = self.subset_operators(projector)?;
        for it in 0..self.iterations {
            for (p, views) in &subsets {
                // ḣ = (1 − y/ȳ)·b·e^{−l}, written over the line integrals l.
                let mut grad = forward(p, &mu)?;
                let flat = grad.as_mut_slice();
                for (a, &v) in views.iter().enumerate() {
                    let i0 = v * view_len;
                    let sub = &mut flat[a * view_len..(a + 1) * view_len];
                    for (k, g) in sub.iter_mut().enumerate() {
                        let i = i0 + k;
                        let transmitted = b[i] * (-*g).exp();
                        let expected = transmitted + r[i];
                        *g = if expected > 0.0 {
                            (1.0 - y[i] / expected) * transmitted
                        } else {
                            0.0
                        };
                    }
                }
                let step = adjoint(p, &grad)?;
                for ((m, s), dj) in mu.iter_mut().zip(step.iter()).zip(d.iter()) {
                    if *dj > 0.0 {
                        *m = (*m + scale * s / dj).max(0.0);
                    }
                }
            }
            if !report(&mut callback, it, &shape, &mu) {
                break;
            }
        }
        Ok(ArrayD::from_shape_vec(IxDyn(&shape), mu).expect("image shape"))
    }

    /// OS-SART on post-log line integrals `sinogram` (`∫μ`, mm × 1/mm): each sub-iteration is
    /// `x ← x + λ · A_sᵀ((p_s − A_s x) / A_s 1) / A_sᵀ 1`, divisions guarded (0 where a sum is 0),
    /// then clipped at 0 when `non_negative`. `relaxation` λ in (0, 2).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for bad settings or λ; shape and finiteness errors; GPU failures.
    pub fn os_sart<A: ViewSubsets>(
        &self,
        projector: &A,
        sinogram: ArrayViewD<'_, f32>,
        relaxation: f64,
        non_negative: bool,
    ) -> Result<ArrayD<f32>> {
        self.os_sart_with_callback(projector, sinogram, relaxation, non_negative, None)
    }

    /// As [`OrderedSubsets::os_sart`], calling `callback` after every iteration; it returns
    /// `false` to stop early.
    ///
    /// # Errors
    /// As [`OrderedSubsets::os_sart`].
    pub fn os_sart_with_callback<A: ViewSubsets>(
        &self,
        projector: &A,
        sinogram: ArrayViewD<'_, f32>,
        relaxation: f64,
        non_negative: bool,
        mut callback: Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
    ) -> Result<ArrayD<f32>> {
        let data_shape = projector.out_shape();
        super::em::check_schedule(self.iterations, self.subsets, data_shape[0])?;
        if !(relaxation > 0.0 && relaxation < 2.0) {
            return Err(Error::InvalidArgument(format!(
                "relaxation λ is {relaxation}; expected a value in (0, 2)"
            )));
        }
        let sinogram = check_input("sinogram", sinogram, &data_shape)?;
        let p_all = sinogram.as_slice().expect("standard layout");
        let view_len: usize = data_shape[1..].iter().product();
        let shape = projector.in_shape();
        let ones_image = vec![1.0f32; shape.iter().product()];
        let subsets = self.subset_operators(projector)?;
        // Row sums A_s 1 and column sums A_sᵀ 1 per subset, once.
        let mut sums = Vec::with_capacity(subsets.len());
        for (p, _) in &subsets {
            let rows = forward(p, &ones_image)?;
            let cols = adjoint(p, &vec![1.0f32; rows.len()])?;
            sums.push((rows, cols));
        }
        let mut x = self.start(&shape)?;
        let lambda = relaxation as f32;
        for it in 0..self.iterations {
            for ((p, views), (rows, cols)) in subsets.iter().zip(&sums) {
                let mut residual = forward(p, &x)?;
                for (a, &v) in views.iter().enumerate() {
                    let measured = &p_all[v * view_len..(v + 1) * view_len];
                    let res = &mut residual[a * view_len..(a + 1) * view_len];
                    let row = &rows[a * view_len..(a + 1) * view_len];
                    for ((e, m), w) in res.iter_mut().zip(measured).zip(row) {
                        *e = if *w > 0.0 { (m - *e) / w } else { 0.0 };
                    }
                }
                let correction = adjoint(p, &residual)?;
                for ((xj, c), s) in x.iter_mut().zip(correction.iter()).zip(cols.iter()) {
                    if *s > 0.0 {
                        *xj += lambda * c / s;
                        if non_negative {
                            *xj = xj.max(0.0);
                        }
                    }
                }
            }
            if !report(&mut callback, it, &shape, &x) {
                break;
            }
        }
        Ok(ArrayD::from_shape_vec(IxDyn(&shape), x).expect("image shape"))
    }
}

/// Calls `callback` (if any) after iteration `it` (0-based) with image `x`; false stops.
fn report(
    callback: &mut Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
    it: usize,
    shape: &[usize],
    x: &[f32],
) -> bool {
    match callback.as_deref_mut() {
        None => true,
        Some(cb) => cb(&IterationReport {
            iteration: it + 1,
            image: ArrayViewD::from_shape(IxDyn(shape), x).expect("image shape"),
            plan_bytes: 0,
        }),
    }
}

fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// CGLS (conjugate gradients on the normal equations `AᵀA x = Aᵀ p`) for post-log line
/// integrals `data`, from 0 or `x0`: the least-squares residual `‖A x − p‖` never increases.
/// No constraint (a negative voxel stays); stop early for regularisation. `callback` is called
/// after every iteration and returns `false` to stop.
///
/// # Errors
/// [`Error::InvalidArgument`] for zero iterations; shape and finiteness errors; backend
/// failures.
pub fn cgls<A: LinearOperator>(
    op: &A,
    data: ArrayViewD<'_, f32>,
    iterations: usize,
    x0: Option<ArrayViewD<'_, f32>>,
    mut callback: Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
) -> Result<ArrayD<f32>> {
    if iterations == 0 {
        return Err(Error::InvalidArgument(
            "CGLS needs at least 1 iteration".into(),
        ));
    }
    let shape = op.in_shape();
    let data = check_input("projection data", data, &op.out_shape())?;
    let b = data.as_slice().expect("standard layout");
    let mut x = match x0 {
        Some(x0) => check_input("x0", x0, &shape)?
            .as_slice()
            .expect("standard layout")
            .to_vec(),
        None => vec![0.0f32; shape.iter().product()],
    };
    let ax = forward(op, &x)?;
    let mut r: Vec<f32> = b.iter().zip(&ax).map(|(b, a)| b - a).collect();
    let mut s = adjoint(op, &r)?;
    let mut p = s.clone();
    let mut gamma = dot64(&s, &s);
    for it in 0..iterations {
        if gamma == 0.0 {
            break;
        }
        let q = forward(op, &p)?;
        let qq = dot64(&q, &q);
        if qq == 0.0 {
            break;
        }
        let alpha = (gamma / qq) as f32;
        x.iter_mut().zip(&p).for_each(|(x, p)| *x += alpha * p);
        r.iter_mut().zip(&q).for_each(|(r, q)| *r -= alpha * q);
        s = adjoint(op, &r)?;
        let next = dot64(&s, &s);
        let beta = (next / gamma) as f32;
        gamma = next;
        p.iter_mut().zip(&s).for_each(|(p, s)| *p = s + beta * *p);
        if !report(&mut callback, it, &shape, &x) {
            break;
        }
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), x).expect("image shape"))
}

/// The transmission log-likelihood `Σ y·ln ȳ − ȳ`, `ȳ = b·exp(−A μ) + r`, in f64 (for tests
/// and monitoring).
///
/// # Errors
/// Shape and finiteness errors; GPU failures.
pub fn transmission_log_likelihood<A: LinearOperator>(
    projector: &A,
    counts: ArrayViewD<'_, f32>,
    blank: ArrayViewD<'_, f32>,
    background: Option<ArrayViewD<'_, f32>>,
    mu: ArrayViewD<'_, f32>,
) -> Result<f64> {
    let mu = check_input("mu", mu, &projector.in_shape())?;
    let line = forward(projector, mu.as_slice().expect("standard layout"))?;
    let mut expected: Vec<f32> = line
        .iter()
        .zip(blank.iter())
        .map(|(l, b)| b * (-l).exp())
        .collect();
    if let Some(r) = background {
        expected.iter_mut().zip(r.iter()).for_each(|(e, r)| *e += r);
    }
    let y: Vec<f32> = counts.iter().copied().collect();
    Ok(super::em::poisson_log_likelihood(&y, &expected))
}
