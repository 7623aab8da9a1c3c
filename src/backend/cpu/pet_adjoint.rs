//! CPU twin of `shaders/pet_adjoint.wgsl`: each line of response adds its taps to 64-bit
//! fixed-point voxel sums. Where the shader adds two words with a carry, the twin adds one
//! `AtomicU64` (wrapping): the same integers, so the same sums in any order.

use super::shared::pet::{fixed_scale, lor_of, pet_taps, pet_walk, slab_planes};
use crate::backend::layout::PetParams;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// The fixed-point integer `round(v)` as the shader's `add_fixed` forms it (`|v| < 2^62`).
#[inline]
pub(crate) fn to_fixed(v: f32) -> u64 {
    let r = v.round_ties_even();
    let m = r.abs();
    let hi_f = (m * 2.328_306_4e-10).floor();
    let lo = (m - hi_f * 4_294_967_296.0) as u32;
    let hi = hi_f as u32;
    let magnitude = ((hi as u64) << 32) | lo as u64;
    if r < 0.0 {
        magnitude.wrapping_neg()
    } else {
        magnitude
    }
}

/// Twin of `pet_adjoint.wgsl`: adds `data[i]` × the taps of line `i` (× the fixed scale) to
/// `acc` (two words per voxel, low then high). Bindings in shader order.
pub(crate) fn pet_adjoint(
    p: &PetParams,
    transaxial: &[[f32; 4]],
    axial: &[[f32; 4]],
    events: &[[u32; 4]],
    data: &[f32],
    max_bits: &[u32],
    acc: &mut [u32],
) {
    let sums: Vec<AtomicU64> = acc
        .chunks_exact(2)
        .map(|w| AtomicU64::new(((w[1] as u64) << 32) | w[0] as u64))
        .collect();
    let scale = fixed_scale(max_bits[0], p.bound_exp);
    (0..p.len).into_par_iter().for_each(|i| {
        let y = data[i as usize];
        if y == 0.0 {
            return;
        }
        let scaled = y * scale;
        let walk = pet_walk(p, &lor_of(p, i, transaxial, axial, events));
        let (first, last) = slab_planes(p, &walk);
        for plane in first..=last {
            let taps = pet_taps(p, &walk, plane);
            for k in 0..4 {
                if taps.index[k] >= 0 && taps.weight[k] != 0.0 {
                    let v = to_fixed(scaled * taps.weight[k]);
                    sums[taps.index[k] as usize].fetch_add(v, Ordering::Relaxed);
                }
            }
        }
    });
    for (w, s) in acc.chunks_exact_mut(2).zip(&sums) {
        let s = s.load(Ordering::Relaxed);
        w[0] = s as u32;
        w[1] = (s >> 32) as u32;
    }
}
