//! CPU twin of `shaders/spect_rotate.wgsl`: same bindings, same weights, with rayon over
//! (view of the batch, slice) planes in place of the dispatch grid.
//!
//! One difference, by design: each voxel is spread into the four samples of its cell (each
//! rayon task owns one plane, so there are no races) where the shader gathers, per sample,
//! the voxels whose cells hold it. The terms are identical; only the order of summation
//! differs, and spreading is four times less work on a CPU.

use super::shared::spect::{CELL, frame_cell, interior_cell_index, plane_len};
use crate::backend::layout::{SpectParams, SpectView};
use rayon::prelude::*;

/// Twin of `spect_rotate.wgsl`: `rot[b, z, id, k] = step · att · Σ_voxels w · image`.
pub(crate) fn spect_rotate(
    p: &SpectParams,
    views: &[SpectView],
    image: &[f32],
    att: &[f32],
    rot: &mut [f32],
) {
    let (nx, ny, nz) = (p.nx as usize, p.ny as usize, p.nz as usize);
    let (nc, nd) = (p.n_cols as usize, p.n_depth as usize);
    let len = plane_len(p);
    rot[..p.batch_count as usize * nz * len]
        .par_chunks_mut(len)
        .enumerate()
        .for_each(|(bz, plane)| {
            let (b, z) = (bz / nz, bz % nz);
            let v = &views[p.batch_first as usize + b];
            let slice = &image[z * nx * ny..(z + 1) * nx * ny];
            plane.fill(0.0);
            for (y, row) in slice.chunks_exact(nx).enumerate() {
                for (x, &value) in row.iter().enumerate() {
                    if value == 0.0 {
                        continue; // adds w · 0
                    }
                    let (k0, d0, w) = frame_cell(v, x, y, nc, nd);
                    if let Some(o) = interior_cell_index(k0, d0, nc, nd) {
                        plane[o] += w[0] * value;
                        plane[o + 1] += w[1] * value;
                        plane[o + nc] += w[2] * value;
                        plane[o + nc + 1] += w[3] * value;
                        continue;
                    }
                    for (&(dk, dd), wi) in CELL.iter().zip(w) {
                        let (k, d) = (k0 + dk, d0 + dd);
                        if (0..nc as i32).contains(&k) && (0..nd as i32).contains(&d) {
                            plane[d as usize * nc + k as usize] += wi * value;
                        }
                    }
                }
            }
            // Without attenuation the buffer is a placeholder and is never read.
            if p.has_attenuation != 0 {
                let first = (p.att_first as usize * nz + bz) * len;
                for (r, a) in plane.iter_mut().zip(&att[first..first + len]) {
                    *r *= p.step * a;
                }
            } else {
                for r in plane.iter_mut() {
                    *r *= p.step;
                }
            }
        });
}
