//! CPU twin of `shaders/prior_gradient.wgsl`: same bindings, same arithmetic, rayon over image rows in place
//! of the dispatch grid.

use crate::backend::layout::PriorParams;
use rayon::prelude::*;

/// Twin of `prior_gradient.wgsl`: the prior's gradient at `image`, into `grad`.
pub(crate) fn prior_gradient(p: &PriorParams, image: &[f32], grad: &mut [f32]) {
    let (nx, ny, nz) = (p.nx as i32, p.ny as i32, p.nz as i32);
    let at = |z: i32, y: i32, x: i32| ((z * ny + y) * nx + x) as usize;
    grad[..(p.nx * p.ny * p.nz) as usize]
        .par_chunks_mut(nx as usize)
        .enumerate()
        .for_each(|(row, out)| {
            let (z, y) = (row as i32 / ny, row as i32 % ny);
            for x in 0..nx {
                let xj = image[at(z, y, x)];
                let mut g = 0.0f32;
                for i in 0..27 {
                    let (dz, dy, dx) = (i / 9 - 1, (i / 3) % 3 - 1, i % 3 - 1);
                    let (zz, yy, xx) = (z + dz, y + dy, x + dx);
                    if i == 13 || zz < 0 || zz >= nz || yy < 0 || yy >= ny || xx < 0 || xx >= nx {
                        continue;
                    }
                    let w = p.weights[(i / 4) as usize][(i % 4) as usize];
                    let xk = image[at(zz, yy, xx)];
                    let d = xj - xk;
                    if p.kind == 0 {
                        g += w * d;
                    } else {
                        let s = xj + xk + p.gamma * d.abs();
                        if s > 0.0 {
                            g += w * (d * (p.gamma * d.abs() + xj + 3.0 * xk) / (s * s));
                        }
                    }
                }
                out[x as usize] = g;
            }
        });
}
