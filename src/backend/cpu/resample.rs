//! CPU twin of `shaders/resample.wgsl`: each target voxel of the slab takes the mean of its
//! trilinear sub-samples of the source block, in `f32` with the shader's operations; rayon
//! over target rows in place of the dispatch grid.

use crate::backend::layout::ResampleParams;
use rayon::prelude::*;

/// Overwrites `out` (the slab's `p.len` voxels, `[z, y, x]`) from the source `block`.
/// Bindings in shader order: p, block, out.
pub(crate) fn resample(p: &ResampleParams, block: &[f32], out: &mut [f32]) {
    let nx = p.slab[2] as usize;
    out[..p.len as usize]
        .par_chunks_mut(nx)
        .enumerate()
        .for_each(|(row, values)| {
            for (ix, v) in values.iter_mut().enumerate() {
                *v = main(p, block, (row * nx + ix) as u32);
            }
        });
}

/// Twin of the shader's `inside`.
#[inline]
fn inside(f: f32, n: u32) -> bool {
    f >= -0.001 && f <= (n - 1) as f32 + 0.001
}

/// Twin of the shader's `sample`: trilinear value at source index `m = (z, y, x)`.
#[inline]
fn sample(p: &ResampleParams, block: &[f32], m: [f32; 3]) -> f32 {
    if !(inside(m[0], p.source[0]) && inside(m[1], p.source[1]) && inside(m[2], p.source[2])) {
        return p.outside;
    }
    let n = [0, 1, 2].map(|k| p.source[k] as i32);
    let base = [0, 1, 2].map(|k| (m[k].floor() as i32).clamp(0, (n[k] - 2).max(0)));
    let t = [0, 1, 2].map(|k| (m[k] - base[k] as f32).clamp(0.0, 1.0));
    let o = [0, 1, 2].map(|k| p.block_origin[k] as i32);
    let bn = [0, 1, 2].map(|k| p.block[k] as i32);
    let mut acc = 0.0f32;
    for dz in 0..2 {
        let wz = if dz == 1 { t[0] } else { 1.0 - t[0] };
        for dy in 0..2 {
            let wy = if dy == 1 { t[1] } else { 1.0 - t[1] };
            for dx in 0..2 {
                let wx = if dx == 1 { t[2] } else { 1.0 - t[2] };
                let w = wz * wy * wx;
                if w > 0.0 {
                    let s = [dz, dy, dx];
                    let s = [0, 1, 2].map(|k| (base[k] + s[k]).min(n[k] - 1) - o[k]);
                    acc += w * block[((s[0] * bn[1] + s[1]) * bn[2] + s[2]) as usize];
                }
            }
        }
    }
    acc
}

/// The per-invocation body of the shader's `main` for slab voxel `i`.
#[inline]
fn main(p: &ResampleParams, block: &[f32], i: u32) -> f32 {
    let (nx, ny) = (p.slab[2], p.slab[1]);
    let ix = i % nx;
    let iy = (i / nx) % ny;
    let iz = i / (nx * ny) + p.slab[3];
    let k = [p.samples[0], p.samples[1], p.samples[2]];
    let mut sum = 0.0f32;
    for sz in 0..k[0] {
        let fz = iz as f32 + (sz as f32 + 0.5) / k[0] as f32 - 0.5;
        for sy in 0..k[1] {
            let fy = iy as f32 + (sy as f32 + 0.5) / k[1] as f32 - 0.5;
            for sx in 0..k[2] {
                let fx = ix as f32 + (sx as f32 + 0.5) / k[2] as f32 - 0.5;
                let m =
                    [0, 1, 2].map(|c| p.b[c] + fz * p.col_z[c] + fy * p.col_y[c] + fx * p.col_x[c]);
                sum += sample(p, block, m);
            }
        }
    }
    sum / (k[0] * k[1] * k[2]) as f32
}
