//! CPU twin of `shaders/sss_integrals.wgsl`: same bindings, same arithmetic, rayon over the
//! (detector, scatter point) legs in place of the dispatch grid.

use super::shared::sss::sss_taps;
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
    let n = [p.nx as f32, p.ny as f32, p.nz as f32];
    integrals[..p.len as usize]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, out)| {
            let s = points[i % p.n_points as usize];
            let d = detectors[i / p.n_points as usize];
            let q0: [f32; 3] = std::array::from_fn(|k| (s[k] - p.origin[k]) * p.inv_spacing[k]);
            let dq: [f32; 3] = std::array::from_fn(|k| (d[k] - s[k]) * p.inv_spacing[k]);
            let mut l_out = 1.0f32;
            for k in 0..3 {
                if dq[k] != 0.0 {
                    l_out = l_out.min(((-0.5 - q0[k]) / dq[k]).max((n[k] - 0.5 - q0[k]) / dq[k]));
                }
            }
            let l_out = l_out.max(0.0);
            let (ex, ey, ez) = (d[0] - s[0], d[1] - s[1], d[2] - s[2]);
            let length = (ex * ex + ey * ey + ez * ez).sqrt() * l_out;
            let samples = ((length / p.step[0]).ceil() as u32).max(1);
            let h = length / samples as f32;
            let (mut e, mut m) = (0.0f32, 0.0f32);
            for j in 0..samples {
                let l = l_out * ((j as f32 + 0.5) / samples as f32);
                let t = sss_taps(p, std::array::from_fn(|k| q0[k] + l * dq[k]));
                for k in 0..8 {
                    if t.idx[k] >= 0 {
                        e += t.w[k] * activity[t.idx[k] as usize];
                        m += t.w[k] * mu[t.idx[k] as usize];
                    }
                }
            }
            *out = [e * h, m * h];
        });
}
