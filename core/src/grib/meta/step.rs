//! Steps, step units and validity date/time the way ecCodes computes them
//! (`stepUnits` = `optimal_step_units`, `startStep`, `endStep` = `g2end_step`,
//! `stepRange`, `validityDate`, `validityTime`).

use super::DateTime;
use crate::time::{civil_from_days, days_from_civil};

/// ecCodes step unit codes (GRIB2 code table 4.4 plus ecCodes' seconds = 13)
/// and their lengths in seconds.
const UNITS: [(u8, i64, &str); 14] = [
    (13, 1, "s"),
    (0, 60, "m"),
    (14, 900, "15m"),
    (15, 1800, "30m"),
    (1, 3600, "h"),
    (10, 10_800, "3h"),
    (11, 21_600, "6h"),
    (12, 43_200, "12h"),
    (2, 86_400, "D"),
    (3, 2_592_000, "M"),
    (4, 31_536_000, "Y"),
    (5, 315_360_000, "10Y"),
    (6, 946_080_000, "30Y"),
    (7, 3_153_600_000, "C"),
];

/// Unit code of hours.
pub(crate) const HOUR: u8 = 1;

/// Length of a unit in seconds; `None` for codes ecCodes does not support.
pub(crate) fn unit_seconds(unit: u8) -> Option<i64> {
    UNITS.iter().find(|u| u.0 == unit).map(|u| u.1)
}

/// Suffix ecCodes prints after a step in `unit` (none for hours).
pub(crate) fn unit_suffix(unit: u8) -> &'static str {
    if unit == HOUR {
        return "";
    }
    UNITS.iter().find(|u| u.0 == unit).map_or("", |u| u.2)
}

/// ecCodes' `Step`: a value in an internal unit, shown in a display unit
/// (the two differ for zero steps, which keep their internal unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    value: i64,
    internal: u8,
    display: u8,
}

fn longer(a: u8, b: u8) -> bool {
    unit_seconds(a).unwrap_or(0) > unit_seconds(b).unwrap_or(0)
}

fn same_unit(a: u8, b: u8) -> bool {
    unit_seconds(a) == unit_seconds(b)
}

impl Step {
    fn new(value: i64, unit: u8) -> Option<Self> {
        unit_seconds(unit).map(|_| Self {
            value,
            internal: unit,
            display: unit,
        })
    }

    fn seconds(self) -> Option<i64> {
        self.value.checked_mul(unit_seconds(self.internal)?)
    }

    /// `optimize_unit`: the largest of hour, minute, second that holds the
    /// value exactly; a zero step only shows units above the hour as hours.
    fn optimize(mut self) -> Option<Self> {
        if self.value == 0 {
            if longer(self.display, HOUR) {
                self.display = HOUR;
            }
            return Some(self);
        }
        let s = self.seconds()?;
        for (unit, len) in [(HOUR, 3600i64), (0, 60), (13, 1)] {
            if s % len == 0 {
                return Some(Self {
                    value: s / len,
                    internal: unit,
                    display: unit,
                });
            }
        }
        None
    }

    /// `recalculateValue`: the internal value in the display unit.
    fn recalculate(mut self) -> Option<Self> {
        if self.value != 0 {
            self.value = self.seconds()? / unit_seconds(self.display)?;
        }
        self.internal = self.display;
        Some(self)
    }

    /// `value<long>(unit)`, truncating like `duration_cast`.
    fn in_unit(self, unit: u8) -> Option<i64> {
        if self.value == 0 {
            return Some(0);
        }
        if same_unit(self.internal, unit) {
            return Some(self.value);
        }
        Some(self.seconds()? / unit_seconds(unit)?)
    }

    fn exact_in_unit(self, unit: u8) -> Option<i64> {
        let s = self.seconds()?;
        let len = unit_seconds(unit)?;
        (s % len == 0).then_some(s / len)
    }
}

/// ecCodes `find_common_units`: both steps in one unit.
fn common_units(mut a: Step, mut b: Step) -> Option<(Step, Step)> {
    if a.value == 0 && b.value == 0 {
        let unit = if longer(a.internal, b.internal) {
            a.internal
        } else {
            b.internal
        };
        a.internal = unit;
        a.display = unit;
        b.internal = unit;
        b.display = unit;
    } else if b.value == 0 {
        b.internal = a.internal;
        b.display = a.internal;
        a.display = a.internal;
        a = a.recalculate()?;
    } else if a.value == 0 {
        a.internal = b.internal;
        a.display = b.internal;
        b.display = b.internal;
        b = b.recalculate()?;
    } else {
        // The first of second, minute, hour that either shows.
        let unit = [13u8, 0, HOUR]
            .into_iter()
            .find(|u| same_unit(*u, a.display) || same_unit(*u, b.display))?;
        a.display = unit;
        b.display = unit;
        a = a.recalculate()?;
        b = b.recalculate()?;
    }
    Some((a, b))
}

/// `Step + Step`.
fn add(a: Step, b: Step) -> Option<Step> {
    let (a, b) = common_units(a.optimize()?, b.optimize()?)?;
    Step::new(a.value.checked_add(b.value)?, a.internal)
}

/// Inputs of the step computations (section 4 keys).
#[derive(Debug, Clone, Default)]
pub(crate) struct StepKeys {
    pub forecast_time: Option<i64>,
    pub forecast_unit: Option<i64>,
    /// `lengthOfTimeRange`/`indicatorOfUnitForTimeRange` as a scalar key reads (the last range).
    pub range_length: Option<i64>,
    pub range_unit: Option<i64>,
    /// All time ranges: (typeOfTimeIncrement, unit, length).
    pub ranges: Vec<(i64, i64, i64)>,
    pub statistical: bool,
    /// `MTG2Switch`: before the migration (0), a time increment of type 1 keeps the range out of the step.
    pub mtg2_switch: i64,
}

/// ecCodes `stepUnits`, `startStep`, `endStep` (in `stepUnits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Steps {
    pub units: u8,
    pub start: i64,
    pub end: i64,
}

fn unit_code(v: Option<i64>) -> Option<u8> {
    v.and_then(|u| u8::try_from(u).ok())
}

/// ecCodes `optimal_step_units`.
pub(crate) fn step_units(k: &StepKeys) -> Option<u8> {
    let forecast = match (k.forecast_time, unit_code(k.forecast_unit)) {
        (Some(v), Some(u)) => Some(Step::new(v, u)?),
        _ => None,
    };
    let range = match (k.range_length, unit_code(k.range_unit)) {
        (Some(v), Some(u)) => Some(Step::new(v, u)?),
        _ => None,
    };
    Some(match (forecast, range) {
        (Some(f), Some(r)) => {
            common_units(f.optimize()?, add(f, r)?.optimize()?)?
                .0
                .display
        }
        (Some(f), None) => f.optimize()?.display,
        (None, Some(r)) => r.optimize()?.display,
        (None, None) => HOUR,
    })
}

/// Start and end step in `stepUnits`, or `None` where ecCodes fails to decode them.
pub(crate) fn steps(k: &StepKeys) -> Option<Steps> {
    let units = step_units(k)?;
    let start = Step::new(k.forecast_time?, unit_code(k.forecast_unit)?)?.in_unit(units)?;
    if !k.statistical {
        return Some(Steps {
            units,
            start,
            end: start,
        });
    }
    let end = match k.ranges.len() {
        1 => {
            let (incr, unit, len) = k.ranges[0];
            let len = Step::new(len, unit_code(Some(unit))?)?.exact_in_unit(units)?;
            // typeOfTimeIncrement 1 in pre-MTG2 data: the range is not part of the step (GRIB-488).
            if incr == 1 && k.mtg2_switch == 0 {
                start
            } else {
                start.checked_add(len)?
            }
        }
        2 => {
            let &(_, unit, len) = k.ranges.iter().find(|r| r.0 == 2)?;
            start.checked_add(Step::new(len, unit_code(Some(unit))?)?.exact_in_unit(units)?)?
        }
        _ => return None,
    };
    Some(Steps { units, start, end })
}

/// C's `%g` for an integer value.
pub(crate) fn format_g(v: i64) -> String {
    if v.unsigned_abs() < 1_000_000 {
        return v.to_string();
    }
    // Six significant digits in exponent form, trailing zeros removed.
    let s = format!("{:.5e}", v as f64);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    format!(
        "{mant}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// A step as ecCodes prints it (`6`, `30m`, `90s`, `0x3h`).
pub(crate) fn format_step(v: i64, units: u8) -> String {
    let x = if matches!(units, 5 | 6 | 10 | 11 | 12 | 14 | 15) {
        "x"
    } else {
        ""
    };
    format!("{}{x}{}", format_g(v), unit_suffix(units))
}

/// ecCodes `stepRange`.
pub(crate) fn step_range(s: &Steps) -> String {
    if s.start == s.end {
        format_step(s.end, s.units)
    } else {
        format!(
            "{}-{}",
            format_step(s.start, s.units),
            format_step(s.end, s.units)
        )
    }
}

/// `convert_to_minutes` of ecCodes (the validity keys count in minutes),
/// including its factor -1 for years and longer.
fn to_minutes(step: i64, units: u8) -> i64 {
    match units {
        0 => step,
        1 => step.saturating_mul(60),
        13 => step / 60,
        2 => step.saturating_mul(1440),
        3 => step.saturating_mul(43_200),
        10 => step.saturating_mul(180),
        11 => step.saturating_mul(360),
        12 => step.saturating_mul(720),
        14 => step.saturating_mul(15),
        15 => step.saturating_mul(30),
        _ => -step,
    }
}

/// ecCodes `validityDate` and `validityTime` of a point-in-time field:
/// reference date and time plus the start step.
pub(crate) fn validity(date: u32, time: u32, step: i64, units: u8) -> (u32, u32) {
    let mins = to_minutes(step, units);
    let (time, date) = (i64::from(time), i64::from(date));
    let minutes = time % 100;
    let mut hours = time / 100;
    let tmp = minutes.saturating_add(mins);
    hours += tmp / 60;
    let tmp_mins = tmp % 60;
    // ecCodes steps whole days in a loop; the same, in closed form.
    let day = days_from_civil(date / 10000, date / 100 % 100, date % 100) + hours.div_euclid(24);
    let (y, m, d) = civil_from_days(day);
    let vdate = y * 10000 + m * 100 + d;
    let vh = hours.rem_euclid(24);
    let vtime = vh * 100 + tmp_mins;
    (
        u32::try_from(vdate).unwrap_or(0),
        u32::try_from(vtime).unwrap_or(0),
    )
}

/// `reference` plus `seconds`.
pub(crate) fn add_seconds(reference: DateTime, seconds: i64) -> DateTime {
    let t = reference.epoch_seconds();
    let (y, month, day, hour, minute, second) = crate::time::civil_of(t.saturating_add(seconds));
    DateTime {
        year: i32::try_from(y).unwrap_or(0),
        month,
        day,
        hour,
        minute,
        second,
    }
}

/// Seconds in `value` steps of `units`.
pub(crate) fn step_seconds(value: i64, units: u8) -> Option<i64> {
    value.checked_mul(unit_seconds(units)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys(ft: i64, fu: i64) -> StepKeys {
        StepKeys {
            forecast_time: Some(ft),
            forecast_unit: Some(fu),
            mtg2_switch: 1,
            ..StepKeys::default()
        }
    }

    #[test]
    fn point_in_time_steps() {
        let s = steps(&keys(6, 1)).unwrap();
        assert_eq!((s.units, s.start, s.end), (HOUR, 6, 6));
        let s = steps(&keys(10, 0)).unwrap();
        assert_eq!((s.units, s.start), (0, 10));
        assert_eq!(step_range(&s), "10m");
        let s = steps(&keys(60, 0)).unwrap();
        assert_eq!((s.units, s.start), (HOUR, 1));
        let s = steps(&keys(0, 0)).unwrap();
        assert_eq!(step_range(&s), "0m");
        let s = steps(&keys(2, 2)).unwrap();
        assert_eq!((s.units, s.start), (HOUR, 48));
    }

    #[test]
    fn interval_steps() {
        let k = StepKeys {
            forecast_time: Some(0),
            forecast_unit: Some(1),
            range_length: Some(6),
            range_unit: Some(1),
            ranges: vec![(2, 1, 6)],
            statistical: true,
            mtg2_switch: 1,
        };
        let s = steps(&k).unwrap();
        assert_eq!(step_range(&s), "0-6");
        let k = StepKeys {
            forecast_time: Some(30),
            forecast_unit: Some(0),
            range_length: Some(15),
            range_unit: Some(0),
            ranges: vec![(2, 0, 15)],
            statistical: true,
            mtg2_switch: 1,
        };
        let s = steps(&k).unwrap();
        assert_eq!(step_range(&s), "30m-45m");
    }

    #[test]
    fn g_format() {
        assert_eq!(format_g(999_999), "999999");
        assert_eq!(format_g(1_000_000), "1e+06");
        assert_eq!(format_g(1_234_567), "1.23457e+06");
        assert_eq!(format_g(-3_600_000), "-3.6e+06");
    }

    #[test]
    fn extreme_steps_do_not_hang_or_overflow() {
        let _ = validity(20240101, 0, i64::from(i32::MAX), HOUR);
        let _ = validity(20240101, 0, i64::from(i32::MIN), HOUR);
        let _ = add_seconds(DateTime::default(), i64::MAX);
        let k = StepKeys {
            forecast_time: Some(i64::from(i32::MAX)),
            forecast_unit: Some(7),
            mtg2_switch: 1,
            ..StepKeys::default()
        };
        let _ = steps(&k);
    }

    #[test]
    fn validity_rolls_over_days() {
        assert_eq!(validity(20131025, 0, 78, HOUR), (20131028, 600));
        assert_eq!(validity(20240229, 1800, 6, HOUR), (20240301, 0));
        assert_eq!(validity(20240301, 0, -1, HOUR), (20240229, 2300));
    }
}
