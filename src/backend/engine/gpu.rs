//! The device side of [`super::Engine`]: wgpu buffers, dispatches recorded into one pending
//! command encoder and submitted when data must cross to the host (or be overwritten from it),
//! so a sequence of stages is one submission.

use super::Buf;
use crate::backend::Stage;
use crate::backend::gpu::GpuContext;
use crate::error::{Error, Result};
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// Device buffers and the work recorded since the last submission.
#[derive(Debug)]
pub(crate) struct GpuEngine {
    ctx: Arc<GpuContext>,
    buffers: Vec<Option<wgpu::Buffer>>,
    pending: Option<wgpu::CommandEncoder>,
    readback: Option<wgpu::Buffer>,
    /// Timestamp queries of the pending passes, made when the kernel clock first runs.
    timing: Option<Timing>,
}

/// Passes timed per submission: two timestamps each fill one query set.
pub(super) const TIMED_PASSES: u32 = wgpu::QUERY_SET_MAX_QUERIES / 2;

/// The query set of the pending encoder's passes, its resolve and readback buffers, and the
/// stage of each timed pass in order.
#[derive(Debug)]
struct Timing {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    stages: Vec<Stage>,
}

impl Timing {
    fn new(device: &wgpu::Device) -> Self {
        let bytes = u64::from(2 * TIMED_PASSES) * u64::from(wgpu::QUERY_SIZE);
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Self {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel clock"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * TIMED_PASSES,
            }),
            resolve: buffer(
                "kernel clock resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "kernel clock readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            stages: Vec::new(),
        }
    }

    /// The timestamp writes of the next pass, of `stage`.
    fn next(&mut self, stage: Stage) -> wgpu::ComputePassTimestampWrites<'_> {
        let at = 2 * self.stages.len() as u32;
        self.stages.push(stage);
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(at),
            end_of_pass_write_index: Some(at + 1),
        }
    }

    /// Records the copy of the pending passes' timestamps to the readback buffer.
    fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let n = 2 * self.stages.len() as u32;
        encoder.resolve_query_set(&self.queries, 0..n, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(
            &self.resolve,
            0,
            &self.readback,
            0,
            u64::from(n) * u64::from(wgpu::QUERY_SIZE),
        );
    }

    /// Waits for the submitted passes and hands their device times to the context's clock.
    fn collect(&mut self, ctx: &GpuContext) -> Result<()> {
        let bytes = 2 * self.stages.len() as u64 * u64::from(wgpu::QUERY_SIZE);
        let slice = self.readback.slice(..bytes);
        let ticks: Vec<u64> = map_read(ctx, slice, |bytes| bytemuck::cast_slice(bytes).to_vec())?;
        self.readback.unmap();
        let period = f64::from(ctx.queue.get_timestamp_period());
        ctx.add_kernel_times(
            self.stages
                .drain(..)
                .zip(ticks.chunks_exact(2))
                .map(|(stage, t)| (stage, t[1].wrapping_sub(t[0]) as f64 * period)),
        );
        Ok(())
    }
}

impl GpuEngine {
    pub fn new(ctx: Arc<GpuContext>) -> Self {
        Self {
            ctx,
            buffers: Vec::new(),
            pending: None,
            readback: None,
            timing: None,
        }
    }

    pub fn ctx(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    fn buffer(&self, buf: Buf) -> &wgpu::Buffer {
        self.buffers[buf.0]
            .as_ref()
            .expect("a buffer used after its release")
    }

    pub fn release(&mut self, buf: Buf) {
        self.buffers[buf.0] = None;
    }

    fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        let device = &self.ctx.device;
        self.pending
            .get_or_insert_with(|| device.create_command_encoder(&Default::default()))
    }

    /// Submits the recorded work, if any; a stage the device rejected is reported here, by
    /// the call that submits it.
    ///
    /// # Errors
    /// [`Error::Gpu`] for a validation error in the recorded work.
    fn flush(&mut self) -> Result<()> {
        let Some(mut encoder) = self.pending.take() else {
            return Ok(());
        };
        let timed = self.timing.as_ref().is_some_and(|t| !t.stages.is_empty());
        if timed && let Some(t) = &self.timing {
            t.resolve(&mut encoder);
        }
        let scope = self
            .ctx
            .device
            .push_error_scope(wgpu::ErrorFilter::Validation);
        self.ctx.queue.submit([encoder.finish()]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            // The rejected work's timestamps are not kept.
            if let Some(t) = &mut self.timing {
                t.stages.clear();
            }
            return Err(Error::Gpu(format!("running the recorded stages: {e}")));
        }
        match &mut self.timing {
            Some(t) if timed => t.collect(&self.ctx),
            _ => Ok(()),
        }
    }

    fn allocate(
        &mut self,
        what: &str,
        make: impl FnOnce(&GpuContext) -> wgpu::Buffer,
    ) -> Result<Buf> {
        let scope = self
            .ctx
            .device
            .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = make(&self.ctx);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "allocating {} MiB for the {what}: {e}",
                buffer.size() >> 20
            )));
        }
        self.buffers.push(Some(buffer));
        Ok(Buf(self.buffers.len() - 1))
    }

    pub fn upload(&mut self, what: &str, words: &[u32]) -> Result<Buf> {
        check_binding(&self.ctx, what, 4 * words.len() as u64)?;
        let contents: &[u8] = if words.is_empty() {
            &[0; 4]
        } else {
            bytemuck::cast_slice(words)
        };
        self.allocate(what, |ctx| {
            ctx.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(what),
                    contents,
                    usage: wgpu::BufferUsages::STORAGE
                        | wgpu::BufferUsages::COPY_DST
                        | wgpu::BufferUsages::COPY_SRC,
                })
        })
    }

    pub fn zeros(&mut self, what: &str, len: usize) -> Result<Buf> {
        let bytes = 4 * len as u64;
        check_binding(&self.ctx, what, bytes)?;
        self.allocate(what, |ctx| storage(ctx, what, bytes))
    }

    pub fn write(&mut self, buf: Buf, offset: usize, words: &[u32]) -> Result<()> {
        // Work recorded before reads the old contents: submit it first.
        self.flush()?;
        self.ctx.queue.write_buffer(
            self.buffer(buf),
            4 * offset as u64,
            bytemuck::cast_slice(words),
        );
        Ok(())
    }

    pub fn copy(&mut self, src: Buf, src_offset: usize, dst: Buf, dst_offset: usize, len: usize) {
        let (s, d) = (self.buffer(src).clone(), self.buffer(dst).clone());
        self.encoder().copy_buffer_to_buffer(
            &s,
            4 * src_offset as u64,
            &d,
            4 * dst_offset as u64,
            4 * len as u64,
        );
    }

    pub fn clear(&mut self, buf: Buf) {
        let b = self.buffer(buf).clone();
        self.encoder().clear_buffer(&b, 0, None);
    }

    pub fn read(&mut self, buf: Buf, offset: usize, out: &mut [u32]) -> Result<()> {
        let bytes = 4 * out.len() as u64;
        if self.readback.as_ref().is_none_or(|r| r.size() < bytes) {
            self.readback = Some(readback(&self.ctx, bytes));
        }
        let target = self.readback.clone().expect("made above");
        let src = self.buffer(buf).clone();
        self.encoder()
            .copy_buffer_to_buffer(&src, 4 * offset as u64, &target, 0, bytes);
        self.flush()?;
        let slice = target.slice(..bytes.max(4));
        map_read(&self.ctx, slice, |bytes| {
            out.copy_from_slice(&bytemuck::cast_slice(bytes)[..out.len()]);
        })?;
        target.unmap();
        Ok(())
    }

    pub fn dispatch(
        &mut self,
        stage: Stage,
        params: &[u8],
        buffers: &[Buf],
        workgroups: [u32; 3],
    ) -> Result<()> {
        let ctx = self.ctx.clone();
        let uniform = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(stage.name()),
                contents: params,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        entries.extend(
            buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32 + 1,
                    resource: self.buffer(*b).as_entire_binding(),
                }),
        );
        let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(stage.name()),
            layout: ctx.pipelines.layout(stage),
            entries: &entries,
        });
        let clock = ctx.kernel_clock_running();
        if clock
            && self
                .timing
                .as_ref()
                .is_some_and(|t| t.stages.len() as u32 == TIMED_PASSES)
        {
            self.flush()?;
        }
        if clock && self.timing.is_none() {
            self.timing = Some(Timing::new(&ctx.device));
        }
        let encoder = self
            .pending
            .get_or_insert_with(|| ctx.device.create_command_encoder(&Default::default()));
        let timestamps = match &mut self.timing {
            Some(t) if clock => Some(t.next(stage)),
            _ => None,
        };
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(stage.name()),
            timestamp_writes: timestamps,
        });
        pass.set_pipeline(ctx.pipelines.get(stage));
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
        Ok(())
    }

    pub fn bytes(&self) -> u64 {
        self.buffers
            .iter()
            .flatten()
            .map(wgpu::Buffer::size)
            .sum::<u64>()
            + self.readback.as_ref().map_or(0, wgpu::Buffer::size)
    }
}

/// Checks that a buffer of `bytes` for `what` fits the device's binding limit.
///
/// # Errors
/// [`Error::Gpu`] naming the buffer, its size and the limit.
fn check_binding(ctx: &GpuContext, what: &str, bytes: u64) -> Result<()> {
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
fn storage(ctx: &GpuContext, label: &str, bytes: u64) -> wgpu::Buffer {
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
pub(super) fn linear_grid(ctx: &GpuContext, stage: Stage, len: usize) -> [u32; 3] {
    let width = stage.workgroup_size()[0] as usize;
    let groups = len.div_ceil(width).max(1);
    let max = ctx.limits().max_compute_workgroups_per_dimension as usize;
    let x = groups.min(max);
    [x as u32, groups.div_ceil(x) as u32, 1]
}

/// Maps `slice` for reading once the device is idle, and hands its bytes to `f`.
///
/// # Errors
/// [`Error::Gpu`] when the device is lost or the mapping fails.
fn map_read<T>(
    ctx: &GpuContext,
    slice: wgpu::BufferSlice<'_>,
    f: impl FnOnce(&[u8]) -> T,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
    rx.recv()
        .map_err(|_| Error::Gpu("buffer mapping was abandoned".into()))?
        .map_err(|e| Error::Gpu(format!("mapping the readback buffer: {e}")))?;
    let view = slice
        .get_mapped_range()
        .map_err(|e| Error::Gpu(e.to_string()))?;
    Ok(f(&view))
}

/// A buffer the host can map to read `bytes` back.
fn readback(ctx: &GpuContext, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
