//! Filtered back-projection as a stage sequence: `fbp_filter` then `backproject_fbp`, a chunk
//! of slices at a time.

use super::Engine;
use super::joseph::{check_fits, chunk_slices};
use crate::backend::Stage;
use crate::backend::chunks::{DataShape, chunks, gather_rows};
use crate::backend::engine::Buf;
use crate::backend::layout::Lowered;
use crate::backend::layout::Params;
use crate::error::Result;

/// Buffers of an FBP plan, made once and reused by every call.
#[derive(Debug)]
pub(crate) struct FbpPlan {
    engine: Engine,
    params: Params,
    chunk_z: usize,
    views: Buf,
    lags: Buf,
    weights: Buf,
    sino: Buf,
    filtered: Buf,
    image: Buf,
    staging: Vec<f32>,
}

impl FbpPlan {
    /// A plan for `lowered` on `engine` with the filter's `lags` (`−(n_cols−1) ..= n_cols−1`)
    /// and per-sample `weights` (`[view, col]`), in chunks of at most `max_chunk_bytes`.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when a slice does not fit, or allocation fails.
    pub fn new(
        mut engine: Engine,
        lowered: &Lowered,
        max_chunk_bytes: u64,
        lags: &[f32],
        weights: &[f32],
    ) -> Result<Self> {
        check_fits(&engine, lowered)?;
        let p = lowered.params;
        let chunk_z = chunk_slices(&engine, &p, max_chunk_bytes);
        let slice_image = (p.nx * p.ny) as usize;
        let slice_sino = (p.n_views * p.n_cols) as usize;
        Ok(Self {
            views: engine.upload("voxel maps", &lowered.views)?,
            lags: engine.upload("filter lags", lags)?,
            weights: engine.upload("weights", weights)?,
            sino: engine.zeros("projection chunk", chunk_z * slice_sino)?,
            filtered: engine.zeros("filtered chunk", chunk_z * slice_sino)?,
            image: engine.zeros("image chunk", chunk_z * slice_image)?,
            staging: vec![0.0; chunk_z * slice_sino],
            engine,
            params: p,
            chunk_z,
        })
    }

    /// Bytes the plan's buffers hold.
    pub fn bytes(&self) -> u64 {
        self.engine.bytes()
    }

    /// Reconstructs `sino[view, z, col]` into `image[z, y, x]` (overwritten), calling
    /// `progress(slices_done, slices_total)` after each chunk.
    ///
    /// # Errors
    /// Device failures.
    pub fn reconstruct(
        &mut self,
        sino: &[f32],
        image: &mut [f32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let shape = DataShape {
            views: self.params.n_views as usize,
            rows: self.params.nz as usize,
            cols: self.params.n_cols as usize,
        };
        let slice = (self.params.nx * self.params.ny) as usize;
        for (z0, nz) in chunks(shape.rows, self.chunk_z) {
            let p = Params {
                nz: nz as u32,
                ..self.params
            };
            let len = shape.views * nz * shape.cols;
            gather_rows(shape, sino, z0, nz, &mut self.staging[..len]);
            let e = &mut self.engine;
            e.write(self.sino, 0, &self.staging[..len])?;
            let filter = [self.lags, self.weights, self.sino, self.filtered];
            e.dispatch(Stage::FbpFilter, &p, &filter, [p.n_cols, p.n_views, p.nz])?;
            let backproject = [self.views, self.filtered, self.image];
            e.dispatch(Stage::BackprojectFbp, &p, &backproject, [p.nx, p.ny, p.nz])?;
            e.read(self.image, 0, &mut image[z0 * slice..(z0 + nz) * slice])?;
            progress(z0 + nz, shape.rows);
        }
        Ok(())
    }
}
