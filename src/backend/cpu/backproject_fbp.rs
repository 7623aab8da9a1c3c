//! CPU twin of `shaders/backproject_fbp.wgsl`: pixel-driven FBP back-projection.
//!
//! Each voxel sums its views in the shader's order with the shader's arithmetic. For speed the
//! loop runs view-outer over one image row at a time (detector reads stay in cache), each
//! detector row is read from a copy padded with two zeros on both sides (which gives exactly
//! the shader's out-of-range zeros without branches), and on x86-64 CPUs with AVX2 the same
//! code is compiled a second time for them and chosen at run time.

use super::rays::{along_row, column_of, fbp_weight, row_base, split_index};
use crate::backend::layout::{KIND_PARALLEL, Params, View};
use rayon::prelude::*;

/// Zeros on each side of a padded detector row.
const PAD: usize = 2;

/// Overwrites `image[z, y, x]` with the back-projection of `filtered[view, z, col]`.
/// Bindings in shader order: params, views, filtered, image.
pub(crate) fn backproject_fbp(p: &Params, views: &[View], filtered: &[f32], image: &mut [f32]) {
    let n = p.n_cols as usize;
    let padded_len = n + 2 * PAD;
    let mut padded = vec![0.0f32; filtered.len() / n * padded_len];
    padded.par_chunks_mut(padded_len).zip(filtered.par_chunks(n)).for_each(|(dst, src)| dst[PAD..PAD + n].copy_from_slice(src));
    let ny = p.ny as usize;
    image.par_chunks_mut(p.nx as usize).enumerate().for_each(|(row, acc)| {
        let (z, iy) = (row / ny, (row % ny) as u32);
        acc.fill(0.0);
        for (view, v) in views.iter().enumerate() {
            let q = &padded[(view * p.nz as usize + z) * padded_len..][..padded_len];
            row_view(p, v, q, iy, acc);
        }
    });
}

/// Adds one view's contribution to one image row.
fn row_view(p: &Params, v: &View, q: &[f32], iy: u32, acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { row_view_avx2(p, v, q, iy, acc) };
    }
    row_view_body(p, v, q, iy, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_view_avx2(p: &Params, v: &View, q: &[f32], iy: u32, acc: &mut [f32]) {
    row_view_body(p, v, q, iy, acc)
}

#[inline(always)]
fn row_view_body(p: &Params, v: &View, q: &[f32], iy: u32, acc: &mut [f32]) {
    let n = p.n_cols;
    debug_assert_eq!(q.len(), n as usize + 2 * PAD);
    let bt = row_base(&v.t_coef, iy);
    let bl = row_base(&v.l_coef, iy);
    // `sample` is the shader's interpolation: split_index keeps k in [0, n + 2] after the
    // shift by PAD, and q has n + 4 entries, so both reads are in bounds.
    let sample = |c: f32| {
        let (i0, frac) = split_index(c, n);
        let k = (i0 + PAD as i32) as usize;
        // SAFETY: k ≤ n + 2 and k + 1 ≤ n + 3 < q.len() (see above).
        let (q0, q1) = unsafe { (*q.get_unchecked(k), *q.get_unchecked(k + 1)) };
        (1.0 - frac) * q0 + frac * q1
    };
    if p.kind == KIND_PARALLEL {
        for (ix, a) in acc.iter_mut().enumerate() {
            let t = along_row(&v.t_coef, bt, ix as u32);
            *a += 1.0 * sample(t);
        }
    } else {
        for (ix, a) in acc.iter_mut().enumerate() {
            let t = along_row(&v.t_coef, bt, ix as u32);
            let l = along_row(&v.l_coef, bl, ix as u32);
            *a += fbp_weight(p, t, l) * sample(column_of(p, t, l));
        }
    }
}
