//! DICOM dates and times (DA, TM, DT) as seconds, for decay and SUV arithmetic.

use std::path::Path;

use super::errors::dicom_error;
use crate::error::Result;
use crate::io::clock::days_from_civil;

/// Seconds after midnight of a DICOM time `HHMMSS.FFFFFF` (minutes, seconds and fraction
/// optional).
pub(super) fn seconds(path: &Path, t: &str) -> Result<f64> {
    let t = t.trim();
    let bad = || {
        dicom_error(
            path,
            None,
            format!("time {t:?} is not a DICOM time HHMMSS.FFFFFF"),
        )
    };
    let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
    if hms.len() < 2 || hms.len() % 2 != 0 || !hms.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let part = |i: usize| -> f64 { hms.get(i..i + 2).map_or(0.0, |p| p.parse().unwrap_or(0.0)) };
    let fraction = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse::<f64>().map_err(|_| bad())?
    };
    Ok(part(0) * 3600.0 + part(2) * 60.0 + part(4) + fraction)
}

/// Seconds from 1970-01-01 00:00 to the DICOM date `YYYYMMDD` and time `HHMMSS.FFFFFF` (no
/// time zone: both ends of an interval come from one site).
pub(super) fn date_time_seconds(path: &Path, date: &str, time: &str) -> Result<f64> {
    let d = date.trim();
    let field = |r: std::ops::Range<usize>| d.get(r).and_then(|s| s.parse::<i64>().ok());
    let (Some(y), Some(m), Some(day)) = (field(0..4), field(4..6), field(6..8)) else {
        return Err(dicom_error(
            path,
            None,
            format!("date {d:?} is not a DICOM date YYYYMMDD"),
        ));
    };
    if d.len() != 8 || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(dicom_error(
            path,
            None,
            format!("date {d:?} is not a DICOM date YYYYMMDD"),
        ));
    }
    Ok(days_from_civil(y, m, day) as f64 * 86_400.0 + seconds(path, time)?)
}

/// As [`date_time_seconds`], of a DICOM date-time `YYYYMMDDHHMMSS.FFFFFF` (an offset
/// `&ZZXX` after it is ignored).
pub(super) fn dt_seconds(path: &Path, dt: &str) -> Result<f64> {
    let dt = dt.trim();
    let dt = dt.split(['+', '-']).next().unwrap_or(dt);
    let (date, time) = dt.split_at(dt.len().min(8));
    date_time_seconds(path, date, if time.is_empty() { "00" } else { time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_become_seconds() {
        let p = Path::new("x.dcm");
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // Across a month end and a leap day: 2024-02-28 10:00 to 2024-03-01 09:30.
        let a = date_time_seconds(p, "20240228", "100000").unwrap();
        let b = dt_seconds(p, "20240301093000.5+0100").unwrap();
        assert_eq!(b - a, 2.0 * 86_400.0 - 1800.0 + 0.5);
        assert_eq!(seconds(p, "0930").unwrap(), 34_200.0);
        assert!(date_time_seconds(p, "2024-02-28", "10").is_err());
        assert!(date_time_seconds(p, "20241301", "10").is_err());
        assert!(seconds(p, "9:30").is_err());
    }
}
