//! Randoms from delayed coincidences, variance-reduced through per-crystal quantities:
//!
//! - **ML singles** ([`ml_singles`], [`randoms_from_singles`]; the default): the delayeds of a
//!   crystal pair (a, b) are modelled as `s_a · s_b`, the singles `s` fitted by maximum
//!   likelihood (Poisson) to the delayeds' fan sums over the acquisition's own crystal pairs
//!   (Defrise et al. 1991; as STIR's `ML_singles`). At the fit, the model holds exactly the
//!   delayeds counted, pair set by pair set, and it follows crystals whose fans differ (block
//!   gaps, the ends of the rings), which the fan-sum product does not.
//! - **Fan sums** ([`randoms_from_fan_sums`]; Casey & Hoffman 1986): `c · F_a · F_b`, `F` each
//!   crystal's delayeds summed over all its coincidences, `c` such that the estimate holds as
//!   many delayeds as were counted in the layout.
//!
//! Both are smooth where the delayed sinogram is a few counts per bin.

use crate::error::{Error, Result};
use crate::geometry::pet::SinogramLayout;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// Fixed-point iterations of [`ml_singles`] at most; it stops earlier once no single changes
/// by more than [`TOLERANCE`] (relative).
const MAX_ITERATIONS: usize = 500;
const TOLERANCE: f64 = 1e-9;

/// Checks that `per_crystal` holds one value per crystal of `layout`'s scanner, each finite and
/// ≥ 0 (`what` names them).
fn check_per_crystal(layout: &SinogramLayout, per_crystal: &[f64], what: &str) -> Result<()> {
    let s = layout.scanner();
    let crystals = s.crystals_per_ring() as usize * s.rings() as usize;
    if per_crystal.len() != crystals {
        return Err(Error::InvalidArgument(format!(
            "{} {what}; the {} has {crystals} crystals",
            per_crystal.len(),
            s.name()
        )));
    }
    if let Some(v) = per_crystal.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "{what} hold {v}; expected finite values ≥ 0"
        )));
    }
    Ok(())
}

/// `Σ v_a · v_b` over the crystal pairs of every bin of `layout` (its shape without TOF), `v`
/// one value per crystal (`ring · crystals_per_ring + crystal`).
fn pair_products(layout: &SinogramLayout, v: &[f64]) -> Vec<f64> {
    let plain = layout.clone().without_tof();
    let n = plain.scanner().crystals_per_ring() as usize;
    let (planes, tang) = (plain.planes(), plain.tangential());
    let ring_pairs: Vec<Vec<(u32, u32)>> = (0..planes).map(|p| plain.ring_pairs(p)).collect();
    let mut out = vec![0.0f64; plain.len()];
    out.par_chunks_mut((planes * tang) as usize)
        .enumerate()
        .for_each(|(view, chunk)| {
            for plane in 0..planes {
                for tangential in 0..tang {
                    let t = tangential as i32 - tang as i32 / 2;
                    let mut sum = 0.0;
                    for j in 0..plain.view_mashing() {
                        let (c1, c2) = plain.crystals_of(view as u32 * plain.view_mashing() + j, t);
                        for &(r1, r2) in &ring_pairs[plane as usize] {
                            sum +=
                                v[r1 as usize * n + c1 as usize] * v[r2 as usize * n + c2 as usize];
                        }
                    }
                    chunk[(plane * tang + tangential) as usize] = sum;
                }
            }
        });
    out
}

fn as_sinogram(layout: &SinogramLayout, values: &[f64], scale: f64) -> ArrayD<f32> {
    let shape = layout.clone().without_tof().shape();
    let values: Vec<f32> = values.iter().map(|v| (v * scale) as f32).collect();
    ArrayD::from_shape_vec(IxDyn(&shape), values).expect("layout shape")
}

/// The randoms estimate per bin of `layout` (its shape without TOF) from per-crystal delayed
/// fan sums `fan_sums[ring · crystals_per_ring + crystal]`, scaled to hold `total` counts
/// (the delayeds counted in the layout).
///
/// # Errors
/// [`Error::InvalidArgument`] when `fan_sums` does not hold one finite value ≥ 0 per crystal,
/// or `total` is negative or not finite.
pub fn randoms_from_fan_sums(
    layout: &SinogramLayout,
    fan_sums: &[f64],
    total: f64,
) -> Result<ArrayD<f32>> {
    check_per_crystal(layout, fan_sums, "fan sums")?;
    if !(total.is_finite() && total >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "{total} delayeds: expected a finite count ≥ 0"
        )));
    }
    let out = pair_products(layout, fan_sums);
    let sum: f64 = out.iter().sum();
    Ok(as_sinogram(
        layout,
        &out,
        if sum > 0.0 { total / sum } else { 0.0 },
    ))
}

/// The randoms per bin of `layout` (its shape without TOF) from singles `s` ([`ml_singles`]):
/// `Σ s_a · s_b` over each bin's crystal pairs.
///
/// # Errors
/// [`Error::InvalidArgument`] when `singles` does not hold one finite value ≥ 0 per crystal.
pub fn randoms_from_singles(layout: &SinogramLayout, singles: &[f64]) -> Result<ArrayD<f32>> {
    check_per_crystal(layout, singles, "singles")?;
    Ok(as_sinogram(layout, &pair_products(layout, singles), 1.0))
}

/// Singles `s` (one per crystal, `ring · crystals_per_ring + crystal`) whose products
/// `s_a · s_b` model the delayeds over the crystal pairs of `acquisition` (the layout the
/// events were recorded in: every pair it holds, as the list-mode file's own layout), by
/// maximum likelihood from the delayeds' fan sums `F_a = Σ_b d_ab` (each delayed counted for
/// both its crystals). The likelihood's stationary point is `s_a = F_a / Σ_{b ∈ fan(a)} s_b`;
/// each iteration moves to the geometric mean of the current singles and that step (the
/// plain step flips the scale every iteration), until no single changes by more than 1e-9.
/// Crystals without delayeds get 0. At the fit, `Σ_pairs s_a · s_b` equals the delayeds.
///
/// # Errors
/// [`Error::InvalidArgument`] when `fan_sums` does not hold one finite value ≥ 0 per crystal.
pub fn ml_singles(acquisition: &SinogramLayout, fan_sums: &[f64]) -> Result<Vec<f64>> {
    check_per_crystal(acquisition, fan_sums, "fan sums")?;
    let plain = acquisition.clone().without_tof();
    let (rings, n) = (
        plain.scanner().rings() as usize,
        plain.scanner().crystals_per_ring() as usize,
    );
    // The pairs are every transaxial pair (c₁, c₂) of an unmashed view and tangential
    // position with every ring pair (r₁, r₂) of a plane, r₁ with c₁: each crystal's partners
    // in either role.
    let mut ahead = vec![Vec::new(); n];
    let mut behind = vec![Vec::new(); n];
    let half = plain.tangential() as i32 / 2;
    for view in 0..plain.views() * plain.view_mashing() {
        for t in -half..half {
            let (c1, c2) = plain.crystals_of(view, t);
            ahead[c1 as usize].push(c2 as usize);
            behind[c2 as usize].push(c1 as usize);
        }
    }
    let mut ring_ahead = vec![Vec::new(); rings];
    let mut ring_behind = vec![Vec::new(); rings];
    for plane in 0..plain.planes() {
        for (r1, r2) in plain.ring_pairs(plane) {
            ring_ahead[r1 as usize].push(r2 as usize);
            ring_behind[r2 as usize].push(r1 as usize);
        }
    }
    // Σ_{b ∈ fan(a)} s_b for every crystal a.
    let fans_of = |s: &[f64]| -> Vec<f64> {
        let ring_sums = |partners: &[Vec<usize>]| -> Vec<f64> {
            (0..rings * n)
                .into_par_iter()
                .map(|i| partners[i / n].iter().map(|&r| s[r * n + i % n]).sum())
                .collect()
        };
        let (fwd, rev) = (ring_sums(&ring_ahead), ring_sums(&ring_behind));
        (0..rings * n)
            .into_par_iter()
            .map(|i| {
                let (r, c) = (i / n, i % n);
                ahead[c].iter().map(|&b| fwd[r * n + b]).sum::<f64>()
                    + behind[c].iter().map(|&b| rev[r * n + b]).sum::<f64>()
            })
            .collect()
    };
    let total: f64 = fan_sums.iter().sum();
    let mut s: Vec<f64> = fan_sums
        .iter()
        .map(|&f| f / total.max(f64::MIN_POSITIVE).sqrt())
        .collect();
    for _ in 0..MAX_ITERATIONS {
        let fans = fans_of(&s);
        let mut change = 0.0f64;
        for ((s, &f), &fan) in s.iter_mut().zip(fan_sums).zip(&fans) {
            let next = if f > 0.0 && fan > 0.0 {
                (*s * f / fan).sqrt()
            } else {
                0.0
            };
            if *s > 0.0 {
                change = change.max((next / *s - 1.0).abs());
            }
            *s = next;
        }
        if change < TOLERANCE {
            break;
        }
    }
    Ok(s)
}

/// How [`randoms_from_delayeds`] estimates randoms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RandomsEstimate {
    /// `s_a · s_b`, singles fitted by maximum likelihood ([`ml_singles`]).
    #[default]
    MlSingles,
    /// `c · F_a · F_b` ([`randoms_from_fan_sums`]).
    FanSums,
}

impl std::str::FromStr for RandomsEstimate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ml-singles" => Ok(Self::MlSingles),
            "fan-sums" => Ok(Self::FanSums),
            other => Err(Error::InvalidArgument(format!(
                "unknown randoms estimate {other:?}; expected \"ml-singles\" or \"fan-sums\""
            ))),
        }
    }
}

impl std::fmt::Display for RandomsEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MlSingles => "ML singles",
            Self::FanSums => "fan sums",
        })
    }
}

/// The randoms per bin of `layout` (its shape without TOF) from the delayeds of an acquisition
/// recorded in layout `acquisition` (a list-mode file's own): their per-crystal fan sums, and
/// `in_layout`, how many of them fall in `layout` (the fan-sum estimate is scaled to it; ML
/// singles hold it by construction where `layout` keeps every pair).
///
/// # Errors
/// As [`ml_singles`] and [`randoms_from_fan_sums`].
pub fn randoms_from_delayeds(
    acquisition: &SinogramLayout,
    layout: &SinogramLayout,
    fan_sums: &[f64],
    in_layout: f64,
    estimate: RandomsEstimate,
) -> Result<ArrayD<f32>> {
    match estimate {
        RandomsEstimate::MlSingles => {
            randoms_from_singles(layout, &ml_singles(acquisition, fan_sums)?)
        }
        RandomsEstimate::FanSums => randoms_from_fan_sums(layout, fan_sums, in_layout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::pet::PetScanner;

    /// Noise-free delayeds `s_a · s_b` over every pair of a span-1 layout (enumerated bin by
    /// bin through `SinogramLayout::pairs`, independently of the fit's fan structure): the fit
    /// returns the singles, and the randoms per bin, of the truth.
    #[test]
    fn ml_singles_recover_a_known_singles_model() {
        let scanner = PetScanner::new("t", 6, 40, 50.0, 0.0, 4.0).unwrap();
        let layout = SinogramLayout::new(scanner, 24, 1, 4, 1).unwrap();
        let (rings, n) = (6, 40);
        let truth: Vec<f64> = (0..rings * n)
            .map(|i| {
                1.0 + 0.5 * ((i * 7919) % 97) as f64 / 97.0 + if i % n == 5 { -0.9 } else { 0.0 }
            })
            .collect();
        let mut fan_sums = vec![0.0; rings * n];
        let mut delayeds = 0.0;
        for view in 0..layout.views() {
            for plane in 0..layout.planes() {
                for tangential in 0..layout.tangential() {
                    let bin = crate::geometry::pet::SinogramBin {
                        view,
                        plane,
                        tof: 0,
                        tangential,
                    };
                    for ((r1, c1), (r2, c2)) in layout.pairs(bin) {
                        let (a, b) = (r1 as usize * n + c1 as usize, r2 as usize * n + c2 as usize);
                        let d = truth[a] * truth[b];
                        fan_sums[a] += d;
                        fan_sums[b] += d;
                        delayeds += d;
                    }
                }
            }
        }
        let s = ml_singles(&layout, &fan_sums).unwrap();
        let worst = s
            .iter()
            .zip(&truth)
            .map(|(e, t)| (e / t - 1.0).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "singles off by {worst:e}");
        let ml = randoms_from_singles(&layout, &s).unwrap();
        let exact = randoms_from_singles(&layout, &truth).unwrap();
        let total: f64 = ml.iter().map(|&v| v as f64).sum();
        assert!(
            (total / delayeds - 1.0).abs() < 1e-6,
            "{total} vs {delayeds}"
        );
        let bin_error = |r: &ArrayD<f32>| {
            r.iter()
                .zip(exact.iter())
                .filter(|(_, e)| **e > 0.0)
                .map(|(v, e)| (*v as f64 / *e as f64 - 1.0).abs())
                .fold(0.0, f64::max)
        };
        assert!(bin_error(&ml) < 1e-5, "{}", bin_error(&ml));
        // The fan-sum product misses a crystal whose fan differs (here one weak crystal
        // per ring): the bias ML singles remove.
        let casey = randoms_from_fan_sums(&layout, &fan_sums, delayeds).unwrap();
        assert!(bin_error(&casey) > 0.01, "{}", bin_error(&casey));
        // Bad input: a typed error.
        assert!(ml_singles(&layout, &fan_sums[1..]).is_err());
        let mut nan = fan_sums.clone();
        nan[3] = f64::NAN;
        assert!(ml_singles(&layout, &nan).is_err());
    }
}
