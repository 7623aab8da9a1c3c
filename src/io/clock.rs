//! Civil dates and times as seconds since 1970-01-01 00:00 on one site's clock (no time
//! zone: both ends of an interval come from one site), the clock of decay and SUV arithmetic.
//! Proleptic Gregorian calendar, Howard Hinnant's algorithms.

/// Days from 1970-01-01 to `y-m-d`.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The DICOM date `YYYYMMDD` and time `HHMMSS` (with `.FFFFFF` when `seconds` has a
/// fraction) of `seconds` since 1970-01-01 00:00.
pub(crate) fn dicom_date_time(seconds: f64) -> (String, String) {
    let whole = seconds.floor();
    let fraction = seconds - whole;
    let secs = whole as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let micros = (fraction * 1e6).round() as i64;
    let time = format!("{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    (
        format!("{year:04}{month:02}{day:02}"),
        if micros > 0 && micros < 1_000_000 {
            format!("{time}.{micros:06}")
        } else {
            time
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2017, 8, 9),
            (2026, 12, 31),
            (1969, 12, 31),
        ] {
            let s = days_from_civil(y, m, d) as f64 * 86_400.0 + 17.0 * 3600.0 + 35.0 * 60.0 + 3.25;
            let (date, time) = dicom_date_time(s);
            assert_eq!(date, format!("{y:04}{m:02}{d:02}"));
            assert_eq!(time, "173503.250000");
        }
        assert_eq!(dicom_date_time(0.0), ("19700101".into(), "000000".into()));
    }
}
