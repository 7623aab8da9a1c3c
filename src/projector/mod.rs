//! The matched projector pair: Joseph forward projection and its exact adjoint.
//!
//! Both are gathers (one invocation per output element, no atomics), so the results are
//! deterministic and identical in structure on the GPU and the CPU.

use crate::array::{check_input, with_output};
use crate::backend::layout::Lowered;
use crate::backend::models::{JosephPlan, check_fits, chunk_slices};
use crate::backend::{ActiveBackend, Backend, Device};
use crate::error::{Error, Result};
use crate::geometry::{Geometry, ImageGrid, check_compatible, lower};
use crate::operator::ViewSubsets;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::sync::Mutex;

mod beds;
mod cone;
mod listmode;
mod pet;
pub(crate) mod pet3d;
mod spect;
pub(crate) use beds::mark_measured;
pub use beds::{SpectBed, SpectBeds};
pub use cone::ConeProjector;
pub use listmode::{ListModeEvents, ListModeProjector};
pub use pet::PetProjector;
pub use pet3d::{Pet3dProjector, TOF_TRUNCATION_SIGMAS};
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
    device: Device,
    /// Buffers, allocated on the first forward or adjoint call (so that a projector used only
    /// to plan FBP holds none) and reused.
    plan: Mutex<Option<JosephPlan>>,
}

/// Default cap on one chunk buffer of a projector or FBP plan, whatever the device allows:
/// keeps memory modest on any backend.
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = 256 << 20;

/// How a plan is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Which backend to use.
    pub backend: Backend,
    /// Largest buffer (bytes) a plan allocates for a chunk of the stack; stacks are split into
    /// chunks of slices that fit (and that the device can bind).
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
        let device = Device::resolve(options.backend)?;
        check_fits(&device.engine(), &lowered)?;
        Ok(Self {
            geometry,
            grid,
            lowered,
            options,
            device,
            plan: Mutex::new(None),
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
        self.device.active()
    }
    /// The device the projector runs on (what models built from it run on).
    pub(crate) fn device(&self) -> &Device {
        &self.device
    }
    pub(crate) fn lowered(&self) -> &Lowered {
        &self.lowered
    }
    /// The options the plan was built with.
    pub fn options(&self) -> PlanOptions {
        self.options
    }
    /// Bytes of memory the plan's buffers hold (0 before the first call).
    pub fn device_bytes(&self) -> u64 {
        self.plan
            .lock()
            .ok()
            .and_then(|p| p.as_ref().map(JosephPlan::bytes))
            .unwrap_or(0)
    }
    /// Slices per chunk of the stack.
    pub fn chunk_slices(&self) -> usize {
        chunk_slices(
            &self.device.engine(),
            &self.lowered.params,
            self.options.max_chunk_bytes,
        )
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
        self.with_plan(|p| p.forward(image, out))
    }

    /// Adjoint on flat C-order buffers (lengths checked by the callers).
    pub(crate) fn adjoint_flat(&self, data: &[f32], out: &mut [f32]) -> Result<()> {
        self.with_plan(|p| p.adjoint(data, out))
    }

    /// Runs `f` on the plan, allocating its buffers on first use.
    fn with_plan(&self, f: impl FnOnce(&mut JosephPlan) -> Result<()>) -> Result<()> {
        let mut guard = self.plan.lock().map_err(|_| {
            Error::Gpu(
                "a previous call panicked while holding the plan; build a new projector".into(),
            )
        })?;
        if guard.is_none() {
            *guard = Some(JosephPlan::new(
                self.device.engine(),
                &self.lowered,
                self.options.max_chunk_bytes,
            )?);
        }
        f(guard.as_mut().expect("allocated above"))
    }
}

impl ViewSubsets for Projector {
    type Subset = Projector;
    /// A projector of the views `views` only, planned like this one.
    fn subset(&self, views: &[usize]) -> Result<Projector> {
        let n = self.geometry.n_views();
        if let Some(v) = views.iter().find(|&&v| v >= n) {
            return Err(Error::InvalidArgument(format!(
                "view {v} of a subset; the geometry has {n} views"
            )));
        }
        Projector::with_options(self.geometry.subset(views), self.grid.clone(), self.options)
    }
}

/// [`LinearOperator`] for a projector with `image_shape`, `data_shape`, `forward_flat` and
/// `adjoint_flat`: the buffers' lengths are checked, then the flat pair runs.
macro_rules! linear_operator {
    ($t:ty) => {
        impl crate::operator::LinearOperator for $t {
            fn in_shape(&self) -> Vec<usize> {
                self.image_shape()
            }
            fn out_shape(&self) -> Vec<usize> {
                self.data_shape()
            }
            fn forward_into(&self, x: &[f32], out: &mut [f32]) -> crate::error::Result<()> {
                let (i, o) = (self.image_shape(), self.data_shape());
                crate::operator::check_lengths(&i, &o, x.len(), out.len(), true)?;
                self.forward_flat(x, out)
            }
            fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> crate::error::Result<()> {
                let (i, o) = (self.image_shape(), self.data_shape());
                crate::operator::check_lengths(&i, &o, y.len(), out.len(), false)?;
                self.adjoint_flat(y, out)
            }
        }
    };
}
pub(crate) use linear_operator;

linear_operator!(Projector);
