//! Quantitation of a 3D PET frame: from the reconstruction's counts to Bq/mL decay-corrected
//! to the scan start, and the SUV factors, from the acquisition's header and what the user
//! gives (which wins). The arithmetic is [`crate::physics::quantitation`]'s.

use ndarray::ArrayView3;

use crate::error::{Error, Result};
use crate::io::acquisition::PetAcquisition;
use crate::io::petlink::BucketSingles;
use crate::io::siemens_norm::MmrDeadTime;
use crate::physics::{
    ActivityScale, DeadTimeInputs, FrameDeadTime, PetCalibration, Radionuclide, Sex, SuvInputs,
    frame_live_fraction,
};

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
    /// Fraction of the counts the electronics kept (dead time), in (0, 1]. When not given,
    /// [`super::reconstruct_pet`] computes it from the list mode's singles and the norm's
    /// dead-time components ([`frame_dead_time`]), or leaves 1 (none corrected) and says
    /// which is missing.
    pub live_fraction: Option<f64>,
}

/// A frame's dead-time correction and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum DeadTime {
    /// The live fraction the user gave (it wins over the singles).
    Given(f64),
    /// Computed from the list mode's singles and the norm's dead-time components.
    Singles(FrameDeadTime),
    /// None applied (live fraction 1); why: the piece that is missing.
    NotCorrected(String),
}

impl DeadTime {
    /// The live fraction applied, if any.
    pub fn live_fraction(&self) -> Option<f64> {
        match self {
            Self::Given(l) => Some(*l),
            Self::Singles(d) => Some(d.live_fraction),
            Self::NotCorrected(_) => None,
        }
    }

    /// One line for the settings.
    pub fn summary(&self) -> String {
        match self {
            Self::Given(l) => format!("dead time: live fraction {l} (given)"),
            Self::Singles(d) => format!(
                "dead time: live fraction {:.5} from the singles ({} buckets reporting, mean \
                 {:.0} counts/s per bucket) and the norm's ring dead-time components, \
                 weighted by {:.0} prompts",
                d.live_fraction, d.reporting, d.mean_rate_cps, d.prompts
            ),
            Self::NotCorrected(why) => format!("dead time: not corrected (live fraction 1): {why}"),
        }
    }
}

/// A frame's dead time: the user's live fraction `given` when there is one; else the live
/// fraction of `singles` (the frame's singles and its prompts per pair of buckets) under the
/// norm's components `norm` ([`crate::physics::dead_time`]); else not corrected, naming what
/// is missing (each `Err` says why its piece is absent).
///
/// # Errors
/// [`Error::InvalidArgument`] for a given live fraction outside (0, 1], or singles and
/// components that [`frame_live_fraction`] refuses (rings that do not match, parameters of
/// another model).
pub fn frame_dead_time(
    given: Option<f64>,
    singles: std::result::Result<(&BucketSingles, &[f64]), String>,
    norm: std::result::Result<&MmrDeadTime, String>,
) -> Result<DeadTime> {
    if let Some(l) = given {
        if !(l > 0.0 && l <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "live fraction {l}; expected a value in (0, 1]"
            )));
        }
        return Ok(DeadTime::Given(l));
    }
    let ((singles, prompts), norm) = match (singles, norm) {
        (Ok(s), Ok(n)) => (s, n),
        (s, n) => {
            let why: Vec<String> = [s.err(), n.err()].into_iter().flatten().collect();
            return Ok(DeadTime::NotCorrected(format!(
                "{}; give the live fraction when it is known",
                why.join("; ")
            )));
        }
    };
    let b = singles.buckets;
    let bucket_rings: Vec<std::ops::Range<u32>> = (0..b.len() as u32)
        .map(|k| {
            let axial = k / b.transaxial;
            axial * b.rings..(axial + 1) * b.rings
        })
        .collect();
    let d = frame_live_fraction(&DeadTimeInputs {
        rates_cps: &singles.rates_cps,
        bucket_rings: &bucket_rings,
        blocks_per_bucket: b.blocks,
        paralysing: &norm.paralysing,
        non_paralysing: &norm.non_paralysing,
        bucket_prompts: prompts,
    })
    .map_err(|e| {
        Error::InvalidArgument(format!(
            "{e} (give the live fraction to reconstruct without the norm's dead-time model)"
        ))
    })?;
    Ok(DeadTime::Singles(d))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::pet::PetScanner;
    use crate::io::petlink::SinglesBuckets;

    #[test]
    fn a_given_live_fraction_wins_and_a_missing_piece_is_named() {
        let buckets = SinglesBuckets::new(&PetScanner::mmr(), 224).unwrap();
        // Every bucket at 150 kcps (75 kcps per block), prompts only within bucket 0.
        let singles = BucketSingles {
            buckets,
            rates_cps: vec![Some(1.5e5); 224],
            reports: 224,
            skipped: 0,
            first_s: 0.0,
            last_s: 0.0,
        };
        let mut prompts = vec![0.0; 224 * 224];
        prompts[0] = 10.0;
        let norm = MmrDeadTime {
            paralysing: vec![-1.116e-6; 64],
            non_paralysing: vec![0.0; 64],
            crystal: None,
        };
        let computed = frame_dead_time(None, Ok((&singles, &prompts)), Ok(&norm)).unwrap();
        // exp(−1.116·10⁻⁶ · 75000)² = exp(−0.1674)
        let expected = (-0.1674f64).exp();
        let l = computed.live_fraction().unwrap();
        assert!((l - expected).abs() < 1e-6, "{l} vs {expected}");
        assert!(
            computed.summary().contains("from the singles"),
            "{}",
            computed.summary()
        );
        let given = frame_dead_time(Some(0.9), Ok((&singles, &prompts)), Ok(&norm)).unwrap();
        assert_eq!(given, DeadTime::Given(0.9));
        assert!(frame_dead_time(Some(1.5), Err("x".into()), Err("y".into())).is_err());
        let none = frame_dead_time(None, Err("no singles".into()), Err("no norm".into())).unwrap();
        assert_eq!(none.live_fraction(), None);
        let DeadTime::NotCorrected(why) = &none else {
            panic!("{none:?}")
        };
        assert!(why.contains("no singles; no norm"), "{why}");
        // Parameters that gain counts are refused, saying how to go on.
        let wrong = MmrDeadTime {
            paralysing: vec![1e-6; 64],
            ..norm
        };
        let e = frame_dead_time(None, Ok((&singles, &prompts)), Ok(&wrong)).unwrap_err();
        assert!(e.to_string().contains("give the live fraction"), "{e}");
    }
}
