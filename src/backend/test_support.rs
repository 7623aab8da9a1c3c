//! Helpers for the crate's own unit tests.
//!
//! A test that needs a wgpu adapter is marked
//! `#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]`: plain `cargo test`
//! lists it as ignored, and `scripts/test.sh` (CI) runs it with `--include-ignored`, where a
//! missing adapter fails it instead of passing it silently.

use super::gpu::GpuContext;
use std::sync::Arc;

/// The shared GPU context; panics (fails the test) when there is no adapter.
pub(crate) fn gpu_context() -> Arc<GpuContext> {
    GpuContext::shared().unwrap_or_else(|e| {
        panic!("this GPU test needs a wgpu adapter (e.g. Mesa's software Vulkan): {e}")
    })
}
