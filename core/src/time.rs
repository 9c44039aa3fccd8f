//! Calendar arithmetic, once: days and seconds since 1970-01-01 of a
//! proleptic Gregorian date (UTC), and back. GRIB reference and validity
//! times, the references' `time` axis and a state's `"date"` all go
//! through these (the closed forms of Howard Hinnant's `days_from_civil`
//! and `civil_from_days`).

use crate::pickle::Date;

/// Days since 1970-01-01 of a proleptic Gregorian date.
#[must_use]
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `(year, month, day)` of a day count from 1970-01-01.
#[must_use]
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Seconds since 1970-01-01T00:00:00 of a UTC date and time.
#[must_use]
pub fn epoch_seconds(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> i64 {
    days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
}

/// Seconds since 1970-01-01 of a civil date and time to the minute.
#[must_use]
pub fn epoch_of(year: i64, month: i64, day: i64, hour: i64, minute: i64) -> i64 {
    epoch_seconds(year, month, day, hour, minute, 0)
}

/// The date and time of `seconds` since 1970-01-01 (UTC): `(year, month,
/// day, hour, minute, second)`.
#[must_use]
pub fn civil_of(seconds: i64) -> (i64, u8, u8, u8, u8, u8) {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    (
        y,
        m as u8,
        d as u8,
        (s / 3600) as u8,
        (s % 3600 / 60) as u8,
        (s % 60) as u8,
    )
}

/// The calendar date of `seconds` since 1970-01-01 (UTC), for a state.
#[must_use]
pub fn date_of(seconds: i64) -> Date {
    let (y, month, day, hour, minute, second) = civil_of(seconds);
    Date {
        year: u16::try_from(y).unwrap_or(0),
        month,
        day,
        hour,
        minute,
        second,
    }
}

/// Parses a state date as `gik extract --date` takes it: `2025-01-01T06`,
/// `2025-01-01T06:00`, `2025-01-01 06:00:00`, `2025010106`, `20250101`;
/// seconds since 1970, or `None` when it is not a date.
#[must_use]
pub fn parse_date(s: &str) -> Option<i64> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return None;
    }
    let n = |a: usize, b: usize| digits.get(a..b).and_then(|x| x.parse::<i64>().ok());
    let (y, m, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let hh = n(8, 10).unwrap_or(0);
    let mm = n(10, 12).unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 {
        return None;
    }
    Some(epoch_of(y, m, d, hh, mm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_of_dates() {
        assert_eq!(epoch_seconds(2025, 1, 1, 0, 0, 0), 1_735_689_600);
        assert_eq!(epoch_seconds(1970, 1, 1, 6, 0, 0), 21_600);
        assert_eq!(epoch_seconds(2024, 2, 29, 12, 30, 5), 1_709_209_805);
        assert_eq!(epoch_seconds(1969, 12, 31, 23, 59, 59), -1);
        assert_eq!(civil_from_days(days_from_civil(1900, 3, 1)), (1900, 3, 1));
        assert_eq!(civil_from_days(days_from_civil(-1, 12, 31)), (-1, 12, 31));
        // every day of four centuries round-trips
        let start = days_from_civil(1800, 1, 1);
        for day in start..start + 146_097 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn dates_from_epoch_seconds() {
        let d = date_of(1_735_711_200);
        assert_eq!(
            (d.year, d.month, d.day, d.hour, d.minute, d.second),
            (2025, 1, 1, 6, 0, 0)
        );
        let leap = date_of(1_709_251_140); // 2024-02-29T23:59:00
        assert_eq!(
            (leap.month, leap.day, leap.hour, leap.minute),
            (2, 29, 23, 59)
        );
        assert_eq!(date_of(0).year, 1970);
        assert_eq!(parse_date("2025-01-01T06"), Some(1_735_711_200));
        assert_eq!(parse_date("2025010106"), Some(1_735_711_200));
        assert_eq!(parse_date("2024-02-29 23:59"), Some(1_709_251_140));
        assert_eq!(parse_date("2025-13-01"), None);
        assert_eq!(parse_date("soon"), None);
    }
}
