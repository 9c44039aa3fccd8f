//! Section 6: spreading the coded values over the grid, missing where the
//! bitmap has a 0 bit.

use super::super::section::Section;
use super::Value;
use crate::UnpackError;

/// Applies the bitmap (if any) to the `coded` values.
///
/// Without a bitmap the coded values are the field, as in ecCodes. With one,
/// the result has `n_points` values: the next coded value where a bit is 1,
/// [`Value::MISSING`] where it is 0 (all missing when nothing is coded, as
/// ecCodes does). More 1 bits than coded values is an error.
pub(crate) fn apply<T: Value>(
    mut coded: Vec<T>,
    s6: Option<&Section<'_>>,
    n_points: usize,
) -> Result<Vec<T>, UnpackError> {
    let Some(s6) = s6 else { return Ok(coded) };
    let bits = s6.bytes.get(6..).unwrap_or(&[]);
    let needed = n_points as u64;
    let available = bits.len() as u64 * 8;
    if needed > available {
        return Err(UnpackError::ShortData { needed, available });
    }
    if coded.is_empty() {
        return Ok(vec![T::MISSING; n_points]);
    }
    let bits = &bits[..n_points.div_ceil(8)];
    let full = n_points / 8;
    let mut ones: u64 = bits[..full].iter().map(|b| u64::from(b.count_ones())).sum();
    if let Some(&last) = bits.get(full) {
        let keep = n_points % 8;
        ones += u64::from((last >> (8 - keep)).count_ones());
    }
    if ones > coded.len() as u64 {
        return Err(UnpackError::CountMismatch {
            expected: ones,
            found: coded.len() as u64,
        });
    }
    // Spread in place from the end: the k-th present point lies at an index ≥ k,
    // so no coded value is overwritten before it is moved.
    let n_coded = coded.len();
    if n_coded < n_points {
        coded.resize(n_points, T::MISSING);
    }
    let mut k = ones as usize;
    for i in (0..n_points).rev() {
        if bits[i / 8] & (0x80 >> (i % 8)) != 0 {
            k -= 1;
            coded[i] = coded[k];
        } else {
            coded[i] = T::MISSING;
        }
    }
    coded.truncate(n_points);
    Ok(coded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn section6(bitmap: &[u8]) -> Vec<u8> {
        let mut s = vec![0, 0, 0, (6 + bitmap.len()) as u8, 6, 0];
        s.extend_from_slice(bitmap);
        s
    }

    #[test]
    fn spreads_values_over_present_points() {
        let s = section6(&[0b1011_0001, 0b1000_0000]);
        let sec = Section::new(&s, 0);
        let out = apply(vec![1.0f64, 2.0, 3.0, 4.0, 5.0], Some(&sec), 9).unwrap();
        let want = [
            1.0,
            f64::NAN,
            2.0,
            3.0,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            4.0,
            5.0,
        ];
        assert_eq!(out.len(), want.len());
        for (a, b) in out.iter().zip(want) {
            assert!(a == &b || (a.is_nan() && b.is_nan()), "{out:?}");
        }
    }

    #[test]
    fn too_many_ones_or_short_bitmap_is_an_error() {
        let s = section6(&[0xff]);
        let sec = Section::new(&s, 0);
        assert!(apply(vec![1.0f32; 3], Some(&sec), 8).is_err());
        assert!(apply(vec![1.0f32; 9], Some(&sec), 9).is_err());
        assert_eq!(apply(vec![1.0f32; 8], Some(&sec), 8).unwrap(), vec![1.0; 8]);
    }
}
