//! CPU twin of `shaders/pet_forward.wgsl`: one line of response per sample, rayon over the
//! samples in place of the dispatch grid; the planes stepped with the line's constants hoisted
//! and the TOF kernel tabulated ([`Stepper`], [`TofKernel`]), the sums in the shader's order.

use super::shared::pet::{Stepper, TofKernel, Walk, lor_of, on_axis, pet_walk, slab_planes};
use crate::backend::layout::PetParams;
use rayon::prelude::*;

/// Twin of `pet_forward.wgsl`: `out[i] ←` the Joseph (and TOF-weighted) integral of `image`
/// (the slices `p.slab` of the grid) along line of response `i`, summed slice by slice in
/// increasing z onto what `out[i]` holds (onto 0 for the slab starting at slice 0). Bindings in
/// shader order.
pub(crate) fn pet_forward(
    p: &PetParams,
    transaxial: &[[f32; 4]],
    axial: &[[f32; 4]],
    events: &[[u32; 4]],
    image: &[f32],
    out: &mut [f32],
) {
    let tof = TofKernel::new(p);
    out[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, o)| {
            let walk = pet_walk(p, &lor_of(p, i as u32, transaxial, axial, events));
            let start = if p.slab[0] > 0 { *o } else { 0.0 };
            *o = on_axis!(walk.axis, line_sum(p, &walk, tof.as_ref(), image, start));
        });
}

/// The line's integral along axis `A` onto `total`, slice by slice in increasing z.
#[inline(always)]
fn line_sum<const A: usize>(
    p: &PetParams,
    walk: &Walk,
    tof: Option<&TofKernel>,
    image: &[f32],
    mut total: f32,
) -> f32 {
    let rising = A == 2 || walk.d[2] * walk.d[A] >= 0.0;
    let (mut cur, mut here, mut next) = (-2i32, 0.0f32, 0.0f32);
    let (first, last) = slab_planes(p, walk);
    let stepper = Stepper::new::<A>(p, walk, tof);
    let offsets = stepper.offsets();
    for s in first..=last {
        let plane = if rising { s } else { last - (s - first) };
        let taps = stepper.plane::<A>(plane);
        let low = taps.slice;
        if low == cur + 1 {
            total += here;
            here = next;
            next = 0.0;
            cur = low;
        } else if low > cur + 1 {
            total += here;
            total += next;
            here = 0.0;
            next = 0.0;
            cur = low;
        }
        let tap = |k: usize| image[(taps.base + offsets[k]) as usize] * taps.weight[k];
        if A == 2 {
            // Every tap on slice `plane`.
            here += tap(0);
            here += tap(1);
            here += tap(2);
            here += tap(3);
        } else {
            if taps.rows[0] {
                here += tap(0);
                here += tap(1);
            }
            if taps.rows[1] {
                next += tap(2);
                next += tap(3);
            }
        }
    }
    total += here;
    total += next;
    total
}
