//! Template 5.0 (grid point data, simple packing) and 5.4 (IEEE floating point).

use super::bits::BitReader;
use super::{Input, Scaling, Value};
use crate::{Result, UnpackError};

/// Template 5.0: `numberOfValues` integers of `bitsPerValue` bits, scaled.
/// `bitsPerValue` 0 is a constant field: every value is the reference value,
/// unscaled, as ecCodes returns it.
pub(crate) fn decode<T: Value>(input: &Input<'_>) -> Result<Vec<T>> {
    let sc = Scaling::read(&input.s5)?;
    if sc.bits_per_value == 0 {
        return Ok(vec![T::from_f64(sc.reference); input.n_values]);
    }
    unpack_scaled(input.data, input.n_values, sc).map_err(input.err("simple"))
}

/// Reads `n` packed integers of `sc.bits_per_value` bits from `data` and scales them.
pub(crate) fn unpack_scaled<T: Value>(
    data: &[u8],
    n: usize,
    sc: Scaling,
) -> Result<Vec<T>, UnpackError> {
    let bpv = sc.bits_per_value;
    if bpv > 64 {
        return Err(UnpackError::BadParameter {
            name: "bitsPerValue",
            value: i64::from(bpv),
        });
    }
    let needed = n as u64 * u64::from(bpv);
    let available = data.len() as u64 * 8;
    if needed > available {
        return Err(UnpackError::ShortData { needed, available });
    }
    let mut out = Vec::with_capacity(n);
    let scale = |x: u64| T::from_f64(sc.apply(x as f64));
    match bpv {
        8 => out.extend(data[..n].iter().map(|&b| scale(u64::from(b)))),
        16 => out.extend(
            data[..2 * n]
                .chunks_exact(2)
                .map(|c| scale(u64::from(u16::from_be_bytes([c[0], c[1]])))),
        ),
        24 => out.extend(
            data[..3 * n]
                .chunks_exact(3)
                .map(|c| scale(u64::from(u32::from_be_bytes([0, c[0], c[1], c[2]])))),
        ),
        32 => out.extend(
            data[..4 * n]
                .chunks_exact(4)
                .map(|c| scale(u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))),
        ),
        1..=57 => {
            // Value i lies in the 8 bytes from bit i·bpv rounded down to a byte:
            // one unaligned big-endian load, one shift left, one shift right.
            // Bit positions in u64: they may pass 2^32 where usize is 32 bits.
            let width = u64::from(bpv);
            let direct = match data.len().checked_sub(8) {
                Some(last) => usize::try_from(last as u64 * 8 / width + 1).map_or(n, |d| d.min(n)),
                None => 0,
            };
            out.extend((0..direct).map(|i| {
                let bit = i as u64 * width;
                let at = (bit / 8) as usize;
                let mut w = [0u8; 8];
                w.copy_from_slice(&data[at..at + 8]);
                scale((u64::from_be_bytes(w) << (bit % 8)) >> (64 - bpv))
            }));
            let mut r = BitReader::at_bit(data, direct as u64 * width);
            for _ in direct..n {
                out.push(scale(r.read(bpv)?));
            }
        }
        _ => {
            let mut r = BitReader::new(data);
            for _ in 0..n {
                out.push(scale(r.read(bpv)?));
            }
        }
    }
    Ok(out)
}

/// Template 5.4: IEEE floats of 32 or 64 bits (octet 12, code table 5.7).
pub(crate) fn decode_ieee<T: Value>(input: &Input<'_>) -> Result<Vec<T>> {
    let precision = input.s5.u8(12)?;
    let n = input.n_values;
    let run = || -> Result<Vec<T>, UnpackError> {
        let size = match precision {
            1 => 4,
            2 => 8,
            other => {
                return Err(UnpackError::BadParameter {
                    name: "precision",
                    value: i64::from(other),
                })
            }
        };
        let needed = n as u64 * size as u64;
        if needed > input.data.len() as u64 {
            return Err(UnpackError::ShortData {
                needed: needed * 8,
                available: input.data.len() as u64 * 8,
            });
        }
        let bytes = &input.data[..n * size];
        Ok(if size == 4 {
            bytes
                .chunks_exact(4)
                .map(|c| T::from_f64(f64::from(f32::from_be_bytes([c[0], c[1], c[2], c[3]]))))
                .collect()
        } else {
            bytes
                .chunks_exact(8)
                .map(|c| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(c);
                    T::from_f64(f64::from_be_bytes(w))
                })
                .collect()
        })
    };
    run().map_err(input.err("IEEE floating point"))
}
