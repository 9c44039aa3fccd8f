//! NumPy `.npy` (format version 1.0) headers, so arrays can be streamed to a
//! file or buffer without holding them whole.

/// Element types gik writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4`
    F32,
    /// `<f8`
    F64,
}

impl Dtype {
    /// The numpy dtype descriptor string.
    #[must_use]
    pub fn descr(self) -> &'static str {
        match self {
            Self::F32 => "<f4",
            Self::F64 => "<f8",
        }
    }
    /// Bytes per element.
    #[must_use]
    pub fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// The complete `.npy` header (magic, version, header length, dict, padding)
/// for a C-ordered array of `shape`; the raw little-endian data follows.
#[must_use]
pub fn header(dtype: Dtype, shape: &[usize]) -> Vec<u8> {
    let shape_txt = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.descr(),
        shape_txt
    );
    // magic(6) + version(2) + len(2) + dict + padding + '\n' must be a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut out = Vec::with_capacity(unpadded + pad);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    let hlen = (dict.len() + pad + 1) as u16;
    out.extend_from_slice(&hlen.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_parsable() {
        let h = header(Dtype::F32, &[721, 1440]);
        assert_eq!(h.len() % 64, 0);
        assert!(h.starts_with(b"\x93NUMPY\x01\x00"));
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(text.contains("'shape': (721, 1440)"), "{text}");
        assert!(header(Dtype::F64, &[5]).windows(4).any(|w| w == b"(5,)"));
    }
}
