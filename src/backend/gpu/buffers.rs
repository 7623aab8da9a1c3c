//! Buffer, bind-group, dispatch and read-back helpers shared by the GPU plans.

use super::GpuContext;
use crate::backend::Stage;
use crate::error::{Error, Result};
use wgpu::util::DeviceExt;

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

/// Binds `buffers` to bindings 0, 1, ... of group 0 of `stage`, in the shader's order.
pub(crate) fn bind_group(
    ctx: &GpuContext,
    stage: Stage,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    debug_assert_eq!(
        buffers.len(),
        stage.bindings().len(),
        "{stage}: one buffer per binding"
    );
    let entries: Vec<_> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(stage.name()),
        layout: ctx.pipelines.layout(stage),
        entries: &entries,
    })
}

/// A read-only storage buffer holding `data`.
pub(crate) fn init_storage<T: bytemuck::Pod>(
    ctx: &GpuContext,
    label: &str,
    data: &[T],
) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE,
        })
}

/// Records one compute pass of `stage` over a grid of `invocations` (x, y, z), in workgroups
/// of the size the shader declares.
pub(crate) fn dispatch(
    encoder: &mut wgpu::CommandEncoder,
    ctx: &GpuContext,
    stage: Stage,
    group: &wgpu::BindGroup,
    invocations: [u32; 3],
) {
    record(encoder, ctx, stage, group, stage.workgroups(invocations));
}

/// Records one compute pass of an element-wise `stage` over `len` elements: workgroups along
/// x, folded into y past the per-dimension limit (such shaders index
/// `gid.x + gid.y · groups.x · workgroup width`).
pub(crate) fn dispatch_linear(
    encoder: &mut wgpu::CommandEncoder,
    ctx: &GpuContext,
    stage: Stage,
    group: &wgpu::BindGroup,
    len: usize,
) {
    let width = stage.workgroup_size()[0] as usize;
    let groups = len.div_ceil(width).max(1);
    let max = ctx.limits().max_compute_workgroups_per_dimension as usize;
    let x = groups.min(max);
    record(
        encoder,
        ctx,
        stage,
        group,
        [x as u32, groups.div_ceil(x) as u32, 1],
    );
}

fn record(
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

/// A uniform buffer of `T`, written before each use.
pub(crate) fn uniform<T: bytemuck::Pod>(ctx: &GpuContext, label: &str) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: std::mem::size_of::<T>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
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

/// Submits `encoder` after a copy of `src` into `readback`, waits, and hands the first `len`
/// floats to `sink`.
///
/// # Errors
/// [`Error::Gpu`] for a validation error, a lost device or a failed mapping.
pub(crate) fn submit_and_read(
    ctx: &GpuContext,
    mut encoder: wgpu::CommandEncoder,
    src: &wgpu::Buffer,
    readback: &wgpu::Buffer,
    len: usize,
    sink: impl FnOnce(&[f32]),
) -> Result<()> {
    let bytes = 4 * len as u64;
    encoder.copy_buffer_to_buffer(src, 0, readback, 0, bytes);
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    ctx.queue.submit([encoder.finish()]);
    let slice = readback.slice(..bytes);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(Error::Gpu(e.to_string()));
    }
    rx.recv()
        .map_err(|_| Error::Gpu("buffer mapping was abandoned".into()))?
        .map_err(|e| Error::Gpu(format!("mapping the readback buffer: {e}")))?;
    {
        let view = slice
            .get_mapped_range()
            .map_err(|e| Error::Gpu(e.to_string()))?;
        sink(bytemuck::cast_slice(&view));
    }
    readback.unmap();
    Ok(())
}
