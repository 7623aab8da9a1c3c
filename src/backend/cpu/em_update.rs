//! CPU twin of `shaders/em_update.wgsl`: same bindings, same arithmetic, element-wise, rayon over voxels in place
//! of the dispatch grid.

use crate::backend::layout::EmParams;
use rayon::prelude::*;

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
