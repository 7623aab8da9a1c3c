//! PET image series (PT) with the factors SUV needs.

use std::path::Path;

use dicom_dictionary_std::tags;

use super::attrs::{Attrs, ReadLimits, open};
use super::series::{self, SeriesSelect, SliceVolume, scan};
use super::time::{date_time_seconds, dt_seconds, seconds};
use crate::error::{Error, Result};

/// What SUV needs from a PET series, as the file states it.
#[derive(Debug, Clone, PartialEq)]
pub struct SuvFactors {
    /// Units (0054,1001) of the rescaled voxels, e.g. `"BQML"`.
    pub units: Option<String>,
    /// Decay Correction (0054,1102): `"START"` (to the series start), `"ADMIN"`, `"NONE"`.
    pub decay_correction: Option<String>,
    /// Radionuclide Total Dose (0018,1074): injected activity, Bq.
    pub injected_activity_bq: Option<f64>,
    /// Radionuclide Half Life (0018,1075), s.
    pub half_life_s: Option<f64>,
    /// Injection time, seconds after midnight of the series date (from Radiopharmaceutical
    /// Start DateTime (0018,1078), else Start Time (0018,1072)); negative when the injection
    /// was on an earlier day.
    pub injection_time_s: Option<f64>,
    /// Series Time (0008,0031), seconds after midnight: the reference time of START decay
    /// correction.
    pub series_time_s: Option<f64>,
    /// Patient's Weight (0010,1030), kg.
    pub patient_weight_kg: Option<f64>,
}

impl SuvFactors {
    /// The factor that turns voxel values (Bq/mL) into SUVbw (g/mL):
    /// weight (g) / (injected activity (Bq) decayed to the reference time). With `START`
    /// decay correction the activity is decayed from injection to the series time; with
    /// `ADMIN` it is used as injected.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming what is missing or unsuitable (units other than BQML,
    /// no weight, no dose, no half-life or times when decay matters).
    pub fn suv_bw_scale(&self) -> Result<f64> {
        let need = |v: Option<f64>, what: &str| {
            v.filter(|x| x.is_finite() && *x > 0.0).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "SUVbw needs {what}, which the series does not give"
                ))
            })
        };
        match self.units.as_deref() {
            Some("BQML") => {}
            other => {
                return Err(Error::InvalidArgument(format!(
                    "SUVbw needs voxels in Bq/mL (Units BQML); the series' units are {other:?}"
                )));
            }
        }
        let weight_g = need(self.patient_weight_kg, "the patient's weight")? * 1000.0;
        let dose = need(self.injected_activity_bq, "the injected activity")?;
        let decayed = match self.decay_correction.as_deref() {
            Some("ADMIN") => dose,
            Some("START") => {
                let half_life = need(self.half_life_s, "the radionuclide half-life")?;
                let (Some(inj), Some(series)) = (self.injection_time_s, self.series_time_s) else {
                    return Err(Error::InvalidArgument(
                        "SUVbw needs the injection and series times for START decay correction"
                            .into(),
                    ));
                };
                dose * (-(series - inj) * std::f64::consts::LN_2 / half_life).exp()
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "SUVbw needs decay correction START or ADMIN; the series has {other:?}"
                )));
            }
        };
        Ok(weight_g / decayed)
    }
}

/// A PET image series: activity concentration (rescaled voxels, units in
/// [`SuvFactors::units`]) in patient coordinates, with the SUV factors.
#[derive(Debug, Clone)]
pub struct PetSeries {
    /// Rescaled voxels (each slice's own slope and intercept applied), grid and UIDs.
    pub volume: SliceVolume,
    /// Units, decay correction, dose, half-life, times and weight.
    pub suv: SuvFactors,
}

/// Reads one PET (PT) series from a folder or file: the largest, or the one `select` names.
/// Sorting and checks as for CT ([`super::read_ct_series`]).
///
/// # Errors
/// [`Error::Dicom`] / [`Error::Io`] naming the file and attribute.
pub fn read_pet_series(
    path: &Path,
    select: &SeriesSelect,
    limits: &ReadLimits,
) -> Result<PetSeries> {
    let found = scan(path, limits)?;
    let series = series::select(&found, path, "PT", select)?;
    let volume = series::read_slices(series, limits)?;
    let file = &volume.files[0];
    let head = open(file, limits, false)?;
    let a = Attrs::new(&head, file);
    let radiopharmaceutical = a.items(tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE)?;
    let r = radiopharmaceutical.first().map(|r| Attrs::new(r, file));
    let series_date = a.opt_str(tags::SERIES_DATE)?;
    let series_time_s = a
        .opt_str(tags::SERIES_TIME)?
        .map(|t| seconds(file, &t))
        .transpose()?;
    let injection_time_s = match r {
        None => None,
        Some(r) => match r.opt_str(tags::RADIOPHARMACEUTICAL_START_DATE_TIME)? {
            Some(dt) if dt.trim().len() >= 8 => {
                // Seconds after midnight of the series date (of the injection's own date
                // when the series has none).
                let day = series_date
                    .as_deref()
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or(&dt.trim()[..8]);
                Some(dt_seconds(file, &dt)? - date_time_seconds(file, day, "00")?)
            }
            _ => r
                .opt_str(tags::RADIOPHARMACEUTICAL_START_TIME)?
                .map(|t| seconds(file, &t))
                .transpose()?,
        },
    };
    let field = |tag| r.map(|r| r.opt_f64(tag)).transpose().map(Option::flatten);
    Ok(PetSeries {
        suv: SuvFactors {
            units: a.opt_str(tags::UNITS)?,
            decay_correction: a.opt_str(tags::DECAY_CORRECTION)?,
            injected_activity_bq: field(tags::RADIONUCLIDE_TOTAL_DOSE)?,
            half_life_s: field(tags::RADIONUCLIDE_HALF_LIFE)?,
            injection_time_s,
            series_time_s,
            patient_weight_kg: a.opt_f64(tags::PATIENT_WEIGHT)?,
        },
        volume,
    })
}
