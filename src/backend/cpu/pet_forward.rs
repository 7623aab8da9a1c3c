//! CPU twin of `shaders/pet_forward.wgsl`: one line of response per sample, rayon over the
//! samples in place of the dispatch grid.

use super::shared::pet::{lor_of, pet_taps, pet_walk};
use crate::backend::layout::PetParams;
use rayon::prelude::*;

/// Twin of `pet_forward.wgsl`: `out[i] ←` the Joseph (and TOF-weighted) integral of `image`
/// along line of response `i`. Bindings in shader order.
pub(crate) fn pet_forward(
    p: &PetParams,
    transaxial: &[[f32; 4]],
    axial: &[[f32; 4]],
    events: &[[u32; 4]],
    image: &[f32],
    out: &mut [f32],
) {
    out[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, o)| {
            let walk = pet_walk(p, &lor_of(p, i as u32, transaxial, axial, events));
            let mut sum = 0.0f32;
            for plane in walk.lo..=walk.hi {
                let taps = pet_taps(p, &walk, plane);
                for k in 0..4 {
                    if taps.index[k] >= 0 {
                        sum += image[taps.index[k] as usize] * taps.weight[k];
                    }
                }
            }
            *o = sum;
        });
}
