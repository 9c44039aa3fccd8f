//! Checked reads of octets from one GRIB2 section.
//!
//! Octet numbers are 1-based, as in the WMO manual (FM 92 GRIB edition 2):
//! `sec.u16(12)` reads octets 12–13 of the section. Every read is checked and
//! fails with [`Error::Truncated`] naming the message offset.

use crate::{Error, Result};

/// One section of a GRIB2 message, including its 5-octet header
/// (length and section number), so octet `n` of the WMO tables is `bytes[n-1]`.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// The section's bytes, header included.
    pub bytes: &'a [u8],
    /// Byte offset of the message this section belongs to (for errors).
    pub msg_offset: u64,
}

impl<'a> Section<'a> {
    /// Wraps the bytes of one section.
    #[must_use]
    pub fn new(bytes: &'a [u8], msg_offset: u64) -> Self {
        Self { bytes, msg_offset }
    }

    /// The section number (octet 5); 0 if unknown.
    #[must_use]
    pub fn number(&self) -> u8 {
        self.bytes.get(4).copied().unwrap_or(0)
    }

    /// The length of the section in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for an empty slice (never for a framed section).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take<const N: usize>(&self, octet: usize, what: &'static str) -> Result<[u8; N]> {
        let start = octet.checked_sub(1).ok_or(Error::InvalidSection {
            offset: self.msg_offset,
            section: self.number(),
            reason: "octet 0 requested".into(),
        })?;
        self.bytes
            .get(start..start + N)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::Truncated {
                offset: self.msg_offset,
                what,
                needed: (start + N) as u64,
                available: self.bytes.len() as u64,
            })
    }

    /// Octet `octet`.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn u8(&self, octet: usize) -> Result<u8> {
        Ok(self.take::<1>(octet, "a section octet")?[0])
    }

    /// Big-endian unsigned 16-bit integer at `octet`.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn u16(&self, octet: usize) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take(octet, "a 2-octet field")?))
    }

    /// Big-endian unsigned 32-bit integer at `octet`.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn u32(&self, octet: usize) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take(octet, "a 4-octet field")?))
    }

    /// Big-endian unsigned 64-bit integer at `octet`.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn u64(&self, octet: usize) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(octet, "an 8-octet field")?))
    }

    /// GRIB sign-and-magnitude 8-bit integer (top bit is the sign).
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn i8(&self, octet: usize) -> Result<i8> {
        let v = self.u8(octet)?;
        let mag = (v & 0x7f) as i8;
        Ok(if v & 0x80 != 0 { -mag } else { mag })
    }

    /// GRIB sign-and-magnitude 16-bit integer.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn i16(&self, octet: usize) -> Result<i16> {
        let v = self.u16(octet)?;
        let mag = (v & 0x7fff) as i16;
        Ok(if v & 0x8000 != 0 { -mag } else { mag })
    }

    /// GRIB sign-and-magnitude 32-bit integer.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn i32(&self, octet: usize) -> Result<i32> {
        let v = self.u32(octet)?;
        let mag = (v & 0x7fff_ffff) as i32;
        Ok(if v & 0x8000_0000 != 0 { -mag } else { mag })
    }

    /// IEEE 754 single-precision float at `octet` (big-endian).
    ///
    /// # Errors
    /// [`Error::Truncated`] when the section is shorter.
    pub fn f32(&self, octet: usize) -> Result<f32> {
        Ok(f32::from_be_bytes(self.take(octet, "a 4-octet float")?))
    }

    /// The octets from `from` (1-based, inclusive) to the end of the section.
    ///
    /// # Errors
    /// [`Error::Truncated`] when `from` lies beyond the section.
    pub fn tail(&self, from: usize) -> Result<&'a [u8]> {
        let start = from.saturating_sub(1);
        self.bytes.get(start..).ok_or(Error::Truncated {
            offset: self.msg_offset,
            what: "section contents",
            needed: start as u64,
            available: self.bytes.len() as u64,
        })
    }
}
