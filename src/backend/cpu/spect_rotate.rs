//! CPU twin of `shaders/spect_rotate.wgsl`: same bindings, same per-sample arithmetic, with
//! rayon over (view of the batch, slice) planes in place of the dispatch grid.

use super::shared::spect::{
    columns_inside, columns_interior, plane_len, sample, sample_interior, sample_position,
};
use crate::backend::layout::{SpectParams, SpectView};
use rayon::prelude::*;

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
            // Without attenuation the buffer is a placeholder and is never read.
            let first = (p.att_first as usize * nz + bz) * len;
            let att_plane = if p.has_attenuation != 0 {
                &att[first..first + len]
            } else {
                &[]
            };
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
