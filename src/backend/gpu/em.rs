//! The EM buffers and stages shared by every resident GPU model: measured data, background,
//! multiplicative factors, one sensitivity image per subset and the prior's gradient, with
//! the element-wise `em_ratio`, `em_update` and `prior_gradient` dispatches over them.

use super::GpuContext;
use super::buffers::{
    bind_group, check_binding, dispatch, dispatch_linear, init_storage, storage, uniform,
};
use crate::backend::Stage;
use crate::backend::layout::{EmParams, PriorParams};
use crate::error::{Error, Result};

/// The model buffers EM reads and writes: image, back-projection, projections of one subset.
pub(crate) struct ModelBuffers<'a> {
    pub image: &'a wgpu::Buffer,
    pub back: &'a wgpu::Buffer,
    pub proj: &'a wgpu::Buffer,
}

/// EM state on the device, made when the measured data are loaded.
#[derive(Debug)]
pub(crate) struct GpuEm {
    em_params: wgpu::Buffer,
    prior_params: wgpu::Buffer,
    sensitivity: wgpu::Buffer,
    ratio: wgpu::BindGroup,
    update: wgpu::BindGroup,
    prior: wgpu::BindGroup,
    has_background: bool,
    has_factors: bool,
    image_len: usize,
    bytes: u64,
}

impl GpuEm {
    /// Uploads `measured`, `background` and `factors` (whole data, plan order) and allocates
    /// `n_subsets` sensitivity images and the gradient for images of `image_len` voxels.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a buffer exceeds the binding limit or allocation fails.
    pub fn new(
        ctx: &GpuContext,
        model: ModelBuffers<'_>,
        measured: &[f32],
        background: Option<&[f32]>,
        factors: Option<&[f32]>,
        n_subsets: usize,
        image_len: usize,
    ) -> Result<Self> {
        let image_bytes = 4 * image_len as u64;
        check_binding(ctx, "measured data", 4 * measured.len() as u64)?;
        check_binding(ctx, "sensitivity images", n_subsets as u64 * image_bytes)?;
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let optional = |label: &str, data: Option<&[f32]>| match data {
            Some(d) => init_storage(ctx, label, d),
            None => storage(ctx, label, 4),
        };
        let measured_buf = init_storage(ctx, "measured", measured);
        let background_buf = optional("background", background);
        let factors_buf = optional("factors", factors);
        let sensitivity = storage(ctx, "sensitivity", n_subsets as u64 * image_bytes);
        let grad = storage(ctx, "prior gradient", image_bytes);
        let em_params = uniform::<EmParams>(ctx, "em params");
        let prior_params = uniform::<PriorParams>(ctx, "prior params");
        let ratio = bind_group(
            ctx,
            Stage::EmRatio,
            &[
                &em_params,
                &measured_buf,
                &background_buf,
                &factors_buf,
                model.proj,
            ],
        );
        let update = bind_group(
            ctx,
            Stage::EmUpdate,
            &[&em_params, &sensitivity, model.back, &grad, model.image],
        );
        let prior = bind_group(
            ctx,
            Stage::PriorGradient,
            &[&prior_params, model.image, &grad],
        );
        let bytes = [
            &measured_buf,
            &background_buf,
            &factors_buf,
            &sensitivity,
            &grad,
        ]
        .iter()
        .map(|b| b.size())
        .sum();
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "allocating {} MiB of device buffers for EM: {e}",
                bytes >> 20
            )));
        }
        Ok(Self {
            em_params,
            prior_params,
            sensitivity,
            ratio,
            update,
            prior,
            has_background: background.is_some(),
            has_factors: factors.is_some(),
            image_len,
            bytes,
        })
    }

    /// Bytes of device memory held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn run(&self, ctx: &GpuContext, stage: Stage, group: &wgpu::BindGroup, p: EmParams) {
        ctx.queue
            .write_buffer(&self.em_params, 0, bytemuck::bytes_of(&p));
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        dispatch_linear(&mut encoder, ctx, stage, group, p.len as usize);
        ctx.queue.submit([encoder.finish()]);
    }

    /// Copies the back-projection into the sensitivity image of `subset`.
    pub fn keep_sensitivity(&self, ctx: &GpuContext, back: &wgpu::Buffer, subset: usize) {
        let bytes = 4 * self.image_len as u64;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(back, 0, &self.sensitivity, subset as u64 * bytes, bytes);
        ctx.queue.submit([encoder.finish()]);
    }

    /// `em_ratio` over `len` projection samples whose measured data start at `offset`.
    pub fn ratio(&self, ctx: &GpuContext, offset: usize, len: usize) {
        let p = EmParams::new(len, offset, self.has_background, self.has_factors, 0.0);
        self.run(ctx, Stage::EmRatio, &self.ratio, p);
    }

    /// `prior_gradient` of the image.
    pub fn prior_gradient(&self, ctx: &GpuContext, params: &PriorParams) {
        ctx.queue
            .write_buffer(&self.prior_params, 0, bytemuck::bytes_of(params));
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        dispatch(
            &mut encoder,
            ctx,
            Stage::PriorGradient,
            &self.prior,
            [params.nx, params.ny, params.nz],
        );
        ctx.queue.submit([encoder.finish()]);
    }

    /// `em_update` with the sensitivity image of `subset`.
    pub fn update(&self, ctx: &GpuContext, subset: usize, beta: f32) {
        let p = EmParams::new(self.image_len, subset * self.image_len, false, false, beta);
        self.run(ctx, Stage::EmUpdate, &self.update, p);
    }
}

/// The [`ResidentModel`](crate::backend::resident::ResidentModel) methods every GPU model
/// implements the same way over its fields `ctx`, `image`, `back`, `proj`, `subsets` and
/// `em: Option<GpuEm>` and its helpers `read`, `em` and `subset_len`: buffer I/O and the
/// element-wise EM steps.
macro_rules! device_model_common {
    () => {
        fn write_image(&mut self, x: &[f32]) -> Result<()> {
            self.ctx
                .queue
                .write_buffer(&self.image, 0, bytemuck::cast_slice(x));
            Ok(())
        }
        fn read_image(&mut self, out: &mut [f32]) -> Result<()> {
            self.read(&self.image, out)
        }
        fn read_back(&mut self, out: &mut [f32]) -> Result<()> {
            self.read(&self.back, out)
        }
        fn write_projections(&mut self, _subset: usize, data: &[f32]) -> Result<()> {
            self.ctx
                .queue
                .write_buffer(&self.proj, 0, bytemuck::cast_slice(data));
            Ok(())
        }
        fn read_projections(&mut self, subset: usize, out: &mut [f32]) -> Result<()> {
            debug_assert_eq!(out.len(), self.subset_len(subset));
            self.read(&self.proj, out)
        }
        fn em_ratio(&mut self, subset: usize) -> Result<()> {
            let offset = self.subsets[subset].start * self.view_len();
            self.em()?.ratio(&self.ctx, offset, self.subset_len(subset));
            Ok(())
        }
        fn prior_gradient(&mut self, params: &crate::backend::layout::PriorParams) -> Result<()> {
            self.em()?.prior_gradient(&self.ctx, params);
            Ok(())
        }
        fn em_update(&mut self, subset: usize, beta: f32) -> Result<()> {
            self.em()?.update(&self.ctx, subset, beta);
            Ok(())
        }
    };
}
pub(crate) use device_model_common;
