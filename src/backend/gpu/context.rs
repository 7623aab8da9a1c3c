//! The device context: adapter, device, queue and the compiled pipelines, made once.

use crate::error::{Error, Result};
use std::sync::{Arc, OnceLock};

/// Shader sources: the shared files followed by the stage (the order `build.rs` validates).
macro_rules! stage_source {
    ($file:literal) => {
        concat!(
            include_str!("../../../shaders/shared/layout.wgsl"),
            "\n",
            include_str!("../../../shaders/shared/rays.wgsl"),
            "\n",
            include_str!("../../../shaders/shared/spect.wgsl"),
            "\n",
            include_str!(concat!("../../../shaders/", $file))
        )
    };
}

/// The compute pipelines, one per stage.
#[derive(Debug)]
pub(crate) struct Pipelines {
    pub forward_project: wgpu::ComputePipeline,
    pub adjoint_project: wgpu::ComputePipeline,
    pub fbp_filter: wgpu::ComputePipeline,
    pub backproject_fbp: wgpu::ComputePipeline,
    pub spect_attenuation: wgpu::ComputePipeline,
    pub spect_rotate: wgpu::ComputePipeline,
    pub spect_blur_cols: wgpu::ComputePipeline,
    pub spect_blur_rows_sum: wgpu::ComputePipeline,
    pub spect_spread_rows: wgpu::ComputePipeline,
    pub spect_rotate_adjoint: wgpu::ComputePipeline,
    pub em_ratio: wgpu::ComputePipeline,
    pub em_update: wgpu::ComputePipeline,
    pub prior_gradient: wgpu::ComputePipeline,
    pub resample: wgpu::ComputePipeline,
    pub nmi_histogram: wgpu::ComputePipeline,
}

/// A wgpu device with its queue, limits and compiled pipelines. Made once, shared by plans.
#[derive(Debug)]
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) pipelines: Pipelines,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
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
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tomors"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::NoGpu(format!("{} could not open a device: {e}", info.name)))?;
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            log::error!("tomors: uncaptured wgpu error: {e}")
        }));
        let make = |label: &str, source: &str| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipelines = Pipelines {
            forward_project: make("forward_project", stage_source!("forward_project.wgsl")),
            adjoint_project: make("adjoint_project", stage_source!("adjoint_project.wgsl")),
            fbp_filter: make("fbp_filter", stage_source!("fbp_filter.wgsl")),
            backproject_fbp: make("backproject_fbp", stage_source!("backproject_fbp.wgsl")),
            spect_attenuation: make("spect_attenuation", stage_source!("spect_attenuation.wgsl")),
            spect_rotate: make("spect_rotate", stage_source!("spect_rotate.wgsl")),
            spect_blur_cols: make("spect_blur_cols", stage_source!("spect_blur_cols.wgsl")),
            spect_blur_rows_sum: make(
                "spect_blur_rows_sum",
                stage_source!("spect_blur_rows_sum.wgsl"),
            ),
            spect_spread_rows: make("spect_spread_rows", stage_source!("spect_spread_rows.wgsl")),
            spect_rotate_adjoint: make(
                "spect_rotate_adjoint",
                stage_source!("spect_rotate_adjoint.wgsl"),
            ),
            em_ratio: make("em_ratio", stage_source!("em_ratio.wgsl")),
            em_update: make("em_update", stage_source!("em_update.wgsl")),
            prior_gradient: make("prior_gradient", stage_source!("prior_gradient.wgsl")),
            resample: make("resample", stage_source!("resample.wgsl")),
            nmi_histogram: make("nmi_histogram", stage_source!("nmi_histogram.wgsl")),
        };
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
        })
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
