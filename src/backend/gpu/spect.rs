//! The SPECT system model on a GPU: every buffer made once, the image, projections, measured
//! data and sensitivity images resident on the device between calls; each batch of views is
//! one submission of the stage dispatches.

use super::GpuContext;
use super::buffers::{
    bind_group, check_binding, dispatch, init_storage, readback, storage, submit_and_read, uniform,
};
use super::em::{GpuEm, ModelBuffers, device_model_common};
use crate::backend::Stage;
use crate::backend::cpu::not_loaded;
use crate::backend::layout::SpectParams;
use crate::backend::resident::{ResidentModel, batches, views_per_batch};
use crate::error::{Error, Result};
use crate::geometry::SpectLowered;
use std::ops::Range;
use std::sync::Arc;

/// The bind groups of the stages, made once.
#[derive(Debug)]
struct Groups {
    attenuation: wgpu::BindGroup,
    rotate: wgpu::BindGroup,
    blur_forward: wgpu::BindGroup,
    rows_sum: wgpu::BindGroup,
    spread: wgpu::BindGroup,
    blur_adjoint: wgpu::BindGroup,
    rotate_adjoint: wgpu::BindGroup,
}

/// The SPECT model's buffers on a wgpu device.
#[derive(Debug)]
pub(crate) struct SpectGpu {
    ctx: Arc<GpuContext>,
    params: SpectParams,
    subsets: Vec<Range<usize>>,
    batch: usize,
    params_buf: wgpu::Buffer,
    image: wgpu::Buffer,
    back: wgpu::Buffer,
    proj: wgpu::Buffer,
    readback: wgpu::Buffer,
    groups: Groups,
    em: Option<GpuEm>,
    bytes: u64,
}

impl SpectGpu {
    /// A model for `lowered` (views in plan order) on `ctx`, with rotated-frame buffers of at
    /// most `max_frame_bytes` each.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a buffer exceeds the device's binding limit or allocation fails.
    pub fn new(
        ctx: Arc<GpuContext>,
        lowered: &SpectLowered,
        mu: Option<&[f32]>,
        subsets: Vec<Range<usize>>,
        max_frame_bytes: u64,
    ) -> Result<Self> {
        let p = lowered.params;
        let image_bytes = 4 * (p.nx * p.ny * p.nz) as u64;
        let frame_len = (p.nz * p.n_depth * p.n_cols) as usize;
        let largest = subsets.iter().map(|r| r.len()).max().unwrap_or(1);
        let max_wg = ctx.limits().max_compute_workgroups_per_dimension as usize;
        let batch = views_per_batch(frame_len, max_frame_bytes.min(ctx.max_binding()), largest)
            .min((max_wg / p.nz as usize).max(1));
        let frame_bytes = 4 * (batch * frame_len) as u64;
        let proj_bytes = 4 * (largest as u64) * (p.nz * p.n_cols) as u64;
        check_binding(&ctx, "image", image_bytes)?;
        check_binding(&ctx, "rotated frame of one view", 4 * frame_len as u64)?;
        check_binding(&ctx, "projections of one subset", proj_bytes)?;
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let params_buf = uniform::<SpectParams>(&ctx, "spect params");
        let views = init_storage(&ctx, "spect views", &lowered.views);
        let kernel_cols = init_storage(&ctx, "kernel cols", &lowered.kernel_cols);
        let kernel_rows = init_storage(&ctx, "kernel rows", &lowered.kernel_rows);
        let half_widths = init_storage(&ctx, "half widths", &lowered.half_widths);
        let mu = match mu {
            Some(m) => init_storage(&ctx, "mu", m),
            None => storage(&ctx, "mu (none)", 4),
        };
        let image = storage(&ctx, "image", image_bytes);
        let back = storage(&ctx, "back-projection", image_bytes);
        let proj = storage(&ctx, "projections", proj_bytes);
        let att = storage(
            &ctx,
            "attenuation",
            if p.has_attenuation != 0 {
                frame_bytes
            } else {
                4
            },
        );
        let rot = storage(&ctx, "rotated", frame_bytes);
        let blur = storage(&ctx, "blurred", frame_bytes);
        let readback = readback(&ctx, image_bytes.max(proj_bytes));
        let bind = |stage: Stage, entries: &[&wgpu::Buffer]| bind_group(&ctx, stage, entries);
        let groups = Groups {
            attenuation: bind(Stage::SpectAttenuation, &[&params_buf, &views, &mu, &att]),
            rotate: bind(
                Stage::SpectRotate,
                &[&params_buf, &views, &image, &att, &rot],
            ),
            blur_forward: bind(
                Stage::SpectBlurCols,
                &[&params_buf, &kernel_cols, &half_widths, &rot, &blur],
            ),
            rows_sum: bind(
                Stage::SpectBlurRowsSum,
                &[&params_buf, &kernel_rows, &half_widths, &blur, &proj],
            ),
            spread: bind(
                Stage::SpectSpreadRows,
                &[&params_buf, &kernel_rows, &half_widths, &proj, &blur],
            ),
            blur_adjoint: bind(
                Stage::SpectBlurCols,
                &[&params_buf, &kernel_cols, &half_widths, &blur, &rot],
            ),
            rotate_adjoint: bind(
                Stage::SpectRotateAdjoint,
                &[&params_buf, &views, &att, &rot, &back],
            ),
        };
        let bytes = [
            &views,
            &kernel_cols,
            &kernel_rows,
            &half_widths,
            &mu,
            &image,
            &back,
            &proj,
            &att,
            &rot,
            &blur,
            &readback,
        ]
        .iter()
        .map(|b| b.size())
        .sum();
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "allocating {} MiB of device buffers for SPECT: {e}",
                bytes >> 20
            )));
        }
        Ok(Self {
            ctx,
            params: p,
            subsets,
            batch,
            params_buf,
            image,
            back,
            proj,
            readback,
            groups,
            em: None,
            bytes,
        })
    }

    fn subset_len(&self, subset: usize) -> usize {
        self.subsets[subset].len() * self.view_len()
    }

    fn encoder(&self) -> wgpu::CommandEncoder {
        self.ctx.device.create_command_encoder(&Default::default())
    }

    /// Runs `record` once per batch of `subset`, each batch a submission after its parameters.
    fn per_batch(&self, subset: usize, record: impl Fn(&mut wgpu::CommandEncoder, &SpectParams)) {
        for (i, (first, count)) in batches(self.subsets[subset].clone(), self.batch).enumerate() {
            let p = SpectParams {
                batch_first: first as u32,
                batch_count: count as u32,
                proj_first: self.subsets[subset].start as u32,
                accumulate: (i > 0) as u32,
                ..self.params
            };
            self.ctx
                .queue
                .write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&p));
            let mut encoder = self.encoder();
            record(&mut encoder, &p);
            self.ctx.queue.submit([encoder.finish()]);
        }
    }

    fn read(&self, src: &wgpu::Buffer, out: &mut [f32]) -> Result<()> {
        let len = out.len();
        submit_and_read(
            &self.ctx,
            self.encoder(),
            src,
            &self.readback,
            len,
            |data| out.copy_from_slice(&data[..len]),
        )
    }

    fn em(&self) -> Result<&GpuEm> {
        self.em.as_ref().ok_or_else(not_loaded)
    }
}

impl ResidentModel for SpectGpu {
    device_model_common!();
    fn image_len(&self) -> usize {
        (self.params.nx * self.params.ny * self.params.nz) as usize
    }
    fn view_len(&self) -> usize {
        (self.params.nz * self.params.n_cols) as usize
    }
    fn forward(&mut self, subset: usize) -> Result<()> {
        let ctx = &*self.ctx;
        let g = &self.groups;
        self.per_batch(subset, |e, p| {
            let frames = [p.n_cols, p.n_depth, p.nz * p.batch_count];
            if p.has_attenuation != 0 {
                let planes = [p.n_cols, p.nz, p.batch_count];
                dispatch(e, ctx, Stage::SpectAttenuation, &g.attenuation, planes);
            }
            dispatch(e, ctx, Stage::SpectRotate, &g.rotate, frames);
            dispatch(e, ctx, Stage::SpectBlurCols, &g.blur_forward, frames);
            let rows = [p.n_cols, p.nz, p.batch_count];
            dispatch(e, ctx, Stage::SpectBlurRowsSum, &g.rows_sum, rows);
        });
        Ok(())
    }
    fn adjoint(&mut self, subset: usize) -> Result<()> {
        let ctx = &*self.ctx;
        let g = &self.groups;
        self.per_batch(subset, |e, p| {
            let frames = [p.n_cols, p.n_depth, p.nz * p.batch_count];
            if p.has_attenuation != 0 {
                let planes = [p.n_cols, p.nz, p.batch_count];
                dispatch(e, ctx, Stage::SpectAttenuation, &g.attenuation, planes);
            }
            dispatch(e, ctx, Stage::SpectSpreadRows, &g.spread, frames);
            dispatch(e, ctx, Stage::SpectBlurCols, &g.blur_adjoint, frames);
            let voxels = [p.nx, p.ny, p.nz];
            dispatch(e, ctx, Stage::SpectRotateAdjoint, &g.rotate_adjoint, voxels);
        });
        Ok(())
    }
    fn load_measured(&mut self, measured: &[f32], background: Option<&[f32]>) -> Result<()> {
        let model = ModelBuffers {
            image: &self.image,
            back: &self.back,
            proj: &self.proj,
        };
        self.em = Some(GpuEm::new(
            &self.ctx,
            model,
            measured,
            background,
            None,
            self.subsets.len(),
            self.image_len(),
        )?);
        Ok(())
    }
    fn sensitivity(&mut self, subset: usize) -> Result<()> {
        self.write_projections(subset, &vec![1.0; self.subset_len(subset)])?;
        self.adjoint(subset)?;
        self.em()?.keep_sensitivity(&self.ctx, &self.back, subset);
        Ok(())
    }
    fn memory_bytes(&self) -> u64 {
        self.bytes + self.em.as_ref().map_or(0, GpuEm::bytes)
    }
}
