//! Statistics of decoded fields: one field's summary, and an ensemble's
//! statistics per grid point ([`ensemble`]).

pub mod ensemble;

pub use ensemble::{ensemble_stats, Ensemble, EnsembleField, EnsembleStats, Stat, StatsError};

/// Minimum, maximum and mean of the values that are not missing (NaN), and
/// how many are missing; NaN statistics when every value is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub missing: u32,
}

impl Summary {
    /// The summary of `values` (in f64, so the mean of a 0.25° field is exact enough).
    #[must_use]
    pub fn of(values: &[f32]) -> Self {
        let (mut min, mut max, mut sum, mut n, mut missing) =
            (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0u64, 0u32);
        for &v in values {
            if v.is_nan() {
                missing = missing.saturating_add(1);
                continue;
            }
            let v = f64::from(v);
            min = min.min(v);
            max = max.max(v);
            sum += v;
            n += 1;
        }
        if n == 0 {
            return Self {
                min: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
                missing,
            };
        }
        Self {
            min,
            max,
            mean: sum / n as f64,
            missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_are_counted_not_summed() {
        let s = Summary::of(&[1.0, f32::NAN, 3.0]);
        assert_eq!((s.min, s.max, s.mean, s.missing), (1.0, 3.0, 2.0, 1));
        let s = Summary::of(&[f32::NAN]);
        assert!(s.min.is_nan() && s.mean.is_nan());
        assert_eq!(s.missing, 1);
    }
}
