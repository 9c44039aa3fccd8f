//! Template 5.200 (run-length packing with level values, used by JMA), as
//! ecCodes' `data_run_length_packing` decodes it.
//!
//! Section 7 is a sequence of `bitsPerValue`-bit codes: a code up to
//! `maxLevelValue` is a level (0 = missing), and the codes above it that
//! follow give the run length in base `2^bitsPerValue - 1 - maxLevelValue`,
//! least significant digit first.

use super::bits::BitReader;
use super::{codes_power, Input, Value};
use crate::{Result, UnpackError};

pub(crate) fn decode<T: Value>(input: &Input<'_>) -> Result<Vec<T>> {
    let s5 = &input.s5;
    let bits = u32::from(s5.u8(12)?);
    let max_level = u32::from(s5.u16(13)?);
    let n_levels = usize::from(s5.u16(15)?);
    let d = s5.u8(17)?;
    let mut levels = Vec::with_capacity(n_levels + 1);
    levels.push(T::MISSING);
    // The decimal scale factor here is one octet, negative above 127.
    let d = if d > 127 {
        -(i64::from(d) - 128)
    } else {
        i64::from(d)
    };
    let factor = codes_power(-d, 10.0);
    for k in 0..n_levels {
        levels.push(T::from_f64(f64::from(s5.u16(18 + 2 * k)?) * factor));
    }
    runs(input.data, input.n_values, bits, max_level, &levels).map_err(input.err("run-length"))
}

fn runs<T: Value>(
    data: &[u8],
    n: usize,
    bits: u32,
    max_level: u32,
    levels: &[T],
) -> Result<Vec<T>, UnpackError> {
    let bad = |name, value: u32| UnpackError::BadParameter {
        name,
        value: i64::from(value),
    };
    if bits == 0 || bits > 32 {
        return Err(bad("bitsPerValue", bits));
    }
    let n_codes = data.len() as u64 * 8 / u64::from(bits);
    if n_codes == 0 || max_level == 0 {
        return Ok(vec![T::MISSING; n]);
    }
    let range = (1u64 << bits) - 1;
    if max_level as usize >= levels.len() || u64::from(max_level) >= range {
        return Err(bad("maxLevelValue", max_level));
    }
    let range = range - u64::from(max_level);
    let mut r = BitReader::new(data);
    let mut out = Vec::with_capacity(n);
    let mut i = 0u64;
    let mut next = r.read(bits)?;
    while i < n_codes {
        if next > u64::from(max_level) {
            return Err(UnpackError::Corrupt(format!(
                "code {i} is a run length ({next}) where a level was expected"
            )));
        }
        let level = levels[next as usize];
        i += 1;
        let mut count: u64 = 1;
        let mut factor: u64 = 1;
        while i < n_codes {
            next = r.read(bits)?;
            if next <= u64::from(max_level) {
                break;
            }
            let digit = next - u64::from(max_level) - 1;
            count = digit
                .checked_mul(factor)
                .and_then(|c| c.checked_add(count))
                .unwrap_or(u64::MAX);
            factor = factor.saturating_mul(range);
            i += 1;
            if count > n as u64 {
                break;
            }
        }
        if count > (n - out.len()) as u64 {
            return Err(UnpackError::CountMismatch {
                expected: n as u64,
                found: out.len() as u64 + count,
            });
        }
        out.resize(out.len() + count as usize, level);
    }
    if out.len() != n {
        return Err(UnpackError::CountMismatch {
            expected: n as u64,
            found: out.len() as u64,
        });
    }
    Ok(out)
}
