//! CPU twin of `shaders/sss_pairs_tof.wgsl`: same bindings, same arithmetic, rayon over the
//! detector pairs in place of the dispatch grid.

use super::shared::sss::{SSS_FINE, SSS_NODES, sss_pair_seen, sss_point, sss_table};
use crate::backend::layout::SssParams;
use rayon::prelude::*;

/// Twin of the shader's `deposit`.
#[inline]
fn deposit(p: &SssParams, fine: &mut [f32; SSS_FINE], mass: f32, u: f32) {
    let last = (p.n_fine - 1) as f32;
    if mass > 0.0 && u >= 0.0 && u <= last {
        let j = (u as usize).min(p.n_fine as usize - 2);
        let f = u - j as f32;
        fine[j] += mass * (1.0 - f);
        fine[j + 1] += mass * f;
    }
}

/// Twin of `sss_pairs_tof.wgsl`: adds onto `pairs[(a · n_detectors + b) · n_tof + k]` detector
/// pair `a < b`'s scatter in TOF bin `k` (nothing for `b ≤ a` and for pairs seen too
/// obliquely).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sss_pairs_tof(
    p: &SssParams,
    points: &[[f32; 4]],
    detectors: &[[f32; 4]],
    integrals: &[[f32; 2]],
    nodes: &[[f32; 2]],
    table: &[[f32; 2]],
    kernel: &[f32],
    pairs: &mut [f32],
) {
    let (nd, np) = (p.n_detectors as usize, p.n_points as usize);
    let (n_tof, n_fine) = (p.n_tof as usize, p.n_fine as usize);
    pairs[..p.len as usize * n_tof]
        .par_chunks_mut(n_tof)
        .enumerate()
        .for_each(|(i, out)| {
            let (a, b) = (i / nd, i % nd);
            let da = [detectors[a][0], detectors[a][1], detectors[a][2]];
            let db = [detectors[b][0], detectors[b][1], detectors[b][2]];
            if b <= a || !sss_pair_seen(p, da, db) {
                return;
            }
            let mut fine = [0.0f32; SSS_FINE];
            let per_mm = 1.0 / p.fine_step;
            for (s, pt) in points[..np].iter().enumerate() {
                let o = sss_point(p, da, db, [pt[0], pt[1], pt[2]]);
                let g = sss_table(p, table, o.u);
                if g[0] <= 0.0 {
                    continue;
                }
                let (ia, ib) = (integrals[a * np + s], integrals[b * np + s]);
                let factor = pt[3] * g[0] * o.geometry;
                let wa = factor * (-ia[1] - g[1] * ib[1]).exp();
                let wb = factor * (-ib[1] - g[1] * ia[1]).exp();
                let centre = (0.5 * (o.ra - o.rb) - p.fine_first) * per_mm;
                let na = &nodes[(a * np + s) * SSS_NODES..][..SSS_NODES];
                let nb = &nodes[(b * np + s) * SSS_NODES..][..SSS_NODES];
                for (node_a, node_b) in na.iter().zip(nb) {
                    deposit(p, &mut fine, wa * node_a[0], centre - node_a[1] * per_mm);
                    deposit(p, &mut fine, wb * node_b[0], centre + node_b[1] * per_mm);
                }
            }
            for (k, o) in out.iter_mut().enumerate() {
                let row = &kernel[k * n_fine..(k + 1) * n_fine];
                let mut sum = 0.0f32;
                for (f, w) in fine[..n_fine].iter().zip(row) {
                    sum += f * w;
                }
                *o += sum;
            }
        });
}
