//! CPU twin of `shaders/forward_project.wgsl`: Joseph forward projection, one call of
//! [`main`] per detector bin, rayon over detector rows in place of the dispatch grid.

use super::shared::rays::{split_index, steps};
use crate::backend::layout::{Line, Params};
use rayon::prelude::*;

/// Overwrites `sino[view, z, col]` with the line integrals of `image[z, y, x]`.
/// Bindings in shader order: params, lines, image, sino.
pub(crate) fn forward_project(p: &Params, lines: &[Line], image: &[f32], sino: &mut [f32]) {
    let nz = p.nz as usize;
    sino[..(p.n_views * p.nz * p.n_cols) as usize]
        .par_chunks_mut(p.n_cols as usize)
        .enumerate()
        .for_each(|(row, out)| {
            let (view, z) = ((row / nz) as u32, (row % nz) as u32);
            for (k, o) in out.iter_mut().enumerate() {
                *o = main(p, lines, image, k as u32, view, z);
            }
        });
}

/// The per-invocation body of the shader's `main`.
#[inline]
fn main(p: &Params, lines: &[Line], image: &[f32], k: u32, view: u32, z: u32) -> f32 {
    let line = lines[(view * p.n_cols + k) as usize];
    let (n_step, n_other, stride_step, stride_other) = if line.along_x > 0.5 {
        (p.nx, p.ny, 1, p.nx)
    } else {
        (p.ny, p.nx, p.nx, 1)
    };
    let mut acc = 0.0f32;
    if let Some(steps) = steps(&line, n_step, n_other) {
        let base = (z * p.nx * p.ny) as usize;
        let last = n_other as i32 - 1;
        for i in steps {
            let (i0, frac) = split_index(line.f0 + i as f32 * line.fstep, n_other);
            let at = base + (i * stride_step) as usize;
            if i0 >= 0 && i0 <= last {
                acc += (1.0 - frac) * image[at + (i0 as u32 * stride_other) as usize];
            }
            if i0 + 1 >= 0 && i0 < last {
                acc += frac * image[at + ((i0 + 1) as u32 * stride_other) as usize];
            }
        }
    }
    acc * line.weight
}
