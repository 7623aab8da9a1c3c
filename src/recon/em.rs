//! Maximum-likelihood expectation maximisation (MLEM) and its ordered-subsets form (OSEM) for
//! emission data, `ȳ = A x + b` with Poisson counts `y` (CONVENTIONS.md, "Emission model").
//!
//! Written once over [`SystemModel`]: the image, the measured data, the background and one
//! sensitivity image per subset stay in the backend's memory (device buffers on a GPU) from
//! the first iteration to the last; each sub-iteration is four stages run where the data is:
//!
//! ```text
//! ȳ_s = A_s x            (forward; prior_gradient first for MAP)
//! q_s = m_s · y_s / (m_s · ȳ_s + b_s)  (em_ratio; 0 where the denominator ≤ 0; m: the
//!                        model's factors, 1 for SPECT)
//! c   = A_sᵀ q_s          (adjoint)
//! x  ← x · c / A_sᵀ m     (em_update; unchanged where A_sᵀ m = 0)
//! ```
//!
//! Subsets are interleaved views (`view mod S`), visited in bit-reversed order so consecutive
//! subsets look from far-apart angles. Voxels no view sees (zero total sensitivity) are 0 in
//! the result; every division is guarded, so the output never holds NaN.

use super::postfilter::gaussian_filter_3d;
use super::prior::Prior;
use crate::array::non_negative_input;
use crate::error::{Error, Result};
use crate::operator::SystemModel;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use std::ops::Range;

/// What one finished iteration reports to a callback.
#[derive(Debug)]
pub struct IterationReport<'a> {
    /// Iterations done so far (1 after the first).
    pub iteration: usize,
    /// The current image, `[z, y, x]` (read back from the device for the callback).
    pub image: ArrayViewD<'a, f32>,
    /// Bytes of backend memory (device buffers on a GPU) the reconstruction's plan holds.
    pub plan_bytes: u64,
}

/// OSEM settings; [`Osem::mlem`] is the one-subset case.
#[derive(Debug, Clone)]
pub struct Osem<'a> {
    /// Full passes through the data (≥ 1).
    pub iterations: usize,
    /// Ordered subsets of views (1 ≤ subsets ≤ views).
    pub subsets: usize,
    /// Additive background `b` (scatter, randoms), shaped like the data, finite and ≥ 0.
    pub background: Option<ArrayViewD<'a, f32>>,
    /// Starting image, finite and ≥ 0 (default: uniform at the level of the measured counts
    /// wherever some view sees the voxel, 0 elsewhere).
    pub x0: Option<ArrayViewD<'a, f32>>,
    /// FWHM (mm) of a 3D Gaussian applied to the result, if any.
    pub post_filter_fwhm: Option<f64>,
    /// A prior for one-step-late MAP-EM (Green 1990): each sub-iteration divides by
    /// `A_sᵀ1 + β·∇U(x)` (kept ≥ A_sᵀ1 / 100) with the gradient at the current image.
    pub prior: Option<Prior>,
    /// Bytes the data-sized inputs (measured data, background, multiplicative factors) may
    /// take in the backend's memory (`None`: no bound). Above it they stay in host memory and
    /// each subset's share is sent before its update: the same image, with device memory
    /// bounded by one subset (span-1 PET, list mode of 10⁸ events). Inputs larger than one
    /// binding of the device are sent so in any case.
    pub max_resident_bytes: Option<u64>,
}

impl<'a> Osem<'a> {
    /// OSEM with `iterations` passes over `subsets` subsets and no background.
    pub fn new(iterations: usize, subsets: usize) -> Self {
        Self {
            iterations,
            subsets,
            background: None,
            x0: None,
            post_filter_fwhm: None,
            prior: None,
            max_resident_bytes: None,
        }
    }

    /// MLEM: OSEM with one subset.
    pub fn mlem(iterations: usize) -> Self {
        Self::new(iterations, 1)
    }

    /// Reconstructs `data` (counts, finite and ≥ 0, shaped like the model's data: `[views, rows,
    /// cols]`, or `[views, cols]` for a 2D PET model) through `model`; returns the image in the
    /// model's image shape (`vol[z, y, x]` or `img[y, x]`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero iterations, more subsets than views, negative counts
    /// or a bad filter width; [`Error::ShapeMismatch`] or [`Error::NonFinite`] for bad arrays;
    /// GPU failures.
    pub fn run(&self, model: &impl SystemModel, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        self.run_with(model, data, None)
    }

    /// As [`Osem::run`], calling `callback` after every iteration; it returns `false` to stop
    /// early (the image of that iteration is then the result).
    ///
    /// # Errors
    /// As [`Osem::run`].
    pub fn run_with(
        &self,
        model: &impl SystemModel,
        data: ArrayViewD<'_, f32>,
        mut callback: Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
    ) -> Result<ArrayD<f32>> {
        self.check_settings(model.data_shape()[0])?;
        let mut start = start(
            model,
            data,
            self.background.clone(),
            self.x0.clone(),
            self.subsets,
            self.max_resident_bytes,
        )?;

        let prior = self
            .prior
            .map(|p| (p.params(&start.image_shape, model.spacing()), p.beta as f32));
        for iteration in 1..=self.iterations {
            for s in 0..start.subsets.len() {
                let plan = &mut start.plan;
                if let Some((params, _)) = &prior {
                    plan.prior_gradient(params)?;
                }
                plan.forward(s)?;
                plan.em_ratio(s)?;
                plan.adjoint(s)?;
                plan.em_update(s, prior.map_or(0.0, |(_, beta)| beta))?;
            }
            if !start.report(iteration, &mut callback)? {
                break;
            }
        }
        start.finish(self.post_filter_fwhm, model.spacing())
    }

    fn check_settings(&self, n_views: usize) -> Result<()> {
        check_schedule(self.iterations, self.subsets, n_views)?;
        check_post_filter(self.post_filter_fwhm)
    }
}

/// What every EM-type algorithm starts from: a plan with the measured data and background
/// loaded and every subset's sensitivity image made, the starting image written to it (`x0`,
/// or uniform at the measured counts' level ([`uniform_start`]), and 0 wherever no view sees
/// the voxel), the subsets and the image shape.
pub(super) struct Start {
    pub plan: Box<dyn crate::backend::resident::ResidentModel>,
    pub image: Vec<f32>,
    pub subsets: Vec<Range<usize>>,
    pub image_shape: Vec<usize>,
}

impl Start {
    /// After iteration `iteration`: the image to `callback`, if any; `false` when it asks to
    /// stop.
    pub fn report(
        &mut self,
        iteration: usize,
        callback: &mut Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
    ) -> Result<bool> {
        let Some(cb) = callback.as_deref_mut() else {
            return Ok(true);
        };
        self.plan.read_image(&mut self.image)?;
        let view =
            ArrayViewD::from_shape(IxDyn(&self.image_shape), &self.image).expect("image shape");
        Ok(cb(&IterationReport {
            iteration,
            image: view,
            plan_bytes: self.plan.memory_bytes(),
        }))
    }

    /// The final image, smoothed by a 3D Gaussian of `post_filter_fwhm` mm when given.
    pub fn finish(
        mut self,
        post_filter_fwhm: Option<f64>,
        spacing: [f64; 3],
    ) -> Result<ArrayD<f32>> {
        self.plan.read_image(&mut self.image)?;
        let mut result =
            ArrayD::from_shape_vec(IxDyn(&self.image_shape), self.image).expect("image shape");
        if let Some(fwhm) = post_filter_fwhm {
            gaussian_filter_3d(&mut result, fwhm, spacing);
        }
        Ok(result)
    }
}

/// Checks a post-filter FWHM: finite and > 0 when given.
pub(super) fn check_post_filter(fwhm: Option<f64>) -> Result<()> {
    match fwhm {
        Some(f) if !(f.is_finite() && f > 0.0) => Err(Error::InvalidArgument(format!(
            "post-filter FWHM is {f} mm; expected a finite value > 0"
        ))),
        _ => Ok(()),
    }
}

/// Builds [`Start`] for `model` and `data` in `n_subsets` interleaved subsets.
///
/// # Errors
/// Bad shapes or values of `data`, `background` or `x0`; a GPU failure.
pub(super) fn start(
    model: &impl SystemModel,
    data: ArrayViewD<'_, f32>,
    background: Option<ArrayViewD<'_, f32>>,
    x0: Option<ArrayViewD<'_, f32>>,
    n_subsets: usize,
    max_resident_bytes: Option<u64>,
) -> Result<Start> {
    let image_shape = model.image_shape();
    let data_shape = model.data_shape();
    let (order, subsets) = subset_plan(data_shape[0], n_subsets);
    let view_len: usize = data_shape[1..].iter().product();
    // Checked, flat, in plan order: the copies live only until they are loaded.
    let plan_order = |what: &'static str, a: ArrayViewD<'_, f32>| -> Result<Vec<f32>> {
        let flat = non_negative_input(what, a, &data_shape)?;
        Ok(order
            .iter()
            .flat_map(|&v| flat[v * view_len..(v + 1) * view_len].iter().copied())
            .collect())
    };
    let measured = plan_order("data", data)?;
    let background = background
        .map(|b| plan_order("background", b))
        .transpose()?;
    let sum = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>();
    let counts = sum(&measured);
    let net = counts - background.as_deref().map_or(0.0, sum);
    let mut plan = model.plan(&order, subsets.clone(), max_resident_bytes)?.0;
    plan.load_measured(measured, background)?;

    // Sensitivity images A_sᵀ m, once; their sum marks the voxels some view sees.
    let image_len: usize = image_shape.iter().product();
    let mut seen = vec![false; image_len];
    let mut back = vec![0f32; image_len];
    let mut sensitivity = 0.0f64;
    for s in 0..subsets.len() {
        plan.sensitivity(s)?;
        plan.read_back(&mut back)?;
        seen.iter_mut().zip(&back).for_each(|(m, &v)| *m |= v > 0.0);
        sensitivity += sum(&back);
    }
    let mut image = match x0 {
        Some(x0) => non_negative_input("x0", x0, &image_shape)?,
        None => vec![uniform_start(counts, net, sensitivity); image_len],
    };
    image
        .iter_mut()
        .zip(&seen)
        .for_each(|(x, &m)| *x = if m { *x } else { 0.0 });
    plan.write_image(&image)?;
    Ok(Start {
        plan,
        image,
        subsets,
        image_shape,
    })
}

/// The value of the default starting image: uniform, with as many expected counts as were
/// measured above the background, `(Σy − Σb) / Σ_j (Aᵀm)_j` (since `Σ m·A x = ⟨Aᵀm, x⟩`), or
/// `Σy / Σ_j (Aᵀm)_j` when the background explains every count; 1 when neither is a positive
/// finite number. Without a background MLEM does not depend on the scale of a uniform start;
/// this keeps the first ratios near 1, far from the cap of `em_ratio`, in any units.
fn uniform_start(counts: f64, net: f64, sensitivity: f64) -> f32 {
    let c = (if net > 0.0 { net } else { counts } / sensitivity) as f32;
    if c.is_finite() && c > 0.0 { c } else { 1.0 }
}

/// Checks an ordered-subsets schedule: at least one iteration, between 1 and `n_views` subsets.
pub(crate) fn check_schedule(iterations: usize, subsets: usize, n_views: usize) -> Result<()> {
    if iterations == 0 {
        return Err(Error::InvalidArgument("iterations must be ≥ 1".into()));
    }
    if subsets == 0 || subsets > n_views {
        return Err(Error::InvalidArgument(format!(
            "{subsets} subsets for {n_views} views; expected between 1 and the number of views"
        )));
    }
    Ok(())
}

/// The plan order of views and the subset ranges: subset `s` holds views `v ≡ s (mod S)`;
/// subsets are laid out (and visited) in bit-reversed order of `s`.
pub(crate) fn subset_plan(n_views: usize, n_subsets: usize) -> (Vec<usize>, Vec<Range<usize>>) {
    let bits = n_subsets.next_power_of_two().trailing_zeros();
    let reverse = |s: usize| {
        if bits == 0 {
            0
        } else {
            s.reverse_bits() >> (usize::BITS - bits)
        }
    };
    let visit: Vec<usize> = (0..n_subsets.next_power_of_two())
        .map(reverse)
        .filter(|&s| s < n_subsets)
        .collect();
    let mut order = Vec::with_capacity(n_views);
    let mut ranges = Vec::with_capacity(n_subsets);
    for s in visit {
        let start = order.len();
        order.extend((s..n_views).step_by(n_subsets));
        ranges.push(start..order.len());
    }
    (order, ranges)
}

/// Poisson log-likelihood `Σ y·ln ȳ − ȳ` (without the `ln y!` constant), in f64.
/// A bin with `ȳ ≤ 0` adds 0 when `y = 0` and makes the result −∞ otherwise.
pub fn poisson_log_likelihood(measured: &[f32], expected: &[f32]) -> f64 {
    measured
        .iter()
        .zip(expected)
        .map(|(&y, &e)| match (y as f64, e as f64) {
            (y, e) if e > 0.0 => y * e.ln() - e,
            (0.0, _) => 0.0,
            _ => f64::NEG_INFINITY,
        })
        .sum()
}

/// The log-likelihood of `image` for `data` under `model` with optional `background`.
///
/// # Errors
/// Bad shapes or values, or a GPU failure.
pub fn log_likelihood(
    model: &impl SystemModel,
    data: ArrayViewD<'_, f32>,
    image: ArrayViewD<'_, f32>,
    background: Option<ArrayViewD<'_, f32>>,
) -> Result<f64> {
    let mut expected = model.expected(image)?;
    if let Some(b) = background {
        expected += &b;
    }
    let measured = non_negative_input("data", data, &model.data_shape())?;
    Ok(poisson_log_likelihood(
        &measured,
        expected.as_slice().expect("standard layout"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_are_interleaved_balanced_and_bit_reversed() {
        let (order, ranges) = subset_plan(16, 4);
        assert_eq!(ranges, vec![0..4, 4..8, 8..12, 12..16]);
        assert_eq!(&order[..8], &[0, 4, 8, 12, 2, 6, 10, 14]);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..16).collect::<Vec<_>>());
        let (order, ranges) = subset_plan(10, 3);
        assert_eq!(
            ranges.iter().map(|r| r.len()).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        assert_eq!(order.len(), 10);
        let (order, ranges) = subset_plan(5, 1);
        assert_eq!(order, (0..5).collect::<Vec<_>>());
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges[0], 0..5);
    }

    #[test]
    fn likelihood_handles_empty_bins() {
        assert_eq!(poisson_log_likelihood(&[0.0], &[0.0]), 0.0);
        assert_eq!(poisson_log_likelihood(&[1.0], &[0.0]), f64::NEG_INFINITY);
        assert!((poisson_log_likelihood(&[2.0], &[1.0]) - (-1.0)).abs() < 1e-12);
    }
}
