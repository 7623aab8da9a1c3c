//! The wgpu backend: one device context with its pipelines, and plans that chunk work to
//! the device's limits.

mod buffers;
mod context;
mod em;
mod joseph;
mod nmi;
mod plan;
mod resample;
mod spect;

pub use context::{AdapterSummary, GpuContext};
pub(crate) use joseph::JosephGpu;
pub(crate) use nmi::NmiGpu;
pub use plan::DEFAULT_MAX_CHUNK_BYTES;
pub(crate) use plan::{FbpInputs, GpuPlan};
pub(crate) use resample::resample_slab;
pub(crate) use spect::SpectGpu;
