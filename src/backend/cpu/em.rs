//! CPU twins of the element-wise EM stages (`shaders/em_ratio.wgsl`, `shaders/em_update.wgsl`)
//! and of the prior's gradient (`shaders/prior_gradient.wgsl`).

use crate::backend::layout::{EmParams, PriorParams};
use rayon::prelude::*;

/// Twin of `em_ratio.wgsl`: `expected ← m · measured / (m · expected + background)`, 0 where
/// the denominator is not positive (`m` the factors, 1 without them).
pub(crate) fn em_ratio(
    p: &EmParams,
    measured: &[f32],
    background: &[f32],
    factors: &[f32],
    expected: &mut [f32],
) {
    let (off, len) = (p.offset as usize, p.len as usize);
    let measured = &measured[off..off + len];
    expected[..len]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, e)| {
            let mut f = 1.0;
            let mut denominator = *e;
            if p.has_factors != 0 {
                f = factors[off + i];
                denominator *= f;
            }
            if p.has_background != 0 {
                denominator += background[off + i];
            }
            let q = if denominator > 0.0 {
                measured[i] / denominator
            } else {
                0.0
            };
            *e = q * f;
        });
}

/// Twin of `em_update.wgsl`: `image ← image · back / max(s + β·grad, s/100)`, unchanged where
/// the sensitivity `s` is 0.
pub(crate) fn em_update(
    p: &EmParams,
    sensitivity: &[f32],
    back: &[f32],
    grad: &[f32],
    image: &mut [f32],
) {
    let (off, len) = (p.offset as usize, p.len as usize);
    let sensitivity = &sensitivity[off..off + len];
    image[..len].par_iter_mut().enumerate().for_each(|(i, x)| {
        let s = sensitivity[i];
        if s > 0.0 {
            let mut denominator = s;
            if p.beta != 0.0 {
                denominator = (s + p.beta * grad[i]).max(0.01 * s);
            }
            *x *= back[i] / denominator;
        }
    });
}

/// Twin of `prior_gradient.wgsl`: the prior's gradient at `image`, into `grad`.
pub(crate) fn prior_gradient(p: &PriorParams, image: &[f32], grad: &mut [f32]) {
    let (nx, ny, nz) = (p.nx as i32, p.ny as i32, p.nz as i32);
    let at = |z: i32, y: i32, x: i32| ((z * ny + y) * nx + x) as usize;
    grad.par_chunks_mut(nx as usize)
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
