//! Single scatter simulation on either backend: `sss_integrals` (and with TOF `sss_nodes`) and
//! `sss_pairs` (with TOF `sss_pairs_tof`) over blocks of scatter points whose legs fit the
//! device's binding limit, adding onto one matrix of the downsampled detector pairs, which the
//! host mirrors; then `sss_interpolate` over the layout's lines of response, a block of views
//! at a time. The model and its inputs are built by [`crate::physics::pet_scatter`].

use super::layout::SssParams;
use super::{Device, Stage};
use crate::error::{Error, Result};

/// Points of `sss_pairs_tof`'s fine TOF grid at most, and nodes per leg (`SSS_FINE`,
/// `SSS_NODES` of `shaders/shared/sss.wgsl`).
pub(crate) use super::cpu::shared::sss::{SSS_FINE, SSS_NODES};

/// What the stages read, built by the host (see `shaders/shared/sss.wgsl`).
pub(crate) struct SssInputs<'a> {
    /// Parameters common to the stages (`len`, `n_points` and `n_views` set here; `n_tof`,
    /// `n_fine`, `fine_first` and `fine_step` by the host, with TOF).
    pub params: SssParams,
    /// Coarse activity and μ images (`[nz, ny, nx]`, flattened).
    pub activity: &'a [f32],
    pub mu: &'a [f32],
    /// Scatter points `(x, y, z, μ·V)` and detectors `(x, y, z, 0)`, mm.
    pub points: &'a [[f32; 4]],
    pub detectors: &'a [[f32; 4]],
    /// Angular table `(g, k)` over cos θ ∈ [−1, 1].
    pub table: &'a [[f32; 2]],
    /// With TOF: each TOF bin's kernel at the fine grid's points (`[n_tof, n_fine]`).
    pub kernel: Option<&'a [f32]>,
    /// Per (view, tangential) of the layout: `(u₁, u₂, c², 0)`; per plane: `(w₁, w₂, weight,
    /// Δz²)`.
    pub lors: &'a [[f32; 4]],
    pub planes: &'a [[f32; 4]],
}

/// Runs the single scatter simulation on `device`: the scatter of every line of response of
/// the layout (`[views, planes, tof, tangential]`, flattened; no TOF axis without TOF).
///
/// # Errors
/// [`crate::Error::Gpu`] for device failures, or when the matrix of detector pairs, one
/// scatter point's legs or a single view exceed the binding limit.
pub(crate) fn single_scatter(device: &Device, input: &SssInputs<'_>) -> Result<Vec<f32>> {
    let mut engine = device.engine();
    let p = input.params;
    let (nd, np, n_tof) = (
        p.n_detectors as usize,
        p.n_points as usize,
        p.n_tof as usize,
    );
    let limit = engine.max_binding();
    let leg_bytes = if input.kernel.is_some() {
        8 * SSS_NODES as u64
    } else {
        8
    };
    let matrix_bytes = 4 * (nd * nd * n_tof) as u64;
    if matrix_bytes > limit || leg_bytes * nd as u64 > limit {
        return Err(Error::Gpu(format!(
            "single scatter: {nd} downsampled detectors × {n_tof} TOF bins need {matrix_bytes} \
             bytes for their pairs, above the device's binding limit of {limit}: use fewer \
             rings or crystals"
        )));
    }
    let block = (limit / (leg_bytes * nd as u64)).clamp(1, np as u64) as usize;

    let activity = engine.upload("coarse activity", input.activity)?;
    let mu = engine.upload("coarse μ-map", input.mu)?;
    let detectors = engine.upload("downsampled detectors", input.detectors)?;
    let table = engine.upload("scatter angular table", input.table)?;
    let kernel = match input.kernel {
        Some(k) => Some(engine.upload("TOF kernel on the fine grid", k)?),
        None => None,
    };
    let matrix = engine.zeros("detector pair scatter", nd * nd * n_tof)?;
    let mut first = 0;
    while first < np {
        let count = block.min(np - first);
        let points = engine.upload("scatter points", &input.points[first..first + count])?;
        let legs = SssParams {
            n_points: count as u32,
            len: (nd * count) as u32,
            ..p
        };
        let integrals = engine.zeros("scatter leg integrals", 2 * nd * count)?;
        engine.dispatch_linear(
            Stage::SssIntegrals,
            &legs,
            &[activity, mu, points, detectors, integrals],
            nd * count,
        )?;
        let pairs = SssParams {
            len: (nd * nd) as u32,
            ..legs
        };
        match kernel {
            Some(kernel) => {
                let nodes =
                    engine.zeros("scatter leg emission nodes", 2 * SSS_NODES * nd * count)?;
                engine.dispatch_linear(
                    Stage::SssNodes,
                    &legs,
                    &[activity, points, detectors, nodes],
                    nd * count,
                )?;
                engine.dispatch_linear(
                    Stage::SssPairsTof,
                    &pairs,
                    &[points, detectors, integrals, nodes, table, kernel, matrix],
                    nd * nd,
                )?;
                engine.release(nodes);
            }
            None => engine.dispatch_linear(
                Stage::SssPairs,
                &pairs,
                &[points, detectors, integrals, table, matrix],
                nd * nd,
            )?,
        }
        engine.release(points);
        engine.release(integrals);
        first += count;
    }
    let mut values = vec![0.0f32; nd * nd * n_tof];
    engine.read(matrix, 0, &mut values)?;
    for buf in [activity, mu, detectors, table, matrix]
        .into_iter()
        .chain(kernel)
    {
        engine.release(buf);
    }
    // Pair (a, b), b < a, is (b, a) seen from its other end: the TOF bins reversed.
    for a in 0..nd {
        for b in 0..a {
            for k in 0..n_tof {
                values[(a * nd + b) * n_tof + k] = values[(b * nd + a) * n_tof + n_tof - 1 - k];
            }
        }
    }

    let (nv, npl, nt) = (p.n_views as usize, p.n_planes as usize, p.n_tang as usize);
    let per_view = npl * n_tof * nt;
    let mut scatter = vec![0.0f32; nv * per_view];
    let matrix = engine.upload("detector pair scatter", &values)?;
    let planes = engine.upload("scatter plane table", input.planes)?;
    // One work buffer, filled a block of views at a time and read into the result.
    let views_per_block = (engine.work_buffer_budget().min(limit) / (4 * per_view as u64))
        .clamp(1, nv as u64) as usize;
    let out = engine.zeros("scatter sinogram block", views_per_block * per_view)?;
    let mut first = 0;
    while first < nv {
        let count = views_per_block.min(nv - first);
        let lors = engine.upload(
            "scatter LOR table",
            &input.lors[first * nt..(first + count) * nt],
        )?;
        let block = SssParams {
            n_views: count as u32,
            len: (count * npl * nt) as u32,
            ..p
        };
        engine.dispatch_linear(
            Stage::SssInterpolate,
            &block,
            &[lors, planes, matrix, out],
            count * npl * nt,
        )?;
        engine.read(
            out,
            0,
            &mut scatter[first * per_view..(first + count) * per_view],
        )?;
        engine.release(lors);
        first += count;
    }
    engine.release(out);
    engine.release(matrix);
    engine.release(planes);
    Ok(scatter)
}
