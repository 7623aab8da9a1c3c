//! The matched cone-beam projector pair: Joseph line integrals from the source to each
//! detector pixel's centre and their exact transpose, run by the 3D line stages
//! (`pet_forward`, and `pet_adjoint_max` → `pet_adjoint` → `fixed_to_float`) in their cone-beam mode.
//! A ray is a line of response from the source to the pixel: one walk serves PET and CT.

use super::pet3d::{PetRunner, base_params, max_weight};
use crate::array::{check_input, with_output};
use crate::backend::layout::{PET_CONE, PetParams};
use crate::backend::models::PetTables;
use crate::backend::{ActiveBackend, Backend, Device};
use crate::error::{Error, Result};
use crate::geometry::{ConeBeam, ImageGrid};
use crate::operator::ViewSubsets;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

/// The tables of `cone` over `grid`: per view its vectors packed in three `vec4`s (source,
/// detector − source, column step, row step; mm), then per column `(a, b, 0, 0)` and per row
/// `(c, 0, 0, 0)` (see `cone_ray` in `shaders/shared/pet.wgsl`).
pub(crate) fn cone_tables(cone: &ConeBeam, grid: &ImageGrid) -> Result<PetTables> {
    let (cols, rows) = cone.pixel_tables()?;
    let transaxial = cone
        .views()
        .iter()
        .flat_map(|v| {
            let t = [
                v.detector[0] - v.source[0],
                v.detector[1] - v.source[1],
                v.detector[2] - v.source[2],
            ];
            let f = |x: f64| x as f32;
            [
                [f(v.source[0]), f(v.source[1]), f(v.source[2]), f(t[0])],
                [f(t[1]), f(t[2]), f(v.u[0]), f(v.u[1])],
                [f(v.u[2]), f(v.v[0]), f(v.v[1]), f(v.v[2])],
            ]
        })
        .collect();
    let axial = cols
        .iter()
        .map(|c| [c[0] as f32, c[1] as f32, 0.0, 0.0])
        .chain(rows.iter().map(|&r| [r as f32, 0.0, 0.0, 0.0]))
        .collect();
    let [n_views, n_rows, n_cols] = cone.data_shape();
    let base = PetParams {
        mode: PET_CONE,
        n_tang: n_cols as u32,
        n_planes: n_rows as u32,
        ..base_params(grid, None)
    };
    Ok(PetTables {
        base,
        transaxial,
        axial,
        events: Vec::new(),
        item_len: n_rows * n_cols,
        items: n_views,
        max_weight: max_weight(grid, 1.0),
    })
}

/// The cone-beam projector `A`: line integrals (image value × mm) of `vol[z, y, x]` on the grid
/// along the ray from the source to the centre of every detector pixel, `proj[view, row, col]`;
/// Joseph's method, an image of ones projecting to the exact chord length through the grid's
/// box. Its adjoint is the exact transpose, summed in 64-bit fixed point on a GPU and in `f64`
/// in ray order on the CPU (bit-identical reruns on each).
///
/// Views are processed a chunk at a time and the image a slab of slices at a time: each
/// buffer stays within the device's largest binding (and [`ConeProjector::with_max_buffer_bytes`]),
/// so volumes larger than the device's bindings project too, with the same bits as in one
/// piece. A slab holds as many slices as their accumulator (8 bytes a voxel) fits
/// in one buffer; each ray is walked over the planes that reach the slab only.
#[derive(Debug)]
pub struct ConeProjector {
    cone: ConeBeam,
    grid: ImageGrid,
    active: ActiveBackend,
    run: PetRunner,
}

impl ConeProjector {
    /// The projector of `cone` over `grid` (3D) on `backend`.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for a 2D grid, a grid not wholly between source and
    /// detector in some view, or views whose pixel sizes differ; [`Error::NoGpu`] for
    /// [`Backend::Gpu`] without an adapter.
    pub fn new(cone: ConeBeam, grid: ImageGrid, backend: Backend) -> Result<Self> {
        let device = Device::resolve(backend)?;
        Self::on(cone, grid, device)
    }

    fn on(cone: ConeBeam, grid: ImageGrid, device: Device) -> Result<Self> {
        if grid.ndim() != 3 {
            return Err(Error::InvalidGeometry(
                "a cone-beam projector needs a 3D image grid (ImageGrid::new_3d)".into(),
            ));
        }
        cone.check_grid(&grid)?;
        let tables = cone_tables(&cone, &grid)?;
        Ok(Self {
            active: device.active(),
            run: PetRunner::new(device, tables, None),
            cone,
            grid,
        })
    }

    /// The same projector with every buffer at most `bytes` (the image then goes through
    /// slabs of slices; the results are the same bits).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for 0 bytes.
    pub fn with_max_buffer_bytes(mut self, bytes: u64) -> Result<Self> {
        if bytes == 0 {
            return Err(Error::InvalidArgument(
                "max_buffer_bytes must be > 0".into(),
            ));
        }
        self.run.set_max_buffer_bytes(bytes);
        Ok(self)
    }

    /// Bytes of device (or host-engine) memory the projector's plan holds (0 before its first
    /// projection).
    pub fn device_bytes(&self) -> u64 {
        self.run.plan_bytes()
    }

    /// The geometry.
    pub fn geometry(&self) -> &ConeBeam {
        &self.cone
    }
    /// The image grid.
    pub fn grid(&self) -> &ImageGrid {
        &self.grid
    }
    /// Where the projector runs.
    pub fn backend(&self) -> &ActiveBackend {
        &self.active
    }
    pub(crate) fn device(&self) -> &Device {
        &self.run.device
    }
    /// Image shape `[nz, ny, nx]`.
    pub fn image_shape(&self) -> Vec<usize> {
        self.grid.array_shape()
    }
    /// Data shape `[views, rows, cols]`.
    pub fn data_shape(&self) -> Vec<usize> {
        self.cone.data_shape().to_vec()
    }

    /// Line integrals of `image` (shape [`ConeProjector::image_shape`]).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] or [`Error::NonFinite`] for a bad image; backend failures.
    pub fn forward(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let image = check_input("image", image, &self.image_shape())?;
        let mut out = ArrayD::zeros(IxDyn(&self.data_shape()));
        let flat = out.as_slice_mut().expect("standard layout");
        self.forward_flat(image.as_slice().expect("standard layout"), flat)?;
        Ok(out)
    }

    /// The transpose `Aᵀ y` of projections `y`: an image.
    ///
    /// # Errors
    /// As [`ConeProjector::forward`], for the data.
    pub fn adjoint(&self, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.image_shape()));
        self.adjoint_into(data, out.view_mut())?;
        Ok(out)
    }

    /// As [`ConeProjector::adjoint`], overwriting `out`.
    ///
    /// # Errors
    /// As [`ConeProjector::adjoint`]; [`Error::ShapeMismatch`] for `out`.
    pub fn adjoint_into(
        &self,
        data: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        let data = check_input("projection data", data, &self.data_shape())?;
        with_output("image", out, &self.image_shape(), |o| {
            self.adjoint_flat(data.as_slice().expect("standard layout"), o)
        })
    }

    fn forward_flat(&self, image: &[f32], out: &mut [f32]) -> Result<()> {
        self.run.forward_flat(image, out)
    }

    fn adjoint_flat(&self, data: &[f32], out: &mut [f32]) -> Result<()> {
        self.run.adjoint_flat(Some(data), out)
    }
}

super::linear_operator!(ConeProjector);

impl ViewSubsets for ConeProjector {
    type Subset = ConeProjector;
    /// The projector of the views `views` only, on the same device.
    fn subset(&self, views: &[usize]) -> Result<ConeProjector> {
        let n = self.cone.n_views();
        if let Some(v) = views.iter().find(|&&v| v >= n) {
            return Err(Error::InvalidArgument(format!(
                "view {v} of a subset; the geometry has {n} views"
            )));
        }
        if views.is_empty() {
            return Err(Error::InvalidArgument("an empty subset of views".into()));
        }
        ConeProjector::on(
            self.cone.subset(views),
            self.grid.clone(),
            self.run.device.clone(),
        )?
        .with_max_buffer_bytes(self.run.max_buffer_bytes())
    }
}
