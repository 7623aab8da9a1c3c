//! CPU twin of `shaders/pet_adjoint.wgsl`: each line of response adds its terms to 64-bit
//! fixed-point voxel sums, each voxel at its own scale. Where the shader adds two words with
//! a carry into shared atomics, the twin gives each thread its own 64-bit sums (wrapping) and
//! adds them up at the end: integer sums, so the same words in any grouping, and no locked
//! instruction per tap. Images too large for a copy per thread share atomic sums instead.

use super::shared::pet::{LineTables, TofKernel, fixed_shift, line_terms};
use crate::backend::layout::PetParams;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Bytes the per-thread sums may take together.
const PRIVATE_SUMS_BYTES: usize = 1 << 30;
/// Lines a thread takes at a time from the shared counter.
const LINES_PER_TAKE: usize = 256;

/// The fixed-point integer `round(c · scale)` as the shader's `times_pow2` and `add_fixed`
/// form it (`scale` a power of two, the product below 2^62 in magnitude, ties to even), as the
/// two's-complement `u64` of its two words. In `f64` the product is exact, as the shader's is
/// wherever it is a normal `f32` (elsewhere both round to 0); the rounding adds ±2^52, without
/// the call to libm's `rint` that the baseline x86-64 target makes of `round_ties_even`.
#[inline(always)]
fn to_fixed(c: f32, scale: f64) -> u64 {
    let v = c as f64 * scale;
    const BIG: f64 = 4_503_599_627_370_496.0;
    let r = if v.abs() < BIG {
        let b = BIG.copysign(v);
        (v + b) - b
    } else {
        v
    };
    // Exact: r is an integer below 2^62 in magnitude.
    r as i64 as u64
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
    let tables = (transaxial, axial, events);
    sum_terms(p, tables, data, voxel_max, acc, PRIVATE_SUMS_BYTES);
}

/// [`pet_adjoint`] with per-thread sums while they fit `private_bytes`.
fn sum_terms(
    p: &PetParams,
    tables: LineTables<'_>,
    data: &[f32],
    voxel_max: &[u32],
    acc: &mut [u32],
    private_bytes: usize,
) {
    // Each voxel's scale 2^fixed_shift, exact in f64 (|shift| ≤ 252).
    let scale: Vec<f64> = voxel_max
        .par_iter()
        .map(|&m| 2f64.powi(fixed_shift(m, p.bound_exp)))
        .collect();
    let fixed = |v: usize, c: f32| to_fixed(c, scale[v]);
    let voxels = acc.len() / 2;
    let threads = rayon::current_num_threads().max(1);
    let lines = p.len as usize;
    let tof = TofKernel::new(p);
    let tof = tof.as_ref();
    let parts: Vec<Vec<u64>> = if threads.saturating_mul(voxels).saturating_mul(8) <= private_bytes
    {
        let taken = AtomicUsize::new(0);
        (0..threads)
            .into_par_iter()
            .map(|_| {
                let mut sums = vec![0u64; voxels];
                loop {
                    let start = taken.fetch_add(LINES_PER_TAKE, Ordering::Relaxed);
                    if start >= lines {
                        break sums;
                    }
                    for i in start..(start + LINES_PER_TAKE).min(lines) {
                        line_terms(p, tables, tof, data, i as u32, |v, c| {
                            sums[v] = sums[v].wrapping_add(fixed(v, c));
                        });
                    }
                }
            })
            .collect()
    } else {
        let shared: Vec<AtomicU64> = (0..voxels).map(|_| AtomicU64::new(0)).collect();
        (0..p.len).into_par_iter().for_each(|i| {
            line_terms(p, tables, tof, data, i, |v, c| {
                shared[v].fetch_add(fixed(v, c), Ordering::Relaxed);
            });
        });
        vec![shared.into_iter().map(AtomicU64::into_inner).collect()]
    };
    acc.par_chunks_exact_mut(2).enumerate().for_each(|(v, w)| {
        let total = parts
            .iter()
            .fold(((w[1] as u64) << 32) | w[0] as u64, |t, s| {
                t.wrapping_add(s[v])
            });
        w[0] = total as u32;
        w[1] = (total >> 32) as u32;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::ImageGrid;
    use crate::geometry::pet::{PetScanner, SinogramLayout, TofBins};

    /// Per-thread sums and shared atomic sums give the same words.
    #[test]
    fn private_and_shared_sums_agree() {
        let scanner = PetScanner::new("t", 4, 48, 50.0, 2.0, 4.0)
            .unwrap()
            .with_tof(TofBins::new(5, 15.0, 25.0).unwrap());
        let layout = SinogramLayout::new(scanner, 30, 1, 3, 1).unwrap();
        let grid = ImageGrid::new_3d([4, 20, 20], [4.0, 4.0, 4.0]).unwrap();
        let views: Vec<usize> = (0..layout.views() as usize).collect();
        let t = crate::projector::pet3d::sinogram_tables(&layout, &grid, &views);
        let p = PetParams {
            len: layout.len() as u32,
            n_views: layout.views(),
            bound_exp: 20,
            ..t.base
        };
        let data: Vec<f32> = (0..layout.len())
            .map(|i| ((i * 37) % 23) as f32 - 11.0)
            .collect();
        let voxel_max = vec![30.0f32.to_bits(); grid.len()];
        let tables = (&t.transaxial[..], &t.axial[..], &[[0u32; 4]][..]);
        let mut private = vec![7u32; 2 * grid.len()];
        let mut shared = private.clone();
        sum_terms(&p, tables, &data, &voxel_max, &mut private, usize::MAX);
        sum_terms(&p, tables, &data, &voxel_max, &mut shared, 0);
        assert_eq!(private, shared);
        assert!(private.iter().any(|&w| w != 7));
    }
}
