//! The 3D PET system model over a scanner's sinogram layout: Joseph line integrals between the
//! end points of every line of response (TOF-weighted when the layout has TOF), times
//! attenuation and normalisation factors.

use crate::array::{check_input, non_negative_input, with_output};
use crate::backend::layout::{PET_SINOGRAM, PetParams};
use crate::backend::models::{PetModel, PetPlan, PetTables};
use crate::backend::{ActiveBackend, Backend, Device};
use crate::error::Result;
use crate::geometry::ImageGrid;
use crate::geometry::pet::SinogramLayout;
use crate::operator::{ModelPlan, SystemModel};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::ops::Range;
use std::sync::Mutex;

/// The TOF timing kernel is a Gaussian truncated this many standard deviations from its
/// centre and renormalised to unit area (by `1 / erf(T/√2)`, 1.0027 for 3σ): the TOF bins of a
/// line of response sum to the kernel over their union (its non-TOF weight wherever they cover
/// it with `T`σ to spare), which [`Pet3dProjector::sensitivity`] uses.
pub const TOF_TRUNCATION_SIGMAS: f32 = 3.0;

/// The parameters every PET dispatch over `grid` shares (`len`, `first` and `bound_exp` are
/// set per dispatch).
pub(crate) fn base_params(
    grid: &ImageGrid,
    tof: Option<crate::geometry::pet::TofBins>,
) -> PetParams {
    let [nz, ny, nx] = grid.shape();
    let [oz, oy, ox] = grid.origin();
    let [dz, dy, dx] = grid.spacing();
    let tof = tof.map_or([0.0; 4], |t| {
        [
            t.width_mm as f32,
            t.sigma_mm() as f32,
            TOF_TRUNCATION_SIGMAS,
            (0.5 / libm::erf(TOF_TRUNCATION_SIGMAS as f64 / std::f64::consts::SQRT_2)) as f32,
        ]
    });
    PetParams {
        nx: nx as u32,
        ny: ny as u32,
        nz: nz as u32,
        mode: PET_SINOGRAM,
        n_tang: 1,
        n_planes: 1,
        n_views: 0,
        n_tof: 1,
        len: 0,
        first: 0,
        bound_exp: 0,
        _pad0: 0,
        origin: [ox as f32, oy as f32, oz as f32, 0.0],
        inv_spacing: [(1.0 / dx) as f32, (1.0 / dy) as f32, (1.0 / dz) as f32, 0.0],
        scale: [dx as f32, dy as f32, dz as f32, 1.0],
        tof,
        slab: [0, nz as u32, 0, 0],
    }
}

/// Largest weight one line of response gives one voxel: one step (at most √3 voxel sides)
/// times the bin's weight.
pub(crate) fn max_weight(grid: &ImageGrid, bin_weight: f64) -> f64 {
    let side = grid.spacing().into_iter().fold(0.0, f64::max);
    3f64.sqrt() * side * bin_weight
}

/// The tables of `layout` over `grid`, views in the order `views`.
pub(crate) fn sinogram_tables(
    layout: &SinogramLayout,
    grid: &ImageGrid,
    views: &[usize],
) -> PetTables {
    let all = layout.transaxial_table();
    let tang = layout.tangential() as usize;
    let transaxial = views
        .iter()
        .flat_map(|&v| all[v * tang..(v + 1) * tang].iter().copied())
        .collect();
    let axial = layout.plane_table();
    let pairs = axial.iter().map(|a| a[2]).fold(0.0, f32::max) as f64;
    let mashing = layout.view_mashing();
    let mut base = PetParams {
        n_tang: layout.tangential(),
        n_planes: layout.planes(),
        n_tof: layout.tof_bins(),
        ..base_params(grid, layout.tof())
    };
    base.scale[3] = mashing as f32;
    PetTables {
        base,
        transaxial,
        axial,
        events: Vec::new(),
        item_len: (layout.planes() * layout.tof_bins() * layout.tangential()) as usize,
        items: views.len(),
        max_weight: max_weight(grid, pairs * mashing as f64),
    }
}

/// The PET stages over a whole data set (sinogram bins or events) with per-sample factors `m`:
/// `m · (A x)` and `Aᵀ (m · y)`, the plan made on first use and kept. Both PET projectors run
/// on one.
#[derive(Debug)]
pub(crate) struct PetRunner {
    pub device: Device,
    pub tables: PetTables,
    pub factors: Option<Vec<f32>>,
    /// Largest buffer the plan may allocate, bytes (the device's binding limit applies too).
    max_buffer_bytes: u64,
    plan: Mutex<Option<PetPlan>>,
}

impl PetRunner {
    pub fn new(device: Device, tables: PetTables, factors: Option<Vec<f32>>) -> Self {
        Self {
            device,
            tables,
            factors,
            max_buffer_bytes: u64::MAX,
            plan: Mutex::new(None),
        }
    }

    /// Caps every buffer of the plan at `bytes` (a plan made before is dropped).
    pub fn set_max_buffer_bytes(&mut self, bytes: u64) {
        self.max_buffer_bytes = bytes;
        *self.plan.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The cap of [`PetRunner::set_max_buffer_bytes`].
    pub fn max_buffer_bytes(&self) -> u64 {
        self.max_buffer_bytes
    }

    /// Bytes the plan's buffers hold (0 before the first projection).
    pub fn plan_bytes(&self) -> u64 {
        let guard = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map_or(0, PetPlan::bytes)
    }

    fn with_plan<T>(&self, f: impl FnOnce(&mut PetPlan) -> Result<T>) -> Result<T> {
        let mut guard = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(PetPlan::new(
                self.device.engine(),
                self.tables.clone(),
                self.max_buffer_bytes,
            )?);
        }
        f(guard.as_mut().expect("plan"))
    }

    /// `out ← m · (A image)`.
    pub fn forward_flat(&self, image: &[f32], out: &mut [f32]) -> Result<()> {
        self.with_plan(|plan| plan.forward(image, out))?;
        if let Some(f) = &self.factors {
            out.iter_mut().zip(f).for_each(|(o, m)| *o *= m);
        }
        Ok(())
    }

    /// `out ← Aᵀ (m · data)`; with `data` `None`, the sensitivity `Aᵀ m`.
    pub fn adjoint_flat(&self, data: Option<&[f32]>, out: &mut [f32]) -> Result<()> {
        let weighted: Vec<f32>;
        let y: &[f32] = match (data, &self.factors) {
            (Some(d), Some(f)) => {
                weighted = d.iter().zip(f).map(|(y, m)| y * m).collect();
                &weighted
            }
            (Some(d), None) => d,
            (None, Some(f)) => f,
            (None, None) => {
                weighted = vec![1.0; self.tables.items * self.tables.item_len];
                &weighted
            }
        };
        self.with_plan(|plan| plan.adjoint(y, out))
    }
}

/// The 3D PET system model `ȳ = m · (A x)` of a scanner's sinograms: `A` the Joseph line
/// integrals (image value × mm) along each bin's line of response, counted once per crystal
/// pair the bin sums (ring pairs of a span, mashed views) and, with TOF, weighted by the
/// timing kernel integrated over the TOF bin; `m` the product of the attenuation factors
/// `exp(−∫μ)` along each line (from a μ-map on the image grid) and the normalisation factors.
/// Randoms and scatter are the additive background of the reconstruction
/// ([`crate::Osem::background`]).
///
/// Images are `vol[z, y, x]` on the grid; data `sino[view, plane, (tof,) tangential]` of the
/// layout ([`SinogramLayout::shape`]). Forward and adjoint are an exact pair on both backends;
/// the adjoint sums in 64-bit fixed point on a GPU and in `f64` in line order on the CPU, so
/// reruns are bit-identical on each.
#[derive(Debug)]
pub struct Pet3dProjector {
    layout: SinogramLayout,
    grid: ImageGrid,
    active: ActiveBackend,
    run: PetRunner,
}

impl Pet3dProjector {
    /// The line-integral model of `layout` over `grid` on `backend`, without factors.
    ///
    /// # Errors
    /// [`crate::Error::NoGpu`] when [`Backend::Gpu`] finds no adapter;
    /// [`crate::Error::InvalidGeometry`] for a 2D grid.
    pub fn new(layout: SinogramLayout, grid: ImageGrid, backend: Backend) -> Result<Self> {
        if grid.ndim() != 3 {
            return Err(crate::Error::InvalidGeometry(
                "a 3D PET model needs a 3D image grid (ImageGrid::new_3d)".into(),
            ));
        }
        let device = Device::resolve(backend)?;
        let views: Vec<usize> = (0..layout.views() as usize).collect();
        let tables = sinogram_tables(&layout, &grid, &views);
        let active = device.active();
        Ok(Self {
            layout,
            grid,
            active,
            run: PetRunner::new(device, tables, None),
        })
    }

    /// The same model with attenuation: `mu` (1/mm at 511 keV, on the image grid, ≥ 0) gives
    /// each line of response the factor `exp(−∫μ)`, multiplied into the existing factors.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] when the μ-map is not on the image grid;
    /// [`crate::Error::NonFinite`] or [`crate::Error::InvalidArgument`] (negative values);
    /// backend failures.
    pub fn with_attenuation(self, mu: ArrayViewD<'_, f32>) -> Result<Self> {
        let mu = non_negative_input("attenuation map (μ-map)", mu, &self.grid.array_shape())?;
        let l = &self.layout;
        let (planes, tang) = (l.planes() as usize, l.tangential() as usize);
        let mut integrals = vec![0.0f32; l.views() as usize * planes * tang];
        self.per_line(None, [0.0; 4])
            .forward_flat(&mu, &mut integrals)?;
        // Per line: divide out the bin's weight (ring pairs × mashed views).
        let table = l.plane_table();
        let mashing = l.view_mashing() as f32;
        for (i, v) in integrals.iter_mut().enumerate() {
            let plane = (i / tang) % planes;
            *v = (-*v / (table[plane][2] * mashing)).exp();
        }
        let factors = self.expand_tof(&integrals);
        Ok(self.multiply_factors(factors))
    }

    /// The same model with normalisation factors (detector efficiencies, geometric factors)
    /// multiplied into the existing factors: one per line of response, of the layout's shape
    /// without TOF (`[views, planes, tangential]`), ≥ 0; 0 marks bins that detect nothing.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`], [`crate::Error::NonFinite`] or
    /// [`crate::Error::InvalidArgument`] (negative values).
    pub fn with_normalisation(self, factors: ArrayViewD<'_, f32>) -> Result<Self> {
        let shape = self.layout.clone().without_tof().shape();
        let n = non_negative_input("normalisation", factors, &shape)?;
        let factors = self.expand_tof(&n);
        Ok(self.multiply_factors(factors))
    }

    /// The stages over one sample per line of response (`[views, planes, tangential]`) on the
    /// same grid and device, with `factors` (one per line) and the TOF kernel `tof`
    /// (`PetParams::tof`; zeros: none).
    fn per_line(&self, factors: Option<Vec<f32>>, tof: [f32; 4]) -> PetRunner {
        let layout = self.layout.clone().without_tof();
        let views: Vec<usize> = (0..layout.views() as usize).collect();
        let mut tables = sinogram_tables(&layout, &self.grid, &views);
        tables.base.tof = tof;
        PetRunner::new(self.run.device.clone(), tables, factors)
    }

    /// Repeats per-line values over the TOF bins (data order).
    fn expand_tof(&self, per_line: &[f32]) -> Vec<f32> {
        let k = self.layout.tof_bins() as usize;
        if k == 1 {
            return per_line.to_vec();
        }
        let tang = self.layout.tangential() as usize;
        per_line
            .chunks_exact(tang)
            .flat_map(|row| std::iter::repeat_n(row, k).flatten().copied())
            .collect()
    }

    fn multiply_factors(mut self, f: Vec<f32>) -> Self {
        self.run.factors = Some(match self.run.factors.take() {
            Some(a) => a.iter().zip(&f).map(|(a, b)| a * b).collect(),
            None => f,
        });
        self
    }

    /// The sinogram layout.
    pub fn layout(&self) -> &SinogramLayout {
        &self.layout
    }
    /// The image grid.
    pub fn grid(&self) -> &ImageGrid {
        &self.grid
    }
    /// Where the model runs.
    pub fn backend(&self) -> &ActiveBackend {
        &self.active
    }
    pub(crate) fn device(&self) -> &Device {
        &self.run.device
    }
    /// The multiplicative factors (attenuation × normalisation) in the data's shape, if any.
    pub fn factors(&self) -> Option<ArrayD<f32>> {
        self.run.factors.as_ref().map(|f| {
            ArrayD::from_shape_vec(IxDyn(&self.layout.shape()), f.clone()).expect("data shape")
        })
    }
    /// Image shape `[nz, ny, nx]`.
    pub fn image_shape(&self) -> Vec<usize> {
        self.grid.array_shape()
    }
    /// Data shape ([`SinogramLayout::shape`]).
    pub fn data_shape(&self) -> Vec<usize> {
        self.layout.shape()
    }

    /// Expected trues `m · (A x)` of `image`.
    ///
    /// # Errors
    /// [`crate::Error::ShapeMismatch`] or [`crate::Error::NonFinite`] for a bad image; backend
    /// failures.
    pub fn forward(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let image = check_input("image", image, &self.image_shape())?;
        let mut out = ArrayD::zeros(IxDyn(&self.data_shape()));
        let flat = out.as_slice_mut().expect("standard layout");
        self.forward_flat(image.as_slice().expect("standard layout"), flat)?;
        Ok(out)
    }

    /// The transpose `Aᵀ (m · y)` of a sinogram: an image.
    ///
    /// # Errors
    /// As [`Pet3dProjector::forward`], for the data.
    pub fn adjoint(&self, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.image_shape()));
        self.adjoint_into(data, out.view_mut())?;
        Ok(out)
    }

    /// As [`Pet3dProjector::adjoint`], overwriting `out`.
    ///
    /// # Errors
    /// As [`Pet3dProjector::adjoint`]; [`crate::Error::ShapeMismatch`] for `out`.
    pub fn adjoint_into(
        &self,
        data: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        let data = check_input("data", data, &self.data_shape())?;
        with_output("image", out, &self.image_shape(), |o| {
            self.adjoint_flat(data.as_slice().expect("standard layout"), o)
        })
    }

    /// The sensitivity image `Aᵀ m` (the back-projection of the factors, or of ones). With
    /// TOF, one walk per line of response instead of one per TOF bin: the renormalised,
    /// truncated kernel ([`TOF_TRUNCATION_SIGMAS`]) integrated over a line's K bins telescopes
    /// to the same kernel integrated over one bin K times as wide, centred on the midpoint, so
    /// the sum over TOF bins is computed as that one bin (equal to the back-projection of ones
    /// over every bin within f32 rounding, tested; equal to the non-TOF sensitivity wherever the
    /// bins cover a line with 3σ to spare).
    ///
    /// # Errors
    /// Backend failures.
    pub fn sensitivity(&self) -> Result<ArrayD<f32>> {
        let mut out = vec![0.0f32; self.grid.len()];
        match self.layout.tof() {
            Some(tof) => {
                let k = self.layout.tof_bins() as usize;
                let tang = self.layout.tangential() as usize;
                let per_line = self.run.factors.as_ref().map(|f| {
                    f.chunks_exact(k * tang)
                        .flat_map(|c| c[..tang].iter().copied())
                        .collect()
                });
                // The bins' union: one bin K times as wide, centred on the midpoint.
                let mut union = base_params(&self.grid, Some(tof)).tof;
                union[0] *= k as f32;
                self.per_line(per_line, union)
                    .adjoint_flat(None, &mut out)?;
            }
            None => self.run.adjoint_flat(None, &mut out)?,
        }
        Ok(ArrayD::from_shape_vec(IxDyn(&self.image_shape()), out).expect("image shape"))
    }

    fn forward_flat(&self, image: &[f32], out: &mut [f32]) -> Result<()> {
        self.run.forward_flat(image, out)
    }

    fn adjoint_flat(&self, data: &[f32], out: &mut [f32]) -> Result<()> {
        self.run.adjoint_flat(Some(data), out)
    }
}

super::linear_operator!(Pet3dProjector);

impl SystemModel for Pet3dProjector {
    fn image_shape(&self) -> Vec<usize> {
        self.grid.array_shape()
    }
    fn data_shape(&self) -> Vec<usize> {
        self.layout.shape()
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
        let tables = sinogram_tables(&self.layout, &self.grid, order);
        let view_len = tables.item_len;
        let factors = self.run.factors.as_ref().map(|f| {
            order
                .iter()
                .flat_map(|&v| f[v * view_len..(v + 1) * view_len].iter().copied())
                .collect()
        });
        let model = PetModel::resident(
            self.run.device.engine(),
            tables,
            subsets,
            (factors, None),
            max_resident_bytes,
        )?;
        Ok(ModelPlan(Box::new(model)))
    }
}
