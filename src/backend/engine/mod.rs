//! The engine every model runs on: buffers on a device, uploads, downloads, and "dispatch this
//! stage over these bindings". A model writes its stage sequence once against [`Engine`]; the
//! engine runs it on a wgpu device (the shaders) or on the host (the CPU twins, through
//! [`crate::backend::cpu::run`]). Nothing outside `src/backend/` sees which.
//!
//! Buffers are handles ([`Buf`]) into the engine; their contents are 4-byte words (`f32`,
//! `u32` or `#[repr(C)]` structs of them). A stage's bindings are its parameter struct (a
//! uniform, passed by value to [`Engine::dispatch`]) and then its buffers in the shader's
//! binding order, the one it writes last.

mod cpu;
mod gpu;

use super::Stage;
use super::gpu::GpuContext;
use crate::error::Result;
use bytemuck::Pod;
use std::sync::Arc;

/// A buffer of an [`Engine`]: valid only with the engine that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buf(usize);

/// A device with its buffers: a wgpu device or the host.
#[derive(Debug)]
pub(crate) enum Engine {
    /// The shaders on a wgpu device.
    Gpu(gpu::GpuEngine),
    /// The CPU twins on host memory.
    Cpu(cpu::CpuEngine),
}

/// Bytes one host buffer may hold when the plan has a choice (caches): the CPU's "binding
/// limit".
const HOST_BUFFER_BUDGET: u64 = 2 << 30;

/// Bytes of one host work buffer (a batch of rotated frames): larger batches only cost memory
/// and cache misses on a CPU.
const HOST_WORK_BUFFER: u64 = 64 << 20;

impl Engine {
    /// An engine on `device`, or on the host when `None`.
    pub fn new(device: Option<Arc<GpuContext>>) -> Self {
        match device {
            Some(ctx) => Engine::Gpu(gpu::GpuEngine::new(ctx)),
            None => Engine::Cpu(cpu::CpuEngine::default()),
        }
    }

    /// Whether this is the host (the CPU twins).
    pub fn is_host(&self) -> bool {
        matches!(self, Engine::Cpu(_))
    }

    /// On the host, calls `f` with the words of `buffers` (the last to write, the others to
    /// read) and returns true; on a device, returns false and runs nothing. For the one step
    /// the host does its own way rather than through a stage's twin (the 3D PET
    /// back-projection's ordered sums, `models/pet3d.rs`).
    pub fn on_host(&mut self, buffers: &[Buf], f: impl FnOnce(&[&[u32]], &mut [u32])) -> bool {
        match self {
            Engine::Gpu(_) => false,
            Engine::Cpu(c) => {
                c.run(buffers, f);
                true
            }
        }
    }

    /// Largest buffer one binding may hold, bytes (unbounded on the host).
    pub fn max_binding(&self) -> u64 {
        match self {
            Engine::Gpu(g) => g.ctx().max_binding(),
            Engine::Cpu(_) => u64::MAX,
        }
    }

    /// Bytes a plan may spend on one optional buffer (a cache): the binding limit on a device,
    /// [`HOST_BUFFER_BUDGET`] on the host.
    pub fn cache_budget(&self) -> u64 {
        self.max_binding().min(HOST_BUFFER_BUDGET)
    }

    /// Bytes a plan should give one work buffer that it fills a batch at a time: the binding
    /// limit on a device (more work per dispatch), [`HOST_WORK_BUFFER`] on the host.
    pub fn work_buffer_budget(&self) -> u64 {
        match self {
            Engine::Gpu(g) => g.ctx().max_binding(),
            Engine::Cpu(_) => HOST_WORK_BUFFER,
        }
    }

    /// Most workgroups along one dispatch dimension (unbounded on the host).
    pub fn max_workgroups(&self) -> u32 {
        match self {
            Engine::Gpu(g) => g.ctx().limits().max_compute_workgroups_per_dimension,
            Engine::Cpu(_) => u32::MAX,
        }
    }

    /// A buffer holding `data`.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when it exceeds the binding limit or the device is out of memory.
    pub fn upload<T: Pod>(&mut self, what: &str, data: &[T]) -> Result<Buf> {
        match self {
            Engine::Gpu(g) => g.upload(what, bytemuck::cast_slice(data)),
            Engine::Cpu(c) => Ok(c.upload(bytemuck::cast_slice(data))),
        }
    }

    /// A zero-filled buffer of `len` words (at least one).
    ///
    /// # Errors
    /// As [`Engine::upload`].
    pub fn zeros(&mut self, what: &str, len: usize) -> Result<Buf> {
        match self {
            Engine::Gpu(g) => g.zeros(what, len.max(1)),
            Engine::Cpu(c) => Ok(c.zeros(len.max(1))),
        }
    }

    /// Overwrites words `offset..offset + data.len()` of `buf` with `data`, after every
    /// dispatch recorded before.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when the device rejected work recorded before (it is submitted
    /// first).
    pub fn write<T: Pod>(&mut self, buf: Buf, offset: usize, data: &[T]) -> Result<()> {
        match self {
            Engine::Gpu(g) => g.write(buf, offset, bytemuck::cast_slice(data)),
            Engine::Cpu(c) => {
                c.write(buf, offset, bytemuck::cast_slice(data));
                Ok(())
            }
        }
    }

    /// Overwrites words `offset..offset + len` of `buf` with what `fill` writes into all
    /// `len` of them (it must not read them), after every dispatch recorded before: in place
    /// on the host, through `staging` (grown as needed) on a device.
    ///
    /// # Errors
    /// As [`Engine::write`].
    pub fn write_with<T: Pod + Default>(
        &mut self,
        buf: Buf,
        offset: usize,
        len: usize,
        staging: &mut Vec<T>,
        fill: impl FnOnce(&mut [T]),
    ) -> Result<()> {
        match self {
            Engine::Gpu(g) => {
                if staging.len() < len {
                    staging.resize(len, T::default());
                }
                fill(&mut staging[..len]);
                g.write(buf, offset, bytemuck::cast_slice(&staging[..len]))
            }
            Engine::Cpu(c) => {
                fill(bytemuck::cast_slice_mut(c.words_mut(buf, offset, len)));
                Ok(())
            }
        }
    }

    /// Copies words `offset..offset + out.len()` of `buf` into `out`, after every dispatch
    /// recorded before.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] for a validation error, a lost device or a failed mapping.
    pub fn read<T: Pod>(&mut self, buf: Buf, offset: usize, out: &mut [T]) -> Result<()> {
        match self {
            Engine::Gpu(g) => g.read(buf, offset, bytemuck::cast_slice_mut(out)),
            Engine::Cpu(c) => {
                c.read(buf, offset, bytemuck::cast_slice_mut(out));
                Ok(())
            }
        }
    }

    /// Copies `len` words from `src` at `src_offset` to `dst` at `dst_offset`.
    pub fn copy(&mut self, src: Buf, src_offset: usize, dst: Buf, dst_offset: usize, len: usize) {
        match self {
            Engine::Gpu(g) => g.copy(src, src_offset, dst, dst_offset, len),
            Engine::Cpu(c) => c.copy(src, src_offset, dst, dst_offset, len),
        }
    }

    /// Sets every word of `buf` to zero.
    pub fn clear(&mut self, buf: Buf) {
        match self {
            Engine::Gpu(g) => g.clear(buf),
            Engine::Cpu(c) => c.clear(buf),
        }
    }

    /// Runs `stage` with parameters `params` (its uniform) and `buffers` (its other bindings,
    /// in binding order) over a grid of `invocations` (x, y, z), in workgroups of the size the
    /// shader declares. The twin covers the same work from `params`.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when the device rejects the dispatch.
    pub fn dispatch<P: Pod>(
        &mut self,
        stage: Stage,
        params: &P,
        buffers: &[Buf],
        invocations: [u32; 3],
    ) -> Result<()> {
        self.dispatch_bytes(stage, bytemuck::bytes_of(params), buffers, invocations)
    }

    /// As [`Engine::dispatch`] for an element-wise stage over `len` elements (workgroups along
    /// x, folded into y past the per-dimension limit).
    ///
    /// # Errors
    /// As [`Engine::dispatch`].
    pub fn dispatch_linear<P: Pod>(
        &mut self,
        stage: Stage,
        params: &P,
        buffers: &[Buf],
        len: usize,
    ) -> Result<()> {
        self.dispatch_linear_bytes(stage, bytemuck::bytes_of(params), buffers, len)
    }

    /// [`Engine::dispatch`] with the parameter struct as its bytes (4-byte aligned).
    ///
    /// # Errors
    /// As [`Engine::dispatch`].
    pub fn dispatch_bytes(
        &mut self,
        stage: Stage,
        params: &[u8],
        buffers: &[Buf],
        invocations: [u32; 3],
    ) -> Result<()> {
        check_bindings(stage, params.len(), buffers);
        match self {
            Engine::Gpu(g) => g.dispatch(stage, params, buffers, stage.workgroups(invocations)),
            Engine::Cpu(c) => {
                c.dispatch(stage, params, buffers);
                Ok(())
            }
        }
    }

    /// [`Engine::dispatch_linear`] with the parameter struct as its bytes (4-byte aligned).
    ///
    /// # Errors
    /// As [`Engine::dispatch`].
    pub fn dispatch_linear_bytes(
        &mut self,
        stage: Stage,
        params: &[u8],
        buffers: &[Buf],
        len: usize,
    ) -> Result<()> {
        check_bindings(stage, params.len(), buffers);
        match self {
            Engine::Gpu(g) => {
                let workgroups = gpu::linear_grid(g.ctx(), stage, len);
                g.dispatch(stage, params, buffers, workgroups)
            }
            Engine::Cpu(c) => {
                c.dispatch(stage, params, buffers);
                Ok(())
            }
        }
    }

    /// Frees `buf` (using it afterwards is a bug; recorded work that uses it still runs).
    pub fn release(&mut self, buf: Buf) {
        match self {
            Engine::Gpu(g) => g.release(buf),
            Engine::Cpu(c) => c.release(buf),
        }
    }

    /// Bytes held by the engine's buffers.
    pub fn bytes(&self) -> u64 {
        match self {
            Engine::Gpu(g) => g.bytes(),
            Engine::Cpu(c) => c.bytes(),
        }
    }
}

/// A stage takes its parameter struct and one buffer per other binding.
fn check_bindings(stage: Stage, params_bytes: usize, buffers: &[Buf]) {
    debug_assert_eq!(
        buffers.len() + 1,
        stage.bindings().len(),
        "{stage}: parameters and one buffer per binding"
    );
    debug_assert!(
        params_bytes > 0 && params_bytes.is_multiple_of(16),
        "{stage}: a uniform struct"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::layout::EmParams;

    /// The same stage sequence on both engines gives the same words.
    fn em_ratio_on(engine: &mut Engine) -> Vec<f32> {
        let measured = engine.upload("m", &[4.0f32, 0.0, 9.0, 1.0]).unwrap();
        let background = engine.upload("b", &[1.0f32; 4]).unwrap();
        let factors = engine.zeros("f", 1).unwrap();
        let expected = engine.upload("e", &[1.0f32, 2.0, -1.0, 0.5]).unwrap();
        let p = EmParams::new(4, 0, true, false, 0.0);
        engine
            .dispatch_linear(
                Stage::EmRatio,
                &p,
                &[measured, background, factors, expected],
                4,
            )
            .unwrap();
        let mut out = vec![0.0f32; 4];
        engine.read(expected, 0, &mut out).unwrap();
        out
    }

    #[test]
    fn the_host_engine_runs_the_twins() {
        let out = em_ratio_on(&mut Engine::new(None));
        // 4 / (1 + 1), 0 / (2 + 1), denominator 0 → em_ratio's cap 10⁴, 1 / (0.5 + 1)
        assert_eq!(out, vec![2.0, 0.0, 1e4, 1.0 / 1.5]);
    }

    /// Copies three words to an offset, reads them back, clears, reads again.
    fn copy_then_clear(e: &mut Engine) -> [[f32; 6]; 2] {
        let a = e.upload("a", &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let b = e.zeros("b", 6).unwrap();
        e.copy(a, 1, b, 3, 3);
        let mut out = [[0.0f32; 6]; 2];
        e.read(b, 0, &mut out[0]).unwrap();
        e.clear(b);
        e.read(b, 0, &mut out[1]).unwrap();
        out
    }

    #[test]
    fn buffers_copy_clear_and_read_at_offsets() {
        let out = copy_then_clear(&mut Engine::new(None));
        assert_eq!(out, [[0.0, 0.0, 0.0, 2.0, 3.0, 4.0], [0.0; 6]]);
    }

    #[test]
    #[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
    fn both_engines_give_the_same_words() {
        let ctx = crate::backend::test_support::gpu_context();
        let cpu = em_ratio_on(&mut Engine::new(None));
        let gpu = em_ratio_on(&mut Engine::new(Some(ctx.clone())));
        assert_eq!(cpu, gpu);
        let out = copy_then_clear(&mut Engine::new(Some(ctx)));
        assert_eq!(out, [[0.0, 0.0, 0.0, 2.0, 3.0, 4.0], [0.0; 6]]);
    }

    /// Every pass recorded while the kernel clock runs is timed, across as many submissions
    /// as the query sets need; none before it starts or after it stops. A private context,
    /// so that tests running beside it add no passes.
    #[test]
    #[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
    fn the_kernel_clock_times_every_pass_and_only_while_it_runs() {
        crate::backend::test_support::gpu_context();
        let ctx = Arc::new(GpuContext::new().unwrap());
        if !ctx.can_time_kernels() {
            assert!(ctx.start_kernel_clock().is_err());
            return;
        }
        let mut engine = Engine::new(Some(ctx.clone()));
        em_ratio_on(&mut engine);
        assert!(ctx.stop_kernel_clock().stages.is_empty());
        ctx.start_kernel_clock().unwrap();
        // More passes than one query set holds, in one recording.
        let passes = 2 * gpu::TIMED_PASSES as usize + 3;
        let data = engine.upload("m", &[1.0f32; 64]).unwrap();
        let expected = engine.upload("e", &[1.0f32; 64]).unwrap();
        let zero = engine.zeros("z", 64).unwrap();
        let p = EmParams::new(64, 0, true, false, 0.0);
        for _ in 0..passes {
            engine
                .dispatch_linear(Stage::EmRatio, &p, &[data, zero, zero, expected], 64)
                .unwrap();
        }
        engine.read(expected, 0, &mut [0.0f32; 64]).unwrap();
        let times = ctx.stop_kernel_clock();
        assert_eq!(times.stages.len(), 1);
        assert_eq!(times.stages[0].stage, Stage::EmRatio.name());
        assert_eq!(times.stages[0].passes, passes as u64);
        assert!(
            times.total() > 0.0 && times.total().is_finite(),
            "{times:?}"
        );
        em_ratio_on(&mut engine);
        assert!(ctx.stop_kernel_clock().stages.is_empty());
    }
}
