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
    let n_views = views.len();
    image.par_chunks_mut(p.nx as usize).enumerate().for_each(|(row, acc)| {
        let (z, iy) = (row / ny, (row % ny) as u32);
        let q = |view: usize| &padded[(view * p.nz as usize + z) * padded_len..][..padded_len];
        acc.fill(0.0);
        // Views in groups of VIEWS_PER_PASS: each voxel still adds them one by one, in order.
        let mut view = 0;
        while view + VIEWS_PER_PASS <= n_views {
            let group: [(&View, &[f32]); VIEWS_PER_PASS] = std::array::from_fn(|i| (&views[view + i], q(view + i)));
            row_views(p, &group, iy, acc);
            view += VIEWS_PER_PASS;
        }
        for v in view..n_views {
            row_views(p, &[(&views[v], q(v))], iy, acc);
        }
    });
}

/// Views added per pass over an image row.
const VIEWS_PER_PASS: usize = 8;

/// Adds the contributions of a few views, in order, to one image row.
fn row_views<const N: usize>(p: &Params, group: &[(&View, &[f32]); N], iy: u32, acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { row_views_avx2(p, group, iy, acc) };
    }
    row_views_body(p, group, iy, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_views_avx2<const N: usize>(p: &Params, group: &[(&View, &[f32]); N], iy: u32, acc: &mut [f32]) {
    row_views_body(p, group, iy, acc)
}

#[inline(always)]
fn row_views_body<const N: usize>(p: &Params, group: &[(&View, &[f32]); N], iy: u32, acc: &mut [f32]) {
    let n = p.n_cols;
    let bt: [f32; N] = std::array::from_fn(|i| row_base(&group[i].0.t_coef, iy));
    let bl: [f32; N] = std::array::from_fn(|i| row_base(&group[i].0.l_coef, iy));
    // The shader's interpolation: split_index keeps k in [0, n + 2] after the shift by PAD,
    // and every padded row has n + 4 entries, so both reads are in bounds.
    let sample = |q: &[f32], c: f32| {
        debug_assert_eq!(q.len(), n as usize + 2 * PAD);
        let (i0, frac) = split_index(c, n);
        let k = (i0 + PAD as i32) as usize;
        // SAFETY: k ≤ n + 2 and k + 1 ≤ n + 3 < q.len() (see above).
        let (q0, q1) = unsafe { (*q.get_unchecked(k), *q.get_unchecked(k + 1)) };
        (1.0 - frac) * q0 + frac * q1
    };
    if p.kind == KIND_PARALLEL {
        for (ix, a) in acc.iter_mut().enumerate() {
            let mut sum = *a;
            for i in 0..N {
                let t = along_row(&group[i].0.t_coef, bt[i], ix as u32);
                sum += 1.0 * sample(group[i].1, t);
            }
            *a = sum;
        }
    } else {
        for (ix, a) in acc.iter_mut().enumerate() {
            let mut sum = *a;
            for i in 0..N {
                let t = along_row(&group[i].0.t_coef, bt[i], ix as u32);
                let l = along_row(&group[i].0.l_coef, bl[i], ix as u32);
                sum += fbp_weight(p, t, l) * sample(group[i].1, column_of(p, t, l));
            }
            *a = sum;
        }
    }
}
