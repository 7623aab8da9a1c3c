//! CPU twin of `shaders/sss_pairs.wgsl`: same bindings, same arithmetic, rayon over the
//! detector pairs in place of the dispatch grid.

use super::shared::sss::{sss_pair_seen, sss_point, sss_table};
use crate::backend::layout::SssParams;
use rayon::prelude::*;

/// Twin of `sss_pairs.wgsl`: adds onto `pairs[a · n_detectors + b]` the sum over scatter
/// points of detector pair `a < b` (nothing for `b ≤ a` and for pairs seen too obliquely).
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
    pairs[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, out)| {
            let (a, b) = (i / nd, i % nd);
            let da = [detectors[a][0], detectors[a][1], detectors[a][2]];
            let db = [detectors[b][0], detectors[b][1], detectors[b][2]];
            if b <= a || !sss_pair_seen(p, da, db) {
                return;
            }
            let ia = &integrals[a * np..(a + 1) * np];
            let ib = &integrals[b * np..(b + 1) * np];
            let mut sum = 0.0f32;
            for (s, pt) in points[..np].iter().enumerate() {
                let o = sss_point(p, da, db, [pt[0], pt[1], pt[2]]);
                let g = sss_table(p, table, o.u);
                if g[0] <= 0.0 {
                    continue;
                }
                let legs = ia[s][0] * (-ia[s][1] - g[1] * ib[s][1]).exp()
                    + ib[s][0] * (-ib[s][1] - g[1] * ia[s][1]).exp();
                sum += pt[3] * g[0] * o.geometry * legs;
            }
            *out += sum;
        });
}
