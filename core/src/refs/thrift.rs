//! A check of a parquet file's thrift metadata (the footer and every page
//! header) before the parquet crate reads it, for what the crate unwraps
//! instead of returning an error: a `bool` field sent with another thrift
//! type panics in parquet 57 (`parquet_macros.rs`, `thrift/mod.rs`:
//! `field_ident.bool_val.unwrap()`), which traps the wasm module.
//!
//! The walk follows the compact protocol the way the crate reads it: a
//! field the crate knows is read as the type parquet.thrift gives it (and
//! must arrive with that type here, or the file is refused), a field it
//! does not know is skipped by the type it arrives with, exactly as the
//! crate's `skip` does (a bool list element takes no byte there; a set or
//! a map cannot be skipped), so both read the same next field. The structures
//! are those the crate reads on its way to a bool field: `FileMetaData`
//! (schema, logical types, row groups, column chunks and their metadata,
//! statistics, sorting columns) and `PageHeader` (v1, v2 and dictionary
//! headers with their statistics). Every length is checked against the
//! bytes and nesting is bounded, so the walk itself cannot panic, hang or
//! over-allocate.

/// Thrift types of the fields the walk knows.
#[derive(Debug, Clone, Copy)]
enum T {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Double,
    Bin,
    List(&'static T),
    Struct(S),
}

/// The structures whose fields the walk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum S {
    FileMetaData,
    SchemaElement,
    LogicalType,
    DecimalType,
    TimeType,
    TimestampType,
    TimeUnit,
    IntType,
    VariantType,
    GeometryType,
    GeographyType,
    Empty,
    KeyValue,
    ColumnOrder,
    RowGroup,
    SortingColumn,
    ColumnChunk,
    ColumnMetaData,
    Statistics,
    PageEncodingStats,
    SizeStatistics,
    GeospatialStatistics,
    BoundingBox,
    ColumnCryptoMetaData,
    EncryptionWithColumnKey,
    PageHeader,
    DataPageHeader,
    DictionaryPageHeader,
    DataPageHeaderV2,
}

/// The type of field `id` of `s` as the parquet crate (57) reads it.
fn field(s: S, id: i16) -> Option<T> {
    use S::*;
    use T::{Bin, Bool, Double, List, Struct, I16, I32, I64, I8};
    Some(match (s, id) {
        (FileMetaData, 1) => I32,
        (FileMetaData, 3) => I64,
        (FileMetaData, 2) => List(&Struct(SchemaElement)),
        (FileMetaData, 4) => List(&Struct(RowGroup)),
        (FileMetaData, 5) => List(&Struct(KeyValue)),
        (FileMetaData, 6 | 9) => Bin,
        (FileMetaData, 7) => List(&Struct(ColumnOrder)),
        (SchemaElement, 1 | 2 | 3 | 5 | 6 | 7 | 8 | 9) => I32,
        (SchemaElement, 4) => Bin,
        (SchemaElement, 10) => Struct(LogicalType),
        (LogicalType, 1 | 2 | 3 | 4 | 6 | 11 | 12 | 13 | 14 | 15) => Struct(Empty),
        (LogicalType, 5) => Struct(DecimalType),
        (LogicalType, 7) => Struct(TimeType),
        (LogicalType, 8) => Struct(TimestampType),
        (LogicalType, 10) => Struct(IntType),
        (LogicalType, 16) => Struct(VariantType),
        (LogicalType, 17) => Struct(GeometryType),
        (LogicalType, 18) => Struct(GeographyType),
        (DecimalType, 1 | 2) => I32,
        (TimeType | TimestampType, 1) => Bool,
        (TimeType | TimestampType, 2) => Struct(TimeUnit),
        (TimeUnit, 1..=3) => Struct(Empty),
        (IntType, 1) => I8,
        (IntType, 2) => Bool,
        (VariantType, 1) => I8,
        (GeometryType, 1) | (GeographyType, 1) => Bin,
        (GeographyType, 2) => I32,
        (KeyValue, 1 | 2) => Bin,
        (ColumnOrder, 1) => Struct(Empty),
        (RowGroup, 1) => List(&Struct(ColumnChunk)),
        (RowGroup, 2 | 3 | 5) => I64,
        (RowGroup, 4) => List(&Struct(SortingColumn)),
        (RowGroup, 7) => I16,
        (SortingColumn, 1) => I32,
        (SortingColumn, 2 | 3) => Bool,
        (ColumnChunk, 1 | 9) => Bin,
        (ColumnChunk, 2 | 4 | 6) => I64,
        (ColumnChunk, 3) => Struct(ColumnMetaData),
        (ColumnChunk, 5 | 7) => I32,
        (ColumnChunk, 8) => Struct(ColumnCryptoMetaData),
        (ColumnMetaData, 1 | 4 | 15) => I32,
        (ColumnMetaData, 2) => List(&I32),
        (ColumnMetaData, 5 | 6 | 7 | 9 | 10 | 11 | 14) => I64,
        (ColumnMetaData, 12) => Struct(Statistics),
        (ColumnMetaData, 13) => List(&Struct(PageEncodingStats)),
        (ColumnMetaData, 16) => Struct(SizeStatistics),
        (ColumnMetaData, 17) => Struct(GeospatialStatistics),
        (Statistics, 1 | 2 | 5 | 6) => Bin,
        (Statistics, 3 | 4) => I64,
        (Statistics, 7 | 8) => Bool,
        (PageEncodingStats, 1..=3) => I32,
        (SizeStatistics, 1) => I64,
        (SizeStatistics, 2 | 3) => List(&I64),
        (GeospatialStatistics, 1) => Struct(BoundingBox),
        (GeospatialStatistics, 2) => List(&I32),
        (BoundingBox, 1..=8) => Double,
        (ColumnCryptoMetaData, 1) => Struct(Empty),
        (ColumnCryptoMetaData, 2) => Struct(EncryptionWithColumnKey),
        (EncryptionWithColumnKey, 1) => List(&Bin),
        (EncryptionWithColumnKey, 2) => Bin,
        (PageHeader, 1..=4) => I32,
        (PageHeader, 5) => Struct(DataPageHeader),
        (PageHeader, 6) => Struct(Empty),
        (PageHeader, 7) => Struct(DictionaryPageHeader),
        (PageHeader, 8) => Struct(DataPageHeaderV2),
        (DataPageHeader, 1..=4) => I32,
        (DataPageHeader, 5) => Struct(Statistics),
        (DictionaryPageHeader, 1 | 2) => I32,
        (DictionaryPageHeader, 3) => Bool,
        (DataPageHeaderV2, 1..=6) => I32,
        (DataPageHeaderV2, 7) => Bool,
        (DataPageHeaderV2, 8) => Struct(Statistics),
        _ => return None,
    })
}

/// Compact protocol type nibbles.
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16_: u8 = 4;
const I32_: u8 = 5;
const I64_: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;

/// Deepest nesting accepted (parquet metadata nests five deep).
const MAX_DEPTH: usize = 32;

/// Most bytes one compressed byte becomes with the codecs gik reads
/// (deflate's 1032:1; lz4 and snappy expand less).
const MAX_EXPANSION: u64 = 1032;

/// Whether gik reads pages of this `CompressionCodec` (parquet.thrift):
/// UNCOMPRESSED, SNAPPY, GZIP, LZ4, LZ4_RAW. The others (LZO, BROTLI,
/// ZSTD) are refused with a typed error naming the codec before any page
/// is decompressed, so their pages' sizes are not bounded here (zstd
/// expands far beyond deflate's ratio).
fn codec_read(codec: Option<i64>) -> bool {
    matches!(codec, None | Some(0 | 1 | 2 | 5 | 7))
}

/// Where a column chunk's pages are, as its metadata says.
#[derive(Debug, Default, Clone, Copy)]
struct Chunk {
    dictionary_page_offset: Option<i64>,
    data_page_offset: i64,
    total_compressed_size: i64,
    /// Its `CompressionCodec`.
    codec: Option<i64>,
}

struct Walk<'a> {
    b: &'a [u8],
    at: usize,
    chunks: Vec<Chunk>,
    page_size: Option<i64>,
    uncompressed_size: Option<i64>,
}

type R<T> = std::result::Result<T, String>;

impl<'a> Walk<'a> {
    fn new(b: &'a [u8]) -> Self {
        Walk {
            b,
            at: 0,
            chunks: Vec::new(),
            page_size: None,
            uncompressed_size: None,
        }
    }

    fn byte(&mut self) -> R<u8> {
        let v = *self.b.get(self.at).ok_or("metadata cut short")?;
        self.at += 1;
        Ok(v)
    }

    fn varint(&mut self) -> R<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a varint longer than 10 bytes".to_string())
    }

    fn zigzag(&mut self) -> R<i64> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    fn bytes(&mut self) -> R<()> {
        let n = self.varint()?;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|&e| e <= self.b.len())
            .ok_or("a binary field longer than the metadata")?;
        self.at = end;
        Ok(())
    }

    /// A list or set header: (element type, count).
    fn list_header(&mut self) -> R<(u8, u64)> {
        let h = self.byte()?;
        let n = u64::from(h >> 4);
        let n = if n == 15 { self.varint()? } else { n };
        Ok((h & 0x0f, n))
    }

    /// Skips a value that arrived as `wire`, as the crate's `skip` does
    /// (`parquet_thrift.rs`, `skip_till_depth`), byte for byte: whatever
    /// it reads next is what the crate reads next.
    fn skip(&mut self, wire: u8, depth: usize) -> R<()> {
        if depth > MAX_DEPTH {
            return Err("metadata nested too deep".to_string());
        }
        match wire {
            BOOL_TRUE | BOOL_FALSE => Ok(()),
            BYTE => self.byte().map(drop),
            I16_ | I32_ | I64_ => self.varint().map(drop),
            DOUBLE => {
                for _ in 0..8 {
                    self.byte()?;
                }
                Ok(())
            }
            BINARY => self.bytes(),
            LIST => {
                let (elem, n) = self.list_header()?;
                match elem {
                    // The crate skips each bool element as it skips a bool
                    // field, whose value is in the field header: it reads
                    // no bytes at all. The one byte a writer puts after a
                    // list of bools is what the crate reads next, as the
                    // header of the next field. A count larger than the
                    // bytes left is no list a writer made (and would spin
                    // the crate through up to 2^31 empty skips).
                    BOOL_TRUE | BOOL_FALSE => {
                        let left = self.b.len() - self.at;
                        if usize::try_from(n).map_or(true, |n| n > left) {
                            return Err(format!("a list of {n} bools in {left} bytes"));
                        }
                        Ok(())
                    }
                    // the crate cannot skip these as list elements either
                    SET | MAP if n > 0 => Err(format!("a list of thrift type {elem}")),
                    _ => {
                        for _ in 0..n {
                            self.skip(elem, depth + 1)?;
                        }
                        Ok(())
                    }
                }
            }
            // the crate refuses to skip a set or a map (no parquet
            // structure has one)
            SET | MAP => Err(format!(
                "a field of thrift type {wire}, which the crate cannot skip"
            )),
            STRUCT => self.any_struct(depth + 1),
            other => Err(format!("unknown thrift type {other}")),
        }
    }

    fn any_struct(&mut self, depth: usize) -> R<()> {
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(());
            }
            if h >> 4 == 0 {
                self.zigzag()?;
            }
            self.skip(h & 0x0f, depth)?;
        }
    }

    /// Reads a value of type `t` that arrived as `wire` (for a list
    /// element, the list's element type).
    fn value(&mut self, t: T, wire: u8, what: &str, depth: usize) -> R<Option<i64>> {
        if depth > MAX_DEPTH {
            return Err("metadata nested too deep".to_string());
        }
        let expected: &[u8] = match t {
            T::Bool => &[BOOL_TRUE, BOOL_FALSE],
            T::I8 => &[BYTE],
            T::I16 => &[I16_],
            T::I32 => &[I32_],
            T::I64 => &[I64_],
            T::Double => &[DOUBLE],
            T::Bin => &[BINARY],
            T::List(_) => &[LIST, SET],
            T::Struct(_) => &[STRUCT],
        };
        if !expected.contains(&wire) {
            return Err(format!("{what} arrives as thrift type {wire}, not {t:?}"));
        }
        match t {
            T::Bool => Ok(None),
            T::I8 => self.byte().map(|_| None),
            // the crate reads an i16 or i32 as the varint's low bits
            // (`read_zig_zag()? as _`): so must the walk, or a page size or
            // a count it checks is not the one the crate uses
            T::I16 => self.zigzag().map(|v| Some(i64::from(v as i16))),
            T::I32 => self.zigzag().map(|v| Some(i64::from(v as i32))),
            T::I64 => self.zigzag().map(Some),
            T::Double => self.skip(DOUBLE, depth).map(|()| None),
            T::Bin => self.bytes().map(|()| None),
            T::List(elem) => {
                let (ew, n) = self.list_header()?;
                for _ in 0..n {
                    if matches!(elem, T::Bool) {
                        // a bool element is one byte
                        self.byte()?;
                    } else {
                        self.value(*elem, ew, what, depth + 1)?;
                    }
                }
                Ok(None)
            }
            T::Struct(s) => self.structure(s, depth + 1).map(|()| None),
        }
    }

    fn structure(&mut self, s: S, depth: usize) -> R<()> {
        let mut last = 0i16;
        let mut chunk = Chunk::default();
        loop {
            let h = self.byte()?;
            if h == 0 {
                break;
            }
            let wire = h & 0x0f;
            let id = if h >> 4 == 0 {
                i16::try_from(self.zigzag()?).map_err(|_| "a field id out of range")?
            } else {
                last.wrapping_add(i16::from(h >> 4))
            };
            last = id;
            match field(s, id) {
                Some(t) => {
                    let v = self.value(t, wire, &format!("field {id} of {s:?}"), depth)?;
                    match (s, id, v) {
                        (S::ColumnMetaData, 4, Some(v)) => chunk.codec = Some(v),
                        (S::ColumnMetaData, 7, Some(v)) => chunk.total_compressed_size = v,
                        (S::ColumnMetaData, 9, Some(v)) => chunk.data_page_offset = v,
                        (S::ColumnMetaData, 11, Some(v)) => chunk.dictionary_page_offset = Some(v),
                        (S::PageHeader, 2, Some(v)) => self.uncompressed_size = Some(v),
                        (S::PageHeader, 3, Some(v)) => self.page_size = Some(v),
                        // the crate reserves num_children (a negative one
                        // overflows the capacity); each child takes bytes
                        (S::SchemaElement, 5, Some(v))
                            if usize::try_from(v).map_or(true, |n| n > self.b.len()) =>
                        {
                            return Err(format!(
                                "a schema element with {v} children in {} bytes of metadata",
                                self.b.len()
                            ));
                        }
                        _ => {}
                    }
                }
                None => self.skip(wire, depth)?,
            }
        }
        if s == S::ColumnMetaData {
            self.chunks.push(chunk);
        }
        Ok(())
    }
}

/// Checks the footer and the page headers of the parquet file `bytes`.
/// Files too broken to have a footer are left to the crate, which refuses
/// them with an error of its own.
///
/// # Errors
/// A description of the first field the parquet crate would panic on, or
/// of metadata that does not hold together.
pub(crate) fn check(bytes: &[u8]) -> R<()> {
    let n = bytes.len();
    if n < 12 || &bytes[n - 4..] != b"PAR1" {
        return Ok(());
    }
    let len = u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]) as usize;
    let Some(start) = (n - 8).checked_sub(len) else {
        return Ok(());
    };
    let mut footer = Walk::new(&bytes[start..n - 8]);
    footer
        .structure(S::FileMetaData, 0)
        .map_err(|e| format!("corrupt footer: {e}"))?;
    for (i, c) in footer.chunks.iter().enumerate() {
        let first = match c.dictionary_page_offset {
            Some(d) => d,
            None => c.data_page_offset,
        };
        let (Ok(mut at), Ok(size)) = (
            usize::try_from(first),
            usize::try_from(c.total_compressed_size),
        ) else {
            // parquet 57 asserts on these (`ColumnChunkMetaData::byte_range`)
            return Err(format!(
                "column chunk {i} starts at byte {first} with {} bytes: negative",
                c.total_compressed_size
            ));
        };
        let end = at.saturating_add(size).min(n);
        while at < end {
            let mut page = Walk::new(&bytes[at..]);
            page.structure(S::PageHeader, 0)
                .map_err(|e| format!("corrupt page header at byte {at} (column chunk {i}): {e}"))?;
            let Some(Ok(data)) = page.page_size.map(usize::try_from) else {
                // no or a negative page size: the crate refuses it
                break;
            };
            // The crate allocates the uncompressed size before it
            // decompresses a page (`decode_page`): up to 2 GB, which wasm32
            // may not have (an allocation failure aborts, a trap).
            if let Some(u) = page.uncompressed_size.filter(|_| codec_read(c.codec)) {
                let most = (data as u64)
                    .saturating_add(1)
                    .saturating_mul(MAX_EXPANSION);
                if u64::try_from(u).is_ok_and(|u| u > most) {
                    return Err(format!(
                        "corrupt page header at byte {at} (column chunk {i}): {u} bytes \
                         uncompressed from {data}, more than any codec gik reads expands to"
                    ));
                }
            }
            at = at.saturating_add(page.at).saturating_add(data);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn a_bool_field_sent_as_another_type_is_refused() {
        // PageHeader { 8: DataPageHeaderV2 { 7: i32 1 } }: the crate unwraps the bool
        let header = [0x8c, 0x75, 0x02, 0x00, 0x00];
        let mut w = Walk::new(&header);
        let err = w.structure(S::PageHeader, 0).unwrap_err();
        assert!(err.contains("field 7 of DataPageHeaderV2"), "{err}");
        // the same field as a bool is fine
        let header = [0x8c, 0x71, 0x00, 0x00];
        let mut w = Walk::new(&header);
        assert!(w.structure(S::PageHeader, 0).is_ok());
    }

    #[test]
    fn a_skipped_list_of_bools_takes_no_bytes_as_in_the_crate() {
        // ColumnMetaData { 3: list<bool> [one element], then 0x9c }: the
        // crate skips the bool element without reading a byte, so 0x9c is
        // the next field header (12: Statistics, whose field 7 then
        // arrives as an i64 and the crate unwraps its bool)
        let meta = [0x39, 0x11, 0x9c, 0x76, 0x02, 0x00, 0x00];
        let mut w = Walk::new(&meta);
        let err = w.structure(S::ColumnMetaData, 0).unwrap_err();
        assert!(err.contains("field 7 of Statistics"), "{err}");
        // the same list followed by a stop is fine, and ends there
        let meta = [0x39, 0x11, 0x00];
        let mut w = Walk::new(&meta);
        assert!(w.structure(S::ColumnMetaData, 0).is_ok());
        assert_eq!(w.at, 3);
        // more bools than bytes left is refused
        let meta = [0x39, 0xf1, 0x80, 0x80, 0x80, 0x80, 0x07, 0x00];
        let mut w = Walk::new(&meta);
        let err = w.structure(S::ColumnMetaData, 0).unwrap_err();
        assert!(err.contains("bools"), "{err}");
    }

    #[test]
    fn a_set_or_a_map_the_crate_cannot_skip_is_refused() {
        // ColumnMetaData { 8: a map } (key_value_metadata, skipped by the crate)
        let meta = [0x8b, 0x00, 0x00];
        let mut w = Walk::new(&meta);
        assert!(w.structure(S::ColumnMetaData, 0).is_err());
    }

    #[test]
    fn an_i32_is_the_low_bits_of_its_varint_as_in_the_crate() {
        // PageHeader { 3: i32 (2^32 + 30) }: the crate's page size is 30
        let header = [0x35, 0xbc, 0x80, 0x80, 0x80, 0x20, 0x00];
        let mut w = Walk::new(&header);
        assert!(w.structure(S::PageHeader, 0).is_ok());
        assert_eq!(w.page_size, Some(30));
    }

    #[test]
    fn deep_nesting_and_long_lengths_are_errors() {
        let deep = vec![0x1c; 1000];
        let mut w = Walk::new(&deep);
        assert!(w.structure(S::Empty, 0).is_err());
        let long = [0x18, 0xff, 0xff, 0xff, 0xff, 0x0f];
        let mut w = Walk::new(&long);
        assert!(w.structure(S::Empty, 0).is_err());
    }
}
