//! The wgpu side: one device context with the pipelines of every stage, made once (the
//! engine's device side, `backend::engine`, records and submits the work).

mod clock;
mod context;

pub use clock::{KernelTimes, StageTime};
pub use context::{AdapterSummary, GpuContext};
