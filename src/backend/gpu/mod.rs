//! The wgpu side: one device context with the pipelines of every stage, made once, and the
//! helpers the engine's device side records with.

pub(crate) mod buffers;
mod context;

pub use context::{AdapterSummary, GpuContext};

/// Default cap on one chunk buffer of a projector or FBP plan, whatever the device allows:
/// keeps device memory modest.
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = 256 << 20;
