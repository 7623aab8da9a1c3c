//! Per-sample FBP and FDK weights: angular integration step, redundancy (full scan, offset
//! detector, Parker short scan) and the fan-beam cosine pre-weight, as one `[view, col]` array.

use crate::error::{Error, Result};
use crate::geometry::{DetectorShape, FanBeam, Geometry};
use std::f64::consts::PI;

/// Weights `[view, col]` and the filter's sampling step τ (mm, or radians for an arc).
pub(crate) struct FbpWeights {
    pub weights: Vec<f32>,
    pub tau: f64,
    pub arc: bool,
}

/// Views sorted around a circle of `period` radians, each given half the gap to each neighbour.
struct CircularCover {
    /// Per view (input order), its share of the circle in radians.
    step: Vec<f64>,
    /// The largest gap between neighbours, radians.
    max_gap: f64,
    /// The median gap, radians.
    median_gap: f64,
    /// Input index of the view that follows the largest gap.
    after_max_gap: usize,
}

fn circular_cover(angles: &[f64], period: f64) -> CircularCover {
    let n = angles.len();
    let wrapped: Vec<f64> = angles.iter().map(|a| a.rem_euclid(period)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| wrapped[a].total_cmp(&wrapped[b]));
    let gap_after: Vec<f64> = (0..n)
        .map(|i| {
            let next = if i + 1 < n {
                wrapped[order[i + 1]]
            } else {
                wrapped[order[0]] + period
            };
            next - wrapped[order[i]]
        })
        .collect();
    let mut step = vec![0.0; n];
    for i in 0..n {
        let before = gap_after[(i + n - 1) % n];
        step[order[i]] = (before + gap_after[i]) / 2.0;
    }
    let (imax, &max_gap) = gap_after
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .expect("non-empty");
    let mut sorted = gap_after.clone();
    sorted.sort_by(f64::total_cmp);
    CircularCover {
        step,
        max_gap,
        median_gap: sorted[n / 2],
        after_max_gap: order[(imax + 1) % n],
    }
}

fn is_complete(cover: &CircularCover, n: usize) -> bool {
    n > 1 && cover.max_gap <= 3.0 * cover.median_gap + 1e-9
}

/// Computes the FBP weights of `geometry`.
///
/// # Errors
/// [`Error::InvalidGeometry`] when the views do not cover what FBP needs: 180° for parallel
/// beam, 180° plus the fan angle for fan beam.
pub(crate) fn fbp_weights(geometry: &Geometry) -> Result<FbpWeights> {
    match geometry {
        Geometry::Parallel(g) => {
            let cover = circular_cover(g.angles(), PI);
            if !is_complete(&cover, g.angles().len()) {
                return Err(Error::InvalidGeometry(format!(
                    "parallel-beam FBP needs views covering 180°; these leave a gap of {:.1}° (typical step {:.2}°)",
                    cover.max_gap.to_degrees(),
                    cover.median_gap.to_degrees()
                )));
            }
            let n_cols = g.columns().n_cols;
            let weights = cover
                .step
                .iter()
                .flat_map(|&s| std::iter::repeat_n(s as f32, n_cols))
                .collect();
            Ok(FbpWeights {
                weights,
                tau: g.columns().spacing,
                arc: false,
            })
        }
        Geometry::Fan(f) => fan_weights(f),
    }
}

fn fan_weights(f: &FanBeam) -> Result<FbpWeights> {
    let cols = f.columns();
    let dso = f.source_to_center();
    let dsd = f.source_to_detector();
    let gammas: Vec<f64> = (0..cols.n_cols)
        .map(|k| f.fan_angle(cols.position(k)))
        .collect();
    let pre: Vec<f64> = match f.detector_shape() {
        DetectorShape::Flat => (0..cols.n_cols)
            .map(|k| {
                let s = cols.position(k) * dso / dsd;
                dso / (dso * dso + s * s).sqrt()
            })
            .collect(),
        DetectorShape::Arc => gammas.iter().map(|g| dso * g.cos()).collect(),
    };
    let (tau, arc) = match f.detector_shape() {
        DetectorShape::Flat => (cols.spacing * dso / dsd, false),
        DetectorShape::Arc => (cols.spacing / dsd, true),
    };
    let angular = redundancy_weights(f.angles(), &gammas, "fan-beam FBP")?;
    let weights = angular
        .chunks_exact(cols.n_cols)
        .flat_map(|row| row.iter().zip(&pre).map(|(w, p)| (w * p) as f32))
        .collect();
    Ok(FbpWeights { weights, tau, arc })
}

/// Per `[view, col]`, the angular integration step times the ray's redundancy weight for a
/// divergent beam whose source sits at `angles` (radians) and whose columns have fan angles
/// `gammas` (radians): over a full circle each ray is measured twice and counts one half, or,
/// with the detector offset to one side, by Wang's weights (`w(γ) + w(−γ) = 1` over the
/// columns both sides see, 1 beyond them); over a short scan by Parker's weights.
///
/// # Errors
/// [`Error::InvalidGeometry`] when the views cover less than 180° plus the fan angle, or a
/// short scan has an offset detector (no redundancy to weight with).
pub(crate) fn redundancy_weights(angles: &[f64], gammas: &[f64], what: &str) -> Result<Vec<f64>> {
    let cover = circular_cover(angles, 2.0 * PI);
    let g_min = gammas.iter().cloned().fold(f64::MAX, f64::min);
    let g_max = gammas.iter().cloned().fold(f64::MIN, f64::max);
    let half_col = if gammas.len() > 1 {
        (g_max - g_min) / (gammas.len() - 1) as f64 / 2.0
    } else {
        0.0
    };
    let offset = (g_max + g_min).abs() > half_col;
    let mut weights = Vec::with_capacity(angles.len() * gammas.len());
    if is_complete(&cover, angles.len()) {
        // Full scan: every ray is measured twice.
        let share: Vec<f64> = if offset {
            // The side that reaches further sees the overlap |γ| ≤ γₒ and beyond it alone.
            let (overlap, sign) = if g_max > -g_min {
                (-g_min, 1.0)
            } else {
                (g_max, -1.0)
            };
            gammas.iter().map(|&g| wang(sign * g, overlap)).collect()
        } else {
            vec![0.5; gammas.len()]
        };
        for &step in &cover.step {
            weights.extend(share.iter().map(|w| step * w));
        }
        return Ok(weights);
    }
    if offset {
        return Err(Error::InvalidGeometry(format!(
            "{what}: a short scan with an offset detector (fan angles {:.1}° to {:.1}°) leaves rays              measured once; expected a centred detector or a full 360° scan",
            g_min.to_degrees(),
            g_max.to_degrees()
        )));
    }
    // Short scan: Parker weights over the arc that starts after the largest gap.
    let start = angles[cover.after_max_gap];
    let rel: Vec<f64> = angles
        .iter()
        .map(|a| (a - start).rem_euclid(2.0 * PI))
        .collect();
    let span = rel.iter().cloned().fold(0.0, f64::max);
    let gamma_max = g_max.max(-g_min);
    let delta = (span - PI) / 2.0;
    if delta < gamma_max - cover.median_gap {
        return Err(Error::InvalidGeometry(format!(
            "{what} needs views over at least 180° + the fan angle ({:.1}°); these span {:.1}°",
            (PI + 2.0 * gamma_max).to_degrees(),
            span.to_degrees()
        )));
    }
    let delta = delta.max(gamma_max);
    let step = arc_steps(&rel);
    for (i, &beta) in rel.iter().enumerate() {
        weights.extend(gammas.iter().map(|&g| step[i] * parker(beta, g, delta)));
    }
    Ok(weights)
}

/// Zero columns to add to a detector of column `spacing` shifted by `offset` (mm) so that it is
/// symmetric about the central ray: `(the widened detector's offset, [before, after])`. The ramp
/// filter is not local: the filtered projection must be known where a half-fan detector
/// measured nothing for the redundant halves to cancel (RTK pads the same way).
pub(crate) fn symmetric_padding(offset: f64, spacing: f64) -> (f64, [usize; 2]) {
    let extra = (2.0 * offset.abs() / spacing - 1e-6).ceil().max(0.0) as usize;
    let shift = extra as f64 * spacing / 2.0;
    if extra == 0 {
        (offset, [0, 0])
    } else if offset > 0.0 {
        (offset - shift, [extra, 0])
    } else {
        (offset + shift, [0, extra])
    }
}

/// Wang's offset-detector weight for fan angle `gamma` when the detector sees `[−overlap,
/// overlap]` from both sides and `gamma > overlap` from this side only: `sin²(π/4·(1 +
/// γ/γₒ))` inside the overlap, 1 beyond it, 0 before it.
fn wang(gamma: f64, overlap: f64) -> f64 {
    if overlap <= 0.0 {
        return if gamma >= 0.0 { 1.0 } else { 0.0 };
    }
    let t = (gamma / overlap).clamp(-1.0, 1.0);
    (PI / 4.0 * (1.0 + t)).sin().powi(2)
}

/// Integration steps for views at `rel` (radians from the start of an open arc): half the
/// gap to each neighbour.
fn arc_steps(rel: &[f64]) -> Vec<f64> {
    let n = rel.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| rel[a].total_cmp(&rel[b]));
    let mut step = vec![0.0; n];
    for i in 0..n {
        let prev = if i > 0 {
            rel[order[i]] - rel[order[i - 1]]
        } else {
            0.0
        };
        let next = if i + 1 < n {
            rel[order[i + 1]] - rel[order[i]]
        } else {
            0.0
        };
        step[order[i]] = (prev + next) / 2.0;
    }
    step
}

/// Parker's short-scan weight (generalised to a scan of `π + 2δ`) for view `beta` (radians
/// from the start) and fan angle `gamma`. With the conventions' ray direction
/// `cos γ·d + sin γ·u`, the ray (β, γ) is measured again at (β + π − 2γ, −γ), and the two
/// weights sum to one.
pub(crate) fn parker(beta: f64, gamma: f64, delta: f64) -> f64 {
    let g = -gamma; // Parker's formula is written for the conjugate at β + π + 2γ.
    let s2 = |x: f64| x.sin().powi(2);
    if beta < 0.0 || beta > PI + 2.0 * delta {
        0.0
    } else if beta < 2.0 * (delta - g) {
        s2(PI / 4.0 * beta / (delta - g))
    } else if beta < PI - 2.0 * g {
        1.0
    } else {
        s2(PI / 4.0 * (PI + 2.0 * delta - beta) / (delta + g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parker_weights_of_conjugate_rays_sum_to_one() {
        let delta = 0.3;
        for i in 0..50 {
            let gamma = -0.29 + 0.58 * i as f64 / 49.0;
            for j in 0..200 {
                let beta = (PI + 2.0 * delta) * j as f64 / 199.0;
                let conj = beta + PI - 2.0 * gamma;
                let other = if conj <= PI + 2.0 * delta {
                    parker(conj, -gamma, delta)
                } else {
                    parker(beta - PI - 2.0 * gamma, -gamma, delta)
                };
                let sum = parker(beta, gamma, delta) + other;
                assert!((sum - 1.0).abs() < 1e-9, "β={beta} γ={gamma}: {sum}");
            }
        }
    }

    #[test]
    fn wang_weights_of_conjugate_rays_sum_to_one() {
        for i in 0..41 {
            let g = -0.1 + 0.2 * i as f64 / 40.0;
            assert!((wang(g, 0.1) + wang(-g, 0.1) - 1.0).abs() < 1e-12);
        }
        assert_eq!(wang(0.3, 0.1), 1.0);
        assert_eq!(wang(-0.3, 0.1), 0.0);
        // An offset detector over a full circle: each column's weights sum to its share.
        let angles: Vec<f64> = (0..36).map(|i| i as f64 * PI / 18.0).collect();
        let gammas: Vec<f64> = (0..9).map(|k| -0.05 + 0.05 * k as f64).collect();
        let w = redundancy_weights(&angles, &gammas, "test").unwrap();
        assert!((w[0] - 0.0).abs() < 1e-12 && (w[8] - PI / 18.0).abs() < 1e-12);
        assert!(
            (w[0] + w[2] - PI / 18.0).abs() < 1e-12,
            "γ = ±0.05 share a ray"
        );
        assert!((w[1] - PI / 36.0).abs() < 1e-12, "γ = 0 counts one half");
        let short: Vec<f64> = (0..20).map(|i| i as f64 * 0.2).collect();
        assert!(redundancy_weights(&short, &gammas, "test").is_err());
    }

    #[test]
    fn circular_cover_of_uniform_views() {
        let angles: Vec<f64> = (0..8).map(|i| i as f64 * PI / 8.0).collect();
        let c = circular_cover(&angles, PI);
        assert!(c.step.iter().all(|s| (s - PI / 8.0).abs() < 1e-12));
        let full: Vec<f64> = (0..16).map(|i| i as f64 * PI / 8.0).collect();
        let c2 = circular_cover(&full, PI);
        assert!(
            (c2.step.iter().sum::<f64>() - PI).abs() < 1e-12,
            "360° data shares 180°"
        );
        let limited: Vec<f64> = (0..8).map(|i| i as f64 * PI / 16.0).collect();
        assert!(!is_complete(&circular_cover(&limited, PI), 8));
    }
}
