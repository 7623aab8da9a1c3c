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

/// Flat indices (−1 outside) and weights of the four bilinear taps of `(fx, fy)`.
/// Twin of `bilinear_taps` in `shaders/shared/spect.wgsl`.
#[inline]
pub(crate) fn bilinear_taps(fx: f32, fy: f32, nx: u32, ny: u32) -> ([i32; 4], [f32; 4]) {
    let cx = fx.clamp(-2.0, nx as f32 + 1.0);
    let cy = fy.clamp(-2.0, ny as f32 + 1.0);
    // floor of a value ≥ −2 by truncation (a libm call is slow without SSE4.1).
    let x0 = (cx + 2.0) as i32 - 2;
    let y0 = (cy + 2.0) as i32 - 2;
    let ax = cx - x0 as f32;
    let ay = cy - y0 as f32;
    let w = [(1.0 - ax) * (1.0 - ay), ax * (1.0 - ay), (1.0 - ax) * ay, ax * ay];
    let xs = [x0, x0 + 1, x0, x0 + 1];
    let ys = [y0, y0, y0 + 1, y0 + 1];
    let idx = std::array::from_fn(|i| {
        let inside = xs[i] >= 0 && xs[i] < nx as i32 && ys[i] >= 0 && ys[i] < ny as i32;
        if inside { ys[i] * nx as i32 + xs[i] } else { -1 }
    });
    (idx, w)
}

#[inline]
fn sample_position(v: &SpectView, k: usize, id: usize) -> (f32, f32) {
    (
        v.origin[0] + k as f32 * v.origin[2] + id as f32 * v.depth[0],
        v.origin[1] + k as f32 * v.origin[3] + id as f32 * v.depth[1],
    )
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

/// Twin of `spect_attenuation.wgsl`: `att[b, z, id, k]` for the views of the batch.
pub(crate) fn spect_attenuation(p: &SpectParams, views: &[SpectView], mu: &[f32], att: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    att[..p.batch_count as usize * nz * plane_len(p)].par_chunks_mut(plane_len(p)).enumerate().for_each(|(bz, plane)| {
        let (b, z) = (bz / nz, bz % nz);
        let v = &views[p.batch_first as usize + b];
        let slice = &mu[z * slice_len..(z + 1) * slice_len];
        for k in 0..nc {
            let mut sum = 0.0f32;
            for id in (0..nd).rev() {
                let (fx, fy) = sample_position(v, k, id);
                let (idx, w) = bilinear_taps(fx, fy, p.nx, p.ny);
                let m = interpolate(slice, idx, w);
                let half = 0.5 * m * p.step;
                plane[id * nc + k] = (-(sum + half)).exp();
                sum += m * p.step;
            }
        }
    });
}

/// Twin of `spect_rotate.wgsl`: `rot[b, z, id, k] = step · att · bilinear(image)`.
pub(crate) fn spect_rotate(p: &SpectParams, views: &[SpectView], image: &[f32], att: &[f32], rot: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    let len = plane_len(p);
    rot[..p.batch_count as usize * nz * len].par_chunks_mut(len).enumerate().for_each(|(bz, plane)| {
        let (b, z) = (bz / nz, bz % nz);
        let v = &views[p.batch_first as usize + b];
        let slice = &image[z * slice_len..(z + 1) * slice_len];
        let att_plane = &att[bz * len..(bz + 1) * len];
        for id in 0..nd {
            for k in 0..nc {
                let (fx, fy) = sample_position(v, k, id);
                let (idx, w) = bilinear_taps(fx, fy, p.nx, p.ny);
                let value = interpolate(slice, idx, w);
                let o = id * nc + k;
                let factor = if p.has_attenuation != 0 { p.step * att_plane[o] } else { p.step };
                plane[o] = value * factor;
            }
        }
    });
}

/// Twin of `spect_blur_cols.wgsl`: each `[b, z, id, :]` row convolved with its column kernel.
pub(crate) fn spect_blur_cols(p: &SpectParams, kernel: &[f32], half_widths: &[u32], src: &[f32], dst: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let stride = p.kernel_stride as usize;
    let len = plane_len(p);
    dst[..p.batch_count as usize * nz * len].par_chunks_mut(len).enumerate().for_each(|(bz, plane)| {
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

/// Twin of `spect_blur_rows_sum.wgsl`: `proj[view, z, k] = Σ_id Σ_j w · blur[b, z + j, id, k]`.
pub(crate) fn spect_blur_rows_sum(p: &SpectParams, kernel: &[f32], half_widths: &[u32], blur: &[f32], proj: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let stride = p.kernel_stride as usize;
    let len = plane_len(p);
    let first = (p.batch_first - p.proj_first) as usize * nz * nc;
    let out = &mut proj[first..first + p.batch_count as usize * nz * nc];
    out.par_chunks_mut(nc).enumerate().for_each(|(bz, out_row)| {
        let (b, z) = (bz / nz, bz % nz);
        let mut total = vec![0f32; nc];
        let mut sum = vec![0f32; nc];
        for id in 0..nd {
            let kplane = (p.batch_first as usize + b) * nd + id;
            let w = half_widths[2 * kplane + 1] as usize;
            let kern = &kernel[kplane * stride..kplane * stride + w + 1];
            let row = |zz: usize| &blur[(b * nz + zz) * len + id * nc..(b * nz + zz) * len + (id + 1) * nc];
            let centre = row(z);
            for k in 0..nc {
                sum[k] = kern[0] * centre[k];
            }
            for j in 1..=w {
                if z >= j {
                    let r = row(z - j);
                    for k in 0..nc {
                        sum[k] += kern[j] * r[k];
                    }
                }
                if z + j < nz {
                    let r = row(z + j);
                    for k in 0..nc {
                        sum[k] += kern[j] * r[k];
                    }
                }
            }
            for k in 0..nc {
                total[k] += sum[k];
            }
        }
        out_row.copy_from_slice(&total);
    });
}

/// Twin of `spect_spread_rows.wgsl`: `blur[b, z, id, k] = Σ_j w · proj[view, z + j, k]`.
pub(crate) fn spect_spread_rows(p: &SpectParams, kernel: &[f32], half_widths: &[u32], proj: &[f32], blur: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let stride = p.kernel_stride as usize;
    let len = plane_len(p);
    blur[..p.batch_count as usize * nz * len].par_chunks_mut(len).enumerate().for_each(|(bz, plane)| {
        let (b, z) = (bz / nz, bz % nz);
        let view_base = (p.batch_first + b as u32 - p.proj_first) as usize * nz;
        let row = |zz: usize| &proj[(view_base + zz) * nc..(view_base + zz + 1) * nc];
        for id in 0..nd {
            let kplane = (p.batch_first as usize + b) * nd + id;
            let w = half_widths[2 * kplane + 1] as usize;
            let kern = &kernel[kplane * stride..kplane * stride + w + 1];
            let out = &mut plane[id * nc..(id + 1) * nc];
            let centre = row(z);
            for k in 0..nc {
                out[k] = kern[0] * centre[k];
            }
            for j in 1..=w {
                if z >= j {
                    let r = row(z - j);
                    for k in 0..nc {
                        out[k] += kern[j] * r[k];
                    }
                }
                if z + j < nz {
                    let r = row(z + j);
                    for k in 0..nc {
                        out[k] += kern[j] * r[k];
                    }
                }
            }
        }
    });
}

/// Twin of `spect_rotate_adjoint.wgsl` (by scattering, see the module docs): adds or writes
/// `Σ_b Σ_samples w · step · att · rot` into `image[z, y, x]`.
pub(crate) fn spect_rotate_adjoint(p: &SpectParams, views: &[SpectView], att: &[f32], rot: &[f32], image: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    let len = plane_len(p);
    image[..nz * slice_len].par_chunks_mut(slice_len).enumerate().for_each(|(z, slice)| {
        if p.accumulate == 0 {
            slice.fill(0.0);
        }
        for b in 0..p.batch_count as usize {
            let v = &views[p.batch_first as usize + b];
            let base = (b * nz + z) * len;
            for id in 0..nd {
                for k in 0..nc {
                    let o = base + id * nc + k;
                    let value = rot[o];
                    if value == 0.0 {
                        continue;
                    }
                    let factor = if p.has_attenuation != 0 { p.step * att[o] } else { p.step };
                    let term = value * factor;
                    let (fx, fy) = sample_position(v, k, id);
                    let (idx, w) = bilinear_taps(fx, fy, p.nx, p.ny);
                    for i in 0..4 {
                        if idx[i] >= 0 {
                            slice[idx[i] as usize] += w[i] * term;
                        }
                    }
                }
            }
        }
    });
}
