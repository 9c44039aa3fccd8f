//! Value decoding: one module per data representation template (5.N).
//!
//! Every decoder reproduces ecCodes 2.50 bit for bit: values are computed in
//! f64 with the same scale factors (`2^E` and `10^-D` built by repeated
//! multiplication or division, as ecCodes' `codes_power` does) and the same
//! expression order, `((x * 2^E) + R) * 10^-D`; f32 output is that f64 value
//! rounded to f32. Where ecCodes returns `missingValue` (a bitmap's 0 bit,
//! complex packing's missing-value codes, run-length level 0) gik yields NaN.
//!
//! Every length a header implies is checked against the section before it
//! is read, the number of points against [`DecodeOptions::max_points`]
//! before anything is allocated, and every loop is bounded by the number of
//! values, so hostile input yields an error, never a panic or a hang.

mod bitmap;
mod bits;
mod ccsds;
mod complex;
#[cfg(feature = "jpeg2000")]
mod jpeg;
#[cfg(feature = "png")]
mod png;
mod run_length;
mod simple;

use super::frame::Field;
use super::section::Section;
use crate::{Error, Result, UnpackError};

/// Limits that protect against hostile headers.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Largest number of grid points a field may have (default 2^27, 1 GiB of f64).
    pub max_points: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_points: 1 << 27,
        }
    }
}

impl Field<'_> {
    /// Decodes the values as f64, NaN where the bitmap marks a point missing.
    ///
    /// # Errors
    /// Unsupported packing, corrupt or truncated data.
    pub fn decode_f64(&self) -> Result<Vec<f64>> {
        self.decode_f64_with(&DecodeOptions::default())
    }

    /// [`Field::decode_f64`] with explicit limits.
    ///
    /// # Errors
    /// Unsupported packing, corrupt or truncated data, or a field over the limits.
    pub fn decode_f64_with(&self, opts: &DecodeOptions) -> Result<Vec<f64>> {
        decode(self, opts)
    }

    /// Decodes the values as f32 (ecCodes' f64 values cast to f32), NaN where missing.
    ///
    /// # Errors
    /// As [`Field::decode_f64`].
    pub fn decode_f32(&self) -> Result<Vec<f32>> {
        self.decode_f32_with(&DecodeOptions::default())
    }

    /// [`Field::decode_f32`] with explicit limits.
    ///
    /// # Errors
    /// As [`Field::decode_f64_with`].
    pub fn decode_f32_with(&self, opts: &DecodeOptions) -> Result<Vec<f32>> {
        decode(self, opts)
    }

    /// The values of [`Field::decode_f32`] as little-endian bytes, the layout
    /// of a `<f4` numpy array: decoded straight into bytes, without an f32
    /// array in between (one pass and one allocation fewer per field).
    ///
    /// # Errors
    /// As [`Field::decode_f64`].
    pub fn decode_f32_le(&self) -> Result<Vec<u8>> {
        decode::<[u8; 4]>(self, &DecodeOptions::default()).map(Vec::into_flattened)
    }

    /// The values of [`Field::decode_f64`] as little-endian bytes (`<f8`).
    ///
    /// # Errors
    /// As [`Field::decode_f64`].
    pub fn decode_f64_le(&self) -> Result<Vec<u8>> {
        decode::<[u8; 8]>(self, &DecodeOptions::default()).map(Vec::into_flattened)
    }
}

/// An output element type: f64, or f32 rounded from the f64 value.
pub(crate) trait Value: Copy + std::fmt::Debug {
    /// What a missing point becomes.
    const MISSING: Self;
    fn from_f64(v: f64) -> Self;
}

impl Value for f64 {
    const MISSING: Self = f64::NAN;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Value for f32 {
    const MISSING: Self = f32::NAN;
    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

/// An f32 as its little-endian bytes (see [`Field::decode_f32_le`]).
impl Value for [u8; 4] {
    const MISSING: Self = f32::NAN.to_le_bytes();
    #[inline(always)]
    #[allow(clippy::cast_possible_truncation)]
    fn from_f64(v: f64) -> Self {
        (v as f32).to_le_bytes()
    }
}

/// An f64 as its little-endian bytes (see [`Field::decode_f64_le`]).
impl Value for [u8; 8] {
    const MISSING: Self = f64::NAN.to_le_bytes();
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v.to_le_bytes()
    }
}

/// `n` to the power `s` exactly as ecCodes' `codes_power<double>` computes it:
/// by repeated multiplication (s > 0) or repeated division (s < 0).
pub(crate) fn codes_power(s: i64, n: f64) -> f64 {
    if s == 0 {
        return 1.0;
    }
    if s == 1 {
        return n;
    }
    let mut v = 1.0;
    if s < 0 {
        for _ in s..0 {
            v /= n;
        }
    } else {
        for _ in 0..s {
            v *= n;
        }
    }
    v
}

/// The scaling shared by most templates (octets 12–20 of section 5):
/// reference value R, binary scale factor E, decimal scale factor D and bits
/// per value, with ecCodes' `2^E` and `10^-D`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scaling {
    pub reference: f64,
    pub bscale: f64,
    pub dscale: f64,
    pub bits_per_value: u32,
}

impl Scaling {
    pub(crate) fn read(s5: &Section<'_>) -> Result<Self> {
        let reference = f64::from(s5.f32(12)?);
        let e = i64::from(s5.i16(16)?);
        let d = i64::from(s5.i16(18)?);
        let bits_per_value = u32::from(s5.u8(20)?);
        Ok(Self {
            reference,
            bscale: codes_power(e, 2.0),
            dscale: codes_power(-d, 10.0),
            bits_per_value,
        })
    }

    /// `((x * 2^E) + R) * 10^-D`, the expression order of ecCodes.
    #[inline(always)]
    pub(crate) fn apply(&self, x: f64) -> f64 {
        ((x * self.bscale) + self.reference) * self.dscale
    }
}

/// What the dispatcher hands a packing decoder.
pub(crate) struct Input<'a> {
    /// Byte offset of the message (for errors).
    pub offset: u64,
    /// Section 5.
    pub s5: Section<'a>,
    /// The packed data: section 7 from octet 6.
    pub data: &'a [u8],
    /// `numberOfValues` (section 5, octets 6–9): values packed in section 7.
    pub n_values: usize,
}

impl Input<'_> {
    /// Wraps a decoder's [`UnpackError`] into [`Error::Unpack`].
    pub(crate) fn err(&self, packing: &'static str) -> impl Fn(UnpackError) -> Error {
        let offset = self.offset;
        move |source| Error::Unpack {
            offset,
            packing,
            source,
        }
    }
}

fn decode<T: Value>(field: &Field<'_>, opts: &DecodeOptions) -> Result<Vec<T>> {
    let offset = field.msg_offset;
    let s = &field.sections;
    let n_points = u64::from(s.s3.u32(7)?);
    let n_values = u64::from(s.s5.u32(6)?);
    let too_large = |points: u64| Error::TooLarge {
        offset,
        points,
        limit: opts.max_points,
    };
    for points in [n_points, n_values] {
        if points > opts.max_points {
            return Err(too_large(points));
        }
    }
    let n_points = usize::try_from(n_points).map_err(|_| too_large(n_points))?;
    let n_values = usize::try_from(n_values).map_err(|_| too_large(n_values))?;
    let template = s.s5.u16(10)?;
    let input = Input {
        offset,
        s5: s.s5,
        data: s.s7.tail(6)?,
        n_values,
    };

    let coded: Vec<T> = match template {
        0 => simple::decode(&input)?,
        2 => complex::decode(&input, false)?,
        3 => complex::decode(&input, true)?,
        4 => simple::decode_ieee(&input)?,
        #[cfg(feature = "jpeg2000")]
        40 => jpeg::decode(&input)?,
        #[cfg(feature = "png")]
        41 => png::decode(&input)?,
        #[cfg(not(feature = "jpeg2000"))]
        40 => {
            return Err(Error::NotBuiltIn {
                offset,
                what: "JPEG 2000 packing (template 5.40)",
                feature: "jpeg2000",
            })
        }
        #[cfg(not(feature = "png"))]
        41 => {
            return Err(Error::NotBuiltIn {
                offset,
                what: "PNG packing (template 5.41)",
                feature: "png",
            })
        }
        42 => decode_ccsds(&input)?,
        200 => run_length::decode(&input)?,
        other => {
            return Err(Error::UnsupportedPacking {
                offset,
                template: other,
                name: packing_name(other),
            })
        }
    };
    bitmap::apply(coded, s.s6.as_ref(), n_points).map_err(input.err("bitmap"))
}

/// Template 5.42: the AEC stream decoded to integers by [`ccsds::decode`], then scaled.
fn decode_ccsds<T: Value>(input: &Input<'_>) -> Result<Vec<T>> {
    let s5 = &input.s5;
    let sc = Scaling::read(s5)?;
    let flags = u32::from(s5.u8(22)?);
    let block_size = u32::from(s5.u8(23)?);
    let rsi = u32::from(s5.u16(24)?);
    if sc.bits_per_value == 0 {
        return Ok(vec![T::from_f64(sc.reference); input.n_values]);
    }
    let run = || -> std::result::Result<Vec<T>, UnpackError> {
        if sc.bits_per_value > 32 {
            return Err(UnpackError::BadParameter {
                name: "bitsPerValue",
                value: i64::from(sc.bits_per_value),
            });
        }
        let mut samples = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        samples.clear();
        samples.reserve(input.n_values);
        let result = decode_with_samples(input, &sc, flags, block_size, rsi, &mut samples);
        // keep the buffer for this thread's next field (up to 64 MB)
        if samples.capacity() <= SCRATCH_MAX {
            SCRATCH.with(|s| *s.borrow_mut() = samples);
        }
        result
    };
    run().map_err(input.err("CCSDS"))
}

// The sample buffer of [`decode_ccsds`], reused by the fields one thread
// decodes: a fresh 4 MB buffer per field cost page faults (7 % of `gik
// extract`'s CPU in `clear_page`), as the allocator returned freed pages.
thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}
const SCRATCH_MAX: usize = 16 << 20;

fn decode_with_samples<T: Value>(
    input: &Input<'_>,
    sc: &Scaling,
    flags: u32,
    block_size: u32,
    rsi: u32,
    samples: &mut Vec<u32>,
) -> std::result::Result<Vec<T>, UnpackError> {
    {
        ccsds::decode(
            input.data,
            sc.bits_per_value,
            flags,
            block_size,
            rsi,
            input.n_values,
            samples,
        )?;
        if samples.len() != input.n_values {
            return Err(UnpackError::CountMismatch {
                expected: input.n_values as u64,
                found: samples.len() as u64,
            });
        }
        // Samples of up to 31 bits convert through i32, which vectorises
        // with baseline x86-64 instructions (cvtdq2pd); u32 → f64 does not.
        // Both give the same f64 for every such sample.
        if sc.bits_per_value <= 31 {
            Ok(samples
                .iter()
                .map(|&x| T::from_f64(sc.apply(f64::from(x as i32))))
                .collect())
        } else {
            Ok(samples
                .iter()
                .map(|&x| T::from_f64(sc.apply(f64::from(x))))
                .collect())
        }
    }
}

/// Names of the data representation templates gik does not decode.
fn packing_name(template: u16) -> &'static str {
    match template {
        1 => "matrix values",
        40 => "JPEG2000",
        50 => "spectral simple",
        51 => "spectral complex",
        53 => "spectral simple for limited-area models",
        61 => "simple with logarithmic pre-processing",
        _ => "unknown",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::grib::fields;

    /// A GRIB2 message with the given section 5 template and parameters,
    /// optional bitmap bytes and section 7 data.
    fn message(
        n_points: u32,
        s5_template: u16,
        s5_params: &[u8],
        bitmap: Option<&[u8]>,
        data: &[u8],
        n_values: u32,
    ) -> Vec<u8> {
        let sec = |num: u8, body: &[u8]| {
            let mut s = ((body.len() + 5) as u32).to_be_bytes().to_vec();
            s.push(num);
            s.extend_from_slice(body);
            s
        };
        let mut body = sec(1, &[0; 16]);
        let mut s3 = vec![0u8; 9];
        s3[1..5].copy_from_slice(&n_points.to_be_bytes());
        body.extend(sec(3, &s3));
        body.extend(sec(4, &[0; 4]));
        let mut s5 = n_values.to_be_bytes().to_vec();
        s5.extend(s5_template.to_be_bytes());
        s5.extend_from_slice(s5_params);
        body.extend(sec(5, &s5));
        match bitmap {
            Some(b) => body.extend(sec(6, &[&[0u8][..], b].concat())),
            None => body.extend(sec(6, &[255])),
        }
        body.extend(sec(7, data));
        let total = 16 + body.len() + 4;
        let mut m = b"GRIB\0\0\0\x02".to_vec();
        m.extend((total as u64).to_be_bytes());
        m.extend(body);
        m.extend(b"7777");
        m
    }

    /// Octets 12–21 of templates 5.0/5.2/5.3/5.40/5.41/5.42: R, E, D, bits, type.
    fn scaling(r: f32, e: i16, d: i16, bits: u8) -> Vec<u8> {
        let sm = |v: i16| {
            if v < 0 {
                0x8000 | v.unsigned_abs()
            } else {
                v as u16
            }
        };
        let mut p = r.to_be_bytes().to_vec();
        p.extend(sm(e).to_be_bytes());
        p.extend(sm(d).to_be_bytes());
        p.extend([bits, 0]);
        p
    }

    fn decode64(m: &[u8]) -> Result<Vec<f64>> {
        fields(m).next().unwrap()?.decode_f64()
    }

    #[test]
    fn codes_power_divides_repeatedly() {
        assert_eq!(codes_power(-3, 10.0), 1.0 / 10.0 / 10.0 / 10.0);
        // Repeated division is not the correctly rounded power: 1.0000000000000002e-6.
        assert_eq!(codes_power(-6, 10.0), 1.000_000_000_000_000_2e-6);
        assert_ne!(codes_power(-6, 10.0), 1e-6);
        assert_eq!(codes_power(5, 2.0), 32.0);
        assert_eq!(codes_power(1, 10.0), 10.0);
        assert_eq!(codes_power(0, 10.0), 1.0);
    }

    #[test]
    fn simple_packing_uses_ecccodes_expression_order() {
        // Three 12-bit values 0, 1, 4095 with R = 1.5, E = -1, D = 2.
        let data = [0x00, 0x00, 0x01, 0xff, 0xf0];
        let m = message(3, 0, &scaling(1.5, -1, 2, 12), None, &data, 3);
        let v = decode64(&m).unwrap();
        let d = 1.0 / 10.0 / 10.0;
        assert_eq!(
            v,
            vec![
                ((0.0 * 0.5) + 1.5) * d,
                ((1.0 * 0.5) + 1.5) * d,
                ((4095.0 * 0.5) + 1.5) * d
            ]
        );
        let f = fields(&m).next().unwrap().unwrap().decode_f32().unwrap();
        assert_eq!(f, v.iter().map(|&x| x as f32).collect::<Vec<_>>());
    }

    #[test]
    fn constant_field_with_bitmap() {
        let m = message(
            10,
            0,
            &scaling(3.25, 0, 1, 0),
            Some(&[0b1010_0000, 0b0100_0000]),
            &[],
            3,
        );
        let v = decode64(&m).unwrap();
        let present: Vec<usize> = (0..10).filter(|&i| !v[i].is_nan()).collect();
        assert_eq!(present, vec![0, 2, 9]);
        // ecCodes returns the reference value unscaled for constant fields.
        assert!(present.iter().all(|&i| v[i] == 3.25));
    }

    #[test]
    fn limits_and_short_data_are_errors() {
        let m = message(1 << 20, 0, &scaling(0.0, 0, 0, 8), None, &[0; 16], 1 << 20);
        let f = fields(&m).next().unwrap().unwrap();
        let e = f
            .decode_f64_with(&DecodeOptions { max_points: 1000 })
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooLarge {
                    points: 1_048_576,
                    limit: 1000,
                    ..
                }
            ),
            "{e}"
        );
        let e = f.decode_f64().unwrap_err();
        assert!(
            matches!(
                e,
                Error::Unpack {
                    source: UnpackError::ShortData { .. },
                    ..
                }
            ),
            "{e}"
        );
        let m = message(4, 0, &scaling(0.0, 0, 0, 65), None, &[0; 64], 4);
        assert!(matches!(
            decode64(&m),
            Err(Error::Unpack {
                source: UnpackError::BadParameter { .. },
                ..
            })
        ));
        // A section 5 too short for its template.
        let m = message(4, 0, &[0; 3], None, &[0; 4], 4);
        assert!(matches!(decode64(&m), Err(Error::Truncated { .. })));
    }

    #[test]
    fn unknown_templates_are_named() {
        let m = message(4, 1, &scaling(0.0, 0, 0, 8), None, &[0; 4], 4);
        assert!(matches!(
            decode64(&m),
            Err(Error::UnsupportedPacking {
                template: 1,
                name: "matrix values",
                ..
            })
        ));
        let m = message(4, 999, &[], None, &[0; 4], 4);
        assert!(matches!(
            decode64(&m),
            Err(Error::UnsupportedPacking { template: 999, .. })
        ));
    }

    #[test]
    fn ieee_values() {
        let mut data = Vec::new();
        for v in [1.5f32, -2.25, 1e30] {
            data.extend(v.to_be_bytes());
        }
        let m = message(3, 4, &[1], None, &data, 3);
        assert_eq!(decode64(&m).unwrap(), vec![1.5, -2.25, f64::from(1e30f32)]);
        let data: Vec<u8> = [0.1f64, -7.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let m = message(2, 4, &[2], None, &data, 2);
        assert_eq!(decode64(&m).unwrap(), vec![0.1, -7.0]);
        let m = message(2, 4, &[3], None, &[0; 32], 2);
        assert!(decode64(&m).is_err());
    }

    fn png_image(
        width: u32,
        height: u32,
        color: ::png::ColorType,
        depth: ::png::BitDepth,
        raw: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = ::png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(depth);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(raw).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn png_low_depth_grey_and_rgb() {
        use ::png::{BitDepth, ColorType};
        // 3×2 grey, 2 bits: rows 0,1,2 / 3,2,1, each row padded to a byte.
        let img = png_image(
            3,
            2,
            ColorType::Grayscale,
            BitDepth::Two,
            &[0b0001_1000, 0b1110_0100],
        );
        let m = message(6, 41, &scaling(10.0, 1, 0, 2), None, &img, 6);
        assert_eq!(
            decode64(&m).unwrap(),
            vec![10.0, 12.0, 14.0, 16.0, 14.0, 12.0]
        );
        // 2×1 RGB: one 24-bit integer per pixel.
        let img = png_image(
            2,
            1,
            ColorType::Rgb,
            BitDepth::Eight,
            &[0, 1, 2, 0xff, 0, 0],
        );
        let m = message(2, 41, &scaling(0.0, 0, 0, 24), None, &img, 2);
        assert_eq!(decode64(&m).unwrap(), vec![258.0, 16_711_680.0]);
        // The image must hold exactly numberOfValues pixels.
        let m = message(3, 41, &scaling(0.0, 0, 0, 24), None, &img, 3);
        assert!(matches!(
            decode64(&m),
            Err(Error::Unpack {
                source: UnpackError::CountMismatch { .. },
                ..
            })
        ));
    }

    /// Section 5 octets 22–49 of template 5.3.
    #[allow(clippy::too_many_arguments)]
    fn groups(
        mvm: u8,
        ng: u32,
        wref: u8,
        wbits: u8,
        lref: u32,
        linc: u8,
        last: u32,
        lbits: u8,
        order: u8,
        nx: u8,
    ) -> Vec<u8> {
        let mut p = vec![1, mvm];
        p.extend([0u8; 8]);
        p.extend(ng.to_be_bytes());
        p.extend([wref, wbits]);
        p.extend(lref.to_be_bytes());
        p.push(linc);
        p.extend(last.to_be_bytes());
        p.extend([lbits, order, nx]);
        p
    }

    #[test]
    fn complex_spatial_differencing_with_missing_values() {
        // Two groups of 3 values, 4-bit refs, widths 2 and 0 (width bits 2,
        // width reference 0), lengths 3 and last 3 (length bits 0).
        // Order 1, one octet of extras: first value 100, minimum of differences -1.
        let mut p = scaling(0.0, 0, 0, 4);
        p.extend(groups(1, 2, 0, 2, 3, 1, 3, 0, 1, 1));
        let mut data = vec![100, 0x81]; // first value, bias = -1
        data.push(0x2f); // refs: 2, 15 (15 = all ones in 4 bits: missing group)
        data.push(0b1000_0000); // widths: 2, 0
        data.push(0b0011_0100); // no length bits; group 0 values: 0, 3 (missing), 1
        let m = message(6, 3, &p, None, &data, 6);
        let v = decode64(&m).unwrap();
        // Integers: [2+0, missing, 2+1, missing, missing, missing]; first → 100,
        // then 3 + 100 + (-1) = 102.
        assert_eq!(v[0], 100.0);
        assert!(v[1].is_nan());
        assert_eq!(v[2], 102.0);
        assert!(v[3..].iter().all(|x| x.is_nan()));
        // More groups than values is refused before any looping.
        let mut p = scaling(0.0, 0, 0, 0);
        p.extend(groups(0, u32::MAX, 0, 0, 0, 1, 1, 0, 1, 1));
        let m = message(6, 3, &p, None, &[0; 8], 6);
        assert!(matches!(
            decode64(&m),
            Err(Error::Unpack {
                source: UnpackError::BadParameter { .. },
                ..
            })
        ));
    }
}
