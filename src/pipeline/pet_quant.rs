//! Quantitation of a 3D PET frame: from the reconstruction's counts to Bq/mL decay-corrected
//! to the scan start, and the SUV factors, from the acquisition's header and what the user
//! gives (which wins). The arithmetic is [`crate::physics::quantitation`]'s.

use ndarray::ArrayView3;

use crate::error::{Error, Result};
use crate::io::acquisition::PetAcquisition;
use crate::physics::{ActivityScale, PetCalibration, Radionuclide, Sex, SuvInputs};

/// What [`super::reconstruct_pet`] needs to put a frame in Bq/mL and SUV, over what the
/// header says.
#[derive(Debug, Clone, Default)]
pub struct PetQuantitationOptions {
    /// The scanner's calibration ([`PetCalibration`]); without it the image stays in counts
    /// (units PROPCNTS) and no SUV is given.
    pub calibration: Option<PetCalibration>,
    /// The radionuclide, over the header's `isotope …` keys.
    pub nuclide: Option<Radionuclide>,
    /// Patient's weight, kg (SUV).
    pub weight_kg: Option<f64>,
    /// Patient's height, m (SUL).
    pub height_m: Option<f64>,
    /// Patient's sex (SUL).
    pub sex: Option<Sex>,
    /// Injected activity, Bq, over the header's.
    pub injected_activity_bq: Option<f64>,
    /// The injection, seconds since 1970-01-01 00:00 on the scanner's clock, over the
    /// header's.
    pub injection_s: Option<f64>,
    /// Fraction of the counts the electronics kept (dead time), in (0, 1]; 1 (none corrected)
    /// when not given.
    pub live_fraction: Option<f64>,
}

/// The quantitation applied to a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PetQuantitation {
    /// The radionuclide.
    pub nuclide: Radionuclide,
    /// Radiopharmaceutical, as the header names it.
    pub radiopharmaceutical: Option<String>,
    /// The scan's start (the decay reference), seconds since 1970-01-01 00:00, and its zone.
    pub series_start_s: f64,
    /// The zone of the header's clock, DICOM `±HHMM`.
    pub utc_offset: Option<String>,
    /// The frame: start after the series start, and duration, s.
    pub frame_start_s: f64,
    /// See `frame_start_s`.
    pub duration_s: f64,
    /// Dead time: the live fraction applied (1: none).
    pub live_fraction: f64,
    /// The calibration applied.
    pub calibration: PetCalibration,
    /// Bq/mL per image unit, the decay factor, the frame reference time.
    pub scale: ActivityScale,
    /// SUV inputs, when weight, injected activity and injection time are all known.
    pub suv: Option<SuvInputs>,
    /// SUVbw (g/mL) per Bq/mL of the quantified image.
    pub suv_bw_per_bq_ml: Option<f64>,
    /// SUL (g/mL) per Bq/mL, when height and sex are known too.
    pub sul_per_bq_ml: Option<f64>,
}

/// A frame's radionuclide and timing, from the header and what the user gives.
struct Frame {
    nuclide: Radionuclide,
    /// The scan's start, seconds since 1970-01-01 00:00 on the scanner's clock.
    series_start_s: f64,
    /// The frame's start after the scan's, and its duration, s.
    start_s: f64,
    duration_s: f64,
}

impl Frame {
    /// The frame `window_s` (seconds after the scan start; `None`: the whole acquisition,
    /// `counted_s` long when the header states no duration) of `acquisition`, of `nuclide`
    /// over the header's; `purpose` names what needs it in errors.
    fn new(
        acquisition: &PetAcquisition,
        window_s: Option<(f64, f64)>,
        counted_s: Option<f64>,
        nuclide: Option<&Radionuclide>,
        purpose: &str,
    ) -> Result<Self> {
        let missing = |what: &str| {
            Error::InvalidArgument(format!(
                "{purpose} needs {what}, which the acquisition's header does not state: give it"
            ))
        };
        let nuclide = nuclide
            .cloned()
            .or_else(|| acquisition.nuclide.clone())
            .ok_or_else(|| {
                missing("the radionuclide (isotope name, gamma halflife, branching factor)")
            })?;
        let series_start_s = acquisition
            .study_start_s
            .ok_or_else(|| missing("the scan's start (study date and time)"))?;
        let whole = acquisition
            .duration_s
            .or(counted_s)
            .ok_or_else(|| missing("the frame's duration (image duration (sec))"))?;
        let (start, end) = window_s.unwrap_or((0.0, whole));
        let duration_s = end.min(whole) - start;
        if duration_s.is_nan() || duration_s <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "the frame {start}–{end} s ends before it starts within the acquisition's \
                 {whole} s: no duration to turn counts into a rate"
            )));
        }
        Ok(Self {
            nuclide,
            series_start_s,
            start_s: acquisition.frame_start_s + start,
            duration_s,
        })
    }
}

impl PetQuantitation {
    /// The quantitation of a frame `window_s` (seconds after the scan start; `None`: the whole
    /// acquisition, `counted_s` long (the last time tag of list-mode data) when the header
    /// states no duration) of `acquisition`, or `None` without a calibration.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming what is missing (the radionuclide, the scan's start,
    /// its duration) or wrong (a weight, activity, height or live fraction that is not
    /// positive); SUV inputs given without a calibration.
    pub fn new(
        acquisition: &PetAcquisition,
        window_s: Option<(f64, f64)>,
        counted_s: Option<f64>,
        o: &PetQuantitationOptions,
    ) -> Result<Option<Self>> {
        let Some(calibration) = o.calibration.clone() else {
            if o.weight_kg.is_some() || o.injected_activity_bq.is_some() {
                return Err(Error::InvalidArgument(
                    "SUV needs the image in Bq/mL: give the scanner's calibration too".into(),
                ));
            }
            return Ok(None);
        };
        let Frame {
            nuclide,
            series_start_s,
            start_s: frame_start_s,
            duration_s,
        } = Frame::new(
            acquisition,
            window_s,
            counted_s,
            o.nuclide.as_ref(),
            "Bq/mL",
        )?;
        let live_fraction = o.live_fraction.unwrap_or(1.0);
        let scale = ActivityScale::new(
            &calibration,
            &nuclide,
            frame_start_s,
            duration_s,
            live_fraction,
        )?;
        let injected = o.injected_activity_bq.or(acquisition.injected_activity_bq);
        let injection = o.injection_s.or(acquisition.injection_s);
        let suv = match (o.weight_kg, injected, injection) {
            (Some(weight_kg), Some(injected_activity_bq), Some(injection_s)) => {
                let s = SuvInputs {
                    weight_kg,
                    height_m: o.height_m,
                    sex: o.sex,
                    injected_activity_bq,
                    injection_s,
                };
                s.check()?;
                Some(s)
            }
            (None, None, _) => None,
            (w, a, t) => {
                let what: Vec<&str> = [
                    (w.is_none(), "the patient's weight"),
                    (a.is_none(), "the injected activity"),
                    (t.is_none(), "the injection time"),
                ]
                .into_iter()
                .filter_map(|(m, s)| m.then_some(s))
                .collect();
                return Err(Error::InvalidArgument(format!(
                    "SUV needs {}, which neither the options nor the header give",
                    what.join(" and ")
                )));
            }
        };
        let (suv_bw_per_bq_ml, sul_per_bq_ml) = match &suv {
            Some(s) => (
                Some(s.bw_scale(&nuclide, series_start_s)?),
                s.lbm_scale(&nuclide, series_start_s)?,
            ),
            None => (None, None),
        };
        Ok(Some(Self {
            nuclide,
            radiopharmaceutical: acquisition.radiopharmaceutical.clone(),
            series_start_s,
            utc_offset: acquisition.utc_offset.clone(),
            frame_start_s,
            duration_s,
            live_fraction,
            calibration,
            scale,
            suv,
            suv_bw_per_bq_ml,
            sul_per_bq_ml,
        }))
    }

    /// One line for the settings.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "Bq/mL: {} (T½ {} s, positron fraction {}), frame {:.1} s from {:.1} s after the \
             scan start, decay factor {:.5} (to the scan start), calibration {:.5e} Bq·s/mL, \
             live fraction {}",
            self.nuclide.name(),
            self.nuclide.half_life_s(),
            self.nuclide.positron_fraction(),
            self.duration_s,
            self.frame_start_s,
            self.scale.decay_factor,
            self.calibration.factor(),
            self.live_fraction,
        );
        if let Some(s) = self.suv_bw_per_bq_ml {
            line.push_str(&format!("; SUVbw = Bq/mL × {s:.5e}"));
        }
        if let Some(s) = self.sul_per_bq_ml {
            line.push_str(&format!(", SUL = Bq/mL × {s:.5e}"));
        }
        line
    }
}

/// The mean of a uniform phantom's reconstruction away from its edges, and how many voxels it
/// took: the voxels at or above half the image's 99.5th percentile whose neighbours within 2
/// voxels (along each axis) are too, so that neither the edges' blur nor the outside counts.
///
/// # Errors
/// [`Error::InvalidArgument`] when no voxel qualifies (an empty image, a phantom thinner than
/// 5 voxels).
pub fn phantom_mean(image: ArrayView3<'_, f32>) -> Result<(f64, usize)> {
    let mut values: Vec<f32> = image.iter().copied().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return Err(Error::InvalidArgument(
            "an empty image has no phantom".into(),
        ));
    }
    let k = ((values.len() - 1) as f64 * 0.995) as usize;
    let (_, high, _) = values.select_nth_unstable_by(k, f32::total_cmp);
    let threshold = *high * 0.5;
    let (nz, ny, nx) = image.dim();
    let inside = |z: isize, y: isize, x: isize| {
        z >= 0
            && y >= 0
            && x >= 0
            && (z as usize) < nz
            && (y as usize) < ny
            && (x as usize) < nx
            && image[[z as usize, y as usize, x as usize]] >= threshold
    };
    let (mut sum, mut n) = (0.0f64, 0usize);
    for ((z, y, x), &v) in image.indexed_iter() {
        let (z, y, x) = (z as isize, y as isize, x as isize);
        let interior = threshold > 0.0
            && (-2..=2).all(|d| inside(z + d, y, x) && inside(z, y + d, x) && inside(z, y, x + d));
        if interior {
            sum += v as f64;
            n += 1;
        }
    }
    if n == 0 {
        return Err(Error::InvalidArgument(
            "no uniform region: no voxel at half the image's 99.5th percentile has such \
             neighbours within 2 voxels"
                .into(),
        ));
    }
    Ok((sum / n as f64, n))
}

/// A calibration measured on a uniform phantom ([`phantom_calibration`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomCalibration {
    /// The calibration.
    pub calibration: PetCalibration,
    /// The phantom's radionuclide.
    pub nuclide: Radionuclide,
    /// The reconstruction's mean over the phantom's interior ([`phantom_mean`]).
    pub mean: f64,
    /// How many voxels it took.
    pub voxels: usize,
}

/// The calibration that makes `image`, the uncalibrated reconstruction of a uniform phantom
/// acquired as `acquisition` states (its frame: `window_s` seconds after the scan start, or
/// the whole acquisition), read `concentration_bq_ml`, the phantom's concentration at
/// `assay_s` (seconds since 1970 on the scanner's clock); `nuclide` over the header's;
/// `live_fraction` as in [`PetQuantitationOptions::live_fraction`].
///
/// # Errors
/// [`Error::InvalidArgument`] naming what is missing (the radionuclide, the scan's start or
/// duration) or wrong ([`phantom_mean`], [`PetCalibration::from_phantom`]).
pub fn phantom_calibration(
    acquisition: &PetAcquisition,
    image: ArrayView3<'_, f32>,
    window_s: Option<(f64, f64)>,
    concentration_bq_ml: f64,
    assay_s: f64,
    nuclide: Option<&Radionuclide>,
    live_fraction: Option<f64>,
) -> Result<PhantomCalibration> {
    let frame = Frame::new(
        acquisition,
        window_s,
        None,
        nuclide,
        "a phantom calibration",
    )?;
    let (mean, voxels) = phantom_mean(image)?;
    let calibration = PetCalibration::from_phantom(
        mean,
        concentration_bq_ml,
        &frame.nuclide,
        frame.series_start_s + frame.start_s - assay_s,
        frame.duration_s,
        live_fraction.unwrap_or(1.0),
    )?;
    let nuclide = frame.nuclide;
    Ok(PhantomCalibration {
        calibration,
        nuclide,
        mean,
        voxels,
    })
}
