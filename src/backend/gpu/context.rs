//! The device context: adapter, device, queue and the compiled pipelines, made once.

use super::clock::{KernelClock, KernelTimes};
use crate::backend::stage::{Access, Stage};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex, OnceLock};

/// The compute pipelines, one per [`Stage`], each with the bind-group layout its binding
/// table declares.
#[derive(Debug)]
pub(crate) struct Pipelines {
    pipelines: Vec<wgpu::ComputePipeline>,
    layouts: Vec<wgpu::BindGroupLayout>,
}

impl Pipelines {
    fn new(device: &wgpu::Device) -> Self {
        let (pipelines, layouts) = Stage::ALL
            .iter()
            .map(|&stage| {
                let entries: Vec<_> = stage
                    .bindings()
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                        binding: i as u32,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Buffer {
                            ty: match b.access {
                                Access::Uniform => wgpu::BufferBindingType::Uniform,
                                Access::Read => {
                                    wgpu::BufferBindingType::Storage { read_only: true }
                                }
                                Access::ReadWrite => {
                                    wgpu::BufferBindingType::Storage { read_only: false }
                                }
                            },
                            has_dynamic_offset: false,
                            min_binding_size: None,
                        },
                        count: None,
                    })
                    .collect();
                let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(stage.name()),
                    entries: &entries,
                });
                let pipeline_layout =
                    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(stage.name()),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(stage.name()),
                    source: wgpu::ShaderSource::Wgsl(stage.source().into()),
                });
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(stage.name()),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (pipeline, layout)
            })
            .unzip();
        Self { pipelines, layouts }
    }

    /// The pipeline of `stage`.
    pub fn get(&self, stage: Stage) -> &wgpu::ComputePipeline {
        &self.pipelines[stage as usize]
    }

    /// The bind-group layout of `stage`.
    pub fn layout(&self, stage: Stage) -> &wgpu::BindGroupLayout {
        &self.layouts[stage as usize]
    }
}

/// A wgpu device with its queue, limits and compiled pipelines. Made once, shared by plans.
#[derive(Debug)]
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) pipelines: Pipelines,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    /// Summed device time per stage while the kernel clock runs (`None`: stopped).
    clock: Mutex<Option<KernelClock>>,
}

/// One adapter as `tomors info` lists it.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    /// Adapter name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// wgpu backend (Vulkan, Metal, Dx12, Gl).
    pub backend: String,
    /// Discrete, integrated, virtual, CPU (software) or other.
    pub device_type: String,
    /// Largest storage-buffer binding, bytes.
    pub max_storage_binding: u64,
    /// Largest buffer, bytes.
    pub max_buffer: u64,
    /// Workgroups per dispatch dimension.
    pub max_workgroups_per_dim: u32,
    /// Invocations per workgroup.
    pub max_invocations: u32,
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

impl GpuContext {
    /// Opens the preferred adapter (high performance) with its own limits and compiles the
    /// pipelines. Honours `WGPU_BACKEND` (vulkan, metal, dx12, gl).
    ///
    /// # Errors
    /// [`Error::NoGpu`] when no adapter or device can be had.
    pub fn new() -> Result<Self> {
        let instance = instance();
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            ..Default::default()
        }))
        .map_err(|e| Error::NoGpu(e.to_string()))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        // Timestamp queries cost nothing until the kernel clock is started.
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tomors"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::NoGpu(format!("{} could not open a device: {e}", info.name)))?;
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            log::error!("tomors: uncaptured wgpu error: {e}")
        }));
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipelines = Pipelines::new(&device);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::NoGpu(format!(
                "{}: pipelines failed to build: {e}",
                info.name
            )));
        }
        Ok(Self {
            device,
            queue,
            pipelines,
            info,
            limits,
            clock: Mutex::new(None),
        })
    }

    /// True when the device can time its compute passes (wgpu's `TIMESTAMP_QUERY`).
    pub fn can_time_kernels(&self) -> bool {
        self.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Starts (or restarts from zero) the kernel clock: from now on every compute pass on
    /// this context writes timestamps at its start and end, and its device time is summed
    /// per stage. Each submission then waits for its timestamps, so time end to end with
    /// the clock stopped.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the device cannot time passes ([`GpuContext::can_time_kernels`]).
    pub fn start_kernel_clock(&self) -> Result<()> {
        if !self.can_time_kernels() {
            return Err(Error::Gpu(format!(
                "{} has no timestamp queries: kernel times cannot be measured on it",
                self.describe()
            )));
        }
        *self.clock.lock().unwrap_or_else(|e| e.into_inner()) = Some(KernelClock::new());
        Ok(())
    }

    /// Stops the kernel clock and returns what it summed (empty when it was not running).
    pub fn stop_kernel_clock(&self) -> KernelTimes {
        self.clock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .map(|c| c.times())
            .unwrap_or_default()
    }

    /// True while the kernel clock runs.
    pub(crate) fn kernel_clock_running(&self) -> bool {
        self.clock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Adds timed passes to the kernel clock, if it still runs.
    pub(crate) fn add_kernel_times(&self, passes: impl IntoIterator<Item = (Stage, f64)>) {
        if let Some(clock) = self
            .clock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            for (stage, ns) in passes {
                clock.add(stage, ns);
            }
        }
    }

    /// The process-wide context, opened on first use and reused (it is immutable once made).
    ///
    /// # Errors
    /// [`Error::NoGpu`] when no adapter could be opened (the failure is remembered).
    pub fn shared() -> Result<Arc<Self>> {
        static SHARED: OnceLock<std::result::Result<Arc<GpuContext>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| GpuContext::new().map(Arc::new).map_err(|e| e.to_string()))
            .clone()
            .map_err(Error::NoGpu)
    }

    /// Lists every adapter wgpu can see, with the limits that matter here.
    pub fn adapters() -> Vec<AdapterSummary> {
        let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
        adapters
            .iter()
            .map(|a| {
                let info = a.get_info();
                let l = a.limits();
                AdapterSummary {
                    name: info.name.clone(),
                    backend: format!("{:?}", info.backend),
                    device_type: format!("{:?}", info.device_type),
                    max_storage_binding: l.max_storage_buffer_binding_size,
                    max_buffer: l.max_buffer_size,
                    max_workgroups_per_dim: l.max_compute_workgroups_per_dimension,
                    max_invocations: l.max_compute_invocations_per_workgroup,
                }
            })
            .collect()
    }

    /// True for software rasterisers (llvmpipe, lavapipe, WARP).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }
    /// `"name (backend)"`.
    pub fn describe(&self) -> String {
        format!("{} ({:?})", self.info.name, self.info.backend)
    }
    /// The device limits in force.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }
    /// Largest buffer a single binding may cover, bytes.
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}
