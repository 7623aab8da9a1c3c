//! The Joseph projector as a resident model on a GPU (PET and other line-integral models):
//! per subset a parameter block, voxel maps and ray table with their bind groups; image,
//! back-projection and projections shared and resident between calls.

use super::GpuContext;
use super::buffers::{
    bind_group, check_binding, dispatch, init_storage, readback, storage, submit_and_read, uniform,
};
use super::em::{GpuEm, ModelBuffers, device_model_common};
use crate::backend::Stage;
use crate::backend::cpu::not_loaded;
use crate::backend::layout::Params;
use crate::backend::resident::ResidentModel;
use crate::error::{Error, Result};
use crate::geometry::Lowered;
use std::ops::Range;
use std::sync::Arc;

#[derive(Debug)]
struct SubsetStages {
    params: Params,
    forward: wgpu::BindGroup,
    adjoint: wgpu::BindGroup,
}

/// Buffers of a Joseph model on a wgpu device.
#[derive(Debug)]
pub(crate) struct JosephGpu {
    ctx: Arc<GpuContext>,
    subsets: Vec<Range<usize>>,
    stages: Vec<SubsetStages>,
    factors: Option<Vec<f32>>,
    image: wgpu::Buffer,
    back: wgpu::Buffer,
    proj: wgpu::Buffer,
    readback: wgpu::Buffer,
    em: Option<GpuEm>,
    bytes: u64,
}

impl JosephGpu {
    /// As [`crate::backend::cpu::JosephCpu::new`], on `ctx`; the whole stack is resident.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the image, one subset's data or a ray table exceeds the device's
    /// binding limit, or allocation fails.
    pub fn new(
        ctx: Arc<GpuContext>,
        lowered: Vec<Lowered>,
        subsets: Vec<Range<usize>>,
        factors: Option<Vec<f32>>,
    ) -> Result<Self> {
        let p0 = lowered[0].params;
        let image_bytes = 4 * (p0.nx * p0.ny * p0.nz) as u64;
        let largest = subsets.iter().map(|r| r.len()).max().unwrap_or(1) as u64;
        let proj_bytes = 4 * largest * (p0.nz * p0.n_cols) as u64;
        let lines_bytes = lowered
            .iter()
            .map(|l| std::mem::size_of_val(l.lines.as_slice()) as u64)
            .max()
            .unwrap_or(0);
        check_binding(&ctx, "image", image_bytes)?;
        check_binding(&ctx, "projections of one subset", proj_bytes)?;
        check_binding(&ctx, "ray table of one subset", lines_bytes)?;
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let image = storage(&ctx, "image", image_bytes);
        let back = storage(&ctx, "back-projection", image_bytes);
        let proj = storage(&ctx, "projections", proj_bytes);
        let readback = readback(&ctx, image_bytes.max(proj_bytes));
        let mut bytes = image.size() + back.size() + proj.size() + readback.size();
        let mut stages = Vec::with_capacity(lowered.len());
        for l in &lowered {
            let params = uniform::<Params>(&ctx, "params");
            ctx.queue
                .write_buffer(&params, 0, bytemuck::bytes_of(&l.params));
            let views = init_storage(&ctx, "views", &l.views);
            let lines = init_storage(&ctx, "lines", &l.lines);
            bytes += views.size() + lines.size();
            stages.push(SubsetStages {
                params: l.params,
                forward: bind_group(
                    &ctx,
                    Stage::ForwardProject,
                    &[&params, &lines, &image, &proj],
                ),
                adjoint: bind_group(
                    &ctx,
                    Stage::AdjointProject,
                    &[&params, &views, &lines, &proj, &back],
                ),
            });
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "allocating {} MiB of device buffers: {e}",
                bytes >> 20
            )));
        }
        Ok(Self {
            ctx,
            subsets,
            stages,
            factors,
            image,
            back,
            proj,
            readback,
            em: None,
            bytes,
        })
    }

    fn subset_len(&self, subset: usize) -> usize {
        self.subsets[subset].len() * self.view_len()
    }

    fn read(&self, src: &wgpu::Buffer, out: &mut [f32]) -> Result<()> {
        let len = out.len();
        let encoder = self.ctx.device.create_command_encoder(&Default::default());
        submit_and_read(&self.ctx, encoder, src, &self.readback, len, |data| {
            out.copy_from_slice(&data[..len])
        })
    }

    fn run(&self, stage: Stage, group: &wgpu::BindGroup, invocations: [u32; 3]) {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        dispatch(&mut encoder, &self.ctx, stage, group, invocations);
        self.ctx.queue.submit([encoder.finish()]);
    }

    fn em(&self) -> Result<&GpuEm> {
        self.em.as_ref().ok_or_else(not_loaded)
    }
}

impl ResidentModel for JosephGpu {
    device_model_common!();
    fn image_len(&self) -> usize {
        let p = &self.stages[0].params;
        (p.nx * p.ny * p.nz) as usize
    }
    fn view_len(&self) -> usize {
        let p = &self.stages[0].params;
        (p.nz * p.n_cols) as usize
    }
    fn forward(&mut self, subset: usize) -> Result<()> {
        let s = &self.stages[subset];
        let p = &s.params;
        self.run(
            Stage::ForwardProject,
            &s.forward,
            [p.n_cols, p.n_views, p.nz],
        );
        Ok(())
    }
    fn adjoint(&mut self, subset: usize) -> Result<()> {
        let s = &self.stages[subset];
        let p = &s.params;
        self.run(Stage::AdjointProject, &s.adjoint, [p.nx, p.ny, p.nz]);
        Ok(())
    }
    fn load_measured(&mut self, measured: &[f32], background: Option<&[f32]>) -> Result<()> {
        let model = ModelBuffers {
            image: &self.image,
            back: &self.back,
            proj: &self.proj,
        };
        let n = self.image_len();
        self.em = Some(GpuEm::new(
            &self.ctx,
            model,
            measured,
            background,
            self.factors.as_deref(),
            self.subsets.len(),
            n,
        )?);
        Ok(())
    }
    fn sensitivity(&mut self, subset: usize) -> Result<()> {
        let range = self.subsets[subset].start * self.view_len()
            ..self.subsets[subset].end * self.view_len();
        let weights = match &self.factors {
            Some(f) => f[range].to_vec(),
            None => vec![1.0; range.len()],
        };
        self.write_projections(subset, &weights)?;
        self.adjoint(subset)?;
        self.em()?.keep_sensitivity(&self.ctx, &self.back, subset);
        Ok(())
    }
    fn memory_bytes(&self) -> u64 {
        self.bytes + self.em.as_ref().map_or(0, GpuEm::bytes)
    }
}
