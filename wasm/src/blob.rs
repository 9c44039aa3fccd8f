//! A checkpoint the user picked (a `File`, or any `Blob`), read as the core
//! reads any object: by range, through `Blob.slice` and `arrayBuffer()` of
//! the slice. Never uploaded, never read whole: only the slices the core asks
//! for (the zip's end and central directory, the metadata entry, the
//! latitude and longitude arrays) leave the disk.

use std::ops::Range;

use crate::error::{Error, Result};

/// A `Blob` (a picked `File`) as a [`gik_core::io::RangeReader`]; every
/// location names the one blob.
#[derive(Debug, Clone)]
pub struct BlobReader {
    blob: web_sys::Blob,
    name: String,
}

impl BlobReader {
    /// The reader of `blob`, named by the file's name when it has one.
    pub fn new(blob: web_sys::Blob) -> Self {
        use wasm_bindgen::JsCast;
        let name = blob
            .dyn_ref::<web_sys::File>()
            .map_or_else(|| "checkpoint".to_string(), web_sys::File::name);
        Self { blob, name }
    }

    /// The file's name (what errors and locations say).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.blob.size() as u64
    }

    /// The bytes `range` of the blob (clamped to its size).
    pub async fn slice(&self, range: Range<u64>) -> Result<bytes::Bytes> {
        let size = self.size();
        let (start, end) = (range.start.min(size), range.end.min(size));
        let unreadable = |e: wasm_bindgen::JsValue| Error::Unreachable {
            url: self.name.clone(),
            reason: format!(
                "reading bytes {start}-{end} of the file: {}",
                e.as_string().unwrap_or_else(|| format!("{e:?}"))
            ),
        };
        let part = self
            .blob
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(unreadable)?;
        let buf = wasm_bindgen_futures::JsFuture::from(part.array_buffer())
            .await
            .map_err(unreadable)?;
        let bytes = js_sys::Uint8Array::new(&buf).to_vec();
        if bytes.len() as u64 != end - start {
            return Err(Error::Short {
                url: self.name.clone(),
                range: start..end,
                got: bytes.len() as u64,
            });
        }
        Ok(bytes::Bytes::from(bytes))
    }
}

#[cfg(target_arch = "wasm32")]
impl gik_core::io::RangeReader for BlobReader {
    type Error = Error;

    fn read_range<'a>(
        &'a self,
        _location: &'a str,
        range: Range<u64>,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes>> {
        Box::pin(self.slice(range))
    }

    fn read_all<'a>(
        &'a self,
        _location: &'a str,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes>> {
        Box::pin(self.slice(0..self.size()))
    }

    fn len<'a>(&'a self, _location: &'a str) -> gik_core::io::BoxFuture<'a, Result<u64>> {
        Box::pin(std::future::ready(Ok(self.size())))
    }

    fn read_suffix<'a>(
        &'a self,
        _location: &'a str,
        n: u64,
    ) -> gik_core::io::BoxFuture<'a, Result<(bytes::Bytes, u64)>> {
        Box::pin(async move {
            let size = self.size();
            let b = self.slice(size.saturating_sub(n)..size).await?;
            Ok((b, size))
        })
    }
}
