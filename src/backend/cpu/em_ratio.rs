//! CPU twin of `shaders/em_ratio.wgsl`: same bindings, same arithmetic, element-wise, rayon over projection samples in place
//! of the dispatch grid.

use crate::backend::layout::EmParams;
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
