//! A big-endian (most significant bit first) bit reader, as GRIB packs
//! integers, refilled a 64-bit word at a time.

use crate::UnpackError;

/// Reads unsigned integers of 0–64 bits from a byte slice, MSB first.
///
/// The accumulator holds `nbits` valid bits at its top; refills load eight
/// bytes at once while at least eight remain, so the common path costs one
/// shift and one mask per value.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` not yet (fully) in the accumulator.
    pos: usize,
    acc: u64,
    nbits: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            acc: 0,
            nbits: 0,
        }
    }

    /// Starts at bit `bit` of `data` (bits past the end read as an error).
    pub(crate) fn at_bit(data: &'a [u8], bit: u64) -> Self {
        let byte = usize::try_from(bit / 8)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let mut r = Self {
            data,
            pos: byte,
            acc: 0,
            nbits: 0,
        };
        let skip = (bit % 8) as u32;
        if skip > 0 && byte < data.len() {
            // Cannot fail: one byte is there.
            let _ = r.read(skip);
        }
        r
    }

    /// Total bits in the underlying slice.
    pub(crate) fn total_bits(&self) -> u64 {
        self.data.len() as u64 * 8
    }

    /// Bits consumed so far.
    pub(crate) fn position(&self) -> u64 {
        self.pos as u64 * 8 - u64::from(self.nbits)
    }

    #[inline]
    fn refill(&mut self) {
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let word = u64::from_be_bytes(w);
            // Bits already in the accumulator below `nbits` are the same data
            // bits, so OR-ing the whole word in is consistent.
            self.acc |= word >> self.nbits;
            let take = (63 - self.nbits) >> 3;
            self.pos += take as usize;
            self.nbits += take * 8;
        } else {
            while self.nbits <= 56 {
                let Some(&b) = self.data.get(self.pos) else {
                    break;
                };
                self.acc |= u64::from(b) << (56 - self.nbits);
                self.pos += 1;
                self.nbits += 8;
            }
        }
    }

    /// Reads `n` bits (`n` ≤ 56).
    #[inline]
    fn read_small(&mut self, n: u32) -> Result<u64, UnpackError> {
        debug_assert!(n <= 56);
        if n == 0 {
            return Ok(0);
        }
        if self.nbits < n {
            self.refill();
            if self.nbits < n {
                return Err(self.short(n));
            }
        }
        let v = self.acc >> (64 - n);
        self.acc <<= n;
        self.nbits -= n;
        Ok(v)
    }

    /// Reads `n` bits (`n` ≤ 64) as an unsigned integer.
    #[inline]
    pub(crate) fn read(&mut self, n: u32) -> Result<u64, UnpackError> {
        if n <= 56 {
            self.read_small(n)
        } else if n <= 64 {
            let hi = self.read_small(32)?;
            let lo = self.read_small(n - 32)?;
            Ok((hi << (n - 32)) | lo)
        } else {
            Err(UnpackError::BadParameter {
                name: "bit width",
                value: i64::from(n),
            })
        }
    }

    /// Reads a GRIB sign-and-magnitude integer of `n` bits (`n` ≤ 64).
    pub(crate) fn read_signed(&mut self, n: u32) -> Result<i64, UnpackError> {
        if n == 0 {
            return Ok(0);
        }
        let sign = self.read(1)?;
        let mag = self.read(n - 1)?;
        let mag = i64::try_from(mag).unwrap_or(i64::MAX);
        Ok(if sign == 1 { -mag } else { mag })
    }

    fn short(&self, n: u32) -> UnpackError {
        UnpackError::ShortData {
            needed: self.position() + u64::from(n),
            available: self.total_bits(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn naive(data: &[u8], bit: u64, n: u32) -> u64 {
        let mut v = 0u64;
        for k in 0..u64::from(n) {
            let b = bit + k;
            let byte = data[(b / 8) as usize];
            v = (v << 1) | u64::from((byte >> (7 - (b % 8))) & 1);
        }
        v
    }

    #[test]
    fn matches_bit_by_bit_reading() {
        let data: Vec<u8> = (0..97u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for width in [
            1u32, 3, 7, 8, 9, 12, 16, 17, 24, 25, 31, 32, 33, 48, 57, 63, 64,
        ] {
            let mut r = BitReader::new(&data);
            let mut bit = 0u64;
            while bit + u64::from(width) <= data.len() as u64 * 8 {
                assert_eq!(
                    r.read(width).unwrap(),
                    naive(&data, bit, width),
                    "width {width} bit {bit}"
                );
                bit += u64::from(width);
            }
            assert!(r.read(width).is_err() || width == 0);
        }
    }

    #[test]
    fn starts_mid_byte() {
        let data = [0b1010_1100u8, 0b0101_0011, 0xff, 0x00, 0x81];
        let mut r = BitReader::at_bit(&data, 3);
        assert_eq!(r.read(5).unwrap(), 0b01100);
        assert_eq!(r.position(), 8);
        assert_eq!(r.read(3).unwrap(), 0b010);
        assert_eq!(r.read(5).unwrap(), 0b10011);
        assert_eq!(r.read(8).unwrap(), 0xff);
        let mut r = BitReader::new(&data[4..]);
        assert_eq!(r.read_signed(8).unwrap(), -1);
    }
}
