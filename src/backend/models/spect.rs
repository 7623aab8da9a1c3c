//! The SPECT model's stage sequences, resident for EM: forward `spect_attenuation` (when its
//! factors are not cached) → `spect_rotate` → `spect_blur_cols` → `spect_blur_rows_sum`, and the
//! adjoint `spect_spread_rows` → `spect_blur_cols` → `spect_rotate_adjoint`, a batch of views
//! at a time.

use super::Engine;
use super::resident::{Core, Resident, Sequence};
use crate::backend::Stage;
use crate::backend::engine::Buf;
use crate::backend::layout::SpectLowered;
use crate::backend::layout::SpectParams;
use crate::backend::resident::{batches, views_per_batch};
use crate::error::{Error, Result};
use std::ops::Range;

/// Attenuation factors depend only on the view and the μ-map, so they are computed once per
/// view when the engine's cache budget holds them: for every view, else for the views of one
/// subset (the adjoint after a forward projection reuses them), else per batch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AttenuationCache {
    /// Every view, in plan order.
    All,
    /// The views of one subset.
    Subset,
    /// One batch, recomputed per call.
    Batch,
}

/// The SPECT model's tables and work buffers.
#[derive(Debug)]
pub(crate) struct SpectModel {
    params: SpectParams,
    batch: usize,
    views: Buf,
    kernel_cols: Buf,
    kernel_rows: Buf,
    half_widths: Buf,
    mu: Buf,
    /// Attenuation factors `[view slot, z, depth, col]` of the views `cache` says.
    att: Buf,
    cache: AttenuationCache,
    /// Per subset: whether `att` holds its factors.
    att_ready: Vec<bool>,
    rot: Buf,
    blur: Buf,
}

impl SpectModel {
    /// A resident model for `lowered` (views in plan order) on `engine`, with the μ-map `mu`
    /// (`[z, y, x]`, 1/mm) when `lowered.params.has_attenuation` is set, and rotated-frame
    /// work buffers of at most `max_frame_bytes` each.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a buffer exceeds the device's binding limit or allocation fails.
    pub fn resident(
        mut engine: Engine,
        lowered: &SpectLowered,
        mu: Option<&[f32]>,
        subsets: Vec<Range<usize>>,
        max_frame_bytes: u64,
        max_resident_bytes: Option<u64>,
    ) -> Result<Resident<SpectModel>> {
        let p = lowered.params;
        let frame_len = (p.nz * p.n_depth * p.n_cols) as usize;
        let frame_bytes = 4 * frame_len as u64;
        if frame_bytes > engine.max_binding() {
            return Err(Error::Gpu(format!(
                "the rotated frame of one view needs {frame_bytes} bytes but the device binds \
                 at most {} bytes; use a smaller grid or the CPU backend",
                engine.max_binding()
            )));
        }
        let largest = subsets.iter().map(|r| r.len()).max().unwrap_or(1);
        let n_views: usize = subsets.iter().map(|r| r.len()).sum();
        let budget = max_frame_bytes.min(engine.work_buffer_budget());
        let batch = views_per_batch(frame_len, budget, largest)
            .min((engine.max_workgroups() / p.nz).max(1) as usize);
        let cache_budget = engine.cache_budget();
        let fits =
            |views: usize| p.has_attenuation != 0 && (4 * views * frame_len) as u64 <= cache_budget;
        let (cache, att_views) = if fits(n_views) {
            (AttenuationCache::All, n_views)
        } else if fits(largest) {
            (AttenuationCache::Subset, largest)
        } else if p.has_attenuation != 0 {
            (AttenuationCache::Batch, batch)
        } else {
            (AttenuationCache::Batch, 0)
        };
        let model = SpectModel {
            params: p,
            batch,
            views: engine.upload("SPECT views", &lowered.views)?,
            kernel_cols: engine.upload("column kernels", &lowered.kernel_cols)?,
            kernel_rows: engine.upload("row kernels", &lowered.kernel_rows)?,
            half_widths: engine.upload("kernel half-widths", &lowered.half_widths)?,
            mu: match mu {
                Some(m) => engine.upload("μ-map", m)?,
                None => engine.zeros("μ-map (none)", 1)?,
            },
            att: engine.zeros("attenuation factors", att_views * frame_len)?,
            cache,
            att_ready: vec![false; subsets.len()],
            rot: engine.zeros("rotated frames", batch * frame_len)?,
            blur: engine.zeros("blurred frames", batch * frame_len)?,
        };
        let image_len = (p.nx * p.ny * p.nz) as usize;
        let view_len = (p.nz * p.n_cols) as usize;
        let core = Core::new(
            engine,
            subsets,
            (image_len, view_len),
            None,
            max_resident_bytes,
        )?;
        Ok(Resident::new(core, model))
    }

    /// The parameters of the batch of `count` views from plan-order view `first` of `subset`.
    fn batch_params(
        &self,
        subsets: &[Range<usize>],
        subset: usize,
        first: usize,
        count: usize,
        accumulate: bool,
    ) -> SpectParams {
        let start = subsets[subset].start;
        SpectParams {
            batch_first: first as u32,
            batch_count: count as u32,
            proj_first: start as u32,
            accumulate: accumulate as u32,
            att_first: match self.cache {
                AttenuationCache::All => first as u32,
                AttenuationCache::Subset => (first - start) as u32,
                AttenuationCache::Batch => 0,
            },
            ..self.params
        }
    }

    /// `spect_attenuation` for the batch `p`, unless the cache already holds its factors.
    fn attenuation(&self, core: &mut Core, p: &SpectParams, fresh: bool) -> Result<()> {
        if p.has_attenuation == 0 || !fresh {
            return Ok(());
        }
        let bindings = [self.views, self.mu, self.att];
        let planes = [p.n_cols, p.nz, p.batch_count];
        core.engine
            .dispatch(Stage::SpectAttenuation, p, &bindings, planes)
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
}

impl Sequence for SpectModel {
    fn forward(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let fresh = !self.att_ready[subset];
        for (first, count) in batches(core.subsets[subset].clone(), self.batch) {
            let p = self.batch_params(&core.subsets, subset, first, count, false);
            self.attenuation(core, &p, fresh)?;
            let frames = [p.n_cols, p.n_depth, p.nz * p.batch_count];
            let e = &mut core.engine;
            let rotate = [self.views, core.image, self.att, self.rot];
            e.dispatch(Stage::SpectRotate, &p, &rotate, frames)?;
            let blur = [self.kernel_cols, self.half_widths, self.rot, self.blur];
            e.dispatch(Stage::SpectBlurCols, &p, &blur, frames)?;
            let sum = [self.kernel_rows, self.half_widths, self.blur, core.proj];
            e.dispatch(
                Stage::SpectBlurRowsSum,
                &p,
                &sum,
                [p.n_cols, p.nz, p.batch_count],
            )?;
        }
        self.attenuation_done(subset);
        Ok(())
    }

    fn adjoint(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let fresh = !self.att_ready[subset];
        for (i, (first, count)) in batches(core.subsets[subset].clone(), self.batch).enumerate() {
            let p = self.batch_params(&core.subsets, subset, first, count, i > 0);
            self.attenuation(core, &p, fresh)?;
            let frames = [p.n_cols, p.n_depth, p.nz * p.batch_count];
            let e = &mut core.engine;
            let spread = [self.kernel_rows, self.half_widths, core.proj, self.blur];
            e.dispatch(Stage::SpectSpreadRows, &p, &spread, frames)?;
            let blur = [self.kernel_cols, self.half_widths, self.blur, self.rot];
            e.dispatch(Stage::SpectBlurCols, &p, &blur, frames)?;
            let rotate = [self.views, self.att, self.rot, core.back];
            e.dispatch(Stage::SpectRotateAdjoint, &p, &rotate, [p.nx, p.ny, p.nz])?;
        }
        self.attenuation_done(subset);
        Ok(())
    }
}
