//! Inputs the fuzz targets (`fuzz/`, `scripts/fuzz.sh`) found breaking a
//! property, each named after what broke. The input files are in
//! `tests/data/fuzz-regressions/`, named `<target>-<what>`.
#![allow(clippy::expect_used, clippy::panic)]

use gik_core::refs::{self, JsonVersion, RefStore, RefValue};

fn input(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/data/fuzz-regressions/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every writer gives back what was read.
fn round_trips(store: &RefStore) {
    for version in [JsonVersion::V1, JsonVersion::V0] {
        let back = refs::read_json(&refs::write_json(store, version)).expect("read own JSON");
        assert_eq!(&back, store, "{version:?}");
    }
    let pq = refs::write_seed_parquet(store).expect("write two-column parquet");
    assert_eq!(
        &refs::read_seed_parquet(&pq).expect("read own parquet"),
        store
    );
}

#[test]
fn json_url_rendered_from_a_template_holding_braces_round_trips() {
    // a template value holding `{{` gave urls that, written back, read as
    // an unclosed template
    let store = refs::read_json(&input("refs_json-template-value-with-braces.json")).expect("read");
    assert!(store
        .iter()
        .any(|(_, v)| v.url().is_some_and(|u| u.contains("{{"))));
    round_trips(&store);
    let text = String::from_utf8(refs::write_json(&store, JsonVersion::V1)).expect("utf8");
    assert!(
        text.contains(r#""templates":{"gik_url_0":"sbase62{{AE="}"#),
        "{text}"
    );
}

#[test]
fn json_v0_urls_are_not_templates() {
    // fsspec renders templates in version 1 only
    let store = refs::read_json(br#"{"a/0":["s3://b/{{x}}.grib2",0,10]}"#).expect("read v0");
    assert_eq!(
        store.get("a/0"),
        Some(&RefValue::range("s3://b/{{x}}.grib2", 0, 10))
    );
    round_trips(&store);
}

#[test]
fn inline_text_starting_with_the_base64_prefix_round_trips() {
    // written raw, `base64:AAAA` read back as the bytes 0 0 0
    let mut store = RefStore::new();
    store.insert("a/0", RefValue::Inline(b"base64:AAAA".to_vec()));
    round_trips(&store);
}

#[test]
fn seed_inline_text_that_reads_as_a_reference_list_round_trips() {
    // written raw in the two-column parquet, it came back as a reference
    let mut store = RefStore::new();
    store.insert(
        "a/0",
        RefValue::Inline(br#"["s3://b/f.grib2", 0, 10]"#.to_vec()),
    );
    store.insert("a/1", RefValue::Inline(br#"["s3://b/f.grib2"]"#.to_vec()));
    round_trips(&store);
}

#[test]
fn parquet_bool_field_of_another_thrift_type_is_an_error_not_a_panic() {
    // a DataPageHeaderV2 `is_compressed` sent as another type: parquet 57
    // unwraps it (a trap in wasm); now the thrift check refuses the file
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-bool-field-of-another-thrift-type.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(
        text.contains("corrupt page header") && text.contains("DataPageHeaderV2"),
        "{text}"
    );
}

/// A server whose every answer is one byte short.
#[derive(Debug)]
struct ShortBodies(bytes::Bytes);

#[derive(Debug, thiserror::Error)]
#[error("no such object")]
struct NoSuchObject;

impl gik_core::io::ReadError for NoSuchObject {
    fn kind(&self) -> gik_core::io::ReadErrorKind {
        gik_core::io::ReadErrorKind::NotFound
    }
}

impl gik_core::io::RangeReader for ShortBodies {
    type Error = NoSuchObject;
    fn read_range<'a>(
        &'a self,
        _: &'a str,
        range: std::ops::Range<u64>,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes, NoSuchObject>> {
        let end = (range.end.min(self.0.len() as u64) as usize).saturating_sub(1);
        let start = (range.start as usize).min(end);
        Box::pin(std::future::ready(Ok(self.0.slice(start..end))))
    }
    fn read_all<'a>(
        &'a self,
        _: &'a str,
    ) -> gik_core::io::BoxFuture<'a, Result<bytes::Bytes, NoSuchObject>> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
    fn len<'a>(&'a self, _: &'a str) -> gik_core::io::BoxFuture<'a, Result<u64, NoSuchObject>> {
        Box::pin(std::future::ready(Ok(self.0.len() as u64)))
    }
}

/// Found by the reader fuzz target: `CoalescingReader::read_part` sliced a
/// group read that came back short past its end.
#[test]
fn coalesced_read_that_comes_back_short_is_not_a_panic() {
    // found by the reader fuzz target: the group read was sliced past its end
    use gik_core::io::CoalescingReader;
    use std::future::Future as _;
    let parts = [RefValue::range("u", 0, 10), RefValue::range("u", 10, 10)];
    let fields: Vec<&[RefValue]> = parts.chunks(1).collect();
    let reader = CoalescingReader::new(
        ShortBodies(vec![7u8; 100].into()),
        fields,
        8,
        |_| 0,
        1 << 20,
    );
    assert_eq!(reader.coalesced(), (1, 2));
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut f = std::pin::pin!(reader.read_part(1, 0, &parts[1]));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        matches!(f.as_mut().poll(&mut cx), std::task::Poll::Ready(_))
    }));
    assert!(
        matches!(got, Ok(true)),
        "the second part of a short group read panicked"
    );
}

#[test]
fn parquet_dictionary_index_past_the_dictionary_is_an_error_not_a_panic() {
    // 28 definition levels in one RLE run were counted as one value, so the
    // dictionary check stopped before index 30 of a 28-entry dictionary
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-dictionary-index-past-the-dictionary.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(
        text.contains("dictionary index 30 past the dictionary of 28 values"),
        "{text}"
    );
}

#[test]
fn parquet_negative_column_chunk_offset_is_an_error_not_a_panic() {
    // parquet 57 asserts that a column chunk's start and length are not negative
    let data = input("parquet_dir-negative-column-chunk-offset");
    let sep: &[u8] = b"\n--gik-fuzz-part--\n";
    let parts: Vec<&[u8]> = split(&data, sep);
    let mut files = refs::FileMap::new();
    files.insert(".zmetadata".to_string(), parts[0].to_vec());
    let names = refs::parquet_dir_files(parts[0]).expect("names");
    for (name, bytes) in names.into_iter().zip(&parts[1..]) {
        if !bytes.is_empty() {
            files.insert(name, bytes.to_vec());
        }
    }
    let err = refs::read_parquet_dir(&files).expect_err("corrupt");
    let text = err.to_string();
    assert!(text.contains("negative"), "{text}");
}

/// The parts of a fuzz input (`gik_fuzz::parts`).
fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}
#[test]
fn parquet_byte_array_length_past_the_page_is_an_error_not_a_trap_in_wasm() {
    // a flipped byte gave a dictionary value a length near 2^32: natively
    // the parquet crate reports it, but with wasm32's 32-bit usize its
    // bounds check (`start + len`) wraps and the slice traps the module
    // (found by the npm package's Node test, not by the 64-bit fuzzers)
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-trap-in-wasm-demo-49r1-flip-887.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(
        text.contains("byte array of") && text.contains("past the end of its page"),
        "{text}"
    );
}

#[test]
fn parquet_page_ending_where_a_byte_array_length_should_be_is_an_error_not_a_panic() {
    // a dictionary page of 22 byte arrays whose bytes end early: parquet 57
    // asserts there are 4 bytes for the next length (`util/bit_util.rs`)
    let err = refs::read_seed_parquet(&input("seed_parquet-byte-array-length-cut-short.parquet"))
        .expect_err("corrupt");
    let text = err.to_string();
    assert!(
        text.contains("where a byte array's length should be"),
        "{text}"
    );
}

#[test]
fn parquet_dictionary_index_after_a_zero_run_header_is_an_error_not_a_panic() {
    // the indices start with a 0 run header, where the check stopped; the
    // crate, asked for more values, reads on past it to index 34 of 23
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-dictionary-index-after-a-zero-run-header.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(
        text.contains("dictionary index 34 past the dictionary of 23 values"),
        "{text}"
    );
}

#[test]
fn zarr_coordinate_declaring_40_million_values_without_data_is_refused_before_allocating() {
    // a 130-byte `.zarray` made `coordinate` allocate 640 MB (found with
    // the zarr target's -malloc_limit_mb): now values are bounded by the
    // bytes of the coordinate's inline chunks, plus 2^20 for chunks left out
    let mut store = RefStore::new();
    store.insert(
        "time/.zarray",
        RefValue::Inline(input("zarr-coordinate-of-40-million-values-without-data")),
    );
    let err = store.coordinate("", "time").expect_err("too large");
    assert!(
        matches!(
            err,
            refs::RefsError::TooLarge {
                count: 40_000_000,
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
    // with the data, it is read
    let mut store = RefStore::new();
    store.insert(
        "time/.zarray",
        RefValue::Inline(br#"{"shape":[2000000],"chunks":[2000000],"dtype":"<i8","compressor":null,"filters":null,"fill_value":null,"zarr_format":2}"#.to_vec()),
    );
    store.insert("time/0", RefValue::Inline(vec![0; 16_000_000]));
    assert_eq!(
        store.coordinate("", "time").expect("read").values.len(),
        2_000_000
    );
}

#[test]
fn parquet_rle_run_header_longer_than_5_bytes_is_an_error_not_a_panic() {
    // parquet 57's `get_vlq_int` shifts past 63 bits on a long varint (a
    // panic where overflow is checked: debug builds, the fuzz targets)
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-rle-run-header-longer-than-5-bytes.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(
        text.contains("an RLE run header longer than 5 bytes"),
        "{text}"
    );
}

#[test]
fn parquet_schema_element_with_negative_children_is_an_error_not_a_panic() {
    // parquet 57 reserves `num_children` elements: a negative count is a
    // capacity overflow (a panic), a huge one an allocation failure
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-schema-element-with-negative-children.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(text.contains("children in"), "{text}");
}
/// Found by seed_parquet at the end of issue 13. The second column chunk's
/// ColumnMetaData has `3: path_in_schema` as a list of 6 bools. Parquet 57
/// skips that field, and skips a bool element without reading a byte, so
/// the six "element" bytes are its next fields: `12` arriving as an i32,
/// which the crate reads as Statistics all the same, whose field 7
/// (`is_max_value_exact`) arrives as an i64 and is unwrapped as a bool.
/// The footer walk read one byte per bool and never saw field 12. Natively
/// `catch_unwind` hid the panic ("the parquet decoder gave up"); in wasm it
/// trapped. Now the walk reads those bytes as the crate does and refuses
/// field 12 for its type.
#[test]
fn parquet_footer_statistics_bool_of_another_type_is_an_error_not_a_panic() {
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-footer-statistics-bool-of-another-type.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(text.contains("corrupt footer"), "{text}");
    assert!(text.contains("field 12 of ColumnMetaData"), "{text}");
}

/// Found by seed_parquet (while checking the footer-statistics fix): a
/// dictionary page header's `uncompressed_page_size` is a varint far past
/// an i32. Parquet 57 keeps its low 32 bits, 1,352,745,605, and allocates
/// that much before decompressing the page's 1,527 snappy bytes
/// (`decode_page`); the footer walk kept the whole (negative) i64 and
/// checked nothing. Natively it was a large allocation and then an error;
/// in wasm32 an allocation that size may fail, and an allocation failure
/// aborts: a trap. Now the walk reads an i32 as the crate does, and no
/// codec gik reads expands a byte to more than 1032.
#[test]
fn parquet_page_uncompressed_size_beyond_any_codec_is_an_error_before_allocating() {
    let err = refs::read_seed_parquet(&input(
        "seed_parquet-page-uncompressed-size-beyond-any-codec.parquet",
    ))
    .expect_err("corrupt");
    let text = err.to_string();
    assert!(text.contains("corrupt page header"), "{text}");
    assert!(text.contains("more than any codec"), "{text}");
}
