//! CPU twin of `shaders/adjoint_project.wgsl`: the exact adjoint of the Joseph projector as a
//! gather, one call of [`main`] per voxel, rayon over image rows.

use super::rays::{column_of, column_reach, detector_ray, joseph_line};
use crate::backend::layout::{Params, ViewVectors};
use rayon::prelude::*;

/// Overwrites `image[z, y, x]` with the adjoint of `sino[view, z, col]`.
/// Bindings in shader order: params, views, col_dirs, sino, image.
pub(crate) fn adjoint_project(p: &Params, views: &[ViewVectors], col_dirs: &[[f32; 2]], sino: &[f32], image: &mut [f32]) {
    let ny = p.ny as usize;
    image.par_chunks_mut(p.nx as usize).enumerate().for_each(|(row, out)| {
        let (z, iy) = ((row / ny) as u32, (row % ny) as u32);
        for (ix, o) in out.iter_mut().enumerate() {
            *o = main(p, views, col_dirs, sino, ix as u32, iy, z);
        }
    });
}

#[inline]
fn main(p: &Params, views: &[ViewVectors], col_dirs: &[[f32; 2]], sino: &[f32], ix: u32, iy: u32, z: u32) -> f32 {
    let x = [p.ox + ix as f32 * p.dx, p.oy + iy as f32 * p.dy];
    let rho = p.dx.max(p.dy);
    let last_col = p.n_cols as f32 - 1.0;
    let mut acc = 0.0f32;
    for (view, v) in views.iter().enumerate() {
        let c = column_of(p, v, x);
        let reach = column_reach(p, v, x, rho) + 1.0;
        let lo = (c - reach).floor().max(0.0);
        let hi = (c + reach).ceil().min(last_col);
        if hi < lo {
            continue;
        }
        let row = (view * p.nz as usize + z as usize) * p.n_cols as usize;
        for k in lo as u32..=hi as u32 {
            let line = joseph_line(p, detector_ray(p, v, col_dirs[k as usize], k));
            let (i, other) = if line.along_x { (ix, iy as i32) } else { (iy, ix as i32) };
            let f = line.f0 + i as f32 * line.fstep;
            let f_floor = f.floor();
            let frac = f - f_floor;
            let i0 = f_floor as i32;
            let w = if other == i0 {
                1.0 - frac
            } else if other == i0 + 1 {
                frac
            } else {
                0.0
            };
            acc += w * line.weight * sino[row + k as usize];
        }
    }
    acc
}
