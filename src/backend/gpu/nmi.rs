//! The GPU twin of the registration cost's joint histogram (see `shaders/nmi_histogram.wgsl`):
//! both volumes' bins stay on the device; each evaluation uploads one motion and reads back
//! the `bins × bins` histogram.

use super::GpuContext;
use super::buffers::{
    bind_group, check_binding, dispatch, init_storage, linear_grid, readback, storage, uniform,
};
use crate::backend::layout::NmiParams;
use crate::error::{Error, Result};
use crate::fusion::IndexAffine;

/// A fixed and a moving volume's bin indices, resident on the device.
pub(crate) struct NmiGpu {
    ctx: std::sync::Arc<GpuContext>,
    fixed_shape: [usize; 3],
    moving_shape: [usize; 3],
    bins: usize,
    params: wgpu::Buffer,
    joint: wgpu::Buffer,
    readback: wgpu::Buffer,
    group: wgpu::BindGroup,
}

/// Bytes four to a word (the last word zero-padded).
fn packed(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u32, |w, (i, &b)| w | (b as u32) << (8 * i))
        })
        .collect()
}

impl NmiGpu {
    /// Uploads the bin indices (C order) of both volumes.
    ///
    /// # Errors
    /// [`Error::Gpu`] when a volume exceeds the device's binding limit.
    pub(crate) fn new(
        ctx: std::sync::Arc<GpuContext>,
        fixed: &[u8],
        fixed_shape: [usize; 3],
        moving: &[u8],
        moving_shape: [usize; 3],
        bins: usize,
    ) -> Result<Self> {
        let (f, m) = (packed(fixed), packed(moving));
        check_binding(&ctx, "fixed volume's bins", 4 * f.len() as u64)?;
        check_binding(&ctx, "moving volume's bins", 4 * m.len() as u64)?;
        let hist_bytes = 4 * (bins * bins) as u64;
        let params = uniform::<NmiParams>(&ctx, "nmi params");
        let fixed_buf = init_storage(&ctx, "fixed bins", &f);
        let moving_buf = init_storage(&ctx, "moving bins", &m);
        let joint = storage(&ctx, "joint histogram", hist_bytes);
        let readback = readback(&ctx, hist_bytes);
        let group = bind_group(
            &ctx,
            &ctx.pipelines.nmi_histogram,
            &[&params, &fixed_buf, &moving_buf, &joint],
        );
        Ok(Self {
            ctx,
            fixed_shape,
            moving_shape,
            bins,
            params,
            joint,
            readback,
            group,
        })
    }

    /// The joint histogram `[fixed bin · bins + moving bin]` for the fixed-to-moving index map
    /// `map`, over every `stride`-th fixed voxel along each axis; weights in units of one
    /// voxel (as the CPU's), rounded to 1/`scale`.
    ///
    /// # Errors
    /// [`Error::Gpu`] for device failures.
    pub(crate) fn joint(&self, map: &IndexAffine, stride: usize) -> Result<Vec<f64>> {
        let ctx = &self.ctx;
        let [nz, ny, nx] = self.fixed_shape;
        let len = nz.div_ceil(stride) * ny.div_ceil(stride) * nx.div_ceil(stride);
        // Exact u32 sums: no bin can pass 2³² even if every sample lands in it.
        let scale = (4.0e9 / len as f64).floor().clamp(1.0, 1024.0);
        let [mz, my, mx] = self.moving_shape;
        let [b, col_z, col_y, col_x] = map.gpu_columns();
        let params = NmiParams {
            b,
            col_z,
            col_y,
            col_x,
            fixed: [nz as u32, ny as u32, nx as u32, stride as u32],
            moving: [mz as u32, my as u32, mx as u32, self.bins as u32],
            len: len as u32,
            scale: scale as f32,
            _pad: [0; 2],
        };
        ctx.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.clear_buffer(&self.joint, 0, None);
        dispatch(
            &mut encoder,
            &ctx.pipelines.nmi_histogram,
            &self.group,
            linear_grid(ctx, len),
        );
        let n = self.bins * self.bins;
        let mut out = vec![0.0; n];
        super::buffers::submit_and_read(ctx, encoder, &self.joint, &self.readback, n, |words| {
            // The buffer holds u32 counts; read them back bit for bit.
            for (o, w) in out.iter_mut().zip(words) {
                *o = w.to_bits() as f64 / scale;
            }
        })
        .map_err(|e| Error::Gpu(format!("registration histogram: {e}")))?;
        Ok(out)
    }
}
