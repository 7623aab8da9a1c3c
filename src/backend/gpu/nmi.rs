//! The `nmi_histogram` stage on the device: both volumes' packed bins stay resident; each
//! evaluation uploads one motion and reads back the `bins × bins` histogram.

use super::GpuContext;
use super::buffers::{
    bind_group, check_binding, dispatch_linear, init_storage, readback, storage, uniform,
};
use crate::backend::Stage;
use crate::backend::layout::NmiParams;
use crate::error::{Error, Result};

/// A fixed and a moving volume's bin indices, resident on the device.
pub(crate) struct NmiGpu {
    ctx: std::sync::Arc<GpuContext>,
    bins: usize,
    params: wgpu::Buffer,
    joint: wgpu::Buffer,
    readback: wgpu::Buffer,
    group: wgpu::BindGroup,
}

impl NmiGpu {
    /// Uploads the packed bin indices (C order, four to a word) of both volumes.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a volume exceeds the device's binding limit.
    pub(crate) fn new(
        ctx: std::sync::Arc<GpuContext>,
        f: &[u32],
        m: &[u32],
        bins: usize,
    ) -> Result<Self> {
        check_binding(&ctx, "fixed volume's bins", 4 * f.len() as u64)?;
        check_binding(&ctx, "moving volume's bins", 4 * m.len() as u64)?;
        let hist_bytes = 4 * (bins * bins) as u64;
        let params = uniform::<NmiParams>(&ctx, "nmi params");
        let fixed_buf = init_storage(&ctx, "fixed bins", f);
        let moving_buf = init_storage(&ctx, "moving bins", m);
        let joint = storage(&ctx, "joint histogram", hist_bytes);
        let readback = readback(&ctx, hist_bytes);
        let group = bind_group(
            &ctx,
            Stage::NmiHistogram,
            &[&params, &fixed_buf, &moving_buf, &joint],
        );
        Ok(Self {
            ctx,
            bins,
            params,
            joint,
            readback,
            group,
        })
    }

    /// The joint histogram `[fixed bin · bins + moving bin]` of the samples `p` describes.
    ///
    /// # Errors
    /// [`Error::Gpu`] for device failures.
    pub(crate) fn joint(&self, p: &NmiParams) -> Result<Vec<u32>> {
        let ctx = &self.ctx;
        ctx.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(p));
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.clear_buffer(&self.joint, 0, None);
        dispatch_linear(
            &mut encoder,
            ctx,
            Stage::NmiHistogram,
            &self.group,
            p.len as usize,
        );
        let n = self.bins * self.bins;
        let mut out = vec![0; n];
        super::buffers::submit_and_read(ctx, encoder, &self.joint, &self.readback, n, |words| {
            // The buffer holds u32 counts; read them back bit for bit.
            for (o, w) in out.iter_mut().zip(words) {
                *o = w.to_bits();
            }
        })
        .map_err(|e| Error::Gpu(format!("registration histogram: {e}")))?;
        Ok(out)
    }
}
