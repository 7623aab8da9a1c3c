//! CPU twin of `shaders/spect_attenuation.wgsl`: same bindings, same per-sample arithmetic, with
//! rayon over (view of the batch, slice) planes in place of the dispatch grid.

use super::shared::spect::{
    columns_inside, columns_interior, exp_neg, plane_len, sample, sample_interior, sample_position,
};
use crate::backend::layout::{SpectParams, SpectView};
use rayon::prelude::*;

/// Twin of `spect_attenuation.wgsl`: `att[b, z, id, k]` for the views of the batch. Walks the
/// depth samples from the camera face inwards for a whole row of columns at a time (the same
/// per-element arithmetic as the shader's per-column walk, in an order that vectorises).
pub(crate) fn spect_attenuation(p: &SpectParams, views: &[SpectView], mu: &[f32], att: &mut [f32]) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    let first = p.att_first as usize * nz * plane_len(p);
    att[first..first + p.batch_count as usize * nz * plane_len(p)]
        .par_chunks_mut(plane_len(p))
        .enumerate()
        .for_each(|(bz, plane)| {
            let (b, z) = (bz / nz, bz % nz);
            let v = &views[p.batch_first as usize + b];
            let slice = &mu[z * slice_len..(z + 1) * slice_len];
            let mut sum = vec![0f32; nc];
            let mut m = vec![0f32; nc];
            for id in (0..nd).rev() {
                // Outside `inside`, μ is 0: the sums do not change, and the factor is that of the
                // path so far, as the shader writes it (no tap of those samples reaches the
                // image, so it is never used, but the twin gives the shader's numbers).
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
                for k in (0..inside.start).chain(inside.end..nc) {
                    row[k] = exp_neg(sum[k]);
                }
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
