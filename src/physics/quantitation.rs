//! From a reconstructed PET frame to activity concentration (Bq/mL) and SUV.
//!
//! A frame's image holds the counts the model explains (emissions × the system's detection
//! probabilities, corrected for attenuation, normalisation, randoms and scatter as applied);
//! its unit depends on the scanner, the layout and the projector, not on the voxel size. The
//! **calibration** ([`PetCalibration`]) is the scanner's factor from that unit per second to
//! Bq/mL of a pure positron emitter, measured once with a phantom of known concentration
//! ([`PetCalibration::from_phantom`]), as a site calibrates its scanner against its dose
//! calibrator. A frame then reads
//!
//! `C (Bq/mL at the reference time) = image × factor × decay factor / (T × positron fraction × live fraction)`
//!
//! with `T` the frame's duration, the decay factor of [`Radionuclide::decay_factor`] and the
//! live fraction the dead-time correction (1 where none is applied).
//!
//! **SUV** ([`SuvInputs`]): body-weight SUV `= C × weight (g) / injected activity decayed to the
//! reference time` (g/mL), the reference being the scan start as the QIBA FDG-PET profile
//! has it; lean-body-mass SUV (SUL) with the Janmahasatian et al. (2005) lean body mass
//! `9270·W / (6680 + 216·BMI)` (male), `9270·W / (8780 + 244·BMI)` (female), W in kg.

use super::decay::{Radionuclide, check_duration};
use crate::error::{Error, Result};

/// A scanner's calibration: Bq·s/mL of a pure positron emitter per image unit (a frame's
/// image divided by its duration, decay-corrected, gives Bq/mL when multiplied by it).
#[derive(Debug, Clone, PartialEq)]
pub struct PetCalibration {
    factor: f64,
}

fn positive(value: f64, what: &str) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidArgument(format!(
            "{what} {value}; expected a finite value > 0"
        )))
    }
}

impl PetCalibration {
    /// A calibration of `factor` Bq·s/mL per image unit (for a pure positron emitter).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless the factor is finite and > 0.
    pub fn new(factor: f64) -> Result<Self> {
        Ok(Self {
            factor: positive(factor, "calibration factor")?,
        })
    }

    /// The factor, Bq·s/mL per image unit.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The calibration that makes a phantom read its known concentration: `mean_image` the
    /// reconstruction's mean over a uniform region (in the image's unit, same settings as the
    /// studies it will calibrate), `concentration_bq_ml` the region's activity concentration
    /// at the phantom's reference time (the dose calibrator's reading divided by the volume),
    /// the frame starting `frame_start_s` after that reference and lasting `duration_s`, of
    /// `nuclide`, with `live_fraction` of the counts kept by the electronics (1 when none is
    /// corrected).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a mean or concentration that is not finite and > 0, a
    /// frame that is not ([`Radionuclide::decay_factor`]), a live fraction outside (0, 1].
    pub fn from_phantom(
        mean_image: f64,
        concentration_bq_ml: f64,
        nuclide: &Radionuclide,
        frame_start_s: f64,
        duration_s: f64,
        live_fraction: f64,
    ) -> Result<Self> {
        positive(mean_image, "phantom's mean image value")?;
        positive(concentration_bq_ml, "phantom's concentration (Bq/mL)")?;
        let unit = ActivityScale::new(
            &Self { factor: 1.0 },
            nuclide,
            frame_start_s,
            duration_s,
            live_fraction,
        )?;
        Self::new(concentration_bq_ml / (mean_image * unit.bq_ml_per_unit))
    }
}

/// What turns one frame's image into Bq/mL at a reference time ([`ActivityScale::new`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityScale {
    /// Bq/mL at the reference time per image unit: multiplies the image.
    pub bq_ml_per_unit: f64,
    /// The decay factor included (DICOM Decay Factor (0054,1321) when the reference is the
    /// series start).
    pub decay_factor: f64,
    /// When the activity equals the frame's mean, s after the frame's start (DICOM Frame
    /// Reference Time, relative to the series start).
    pub frame_reference_offset_s: f64,
}

impl ActivityScale {
    /// The scale of a frame of `nuclide` starting `frame_start_s` after the reference time and
    /// lasting `duration_s`, with `live_fraction` of its counts kept (dead time; 1 when not
    /// corrected), under `calibration`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a duration or start that is not finite (duration > 0),
    /// a live fraction outside (0, 1].
    pub fn new(
        calibration: &PetCalibration,
        nuclide: &Radionuclide,
        frame_start_s: f64,
        duration_s: f64,
        live_fraction: f64,
    ) -> Result<Self> {
        check_duration(duration_s)?;
        if !(live_fraction > 0.0 && live_fraction <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "live fraction {live_fraction}; expected a value in (0, 1]"
            )));
        }
        let decay_factor = nuclide.decay_factor(frame_start_s, duration_s)?;
        Ok(Self {
            bq_ml_per_unit: calibration.factor * decay_factor
                / (duration_s * nuclide.positron_fraction() * live_fraction),
            decay_factor,
            frame_reference_offset_s: nuclide.frame_reference_offset_s(duration_s)?,
        })
    }
}

/// Sex, for the lean body mass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
}

/// The lean body mass (kg) of Janmahasatian et al. (Clin Pharmacokinet 2005;44:1051–65), as
/// PERCIST uses it for SUL.
///
/// # Errors
/// [`Error::InvalidArgument`] for a weight or height that is not finite and > 0.
pub fn lean_body_mass_kg(weight_kg: f64, height_m: f64, sex: Sex) -> Result<f64> {
    positive(weight_kg, "patient's weight (kg)")?;
    positive(height_m, "patient's height (m)")?;
    let bmi = weight_kg / (height_m * height_m);
    Ok(match sex {
        Sex::Male => 9270.0 * weight_kg / (6680.0 + 216.0 * bmi),
        Sex::Female => 9270.0 * weight_kg / (8780.0 + 244.0 * bmi),
    })
}

/// What SUV needs: the patient's weight (and height and sex for SUL) and the injection.
#[derive(Debug, Clone, PartialEq)]
pub struct SuvInputs {
    /// Weight, kg.
    pub weight_kg: f64,
    /// Height, m (SUL only).
    pub height_m: Option<f64>,
    /// Sex (SUL only).
    pub sex: Option<Sex>,
    /// Injected activity at the injection time, Bq (net of the residue in the syringe).
    pub injected_activity_bq: f64,
    /// The injection, seconds since 1970-01-01 00:00 on the site's clock (no zone).
    pub injection_s: f64,
}

impl SuvInputs {
    /// Refuses a weight, activity or height that is not finite and > 0, an injection time
    /// that is not finite.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the value.
    pub fn check(&self) -> Result<()> {
        positive(self.weight_kg, "patient's weight (kg)")?;
        positive(self.injected_activity_bq, "injected activity (Bq)")?;
        if let Some(h) = self.height_m {
            positive(h, "patient's height (m)")?;
        }
        if !self.injection_s.is_finite() {
            return Err(Error::InvalidArgument(
                "the injection time is not a finite time".into(),
            ));
        }
        Ok(())
    }

    /// The injected activity decayed to `reference_s` (same clock), Bq.
    fn activity_at(&self, nuclide: &Radionuclide, reference_s: f64) -> Result<f64> {
        self.check()?;
        Ok(self.injected_activity_bq * nuclide.remaining(reference_s - self.injection_s))
    }

    /// Body-weight SUV per Bq/mL (g/mL per Bq/mL) of an image decay-corrected to
    /// `reference_s`.
    ///
    /// # Errors
    /// As [`Self::check`].
    pub fn bw_scale(&self, nuclide: &Radionuclide, reference_s: f64) -> Result<f64> {
        Ok(self.weight_kg * 1000.0 / self.activity_at(nuclide, reference_s)?)
    }

    /// Lean-body-mass SUV (SUL) per Bq/mL, when height and sex are known.
    ///
    /// # Errors
    /// As [`Self::check`].
    pub fn lbm_scale(&self, nuclide: &Radionuclide, reference_s: f64) -> Result<Option<f64>> {
        let (Some(height), Some(sex)) = (self.height_m, self.sex) else {
            return Ok(None);
        };
        let lbm = lean_body_mass_kg(self.weight_kg, height, sex)?;
        Ok(Some(lbm * 1000.0 / self.activity_at(nuclide, reference_s)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f18() -> Radionuclide {
        Radionuclide::new("F-18", 6586.2, 0.9686).unwrap()
    }

    /// A phantom calibrated with one nuclide and frame reads a study of another nuclide,
    /// frame and live fraction at its own concentration.
    #[test]
    fn a_calibration_carries_across_nuclides_and_frames() {
        // The "scanner": counts per image unit = 1 / (sensitivity × duration), sensitivity
        // in image units per (positron/s per mL).
        let sensitivity = 3.7e-4;
        let image_of = |c_ref: f64, n: &Radionuclide, start: f64, duration: f64, live: f64| {
            // Positrons per mL over the frame, from a fine sum of the decay curve.
            let steps = 20_000;
            let h = duration / steps as f64;
            let positrons: f64 = (0..steps)
                .map(|k| c_ref * n.remaining(start + (k as f64 + 0.5) * h) * h)
                .sum::<f64>()
                * n.positron_fraction();
            positrons * live * sensitivity
        };
        let ge68 = Radionuclide::new("Ge-68", 271.05 * 86400.0, 0.891).unwrap();
        let mean = image_of(5000.0, &ge68, 86400.0, 1200.0, 0.9);
        let cal = PetCalibration::from_phantom(mean, 5000.0, &ge68, 86400.0, 1200.0, 0.9).unwrap();
        let n = f18();
        for (c, start, duration, live) in
            [(12_000.0, 3600.0, 900.0, 0.8), (300.0, 0.0, 7200.0, 1.0)]
        {
            let image = image_of(c, &n, start, duration, live);
            let s = ActivityScale::new(&cal, &n, start, duration, live).unwrap();
            let read = image * s.bq_ml_per_unit;
            assert!((read / c - 1.0).abs() < 1e-8, "{read} vs {c}");
        }
    }

    #[test]
    fn suv_from_weight_dose_and_times() {
        let n = f18();
        let inputs = SuvInputs {
            weight_kg: 70.0,
            height_m: Some(1.78),
            sex: Some(Sex::Male),
            injected_activity_bq: 370e6,
            injection_s: 1000.0,
        };
        // One half-life after the injection: half the dose is left.
        let bw = inputs.bw_scale(&n, 1000.0 + 6586.2).unwrap();
        assert!((bw - 70_000.0 / 185e6).abs() < 1e-9 * bw);
        // 110 kg, 1.78 m man: BMI 34.72, LBM 9270·110 / (6680 + 216·34.72) = 71.9 kg.
        let lbm = lean_body_mass_kg(110.0, 1.78, Sex::Male).unwrap();
        assert!((lbm - 71.91).abs() < 0.01, "{lbm}");
        let lbm_f = lean_body_mass_kg(60.0, 1.65, Sex::Female).unwrap();
        let bmi = 60.0 / (1.65f64 * 1.65);
        assert!((lbm_f - 9270.0 * 60.0 / (8780.0 + 244.0 * bmi)).abs() < 1e-9);
        let sul = inputs.lbm_scale(&n, 1000.0).unwrap().unwrap();
        let lbm70 = lean_body_mass_kg(70.0, 1.78, Sex::Male).unwrap();
        assert!((sul - lbm70 * 1000.0 / 370e6).abs() < 1e-12);
        let no_height = SuvInputs {
            height_m: None,
            ..inputs.clone()
        };
        assert_eq!(no_height.lbm_scale(&n, 1000.0).unwrap(), None);
        for bad in [
            SuvInputs {
                weight_kg: -70.0,
                ..inputs.clone()
            },
            SuvInputs {
                injected_activity_bq: 0.0,
                ..inputs.clone()
            },
            SuvInputs {
                injection_s: f64::NAN,
                ..inputs.clone()
            },
        ] {
            assert!(bad.bw_scale(&n, 2000.0).is_err());
        }
        assert!(PetCalibration::new(-1.0).is_err());
        assert!(ActivityScale::new(&PetCalibration::new(1.0).unwrap(), &n, 0.0, 0.0, 1.0).is_err());
    }
}
