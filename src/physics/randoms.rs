//! Randoms from delayed coincidences, variance-reduced by fan sums (Casey & Hoffman 1986):
//! the delayeds of a crystal pair (a, b) are modelled as `c · F_a · F_b`, `F` each crystal's
//! delayeds summed over all its coincidences, `c` such that the estimate holds as many
//! delayeds as were counted in the layout. Smooth where the delayed sinogram is a few counts
//! per bin.

use crate::error::{Error, Result};
use crate::geometry::pet::SinogramLayout;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// The randoms estimate per bin of `layout` (its shape without TOF) from per-crystal delayed
/// fan sums `fan_sums[ring · crystals_per_ring + crystal]`, scaled to hold `total` counts
/// (the delayeds counted in the layout).
///
/// # Errors
/// [`Error::InvalidArgument`] when `fan_sums` does not hold one value per crystal, or
/// `total` is negative or not finite.
pub fn randoms_from_fan_sums(
    layout: &SinogramLayout,
    fan_sums: &[f64],
    total: f64,
) -> Result<ArrayD<f32>> {
    let plain = layout.clone().without_tof();
    let s = plain.scanner();
    let n = s.crystals_per_ring() as usize;
    if fan_sums.len() != n * s.rings() as usize {
        return Err(Error::InvalidArgument(format!(
            "{} fan sums; the {} has {} crystals",
            fan_sums.len(),
            s.name(),
            n * s.rings() as usize
        )));
    }
    if !(total.is_finite() && total >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "{total} delayeds: expected a finite count ≥ 0"
        )));
    }
    let (planes, tang) = (plain.planes(), plain.tangential());
    let ring_pairs: Vec<Vec<(u32, u32)>> = (0..planes).map(|p| plain.ring_pairs(p)).collect();
    let mut out = vec![0.0f64; plain.len()];
    out.par_chunks_mut((planes * tang) as usize)
        .enumerate()
        .for_each(|(view, chunk)| {
            for plane in 0..planes {
                for tangential in 0..tang {
                    let t = tangential as i32 - tang as i32 / 2;
                    let mut sum = 0.0;
                    for j in 0..plain.view_mashing() {
                        let (c1, c2) = plain.crystals_of(view as u32 * plain.view_mashing() + j, t);
                        for &(r1, r2) in &ring_pairs[plane as usize] {
                            sum += fan_sums[r1 as usize * n + c1 as usize]
                                * fan_sums[r2 as usize * n + c2 as usize];
                        }
                    }
                    chunk[(plane * tang + tangential) as usize] = sum;
                }
            }
        });
    let sum: f64 = out.iter().sum();
    let c = if sum > 0.0 { total / sum } else { 0.0 };
    let values: Vec<f32> = out.iter().map(|v| (v * c) as f32).collect();
    Ok(ArrayD::from_shape_vec(IxDyn(&plain.shape()), values).expect("layout shape"))
}
