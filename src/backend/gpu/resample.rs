//! The `resample` stage on the device: one slab of the target from its block of the source
//! (see [`crate::backend::resample`] for the slabs and blocks).

use super::GpuContext;
use super::buffers::{
    bind_group, check_binding, dispatch_linear, init_storage, readback, storage, submit_and_read,
    uniform,
};
use crate::backend::Stage;
use crate::backend::layout::ResampleParams;
use crate::error::Result;

/// Runs `resample` for the slab `p` describes on the source `block`, into `out` (the slab's
/// `p.len` voxels).
///
/// # Errors
/// [`crate::error::Error::Gpu`] for device failures or a block beyond the binding limit.
pub(crate) fn resample_slab(
    ctx: &GpuContext,
    p: &ResampleParams,
    block: &[f32],
    out: &mut [f32],
) -> Result<()> {
    let len = p.len as usize;
    check_binding(
        ctx,
        "resampling source block",
        4 * (block.len() + len) as u64,
    )?;
    let uniform = uniform::<ResampleParams>(ctx, "resample params");
    ctx.queue.write_buffer(&uniform, 0, bytemuck::bytes_of(p));
    let input = init_storage(ctx, "resample source block", block);
    let output = storage(ctx, "resampled slab", 4 * len as u64);
    let group = bind_group(ctx, Stage::Resample, &[&uniform, &input, &output]);
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    dispatch_linear(&mut encoder, ctx, Stage::Resample, &group, len);
    let back = readback(ctx, 4 * len as u64);
    submit_and_read(ctx, encoder, &output, &back, len, |v| {
        out.copy_from_slice(&v[..len])
    })
}
