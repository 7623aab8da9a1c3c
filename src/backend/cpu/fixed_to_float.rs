//! CPU twin of `shaders/fixed_to_float.wgsl`, element-wise with rayon.

use super::shared::pet::fixed_scale;
use crate::backend::layout::PetParams;
use rayon::prelude::*;

/// Twin of `fixed_to_float.wgsl`: `image[v] ←` voxel `v`'s 64-bit fixed-point sum (low, high
/// words) divided by the fixed scale, in the shader's 16-bit pieces.
pub(crate) fn fixed_to_float(p: &PetParams, max_bits: &[u32], acc: &[u32], image: &mut [f32]) {
    let inv = 1.0 / fixed_scale(max_bits[0], p.bound_exp);
    image[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, x)| {
            let lo = acc[2 * i];
            let hi = acc[2 * i + 1] as i32;
            let v = (hi as f32 * 65536.0 + (lo >> 16) as f32) * 65536.0 + (lo & 0xffff) as f32;
            *x = v * inv;
        });
}
