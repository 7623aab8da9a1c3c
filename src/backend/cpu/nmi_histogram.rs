//! CPU twin of `shaders/nmi_histogram.wgsl`: the partial-volume joint histogram, in `f32` with
//! the shader's operations. Where the shader adds with atomics, rayon folds per-task
//! histograms and sums them; the weights are integers, so the result is the same whatever the
//! order.

use crate::backend::layout::NmiParams;
use rayon::prelude::*;

/// Adds the weights of every sampled fixed voxel to `joint[fixed bin · bins + moving bin]`.
/// Bindings in shader order: p, fixed_bins, moving_bins, joint (bins packed four to a word).
pub(crate) fn nmi_histogram(
    p: &NmiParams,
    fixed_bins: &[u32],
    moving_bins: &[u32],
    joint: &mut [u32],
) {
    let sums = (0..p.len)
        .into_par_iter()
        .fold(
            || vec![0u32; joint.len()],
            |mut h, i| {
                main(p, fixed_bins, moving_bins, i, &mut h);
                h
            },
        )
        .reduce(
            || vec![0u32; joint.len()],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    joint.iter_mut().zip(&sums).for_each(|(j, s)| *j += s);
}

/// Twin of the shader's `byte`.
#[inline]
fn byte(words_index: u32, which: u32) -> u32 {
    (which >> (8 * (words_index % 4))) & 0xff
}

/// The per-invocation body of the shader's `main` for sample `i`, adding into `joint`.
#[inline]
fn main(p: &NmiParams, fixed_bins: &[u32], moving_bins: &[u32], i: u32, joint: &mut [u32]) {
    let stride = p.fixed[3];
    let sx = p.fixed[2].div_ceil(stride);
    let sy = p.fixed[1].div_ceil(stride);
    let ix = (i % sx) * stride;
    let iy = ((i / sx) % sy) * stride;
    let iz = (i / (sx * sy)) * stride;
    let flat = (iz * p.fixed[1] + iy) * p.fixed[2] + ix;
    let f = byte(flat, fixed_bins[(flat / 4) as usize]);
    let (fz, fy, fx) = (iz as i32, iy as i32, ix as i32);
    let m = [0, 1, 2].map(|c| {
        p.b[c]
            .wrapping_add(fz.wrapping_mul(p.col_z[c]))
            .wrapping_add(fy.wrapping_mul(p.col_y[c]))
            .wrapping_add(fx.wrapping_mul(p.col_x[c]))
    });
    let limit = [0, 1, 2].map(|c| ((p.moving[c] - 1) as i32) << p.frac);
    if (0..3).any(|c| m[c] < 0 || m[c] > limit[c]) {
        return;
    }
    let c = m.map(|v| (v >> p.frac) as u32);
    let unit = 2f32.powi(-(p.frac as i32));
    let w = m.map(|v| (v & ((1 << p.frac) - 1)) as f32 * unit);
    let n = p.moving[3];
    for corner in 0..8u32 {
        let d = [(corner >> 2) & 1, (corner >> 1) & 1, corner & 1];
        let wz = if d[0] == 1 { w[0] } else { 1.0 - w[0] };
        let wy = if d[1] == 1 { w[1] } else { 1.0 - w[1] };
        let wx = if d[2] == 1 { w[2] } else { 1.0 - w[2] };
        // WGSL rounds half to even.
        let weight = (wz * wy * wx * p.scale).round_ties_even() as u32;
        if weight == 0 {
            continue;
        }
        let q = [0, 1, 2].map(|k| (c[k] + d[k]).min(p.moving[k] - 1));
        let at = (q[0] * p.moving[1] + q[1]) * p.moving[2] + q[2];
        let mb = byte(at, moving_bins[(at / 4) as usize]);
        joint[(f * n + mb) as usize] += weight;
    }
}
