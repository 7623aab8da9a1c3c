//! CPU twin of `shaders/abs_max.wgsl`: the largest magnitude's bits, a rayon reduction in
//! place of the atomic maximum.

use crate::backend::layout::PetParams;
use rayon::prelude::*;

/// Twin of `abs_max.wgsl`: `out[0] ← max(out[0], bits of |data[i]|)` over `i < p.len`.
pub(crate) fn abs_max(p: &PetParams, data: &[f32], out: &mut [u32]) {
    let m = data[..p.len as usize]
        .par_iter()
        .map(|v| v.abs().to_bits())
        .max()
        .unwrap_or(0);
    out[0] = out[0].max(m);
}
