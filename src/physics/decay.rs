//! Radioactive decay for quantitation: a radionuclide's half-life and positron fraction (as the
//! acquisition's header or the user states them, never from a table of our own), the decay
//! over an interval and the decay correction of a frame.
//!
//! A frame that starts `t₀` seconds after a reference time and lasts `T` seconds counts
//! `∫ A(t) dt = A_ref · e^{−λ t₀} · T · (1 − e^{−λT}) / (λT)` decays, `λ = ln 2 / T½`, so its
//! count rate `/ T` is turned into the activity at the reference time by the **decay factor**
//! `e^{λ t₀} · λT / (1 − e^{−λT})` (DICOM's Decay Factor (0054,1321) when the reference is the
//! series start). The activity equals the frame's mean at `t₀ +` [`Radionuclide::frame_reference_offset_s`]
//! (DICOM's Frame Reference Time).

use crate::error::{Error, Result};

/// A radionuclide: name, half-life and the fraction of its decays that emit a positron
/// (Interfile's "isotope branching factor"; DICOM's Radionuclide Positron Fraction).
#[derive(Debug, Clone, PartialEq)]
pub struct Radionuclide {
    name: String,
    half_life_s: f64,
    positron_fraction: f64,
}

impl Radionuclide {
    /// A radionuclide of half-life `half_life_s` seconds whose decays emit a positron with
    /// probability `positron_fraction`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless the half-life is finite and > 0 and the positron
    /// fraction in (0, 1].
    pub fn new(name: &str, half_life_s: f64, positron_fraction: f64) -> Result<Self> {
        if !(half_life_s.is_finite() && half_life_s > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "{name}: half-life {half_life_s} s; expected a finite value > 0"
            )));
        }
        if !(positron_fraction > 0.0 && positron_fraction <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "{name}: positron fraction {positron_fraction}; expected a value in (0, 1]"
            )));
        }
        Ok(Self {
            name: name.to_string(),
            half_life_s,
            positron_fraction,
        })
    }

    /// The name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Half-life, s.
    pub fn half_life_s(&self) -> f64 {
        self.half_life_s
    }

    /// Positrons per decay.
    pub fn positron_fraction(&self) -> f64 {
        self.positron_fraction
    }

    /// Decay constant `λ = ln 2 / T½`, 1/s.
    pub fn decay_constant(&self) -> f64 {
        std::f64::consts::LN_2 / self.half_life_s
    }

    /// The fraction of the activity left after `t_s` seconds, `e^{−λt}` (above 1 for `t < 0`).
    pub fn remaining(&self, t_s: f64) -> f64 {
        (-self.decay_constant() * t_s).exp()
    }

    /// The mean activity over a frame of `duration_s` seconds relative to the activity at its
    /// start, `(1 − e^{−λT}) / (λT)` (without cancellation for short frames).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless the duration is finite and > 0.
    pub fn frame_mean(&self, duration_s: f64) -> Result<f64> {
        check_duration(duration_s)?;
        let x = self.decay_constant() * duration_s;
        Ok(-(-x).exp_m1() / x)
    }

    /// The factor that turns a frame's mean activity into the activity at a reference time:
    /// `e^{λ t₀} / `[`Self::frame_mean`], the frame starting `start_s` seconds after the
    /// reference (negative: before it) and lasting `duration_s`.
    ///
    /// # Errors
    /// As [`Self::frame_mean`]; [`Error::InvalidArgument`] for a start that is not finite.
    pub fn decay_factor(&self, start_s: f64, duration_s: f64) -> Result<f64> {
        if !start_s.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "frame start {start_s} s after the reference; expected a finite time"
            )));
        }
        Ok((self.decay_constant() * start_s).exp() / self.frame_mean(duration_s)?)
    }

    /// When, after the frame's start, the activity equals its mean over the frame:
    /// `−ln(frame_mean) / λ`, s (half the duration for a long-lived nuclide).
    ///
    /// # Errors
    /// As [`Self::frame_mean`].
    pub fn frame_reference_offset_s(&self, duration_s: f64) -> Result<f64> {
        Ok(-self.frame_mean(duration_s)?.ln() / self.decay_constant())
    }
}

/// Refuses a frame duration that is not finite and > 0.
pub(crate) fn check_duration(duration_s: f64) -> Result<()> {
    if duration_s.is_finite() && duration_s > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "frame duration {duration_s} s; expected a finite value > 0"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f18() -> Radionuclide {
        Radionuclide::new("F-18", 6586.2, 0.97).unwrap()
    }

    /// The closed forms against a midpoint-rule integral of the decay curve (10⁵ steps).
    #[test]
    fn frame_decay_matches_a_numerical_integral() {
        let n = f18();
        for (start, duration) in [
            (0.0, 600.0),
            (3600.0, 1800.0),
            (-120.0, 60.0),
            (0.0, 20000.0),
        ] {
            let steps = 100_000;
            let h = duration / steps as f64;
            let counts: f64 = (0..steps)
                .map(|k| n.remaining(start + (k as f64 + 0.5) * h) * h)
                .sum();
            let rate = counts / duration;
            let df = n.decay_factor(start, duration).unwrap();
            assert!(
                (rate * df - 1.0).abs() < 1e-9,
                "{start} {duration}: {}",
                rate * df
            );
            // The activity at the frame reference time is the mean.
            let t_ref = n.frame_reference_offset_s(duration).unwrap();
            assert!((n.remaining(start + t_ref) - rate).abs() < 1e-9 * rate);
            assert!(t_ref > 0.0 && t_ref < duration / 2.0);
        }
        // A very short frame: no cancellation, the factor tends to 1.
        let short = n.frame_mean(1e-9).unwrap();
        assert!((short - 1.0).abs() < 1e-12 && short < 1.0);
        assert!((n.frame_reference_offset_s(1e-6).unwrap() - 0.5e-6).abs() < 1e-12);
        assert!((n.remaining(6586.2) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn bad_data_are_refused() {
        assert!(Radionuclide::new("x", 0.0, 1.0).is_err());
        assert!(Radionuclide::new("x", f64::NAN, 1.0).is_err());
        assert!(Radionuclide::new("x", 10.0, 0.0).is_err());
        assert!(Radionuclide::new("x", 10.0, 1.5).is_err());
        let n = f18();
        for d in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            let e = n.frame_mean(d).unwrap_err().to_string();
            assert!(e.contains("frame duration"), "{e}");
        }
        assert!(n.decay_factor(f64::NAN, 10.0).is_err());
    }
}
