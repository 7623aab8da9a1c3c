//! Dead time of a PET frame from its singles rates and the scanner's dead-time parameters,
//! as the Siemens Biograph mMR's normalisation states them (components 5 and 6, one value
//! per ring; [`crate::io::siemens_norm::MmrDeadTime`]).
//!
//! A crystal in a bucket whose blocks each count singles at `s` counts/s keeps the fraction
//!
//! ```text
//! f(s) = exp(s·τp / (1 + s·τnp)) / (1 + s·τnp)
//! ```
//!
//! of its events, `τp` and `τnp` its ring's paralysing and non-paralysing parameters (the mMR
//! stores `τp` negative: −1.116 µs, `τnp` 4.9·10⁻¹³ s, so that `f ≈ exp(−1.116 µs · s)`). A
//! coincidence between crystals `a` and `b` is kept with probability `f_a · f_b`. This is the
//! model NiftyPET applies to the mMR's norm (NiftyPET/NIPET, `niftypet/nipet/src/norm.cu`,
//! `dev_norm`: the bucket's mean singles rate halved, the rate per block of its two, in each
//! crystal's factor); to first order in `s` it is STIR's ECAT7 dead-time efficiency
//! `1 + t₁·s + t₂·s²` (UCL/STIR, `BinNormalisationFromECAT8.cxx`,
//! `get_dead_time_efficiency`, the rate per block of a singles unit), which STIR's ECAT8 reader
//! does not apply. Our code, those sources' facts.
//!
//! One live fraction per frame: with `m_ab` the prompts between buckets `a` and `b` and `F_a`
//! bucket `a`'s crystal factor (the mean of `f` over its rings), the frame lost
//! `Σ m_ab / (F_a F_b) − Σ m_ab` events, so its live fraction is
//!
//! ```text
//! L = Σ m_ab / Σ (m_ab / (F_a F_b))
//! ```
//!
//! the count-weighted harmonic mean of the coincidences' live fractions: dividing the frame's
//! counts by `L` restores what it would have counted without dead time. A per-line factor in
//! the normalisation would also correct the small differences between buckets (a few % of the
//! loss across a body); the quantitation takes one number, as it takes the calibration. The
//! rates are the frame's mean per bucket (NiftyPET's `buckets`), not a mean of `f` over time:
//! within a frame of a decaying tracer the two differ at second order.

use std::ops::Range;

use crate::error::{Error, Result};

/// The live fraction of one crystal whose block counts `block_rate_cps` singles per second,
/// its ring's paralysing and non-paralysing parameters `paralysing`, `non_paralysing` (s):
/// `exp(s·τp / (1 + s·τnp)) / (1 + s·τnp)` (see the module docs).
pub fn crystal_live_fraction(block_rate_cps: f64, paralysing: f64, non_paralysing: f64) -> f64 {
    let d = 1.0 + block_rate_cps * non_paralysing;
    (block_rate_cps * paralysing / d).exp() / d
}

/// What [`frame_live_fraction`] needs: a frame's singles per bucket, where the buckets lie,
/// the norm's ring parameters and the frame's prompts per pair of buckets.
#[derive(Debug, Clone, Copy)]
pub struct DeadTimeInputs<'a> {
    /// Per bucket, its mean singles rate over the frame, counts/s (all its blocks); `None`
    /// for a bucket that reported nothing, which then takes the mean of those that did.
    pub rates_cps: &'a [Option<f64>],
    /// Per bucket, the rings it covers.
    pub bucket_rings: &'a [Range<u32>],
    /// Blocks in a bucket (the mMR: 2): the model's rate is the bucket's over this.
    pub blocks_per_bucket: u32,
    /// Paralysing parameter per ring, s (the norm's component 5).
    pub paralysing: &'a [f32],
    /// Non-paralysing parameter per ring, s (the norm's component 6).
    pub non_paralysing: &'a [f32],
    /// Prompts per ordered pair of buckets, `[a · buckets + b]`.
    pub bucket_prompts: &'a [f64],
}

/// A frame's dead time.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameDeadTime {
    /// The fraction of the frame's coincidences the electronics kept, in (0, 1].
    pub live_fraction: f64,
    /// Per bucket, its crystals' live fraction `F` (a coincidence keeps `F_a · F_b`).
    pub bucket_live: Vec<f64>,
    /// The mean singles rate of the buckets that reported, counts/s per bucket.
    pub mean_rate_cps: f64,
    /// Buckets that reported.
    pub reporting: usize,
    /// The prompts that weighted the mean.
    pub prompts: f64,
}

/// The live fraction of a frame (the count-weighted harmonic mean of its coincidences' live
/// fractions, see the module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] when the inputs disagree in size (rings, buckets, pairs), no
/// bucket reported, a rate is negative or not finite, the frame has no prompts, or the
/// parameters give a crystal a live fraction that is not in (0, 1] (parameters of another
/// model or sign).
pub fn frame_live_fraction(i: &DeadTimeInputs<'_>) -> Result<FrameDeadTime> {
    let n = i.rates_cps.len();
    let bad = |m: String| Err(Error::InvalidArgument(m));
    if i.bucket_rings.len() != n || i.bucket_prompts.len() != n * n {
        return bad(format!(
            "dead time: {n} bucket rates, {} bucket ring ranges and {} bucket pairs (expected \
             {n} and {})",
            i.bucket_rings.len(),
            i.bucket_prompts.len(),
            n * n
        ));
    }
    let rings = i.paralysing.len();
    if i.non_paralysing.len() != rings
        || i.bucket_rings
            .iter()
            .any(|r| r.is_empty() || r.end as usize > rings)
    {
        return bad(format!(
            "dead time: {rings} paralysing and {} non-paralysing ring parameters for buckets \
             over rings up to {}",
            i.non_paralysing.len(),
            i.bucket_rings.iter().map(|r| r.end).max().unwrap_or(0)
        ));
    }
    if i.blocks_per_bucket == 0 {
        return bad("dead time: 0 blocks per bucket".into());
    }
    if let Some(r) = i
        .rates_cps
        .iter()
        .flatten()
        .find(|r| !(r.is_finite() && **r >= 0.0))
    {
        return bad(format!(
            "dead time: a singles rate of {r} counts/s; expected a finite value ≥ 0"
        ));
    }
    let reported: Vec<f64> = i.rates_cps.iter().flatten().copied().collect();
    if reported.is_empty() {
        return bad("dead time: no bucket reported its singles".into());
    }
    let mean_rate_cps = reported.iter().sum::<f64>() / reported.len() as f64;
    let mut bucket_live = Vec::with_capacity(n);
    for (b, (rate, rings)) in i.rates_cps.iter().zip(i.bucket_rings).enumerate() {
        let s = rate.unwrap_or(mean_rate_cps) / i.blocks_per_bucket as f64;
        let mut sum = 0.0;
        for r in rings.clone() {
            let (tp, tnp) = (i.paralysing[r as usize], i.non_paralysing[r as usize]);
            let f = crystal_live_fraction(s, tp as f64, tnp as f64);
            if !(f > 0.0 && f <= 1.0) || 1.0 + s * tnp as f64 <= 0.0 {
                return bad(format!(
                    "dead time: ring {r}'s parameters (paralysing {tp:e} s, non-paralysing \
                     {tnp:e} s) at {s:.0} singles/s per block (bucket {b}) give a live fraction \
                     of {f}, not in (0, 1]: not the mMR's model"
                ));
            }
            sum += f;
        }
        bucket_live.push(sum / rings.len() as f64);
    }
    let (mut counted, mut restored) = (0.0f64, 0.0f64);
    for (a, fa) in bucket_live.iter().enumerate() {
        for (b, fb) in bucket_live.iter().enumerate() {
            let m = i.bucket_prompts[a * n + b];
            counted += m;
            restored += m / (fa * fb);
        }
    }
    if !(counted > 0.0 && restored.is_finite()) {
        return bad("dead time: no prompts between the buckets to weight the live fraction".into());
    }
    Ok(FrameDeadTime {
        live_fraction: (counted / restored).min(1.0),
        bucket_live,
        mean_rate_cps,
        reporting: reported.len(),
        prompts: counted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed values (f64, exact to the last few ulp).
    const CLOSE: f64 = 1e-12;

    #[test]
    fn a_crystal_keeps_what_the_two_components_leave() {
        assert_eq!(crystal_live_fraction(0.0, -1e-6, 1e-6), 1.0);
        // exp(−0.1)
        let p = crystal_live_fraction(1e5, -1e-6, 0.0);
        assert!((p - 0.904_837_418_035_959_6).abs() < CLOSE, "{p}");
        // 1 / 1.1
        let np = crystal_live_fraction(1e5, 0.0, 1e-6);
        assert!((np - 0.909_090_909_090_909_1).abs() < CLOSE, "{np}");
        // exp(−0.1 / 1.1) / 1.1
        let both = crystal_live_fraction(1e5, -1e-6, 1e-6);
        assert!((both - 0.830_091_560_256_602).abs() < CLOSE, "{both}");
    }

    fn inputs<'a>(
        rates: &'a [Option<f64>],
        rings: &'a [Range<u32>],
        tp: &'a [f32],
        tnp: &'a [f32],
        prompts: &'a [f64],
    ) -> DeadTimeInputs<'a> {
        DeadTimeInputs {
            rates_cps: rates,
            bucket_rings: rings,
            blocks_per_bucket: 1,
            paralysing: tp,
            non_paralysing: tnp,
            bucket_prompts: prompts,
        }
    }

    #[test]
    fn the_frame_live_fraction_is_the_count_weighted_harmonic_mean() {
        // Bucket 0 at 10⁵ counts/s keeps F₀ = e^−0.1, bucket 1 is idle (F₁ = 1); prompts
        // 1 in (0, 0), 1 + 1 across, 1 in (1, 1): L = 4 / (1/F₀² + 2/F₀ + 1).
        let (rates, rings) = ([Some(1e5), Some(0.0)], [0..1, 1..2]);
        let (tp, tnp) = ([-1e-6f32, -1e-6], [0.0f32, 0.0]);
        let prompts = [1.0, 1.0, 1.0, 1.0];
        let d = frame_live_fraction(&inputs(&rates, &rings, &tp, &tnp, &prompts)).unwrap();
        let f0 = crystal_live_fraction(1e5, tp[0] as f64, 0.0);
        assert!((d.bucket_live[0] - f0).abs() < CLOSE);
        assert_eq!(d.bucket_live[1], 1.0);
        assert!(
            (d.live_fraction - 0.902_579_089_312_672_4).abs() < 1e-9,
            "{d:?}"
        );
        assert_eq!((d.reporting, d.prompts, d.mean_rate_cps), (2, 4.0, 5e4));
        // A bucket of two rings takes the mean of their factors; two blocks halve the rate.
        let (rates, both) = ([Some(2e5)], 0..2);
        let rings = std::slice::from_ref(&both);
        let (tp, tnp) = ([-1e-6f32, -2e-6], [0.0f32, 0.0]);
        let i = DeadTimeInputs {
            blocks_per_bucket: 2,
            ..inputs(&rates, rings, &tp, &tnp, &[1.0])
        };
        let d = frame_live_fraction(&i).unwrap();
        let mean = (crystal_live_fraction(1e5, tp[0] as f64, 0.0)
            + crystal_live_fraction(1e5, tp[1] as f64, 0.0))
            / 2.0;
        assert!((d.bucket_live[0] - mean).abs() < CLOSE);
        assert!((d.live_fraction - mean * mean).abs() < CLOSE);
    }

    #[test]
    fn a_silent_bucket_takes_the_mean_rate_and_bad_inputs_are_refused() {
        let (rings, tp, tnp) = ([0..1, 0..1], [-1e-6f32], [0.0f32]);
        let prompts = [0.0, 0.0, 0.0, 5.0];
        let rates = [Some(1e5), None];
        let d = frame_live_fraction(&inputs(&rates, &rings, &tp, &tnp, &prompts)).unwrap();
        assert!((d.live_fraction - (-0.2f64).exp()).abs() < 1e-7, "{d:?}");
        assert_eq!(d.reporting, 1);
        let refused = |rates: &[Option<f64>], tp: &[f32], prompts: &[f64]| {
            let e = frame_live_fraction(&inputs(rates, &rings, tp, &tnp, prompts)).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
            e.to_string()
        };
        assert!(refused(&[None, None], &tp, &prompts).contains("no bucket reported"));
        assert!(refused(&[Some(-1.0), None], &tp, &prompts).contains("≥ 0"));
        assert!(refused(&rates, &tp, &[0.0; 4]).contains("no prompts"));
        assert!(refused(&rates, &tp, &[1.0; 3]).contains("bucket pairs"));
        // A positive paralysing parameter would gain counts: not a dead time.
        assert!(refused(&rates, &[1e-6], &prompts).contains("not in (0, 1]"));
        assert!(refused(&rates, &[-1e-6, 0.0], &prompts).contains("ring parameters"));
    }
}
