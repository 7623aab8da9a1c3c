//! CPU twin of `shaders/spect_spread_rows.wgsl`: same bindings, same per-sample arithmetic, with
//! rayon over (view of the batch, slice) planes in place of the dispatch grid.

use super::shared::spect::{blur_across_rows, plane_len};
use crate::backend::layout::SpectParams;
use rayon::prelude::*;

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
