//! The Joseph projector's stage sequences: `forward_project` and `adjoint_project`, on a
//! stack in chunks of slices ([`JosephPlan`], what [`crate::Projector`] runs) and resident per
//! subset for EM ([`JosephModel`], PET).

use super::Engine;
use super::resident::{Core, Resident, Sequence};
use crate::backend::Stage;
use crate::backend::chunks::{DataShape, chunks, gather_rows, scatter_rows};
use crate::backend::engine::Buf;
use crate::backend::layout::Lowered;
use crate::backend::layout::Params;
use crate::error::{Error, Result};
use std::ops::Range;

/// Bytes of one slice of the image or of the projection data, whichever is larger.
pub(crate) fn per_slice_bytes(p: &Params) -> u64 {
    let image = 4 * p.nx as u64 * p.ny as u64;
    let data = 4 * p.n_views as u64 * p.n_cols as u64;
    image.max(data)
}

/// Slices per chunk for `p` on `engine` with buffers of at most `max_chunk_bytes`.
pub(crate) fn chunk_slices(engine: &Engine, p: &Params, max_chunk_bytes: u64) -> usize {
    let cap = engine.max_binding().min(max_chunk_bytes);
    ((cap / per_slice_bytes(p)) as usize)
        .clamp(1, p.nz as usize)
        .min(engine.max_workgroups() as usize)
}

/// Checks that one slice and the ray table fit `engine`'s binding limit.
///
/// # Errors
/// [`Error::Gpu`] saying which buffer is too large.
pub(crate) fn check_fits(engine: &Engine, lowered: &Lowered) -> Result<()> {
    let per_slice = per_slice_bytes(&lowered.params);
    let limit = engine.max_binding();
    if per_slice > limit {
        return Err(Error::Gpu(format!(
            "one slice needs a {per_slice}-byte buffer but the device binds at most {limit} \
             bytes; use fewer views or columns per slice, or the CPU backend"
        )));
    }
    let lines = std::mem::size_of_val(lowered.lines.as_slice()) as u64;
    if lines > limit {
        return Err(Error::Gpu(format!(
            "the ray table ({} views × {} columns) needs {lines} bytes but the device binds at \
             most {limit} bytes",
            lowered.params.n_views, lowered.params.n_cols
        )));
    }
    Ok(())
}

/// Forward projection and its adjoint of a whole stack, a chunk of slices at a time: upload
/// the chunk, dispatch, read back. Memory is bounded by the chunk, whatever the stack.
#[derive(Debug)]
pub(crate) struct JosephPlan {
    engine: Engine,
    params: Params,
    chunk_z: usize,
    views: Buf,
    lines: Buf,
    image: Buf,
    sino: Buf,
    /// Host staging for one chunk of projection rows (gathered from `[view, z, col]`).
    staging: Vec<f32>,
}

impl JosephPlan {
    /// Buffers for `lowered` on `engine`, in chunks of at most `max_chunk_bytes`.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a slice or the ray table does not fit, or allocation fails.
    pub fn new(mut engine: Engine, lowered: &Lowered, max_chunk_bytes: u64) -> Result<Self> {
        check_fits(&engine, lowered)?;
        let p = lowered.params;
        let chunk_z = chunk_slices(&engine, &p, max_chunk_bytes);
        let slice_image = (p.nx * p.ny) as usize;
        let slice_sino = (p.n_views * p.n_cols) as usize;
        let views = engine.upload("voxel maps", &lowered.views)?;
        let lines = engine.upload("ray table", &lowered.lines)?;
        let image = engine.zeros("image chunk", chunk_z * slice_image)?;
        let sino = engine.zeros("projection chunk", chunk_z * slice_sino)?;
        Ok(Self {
            engine,
            params: p,
            chunk_z,
            views,
            lines,
            image,
            sino,
            staging: vec![0.0; chunk_z * slice_sino],
        })
    }

    /// Bytes the plan's buffers hold.
    pub fn bytes(&self) -> u64 {
        self.engine.bytes()
    }

    fn shape(&self) -> DataShape {
        DataShape {
            views: self.params.n_views as usize,
            rows: self.params.nz as usize,
            cols: self.params.n_cols as usize,
        }
    }

    /// Forward projection of the whole stack: `image[z, y, x]` → `sino[view, z, col]`
    /// (overwritten).
    ///
    /// # Errors
    /// Device failures.
    pub fn forward(&mut self, image: &[f32], sino: &mut [f32]) -> Result<()> {
        let slice = (self.params.nx * self.params.ny) as usize;
        let shape = self.shape();
        for (z0, nz) in chunks(shape.rows, self.chunk_z) {
            let p = Params {
                nz: nz as u32,
                ..self.params
            };
            self.engine
                .write(self.image, 0, &image[z0 * slice..(z0 + nz) * slice])?;
            let bins = [p.n_cols, p.n_views, p.nz];
            let bindings = [self.lines, self.image, self.sino];
            self.engine
                .dispatch(Stage::ForwardProject, &p, &bindings, bins)?;
            let len = shape.views * nz * shape.cols;
            self.engine.read(self.sino, 0, &mut self.staging[..len])?;
            scatter_rows(shape, &self.staging[..len], z0, nz, sino);
        }
        Ok(())
    }

    /// Adjoint of the whole stack: `sino[view, z, col]` → `image[z, y, x]` (overwritten).
    ///
    /// # Errors
    /// Device failures.
    pub fn adjoint(&mut self, sino: &[f32], image: &mut [f32]) -> Result<()> {
        let slice = (self.params.nx * self.params.ny) as usize;
        let shape = self.shape();
        for (z0, nz) in chunks(shape.rows, self.chunk_z) {
            let p = Params {
                nz: nz as u32,
                ..self.params
            };
            let len = shape.views * nz * shape.cols;
            gather_rows(shape, sino, z0, nz, &mut self.staging[..len]);
            self.engine.write(self.sino, 0, &self.staging[..len])?;
            let voxels = [p.nx, p.ny, p.nz];
            let bindings = [self.views, self.lines, self.sino, self.image];
            self.engine
                .dispatch(Stage::AdjointProject, &p, &bindings, voxels)?;
            self.engine
                .read(self.image, 0, &mut image[z0 * slice..(z0 + nz) * slice])?;
        }
        Ok(())
    }
}

/// One subset's parameters, voxel maps and ray table.
#[derive(Debug)]
struct SubsetRays {
    params: Params,
    views: Buf,
    lines: Buf,
}

/// The Joseph model resident for EM (PET): the whole stack, one ray table per subset.
#[derive(Debug)]
pub(crate) struct JosephModel {
    subsets: Vec<SubsetRays>,
}

impl JosephModel {
    /// A resident model with one lowered geometry per subset (views in plan order) and
    /// optional multiplicative factors for the whole data (plan order).
    ///
    /// # Errors
    /// [`Error::Gpu`] when the image, one subset's data or a ray table exceeds the device's
    /// binding limit, or allocation fails.
    pub fn resident(
        engine: Engine,
        lowered: Vec<Lowered>,
        subsets: Vec<Range<usize>>,
        factors: Option<Vec<f32>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<Resident<JosephModel>> {
        let p = lowered[0].params;
        let image_len = (p.nx * p.ny * p.nz) as usize;
        let view_len = (p.nz * p.n_cols) as usize;
        let mut core = Core::new(
            engine,
            subsets,
            (image_len, view_len),
            factors,
            max_resident_bytes,
        )?;
        let subsets = lowered
            .iter()
            .map(|l| {
                Ok(SubsetRays {
                    params: l.params,
                    views: core.engine.upload("voxel maps", &l.views)?,
                    lines: core.engine.upload("ray table", &l.lines)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Resident::new(core, JosephModel { subsets }))
    }
}

impl Sequence for JosephModel {
    fn forward(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let s = &self.subsets[subset];
        let p = &s.params;
        let bindings = [s.lines, core.image, core.proj];
        core.engine.dispatch(
            Stage::ForwardProject,
            p,
            &bindings,
            [p.n_cols, p.n_views, p.nz],
        )
    }
    fn adjoint(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let s = &self.subsets[subset];
        let p = &s.params;
        let bindings = [s.views, s.lines, core.proj, core.back];
        core.engine
            .dispatch(Stage::AdjointProject, p, &bindings, [p.nx, p.ny, p.nz])
    }
}
