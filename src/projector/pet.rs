//! The PET system model for 2D sinograms (one per plane): the Joseph projector times
//! per-bin multiplicative factors, attenuation and normalisation.

use super::Projector;
use crate::array::{check_input, non_negative_input, with_output};
use crate::backend::models::JosephModel;
use crate::backend::{ActiveBackend, Backend};
use crate::error::Result;
use crate::geometry::{Geometry, ImageGrid, ParallelBeam, lower};
use crate::operator::{ModelPlan, SystemModel};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::ops::Range;

/// The PET system model `ȳ = m · (A x)` for stacks of 2D sinograms, with `A` the Joseph line
/// integrals of a parallel geometry (views over [0, π), one detector row per plane) and `m`
/// the product of the attenuation factors `exp(−A μ)`, computed here from a μ-map by the same
/// projector, and of the normalisation (detector efficiency) factors. Randoms and scatter are
/// the additive background of the reconstruction ([`crate::Osem::background`]).
///
/// Images are `img[y, x]` (2D grid) or `vol[z, y, x]`; sinograms `sino[view, col]` or
/// `sino[view, plane, col]`.
#[derive(Debug)]
pub struct PetProjector {
    projector: Projector,
    factors: Option<Vec<f32>>,
    active: ActiveBackend,
}

impl PetProjector {
    /// The model of `geometry` over `grid` on `backend`, with the μ-map `attenuation` (1/mm,
    /// the grid's shape, ≥ 0) and the `normalisation` factors (the data's shape, ≥ 0) when given.
    ///
    /// # Errors
    /// As [`Projector::new`]; [`crate::Error::ShapeMismatch`], [`crate::Error::NonFinite`] or
    /// [`crate::Error::InvalidArgument`] (negative values) for the μ-map or the normalisation.
    pub fn new(
        geometry: ParallelBeam,
        grid: ImageGrid,
        attenuation: Option<ArrayViewD<'_, f32>>,
        normalisation: Option<ArrayViewD<'_, f32>>,
        backend: Backend,
    ) -> Result<Self> {
        let projector = Projector::new(geometry, grid, backend)?;
        let data_shape = projector.data_shape();
        let mut factors: Option<Vec<f32>> = None;
        if let Some(mu) = attenuation {
            let shape = projector.image_shape();
            let mu = non_negative_input("attenuation map", mu, &shape)?;
            let line_integrals = projector
                .forward(ArrayViewD::from_shape(IxDyn(&shape), &mu).expect("image shape"))?;
            factors = Some(line_integrals.iter().map(|&l| (-l).exp()).collect());
        }
        if let Some(n) = normalisation {
            let n = non_negative_input("normalisation", n, &data_shape)?;
            factors = Some(match factors {
                Some(a) => a.iter().zip(&n).map(|(a, n)| a * n).collect(),
                None => n,
            });
        }
        let active = projector.backend();
        Ok(Self {
            projector,
            factors,
            active,
        })
    }

    /// The underlying line-integral projector `A`.
    pub fn projector(&self) -> &Projector {
        &self.projector
    }
    /// The multiplicative factors `m` (attenuation × normalisation), shaped like the data, if any.
    pub fn factors(&self) -> Option<ArrayD<f32>> {
        self.factors.as_ref().map(|f| {
            ArrayD::from_shape_vec(IxDyn(&self.projector.data_shape()), f.clone())
                .expect("data shape")
        })
    }
    /// Where the model runs.
    pub fn backend(&self) -> &ActiveBackend {
        &self.active
    }

    /// Expected trues `m · (A x)` of `image` (`img[y, x]` or `vol[z, y, x]`): a sinogram
    /// `[views, cols]` or `[views, planes, cols]`.
    ///
    /// # Errors
    /// As [`Projector::forward`].
    pub fn forward(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let image = check_input("image", image, &self.projector.image_shape())?;
        let mut out = ArrayD::zeros(IxDyn(&self.projector.data_shape()));
        let flat = out.as_slice_mut().expect("standard layout");
        self.forward_flat(image.as_slice().expect("standard layout"), flat)?;
        Ok(out)
    }

    /// The transpose `Aᵀ (m · y)` of a sinogram: an image.
    ///
    /// # Errors
    /// As [`Projector::adjoint`].
    pub fn adjoint(&self, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.projector.image_shape()));
        self.adjoint_into(data, out.view_mut())?;
        Ok(out)
    }

    /// As [`PetProjector::adjoint`], overwriting `out`.
    ///
    /// # Errors
    /// As [`Projector::adjoint_into`].
    pub fn adjoint_into(
        &self,
        data: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        let data = check_input("data", data, &self.projector.data_shape())?;
        with_output("image", out, &self.projector.image_shape(), |o| {
            self.adjoint_flat(data.as_slice().expect("standard layout"), o)
        })
    }

    fn forward_flat(&self, image: &[f32], out: &mut [f32]) -> Result<()> {
        self.projector.forward_flat(image, out)?;
        if let Some(f) = &self.factors {
            out.iter_mut().zip(f).for_each(|(o, m)| *o *= m);
        }
        Ok(())
    }

    fn adjoint_flat(&self, data: &[f32], out: &mut [f32]) -> Result<()> {
        match &self.factors {
            Some(f) => {
                let weighted: Vec<f32> = data.iter().zip(f).map(|(y, m)| y * m).collect();
                self.projector.adjoint_flat(&weighted, out)
            }
            None => self.projector.adjoint_flat(data, out),
        }
    }
}

super::linear_operator!(PetProjector);

impl SystemModel for PetProjector {
    fn image_shape(&self) -> Vec<usize> {
        self.projector.image_shape()
    }
    fn data_shape(&self) -> Vec<usize> {
        self.projector.data_shape()
    }
    fn spacing(&self) -> [f64; 3] {
        self.projector.grid().spacing()
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
        let geometry: &Geometry = self.projector.geometry();
        let grid = self.projector.grid();
        let lowered = subsets
            .iter()
            .map(|r| lower(&geometry.subset(&order[r.clone()]), grid))
            .collect();
        let view_len = geometry.n_rows() * geometry.columns().n_cols;
        let factors = self.factors.as_ref().map(|f| {
            order
                .iter()
                .flat_map(|&v| f[v * view_len..(v + 1) * view_len].iter().copied())
                .collect()
        });
        let engine = self.projector.device().engine();
        let model = JosephModel::resident(engine, lowered, subsets, factors, max_resident_bytes)?;
        Ok(ModelPlan(Box::new(model)))
    }
}
