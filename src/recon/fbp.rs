//! Filtered back-projection for parallel and fan-beam (flat and arc) geometries.
//!
//! Parallel: `f(x) = ∫₀^π (p_θ ∗ h)(x·u(θ)) dθ`. Fan beam follows Kak & Slaney §3.4: cosine
//! pre-weighting, ramp filtering (on the detector rescaled to the isocentre for a flat panel,
//! in fan angle for an arc, with the `(γ/sin γ)²` kernel), and back-projection with the
//! `1/L²` distance weight; full scans count each ray half, short scans use Parker weights.
//! Data in line integrals of μ (1/mm × mm) give μ in 1/mm back.

use super::weights::{fbp_weights, symmetric_padding};
use crate::array::{check_input, with_output};
use crate::backend::ActiveBackend;
use crate::backend::models::FbpPlan;
use crate::error::{Error, Result};
use crate::filter::{FilterKernel, RampFilter};
use crate::geometry::{DetectorColumns, FanBeam, Geometry, lower};
use crate::projector::Projector;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::sync::Mutex;

/// A filtered back-projection plan: weights, filter and buffers, made once.
#[derive(Debug)]
pub struct Fbp {
    image_shape: Vec<usize>,
    data_shape: Vec<usize>,
    /// Zero columns added before and after each row (an offset fan detector made symmetric).
    pad: [usize; 2],
    backend: ActiveBackend,
    plan: Mutex<FbpPlan>,
}

impl Fbp {
    /// Plans FBP for `projector`'s geometry and grid, on the projector's backend.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] when the views do not cover 180° (parallel) or 180° plus the
    /// fan angle (fan); [`Error::Gpu`] when device buffers cannot be made.
    pub fn new(projector: &Projector, filter: RampFilter) -> Result<Self> {
        let w = fbp_weights(projector.geometry())?;
        let (wide, pad) = symmetric(projector.geometry());
        let wide_lowered;
        let lowered = match &wide {
            None => projector.lowered(),
            Some(g) => {
                wide_lowered = lower(g, projector.grid());
                &wide_lowered
            }
        };
        let n_cols = lowered.params.n_cols as usize;
        let given = projector.geometry().columns().n_cols;
        // The measured columns' weights, zeros for the added ones.
        let weights: Vec<f32> = w
            .weights
            .chunks_exact(given)
            .flat_map(|row| {
                std::iter::repeat_n(0.0, pad[0])
                    .chain(row.iter().copied())
                    .chain(std::iter::repeat_n(0.0, pad[1]))
            })
            .collect();
        let kernel = FilterKernel::new(n_cols, w.tau, filter, w.arc);
        let plan = FbpPlan::new(
            projector.device().engine(),
            lowered,
            projector.options().max_chunk_bytes,
            &kernel.lags(n_cols),
            &weights,
        )?;
        Ok(Self {
            image_shape: projector.image_shape(),
            data_shape: projector.data_shape(),
            pad,
            backend: projector.backend(),
            plan: Mutex::new(plan),
        })
    }

    /// Where this plan runs.
    pub fn backend(&self) -> &ActiveBackend {
        &self.backend
    }
    /// Bytes of memory the plan's buffers hold.
    pub fn device_bytes(&self) -> u64 {
        self.plan.lock().map(|p| p.bytes()).unwrap_or(0)
    }

    /// Reconstructs `data` (shape: the projector's data shape) into a new image.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`], or a GPU failure.
    pub fn reconstruct(&self, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.image_shape));
        self.reconstruct_into(data, out.view_mut())?;
        Ok(out)
    }

    /// Reconstructs `data` over `out` (overwritten).
    ///
    /// # Errors
    /// As [`Fbp::reconstruct`].
    pub fn reconstruct_into(
        &self,
        data: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
    ) -> Result<()> {
        self.reconstruct_with_progress(data, out, &mut |_, _| {})
    }

    /// As [`Fbp::reconstruct_into`], calling `progress(slices_done, slices_total)` after each
    /// chunk of slices.
    ///
    /// # Errors
    /// As [`Fbp::reconstruct`].
    pub fn reconstruct_with_progress(
        &self,
        data: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let data = check_input("projection data", data, &self.data_shape)?;
        let data = data.as_slice().expect("standard layout");
        with_output("image output", out, &self.image_shape, |o| {
            self.reconstruct_flat(data, o, progress)
        })
    }

    fn reconstruct_flat(
        &self,
        data: &[f32],
        out: &mut [f32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let mut plan = self.plan.lock().map_err(|_| {
            Error::Gpu("a previous call panicked while holding the plan; build a new one".into())
        })?;
        if self.pad == [0, 0] {
            return plan.reconstruct(data, out, progress);
        }
        let given = *self.data_shape.last().expect("data has columns");
        let wide = given + self.pad[0] + self.pad[1];
        let mut padded = vec![0.0f32; data.len() / given * wide];
        for (dst, src) in padded.chunks_exact_mut(wide).zip(data.chunks_exact(given)) {
            dst[self.pad[0]..self.pad[0] + given].copy_from_slice(src);
        }
        plan.reconstruct(&padded, out, progress)
    }
}

/// A fan beam whose detector is offset, widened by zero columns on its short side until it is
/// symmetric about the central ray ([`symmetric_padding`]; `None` otherwise, or when the wider
/// fan would pass 89°), and the columns added (before, after).
fn symmetric(geometry: &Geometry) -> (Option<Geometry>, [usize; 2]) {
    let Geometry::Fan(f) = geometry else {
        return (None, [0, 0]);
    };
    let c = f.columns();
    let (offset, pad) = symmetric_padding(c.offset, c.spacing);
    if pad == [0, 0] {
        return (None, pad);
    }
    let columns = DetectorColumns {
        n_cols: c.n_cols + pad[0] + pad[1],
        spacing: c.spacing,
        offset,
    };
    match FanBeam::with_rows(
        f.angles().to_vec(),
        columns,
        f.n_rows(),
        f.row_spacing(),
        f.source_to_center(),
        f.source_to_detector(),
        f.detector_shape(),
    ) {
        Ok(g) => (Some(g.into()), pad),
        Err(_) => (None, [0, 0]),
    }
}

/// One-shot FBP: plans with `projector` and `filter`, reconstructs `data`.
///
/// # Errors
/// As [`Fbp::new`] and [`Fbp::reconstruct`].
pub fn fbp(
    data: ArrayViewD<'_, f32>,
    projector: &Projector,
    filter: RampFilter,
) -> Result<ArrayD<f32>> {
    Fbp::new(projector, filter)?.reconstruct(data)
}
