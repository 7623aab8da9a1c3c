//! CPU twin of `shaders/sss_nodes.wgsl`: same bindings, same arithmetic, rayon over the
//! (detector, scatter point) legs in place of the dispatch grid.

use super::shared::sss::{SSS_NODES, SSS_SEGMENTS, SssTaps, sss_leg, sss_sample, sss_taps};
use crate::backend::layout::SssParams;
use rayon::prelude::*;

/// Twin of the shader's `emission`: the trilinear activity at the taps.
fn emission(t: &SssTaps, activity: &[f32]) -> f32 {
    let mut v = 0.0f32;
    for k in 0..8 {
        if t.idx[k] >= 0 {
            v += t.w[k] * activity[t.idx[k] as usize];
        }
    }
    v
}

/// Twin of `sss_nodes.wgsl`: `nodes[(d · n_points + s) · SSS_NODES ..]`, the emission along the
/// leg from scatter point `s` to detector `d` as point masses `(∫λ dl / 2, distance mm)`, two
/// per run of the profile.
pub(crate) fn sss_nodes(
    p: &SssParams,
    activity: &[f32],
    points: &[[f32; 4]],
    detectors: &[[f32; 4]],
    nodes: &mut [[f32; 2]],
) {
    let np = p.n_points as usize;
    nodes[..p.len as usize * SSS_NODES]
        .par_chunks_mut(SSS_NODES)
        .enumerate()
        .for_each(|(i, out)| {
            let (s, d) = (points[i % np], detectors[i / np]);
            let leg = sss_leg(p, [s[0], s[1], s[2]], [d[0], d[1], d[2]]);
            let value = |j: u32| emission(&sss_taps(p, sss_sample(&leg, j)), activity);
            let (mut first, mut last) = (leg.samples, 0u32);
            for j in 0..leg.samples {
                if value(j) > 0.0 {
                    first = first.min(j);
                    last = j;
                }
            }
            let mut m = [[0.0f32; 3]; SSS_SEGMENTS];
            if first < leg.samples {
                let span = (last - first + 1) as f32;
                for j in first..=last {
                    let v = value(j);
                    let x = (j - first) as f32 * leg.h;
                    let g = (((j - first) as f32 * SSS_SEGMENTS as f32 / span) as usize)
                        .min(SSS_SEGMENTS - 1);
                    m[g][0] += v;
                    m[g][1] += v * x;
                    m[g][2] += v * x * x;
                }
            }
            let origin = (first as f32 + 0.5) * leg.h;
            for (g, m) in m.iter().enumerate() {
                let (mut lo, mut hi) = ([0.0f32; 2], [0.0f32; 2]);
                if m[0] > 0.0 {
                    let mean = m[1] / m[0];
                    let spread =
                        ((m[2] / m[0] - mean * mean).max(0.0) + leg.h * leg.h / 12.0).sqrt();
                    let half = 0.5 * m[0] * leg.h;
                    lo = [half, origin + mean - spread];
                    hi = [half, origin + mean + spread];
                }
                out[2 * g] = lo;
                out[2 * g + 1] = hi;
            }
        });
}
