//! CPU twin of `shaders/sss_interpolate.wgsl`: same bindings, same arithmetic, rayon over the
//! lines of response in place of the dispatch grid.

use crate::backend::layout::SssParams;
use rayon::prelude::*;

/// Twin of `sss_interpolate.wgsl`: `scatter[view, plane, tof, t]`, interpolated from the
/// downsampled detectors' matrix `pairs` (`n_tof` bins per pair), times the line's factor and
/// weight; one line (`p.len` of them) per task.
pub(crate) fn sss_interpolate(
    p: &SssParams,
    lors: &[[f32; 4]],
    planes: &[[f32; 4]],
    pairs: &[f32],
    scatter: &mut [f32],
) {
    let (nt, npl, n_tof) = (p.n_tang as usize, p.n_planes as usize, p.n_tof as usize);
    let (n_rings, n_crystals) = (p.n_rings as i32, p.n_crystals as i32);
    let nd = p.n_detectors as usize;
    // One (view, plane) row of every TOF bin per task: [tof, t].
    scatter[..p.len as usize * n_tof]
        .par_chunks_mut(n_tof * nt)
        .enumerate()
        .for_each(|(row, out)| {
            let (plane, view) = (row % npl, row / npl);
            let pl = planes[plane];
            for t in 0..nt {
                let lor = lors[view * nt + t];
                let x = [pl[0], lor[0], pl[1], lor[1]];
                let lo = x.map(f32::floor);
                let f: [f32; 4] = std::array::from_fn(|k| x[k] - lo[k]);
                let mut w = [0.0f32; 16];
                let mut first = [0usize; 16];
                for k in 0..16 {
                    let o = [k & 1, (k >> 1) & 1, (k >> 2) & 1, (k >> 3) & 1];
                    let pick = |a: usize| if o[a] == 1 { f[a] } else { 1.0 - f[a] };
                    w[k as usize] = pick(0) * pick(1) * pick(2) * pick(3);
                    let r1 = (lo[0] as i32 + o[0]).min(n_rings - 1);
                    let r2 = (lo[2] as i32 + o[2]).min(n_rings - 1);
                    let c1 = (lo[1] as i32 + o[1]) % n_crystals;
                    let c2 = (lo[3] as i32 + o[3]) % n_crystals;
                    let a = (r1 * n_crystals + c1) as usize;
                    let b = (r2 * n_crystals + c2) as usize;
                    first[k as usize] = (a * nd + b) * n_tof;
                }
                let c2 = lor[2];
                let l2 = c2 + pl[3];
                let factor = pl[2] * (4.0 * p.step[1] * p.step[1] * l2 * l2 / (c2 * c2));
                for bin in 0..n_tof {
                    let mut sum = 0.0f32;
                    for k in 0..16 {
                        sum += w[k] * pairs[first[k] + bin];
                    }
                    out[bin * nt + t] = sum * factor;
                }
            }
        });
}
