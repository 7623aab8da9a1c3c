//! CPU twin of `shaders/spect_blur_rows_sum.wgsl`: same bindings, same per-sample arithmetic, with
//! rayon over (view of the batch, slice) planes in place of the dispatch grid.

use super::shared::spect::{blur_across_rows, plane_len};
use crate::backend::layout::SpectParams;
use rayon::prelude::*;

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
