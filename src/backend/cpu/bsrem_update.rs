//! CPU twin of `shaders/bsrem_update.wgsl`: same bindings, same arithmetic, element-wise,
//! rayon over voxels in place of the dispatch grid.

use crate::backend::layout::BsremParams;
use rayon::prelude::*;

/// Twin of `bsrem_update.wgsl`: `x ← max(floor, x + α (x/p) (S (back − sₛ) − β grad))`,
/// `p = Σₛ sₛ`, unchanged where `p ≤ 0`.
pub(crate) fn bsrem_update(
    p: &BsremParams,
    sensitivity: &[f32],
    back: &[f32],
    grad: &[f32],
    image: &mut [f32],
) {
    let (len, subsets) = (p.len as usize, p.n_subsets as usize);
    let own = &sensitivity[p.subset as usize * len..][..len];
    image[..len].par_iter_mut().enumerate().for_each(|(i, x)| {
        let mut total = 0.0f32;
        for s in 0..subsets {
            total += sensitivity[s * len + i];
        }
        if total > 0.0 {
            let step = p.n_subsets as f32 * (back[i] - own[i]) - p.beta * grad[i];
            *x = p.floor.max(*x + p.alpha * (*x / total) * step);
        }
    });
}
