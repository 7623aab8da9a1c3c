//! CPU twin of `shaders/spect_blur_cols.wgsl`: same bindings, same per-sample arithmetic, with
//! rayon over (view of the batch, slice) planes in place of the dispatch grid.

use super::shared::spect::plane_len;
use crate::backend::layout::SpectParams;
use rayon::prelude::*;

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
