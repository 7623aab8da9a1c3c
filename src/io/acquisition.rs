//! What a PET acquisition's Interfile header (PETLINK list-mode, STIR or Siemens sinograms)
//! says about timing, radionuclide and injection: the inputs of decay correction,
//! calibration and SUV.

use crate::error::{Error, Result};
use crate::io::clock::days_from_civil;
use crate::io::interfile::InterfileHeader;
use crate::physics::Radionuclide;

/// Timing, radionuclide and injection of one PET frame, as its header states them. Times are
/// seconds since 1970-01-01 00:00 on the header's clock ([`PetAcquisition::utc_offset`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PetAcquisition {
    /// `isotope name`, `isotope gamma halflife (sec)`, `isotope branching factor`, when all
    /// three are stated.
    pub nuclide: Option<Radionuclide>,
    /// `radiopharmaceutical`.
    pub radiopharmaceutical: Option<String>,
    /// `study date` and `study time`: the acquisition's start.
    pub study_start_s: Option<f64>,
    /// The study time's zone, DICOM's `±HHMM`, when the key states one (`GMT+00:00`).
    pub utc_offset: Option<String>,
    /// `image relative start time (sec)`: the frame's start after the study start (0 when
    /// absent).
    pub frame_start_s: f64,
    /// `image duration (sec)`.
    pub duration_s: Option<f64>,
    /// `tracer injection date` and `time`.
    pub injection_s: Option<f64>,
    /// `tracer activity at time of injection (Bq)` (absent or 0: unknown).
    pub injected_activity_bq: Option<f64>,
}

impl PetAcquisition {
    /// Reads the keys of a header (any absent key leaves its field empty).
    ///
    /// # Errors
    /// [`Error::Format`] naming a key whose value is malformed (a date that is not
    /// `yyyy:mm:dd`, a time that is not `hh:mm:ss`, a number that is not one, a half-life or
    /// duration ≤ 0, a branching factor outside (0, 1]).
    pub fn from_header(h: &InterfileHeader) -> Result<Self> {
        let bad = |key: &str, v: &str, expected: &str| Error::Format {
            path: h.path().to_path_buf(),
            reason: format!("`{key} := {v}`: expected {expected}"),
        };
        let number = |key: &str| -> Result<Option<f64>> {
            match find(h, key) {
                None | Some((_, "")) => Ok(None),
                Some((k, v)) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| bad(k, v, "a number")),
            }
        };
        let moment = |date_key: &str, time_key: &str| -> Result<(Option<f64>, Option<String>)> {
            let (Some((dk, d)), Some((tk, t))) = (find(h, date_key), find(h, time_key)) else {
                return Ok((None, None));
            };
            let days = parse_date(d).ok_or_else(|| bad(dk, d, "a date yyyy:mm:dd"))?;
            let secs = parse_time(t).ok_or_else(|| bad(tk, t, "a time hh:mm:ss"))?;
            Ok((Some(days as f64 * 86_400.0 + secs), utc_offset(tk)))
        };
        let nuclide = match (
            find(h, "isotope name"),
            number("isotope gamma halflife")?,
            number("isotope branching factor")?,
        ) {
            (Some((_, name)), Some(half_life), Some(fraction)) => Some(
                Radionuclide::new(name, half_life, fraction).map_err(|e| Error::Format {
                    path: h.path().to_path_buf(),
                    reason: e.to_string(),
                })?,
            ),
            _ => None,
        };
        let duration_s = number("image duration")?;
        if let Some(d) = duration_s.filter(|d| *d <= 0.0) {
            return Err(bad(
                "image duration (sec)",
                &d.to_string(),
                "a duration > 0",
            ));
        }
        let (study_start_s, utc_offset) = moment("study date", "study time")?;
        let (injection_s, _) = moment("tracer injection date", "tracer injection time")?;
        Ok(Self {
            nuclide,
            radiopharmaceutical: find(h, "radiopharmaceutical")
                .map(|(_, v)| v.to_string())
                .filter(|v| !v.is_empty()),
            study_start_s,
            utc_offset,
            frame_start_s: number("image relative start time")?.unwrap_or(0.0),
            duration_s,
            injection_s,
            injected_activity_bq: number("tracer activity at time of injection")?
                .filter(|a| *a > 0.0),
        })
    }
}

/// Seconds since 1970-01-01 00:00 of an ISO 8601 local date and time, `YYYY-MM-DDTHH:MM[:SS]`
/// (a space for the `T` too; no zone: the scanner's clock).
///
/// # Errors
/// [`Error::InvalidArgument`] for anything else.
pub fn parse_date_time(v: &str) -> Result<f64> {
    let bad =
        || Error::InvalidArgument(format!("{v:?} is not a date and time YYYY-MM-DDTHH:MM:SS"));
    let (date, time) = v.trim().split_once(['T', ' ']).ok_or_else(bad)?;
    let days = parse_date(&date.replace('-', ":")).ok_or_else(bad)?;
    let secs = parse_time(time).ok_or_else(bad)?;
    Ok(days as f64 * 86_400.0 + secs)
}

/// The first entry whose key is `name` or `name (…)` (Interfile writes units and formats in
/// parentheses: `study date (yyyy:mm:dd)`), as (key, value).
fn find<'h>(h: &'h InterfileHeader, name: &str) -> Option<(&'h str, &'h str)> {
    h.entries()
        .find(|(k, _)| *k == name || k.strip_prefix(name).is_some_and(|r| r.starts_with(" (")))
}

/// Days since 1970-01-01 of `yyyy:mm:dd`.
fn parse_date(v: &str) -> Option<i64> {
    let mut parts = v.trim().split(':').map(|p| p.trim().parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Seconds after midnight of `hh:mm:ss` (seconds may have a fraction).
fn parse_time(v: &str) -> Option<f64> {
    let mut parts = v.trim().split(':');
    let h = parts.next()?.trim().parse::<u32>().ok()?;
    let m = parts.next()?.trim().parse::<u32>().ok()?;
    let s = parts
        .next()
        .map_or(Some(0.0), |s| s.trim().parse::<f64>().ok())?;
    if parts.next().is_some() || h > 23 || m > 59 || !(0.0..61.0).contains(&s) {
        return None;
    }
    Some(f64::from(h * 3600 + m * 60) + s)
}

/// DICOM's `±HHMM` from a key such as `study time (hh:mm:ss gmt+00:00)`.
fn utc_offset(key: &str) -> Option<String> {
    let zone = key.split("gmt").nth(1)?.trim_end_matches(')').trim();
    let sign = zone.chars().next().filter(|c| *c == '+' || *c == '-')?;
    let (h, m) = zone[1..].split_once(':')?;
    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h <= 14 && m < 60).then(|| format!("{sign}{h:02}{m:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_real_mmr_header_is_read() {
        let h = InterfileHeader::read(Path::new("../shared/data/pet_mmr/list.l.hdr")).unwrap();
        let a = PetAcquisition::from_header(&h).unwrap();
        let n = a.nuclide.unwrap();
        assert_eq!(
            (n.name(), n.half_life_s(), n.positron_fraction()),
            ("F-18", 6586.2, 0.97)
        );
        assert_eq!(a.radiopharmaceutical.as_deref(), Some("Fluorodeoxyglucose"));
        let day = days_from_civil(2017, 8, 9) as f64 * 86_400.0;
        assert_eq!(
            a.study_start_s,
            Some(day + 17.0 * 3600.0 + 35.0 * 60.0 + 3.0)
        );
        assert_eq!(a.injection_s, Some(day - 3600.0));
        assert_eq!(a.utc_offset.as_deref(), Some("+0000"));
        assert_eq!((a.frame_start_s, a.duration_s), (0.0, Some(60.0)));
        // The header states 0 Bq: unknown.
        assert_eq!(a.injected_activity_bq, None);
    }

    #[test]
    fn malformed_values_name_their_key() {
        let parse = |extra: &str| {
            let text = format!("!INTERFILE :=\n{extra}\n");
            PetAcquisition::from_header(&InterfileHeader::parse(Path::new("x.hdr"), &text).unwrap())
        };
        assert_eq!(parse("").unwrap(), PetAcquisition::default());
        for (line, key) in [
            (
                "%study date (yyyy:mm:dd) := 2017:13:09\n%study time (hh:mm:ss GMT+00:00) := 1:2:3",
                "study date",
            ),
            (
                "%study date (yyyy:mm:dd) := 2017:12:09\n%study time (hh:mm:ss GMT+00:00) := 25:00:00",
                "study time",
            ),
            ("image duration (sec) := 0", "image duration"),
            ("image duration (sec) := NaN", "image duration"),
            (
                "isotope name := F-18\nisotope gamma halflife (sec) := -1\nisotope branching factor := 1",
                "half-life",
            ),
            (
                "isotope branching factor := lots",
                "isotope branching factor",
            ),
        ] {
            let e = parse(line).unwrap_err().to_string();
            assert!(e.contains(key), "{line}: {e}");
        }
        assert_eq!(
            parse_date_time("2017-08-08T23:00:00").unwrap(),
            days_from_civil(2017, 8, 9) as f64 * 86_400.0 - 3600.0
        );
        assert_eq!(
            parse_date_time("2017-08-09 00:30").unwrap(),
            days_from_civil(2017, 8, 9) as f64 * 86_400.0 + 1800.0
        );
        for bad in [
            "2017-08-09",
            "2017-13-01T00:00",
            "yesterday",
            "2017-08-09T24:00",
        ] {
            assert!(parse_date_time(bad).is_err(), "{bad}");
        }
        // A nuclide needs all three keys.
        let a = parse("isotope name := F-18\nisotope gamma halflife (sec) := 6586.2").unwrap();
        assert_eq!(a.nuclide, None);
    }
}
