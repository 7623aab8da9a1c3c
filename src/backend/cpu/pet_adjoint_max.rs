//! CPU twin of `shaders/pet_adjoint_max.wgsl`: the largest |term| each voxel receives, as the
//! bits of a non-negative float, an atomic maximum per voxel (read first, as the shader does).

use super::shared::pet::{fixed_term, lor_of, pet_taps, pet_walk, slab_planes};
use crate::backend::layout::PetParams;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// Twin of `pet_adjoint_max.wgsl`: `voxel_max[v] ← max(voxel_max[v], bits of |data[i] ×
/// weight|)` over the taps of every line `i` on voxel `v`. Bindings in shader order.
pub(crate) fn pet_adjoint_max(
    p: &PetParams,
    transaxial: &[[f32; 4]],
    axial: &[[f32; 4]],
    events: &[[u32; 4]],
    data: &[f32],
    voxel_max: &mut [u32],
) {
    // SAFETY: `AtomicU32` has the size, alignment and bit validity of `u32`, and the
    // exclusive borrow of `voxel_max` is held for as long as the atomics are used.
    let maxes: &[AtomicU32] = unsafe { &*(voxel_max as *mut [u32] as *const [AtomicU32]) };
    (0..p.len).into_par_iter().for_each(|i| {
        let y = data[i as usize];
        if y == 0.0 {
            return;
        }
        let walk = pet_walk(p, &lor_of(p, i, transaxial, axial, events));
        let (first, last) = slab_planes(p, &walk);
        for plane in first..=last {
            let taps = pet_taps(p, &walk, plane);
            for k in 0..4 {
                if taps.index[k] >= 0 {
                    let bits = fixed_term(y, taps.weight[k]).abs().to_bits();
                    let m = &maxes[taps.index[k] as usize];
                    if bits > m.load(Ordering::Relaxed) {
                        m.fetch_max(bits, Ordering::Relaxed);
                    }
                }
            }
        }
    });
}
