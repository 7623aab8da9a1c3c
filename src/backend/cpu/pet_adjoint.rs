//! CPU twin of `shaders/pet_adjoint.wgsl`: each line of response adds its terms to 64-bit
//! fixed-point voxel sums, each voxel at its own scale (one `AtomicU64` per voxel where the
//! shader adds two words with a carry). The twin is the shader's reference (the stage parity
//! tests); the host back-projects with [`pet_adjoint_ordered`]: the same terms summed in `f64`
//! in line order in one walk, which a device cannot do (no float atomics, no order among
//! invocations) and the host can, each thread owning whole slices.

use super::shared::pet::{LineTables, TofKernel, each_term, fixed_shift, line_terms, lor_of};
use crate::backend::layout::PetParams;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Slabs per thread of [`pet_adjoint_ordered`] (work stealing evens out their loads).
const SLABS_PER_THREAD: usize = 4;

/// The 64-bit word of a voxel's two 32-bit words, low first.
#[inline(always)]
fn joined(w: [u32; 2]) -> u64 {
    (u64::from(w[1]) << 32) | u64::from(w[0])
}

/// A 64-bit word as a voxel's two 32-bit words, low first.
#[inline(always)]
fn split(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

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
    // Each voxel's scale 2^fixed_shift, exact in f64 (|shift| ≤ 252).
    let scale: Vec<f64> = voxel_max
        .par_iter()
        .map(|&m| 2f64.powi(fixed_shift(m, p.bound_exp)))
        .collect();
    let sums: Vec<AtomicU64> = acc
        .chunks_exact(2)
        .map(|w| AtomicU64::new(joined([w[0], w[1]])))
        .collect();
    each_term(p, (transaxial, axial, events), data, |v, c| {
        sums[v].fetch_add(to_fixed(c, scale[v]), Ordering::Relaxed);
    });
    for (w, s) in acc.chunks_exact_mut(2).zip(sums) {
        w.copy_from_slice(&split(s.into_inner()));
    }
}

/// The host's back-projection of lines `0..p.len`: `acc[v] += Σᵢ data[i] · w(i, v)` for the
/// voxels `v` of the slab `p.slab`, each term the shader's `f32` product ([`line_terms`]),
/// summed in `f64` in increasing line order. The slab is split into slabs of slices, each
/// owned by one task that walks every line crossing it, so a voxel's sum is the same sequence
/// of additions whatever the threads, slabs or chunks of lines (successive calls continue the
/// sums): bit-identical reruns, one walk per line, no atomics, and every voxel at the
/// precision of `f64` (`acc`: two words per voxel, the bits of an `f64`, low word first).
pub(crate) fn pet_adjoint_ordered(
    p: &PetParams,
    tables: LineTables<'_>,
    data: &[f32],
    acc: &mut [u32],
) {
    let slice = (p.nx * p.ny) as usize;
    let (z0, z1) = (p.slab[0] as usize, p.slab[1] as usize);
    let slices = z1 - z0;
    let tasks = (SLABS_PER_THREAD * rayon::current_num_threads()).clamp(1, slices.max(1));
    let tof = TofKernel::new(p);
    let tof = tof.as_ref();
    let sums: &mut [[u32; 2]] = bytemuck::cast_slice_mut(&mut acc[..2 * slices * slice]);
    // Slabs of ⌈slices / tasks⌉ slices (the last may be shorter).
    let per = slices.div_ceil(tasks).max(1);
    sums.par_chunks_mut(per * slice)
        .enumerate()
        .for_each(|(k, part)| {
            let first = z0 + k * per;
            let sub = PetParams {
                slab: [first as u32, (first + part.len() / slice) as u32, 0, 0],
                ..*p
            };
            let (lo, hi) = (sub.slab[0] as f32, sub.slab[1] as f32);
            for i in 0..p.len {
                if data[i as usize] == 0.0 {
                    continue;
                }
                // Lines whose z range stays two slices clear of the slab give it no term
                // (taps lie on the slices either side of the line's z, clamped to the grid).
                let lor = lor_of(p, i, tables.0, tables.1, tables.2);
                let za = (lor.p1[2] - p.origin[2]) * p.inv_spacing[2];
                let zb = (lor.p2[2] - p.origin[2]) * p.inv_spacing[2];
                if za.max(zb) < lo - 2.0 || za.min(zb) > hi + 1.0 {
                    continue;
                }
                line_terms(&sub, tables, tof, data, i, |v, c| {
                    let w = &mut part[v];
                    *w = split((f64::from_bits(joined(*w)) + c as f64).to_bits());
                });
            }
        });
}

/// `image[v] ←` the `f64` sum [`pet_adjoint_ordered`] left in `acc` for voxel `v`, rounded to
/// `f32`; 0 below the smallest normal `f32`, as `fixed_to_float` gives.
pub(crate) fn ordered_to_float(acc: &[u32], image: &mut [f32]) {
    let sums: &[[u32; 2]] = bytemuck::cast_slice(&acc[..2 * image.len()]);
    image.par_iter_mut().zip(sums).for_each(|(x, w)| {
        let r = f64::from_bits(joined(*w)) as f32;
        *x = if r.abs() < f32::MIN_POSITIVE { 0.0 } else { r };
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::ImageGrid;
    use crate::geometry::pet::{PetScanner, SinogramLayout, TofBins};

    /// The host's ordered sums: the same bits on 1 and 3 threads and with the lines in two
    /// calls, and within an `f32` rounding of the twin's fixed-point sums (data from 1e-20 to
    /// 1e20 in magnitude, so each voxel's scale matters).
    #[test]
    fn ordered_sums_do_not_depend_on_threads_or_chunks() {
        let scanner = PetScanner::new("t", 4, 48, 50.0, 2.0, 4.0)
            .unwrap()
            .with_tof(TofBins::new(5, 15.0, 25.0).unwrap());
        let layout = SinogramLayout::new(scanner, 30, 1, 3, 1).unwrap();
        let grid = ImageGrid::new_3d([6, 20, 20], [4.0, 4.0, 2.0]).unwrap();
        let views: Vec<usize> = (0..layout.views() as usize).collect();
        let t = crate::projector::pet3d::sinogram_tables(&layout, &grid, &views);
        let lines = layout.len();
        let p = PetParams {
            len: lines as u32,
            n_views: layout.views(),
            bound_exp: 20,
            ..t.base
        };
        // 1e-20 on the lines through the centre to 1e20 on the outermost ones.
        let tang = layout.tangential() as usize;
        let half = (tang - 1) as f32 / 2.0;
        let data: Vec<f32> = (0..lines)
            .map(|i| {
                let sign = if i % 3 == 0 { -1.0 } else { 1.0 };
                let off = ((i % tang) as f32 - half).abs() / half;
                sign * 10f32.powf(-20.0 + 40.0 * off) * (1.0 + (i % 7) as f32 / 7.0)
            })
            .collect();
        let tables = (&t.transaxial[..], &t.axial[..], &[[0u32; 4]][..]);
        let per_view = lines / layout.views() as usize;
        let views = layout.views() as usize;
        // Threads, and the views where a chunk of views ends (each chunk a dispatch of its
        // own, its data from index 0).
        let on = |threads: usize, cuts: &[usize]| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut acc = vec![0u32; 2 * grid.len()];
            pool.install(|| {
                let ends = cuts.iter().copied().chain([views]);
                let starts = [0].into_iter().chain(cuts.iter().copied());
                for views in starts.zip(ends).map(|(a, b)| a..b) {
                    let chunk = PetParams {
                        first: views.start as u32,
                        len: (views.len() * per_view) as u32,
                        ..p
                    };
                    let part = &data[views.start * per_view..views.end * per_view];
                    pet_adjoint_ordered(&chunk, tables, part, &mut acc);
                }
            });
            acc
        };
        let one = on(1, &[]);
        assert_eq!(one, on(3, &[]));
        assert_eq!(one, on(2, &[views / 3]));
        assert!(one.iter().any(|&w| w != 0));
        let mut image = vec![0.0f32; grid.len()];
        ordered_to_float(&one, &mut image);
        let voxel_max = {
            let mut m = vec![0u32; grid.len()];
            crate::backend::cpu::pet_adjoint_max(&p, tables.0, tables.1, tables.2, &data, &mut m);
            m
        };
        let mut fixed = vec![0u32; 2 * grid.len()];
        pet_adjoint(
            &p, tables.0, tables.1, tables.2, &data, &voxel_max, &mut fixed,
        );
        let mut reference = vec![0.0f32; grid.len()];
        let q = PetParams {
            len: grid.len() as u32,
            ..p
        };
        crate::backend::cpu::fixed_to_float(&q, &voxel_max, &fixed, &mut reference);
        for (v, (a, b)) in image.iter().zip(&reference).enumerate() {
            assert!(
                (a - b).abs() <= 2.0 * f32::EPSILON * b.abs().max(f32::MIN_POSITIVE),
                "voxel {v}: ordered {a:e}, fixed point {b:e}"
            );
        }
        let spread = image
            .iter()
            .filter(|v| **v != 0.0)
            .fold((f32::INFINITY, 0.0f32), |(lo, hi), v| {
                (lo.min(v.abs()), hi.max(v.abs()))
            });
        assert!(spread.0 < 1e-10 * spread.1, "{spread:?}");
    }
}
