//! CPU twins of the SPECT stages (`shaders/spect_*.wgsl`): same names, same bindings, same
//! per-sample arithmetic, rayon over (view of the batch, slice) planes in place of the
//! dispatch grid.
//!
//! One difference, by design: `spect_rotate_adjoint` scatters each rotated-frame sample into
//! its four bilinear taps (each rayon task owns one slice, so there are no races) where the
//! shader gathers the same weighted terms per voxel. The terms are identical; only the order
//! of summation differs, and scattering is four times less work on a CPU.

use crate::backend::layout::{SpectParams, SpectView};
use rayon::prelude::*;

/// The bilinear cell of `(fx, fy)`: lower-left corner `(x0, y0)` and weights of the four taps
/// `(x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)`.
/// Twin of the arithmetic of `bilinear_taps` in `shaders/shared/spect.wgsl`.
#[inline]
fn bilinear_cell(fx: f32, fy: f32, nx: u32, ny: u32) -> (i32, i32, [f32; 4]) {
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
fn sample(slice: &[f32], fx: f32, fy: f32, nx: u32, ny: u32) -> f32 {
    let (idx, w) = bilinear_taps(fx, fy, nx, ny);
    interpolate(slice, idx, w)
}

/// Adds `term` spread by the bilinear weights of `(fx, fy)` into `slice` (transpose of
/// [`sample`]; [`spread_interior`] where all four taps are known to be inside).
#[inline]
fn spread(slice: &mut [f32], fx: f32, fy: f32, nx: u32, ny: u32, term: f32) {
    let (idx, w) = bilinear_taps(fx, fy, nx, ny);
    for i in 0..4 {
        if idx[i] >= 0 {
            slice[idx[i] as usize] += w[i] * term;
        }
    }
}

/// The bilinear weights and first-tap index of a point whose four taps all lie inside the
/// slice (see [`columns_interior`]): the arithmetic of [`bilinear_cell`], whose clamp is the
/// identity there.
#[inline]
fn interior_cell(fx: f32, fy: f32, nx: u32) -> (usize, [f32; 4]) {
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
fn sample_interior(slice: &[f32], fx: f32, fy: f32, nx: u32) -> f32 {
    let (i, w) = interior_cell(fx, fy, nx);
    let n = nx as usize;
    w[0] * slice[i] + w[1] * slice[i + 1] + w[2] * slice[i + n] + w[3] * slice[i + n + 1]
}

/// [`spread`] without checks, for a point inside [`columns_interior`].
#[inline]
fn spread_interior(slice: &mut [f32], fx: f32, fy: f32, nx: u32, term: f32) {
    let (i, w) = interior_cell(fx, fy, nx);
    let n = nx as usize;
    slice[i] += w[0] * term;
    slice[i + 1] += w[1] * term;
    slice[i + n] += w[2] * term;
    slice[i + n + 1] += w[3] * term;
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

#[inline]
fn sample_position(v: &SpectView, k: usize, id: usize) -> (f32, f32) {
    (
        v.origin[0] + k as f32 * v.origin[2] + id as f32 * v.depth[0],
        v.origin[1] + k as f32 * v.origin[3] + id as f32 * v.depth[1],
    )
}

/// Columns `k` whose sample at depth `id` may have a bilinear tap inside an `nx × ny` slice
/// (a conservative range: samples outside it have none, and contribute exactly 0).
fn columns_inside(v: &SpectView, id: usize, nc: usize, nx: u32, ny: u32) -> std::ops::Range<usize> {
    columns_within(v, id, nc, [-1.5, nx as f64 + 0.5], [-1.5, ny as f64 + 0.5])
}

/// Columns `k` whose sample at depth `id` has all four taps inside (with half a voxel to
/// spare), where [`sample_interior`] and [`spread_interior`] apply.
fn columns_interior(
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
fn columns_within(
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
fn interpolate(slice: &[f32], idx: [i32; 4], w: [f32; 4]) -> f32 {
    let mut value = 0.0;
    for i in 0..4 {
        if idx[i] >= 0 {
            value += w[i] * slice[idx[i] as usize];
        }
    }
    value
}

/// Elements of one `[depth][col]` plane of a rotated-frame buffer.
fn plane_len(p: &SpectParams) -> usize {
    p.n_depth as usize * p.n_cols as usize
}

/// Twin of `spect_attenuation.wgsl`: `att[b, z, id, k]` for the views of the batch. Walks the
/// depth samples from the camera face inwards for a whole row of columns at a time (the same
/// per-element arithmetic as the shader's per-column walk, in an order that vectorises).
pub(crate) fn spect_attenuation(p: &SpectParams, views: &[SpectView], mu: &[f32], att: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    att[..p.batch_count as usize * nz * plane_len(p)]
        .par_chunks_mut(plane_len(p))
        .enumerate()
        .for_each(|(bz, plane)| {
            let (b, z) = (bz / nz, bz % nz);
            let v = &views[p.batch_first as usize + b];
            let slice = &mu[z * slice_len..(z + 1) * slice_len];
            let mut sum = vec![0f32; nc];
            let mut m = vec![0f32; nc];
            for id in (0..nd).rev() {
                // Outside `inside`, μ is 0: the sums do not change and the factors are never used
                // (no tap of those samples reaches the image).
                let inside = columns_inside(v, id, nc, p.nx, p.ny);
                let interior = columns_interior(v, id, nc, p.nx, p.ny);
                for k in inside.clone() {
                    let (fx, fy) = sample_position(v, k, id);
                    m[k] = if interior.contains(&k) {
                        sample_interior(slice, fx, fy, p.nx)
                    } else {
                        sample(slice, fx, fy, p.nx, p.ny)
                    };
                }
                let row = &mut plane[id * nc..(id + 1) * nc];
                for ((a, s), mk) in row[inside.clone()]
                    .iter_mut()
                    .zip(&mut sum[inside.clone()])
                    .zip(&m[inside])
                {
                    let half = 0.5 * mk * p.step;
                    *a = exp_neg(*s + half);
                    *s += mk * p.step;
                }
            }
        });
}

/// Twin of `spect_rotate.wgsl`: `rot[b, z, id, k] = step · att · bilinear(image)`.
pub(crate) fn spect_rotate(
    p: &SpectParams,
    views: &[SpectView],
    image: &[f32],
    att: &[f32],
    rot: &mut [f32],
) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    let len = plane_len(p);
    rot[..p.batch_count as usize * nz * len]
        .par_chunks_mut(len)
        .enumerate()
        .for_each(|(bz, plane)| {
            let (b, z) = (bz / nz, bz % nz);
            let v = &views[p.batch_first as usize + b];
            let slice = &image[z * slice_len..(z + 1) * slice_len];
            let att_plane = &att[bz * len..(bz + 1) * len];
            for id in 0..nd {
                let inside = columns_inside(v, id, nc, p.nx, p.ny);
                let row = &mut plane[id * nc..(id + 1) * nc];
                row[..inside.start].fill(0.0);
                row[inside.end..].fill(0.0);
                let interior = columns_interior(v, id, nc, p.nx, p.ny);
                for k in inside {
                    let (fx, fy) = sample_position(v, k, id);
                    let value = if interior.contains(&k) {
                        sample_interior(slice, fx, fy, p.nx)
                    } else {
                        sample(slice, fx, fy, p.nx, p.ny)
                    };
                    let o = id * nc + k;
                    let factor = if p.has_attenuation != 0 {
                        p.step * att_plane[o]
                    } else {
                        p.step
                    };
                    plane[o] = value * factor;
                }
            }
        });
}

/// Twin of `spect_blur_cols.wgsl`: each `[b, z, id, :]` row convolved with its column kernel.
pub(crate) fn spect_blur_cols(
    p: &SpectParams,
    kernel: &[f32],
    half_widths: &[u32],
    src: &[f32],
    dst: &mut [f32],
) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let stride = p.kernel_stride as usize;
    let len = plane_len(p);
    dst[..p.batch_count as usize * nz * len]
        .par_chunks_mut(len)
        .enumerate()
        .for_each(|(bz, plane)| {
            let b = bz / nz;
            for id in 0..nd {
                let kplane = (p.batch_first as usize + b) * nd + id;
                let w = half_widths[2 * kplane] as usize;
                let kern = &kernel[kplane * stride..kplane * stride + w + 1];
                let row = &src[bz * len + id * nc..bz * len + (id + 1) * nc];
                let out = &mut plane[id * nc..(id + 1) * nc];
                // Per element the same sums in the same order as the shader (centre, then left
                // and right of each offset), as whole-row operations that vectorise.
                for (o, r) in out.iter_mut().zip(row) {
                    *o = kern[0] * r;
                }
                for (j, &wj) in kern.iter().enumerate().skip(1).take_while(|(j, _)| *j < nc) {
                    for (o, r) in out[j..].iter_mut().zip(&row[..nc - j]) {
                        *o += wj * r;
                    }
                    for (o, r) in out[..nc - j].iter_mut().zip(&row[j..]) {
                        *o += wj * r;
                    }
                }
            }
        });
}

/// `out ← Σ_j w(|j|) · row(z + j)` over the rows `0..nz` that exist, in the shaders' order
/// (centre, then `−j` and `+j` for each offset), a whole row at a time.
#[inline]
fn blur_across_rows<'a>(
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

/// Output rows per task of `spect_blur_rows_sum`: with depth planes as the outer loop, the
/// rows a block needs stay in cache while each is reused by up to `2K + 1` outputs.
const ROWS_PER_TASK: usize = 16;

/// Twin of `spect_blur_rows_sum.wgsl`: `proj[view, z, k] = Σ_id Σ_j w · blur[b, z + j, id, k]`,
/// each element summed in the shader's order (per depth: centre, then ∓j pairs; depths in turn).
pub(crate) fn spect_blur_rows_sum(
    p: &SpectParams,
    kernel: &[f32],
    half_widths: &[u32],
    blur: &[f32],
    proj: &mut [f32],
) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let stride = p.kernel_stride as usize;
    let len = plane_len(p);
    let first = (p.batch_first - p.proj_first) as usize * nz * nc;
    let out = &mut proj[first..first + p.batch_count as usize * nz * nc];
    let tasks = out
        .par_chunks_mut(nz * nc)
        .enumerate()
        .flat_map(|(b, view)| {
            view.par_chunks_mut(ROWS_PER_TASK * nc)
                .enumerate()
                .map(move |(block, rows)| (b, block * ROWS_PER_TASK, rows))
        });
    tasks.for_each(|(b, z0, rows)| {
        let n_rows = rows.len() / nc;
        let mut total = vec![0f32; rows.len()];
        let mut sum = vec![0f32; nc];
        let row = |zz: usize, id: usize| {
            &blur[(b * nz + zz) * len + id * nc..(b * nz + zz) * len + (id + 1) * nc]
        };
        for id in 0..nd {
            let kplane = (p.batch_first as usize + b) * nd + id;
            let w = half_widths[2 * kplane + 1] as usize;
            let kern = &kernel[kplane * stride..kplane * stride + w + 1];
            for zi in 0..n_rows {
                blur_across_rows(&mut sum, kern, z0 + zi, nz, |zz| row(zz, id));
                for (t, s) in total[zi * nc..(zi + 1) * nc].iter_mut().zip(&sum) {
                    *t += s;
                }
            }
        }
        rows.copy_from_slice(&total);
    });
}

/// Twin of `spect_spread_rows.wgsl`: `blur[b, z, id, k] = Σ_j w · proj[view, z + j, k]`.
pub(crate) fn spect_spread_rows(
    p: &SpectParams,
    kernel: &[f32],
    half_widths: &[u32],
    proj: &[f32],
    blur: &mut [f32],
) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let stride = p.kernel_stride as usize;
    let len = plane_len(p);
    blur[..p.batch_count as usize * nz * len]
        .par_chunks_mut(len)
        .enumerate()
        .for_each(|(bz, plane)| {
            let (b, z) = (bz / nz, bz % nz);
            let view_base = (p.batch_first + b as u32 - p.proj_first) as usize * nz;
            let row = |zz: usize| &proj[(view_base + zz) * nc..(view_base + zz + 1) * nc];
            for id in 0..nd {
                let kplane = (p.batch_first as usize + b) * nd + id;
                let w = half_widths[2 * kplane + 1] as usize;
                let kern = &kernel[kplane * stride..kplane * stride + w + 1];
                blur_across_rows(&mut plane[id * nc..(id + 1) * nc], kern, z, nz, row);
            }
        });
}

/// Twin of `spect_rotate_adjoint.wgsl` (by scattering, see the module docs): adds or writes
/// `Σ_b Σ_samples w · step · att · rot` into `image[z, y, x]`.
pub(crate) fn spect_rotate_adjoint(
    p: &SpectParams,
    views: &[SpectView],
    att: &[f32],
    rot: &[f32],
    image: &mut [f32],
) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    let len = plane_len(p);
    image[..nz * slice_len]
        .par_chunks_mut(slice_len)
        .enumerate()
        .for_each(|(z, slice)| {
            if p.accumulate == 0 {
                slice.fill(0.0);
            }
            for b in 0..p.batch_count as usize {
                let v = &views[p.batch_first as usize + b];
                let base = (b * nz + z) * len;
                for id in 0..nd {
                    let interior = columns_interior(v, id, nc, p.nx, p.ny);
                    for k in columns_inside(v, id, nc, p.nx, p.ny) {
                        let o = base + id * nc + k;
                        let value = rot[o];
                        if value == 0.0 {
                            continue;
                        }
                        let factor = if p.has_attenuation != 0 {
                            p.step * att[o]
                        } else {
                            p.step
                        };
                        let term = value * factor;
                        let (fx, fy) = sample_position(v, k, id);
                        if interior.contains(&k) {
                            spread_interior(slice, fx, fy, p.nx, term);
                        } else {
                            spread(slice, fx, fy, p.nx, p.ny, term);
                        }
                    }
                }
            }
        });
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
