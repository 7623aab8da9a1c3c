//! CPU twin of `shaders/backproject_fbp.wgsl`: pixel-driven FBP back-projection.
//!
//! Each voxel sums its views in the shader's order with the shader's arithmetic. For speed the
//! loop runs view-outer over one image row at a time (detector reads stay in cache), each
//! detector row is read from a copy padded with zeros (which gives exactly the shader's
//! out-of-range zeros without branches), and on x86-64 CPUs with AVX2 the code is compiled a
//! second time for them and chosen at run time; there, parallel-beam rows whose detector
//! position advances by at most one column per voxel read eight voxels' samples with two
//! contiguous loads and a lane permutation instead of gathers.

use super::shared::rays::{along_row, column_of, fbp_weight, row_base, split_index};
use crate::backend::layout::{KIND_PARALLEL, Params, View};
use rayon::prelude::*;

/// Zeros before a padded detector row (split_index reaches column −2).
const PAD: usize = 2;
/// Zeros after it: split_index reaches column n, and the AVX2 path loads 8 + 1 columns from there.
const PAD_END: usize = 9;

/// Overwrites `image[z, y, x]` with the back-projection of `filtered[view, z, col]`.
/// Bindings in shader order: params, views, filtered, image.
pub(crate) fn backproject_fbp(p: &Params, views: &[View], filtered: &[f32], image: &mut [f32]) {
    let n = p.n_cols as usize;
    let filtered = &filtered[..p.n_views as usize * p.nz as usize * n];
    let image = &mut image[..(p.nx * p.ny * p.nz) as usize];
    let padded_len = PAD + n + PAD_END;
    let mut padded = vec![0.0f32; filtered.len() / n * padded_len];
    padded
        .par_chunks_mut(padded_len)
        .zip(filtered.par_chunks(n))
        .for_each(|(dst, src)| dst[PAD..PAD + n].copy_from_slice(src));
    let ny = p.ny as usize;
    let views = &views[..p.n_views as usize];
    let n_views = views.len();
    image
        .par_chunks_mut(p.nx as usize)
        .enumerate()
        .for_each(|(row, acc)| {
            let (z, iy) = (row / ny, (row % ny) as u32);
            let q = |view: usize| &padded[(view * p.nz as usize + z) * padded_len..][..padded_len];
            acc.fill(0.0);
            // Views in groups of VIEWS_PER_PASS: each voxel still adds them one by one, in order.
            let mut view = 0;
            while view + VIEWS_PER_PASS <= n_views {
                let group: [(&View, &[f32]); VIEWS_PER_PASS] =
                    std::array::from_fn(|i| (&views[view + i], q(view + i)));
                row_views(p, &group, iy, acc);
                view += VIEWS_PER_PASS;
            }
            for (v, view_v) in views.iter().enumerate().skip(view) {
                row_views(p, &[(view_v, q(v))], iy, acc);
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
    row_views_body(p, group, iy, acc, 0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn row_views_avx2<const N: usize>(
    p: &Params,
    group: &[(&View, &[f32]); N],
    iy: u32,
    acc: &mut [f32],
) {
    let done = if p.kind == KIND_PARALLEL {
        // SAFETY: AVX2 is enabled for this function.
        unsafe { avx2::parallel_rows(p, group, iy, acc) }
    } else {
        0
    };
    row_views_body(p, group, iy, acc, done)
}

/// The shader's arithmetic for voxels `first..` of the row.
#[inline(always)]
fn row_views_body<const N: usize>(
    p: &Params,
    group: &[(&View, &[f32]); N],
    iy: u32,
    acc: &mut [f32],
    first: usize,
) {
    let n = p.n_cols;
    let bt: [f32; N] = std::array::from_fn(|i| row_base(&group[i].0.t_coef, iy));
    let bl: [f32; N] = std::array::from_fn(|i| row_base(&group[i].0.l_coef, iy));
    // The shader's interpolation: split_index keeps k in [0, n + 2] after the shift by PAD,
    // and every padded row has n + 4 entries, so both reads are in bounds.
    let sample = |q: &[f32], c: f32| {
        debug_assert_eq!(q.len(), PAD + n as usize + PAD_END);
        let (i0, frac) = split_index(c, n);
        let k = (i0 + PAD as i32) as usize;
        // SAFETY: k ≤ n + 2 and k + 1 ≤ n + 3 < q.len() (see above).
        let (q0, q1) = unsafe { (*q.get_unchecked(k), *q.get_unchecked(k + 1)) };
        (1.0 - frac) * q0 + frac * q1
    };
    if p.kind == KIND_PARALLEL {
        for (ix, a) in acc.iter_mut().enumerate().skip(first) {
            let mut sum = *a;
            for i in 0..N {
                let t = along_row(&group[i].0.t_coef, bt[i], ix as u32);
                sum += 1.0 * sample(group[i].1, t);
            }
            *a = sum;
        }
    } else {
        for (ix, a) in acc.iter_mut().enumerate().skip(first) {
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

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::PAD;
    use crate::backend::cpu::shared::rays::row_base;
    use crate::backend::layout::{Params, View};
    use std::arch::x86_64::*;

    /// Parallel beam, 8 voxels at a time, the scalar arithmetic lane by lane (the same IEEE
    /// operations in the same order). Returns how many leading voxels of the row it did: it
    /// stops at the first block of 8 whose samples span more than 8 detector columns for some
    /// view (detector spacing finer than the pixels), leaving the rest to the scalar loop.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn parallel_rows<const N: usize>(
        p: &Params,
        group: &[(&View, &[f32]); N],
        iy: u32,
        acc: &mut [f32],
    ) -> usize {
        let lo = _mm256_set1_ps(-2.0);
        let hi = _mm256_set1_ps(p.n_cols as f32);
        let two = _mm256_set1_ps(2.0);
        let one = _mm256_set1_ps(1.0);
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let coef: [(__m256, __m256); N] = std::array::from_fn(|i| {
            (
                _mm256_set1_ps(group[i].0.t_coef[0]),
                _mm256_set1_ps(row_base(&group[i].0.t_coef, iy)),
            )
        });
        let mut x0 = 0;
        while x0 + 8 <= acc.len() {
            let ix = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(x0 as i32), lanes));
            // SAFETY: x0 + 8 ≤ acc.len().
            let mut sum = unsafe { _mm256_loadu_ps(acc.as_ptr().add(x0)) };
            for (i, (_, q)) in group.iter().enumerate() {
                let t = _mm256_add_ps(_mm256_mul_ps(coef[i].0, ix), coef[i].1);
                // split_index: g = min(max(t, −2), n) + 2, k = trunc(g) = column + PAD, frac = g − k.
                let g = _mm256_add_ps(_mm256_min_ps(_mm256_max_ps(t, lo), hi), two);
                let k = _mm256_cvttps_epi32(g);
                let frac = _mm256_sub_ps(g, _mm256_cvtepi32_ps(k));
                // t is linear in x, so k is monotonic along the 8 lanes: its ends bound it.
                let (k_first, k_last) =
                    (_mm256_extract_epi32::<0>(k), _mm256_extract_epi32::<7>(k));
                let k_min = k_first.min(k_last);
                if (k_last - k_first).abs() > 7 {
                    return x0;
                }
                debug_assert_eq!(PAD, 2);
                let offsets = _mm256_sub_epi32(k, _mm256_set1_epi32(k_min));
                // SAFETY: k_min ∈ [0, n + 2], and the row holds PAD + n + PAD_END = n + 11
                // values, so reading 8 from k_min + 1 ends at index n + 10 inside it.
                let (w0, w1) = unsafe {
                    (
                        _mm256_loadu_ps(q.as_ptr().add(k_min as usize)),
                        _mm256_loadu_ps(q.as_ptr().add(k_min as usize + 1)),
                    )
                };
                let q0 = _mm256_permutevar8x32_ps(w0, offsets);
                let q1 = _mm256_permutevar8x32_ps(w1, offsets);
                let val = _mm256_add_ps(
                    _mm256_mul_ps(_mm256_sub_ps(one, frac), q0),
                    _mm256_mul_ps(frac, q1),
                );
                sum = _mm256_add_ps(sum, val);
            }
            // SAFETY: as for the load.
            unsafe { _mm256_storeu_ps(acc.as_mut_ptr().add(x0), sum) };
            x0 += 8;
        }
        x0
    }
}
