//! BSREM (block sequential regularised EM, De Pierro & Yamagishi 2001; Ahn & Fessler 2003):
//! penalised-likelihood reconstruction `max_x L(x) − β·U(x)` for emission data, convergent
//! where one-step-late MAP-EM is not (OSL divides by `A_sᵀ1 + β∇U`, which large β can make
//! small or negative).
//!
//! Each sub-iteration is a relaxed gradient step on the subset's share of the objective,
//! preconditioned by the EM scaling `x / p` (`p = Aᵀ1`, the whole data's sensitivity):
//!
//! ```text
//! x ← max(floor, x + α_n · (x / p) · (S · (A_sᵀ q_s − A_sᵀ 1) − β ∇U(x)))
//! ```
//!
//! with `q_s = y_s / ȳ_s`, `S` subsets and `α_n = 1 / (1 + relaxation · n)` in iteration `n`
//! (from 0). As `α_n → 0` with `Σ α_n = ∞` the ordered subsets' cycle settles on the
//! penalised-likelihood maximiser; the objective then increases from iteration to iteration.
//! With one subset and α = 1, β = 0 it is exactly MLEM's update. Written once over
//! [`SystemModel`], with the same stages as OSEM plus `bsrem_update`, so it serves SPECT
//! and PET alike on either backend.

use super::em::{IterationReport, check_post_filter, start};
use super::prior::Prior;
use crate::error::{Error, Result};
use crate::operator::SystemModel;
use ndarray::{ArrayD, ArrayViewD};

/// BSREM settings.
#[derive(Debug, Clone)]
pub struct Bsrem<'a> {
    /// Full passes through the data (≥ 1).
    pub iterations: usize,
    /// Ordered subsets of views (1 ≤ subsets ≤ views).
    pub subsets: usize,
    /// The penalty and its weight β (the relative-difference prior is the usual choice).
    pub prior: Prior,
    /// `α_n = 1 / (1 + relaxation · n)`; ≥ 0 (0 keeps α = 1, which does not converge with
    /// more than one subset).
    pub relaxation: f64,
    /// Additive background `b` (scatter, randoms), shaped like the data, finite and ≥ 0.
    pub background: Option<ArrayViewD<'a, f32>>,
    /// Starting image, finite and ≥ 0 (default: uniform at the level of the measured counts
    /// wherever some view sees the voxel); an OSEM image shortens the way.
    pub x0: Option<ArrayViewD<'a, f32>>,
    /// FWHM (mm) of a 3D Gaussian applied to the result, if any.
    pub post_filter_fwhm: Option<f64>,
    /// Bytes the data-sized inputs may take in the backend's memory, as
    /// [`super::Osem::max_resident_bytes`].
    pub max_resident_bytes: Option<u64>,
}

impl<'a> Bsrem<'a> {
    /// BSREM with `iterations` passes over `subsets` subsets, `prior`, and the relaxation
    /// 0.3 (α = 1, 0.77, 0.63, 0.53, … : below ½ from the 5th iteration).
    pub fn new(iterations: usize, subsets: usize, prior: Prior) -> Self {
        Self {
            iterations,
            subsets,
            prior,
            relaxation: 0.3,
            background: None,
            x0: None,
            post_filter_fwhm: None,
            max_resident_bytes: None,
        }
    }

    /// Reconstructs `data` (shaped as `model.data_shape()`).
    ///
    /// # Errors
    /// Bad settings, shapes or values; a GPU failure.
    pub fn run(&self, model: &impl SystemModel, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        self.run_with(model, data, None)
    }

    /// As [`Bsrem::run`], calling `callback` after every iteration; it returns `false` to
    /// stop early.
    ///
    /// # Errors
    /// As [`Bsrem::run`].
    pub fn run_with(
        &self,
        model: &impl SystemModel,
        data: ArrayViewD<'_, f32>,
        mut callback: Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
    ) -> Result<ArrayD<f32>> {
        super::em::check_schedule(self.iterations, self.subsets, model.data_shape()[0])?;
        if !(self.relaxation.is_finite() && self.relaxation >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "BSREM relaxation is {}; expected a finite value ≥ 0",
                self.relaxation
            )));
        }
        check_post_filter(self.post_filter_fwhm)?;
        let mut start = start(
            model,
            data,
            self.background.clone(),
            self.x0.clone(),
            self.subsets,
            self.max_resident_bytes,
        )?;
        // The lower bound keeps the preconditioner x/p positive: 1e-6 of the starting image's
        // mean over the voxels it holds.
        let held: Vec<f32> = start.image.iter().copied().filter(|&v| v > 0.0).collect();
        let mean = held.iter().map(|&v| v as f64).sum::<f64>() / held.len().max(1) as f64;
        let floor = (1e-6 * mean).max(f32::MIN_POSITIVE as f64) as f32;
        let params = self.prior.params(&start.image_shape, model.spacing());
        let beta = self.prior.beta as f32;
        for iteration in 1..=self.iterations {
            let alpha = (1.0 / (1.0 + self.relaxation * (iteration - 1) as f64)) as f32;
            for s in 0..start.subsets.len() {
                let plan = &mut start.plan;
                plan.prior_gradient(&params)?;
                plan.forward(s)?;
                plan.em_ratio(s)?;
                plan.adjoint(s)?;
                plan.bsrem_update(s, alpha, beta, floor)?;
            }
            if !start.report(iteration, &mut callback)? {
                break;
            }
        }
        start.finish(self.post_filter_fwhm, model.spacing())
    }
}

/// A noise level for BSREM to reach by its choice of β ([`Bsrem::run_for_noise`]): the
/// coefficient of variation (`std / mean`, voxel by voxel) over a region that should be
/// uniform (a phantom's background, a patient's liver).
#[derive(Debug, Clone)]
pub struct NoiseTarget<'a> {
    /// The region, shaped like the image.
    pub region: ArrayViewD<'a, bool>,
    /// The coefficient of variation wanted (> 0).
    pub noise: f64,
    /// How close to `noise` is close enough, relative (default 0.03: within 3 %).
    pub tolerance: f64,
    /// Reconstructions the search may run (default 12).
    pub max_reconstructions: usize,
}

impl<'a> NoiseTarget<'a> {
    /// `noise` over `region`, within 3 %, in at most 12 reconstructions.
    pub fn new(region: ArrayViewD<'a, bool>, noise: f64) -> Self {
        Self {
            region,
            noise,
            tolerance: 0.03,
            max_reconstructions: 12,
        }
    }
}

/// What [`Bsrem::run_for_noise`] found.
#[derive(Debug, Clone)]
pub struct NoiseMatched {
    /// The β chosen.
    pub beta: f64,
    /// The image reconstructed with it.
    pub image: ArrayD<f32>,
    /// Its coefficient of variation over the region.
    pub noise: f64,
    /// Reconstructions the search ran.
    pub reconstructions: usize,
}

impl Bsrem<'_> {
    /// BSREM with the β that gives the target noise over the target region (the prior's own β
    /// is where the search starts): β is multiplied or divided by 4 until the noise brackets
    /// the target, then bisected on log β. More smoothing (a larger β) lowers the noise.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a prior of β ≤ 0, a target that is not finite and > 0,
    /// a tolerance not in (0, 1), no reconstruction allowed, a region of another shape than
    /// the image or of fewer than 2 voxels, a region whose mean is not positive; a target no
    /// β reached in `max_reconstructions` (with the closest found); as [`Bsrem::run`].
    pub fn run_for_noise(
        &self,
        model: &impl SystemModel,
        data: ArrayViewD<'_, f32>,
        target: &NoiseTarget<'_>,
    ) -> Result<NoiseMatched> {
        let start_beta = self.prior.beta;
        if !(start_beta.is_finite() && start_beta > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "the noise search starts from the prior's β, {start_beta}; expected a finite \
                 value > 0"
            )));
        }
        let noise_ok = target.noise.is_finite() && target.noise > 0.0;
        let tolerance_ok = target.tolerance > 0.0 && target.tolerance < 1.0;
        if !noise_ok || !tolerance_ok || target.max_reconstructions == 0 {
            return Err(Error::InvalidArgument(format!(
                "noise target {} within {} in {} reconstructions; expected a finite target > 0, \
                 a tolerance in (0, 1) and at least one reconstruction",
                target.noise, target.tolerance, target.max_reconstructions
            )));
        }
        let shape = model.image_shape();
        if target.region.shape() != shape.as_slice() {
            return Err(Error::ShapeMismatch {
                what: "noise region",
                expected: shape,
                got: target.region.shape().to_vec(),
            });
        }
        if target.region.iter().filter(|&&r| r).count() < 2 {
            return Err(Error::InvalidArgument(
                "the noise region holds fewer than 2 voxels".into(),
            ));
        }
        let mut runs = 0;
        let mut reconstruct = |beta: f64| -> Result<(f64, ArrayD<f32>)> {
            runs += 1;
            let settings = Bsrem {
                prior: Prior { beta, ..self.prior },
                ..self.clone()
            };
            let image = settings.run(model, data.view())?;
            Ok((noise_over(&image, &target.region)?, image))
        };
        let close = |noise: f64| (noise / target.noise - 1.0).abs() <= target.tolerance;
        let mut best: Option<NoiseMatched> = None;
        // The β on each side of the target: too noisy (β too small), too smooth.
        let (mut noisy, mut smooth): (Option<f64>, Option<f64>) = (None, None);
        let mut beta = start_beta;
        for _ in 0..target.max_reconstructions {
            let (noise, image) = reconstruct(beta)?;
            let better = best.as_ref().is_none_or(|b| {
                (noise / target.noise).ln().abs() < (b.noise / target.noise).ln().abs()
            });
            if better {
                best = Some(NoiseMatched {
                    beta,
                    image,
                    noise,
                    reconstructions: 0,
                });
            }
            if close(noise) {
                break;
            }
            if noise > target.noise {
                noisy = Some(beta);
            } else {
                smooth = Some(beta);
            }
            beta = match (noisy, smooth) {
                (Some(lo), Some(hi)) => (lo * hi).sqrt(),
                (Some(_), None) => beta * 4.0,
                (None, Some(_)) => beta / 4.0,
                (None, None) => unreachable!("one side was just set"),
            };
        }
        let mut best = best.expect("at least one reconstruction");
        if !close(best.noise) {
            return Err(Error::InvalidArgument(format!(
                "no β reached the noise {} (within {} %) in {runs} reconstructions; the closest, \
                 β = {:.4e}, gave {:.4}",
                target.noise,
                100.0 * target.tolerance,
                best.beta,
                best.noise
            )));
        }
        best.reconstructions = runs;
        Ok(best)
    }
}

/// Coefficient of variation of `image` over `region`.
fn noise_over(image: &ArrayD<f32>, region: &ArrayViewD<'_, bool>) -> Result<f64> {
    let values: Vec<f64> = image
        .iter()
        .zip(region.iter())
        .filter(|(_, r)| **r)
        .map(|(v, _)| *v as f64)
        .collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean.is_nan() || mean <= 0.0 {
        return Err(Error::InvalidArgument(format!(
            "the image's mean over the noise region is {mean}; expected > 0"
        )));
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Ok(var.sqrt() / mean)
}

/// The penalised log-likelihood `L(x) − β·U(x)` BSREM maximises ([`super::log_likelihood`]
/// and [`Prior::penalty`]).
///
/// # Errors
/// As [`super::log_likelihood`].
pub fn penalised_log_likelihood(
    model: &impl SystemModel,
    data: ArrayViewD<'_, f32>,
    image: ArrayViewD<'_, f32>,
    background: Option<ArrayViewD<'_, f32>>,
    prior: &Prior,
) -> Result<f64> {
    let l = super::log_likelihood(model, data, image.view(), background)?;
    Ok(l - prior.beta * prior.penalty(image, model.spacing()))
}
