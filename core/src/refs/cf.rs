//! The few cfgrib/ecCodes names the references carry that `FieldMeta` does
//! not: CF standard names, centre descriptions, grid descriptions and
//! cfgrib's coordinate attributes. Values as ecCodes 2.50 / cfgrib 0.9.15
//! report them (checked with ecCodes 2.50).

use serde_json::{json, Map, Value};

/// ecCodes `cfName` of a parameter (CF standard name), `unknown` otherwise.
pub(crate) fn cf_name(param_id: u32) -> &'static str {
    match param_id {
        130 => "air_temperature",
        131 => "eastward_wind",
        132 => "northward_wind",
        133 => "specific_humidity",
        135 => "lagrangian_tendency_of_air_pressure",
        129 => "geopotential",
        156 => "geopotential_height",
        157 => "relative_humidity",
        167 => "air_temperature",
        165 | 228246 => "eastward_wind",
        166 | 228247 => "northward_wind",
        151 => "air_pressure_at_mean_sea_level",
        134 => "surface_air_pressure",
        172 => "land_binary_mask",
        164 => "cloud_area_fraction",
        141 => "lwe_thickness_of_surface_snow_amount",
        143 => "lwe_thickness_of_convective_precipitation_amount",
        _ => "unknown",
    }
}

/// ecCodes `centreDescription` of a centre abbreviation, if known.
pub(crate) fn centre_description(centre: &str) -> Option<&'static str> {
    Some(match centre {
        "ecmf" => "European Centre for Medium-Range Weather Forecasts",
        "kwbc" => "US National Weather Service - NCEP",
        "lfpw" => "French Weather Service - Toulouse",
        "edzw" => "Offenbach",
        "cwao" => "Canadian Meteorological Service - Montreal",
        "rjtd" => "Japanese Meteorological Agency - Tokyo",
        "egrr" => "U.K. Met Office - Exeter",
        _ => return None,
    })
}

/// ecCodes `gridDefinitionDescription` of a grid template (3.N), if known.
pub(crate) fn grid_description(template: u16) -> Option<&'static str> {
    Some(match template {
        0 => "Latitude/longitude",
        1 => "Rotated latitude/longitude",
        10 => "Mercator",
        20 => "Polar stereographic",
        30 => "Lambert Conformal",
        40 => "Gaussian latitude/longitude",
        _ => return None,
    })
}

/// cfgrib's `COORD_ATTRS` for a coordinate name (empty when cfgrib has none).
pub(crate) fn coord_attrs(name: &str) -> Map<String, Value> {
    let v = match name {
        "latitude" => {
            json!({"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"})
        }
        "longitude" => {
            json!({"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"})
        }
        "depthBelowLand" | "depthBelowLandLayer" => {
            json!({"units": "m", "positive": "down", "long_name": "soil depth", "standard_name": "depth"})
        }
        "hybrid" => json!({"units": "1", "positive": "down", "long_name": "hybrid level",
                           "standard_name": "atmosphere_hybrid_sigma_pressure_coordinate"}),
        "heightAboveGround" => {
            json!({"units": "m", "positive": "up", "long_name": "height above the surface", "standard_name": "height"})
        }
        "isobaricInhPa" => {
            json!({"units": "hPa", "positive": "down", "stored_direction": "decreasing",
                                  "standard_name": "air_pressure", "long_name": "pressure"})
        }
        "isobaricInPa" => {
            json!({"units": "Pa", "positive": "down", "stored_direction": "decreasing",
                                 "standard_name": "air_pressure", "long_name": "pressure"})
        }
        "isobaricLayer" => {
            json!({"units": "Pa", "positive": "down", "standard_name": "air_pressure", "long_name": "pressure"})
        }
        "number" => {
            json!({"units": "1", "standard_name": "realization", "long_name": "ensemble member numerical id"})
        }
        "step" => json!({"units": "hours", "standard_name": "forecast_period",
                         "long_name": "time since forecast_reference_time", "dtype": "timedelta64[ns]"}),
        "time" => {
            json!({"units": "seconds since 1970-01-01T00:00:00", "calendar": "proleptic_gregorian",
                         "standard_name": "forecast_reference_time", "long_name": "initial time of forecast"})
        }
        "valid_time" => {
            json!({"units": "seconds since 1970-01-01T00:00:00", "calendar": "proleptic_gregorian",
                               "standard_name": "time", "long_name": "time"})
        }
        _ => json!({}),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
