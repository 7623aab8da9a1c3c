//! CPU twin of `shaders/sss_interpolate.wgsl`: same bindings, same arithmetic, rayon over the
//! lines of response in place of the dispatch grid.

use crate::backend::layout::SssParams;
use rayon::prelude::*;

/// Twin of `sss_interpolate.wgsl`: `scatter[view, plane, tof, t]`, interpolated from the
/// downsampled detectors' matrix `pairs` (`n_tof` bins per pair), times the line's factor and
/// weight.
pub(crate) fn sss_interpolate(
    p: &SssParams,
    lors: &[[f32; 4]],
    planes: &[[f32; 4]],
    pairs: &[f32],
    scatter: &mut [f32],
) {
    let (nt, npl, n_tof) = (p.n_tang as usize, p.n_planes as usize, p.n_tof as usize);
    let (n_rings, n_crystals) = (p.n_rings as i32, p.n_crystals as i32);
    scatter[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, out)| {
            let (t, bin) = (i % nt, (i / nt) % n_tof);
            let (plane, view) = ((i / (nt * n_tof)) % npl, i / (nt * n_tof * npl));
            let lor = lors[view * nt + t];
            let pl = planes[plane];
            let x = [pl[0], lor[0], pl[1], lor[1]];
            let lo = x.map(f32::floor);
            let f: [f32; 4] = std::array::from_fn(|k| x[k] - lo[k]);
            let mut sum = 0.0f32;
            for k in 0..16 {
                let o = [k & 1, (k >> 1) & 1, (k >> 2) & 1, (k >> 3) & 1];
                let pick = |a: usize| if o[a] == 1 { f[a] } else { 1.0 - f[a] };
                let w = pick(0) * pick(1) * pick(2) * pick(3);
                let r1 = (lo[0] as i32 + o[0]).min(n_rings - 1);
                let r2 = (lo[2] as i32 + o[2]).min(n_rings - 1);
                let c1 = (lo[1] as i32 + o[1]) % n_crystals;
                let c2 = (lo[3] as i32 + o[3]) % n_crystals;
                let a = (r1 * n_crystals + c1) as usize;
                let b = (r2 * n_crystals + c2) as usize;
                sum += w * pairs[(a * p.n_detectors as usize + b) * n_tof + bin];
            }
            let c2 = lor[2];
            let l2 = c2 + pl[3];
            *out = sum * pl[2] * (4.0 * p.step[1] * p.step[1] * l2 * l2 / (c2 * c2));
        });
}
