//! Template 5.40: the scaled integers are the samples of a JPEG 2000 code
//! stream (one component), decoded with the pure-Rust `hayro-jpeg2000`.
//!
//! Only what decodes exactly is accepted: the reversible 5/3 wavelet (the
//! lossless coding every GRIB producer we know uses), one component, at most
//! 24 bits per sample (the decoder hands samples over as f32, exact up to
//! 2^24). Anything else is refused with [`Error::UnsupportedPacking`] rather
//! than decoded approximately. The code stream's main header is checked
//! first, so a hostile size or tile count is refused before the decoder
//! allocates anything.

use super::{Input, Scaling, Value};
use crate::{Error, Result, UnpackError};

pub(crate) fn decode<T: Value>(input: &Input<'_>) -> Result<Vec<T>> {
    let sc = Scaling::read(&input.s5)?;
    if sc.bits_per_value == 0 {
        return Ok(vec![T::from_f64(sc.reference); input.n_values]);
    }
    let unsupported = |name| Error::UnsupportedPacking {
        offset: input.offset,
        template: 40,
        name,
    };
    match check_header(input.data, input.n_values).map_err(input.err("JPEG2000"))? {
        Header::Supported => {}
        Header::Irreversible => {
            return Err(unsupported("JPEG2000 with the irreversible 9/7 wavelet"))
        }
        Header::Precision => return Err(unsupported("JPEG2000 with more than 24 bits per value")),
    }
    decode_stream(input.data, input.n_values, sc).map_err(input.err("JPEG2000"))
}

fn decode_stream<T: Value>(data: &[u8], n: usize, sc: Scaling) -> Result<Vec<T>, UnpackError> {
    let corrupt = |e: hayro_jpeg2000::DecodeError| UnpackError::Corrupt(format!("JPEG2000: {e}"));
    let settings = hayro_jpeg2000::DecodeSettings {
        resolve_palette_indices: false,
        ..Default::default()
    };
    let image = hayro_jpeg2000::Image::new(data, &settings).map_err(corrupt)?;
    let mut ctx = hayro_jpeg2000::DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(corrupt)?;
    let [component] = decoded.components() else {
        return Err(UnpackError::BadParameter {
            name: "JPEG2000 components",
            value: decoded.components().len() as i64,
        });
    };
    let samples = component.samples();
    if samples.len() != n {
        return Err(UnpackError::CountMismatch {
            expected: n as u64,
            found: samples.len() as u64,
        });
    }
    Ok(samples
        .iter()
        .map(|&x| T::from_f64(sc.apply(f64::from(x))))
        .collect())
}

/// What the main header says about exact decodability.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    Supported,
    Irreversible,
    Precision,
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
        *d.get(at + 2)?,
        *d.get(at + 3)?,
    ]))
}

/// Reads the SIZ segment and the COD/COC segments of the main header.
fn check_header(d: &[u8], n: usize) -> Result<Header, UnpackError> {
    let corrupt = |what: &str| UnpackError::Corrupt(format!("JPEG2000 main header: {what}"));
    // A JP2 file wrapper is left to the decoder; GRIB carries bare code streams.
    if be16(d, 0) != Some(0xff4f) || be16(d, 2) != Some(0xff51) {
        return if d.starts_with(b"\x00\x00\x00\x0cjP  ") {
            Ok(Header::Supported)
        } else {
            Err(corrupt("no SOC and SIZ markers"))
        };
    }
    let siz = |at| be32(d, at).ok_or_else(|| corrupt("SIZ segment truncated"));
    let (x, y, x0, y0) = (siz(8)?, siz(12)?, siz(16)?, siz(20)?);
    let (tw, th, tx0, ty0) = (siz(24)?, siz(28)?, siz(32)?, siz(36)?);
    let components = be16(d, 40).ok_or_else(|| corrupt("SIZ segment truncated"))?;
    let width = x
        .checked_sub(x0)
        .ok_or_else(|| corrupt("image origin beyond its size"))?;
    let height = y
        .checked_sub(y0)
        .ok_or_else(|| corrupt("image origin beyond its size"))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels != n as u64 {
        return Err(UnpackError::CountMismatch {
            expected: n as u64,
            found: pixels,
        });
    }
    if components != 1 {
        return Err(UnpackError::BadParameter {
            name: "JPEG2000 components",
            value: i64::from(components),
        });
    }
    if tw == 0 || th == 0 || tx0 > x0 || ty0 > y0 {
        return Err(corrupt("bad tile grid"));
    }
    // Every tile needs at least an SOT and an SOD marker (14 bytes).
    let tiles =
        u64::from(x - tx0).div_ceil(u64::from(tw)) * u64::from(y - ty0).div_ceil(u64::from(th));
    if tiles > d.len() as u64 / 14 + 1 {
        return Err(UnpackError::BadParameter {
            name: "JPEG2000 tiles",
            value: tiles as i64,
        });
    }
    let ssiz = *d.get(42).ok_or_else(|| corrupt("SIZ segment truncated"))?;
    if (ssiz & 0x7f) + 1 > 24 {
        return Ok(Header::Precision);
    }
    // Marker segments up to the first tile (SOT): COD and COC name the wavelet.
    let mut pos = 4 + usize::from(be16(d, 4).ok_or_else(|| corrupt("SIZ segment truncated"))?);
    while let (Some(marker), Some(len)) = (be16(d, pos), be16(d, pos + 2)) {
        let transform = match marker {
            0xff90 => break,
            // Lcod, Scod, SGcod (4), levels, code-block width, height, style, transform.
            0xff52 => d.get(pos + 13),
            // Lcoc, Ccoc (1 byte: fewer than 257 components), Scoc, then as COD.
            0xff53 => d.get(pos + 10),
            _ => None,
        };
        if transform == Some(&0) {
            return Ok(Header::Irreversible);
        }
        pos += 2 + usize::from(len);
    }
    Ok(Header::Supported)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(transform: u8, precision: u8) -> Vec<u8> {
        let mut d = vec![0xff, 0x4f, 0xff, 0x51, 0, 41, 0, 0];
        for v in [3u32, 2, 0, 0, 3, 2, 0, 0] {
            d.extend(v.to_be_bytes());
        }
        d.extend([0, 1, precision - 1, 1, 1]);
        d.extend([0xff, 0x52, 0, 12, 0, 0, 0, 0, 1, 0, 4, 4, 0, transform]);
        d.extend([0xff, 0x90]);
        d.resize(64, 0);
        d
    }

    #[test]
    fn main_header_checks() {
        assert_eq!(check_header(&header(1, 12), 6).unwrap(), Header::Supported);
        assert_eq!(
            check_header(&header(0, 12), 6).unwrap(),
            Header::Irreversible
        );
        assert_eq!(check_header(&header(1, 25), 6).unwrap(), Header::Precision);
        assert!(check_header(&header(1, 12), 7).is_err());
        assert!(check_header(&header(1, 12)[..20], 6).is_err());
    }
}
