//! Field metadata with the names ecCodes and kerchunk users know.
//! (Placeholder: being written; the struct shape below is the contract.)

use super::frame::Field;
use crate::Result;

/// A calendar date and time (UTC), as GRIB2 carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct DateTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// The grid of a field (GRIB2 section 3).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    /// ecCodes `gridType`: `regular_ll`, `regular_gg`, `reduced_gg`, `lambert`, `polar_stereographic`, …
    pub grid_type: String,
    /// Grid definition template number (3.N).
    pub template: u16,
    /// ecCodes `numberOfDataPoints`.
    pub number_of_data_points: u64,
    /// Points along a parallel (`Ni`), when defined.
    pub ni: Option<u32>,
    /// Points along a meridian (`Nj`), when defined.
    pub nj: Option<u32>,
    pub lat_first: Option<f64>,
    pub lon_first: Option<f64>,
    pub lat_last: Option<f64>,
    pub lon_last: Option<f64>,
    /// `iDirectionIncrementInDegrees`.
    pub di: Option<f64>,
    /// `jDirectionIncrementInDegrees`.
    pub dj: Option<f64>,
    /// Scanning mode flags (octet 72 of template 3.0).
    pub scanning_mode: u8,
}

/// Everything gik knows about a field before decoding its values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldMeta {
    pub centre: String,
    pub stream: Option<String>,
    /// ecCodes `type` (`fc`, `cf`, `pf`, `an`, …).
    pub data_type: Option<String>,
    pub short_name: String,
    pub cf_var_name: String,
    pub name: String,
    pub units: String,
    pub param_id: u32,
    pub discipline: u8,
    pub parameter_category: u8,
    pub parameter_number: u8,
    pub type_of_level: String,
    pub level: i64,
    pub step_type: String,
    pub step_range: String,
    pub start_step: i64,
    pub end_step: i64,
    /// Perturbation number (`number`), when the product template has one.
    pub number: Option<i64>,
    pub data_date: u32,
    pub data_time: u32,
    pub validity_date: u32,
    pub validity_time: u32,
    pub reference_time: DateTime,
    pub validity_time_full: DateTime,
    pub product_definition_template: u16,
    pub data_representation_template: u16,
    pub packing_type: String,
    pub grid: Grid,
    pub number_of_values: u64,
    pub bitmap_present: bool,
    pub bits_per_value: u8,
    pub reference_value: f64,
    pub binary_scale_factor: i32,
    pub decimal_scale_factor: i32,
    pub ccsds_flags: Option<u8>,
    pub ccsds_block_size: Option<u32>,
    pub ccsds_rsi: Option<u32>,
}

impl Field<'_> {
    /// Reads the field's metadata.
    ///
    /// # Errors
    /// A malformed or truncated section, or a template gik cannot read.
    pub fn meta(&self) -> Result<FieldMeta> {
        Ok(FieldMeta::default())
    }
}
