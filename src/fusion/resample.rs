//! Resampling a volume onto another grid through patient coordinates.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

use crate::backend::{self, Backend};
use crate::error::{Error, Result};
use crate::geometry::PatientGrid;

/// Samples more than this (in source voxels) beyond the outermost source centres are outside;
/// the margin absorbs the GPU's f32 rounding of sample positions on the boundary.
const EDGE: f64 = 1e-3;

/// The source index of a target index, as an affine map: `b + a[0]·iz + a[1]·iy + a[2]·ix`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IndexAffine {
    /// Source index `[z, y, x]` of target index (0, 0, 0).
    pub b: [f64; 3],
    /// Source-index steps per target z, y and x step.
    pub a: [[f64; 3]; 3],
}

impl IndexAffine {
    /// The map from `to`'s indices to `from`'s, through patient coordinates moved by `motion`
    /// (a target position `p` is looked up at `motion(p)` in the source).
    pub(crate) fn between(
        from: &PatientGrid,
        to: &PatientGrid,
        motion: impl Fn([f64; 3]) -> [f64; 3],
    ) -> Self {
        let b = from.index_of(motion(to.position([0.0; 3])));
        let a = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]].map(|unit| {
            let p = from.index_of(motion(to.position(unit)));
            [0, 1, 2].map(|k| p[k] - b[k])
        });
        Self { b, a }
    }

    /// `b` and the columns of `a` as the `vec4<f32>`s the GPU shaders take (`b`, z, y, x).
    pub(crate) fn gpu_columns(&self) -> [[f32; 4]; 4] {
        [self.b, self.a[0], self.a[1], self.a[2]]
            .map(|v| [v[0] as f32, v[1] as f32, v[2] as f32, 0.0])
    }

    /// Source index of the fractional target index `t = [z, y, x]`.
    pub(crate) fn at(&self, t: [f64; 3]) -> [f64; 3] {
        [0, 1, 2]
            .map(|k| self.b[k] + self.a[0][k] * t[0] + self.a[1][k] * t[1] + self.a[2][k] * t[2])
    }
}

/// How target voxels take their values from the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampling {
    /// The source trilinearly interpolated at each target voxel centre: for upsampling and
    /// moves at similar resolution.
    Trilinear,
    /// The mean of the source over each target voxel (trilinear samples on a regular sub-grid
    /// of the voxel, as many per axis as source voxels fit across it): for downsampling, where
    /// sampling at centres alone would alias (a 0.98 mm CT onto a 4.4 mm μ-map grid).
    Average,
}

/// Values of `source` (placed by `from`) on the voxels of `to`, on `backend` (the GPU twin
/// gives the same numbers to f32 rounding; it binds the source in blocks, so a 200 MB CT is no
/// problem). Source values are taken by trilinear interpolation between the eight nearest voxel
/// centres; points beyond the outermost source centres count as `outside` (e.g. −1000 HU, or 0
/// for μ).
///
/// # Errors
/// [`Error::ShapeMismatch`] when `source` does not have `from`'s shape; [`Error::NoGpu`] or
/// [`Error::Gpu`] from the GPU backend.
pub fn resample(
    source: ArrayView3<'_, f32>,
    from: &PatientGrid,
    to: &PatientGrid,
    outside: f32,
    method: Resampling,
    backend: Backend,
) -> Result<Array3<f32>> {
    if source.shape() != from.shape {
        return Err(Error::ShapeMismatch {
            what: "volume to resample",
            expected: from.shape.to_vec(),
            got: source.shape().to_vec(),
        });
    }
    let map = IndexAffine::between(from, to, |p| p);
    // Sub-samples per target axis (z, y, x): the number of source voxels across a target voxel
    // along that axis, from the target voxel's edge vectors measured in source voxels.
    let per_axis: [usize; 3] = match method {
        Resampling::Trilinear => [1, 1, 1],
        Resampling::Average => map.a.map(|step| {
            let longest = step.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            (longest.ceil() as usize).max(1)
        }),
    };
    if let Some(ctx) = backend::resolve(backend)? {
        return crate::backend::gpu::resample_gpu(&ctx, source, to.shape, &map, per_axis, outside);
    }
    let sampler = Sampler {
        source,
        shape: from.shape,
        outside,
    };
    let [kz, ky, kx] = per_axis;
    let offsets =
        |k: usize| -> Vec<f64> { (0..k).map(|i| (i as f64 + 0.5) / k as f64 - 0.5).collect() };
    let (oz, oy, ox) = (offsets(kz), offsets(ky), offsets(kx));
    let n = (kz * ky * kx) as f64;
    let mut out = Array3::<f32>::zeros(to.shape);
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(iz, mut plane)| {
            for ((iy, ix), v) in plane.indexed_iter_mut() {
                let mut sum = 0.0;
                for dz in &oz {
                    for dy in &oy {
                        for dx in &ox {
                            sum += sampler.at(map.at([
                                iz as f64 + dz,
                                iy as f64 + dy,
                                ix as f64 + dx,
                            ]));
                        }
                    }
                }
                *v = (sum / n) as f32;
            }
        });
    Ok(out)
}

struct Sampler<'a> {
    source: ArrayView3<'a, f32>,
    shape: [usize; 3],
    outside: f32,
}

impl Sampler<'_> {
    /// Trilinear value at the fractional source index `[z, y, x]`; `outside` more than
    /// [`EDGE`] beyond the outermost voxel centres.
    fn at(&self, f: [f64; 3]) -> f64 {
        let [sz, sy, sx] = self.shape;
        let inside = |f: f64, n: usize| (-EDGE..=(n - 1) as f64 + EDGE).contains(&f);
        if !(inside(f[0], sz) && inside(f[1], sy) && inside(f[2], sx)) {
            return self.outside as f64;
        }
        let base = |f: f64, n: usize| (f.floor().max(0.0) as usize).min(n.saturating_sub(2));
        let (z0, y0, x0) = (base(f[0], sz), base(f[1], sy), base(f[2], sx));
        let t = |f: f64, b: usize| (f - b as f64).clamp(0.0, 1.0);
        let (tz, ty, tx) = (t(f[0], z0), t(f[1], y0), t(f[2], x0));
        let mut acc = 0.0;
        for (dz, wz) in [(0, 1.0 - tz), (1, tz)] {
            for (dy, wy) in [(0, 1.0 - ty), (1, ty)] {
                for (dx, wx) in [(0, 1.0 - tx), (1, tx)] {
                    let w = wz * wy * wx;
                    if w > 0.0 {
                        acc += w * self.source[[
                            (z0 + dz).min(sz - 1),
                            (y0 + dy).min(sy - 1),
                            (x0 + dx).min(sx - 1),
                        ]] as f64;
                    }
                }
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(shape: [usize; 3], spacing: [f64; 3], origin: [f64; 3]) -> PatientGrid {
        PatientGrid::axis_aligned(shape, spacing, origin).unwrap()
    }

    #[test]
    fn linear_fields_are_reproduced_and_means_are_kept() {
        // A linear field is reproduced exactly by trilinear sampling inside the source.
        let from = grid([20, 30, 40], [1.0, 1.0, 1.0], [0.0; 3]);
        let f = |z: f64, y: f64, x: f64| (2.0 * x - 0.5 * y + 3.0 * z + 1.0) as f32;
        let src = Array3::from_shape_fn(from.shape, |(z, y, x)| f(z as f64, y as f64, x as f64));
        let to = grid([5, 6, 7], [2.5, 3.0, 4.0], [3.0, 4.0, 5.0]);
        let out = resample(
            src.view(),
            &from,
            &to,
            -1.0,
            Resampling::Trilinear,
            Backend::Cpu,
        )
        .unwrap();
        for ((z, y, x), v) in out.indexed_iter() {
            let p = to.position([z as f64, y as f64, x as f64]);
            assert!((v - f(p[2], p[1], p[0])).abs() < 1e-4);
        }
        // A checkerboard onto 2 mm voxels centred on source voxels: centre sampling aliases
        // (0 or 1), averaging gives the mean, 0.5, everywhere inside.
        let board = Array3::from_shape_fn(from.shape, |(z, y, x)| ((z + y + x) % 2) as f32);
        let coarse = grid([8, 12, 16], [2.0, 2.0, 2.0], [1.0, 1.0, 1.0]);
        let avg = resample(
            board.view(),
            &from,
            &coarse,
            0.0,
            Resampling::Average,
            Backend::Cpu,
        )
        .unwrap();
        assert!(avg.iter().all(|v| (v - 0.5).abs() < 1e-6), "{avg:?}");
        let aliased = resample(
            board.view(),
            &from,
            &coarse,
            0.0,
            Resampling::Trilinear,
            Backend::Cpu,
        )
        .unwrap();
        assert!(aliased.iter().all(|v| *v == 0.0 || *v == 1.0));
    }

    #[test]
    fn outside_points_take_the_outside_value() {
        let from = grid([2, 2, 2], [1.0; 3], [0.0; 3]);
        let src = Array3::from_elem(from.shape, 5.0_f32);
        let to = grid([1, 1, 3], [1.0; 3], [-1.0, 0.0, 0.0]);
        let out = resample(
            src.view(),
            &from,
            &to,
            -1000.0,
            Resampling::Trilinear,
            Backend::Cpu,
        )
        .unwrap();
        assert_eq!(out.as_slice().unwrap(), &[-1000.0, 5.0, 5.0]);
    }
}
