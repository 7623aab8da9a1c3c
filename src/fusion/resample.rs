//! Resampling a volume onto another grid through patient coordinates.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::geometry::PatientGrid;

/// Values of `source` (placed by `from`) at the voxel centres of `to`, by trilinear
/// interpolation between the eight nearest source voxels; `outside` where a target centre lies
/// beyond the source's outermost voxel centres. Suited to upsampling, or to same-resolution
/// moves; for a much coarser target, averaging over the source voxels avoids aliasing.
///
/// # Errors
/// [`Error::ShapeMismatch`] when `source` does not have `from`'s shape.
pub fn resample_trilinear(
    source: ArrayView3<'_, f32>,
    from: &PatientGrid,
    to: &PatientGrid,
    outside: f32,
) -> Result<Array3<f32>> {
    if source.shape() != from.shape {
        return Err(Error::ShapeMismatch {
            what: "volume to resample",
            expected: from.shape.to_vec(),
            got: source.shape().to_vec(),
        });
    }
    let [sz, sy, sx] = from.shape;
    let mut out = Array3::<f32>::from_elem(to.shape, outside);
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(iz, mut plane)| {
            for ((iy, ix), v) in plane.indexed_iter_mut() {
                let p = to.position([iz as f64, iy as f64, ix as f64]);
                let [fz, fy, fx] = from.index_of(p);
                let inside = |f: f64, n: usize| f >= -1e-9 && f <= (n - 1) as f64 + 1e-9;
                if !(inside(fz, sz) && inside(fy, sy) && inside(fx, sx)) {
                    continue;
                }
                let base =
                    |f: f64, n: usize| (f.floor().max(0.0) as usize).min(n.saturating_sub(2));
                let (z0, y0, x0) = (base(fz, sz), base(fy, sy), base(fx, sx));
                let (tz, ty, tx) = (
                    (fz - z0 as f64).clamp(0.0, 1.0),
                    (fy - y0 as f64).clamp(0.0, 1.0),
                    (fx - x0 as f64).clamp(0.0, 1.0),
                );
                let mut acc = 0.0_f64;
                for (dz, wz) in [(0, 1.0 - tz), (1, tz)] {
                    for (dy, wy) in [(0, 1.0 - ty), (1, ty)] {
                        for (dx, wx) in [(0, 1.0 - tx), (1, tx)] {
                            let w = wz * wy * wx;
                            if w > 0.0 {
                                acc += w * source[[
                                    (z0 + dz).min(sz - 1),
                                    (y0 + dy).min(sy - 1),
                                    (x0 + dx).min(sx - 1),
                                ]] as f64;
                            }
                        }
                    }
                }
                *v = acc as f32;
            }
        });
    Ok(out)
}
