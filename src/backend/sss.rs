//! Single scatter simulation on either backend: the three stages `sss_integrals`,
//! `sss_pairs` and `sss_interpolate` in a row, the matrix of the downsampled detectors
//! mirrored on the host between the last two, and the layout's lines of response sent a block
//! of views at a time within the device's binding limit. The model and its inputs are built by
//! [`crate::physics::pet_scatter`].

use super::layout::SssParams;
use super::{Device, Stage};
use crate::error::Result;

/// What the stages read, built by the host (see `shaders/shared/sss.wgsl`).
pub(crate) struct SssInputs<'a> {
    /// Parameters common to the three stages (`len`, `n_views` set here).
    pub params: SssParams,
    /// Coarse activity and μ images (`[nz, ny, nx]`, flattened).
    pub activity: &'a [f32],
    pub mu: &'a [f32],
    /// Scatter points `(x, y, z, μ·V)` and detectors `(x, y, z, 0)`, mm.
    pub points: &'a [[f32; 4]],
    pub detectors: &'a [[f32; 4]],
    /// Angular table `(g, k)` over cos θ ∈ [−1, 1].
    pub table: &'a [[f32; 2]],
    /// Per (view, tangential) of the layout: `(u₁, u₂, 0, 0)`; per plane: `(w₁, w₂, weight, 0)`.
    pub lors: &'a [[f32; 4]],
    pub planes: &'a [[f32; 4]],
}

/// Runs the single scatter simulation on `device`: the scatter of every line of response of
/// the layout (`[views, planes, tangential]`, flattened).
///
/// # Errors
/// [`crate::Error::Gpu`] for device failures or a single view beyond the binding limit.
pub(crate) fn single_scatter(device: &Device, input: &SssInputs<'_>) -> Result<Vec<f32>> {
    let mut engine = device.engine();
    let p = input.params;
    let (nd, np) = (p.n_detectors as usize, p.n_points as usize);

    let activity = engine.upload("coarse activity", input.activity)?;
    let mu = engine.upload("coarse μ-map", input.mu)?;
    let points = engine.upload("scatter points", input.points)?;
    let detectors = engine.upload("downsampled detectors", input.detectors)?;
    let integrals = engine.zeros("scatter leg integrals", 2 * nd * np)?;
    let legs = SssParams {
        len: (nd * np) as u32,
        ..p
    };
    engine.dispatch_linear(
        Stage::SssIntegrals,
        &legs,
        &[activity, mu, points, detectors, integrals],
        nd * np,
    )?;
    engine.release(activity);
    engine.release(mu);

    let table = engine.upload("scatter angular table", input.table)?;
    let upper = engine.zeros("detector pair scatter", nd * nd)?;
    let pair_params = SssParams {
        len: (nd * nd) as u32,
        ..p
    };
    engine.dispatch_linear(
        Stage::SssPairs,
        &pair_params,
        &[points, detectors, integrals, table, upper],
        nd * nd,
    )?;
    let mut pairs = vec![0.0f32; nd * nd];
    engine.read(upper, 0, &mut pairs)?;
    for buf in [points, detectors, integrals, table, upper] {
        engine.release(buf);
    }
    for a in 0..nd {
        for b in 0..a {
            pairs[a * nd + b] = pairs[b * nd + a];
        }
    }

    let (nv, npl, nt) = (p.n_views as usize, p.n_planes as usize, p.n_tang as usize);
    let per_view = npl * nt;
    let mut scatter = vec![0.0f32; nv * per_view];
    let matrix = engine.upload("detector pair scatter", &pairs)?;
    let planes = engine.upload("scatter plane table", input.planes)?;
    let views_per_block =
        (engine.max_binding() / (4 * per_view as u64)).clamp(1, nv as u64) as usize;
    let mut first = 0;
    while first < nv {
        let count = views_per_block.min(nv - first);
        let lors = engine.upload(
            "scatter LOR table",
            &input.lors[first * nt..(first + count) * nt],
        )?;
        let out = engine.zeros("scatter sinogram block", count * per_view)?;
        let block = SssParams {
            n_views: count as u32,
            len: (count * per_view) as u32,
            ..p
        };
        engine.dispatch_linear(
            Stage::SssInterpolate,
            &block,
            &[lors, planes, matrix, out],
            count * per_view,
        )?;
        engine.read(
            out,
            0,
            &mut scatter[first * per_view..(first + count) * per_view],
        )?;
        engine.release(lors);
        engine.release(out);
        first += count;
    }
    engine.release(matrix);
    engine.release(planes);
    Ok(scatter)
}
