//! A GPU plan: buffers for one geometry and grid, sized to a chunk of slices that fits the
//! device's binding limits, allocated once and reused by every call.
//!
//! A stack is processed a chunk of slices at a time: upload the chunk, dispatch, read back.
//! Device memory is therefore bounded by the chunk, whatever the stack's size.

use super::GpuContext;
use super::buffers::{
    bind_group, dispatch, init_storage, readback, storage, submit_and_read, uniform,
};
use crate::backend::Stage;
use crate::backend::chunks::{DataShape, chunks, gather_rows, scatter_rows};
use crate::backend::layout::{Line, Params, View};
use crate::error::{Error, Result};
use crate::geometry::Lowered;
use std::sync::Arc;

/// Default cap on one chunk buffer, whatever the device allows: keeps device memory modest.
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = 256 << 20;

/// What a plan is for, with the bind groups (made once) of its stages.
#[derive(Debug)]
enum Stages {
    /// forward_project and adjoint_project.
    Projector {
        forward: wgpu::BindGroup,
        adjoint: wgpu::BindGroup,
    },
    /// fbp_filter then backproject_fbp.
    Fbp {
        filter: wgpu::BindGroup,
        backproject: wgpu::BindGroup,
    },
}

/// Buffers and bind groups for one geometry, made once and reused by every call.
#[derive(Debug)]
pub(crate) struct GpuPlan {
    ctx: Arc<GpuContext>,
    params: Params,
    chunk_z: usize,
    params_buf: wgpu::Buffer,
    image_buf: wgpu::Buffer,
    sino_buf: wgpu::Buffer,
    readback: wgpu::Buffer,
    stages: Stages,
    /// Bytes of device memory held by all buffers.
    device_bytes: u64,
    /// Host staging for one chunk of projection rows (gathered from `[view, z, col]`).
    staging: Vec<f32>,
}

/// What an FBP plan uploads once: the filter's lags `−(n_cols−1)..=n_cols−1` and the
/// per-sample weights `[view, col]`.
pub(crate) struct FbpInputs<'a> {
    pub lags: &'a [f32],
    pub weights: &'a [f32],
}

impl GpuPlan {
    /// Checks that one slice (and, for a projector, the ray table) fits the device's binding
    /// limit.
    ///
    /// # Errors
    /// [`Error::Gpu`] saying which buffer is too large.
    pub fn check_fits(ctx: &GpuContext, lowered: &Lowered, with_lines: bool) -> Result<()> {
        let p = &lowered.params;
        let per_slice = Self::per_slice_bytes(p);
        if per_slice > ctx.max_binding() {
            return Err(Error::Gpu(format!(
                "one slice needs a {per_slice}-byte buffer but the device binds at most {} bytes; \
                 use fewer views or columns per slice, or the CPU backend",
                ctx.max_binding()
            )));
        }
        let lines_bytes = std::mem::size_of_val(lowered.lines.as_slice()) as u64;
        if with_lines && lines_bytes > ctx.max_binding() {
            return Err(Error::Gpu(format!(
                "the ray table ({} views × {} columns) needs {lines_bytes} bytes but the device binds at most {} bytes",
                p.n_views,
                p.n_cols,
                ctx.max_binding()
            )));
        }
        Ok(())
    }

    fn per_slice_bytes(p: &Params) -> u64 {
        let slice_image = 4 * p.nx as u64 * p.ny as u64;
        let slice_sino = 4 * p.n_views as u64 * p.n_cols as u64;
        slice_image.max(slice_sino)
    }

    /// Slices per chunk for `lowered` with buffers of at most `max_chunk_bytes`.
    pub fn chunk_slices_for(ctx: &GpuContext, lowered: &Lowered, max_chunk_bytes: u64) -> usize {
        let p = &lowered.params;
        let cap = ctx.max_binding().min(max_chunk_bytes);
        let max_wg = ctx.limits().max_compute_workgroups_per_dimension as usize;
        ((cap / Self::per_slice_bytes(p)) as usize)
            .clamp(1, p.nz as usize)
            .min(max_wg)
    }

    /// A plan for forward projection and its adjoint, in chunks of at most `max_chunk_bytes`.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a slice or the ray table does not fit, or allocation fails.
    pub fn projector(
        ctx: Arc<GpuContext>,
        lowered: &Lowered,
        max_chunk_bytes: u64,
    ) -> Result<Self> {
        Self::check_fits(&ctx, lowered, true)?;
        Self::build(ctx, lowered, max_chunk_bytes, None)
    }

    /// A plan for filtered back-projection, in chunks of at most `max_chunk_bytes`.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a slice does not fit, or allocation fails.
    pub fn fbp(
        ctx: Arc<GpuContext>,
        lowered: &Lowered,
        max_chunk_bytes: u64,
        inputs: FbpInputs<'_>,
    ) -> Result<Self> {
        Self::check_fits(&ctx, lowered, false)?;
        Self::build(ctx, lowered, max_chunk_bytes, Some(inputs))
    }

    fn build(
        ctx: Arc<GpuContext>,
        lowered: &Lowered,
        max_chunk_bytes: u64,
        fbp: Option<FbpInputs<'_>>,
    ) -> Result<Self> {
        let p = lowered.params;
        let slice_image = 4 * p.nx as u64 * p.ny as u64;
        let slice_sino = 4 * p.n_views as u64 * p.n_cols as u64;
        let chunk_z = Self::chunk_slices_for(&ctx, lowered, max_chunk_bytes);
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let params_buf = uniform::<Params>(&ctx, "params");
        let views_buf = init_storage::<View>(&ctx, "views", &lowered.views);
        let image_buf = storage(&ctx, "image", chunk_z as u64 * slice_image);
        let sino_buf = storage(&ctx, "sino", chunk_z as u64 * slice_sino);
        let readback = readback(&ctx, chunk_z as u64 * Self::per_slice_bytes(&p));
        let mut buffers = vec![&params_buf, &views_buf, &image_buf, &sino_buf, &readback];
        let bind = |stage: Stage, entries: &[&wgpu::Buffer]| bind_group(&ctx, stage, entries);
        let (stages, extra) = match fbp {
            None => {
                let lines_buf = init_storage::<Line>(&ctx, "lines", &lowered.lines);
                let stages = Stages::Projector {
                    forward: bind(
                        Stage::ForwardProject,
                        &[&params_buf, &lines_buf, &image_buf, &sino_buf],
                    ),
                    adjoint: bind(
                        Stage::AdjointProject,
                        &[&params_buf, &views_buf, &lines_buf, &sino_buf, &image_buf],
                    ),
                };
                (stages, vec![lines_buf])
            }
            Some(f) => {
                let lags = init_storage(&ctx, "lags", f.lags);
                let weights = init_storage(&ctx, "weights", f.weights);
                let filtered = storage(&ctx, "filtered", chunk_z as u64 * slice_sino);
                let stages = Stages::Fbp {
                    filter: bind(
                        Stage::FbpFilter,
                        &[&params_buf, &lags, &weights, &sino_buf, &filtered],
                    ),
                    backproject: bind(
                        Stage::BackprojectFbp,
                        &[&params_buf, &views_buf, &filtered, &image_buf],
                    ),
                };
                (stages, vec![lags, weights, filtered])
            }
        };
        buffers.extend(extra.iter());
        let device_bytes = buffers.iter().map(|b| b.size()).sum();
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "allocating {} MiB of device buffers: {e}",
                device_bytes >> 20
            )));
        }
        let staging = vec![0.0; chunk_z * (slice_sino / 4) as usize];
        Ok(Self {
            ctx,
            params: p,
            chunk_z,
            params_buf,
            image_buf,
            sino_buf,
            readback,
            stages,
            device_bytes,
            staging,
        })
    }

    /// Bytes of device memory the plan's buffers hold.
    pub fn device_bytes(&self) -> u64 {
        self.device_bytes
    }

    fn chunks(&self) -> Vec<(usize, usize)> {
        chunks(self.params.nz as usize, self.chunk_z).collect()
    }

    fn data_shape(&self) -> DataShape {
        DataShape {
            views: self.params.n_views as usize,
            rows: self.params.nz as usize,
            cols: self.params.n_cols as usize,
        }
    }

    fn chunk_params(&self, nz: usize) -> Params {
        Params {
            nz: nz as u32,
            ..self.params
        }
    }

    fn run_and_read(
        &self,
        encoder: wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        len: usize,
        sink: impl FnOnce(&[f32]),
    ) -> Result<()> {
        submit_and_read(&self.ctx, encoder, src, &self.readback, len, sink)
    }

    /// Gathers rows `z0..z0+nz` of `sino[view, z, col]` into the staging buffer and uploads them.
    fn upload_rows(&mut self, sino: &[f32], z0: usize, nz: usize) {
        let shape = self.data_shape();
        let len = shape.views * nz * shape.cols;
        gather_rows(shape, sino, z0, nz, &mut self.staging[..len]);
        self.ctx.queue.write_buffer(
            &self.sino_buf,
            0,
            bytemuck::cast_slice(&self.staging[..len]),
        );
    }

    fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        stage: Stage,
        group: &wgpu::BindGroup,
        invocations: [u32; 3],
    ) {
        dispatch(encoder, &self.ctx, stage, group, invocations);
    }

    fn voxels(p: &Params) -> [u32; 3] {
        [p.nx, p.ny, p.nz]
    }

    fn bins(p: &Params) -> [u32; 3] {
        [p.n_cols, p.n_views, p.nz]
    }

    fn projector_groups(&self) -> Result<(&wgpu::BindGroup, &wgpu::BindGroup)> {
        match &self.stages {
            Stages::Projector { forward, adjoint } => Ok((forward, adjoint)),
            Stages::Fbp { .. } => Err(Error::InvalidArgument(
                "this GPU plan was built for FBP, not projection".into(),
            )),
        }
    }

    /// Forward projection of the whole stack: `image[z, y, x]` → `sino[view, z, col]` (overwritten).
    pub fn forward(&mut self, image: &[f32], sino: &mut [f32]) -> Result<()> {
        let group = self.projector_groups()?.0.clone();
        let slice = (self.params.nx * self.params.ny) as usize;
        for (z0, nz) in self.chunks() {
            let p = self.chunk_params(nz);
            self.ctx
                .queue
                .write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&p));
            self.ctx.queue.write_buffer(
                &self.image_buf,
                0,
                bytemuck::cast_slice(&image[z0 * slice..(z0 + nz) * slice]),
            );
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.dispatch(&mut encoder, Stage::ForwardProject, &group, Self::bins(&p));
            let len = (p.n_views * p.nz * p.n_cols) as usize;
            let shape = self.data_shape();
            self.run_and_read(encoder, &self.sino_buf, len, |chunk| {
                scatter_rows(shape, chunk, z0, nz, sino)
            })?;
        }
        Ok(())
    }

    /// Adjoint of the whole stack: `sino[view, z, col]` → `image[z, y, x]` (overwritten).
    pub fn adjoint(&mut self, sino: &[f32], image: &mut [f32]) -> Result<()> {
        let group = self.projector_groups()?.1.clone();
        let slice = (self.params.nx * self.params.ny) as usize;
        for (z0, nz) in self.chunks() {
            let p = self.chunk_params(nz);
            self.ctx
                .queue
                .write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&p));
            self.upload_rows(sino, z0, nz);
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.dispatch(
                &mut encoder,
                Stage::AdjointProject,
                &group,
                Self::voxels(&p),
            );
            let out = &mut image[z0 * slice..(z0 + nz) * slice];
            self.run_and_read(encoder, &self.image_buf, nz * slice, |chunk| {
                out.copy_from_slice(chunk)
            })?;
        }
        Ok(())
    }

    /// Filtered back-projection of the whole stack (FBP plans only);
    /// `progress(slices_done, slices_total)` after each chunk.
    pub fn reconstruct(
        &mut self,
        sino: &[f32],
        image: &mut [f32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let (filter, backproject) = match &self.stages {
            Stages::Fbp {
                filter,
                backproject,
            } => (filter.clone(), backproject.clone()),
            Stages::Projector { .. } => {
                return Err(Error::InvalidArgument(
                    "this GPU plan was built for projection, not FBP".into(),
                ));
            }
        };
        let slice = (self.params.nx * self.params.ny) as usize;
        for (z0, nz) in self.chunks() {
            let p = self.chunk_params(nz);
            self.ctx
                .queue
                .write_buffer(&self.params_buf, 0, bytemuck::bytes_of(&p));
            self.upload_rows(sino, z0, nz);
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.dispatch(&mut encoder, Stage::FbpFilter, &filter, Self::bins(&p));
            self.dispatch(
                &mut encoder,
                Stage::BackprojectFbp,
                &backproject,
                Self::voxels(&p),
            );
            let out = &mut image[z0 * slice..(z0 + nz) * slice];
            self.run_and_read(encoder, &self.image_buf, nz * slice, |chunk| {
                out.copy_from_slice(chunk)
            })?;
            progress(z0 + nz, self.params.nz as usize);
        }
        Ok(())
    }
}
