//! CPU twin of `shaders/sss_pairs.wgsl`: same bindings, same arithmetic, rayon over the
//! detector pairs in place of the dispatch grid.

use crate::backend::layout::SssParams;
use rayon::prelude::*;

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Twin of `sss_pairs.wgsl`: `pairs[a · n_detectors + b]`, the sum over scatter points of
/// detector pair `a < b` (0 for `b ≤ a` and for pairs seen too obliquely).
pub(crate) fn sss_pairs(
    p: &SssParams,
    points: &[[f32; 4]],
    detectors: &[[f32; 4]],
    integrals: &[[f32; 2]],
    table: &[[f32; 2]],
    pairs: &mut [f32],
) {
    let nd = p.n_detectors as usize;
    let np = p.n_points as usize;
    let last = (p.n_table - 1) as f32;
    pairs[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, out)| {
            let (a, b) = (i / nd, i % nd);
            *out = 0.0;
            if b <= a {
                return;
            }
            let da = [detectors[a][0], detectors[a][1], detectors[a][2]];
            let db = [detectors[b][0], detectors[b][1], detectors[b][2]];
            let na = [da[0] / p.step[1], da[1] / p.step[1], 0.0];
            let nb = [db[0] / p.step[1], db[1] / p.step[1], 0.0];
            let ab = [db[0] - da[0], db[1] - da[1], db[2] - da[2]];
            let l = dot(ab, ab).sqrt();
            let ca_line = -dot(ab, na) / l;
            let cb_line = dot(ab, nb) / l;
            if ca_line < p.min_cos[0] || cb_line < p.min_cos[0] {
                return;
            }
            let ia = &integrals[a * np..(a + 1) * np];
            let ib = &integrals[b * np..(b + 1) * np];
            let mut sum = 0.0f32;
            for (s, pt) in points[..np].iter().enumerate() {
                let va = [da[0] - pt[0], da[1] - pt[1], da[2] - pt[2]];
                let vb = [db[0] - pt[0], db[1] - pt[1], db[2] - pt[2]];
                let ra2 = dot(va, va);
                let rb2 = dot(vb, vb);
                let ra = ra2.sqrt();
                let rb = rb2.sqrt();
                let cos_theta = -dot(va, vb) / (ra * rb);
                let u = ((cos_theta + 1.0) * 0.5 * last).clamp(0.0, last);
                let j = (u as usize).min(p.n_table as usize - 2);
                let f = u - j as f32;
                let g = [
                    table[j][0] + (table[j + 1][0] - table[j][0]) * f,
                    table[j][1] + (table[j + 1][1] - table[j][1]) * f,
                ];
                let cos_a = dot(va, na) / ra;
                let cos_b = dot(vb, nb) / rb;
                let legs = ia[s][0] * (-ia[s][1] - g[1] * ib[s][1]).exp()
                    + ib[s][0] * (-ib[s][1] - g[1] * ia[s][1]).exp();
                sum += pt[3] * g[0] * cos_a * cos_b / (ra2 * rb2) * legs;
            }
            *out = sum;
        });
}
