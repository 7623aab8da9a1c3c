//! Filtered back-projection for parallel and fan-beam (flat and arc) geometries.
//!
//! Parallel: `f(x) = ∫₀^π (p_θ ∗ h)(x·u(θ)) dθ`. Fan beam follows Kak & Slaney §3.4: cosine
//! pre-weighting, ramp filtering (on the detector rescaled to the isocentre for a flat panel,
//! in fan angle for an arc, with the `(γ/sin γ)²` kernel), and back-projection with the
//! `1/L²` distance weight; full scans count each ray half, short scans use Parker weights.
//! Data in line integrals of μ (1/mm × mm) give μ in 1/mm back.

use super::weights::fbp_weights;
use crate::array::{check_input, with_output};
use crate::backend::chunks::{DataShape, chunks, gather_rows};
use crate::backend::gpu::{FbpInputs, GpuPlan};
use crate::backend::layout::{Params, View};
use crate::backend::{ActiveBackend, cpu};
use crate::error::{Error, Result};
use crate::filter::{FilterKernel, RampFilter};
use crate::projector::Projector;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use std::sync::Mutex;

/// Working memory of one CPU chunk (gathered rows and their filtered copy each hold this much).
const CPU_CHUNK_BYTES: usize = 64 << 20;

/// A filtered back-projection plan: weights, filter and (on a GPU) device buffers, made once.
#[derive(Debug)]
pub struct Fbp {
    image_shape: Vec<usize>,
    data_shape: Vec<usize>,
    backend: ActiveBackend,
    engine: Engine,
}

#[derive(Debug)]
enum Engine {
    /// The CPU twins need the dispatch parameters, the voxel maps, the filter and the weights.
    Cpu {
        params: Params,
        views: Vec<View>,
        kernel: FilterKernel,
        weights: Vec<f32>,
    },
    /// Everything lives in the plan's device buffers.
    Gpu(Mutex<GpuPlan>),
}

impl Fbp {
    /// Plans FBP for `projector`'s geometry and grid, on the projector's backend.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] when the views do not cover 180° (parallel) or 180° plus the
    /// fan angle (fan); [`Error::Gpu`] when device buffers cannot be made.
    pub fn new(projector: &Projector, filter: RampFilter) -> Result<Self> {
        let w = fbp_weights(projector.geometry())?;
        let lowered = projector.lowered();
        let n_cols = lowered.params.n_cols as usize;
        let kernel = FilterKernel::new(n_cols, w.tau, filter, w.arc);
        let engine = match projector.gpu_context() {
            None => Engine::Cpu {
                params: lowered.params,
                views: lowered.views.clone(),
                kernel,
                weights: w.weights,
            },
            Some(ctx) => {
                let inputs = FbpInputs {
                    lags: &kernel.lags(n_cols),
                    weights: &w.weights,
                };
                Engine::Gpu(Mutex::new(GpuPlan::fbp(
                    ctx,
                    lowered,
                    projector.options().max_chunk_bytes,
                    inputs,
                )?))
            }
        };
        Ok(Self {
            image_shape: projector.image_shape(),
            data_shape: projector.data_shape(),
            backend: projector.backend(),
            engine,
        })
    }

    /// Where this plan runs.
    pub fn backend(&self) -> &ActiveBackend {
        &self.backend
    }
    /// Bytes of device memory the plan holds (0 on the CPU).
    pub fn device_bytes(&self) -> u64 {
        match &self.engine {
            Engine::Cpu { .. } => 0,
            Engine::Gpu(plan) => plan.lock().map(|p| p.device_bytes()).unwrap_or(0),
        }
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
        let (full, views, kernel, weights) = match &self.engine {
            Engine::Gpu(plan) => {
                let mut plan = plan.lock().map_err(|_| {
                    Error::Gpu("a previous GPU call panicked; build a new plan".into())
                })?;
                return plan.reconstruct(data, out, progress);
            }
            Engine::Cpu {
                params,
                views,
                kernel,
                weights,
            } => (*params, views, kernel, weights),
        };
        // CPU: chunks of slices too, so the filtered copy stays small whatever the stack.
        let shape = DataShape {
            views: full.n_views as usize,
            rows: full.nz as usize,
            cols: full.n_cols as usize,
        };
        let slice = (full.nx * full.ny) as usize;
        let per_slice = (shape.views * shape.cols).max(slice) * 4;
        let chunk = (CPU_CHUNK_BYTES / per_slice).clamp(1, shape.rows);
        let mut rows = vec![0.0f32; shape.views * chunk * shape.cols];
        let mut filtered = rows.clone();
        for (z0, nz) in chunks(shape.rows, chunk) {
            let p = Params {
                nz: nz as u32,
                ..full
            };
            let len = shape.views * nz * shape.cols;
            gather_rows(shape, data, z0, nz, &mut rows[..len]);
            cpu::fbp_filter(&p, kernel, weights, &rows[..len], &mut filtered[..len]);
            cpu::backproject_fbp(
                &p,
                views,
                &filtered[..len],
                &mut out[z0 * slice..(z0 + nz) * slice],
            );
            progress(z0 + nz, shape.rows);
        }
        Ok(())
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
