//! The matched projector pair: Joseph forward projection and its exact adjoint.
//!
//! Both are gathers (one invocation per output element, no atomics), so the results are
//! deterministic and identical in structure on the GPU and the CPU.

use crate::array::{check_input, with_output};
use crate::backend::gpu::{DEFAULT_MAX_CHUNK_BYTES, GpuContext, GpuPlan};
use crate::backend::{self, ActiveBackend, Backend, cpu};
use crate::error::{Error, Result};
use crate::geometry::Lowered;
use crate::geometry::{Geometry, ImageGrid, check_compatible, lower};
use crate::operator::LinearOperator;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::sync::{Arc, Mutex};

mod pet;
mod spect;
pub use pet::PetProjector;
pub use spect::{DEFAULT_MAX_FRAME_BYTES, SpectProjector};

/// A linear operator `A` from images `vol[z, y, x]` to projections `proj[view, row, col]`
/// (line integrals, image value × mm), with its exact transpose `Aᵀ`.
///
/// Planned once (geometry lowered, backend chosen; GPU buffers allocated on the first call
/// and kept) and run many times.
#[derive(Debug)]
pub struct Projector {
    geometry: Geometry,
    grid: ImageGrid,
    lowered: Lowered,
    options: PlanOptions,
    engine: Engine,
}

/// How a plan is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Which backend to use.
    pub backend: Backend,
    /// Largest device buffer (bytes) a GPU plan allocates; stacks are split into chunks of
    /// slices that fit. Ignored on the CPU.
    pub max_chunk_bytes: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Auto,
            max_chunk_bytes: DEFAULT_MAX_CHUNK_BYTES,
        }
    }
}

#[derive(Debug)]
enum Engine {
    Cpu,
    /// The device buffers are allocated on the first forward or adjoint call, so that a
    /// projector used only to plan FBP holds none.
    Gpu {
        ctx: Arc<GpuContext>,
        plan: Mutex<Option<Box<GpuPlan>>>,
    },
}

impl Projector {
    /// Plans a projector for `geometry` over `grid` on `backend`.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] when the geometry cannot image the grid (rows ≠ slices, a fan
    /// source inside the grid); [`Error::NoGpu`] for [`Backend::Gpu`] without an adapter;
    /// [`Error::Gpu`] when the device cannot hold one slice.
    pub fn new(geometry: impl Into<Geometry>, grid: ImageGrid, backend: Backend) -> Result<Self> {
        Self::with_options(
            geometry,
            grid,
            PlanOptions {
                backend,
                ..Default::default()
            },
        )
    }

    /// As [`Projector::new`], with every planning option.
    ///
    /// # Errors
    /// As [`Projector::new`], and [`Error::InvalidArgument`] for a zero chunk size.
    pub fn with_options(
        geometry: impl Into<Geometry>,
        grid: ImageGrid,
        options: PlanOptions,
    ) -> Result<Self> {
        if options.max_chunk_bytes == 0 {
            return Err(Error::InvalidArgument("max_chunk_bytes must be > 0".into()));
        }
        let geometry = geometry.into();
        check_compatible(&geometry, &grid)?;
        let lowered = lower(&geometry, &grid);
        let engine = match backend::resolve(options.backend)? {
            None => Engine::Cpu,
            Some(ctx) => {
                GpuPlan::check_fits(&ctx, &lowered, true)?;
                Engine::Gpu {
                    ctx,
                    plan: Mutex::new(None),
                }
            }
        };
        Ok(Self {
            geometry,
            grid,
            lowered,
            options,
            engine,
        })
    }

    /// The acquisition geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }
    /// The image grid.
    pub fn grid(&self) -> &ImageGrid {
        &self.grid
    }
    /// Where this projector runs.
    pub fn backend(&self) -> ActiveBackend {
        match &self.engine {
            Engine::Cpu => ActiveBackend::Cpu,
            Engine::Gpu { ctx, .. } => ActiveBackend::Gpu {
                adapter: ctx.describe(),
            },
        }
    }
    pub(crate) fn gpu_context(&self) -> Option<Arc<GpuContext>> {
        match &self.engine {
            Engine::Cpu => None,
            Engine::Gpu { ctx, .. } => Some(ctx.clone()),
        }
    }
    pub(crate) fn lowered(&self) -> &Lowered {
        &self.lowered
    }
    /// The options the plan was built with.
    pub fn options(&self) -> PlanOptions {
        self.options
    }
    /// Bytes of device memory the plan holds (0 on the CPU).
    pub fn device_bytes(&self) -> u64 {
        match &self.engine {
            Engine::Cpu => 0,
            Engine::Gpu { plan, .. } => plan
                .lock()
                .ok()
                .and_then(|p| p.as_ref().map(|p| p.device_bytes()))
                .unwrap_or(0),
        }
    }
    /// Slices per GPU chunk (the whole stack on the CPU).
    pub fn chunk_slices(&self) -> usize {
        match &self.engine {
            Engine::Cpu => self.grid.shape()[0],
            Engine::Gpu { ctx, .. } => {
                GpuPlan::chunk_slices_for(ctx, &self.lowered, self.options.max_chunk_bytes)
            }
        }
    }
    /// Shape of images: `[ny, nx]` for a 2D grid, `[nz, ny, nx]` for 3D.
    pub fn image_shape(&self) -> Vec<usize> {
        self.grid.array_shape()
    }
    /// Shape of projections: `[views, cols]` for a 2D grid, `[views, rows, cols]` for 3D.
    pub fn data_shape(&self) -> Vec<usize> {
        let [v, r, c] = self.geometry.data_shape();
        if self.grid.ndim() == 2 {
            vec![v, c]
        } else {
            vec![v, r, c]
        }
    }

    /// `A x`: line integrals of `image` (shape [`Projector::image_shape`]), a new array of
    /// shape [`Projector::data_shape`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`], or a GPU failure.
    pub fn forward(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.data_shape()));
        self.forward_into(image, out.view_mut())?;
        Ok(out)
    }

    /// `A x` written over `out` (overwritten, not accumulated).
    ///
    /// # Errors
    /// As [`Projector::forward`], and [`Error::ShapeMismatch`] for a wrong `out`.
    pub fn forward_into(
        &self,
        image: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        let image = check_input("image", image, &self.image_shape())?;
        let image = image.as_slice().expect("standard layout");
        with_output("projection output", out, &self.data_shape(), |o| {
            self.forward_flat(image, o)
        })
    }

    /// `Aᵀ y`: back-projection of `data` (shape [`Projector::data_shape`]), the exact adjoint of
    /// [`Projector::forward`]; a new array of shape [`Projector::image_shape`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`], or a GPU failure.
    pub fn adjoint(&self, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.image_shape()));
        self.adjoint_into(data, out.view_mut())?;
        Ok(out)
    }

    /// `Aᵀ y` written over `out` (overwritten, not accumulated).
    ///
    /// # Errors
    /// As [`Projector::adjoint`], and [`Error::ShapeMismatch`] for a wrong `out`.
    pub fn adjoint_into(
        &self,
        data: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        let data = check_input("projection data", data, &self.data_shape())?;
        let data = data.as_slice().expect("standard layout");
        with_output("image output", out, &self.image_shape(), |o| {
            self.adjoint_flat(data, o)
        })
    }

    /// Forward projection on flat C-order buffers (lengths checked by the callers).
    pub(crate) fn forward_flat(&self, image: &[f32], out: &mut [f32]) -> Result<()> {
        let l = &self.lowered;
        match &self.engine {
            Engine::Cpu => {
                cpu::forward_project(&l.params, &l.lines, image, out);
                Ok(())
            }
            Engine::Gpu { ctx, plan } => self.with_plan(ctx, plan, |p| p.forward(image, out)),
        }
    }

    /// Adjoint on flat C-order buffers (lengths checked by the callers).
    pub(crate) fn adjoint_flat(&self, data: &[f32], out: &mut [f32]) -> Result<()> {
        let l = &self.lowered;
        match &self.engine {
            Engine::Cpu => {
                cpu::adjoint_project(&l.params, &l.views, &l.lines, data, out);
                Ok(())
            }
            Engine::Gpu { ctx, plan } => self.with_plan(ctx, plan, |p| p.adjoint(data, out)),
        }
    }

    /// Runs `f` on the GPU plan, allocating it on first use.
    fn with_plan(
        &self,
        ctx: &Arc<GpuContext>,
        plan: &Mutex<Option<Box<GpuPlan>>>,
        f: impl FnOnce(&mut GpuPlan) -> Result<()>,
    ) -> Result<()> {
        let mut guard = plan.lock().map_err(|_| {
            Error::Gpu("a previous GPU call panicked; build a new projector".into())
        })?;
        if guard.is_none() {
            *guard = Some(Box::new(GpuPlan::projector(
                ctx.clone(),
                &self.lowered,
                self.options.max_chunk_bytes,
            )?));
        }
        f(guard.as_mut().expect("allocated above"))
    }
}

impl LinearOperator for Projector {
    fn in_shape(&self) -> Vec<usize> {
        self.image_shape()
    }
    fn out_shape(&self) -> Vec<usize> {
        self.data_shape()
    }
    fn forward_into(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        self.forward_flat(x, out)
    }
    fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        self.adjoint_flat(y, out)
    }
}
