//! CPU twin of `shaders/shared/spect.wgsl`: the bilinear taps, the rotated frame's sample
//! positions and the attenuation exponential the SPECT stages share, with the same
//! per-sample arithmetic.

use crate::backend::layout::{SpectParams, SpectView};

/// The bilinear cell of `(fx, fy)`: lower-left corner `(x0, y0)` and weights of the four taps
/// `(x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)`.
/// Twin of the arithmetic of `bilinear_taps` in `shaders/shared/spect.wgsl`.
#[inline]
pub(crate) fn bilinear_cell(fx: f32, fy: f32, nx: u32, ny: u32) -> (i32, i32, [f32; 4]) {
    let cx = fx.clamp(-2.0, nx as f32 + 1.0);
    let cy = fy.clamp(-2.0, ny as f32 + 1.0);
    // floor of a value ≥ −2 by truncation (a libm call is slow without SSE4.1).
    let x0 = (cx + 2.0) as i32 - 2;
    let y0 = (cy + 2.0) as i32 - 2;
    let ax = cx - x0 as f32;
    let ay = cy - y0 as f32;
    (
        x0,
        y0,
        [
            (1.0 - ax) * (1.0 - ay),
            ax * (1.0 - ay),
            (1.0 - ax) * ay,
            ax * ay,
        ],
    )
}

/// Flat indices (−1 outside) and weights of the four bilinear taps of `(fx, fy)`.
/// Twin of `bilinear_taps` in `shaders/shared/spect.wgsl`.
#[inline]
pub(crate) fn bilinear_taps(fx: f32, fy: f32, nx: u32, ny: u32) -> ([i32; 4], [f32; 4]) {
    let (x0, y0, w) = bilinear_cell(fx, fy, nx, ny);
    let xs = [x0, x0 + 1, x0, x0 + 1];
    let ys = [y0, y0, y0 + 1, y0 + 1];
    let idx = std::array::from_fn(|i| {
        let inside = xs[i] >= 0 && xs[i] < nx as i32 && ys[i] >= 0 && ys[i] < ny as i32;
        if inside {
            ys[i] * nx as i32 + xs[i]
        } else {
            -1
        }
    });
    (idx, w)
}

/// Bilinear interpolation of `slice` at `(fx, fy)`: the taps' weighted sum in tap order,
/// skipping taps outside (the shader's sum, in the shader's order). Rows use
/// [`sample_interior`] where all four taps are known to be inside.
#[inline]
pub(crate) fn sample(slice: &[f32], fx: f32, fy: f32, nx: u32, ny: u32) -> f32 {
    let (idx, w) = bilinear_taps(fx, fy, nx, ny);
    interpolate(slice, idx, w)
}

/// The bilinear weights and first-tap index of a point whose four taps all lie inside the
/// slice (see [`columns_interior`]): the arithmetic of [`bilinear_cell`], whose clamp is the
/// identity there.
#[inline]
pub(crate) fn interior_cell(fx: f32, fy: f32, nx: u32) -> (usize, [f32; 4]) {
    let x0 = (fx + 2.0) as i32 - 2;
    let y0 = (fy + 2.0) as i32 - 2;
    let ax = fx - x0 as f32;
    let ay = fy - y0 as f32;
    let w = [
        (1.0 - ax) * (1.0 - ay),
        ax * (1.0 - ay),
        (1.0 - ax) * ay,
        ax * ay,
    ];
    ((y0 * nx as i32 + x0) as usize, w)
}

/// [`sample`] without checks, for a point inside [`columns_interior`].
#[inline]
pub(crate) fn sample_interior(slice: &[f32], fx: f32, fy: f32, nx: u32) -> f32 {
    let (i, w) = interior_cell(fx, fy, nx);
    let n = nx as usize;
    w[0] * slice[i] + w[1] * slice[i + 1] + w[2] * slice[i + n] + w[3] * slice[i + n + 1]
}

/// `exp(−y)` for `y ≥ 0` (clamped at 80): twin of `exp_neg` in `shaders/shared/spect.wgsl`
/// (Cephes expf's range reduction and polynomial), branch-free so loops over it vectorise.
#[inline]
pub(crate) fn exp_neg(y: f32) -> f32 {
    let y = y.min(80.0);
    let k = (y * std::f32::consts::LOG2_E + 0.5) as i32;
    let kf = k as f32;
    let r = (kf * 0.693_359_4 - y) + kf * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    p = p * (r * r) + r + 1.0;
    p * f32::from_bits(((127 - k) as u32) << 23)
}

/// Voxel `(x, y)`'s cell of view `v`'s rotated frame: the first sample `(k0, d0)` (column,
/// depth) and the bilinear weights of `(k0, d0), (k0 + 1, d0), (k0, d0 + 1), (k0 + 1, d0 + 1)`,
/// which sum to 1. Twin of `frame_cell` in `shaders/shared/spect.wgsl`.
#[inline]
pub(crate) fn frame_cell(
    v: &SpectView,
    x: usize,
    y: usize,
    nc: usize,
    nd: usize,
) -> (i32, i32, [f32; 4]) {
    let (fx, fy) = (x as f32, y as f32);
    let kf = (v.inv_col[0] * fx + v.inv_col[1] * fy + v.inv_col[2]).clamp(-2.0, nc as f32 + 1.0);
    let df =
        (v.inv_depth[0] * fx + v.inv_depth[1] * fy + v.inv_depth[2]).clamp(-2.0, nd as f32 + 1.0);
    // floor of a value ≥ −2 by truncation, as the shader computes it.
    let k0 = (kf + 2.0) as i32 - 2;
    let d0 = (df + 2.0) as i32 - 2;
    let (a, b) = (kf - k0 as f32, df - d0 as f32);
    (
        k0,
        d0,
        [(1.0 - a) * (1.0 - b), a * (1.0 - b), (1.0 - a) * b, a * b],
    )
}

/// The frame offsets `(column, depth)` of the four samples of a cell, in weight order.
pub(crate) const CELL: [(i32, i32); 4] = [(0, 0), (1, 0), (0, 1), (1, 1)];

/// The flat index `d0 · nc + k0` of a cell's first sample when all four samples of the cell
/// with lower corner `(k0, d0)` lie inside the `nc × nd` frame (then the others are at `+ 1`,
/// `+ nc` and `+ nc + 1`, in [`CELL`] order); `None` when some lie outside.
#[inline]
pub(crate) fn interior_cell_index(k0: i32, d0: i32, nc: usize, nd: usize) -> Option<usize> {
    (k0 >= 0 && d0 >= 0 && (k0 as usize) + 1 < nc && (d0 as usize) + 1 < nd)
        .then(|| d0 as usize * nc + k0 as usize)
}

#[inline]
pub(crate) fn sample_position(v: &SpectView, k: usize, id: usize) -> (f32, f32) {
    (
        v.origin[0] + k as f32 * v.origin[2] + id as f32 * v.depth[0],
        v.origin[1] + k as f32 * v.origin[3] + id as f32 * v.depth[1],
    )
}

/// Columns `k` whose sample at depth `id` may have a bilinear tap inside an `nx × ny` slice
/// (a conservative range: samples outside it have none, and contribute exactly 0).
pub(crate) fn columns_inside(
    v: &SpectView,
    id: usize,
    nc: usize,
    nx: u32,
    ny: u32,
) -> std::ops::Range<usize> {
    columns_within(v, id, nc, [-1.5, nx as f64 + 0.5], [-1.5, ny as f64 + 0.5])
}

/// Columns `k` whose sample at depth `id` has all four taps inside (with half a voxel to
/// spare), where [`sample_interior`] applies.
pub(crate) fn columns_interior(
    v: &SpectView,
    id: usize,
    nc: usize,
    nx: u32,
    ny: u32,
) -> std::ops::Range<usize> {
    columns_within(v, id, nc, [0.5, nx as f64 - 1.5], [0.5, ny as f64 - 1.5])
}

/// Columns whose sample at depth `id` has its fractional index within `[bx.0, bx.1]` along x
/// and `[by.0, by.1]` along y.
pub(crate) fn columns_within(
    v: &SpectView,
    id: usize,
    nc: usize,
    bx: [f64; 2],
    by: [f64; 2],
) -> std::ops::Range<usize> {
    let start = [
        v.origin[0] as f64 + id as f64 * v.depth[0] as f64,
        v.origin[1] as f64 + id as f64 * v.depth[1] as f64,
    ];
    let step = [v.origin[2] as f64, v.origin[3] as f64];
    let (mut lo, mut hi) = (0.0f64, nc as f64 - 1.0);
    for axis in 0..2 {
        let bounds = [bx, by][axis];
        let (a, s) = (start[axis], step[axis]);
        let (min, max) = (bounds[0] - a, bounds[1] - a);
        if s.abs() < 1e-9 {
            if min > 0.0 || max < 0.0 {
                return 0..0;
            }
        } else {
            let (k1, k2) = (min / s, max / s);
            lo = lo.max(k1.min(k2));
            hi = hi.min(k1.max(k2));
        }
    }
    if hi < lo {
        0..0
    } else {
        lo.ceil() as usize..(hi.floor() as usize + 1).min(nc)
    }
}

#[inline]
pub(crate) fn interpolate(slice: &[f32], idx: [i32; 4], w: [f32; 4]) -> f32 {
    let mut value = 0.0;
    for i in 0..4 {
        if idx[i] >= 0 {
            value += w[i] * slice[idx[i] as usize];
        }
    }
    value
}

/// Elements of one `[depth][col]` plane of a rotated-frame buffer.
pub(crate) fn plane_len(p: &SpectParams) -> usize {
    p.n_depth as usize * p.n_cols as usize
}

/// `out ← Σ_j w(|j|) · row(z + j)` over the rows `0..nz` that exist, in the shaders' order
/// (centre, then `−j` and `+j` for each offset), a whole row at a time.
#[inline]
pub(crate) fn blur_across_rows<'a>(
    out: &mut [f32],
    kern: &[f32],
    z: usize,
    nz: usize,
    row: impl Fn(usize) -> &'a [f32],
) {
    for (o, c) in out.iter_mut().zip(row(z)) {
        *o = kern[0] * c;
    }
    for (j, &wj) in kern.iter().enumerate().skip(1) {
        if z >= j {
            for (o, r) in out.iter_mut().zip(row(z - j)) {
                *o += wj * r;
            }
        }
        if z + j < nz {
            for (o, r) in out.iter_mut().zip(row(z + j)) {
                *o += wj * r;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exp_neg;

    #[test]
    fn exp_neg_is_within_two_ulp_of_exp() {
        for i in 0..20_000 {
            let y = i as f32 * 0.004;
            let (got, want) = (exp_neg(y), (-(y as f64)).exp());
            assert!(
                ((got as f64 - want) / want).abs() < 2.5e-7,
                "y {y}: {got} vs {want}"
            );
        }
    }
}
