//! CPU twin of `shaders/adjoint_project.wgsl`: the exact adjoint of the Joseph projector as a
//! gather, one call of [`main`] per voxel, rayon over image rows.

use super::shared::rays::{column_of, column_reach, pixel_l, pixel_t, split_index};
use crate::backend::layout::{Line, Params, View};
use rayon::prelude::*;

/// Twin of the shader's `REACH_MARGIN` (columns).
const REACH_MARGIN: f32 = 0.01;

/// Overwrites `image[z, y, x]` with the adjoint of `sino[view, z, col]`.
/// Bindings in shader order: params, views, lines, sino, image.
///
/// Each voxel sums its views in the shader's order; the loop runs view-outer over one image
/// row at a time so that a view's lines and data stay in cache across the row.
pub(crate) fn adjoint_project(
    p: &Params,
    views: &[View],
    lines: &[Line],
    sino: &[f32],
    image: &mut [f32],
) {
    let ny = p.ny as usize;
    image[..(p.nx * p.ny * p.nz) as usize]
        .par_chunks_mut(p.nx as usize)
        .enumerate()
        .for_each(|(row, acc)| {
            let (z, iy) = ((row / ny) as u32, (row % ny) as u32);
            acc.fill(0.0);
            for (view, v) in views[..p.n_views as usize].iter().enumerate() {
                let n = p.n_cols as usize;
                let data = &sino[(view * p.nz as usize + z as usize) * n..][..n];
                let view_lines = &lines[view * n..][..n];
                for (ix, a) in acc.iter_mut().enumerate() {
                    *a += main(p, v, view_lines, data, ix as u32, iy);
                }
            }
        });
}

/// One view's share of the shader's per-voxel sum.
#[inline(always)]
fn main(p: &Params, v: &View, lines: &[Line], data: &[f32], ix: u32, iy: u32) -> f32 {
    let rho = p.dx.max(p.dy);
    let last_col = p.n_cols as f32 - 1.0;
    let t = pixel_t(v, ix, iy);
    let l = pixel_l(v, ix, iy);
    let c = column_of(p, t, l);
    let reach = column_reach(p, v, t, l, rho) + REACH_MARGIN;
    if c + reach < 0.0 || c - reach > last_col {
        return 0.0;
    }
    let lo = (c - reach).max(0.0) as u32;
    let hi = ((c + reach) as u32).min(p.n_cols - 1);
    let mut acc = 0.0f32;
    for k in lo..=hi {
        let line = lines[k as usize];
        let (i, other, n_other) = if line.along_x > 0.5 {
            (ix, iy as i32, p.ny)
        } else {
            (iy, ix as i32, p.nx)
        };
        let (i0, frac) = split_index(line.f0 + i as f32 * line.fstep, n_other);
        let w = if other == i0 {
            1.0 - frac
        } else if other == i0 + 1 {
            frac
        } else {
            0.0
        };
        acc += w * line.weight * data[k as usize];
    }
    acc
}
