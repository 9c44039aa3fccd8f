//! GRIB2: framing ([`fields`]), metadata ([`Field::meta`]), value
//! decoding ([`Field::decode_f64`], [`Field::decode_f32`]) and, without I/O,
//! finding messages from their headers alone ([`HeaderWalker`],
//! [`HeaderRead`]).

mod frame;
mod meta;
mod section;
mod tables;
mod unpack;
mod walker;

pub use frame::{
    fields, first_field, messages, scan_headers, Field, HeaderScan, Message, MessageIter, Sections,
};
pub use meta::{DateTime, FieldMeta, Grid};
pub use section::Section;
pub use tables::{load_parameter_tables, parameter_tables_complete, TablesError};
pub use unpack::DecodeOptions;
pub use walker::{HeaderRead, HeaderStep, HeaderWalker, MessageHeaders, Walk, MAX_HEADER};
