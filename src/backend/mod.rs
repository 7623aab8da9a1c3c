//! Where the work runs: a GPU through wgpu, or the CPU twins through rayon.
//!
//! The choice is made once, when a plan ([`crate::Projector`], [`crate::Fbp`]) is built,
//! never per call.

pub(crate) mod chunks;
pub(crate) mod cpu;
pub(crate) mod engine;
pub mod gpu;
pub mod layout;
pub(crate) mod models;
pub(crate) mod nmi;
pub(crate) mod resample;
pub(crate) mod resident;
pub(crate) mod sss;
pub mod stage;
#[cfg(test)]
pub(crate) mod test_support;

pub use gpu::{KernelTimes, StageTime};
pub(crate) use resample::resample;
pub use stage::Stage;

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The backend a user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// A hardware GPU when wgpu finds one, otherwise the CPU. Software rasterisers
    /// (Mesa's llvmpipe/lavapipe, WARP) are not chosen: the CPU twins are faster than them.
    #[default]
    Auto,
    /// Any wgpu adapter, software ones included; an error when there is none.
    Gpu,
    /// The rayon CPU twins.
    Cpu,
}

/// Every adapter wgpu can see, with the limits that matter here (what `tomors info` lists).
pub fn adapters() -> Vec<gpu::AdapterSummary> {
    gpu::GpuContext::adapters()
}

/// Runs `f`, timing the shaders it runs on the shared GPU (wgpu timestamp queries at the
/// start and end of every compute pass, summed per stage): the times are `None` when there is
/// no GPU or it cannot time its passes. Time end to end without it: each submission then
/// waits for its timestamps.
pub fn time_kernels<T>(f: impl FnOnce() -> T) -> (T, Option<KernelTimes>) {
    let Some(ctx) = gpu::GpuContext::shared()
        .ok()
        .filter(|c| c.start_kernel_clock().is_ok())
    else {
        return (f(), None);
    };
    let out = f();
    (out, Some(ctx.stop_kernel_clock()))
}

impl Backend {
    /// Whether a plan asking for this backend can be built here: always for `Auto` and `Cpu`;
    /// for `Gpu`, when wgpu opens an adapter (tried once per process).
    pub fn is_available(self) -> bool {
        self != Backend::Gpu || gpu::GpuContext::shared().is_ok()
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "gpu" => Ok(Backend::Gpu),
            "cpu" => Ok(Backend::Cpu),
            other => Err(Error::InvalidArgument(format!(
                "unknown backend {other:?}; expected \"auto\", \"gpu\" or \"cpu\""
            ))),
        }
    }
}

impl fmt::Display for Backend {
    /// The name [`FromStr`] accepts: `auto`, `gpu` or `cpu`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::Gpu => "gpu",
            Backend::Cpu => "cpu",
        })
    }
}

/// The backend a plan actually runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActiveBackend {
    /// The rayon CPU twins.
    Cpu,
    /// A wgpu adapter, named.
    Gpu {
        /// Adapter name and wgpu backend, e.g. `"NVIDIA H100 (Vulkan)"`.
        adapter: String,
    },
}

impl ActiveBackend {
    /// `"cpu"` or `"gpu"`.
    pub fn kind(&self) -> &'static str {
        match self {
            ActiveBackend::Cpu => "cpu",
            ActiveBackend::Gpu { .. } => "gpu",
        }
    }
}

impl fmt::Display for ActiveBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActiveBackend::Cpu => write!(f, "cpu ({} threads)", rayon::current_num_threads()),
            ActiveBackend::Gpu { adapter } => write!(f, "gpu ({adapter})"),
        }
    }
}

/// The device a plan runs on, chosen once from a [`Backend`]: a wgpu context or the host.
/// Plans keep it and make their [`engine::Engine`]s from it; nothing outside this module
/// looks at which it is.
#[derive(Debug, Clone)]
pub(crate) struct Device(Option<Arc<gpu::GpuContext>>);

impl Device {
    /// Resolves `backend` (see [`Backend`]).
    ///
    /// # Errors
    /// [`Error::NoGpu`] when [`Backend::Gpu`] was asked for and no adapter could be opened.
    pub fn resolve(backend: Backend) -> Result<Self> {
        resolve(backend).map(Device)
    }

    /// Where it runs.
    pub fn active(&self) -> ActiveBackend {
        match &self.0 {
            None => ActiveBackend::Cpu,
            Some(ctx) => ActiveBackend::Gpu {
                adapter: ctx.describe(),
            },
        }
    }

    /// A new engine (buffers of its own) on this device.
    pub fn engine(&self) -> engine::Engine {
        engine::Engine::new(self.0.clone())
    }
}

/// Resolves a request to a GPU context, or `None` for the CPU.
///
/// # Errors
/// [`Error::NoGpu`] when [`Backend::Gpu`] was asked for and no adapter could be opened.
fn resolve(backend: Backend) -> Result<Option<Arc<gpu::GpuContext>>> {
    match backend {
        Backend::Cpu => Ok(None),
        Backend::Gpu => gpu::GpuContext::shared().map(Some),
        Backend::Auto => match gpu::GpuContext::shared() {
            Ok(ctx) if !ctx.is_software() => {
                log::info!("tomors: using {}", ctx.describe());
                Ok(Some(ctx))
            }
            Ok(ctx) => {
                log::info!(
                    "tomors: only a software adapter ({}); using the CPU",
                    ctx.describe()
                );
                Ok(None)
            }
            Err(e) => {
                log::info!("tomors: {e}; using the CPU");
                Ok(None)
            }
        },
    }
}
