//! CPU twin of `shaders/sss_integrals.wgsl`: same bindings, same arithmetic, rayon over the
//! (detector, scatter point) legs in place of the dispatch grid.

use super::shared::sss::{sss_leg, sss_sample, sss_taps};
use crate::backend::layout::SssParams;
use rayon::prelude::*;

/// Twin of `sss_integrals.wgsl`: `integrals[d · n_points + s] = (∫λ dl, ∫μ dl)` along the leg
/// from scatter point `s` to detector `d`, inside the coarse image.
pub(crate) fn sss_integrals(
    p: &SssParams,
    activity: &[f32],
    mu: &[f32],
    points: &[[f32; 4]],
    detectors: &[[f32; 4]],
    integrals: &mut [[f32; 2]],
) {
    let np = p.n_points as usize;
    integrals[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, out)| {
            let (s, d) = (points[i % np], detectors[i / np]);
            let leg = sss_leg(p, [s[0], s[1], s[2]], [d[0], d[1], d[2]]);
            let (mut e, mut m) = (0.0f32, 0.0f32);
            for j in 0..leg.samples {
                let t = sss_taps(p, sss_sample(&leg, j));
                for k in 0..8 {
                    if t.idx[k] >= 0 {
                        e += t.w[k] * activity[t.idx[k] as usize];
                        m += t.w[k] * mu[t.idx[k] as usize];
                    }
                }
            }
            *out = [e * leg.h, m * leg.h];
        });
}
