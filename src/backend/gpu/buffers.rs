//! Buffer, dispatch and read-back helpers of the engine's device side.

use super::GpuContext;
use crate::backend::Stage;
use crate::error::{Error, Result};

/// Checks that a buffer of `bytes` for `what` fits the device's binding limit.
///
/// # Errors
/// [`Error::Gpu`] naming the buffer, its size and the limit.
pub(crate) fn check_binding(ctx: &GpuContext, what: &str, bytes: u64) -> Result<()> {
    if bytes > ctx.max_binding() {
        return Err(Error::Gpu(format!(
            "the {what} need a {bytes}-byte buffer but the device binds at most {} bytes; use a \
             smaller problem (fewer voxels, slices or views per subset) or the CPU backend",
            ctx.max_binding()
        )));
    }
    Ok(())
}

/// A storage buffer of `bytes` (at least 4) that can be copied to and from.
pub(crate) fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// Workgroups for an element-wise `stage` over `len` elements: along x, folded into y past the
/// per-dimension limit (such shaders index `gid.x + gid.y · groups.x · workgroup width`).
pub(crate) fn linear_grid(ctx: &GpuContext, stage: Stage, len: usize) -> [u32; 3] {
    let width = stage.workgroup_size()[0] as usize;
    let groups = len.div_ceil(width).max(1);
    let max = ctx.limits().max_compute_workgroups_per_dimension as usize;
    let x = groups.min(max);
    [x as u32, groups.div_ceil(x) as u32, 1]
}

/// Records one compute pass of `stage` over `workgroups`.
pub(crate) fn record(
    encoder: &mut wgpu::CommandEncoder,
    ctx: &GpuContext,
    stage: Stage,
    group: &wgpu::BindGroup,
    workgroups: [u32; 3],
) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(stage.name()),
        timestamp_writes: None,
    });
    pass.set_pipeline(ctx.pipelines.get(stage));
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
}

/// A buffer the host can map to read `bytes` back.
pub(crate) fn readback(ctx: &GpuContext, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
