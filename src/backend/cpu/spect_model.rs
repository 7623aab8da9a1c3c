//! The SPECT system model on the CPU: host vectors in the roles of the GPU plan's buffers,
//! the twins in the roles of its dispatches.

use super::em_state::HostEm;
use super::spect::{spect_attenuation, spect_blur_cols, spect_blur_rows_sum, spect_rotate, spect_rotate_adjoint, spect_spread_rows};
use crate::backend::layout::{PriorParams, SpectParams};
use crate::backend::resident::{ResidentModel, batches, views_per_batch};
use crate::error::Result;
use crate::geometry::SpectLowered;
use std::ops::Range;

/// The error for an EM step before [`ResidentModel::load_measured`].
pub(crate) fn not_loaded() -> crate::error::Error {
    crate::error::Error::InvalidArgument("EM step before the measured data were loaded".into())
}

/// Rotated-frame work buffers stay within this many bytes each.
const MAX_FRAME_BYTES: u64 = 64 << 20;

/// Attenuation factors are kept for a whole subset (reused by the adjoint after the forward
/// projection) when they fit in this many bytes.
const MAX_ATTENUATION_CACHE_BYTES: u64 = 512 << 20;

/// The SPECT model's buffers on the host.
#[derive(Debug)]
pub(crate) struct SpectCpu {
    lowered: SpectLowered,
    subsets: Vec<Range<usize>>,
    batch: usize,
    mu: Vec<f32>,
    image: Vec<f32>,
    back: Vec<f32>,
    proj: Vec<f32>,
    /// Attenuation factors of a whole subset (`[view of the subset, z, depth, col]`), kept
    /// from the forward projection for the adjoint that follows it in EM.
    att: Vec<f32>,
    /// Whether `att` holds whole subsets (else one batch, recomputed per call).
    att_cached: bool,
    /// Subset whose factors `att` holds.
    att_subset: Option<usize>,
    rot: Vec<f32>,
    blur: Vec<f32>,
    em: Option<HostEm>,
    /// Subset whose projections `proj` holds.
    proj_subset: usize,
}

impl SpectCpu {
    /// A model for `lowered` (views in plan order) with the μ-map `mu` (`[z, y, x]`, 1/mm) when
    /// `lowered.params.has_attenuation` is set.
    pub fn new(lowered: SpectLowered, mu: Option<Vec<f32>>, subsets: Vec<Range<usize>>) -> Self {
        let p = lowered.params;
        let image_len = (p.nx * p.ny * p.nz) as usize;
        let frame_len = (p.nz * p.n_depth * p.n_cols) as usize;
        let largest = subsets.iter().map(|r| r.len()).max().unwrap_or(1);
        let batch = views_per_batch(frame_len, MAX_FRAME_BYTES, largest);
        let view_len = (p.nz * p.n_cols) as usize;
        let att_cached = p.has_attenuation != 0 && 4 * (largest * frame_len) as u64 <= MAX_ATTENUATION_CACHE_BYTES;
        Self {
            subsets,
            batch,
            mu: mu.unwrap_or_default(),
            image: vec![0.0; image_len],
            back: vec![0.0; image_len],
            proj: vec![0.0; largest * view_len],
            att: vec![0.0; if att_cached { largest * frame_len } else { batch * frame_len }],
            att_cached,
            att_subset: None,
            rot: vec![0.0; batch * frame_len],
            blur: vec![0.0; batch * frame_len],
            em: None,
            proj_subset: 0,
            lowered,
        }
    }

    fn batch_params(&self, subset: usize, first: usize, count: usize, accumulate: bool) -> SpectParams {
        SpectParams {
            batch_first: first as u32,
            batch_count: count as u32,
            proj_first: self.subsets[subset].start as u32,
            accumulate: accumulate as u32,
            ..self.lowered.params
        }
    }

    /// Where the attenuation factors of plan-order view `first` of `subset` start in `att`.
    fn frame_offset(&self, subset: usize, first: usize) -> usize {
        let p = &self.lowered.params;
        if !self.att_cached {
            return 0;
        }
        (first - self.subsets[subset].start) * (p.nz * p.n_depth * p.n_cols) as usize
    }

    fn subset_len(&self, subset: usize) -> usize {
        self.subsets[subset].len() * self.view_len()
    }
}

impl ResidentModel for SpectCpu {
    fn image_len(&self) -> usize {
        self.image.len()
    }
    fn view_len(&self) -> usize {
        (self.lowered.params.nz * self.lowered.params.n_cols) as usize
    }
    fn write_image(&mut self, x: &[f32]) -> Result<()> {
        self.image.copy_from_slice(x);
        Ok(())
    }
    fn read_image(&mut self, out: &mut [f32]) -> Result<()> {
        out.copy_from_slice(&self.image);
        Ok(())
    }
    fn read_back(&mut self, out: &mut [f32]) -> Result<()> {
        out.copy_from_slice(&self.back);
        Ok(())
    }
    fn write_projections(&mut self, subset: usize, data: &[f32]) -> Result<()> {
        let len = self.subset_len(subset);
        self.proj[..len].copy_from_slice(data);
        self.proj_subset = subset;
        Ok(())
    }
    fn read_projections(&mut self, subset: usize, out: &mut [f32]) -> Result<()> {
        debug_assert_eq!(subset, self.proj_subset);
        let len = self.subset_len(subset);
        out.copy_from_slice(&self.proj[..len]);
        Ok(())
    }
    fn forward(&mut self, subset: usize) -> Result<()> {
        let l = &self.lowered;
        let fresh = self.att_subset != Some(subset);
        for (first, count) in batches(self.subsets[subset].clone(), self.batch) {
            let p = self.batch_params(subset, first, count, false);
            let offset = self.frame_offset(subset, first);
            let att = &mut self.att[offset..];
            if p.has_attenuation != 0 && fresh {
                spect_attenuation(&p, &l.views, &self.mu, att);
            }
            spect_rotate(&p, &l.views, &self.image, att, &mut self.rot);
            spect_blur_cols(&p, &l.kernel_cols, &l.half_widths, &self.rot, &mut self.blur);
            spect_blur_rows_sum(&p, &l.kernel_rows, &l.half_widths, &self.blur, &mut self.proj);
        }
        self.att_subset = self.att_cached.then_some(subset);
        self.proj_subset = subset;
        Ok(())
    }
    fn adjoint(&mut self, subset: usize) -> Result<()> {
        debug_assert_eq!(subset, self.proj_subset);
        let l = &self.lowered;
        let fresh = self.att_subset != Some(subset);
        for (i, (first, count)) in batches(self.subsets[subset].clone(), self.batch).enumerate() {
            let p = self.batch_params(subset, first, count, i > 0);
            let offset = self.frame_offset(subset, first);
            let att = &mut self.att[offset..];
            if p.has_attenuation != 0 && fresh {
                spect_attenuation(&p, &l.views, &self.mu, att);
            }
            spect_spread_rows(&p, &l.kernel_rows, &l.half_widths, &self.proj, &mut self.blur);
            spect_blur_cols(&p, &l.kernel_cols, &l.half_widths, &self.blur, &mut self.rot);
            spect_rotate_adjoint(&p, &l.views, att, &self.rot, &mut self.back);
        }
        self.att_subset = self.att_cached.then_some(subset);
        Ok(())
    }
    fn load_measured(&mut self, measured: &[f32], background: Option<&[f32]>) -> Result<()> {
        self.em = Some(HostEm::new(measured, background, None, self.subsets.len(), self.image.len()));
        Ok(())
    }
    fn sensitivity(&mut self, subset: usize) -> Result<()> {
        self.write_projections(subset, &vec![1.0; self.subset_len(subset)])?;
        self.adjoint(subset)?;
        let em = self.em.as_mut().ok_or_else(not_loaded)?;
        em.keep_sensitivity(&self.back, subset);
        Ok(())
    }
    fn em_ratio(&mut self, subset: usize) -> Result<()> {
        let (offset, len) = (self.subsets[subset].start * self.view_len(), self.subset_len(subset));
        let em = self.em.as_ref().ok_or_else(not_loaded)?;
        em.ratio(&mut self.proj, offset, len);
        Ok(())
    }
    fn prior_gradient(&mut self, params: &PriorParams) -> Result<()> {
        let em = self.em.as_mut().ok_or_else(not_loaded)?;
        em.prior_gradient(params, &self.image);
        Ok(())
    }
    fn em_update(&mut self, subset: usize, beta: f32) -> Result<()> {
        let em = self.em.as_ref().ok_or_else(not_loaded)?;
        em.update(&mut self.image, &self.back, subset, beta);
        Ok(())
    }
    fn memory_bytes(&self) -> u64 {
        let floats = self.mu.len()
            + self.image.len()
            + self.back.len()
            + self.proj.len()
            + self.att.len()
            + self.rot.len()
            + self.blur.len()
;
        4 * floats as u64 + self.em.as_ref().map_or(0, HostEm::bytes)
    }
}
