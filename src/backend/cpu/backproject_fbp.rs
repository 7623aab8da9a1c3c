//! CPU twin of `shaders/backproject_fbp.wgsl`: pixel-driven FBP back-projection.
//!
//! Each voxel sums its views in the shader's order with the shader's arithmetic; the loop is
//! turned view-outer over one image row at a time so that the detector reads stay in cache.

use super::rays::{column_of, fbp_weight};
use crate::backend::layout::{Params, ViewVectors};
use rayon::prelude::*;

/// Overwrites `image[z, y, x]` with the back-projection of `filtered[view, z, col]`.
/// Bindings in shader order: params, views, filtered, image.
pub(crate) fn backproject_fbp(p: &Params, views: &[ViewVectors], filtered: &[f32], image: &mut [f32]) {
    let ny = p.ny as usize;
    let n = p.n_cols as i32;
    image.par_chunks_mut(p.nx as usize).enumerate().for_each(|(row, acc)| {
        let (z, iy) = (row / ny, row % ny);
        acc.fill(0.0);
        let y = p.oy + iy as f32 * p.dy;
        for (view, v) in views.iter().enumerate() {
            let q = &filtered[(view * p.nz as usize + z) * p.n_cols as usize..][..p.n_cols as usize];
            for (ix, a) in acc.iter_mut().enumerate() {
                let x = [p.ox + ix as f32 * p.dx, y];
                let c = column_of(p, v, x);
                let c_floor = c.floor();
                let frac = c - c_floor;
                let k0 = c_floor.clamp(-2.0, n as f32) as i32;
                let mut val = 0.0f32;
                if k0 >= 0 && k0 < n {
                    val += (1.0 - frac) * q[k0 as usize];
                }
                if k0 + 1 >= 0 && k0 + 1 < n {
                    val += frac * q[(k0 + 1) as usize];
                }
                *a += fbp_weight(p, v, x) * val;
            }
        }
    });
}
