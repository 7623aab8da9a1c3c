//! The SPECT system model as a projector: attenuation and collimator-detector response inside
//! a matched forward/adjoint pair, on the GPU or the CPU.

use crate::array::{check_input, non_negative_input, with_output};
use crate::backend::models::SpectModel;
use crate::backend::resident::ResidentModel;
use crate::backend::{ActiveBackend, Backend, Device};
use crate::error::{Error, Result};
use crate::geometry::{ImageGrid, SpectGeometry, lower_spect};
use crate::operator::{ModelPlan, SystemModel};
use ndarray::{ArrayD, ArrayView3, ArrayViewD, ArrayViewMutD, IxDyn};
use std::ops::Range;
use std::sync::Mutex;

/// Default cap (bytes) on each rotated-frame work buffer of a GPU plan.
pub const DEFAULT_MAX_FRAME_BYTES: u64 = 256 << 20;

/// The SPECT system model `A`: images `vol[z, y, x]` (activity per voxel) to projections
/// `proj[view, row, col]` (counts per bin, in units of activity × mm: a uniform activity of 1
/// seen through 10 mm of non-attenuating medium projects to 10), with its exact transpose.
///
/// Each view moves the image onto a frame rotated to the camera (each voxel spread over the
/// four frame samples around it, weights summing to 1: counts are kept), attenuates each sample by `exp(−∫μ)` along its path to the camera face when a μ-map is given, blurs
/// it with the collimator-detector response for its distance from the face (within the
/// slice and across slices), and sums along the depth axis. The adjoint applies the
/// transposes in reverse order; both run as gathers on the GPU.
#[derive(Debug)]
pub struct SpectProjector {
    geometry: SpectGeometry,
    grid: ImageGrid,
    mu: Option<Vec<f32>>,
    device: Device,
    active: ActiveBackend,
    max_frame_bytes: u64,
    /// Plan for all views in acquisition order, made on the first forward or adjoint call.
    plan: Mutex<Option<Box<dyn ResidentModel>>>,
}

impl SpectProjector {
    /// Plans the model of `geometry` over the 3D `grid`, with the μ-map `attenuation`
    /// (`[z, y, x]` on `grid`, 1/mm, finite and ≥ 0) when given.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] when the grid does not suit the geometry (pixels not square
    /// or not of the column spacing); [`Error::ShapeMismatch`] for a μ-map of another shape;
    /// [`Error::NonFinite`] or [`Error::InvalidArgument`] for NaN or negative μ;
    /// [`Error::NoGpu`] for [`Backend::Gpu`] without an adapter.
    pub fn new(
        geometry: SpectGeometry,
        grid: ImageGrid,
        attenuation: Option<ArrayView3<'_, f32>>,
        backend: Backend,
    ) -> Result<Self> {
        Self::with_frame_limit(
            geometry,
            grid,
            attenuation,
            backend,
            DEFAULT_MAX_FRAME_BYTES,
        )
    }

    /// As [`SpectProjector::new`], with GPU work buffers of at most `max_frame_bytes` each.
    ///
    /// # Errors
    /// As [`SpectProjector::new`], and [`Error::InvalidArgument`] for a zero limit.
    pub fn with_frame_limit(
        geometry: SpectGeometry,
        grid: ImageGrid,
        attenuation: Option<ArrayView3<'_, f32>>,
        backend: Backend,
        max_frame_bytes: u64,
    ) -> Result<Self> {
        if max_frame_bytes == 0 {
            return Err(Error::InvalidArgument("max_frame_bytes must be > 0".into()));
        }
        geometry.check_grid(&grid)?;
        let mu = match attenuation {
            None => None,
            Some(a) => Some(non_negative_input(
                "attenuation map (1/mm)",
                a.into_dyn(),
                &grid.shape(),
            )?),
        };
        let device = Device::resolve(backend)?;
        let active = device.active();
        Ok(Self {
            geometry,
            grid,
            mu,
            device,
            active,
            max_frame_bytes,
            plan: Mutex::new(None),
        })
    }

    /// The acquisition geometry.
    pub fn geometry(&self) -> &SpectGeometry {
        &self.geometry
    }
    /// The image grid.
    pub fn grid(&self) -> &ImageGrid {
        &self.grid
    }
    /// Where the model runs.
    pub fn backend(&self) -> &ActiveBackend {
        &self.active
    }
    /// The device the model runs on (what models built from it run on).
    pub(crate) fn device(&self) -> &Device {
        &self.device
    }
    /// Bytes of backend memory (device buffers, or host buffers on the CPU) held by the plan
    /// behind `forward` and `adjoint` (0 before their first call).
    pub fn memory_bytes(&self) -> u64 {
        self.plan
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|m| m.memory_bytes()))
            .unwrap_or(0)
    }
    /// The μ-map (`[z, y, x]`, 1/mm), if attenuation is modelled.
    pub fn attenuation(&self) -> Option<ArrayView3<'_, f32>> {
        let [nz, ny, nx] = self.grid.shape();
        self.mu
            .as_deref()
            .map(|m| ArrayView3::from_shape((nz, ny, nx), m).expect("μ-map on the grid"))
    }
    /// Whether attenuation is modelled.
    pub fn has_attenuation(&self) -> bool {
        self.mu.is_some()
    }

    /// Shape of the projections: `[views, slices, cols]`.
    pub fn data_shape(&self) -> Vec<usize> {
        vec![
            self.geometry.n_views(),
            self.grid.shape()[0],
            self.geometry.n_cols(),
        ]
    }

    fn build(
        &self,
        order: &[usize],
        subsets: Vec<Range<usize>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<Box<dyn ResidentModel>> {
        let lowered = lower_spect(&self.geometry.subset(order), &self.grid, self.mu.is_some());
        Ok(Box::new(SpectModel::resident(
            self.device.engine(),
            &lowered,
            self.mu.as_deref(),
            subsets,
            self.max_frame_bytes,
            max_resident_bytes,
        )?))
    }

    fn with_plan<T>(&self, run: impl FnOnce(&mut dyn ResidentModel) -> Result<T>) -> Result<T> {
        let mut guard = self
            .plan
            .lock()
            .map_err(|_| Error::Gpu("a previous call panicked while holding the plan".into()))?;
        if guard.is_none() {
            let all: Vec<usize> = (0..self.geometry.n_views()).collect();
            let one_subset = std::iter::once(0..all.len()).collect();
            *guard = Some(self.build(&all, one_subset, None)?);
        }
        run(guard.as_deref_mut().expect("plan just made"))
    }

    fn forward_flat(&self, image: &[f32], proj: &mut [f32]) -> Result<()> {
        self.with_plan(|m| {
            m.write_image(image)?;
            m.forward(0)?;
            m.read_projections(0, proj)
        })
    }

    fn adjoint_flat(&self, proj: &[f32], image: &mut [f32]) -> Result<()> {
        self.with_plan(|m| {
            m.write_projections(0, proj)?;
            m.adjoint(0)?;
            m.read_back(image)
        })
    }

    /// Expected counts `A x` of the image `x` (`[z, y, x]`): projections `[views, slices, cols]`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`], or a GPU failure.
    pub fn forward(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.data_shape()));
        self.forward_into(image, out.view_mut())?;
        Ok(out)
    }

    /// As [`SpectProjector::forward`], overwriting `out`.
    ///
    /// # Errors
    /// As [`SpectProjector::forward`], and for an `out` of the wrong shape.
    pub fn forward_into(
        &self,
        image: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        let image = check_input("image", image, &self.grid.shape())?;
        with_output("projections", out, &self.data_shape(), |o| {
            self.forward_flat(image.as_slice().expect("standard"), o)
        })
    }

    /// The transpose `Aᵀ y` of projections `y` (`[views, slices, cols]`): an image `[z, y, x]`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`], or a GPU failure.
    pub fn adjoint(&self, proj: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.grid.shape()));
        self.adjoint_into(proj, out.view_mut())?;
        Ok(out)
    }

    /// As [`SpectProjector::adjoint`], overwriting `out`.
    ///
    /// # Errors
    /// As [`SpectProjector::adjoint`], and for an `out` of the wrong shape.
    pub fn adjoint_into(
        &self,
        proj: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        let proj = check_input("projections", proj, &self.data_shape())?;
        with_output("image", out, &self.grid.shape(), |o| {
            self.adjoint_flat(proj.as_slice().expect("standard"), o)
        })
    }
}

super::linear_operator!(SpectProjector);

impl SystemModel for SpectProjector {
    fn image_shape(&self) -> Vec<usize> {
        self.grid.shape().to_vec()
    }
    fn data_shape(&self) -> Vec<usize> {
        SpectProjector::data_shape(self)
    }
    fn spacing(&self) -> [f64; 3] {
        self.grid.spacing()
    }
    fn backend(&self) -> &ActiveBackend {
        &self.active
    }
    fn expected(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        self.forward(image)
    }
    fn plan(
        &self,
        order: &[usize],
        subsets: Vec<Range<usize>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<ModelPlan> {
        Ok(ModelPlan(self.build(order, subsets, max_resident_bytes)?))
    }
}
