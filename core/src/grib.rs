//! GRIB2: framing ([`fields`]), metadata ([`Field::meta`]) and value
//! decoding ([`Field::decode_f64`], [`Field::decode_f32`]).

mod frame;
mod meta;
mod section;
mod tables;
mod unpack;

pub use frame::{
    fields, messages, scan_headers, Field, HeaderScan, Message, MessageIter, Sections,
};
pub use meta::{DateTime, FieldMeta, Grid};
pub use section::Section;
pub use unpack::DecodeOptions;
