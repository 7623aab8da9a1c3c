//! The interface iterative algorithms are written against: a system model whose image,
//! projections, measured data and sensitivity images live in the backend's memory (device
//! buffers or host vectors) between calls, with one operation per compute stage.
//!
//! Views are in *plan order*: the plan was built for a list of subsets, each a contiguous
//! range of plan-order views; projections and measured data are `[view, row, col]` in that
//! order.

use crate::backend::layout::PriorParams;
use crate::error::Result;
use std::ops::Range;

/// A system model resident on its backend. Buffers it holds, each allocated once:
/// the image and the back-projection (volume-sized), the μ-map when modelled, the
/// projections of one subset, per-batch rotated-frame work buffers, and, once
/// [`ResidentModel::load_measured`] is called, the measured data, the background and the
/// factors (whole, or one subset's share at a time), one sensitivity image per subset and the
/// prior's gradient (volume-sized).
pub(crate) trait ResidentModel: Send + std::fmt::Debug {
    /// Overwrites the image with `x`.
    fn write_image(&mut self, x: &[f32]) -> Result<()>;
    /// Copies the image into `out`.
    fn read_image(&mut self, out: &mut [f32]) -> Result<()>;
    /// Copies the last back-projection into `out`.
    fn read_back(&mut self, out: &mut [f32]) -> Result<()>;
    /// Overwrites the projections of `subset` with `data` (`[views of the subset, rows, cols]`).
    fn write_projections(&mut self, subset: usize, data: &[f32]) -> Result<()>;
    /// Copies the projections of `subset` into `out`.
    fn read_projections(&mut self, subset: usize, out: &mut [f32]) -> Result<()>;
    /// Projections of `subset` ← A_subset · image.
    fn forward(&mut self, subset: usize) -> Result<()>;
    /// Back-projection ← A_subsetᵀ · projections of `subset`.
    fn adjoint(&mut self, subset: usize) -> Result<()>;
    /// Takes the measured data and optional additive background (whole data, plan order,
    /// already checked to be finite and ≥ 0), and allocates the sensitivity images. They and
    /// the multiplicative factors are uploaded whole when they fit the plan's bound on
    /// resident bytes ([`crate::operator::SystemModel::plan`]) and each fits one binding of
    /// the device; else they stay in host memory
    /// and each subset's share is written to buffers of one subset before its ratio: the same
    /// numbers, a bounded footprint.
    fn load_measured(&mut self, measured: Vec<f32>, background: Option<Vec<f32>>) -> Result<()>;
    /// Back-projection ← A_subsetᵀ m (m the model's multiplicative factors, 1 without them),
    /// kept as the sensitivity image of `subset`; overwrites the subset's projections.
    fn sensitivity(&mut self, subset: usize) -> Result<()>;
    /// Projections of `subset` ← measured / (projections + background), 0 where the
    /// denominator is not positive.
    fn em_ratio(&mut self, subset: usize) -> Result<()>;
    /// Prior gradient ← ∇U(image) (needs [`ResidentModel::load_measured`] first).
    fn prior_gradient(&mut self, params: &PriorParams) -> Result<()>;
    /// Image ← image · back-projection / (sensitivity of `subset` + β · prior gradient),
    /// unchanged where the sensitivity is 0 (β = 0: plain EM).
    fn em_update(&mut self, subset: usize, beta: f32) -> Result<()>;
    /// BSREM's step: image ← max(floor, image + α · (image / p) · (S · (back-projection −
    /// sensitivity of `subset`) − β · prior gradient)), p the sum of the subsets' sensitivity
    /// images and S their number; unchanged where p is 0.
    fn bsrem_update(&mut self, subset: usize, alpha: f32, beta: f32, floor: f32) -> Result<()>;
    /// Bytes of backend memory the plan holds.
    fn memory_bytes(&self) -> u64;
}

/// Views per batch so that one rotated-frame buffer of `batch × frame_len` floats stays
/// within `max_bytes` (at least one view, at most the largest subset).
pub(crate) fn views_per_batch(frame_len: usize, max_bytes: u64, largest_subset: usize) -> usize {
    ((max_bytes / (4 * frame_len as u64).max(1)) as usize).clamp(1, largest_subset.max(1))
}

/// Batches `(first view, count)` covering `range` in steps of `batch`.
pub(crate) fn batches(range: Range<usize>, batch: usize) -> impl Iterator<Item = (usize, usize)> {
    range
        .clone()
        .step_by(batch)
        .map(move |first| (first, batch.min(range.end - first)))
}
