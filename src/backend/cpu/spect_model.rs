//! The SPECT system model on the CPU: host vectors in the roles of the GPU plan's buffers,
//! the twins in the roles of its dispatches.

use super::em_state::{HostEm, host_model_common};
use super::{
    spect_attenuation, spect_blur_cols, spect_blur_rows_sum, spect_rotate, spect_rotate_adjoint,
    spect_spread_rows,
};
use crate::backend::layout::SpectParams;
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

/// Attenuation factors depend only on the view and the μ-map: they are computed once and kept
/// for every view when they fit in this many bytes, else for the views of one subset (so the
/// adjoint after a forward projection reuses them), else recomputed per batch.
const MAX_ATTENUATION_CACHE_BYTES: u64 = 2 << 30;

/// What the attenuation buffer holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AttenuationCache {
    /// Every view, in plan order.
    All,
    /// The views of one subset.
    Subset,
    /// One batch, recomputed per call.
    Batch,
}

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
    /// Attenuation factors `[view, z, depth, col]` of the views `cache` says.
    att: Vec<f32>,
    cache: AttenuationCache,
    /// Per subset: whether `att` holds its factors.
    att_ready: Vec<bool>,
    rot: Vec<f32>,
    blur: Vec<f32>,
    em: Option<HostEm>,
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
        let n_views: usize = subsets.iter().map(|r| r.len()).sum();
        let n_subsets = subsets.len();
        let fits = |views: usize| {
            p.has_attenuation != 0 && 4 * (views * frame_len) as u64 <= MAX_ATTENUATION_CACHE_BYTES
        };
        let (cache, att_views) = if fits(n_views) {
            (AttenuationCache::All, n_views)
        } else if fits(largest) {
            (AttenuationCache::Subset, largest)
        } else {
            (AttenuationCache::Batch, batch)
        };
        Self {
            subsets,
            batch,
            mu: mu.unwrap_or_default(),
            image: vec![0.0; image_len],
            back: vec![0.0; image_len],
            proj: vec![0.0; largest * view_len],
            att: vec![0.0; att_views * frame_len],
            cache,
            att_ready: vec![false; n_subsets],
            rot: vec![0.0; batch * frame_len],
            blur: vec![0.0; batch * frame_len],
            em: None,
            lowered,
        }
    }

    fn batch_params(
        &self,
        subset: usize,
        first: usize,
        count: usize,
        accumulate: bool,
    ) -> SpectParams {
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
        let frame = (p.nz * p.n_depth * p.n_cols) as usize;
        match self.cache {
            AttenuationCache::All => first * frame,
            AttenuationCache::Subset => (first - self.subsets[subset].start) * frame,
            AttenuationCache::Batch => 0,
        }
    }

    /// Marks the factors of `subset` as held (and, for a one-subset cache, no other's).
    fn attenuation_done(&mut self, subset: usize) {
        match self.cache {
            AttenuationCache::All => self.att_ready[subset] = true,
            AttenuationCache::Subset => {
                self.att_ready.iter_mut().for_each(|r| *r = false);
                self.att_ready[subset] = true;
            }
            AttenuationCache::Batch => {}
        }
    }

    fn subset_len(&self, subset: usize) -> usize {
        self.subsets[subset].len() * self.view_len()
    }
}

impl ResidentModel for SpectCpu {
    host_model_common!();
    fn view_len(&self) -> usize {
        (self.lowered.params.nz * self.lowered.params.n_cols) as usize
    }
    fn forward(&mut self, subset: usize) -> Result<()> {
        let l = &self.lowered;
        let fresh = !self.att_ready[subset];
        for (first, count) in batches(self.subsets[subset].clone(), self.batch) {
            let p = self.batch_params(subset, first, count, false);
            let offset = self.frame_offset(subset, first);
            let att = &mut self.att[offset..];
            if p.has_attenuation != 0 && fresh {
                spect_attenuation(&p, &l.views, &self.mu, att);
            }
            spect_rotate(&p, &l.views, &self.image, att, &mut self.rot);
            spect_blur_cols(
                &p,
                &l.kernel_cols,
                &l.half_widths,
                &self.rot,
                &mut self.blur,
            );
            spect_blur_rows_sum(
                &p,
                &l.kernel_rows,
                &l.half_widths,
                &self.blur,
                &mut self.proj,
            );
        }
        self.attenuation_done(subset);
        Ok(())
    }
    fn adjoint(&mut self, subset: usize) -> Result<()> {
        let l = &self.lowered;
        let fresh = !self.att_ready[subset];
        for (i, (first, count)) in batches(self.subsets[subset].clone(), self.batch).enumerate() {
            let p = self.batch_params(subset, first, count, i > 0);
            let offset = self.frame_offset(subset, first);
            let att = &mut self.att[offset..];
            if p.has_attenuation != 0 && fresh {
                spect_attenuation(&p, &l.views, &self.mu, att);
            }
            spect_spread_rows(
                &p,
                &l.kernel_rows,
                &l.half_widths,
                &self.proj,
                &mut self.blur,
            );
            spect_blur_cols(
                &p,
                &l.kernel_cols,
                &l.half_widths,
                &self.blur,
                &mut self.rot,
            );
            spect_rotate_adjoint(&p, &l.views, att, &self.rot, &mut self.back);
        }
        self.attenuation_done(subset);
        Ok(())
    }
    fn load_measured(&mut self, measured: &[f32], background: Option<&[f32]>) -> Result<()> {
        self.em = Some(HostEm::new(
            measured,
            background,
            None,
            self.subsets.len(),
            self.image.len(),
        ));
        Ok(())
    }
    fn sensitivity(&mut self, subset: usize) -> Result<()> {
        self.write_projections(subset, &vec![1.0; self.subset_len(subset)])?;
        self.adjoint(subset)?;
        let em = self.em.as_mut().ok_or_else(not_loaded)?;
        em.keep_sensitivity(&self.back, subset);
        Ok(())
    }
    fn memory_bytes(&self) -> u64 {
        let floats = self.mu.len()
            + self.image.len()
            + self.back.len()
            + self.proj.len()
            + self.att.len()
            + self.rot.len()
            + self.blur.len();
        4 * floats as u64 + self.em.as_ref().map_or(0, HostEm::bytes)
    }
}
