//! CPU twin of `shaders/pet_adjoint.wgsl`: each line of response adds its terms to 64-bit
//! fixed-point voxel sums, each voxel at its own scale. Where the shader adds two words with
//! a carry, the twin adds one `AtomicU64` (wrapping): the same integers, so the same sums in
//! any order.

use super::shared::pet::{
    fixed_shift, fixed_term, lor_of, pet_taps, pet_walk, slab_planes, times_pow2,
};
use crate::backend::layout::PetParams;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// The fixed-point integer `round(v)` as the shader's `add_fixed` forms it (`|v| < 2^62`).
#[inline]
fn to_fixed(v: f32) -> u64 {
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

/// Twin of `pet_adjoint.wgsl`: adds the terms `data[i]` × the taps' weights of line `i`, each
/// × its voxel's scale `2^fixed_shift(voxel_max[v])`, to `acc` (two words per voxel, low then
/// high). Bindings in shader order.
pub(crate) fn pet_adjoint(
    p: &PetParams,
    transaxial: &[[f32; 4]],
    axial: &[[f32; 4]],
    events: &[[u32; 4]],
    data: &[f32],
    voxel_max: &[u32],
    acc: &mut [u32],
) {
    let sums: Vec<AtomicU64> = acc
        .chunks_exact(2)
        .map(|w| AtomicU64::new(((w[1] as u64) << 32) | w[0] as u64))
        .collect();
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
                let v = taps.index[k];
                if v >= 0 {
                    let c = fixed_term(y, taps.weight[k]);
                    if c != 0.0 {
                        let s = fixed_shift(voxel_max[v as usize], p.bound_exp);
                        let f = to_fixed(times_pow2(c, s));
                        sums[v as usize].fetch_add(f, Ordering::Relaxed);
                    }
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
