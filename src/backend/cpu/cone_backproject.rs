//! CPU twin of `shaders/cone_backproject.wgsl`: voxel-driven FDK back-projection onto a slab.
//!
//! Each voxel adds its views in the shader's order with the shader's arithmetic (the maps'
//! `y`/`z` terms, which are the same along an image row, computed once per row and view). The
//! loop runs view-outer over one image row at a time, so a view's detector band stays in cache.

use super::shared::rays::{atan_twin, split_index};
use crate::backend::layout::{CONE_FLAT, ConeMap, ConeParams};
use rayon::prelude::*;

/// Adds to `image[z, y, x]` (the slab) the back-projection of `filtered[view, band row, col]`.
/// Bindings in shader order: params, maps, filtered, image.
pub(crate) fn cone_backproject(
    p: &ConeParams,
    maps: &[ConeMap],
    filtered: &[f32],
    image: &mut [f32],
) {
    let (nx, ny) = (p.nx as usize, p.ny as usize);
    let image = &mut image[..nx * ny * p.nz as usize];
    let maps = &maps[p.first as usize..(p.first + p.n_views) as usize];
    let n_cols = p.n_cols as usize;
    let last_col = p.n_cols as i32 - 1;
    let (lo_row, hi_row) = (p.row0 as i32, (p.row0 + p.band_rows) as i32 - 1);
    image
        .par_chunks_mut(nx)
        .enumerate()
        .for_each(|(row_index, acc)| {
            let y = (row_index % ny) as f32;
            let z = (p.z0 as usize + row_index / ny) as f32;
            for (v, m) in maps.iter().enumerate() {
                let rest = |q: [f32; 4]| q[1] * y + (q[2] * z + q[3]);
                let (ra, rb, rc) = (rest(m.a), rest(m.b), rest(m.c));
                let frame =
                    &filtered[v * p.band_rows as usize * n_cols..][..p.band_rows as usize * n_cols];
                for (ix, out) in acc.iter_mut().enumerate() {
                    let x = ix as f32;
                    let a = m.a[0] * x + ra;
                    let b = m.b[0] * x + rb;
                    let c = m.c[0] * x + rc;
                    let (col, row, w) = if p.kind == CONE_FLAT {
                        let inv = 1.0 / c;
                        (a * inv, b * inv, inv * inv)
                    } else {
                        let r2 = a * a + c * c;
                        (
                            atan_twin(a / c) * p.col_scale + p.col_center,
                            b / r2.sqrt() * p.row_scale + p.row_center,
                            1.0 / r2,
                        )
                    };
                    let (ci, cf) = split_index(col, p.n_cols);
                    let (ri, rf) = split_index(row, p.n_rows);
                    let mut val = 0.0f32;
                    for k in 0..4 {
                        let r = ri + (k >> 1);
                        let q = ci + (k & 1);
                        if r >= lo_row && r <= hi_row && q >= 0 && q <= last_col {
                            let wr = if k >> 1 == 1 { rf } else { 1.0 - rf };
                            let wq = if k & 1 == 1 { cf } else { 1.0 - cf };
                            val += wr * wq * frame[(r - lo_row) as usize * n_cols + q as usize];
                        }
                    }
                    *out += w * val;
                }
            }
        });
}
