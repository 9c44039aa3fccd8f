//! Template 5.41: the scaled integers are the pixels of a PNG image.
//!
//! ecCodes stores `bitsPerValue` rounded up to whole bytes as 8- or 16-bit
//! grey, 24-bit RGB or 32-bit RGBA, each pixel one big-endian integer. Other
//! writers also use 1-, 2- and 4-bit grey; any pixel of at most 32 bits is
//! read the same way: its bits, most significant first.

use super::bits::BitReader;
use super::{Input, Scaling, Value};
use crate::{Result, UnpackError};

pub(crate) fn decode<T: Value>(input: &Input<'_>) -> Result<Vec<T>> {
    let sc = Scaling::read(&input.s5)?;
    if sc.bits_per_value == 0 {
        return Ok(vec![T::from_f64(sc.reference); input.n_values]);
    }
    decode_image(input.data, input.n_values, sc).map_err(input.err("PNG"))
}

fn png_err(e: &::png::DecodingError) -> UnpackError {
    UnpackError::Png(e.to_string())
}

fn decode_image<T: Value>(data: &[u8], n: usize, sc: Scaling) -> Result<Vec<T>, UnpackError> {
    // The decoder may allocate the image and its working rows, no more.
    let limit = n.saturating_mul(8).saturating_add(1 << 20);
    let mut decoder =
        ::png::Decoder::new_with_limits(std::io::Cursor::new(data), ::png::Limits { bytes: limit });
    decoder.set_transformations(::png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(|e| png_err(&e))?;
    let (width, height) = reader.info().size();
    let pixels = u64::from(width) * u64::from(height);
    if pixels != n as u64 {
        return Err(UnpackError::CountMismatch {
            expected: n as u64,
            found: pixels,
        });
    }
    let (color, depth) = reader.output_color_type();
    let bits_per_pixel = color.samples() as u32 * depth as u32;
    if bits_per_pixel > 32 {
        return Err(UnpackError::BadParameter {
            name: "PNG bits per pixel",
            value: i64::from(bits_per_pixel),
        });
    }
    let mut image = vec![0u8; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut image).map_err(|e| png_err(&e))?;
    let line = frame.line_size;
    let mut out = Vec::with_capacity(n);
    if line == 0 {
        return Ok(out);
    }
    for row in image.chunks_exact(line).take(height as usize) {
        let mut r = BitReader::new(row);
        for _ in 0..width {
            out.push(T::from_f64(sc.apply(r.read(bits_per_pixel)? as f64)));
        }
    }
    Ok(out)
}
