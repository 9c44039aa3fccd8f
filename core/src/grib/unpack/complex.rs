//! Templates 5.2 (complex packing) and 5.3 (complex packing and spatial
//! differencing), decoded as ecCodes' `data_g22order_packing` does.
//!
//! Section 7 holds, each part starting on a byte boundary: for 5.3 the first
//! one or two undifferenced values and the overall minimum of the
//! differences (`numberOfOctetsExtraDescriptors` octets each), then one
//! reference per group (`bitsPerValue` bits), one width per group, one
//! length per group, and finally the values of each group.

use super::bits::BitReader;
use super::{Input, Scaling, Value};
use crate::{Result, UnpackError};

/// Marks a missing value among the integers (ecCodes uses `LONG_MAX` too).
const MISSING: i64 = i64::MAX;

/// The group description of section 5 (octets 22–49).
#[derive(Debug, Clone, Copy)]
struct Groups {
    missing_management: u8,
    count: u32,
    width_reference: u8,
    width_bits: u8,
    length_reference: u32,
    length_increment: u8,
    last_length: u32,
    length_bits: u8,
    /// Order of spatial differencing (0 for template 5.2).
    order: u8,
    /// Octets per extra descriptor in section 7 (5.3 only).
    extra_octets: u8,
}

pub(crate) fn decode<T: Value>(input: &Input<'_>, spatial: bool) -> Result<Vec<T>> {
    let s5 = &input.s5;
    let sc = Scaling::read(s5)?;
    let g = Groups {
        missing_management: s5.u8(23)?,
        count: s5.u32(32)?,
        width_reference: s5.u8(36)?,
        width_bits: s5.u8(37)?,
        length_reference: s5.u32(38)?,
        length_increment: s5.u8(42)?,
        last_length: s5.u32(43)?,
        length_bits: s5.u8(47)?,
        order: if spatial { s5.u8(48)? } else { 0 },
        extra_octets: if spatial { s5.u8(49)? } else { 0 },
    };
    let packing = if spatial {
        "complex with spatial differencing"
    } else {
        "complex"
    };
    let ints = unpack_integers(input.data, input.n_values, sc.bits_per_value, &g)
        .map_err(input.err(packing))?;
    Ok(ints
        .into_iter()
        .map(|v| {
            if v == MISSING {
                T::MISSING
            } else {
                T::from_f64(sc.apply(v as f64))
            }
        })
        .collect())
}

fn bad(name: &'static str, value: impl Into<i64>) -> UnpackError {
    UnpackError::BadParameter {
        name,
        value: value.into(),
    }
}

/// The scaled integers of the field, [`MISSING`] where a missing-value code is found.
fn unpack_integers(
    data: &[u8],
    n: usize,
    bits_per_value: u32,
    g: &Groups,
) -> Result<Vec<i64>, UnpackError> {
    if bits_per_value > 32 {
        return Err(bad("bitsPerValue", bits_per_value));
    }
    if g.missing_management > 2 {
        return Err(bad("missingValueManagementUsed", g.missing_management));
    }
    if g.order > 2 {
        return Err(bad("orderOfSpatialDifferencing", g.order));
    }
    if g.order > 0 && g.extra_octets > 8 {
        return Err(bad("numberOfOctetsExtraDescriptors", g.extra_octets));
    }
    let ng = g.count as u64;
    // Every group holds at least one value: more groups than values is corrupt
    // (and would let a tiny message loop for billions of empty groups).
    if ng > n as u64 {
        return Err(bad("numberOfGroupsOfDataValues", g.count));
    }
    let extra_bits = if g.order > 0 {
        (1 + u64::from(g.order)) * u64::from(g.extra_octets) * 8
    } else {
        0
    };
    let bytes = |bits: u64| bits.div_ceil(8);
    let widths_at = bytes(ng * u64::from(bits_per_value) + extra_bits);
    let lengths_at = widths_at + bytes(ng * u64::from(g.width_bits));
    let values_at = lengths_at + bytes(ng * u64::from(g.length_bits));
    if values_at > data.len() as u64 {
        return Err(UnpackError::ShortData {
            needed: values_at * 8,
            available: data.len() as u64 * 8,
        });
    }
    // values_at ≤ data.len(), so these fit in usize.
    let (widths_at, lengths_at, values_at) =
        (widths_at as usize, lengths_at as usize, values_at as usize);
    let mut refs = BitReader::at_bit(&data[..widths_at], extra_bits);
    let mut widths = BitReader::new(&data[widths_at..lengths_at]);
    let mut lengths = BitReader::new(&data[lengths_at..values_at]);
    let mut vals = BitReader::new(&data[values_at..]);

    let mut out = vec![0i64; n];
    let mut filled = 0usize;
    // Missing-value codes for groups of width 0: all ones in bitsPerValue bits
    // (primary) and one less (secondary).
    let ref_max = (1i64 << bits_per_value) - 1;
    for i in 0..ng {
        let reference = refs.read(bits_per_value)? as i64;
        let scaled_length = lengths.read(u32::from(g.length_bits))?;
        let width = widths
            .read(u32::from(g.width_bits))?
            .saturating_add(u64::from(g.width_reference));
        let length = if i == ng - 1 {
            u64::from(g.last_length)
        } else {
            scaled_length
                .saturating_mul(u64::from(g.length_increment))
                .saturating_add(u64::from(g.length_reference))
        };
        if length > (n - filled) as u64 {
            return Err(UnpackError::Corrupt(format!(
                "group {i} of {length} values overruns the {n} values of the field ({filled} already decoded)"
            )));
        }
        if width > 32 {
            return Err(bad("group width", i64::try_from(width).unwrap_or(i64::MAX)));
        }
        let width = width as u32;
        let group = &mut out[filled..filled + length as usize];
        filled += group.len();
        if width == 0 {
            let missing = match g.missing_management {
                1 => reference == ref_max,
                2 => reference == ref_max || reference == ref_max - 1,
                _ => false,
            };
            group.fill(if missing { MISSING } else { reference });
            continue;
        }
        let all_ones = (1i64 << width) - 1;
        match g.missing_management {
            0 => {
                for v in group.iter_mut() {
                    *v = reference.wrapping_add(vals.read(width)? as i64);
                }
            }
            1 => {
                for v in group.iter_mut() {
                    let x = vals.read(width)? as i64;
                    *v = if x == all_ones {
                        MISSING
                    } else {
                        reference.wrapping_add(x)
                    };
                }
            }
            _ => {
                for v in group.iter_mut() {
                    let x = vals.read(width)? as i64;
                    *v = if x == all_ones || x == all_ones - 1 {
                        MISSING
                    } else {
                        reference.wrapping_add(x)
                    };
                }
            }
        }
    }
    // Values past the last group stay 0, as in ecCodes (SUP-718).

    if g.order > 0 {
        let mut head = BitReader::new(data);
        let bits = u32::from(g.extra_octets) * 8;
        let first = head.read(bits)? as i64;
        let second = if g.order == 2 {
            head.read(bits)? as i64
        } else {
            0
        };
        let bias = head.read_signed(bits)?;
        undo_differencing(&mut out, g.order, first, second, bias);
    }
    Ok(out)
}

/// Rebuilds the values from their first or second order differences, skipping
/// missing points, with ecCodes' (wrapping) integer arithmetic. The first
/// values are taken as stored, unsigned, as ecCodes reads them.
fn undo_differencing(vals: &mut [i64], order: u8, first: i64, second: i64, bias: i64) {
    let mut present = vals.iter_mut().filter(|v| **v != MISSING);
    if order == 1 {
        let Some(v) = present.next() else { return };
        *v = first;
        let mut last = first;
        for v in present {
            *v = v.wrapping_add(last).wrapping_add(bias);
            last = *v;
        }
    } else {
        let Some(v) = present.next() else { return };
        *v = first;
        let Some(v) = present.next() else { return };
        *v = second;
        let (mut penultimate, mut last) = (first, second);
        for v in present {
            *v = v
                .wrapping_add(bias)
                .wrapping_add(last)
                .wrapping_add(last)
                .wrapping_sub(penultimate);
            penultimate = last;
            last = *v;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn second_order_differences_skip_missing_points() {
        let mut v = [7, MISSING, 9, 0, 1, MISSING, 2];
        undo_differencing(&mut v, 2, 10, 12, -1);
        // 10, 12, then v = d + bias + 2*last - penultimate.
        assert_eq!(v, [10, MISSING, 12, 13, 14, MISSING, 16]);
    }

    #[test]
    fn first_order_differences() {
        let mut v = [0, 1, 2, MISSING, 0];
        undo_differencing(&mut v, 1, 5, 0, 2);
        assert_eq!(v, [5, 8, 12, MISSING, 14]);
    }
}
