//! CPU twin of `shaders/spect_rotate_adjoint.wgsl`: same bindings, same per-voxel arithmetic
//! in the shader's order, with rayon over slices in place of the dispatch grid and the views
//! of the batch taken one after another over the whole slice (each voxel still adds its
//! terms in the shader's order). Each frame sample's `rot · (step · att)`, which the shader
//! computes for every voxel that reads it, is computed once per plane: the same product.

use super::shared::spect::{CELL, frame_cell, interior_cell_index, plane_len};
use crate::backend::layout::{SpectParams, SpectView};
use rayon::prelude::*;

/// Twin of `spect_rotate_adjoint.wgsl`: adds or writes `Σ_b Σ_cell w · (rot · step · att)`
/// into `image[z, y, x]`.
pub(crate) fn spect_rotate_adjoint(
    p: &SpectParams,
    views: &[SpectView],
    att: &[f32],
    rot: &[f32],
    image: &mut [f32],
) {
    let (nx, ny, nz) = (p.nx as usize, p.ny as usize, p.nz as usize);
    let (nc, nd) = (p.n_cols as usize, p.n_depth as usize);
    let len = plane_len(p);
    let att_first = p.att_first as usize * nz * len;
    image[..nz * nx * ny]
        .par_chunks_mut(nx * ny)
        .enumerate()
        .for_each(|(z, slice)| {
            let mut sum = vec![0.0f32; nx * ny];
            let mut scaled = vec![0.0f32; len];
            for b in 0..p.batch_count as usize {
                let v = &views[p.batch_first as usize + b];
                let base = (b * nz + z) * len;
                let plane = &rot[base..base + len];
                match (p.has_attenuation != 0).then(|| &att[att_first + base..][..len]) {
                    Some(a) => {
                        for ((s, &r), &a) in scaled.iter_mut().zip(plane).zip(a) {
                            *s = r * (p.step * a);
                        }
                    }
                    None => {
                        for (s, &r) in scaled.iter_mut().zip(plane) {
                            *s = r * p.step;
                        }
                    }
                }
                for (y, row) in sum.chunks_exact_mut(nx).enumerate() {
                    for (x, s) in row.iter_mut().enumerate() {
                        let (k0, d0, w) = frame_cell(v, x, y, nc, nd);
                        if let Some(o) = interior_cell_index(k0, d0, nc, nd) {
                            *s += w[0] * scaled[o];
                            *s += w[1] * scaled[o + 1];
                            *s += w[2] * scaled[o + nc];
                            *s += w[3] * scaled[o + nc + 1];
                            continue;
                        }
                        for (&(dk, dd), wi) in CELL.iter().zip(w) {
                            let (k, d) = (k0 + dk, d0 + dd);
                            if (0..nc as i32).contains(&k) && (0..nd as i32).contains(&d) {
                                *s += wi * scaled[d as usize * nc + k as usize];
                            }
                        }
                    }
                }
            }
            if p.accumulate != 0 {
                for (o, s) in slice.iter_mut().zip(&sum) {
                    *o += s;
                }
            } else {
                slice.copy_from_slice(&sum);
            }
        });
}
