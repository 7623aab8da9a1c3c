//! CPU twin of `shaders/pet_adjoint_max.wgsl`: the largest |term| each voxel receives, as the
//! bits of a non-negative float, an atomic maximum per voxel (read first, as the shader does:
//! most taps do not raise it, so the lines run on plain loads).

use super::shared::pet::each_term;
use crate::backend::layout::PetParams;
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
    each_term(p, (transaxial, axial, events), data, |v, c| {
        let bits = c.abs().to_bits();
        if bits > maxes[v].load(Ordering::Relaxed) {
            maxes[v].fetch_max(bits, Ordering::Relaxed);
        }
    });
}
