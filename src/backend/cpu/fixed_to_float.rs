//! CPU twin of `shaders/fixed_to_float.wgsl`, element-wise with rayon.

use super::shared::pet::{fixed_shift, times_pow2};
use crate::backend::layout::PetParams;
use rayon::prelude::*;

/// Twin of `fixed_to_float.wgsl`: `image[v] ←` voxel `v`'s 64-bit fixed-point sum (low, high
/// words, in the shader's 16-bit pieces) divided by its own scale; 0 below the smallest
/// normal `f32`.
pub(crate) fn fixed_to_float(p: &PetParams, voxel_max: &[u32], acc: &[u32], image: &mut [f32]) {
    image[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, x)| {
            let lo = acc[2 * i];
            let hi = acc[2 * i + 1] as i32;
            let v = (hi as f32 * 65536.0 + (lo >> 16) as f32) * 65536.0 + (lo & 0xffff) as f32;
            let r = times_pow2(v, -fixed_shift(voxel_max[i], p.bound_exp));
            *x = if r.abs() < f32::MIN_POSITIVE { 0.0 } else { r };
        });
}
