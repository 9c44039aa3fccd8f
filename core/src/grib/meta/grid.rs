//! The grid of a field (section 3), with the keys ecCodes defines for each
//! grid definition template.

use super::keys::{self, Env};
use super::Grid;
use crate::grib::section::Section;
use crate::grib::tables::{self, k, MISSING_LONG};

/// Reads `n` octets at `octet` as an unsigned value; `None` past the end.
fn un(s: &Section<'_>, octet: usize, n: usize) -> Option<u64> {
    let b = s.bytes.get(octet.checked_sub(1)?..octet - 1 + n)?;
    Some(b.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
}

/// Sign-and-magnitude 4-octet value.
fn sn4(s: &Section<'_>, octet: usize) -> Option<i64> {
    s.i32(octet).ok().map(i64::from)
}

/// `unsigned[4]` with `can_be_missing`: all ones is missing (`None`).
fn un4_missing(s: &Section<'_>, octet: usize) -> Option<Option<u32>> {
    s.u32(octet).ok().map(|v| (v != u32::MAX).then_some(v))
}

/// Degrees of a GRIB2 angle the way ecCodes' `g2grid` computes them.
fn g2grid_deg(v: i64, basic_angle: i64, subdivisions: i64) -> f64 {
    let sub = if subdivisions == MISSING_LONG || subdivisions == 0 {
        1_000_000
    } else {
        subdivisions
    };
    let basic = if basic_angle == 0 { 1 } else { basic_angle };
    v as f64 / sub as f64 * basic as f64
}

/// Degrees of a micro-degree angle (ecCodes' `scale(v, 1, 1000000)`).
fn micro(v: i64) -> f64 {
    (v as f64 * 1.0) / 1_000_000.0
}

impl Grid {
    /// Latitudes (one per row) and longitudes (one per column) of a
    /// `regular_ll` grid (or a template 3.0 grid without a type) exactly as
    /// ecCodes' `regular` iterator computes them: the first longitude moved
    /// west by 360° when the grid would otherwise not reach the last one,
    /// values accumulated increment by increment, and the last value set to
    /// the declared last point (ecCodes ECC-1406). `None` for other grids
    /// and for headers that lack a key.
    ///
    /// The one lat/lon formula of gik: references (`refs::build`), the
    /// browser's decoded fields and every front end use it.
    #[must_use]
    pub fn lat_lon(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        if !(self.grid_type == "regular_ll" || (self.grid_type.is_empty() && self.template == 0)) {
            return None;
        }
        let (ni, nj) = (self.ni?, self.nj?);
        if ni == 0 || nj == 0 || ni > 10_000_000 || nj > 10_000_000 {
            return None;
        }
        let (la1, la2, lo1, lo2, di, dj) = (
            self.lat_first?,
            self.lat_last?,
            self.lon_first?,
            self.lon_last?,
            self.di?,
            self.dj?,
        );
        let i_neg = self.scanning_mode & 0x80 != 0;
        let j_pos = self.scanning_mode & 0x40 != 0;
        let mut lon = lo1;
        let idir = if i_neg {
            -di
        } else {
            if ni >= 2 && lon + f64::from(ni - 2) * di > lo2 {
                lon -= 360.0;
            }
            di
        };
        let mut lons = Vec::with_capacity(ni as usize);
        for _ in 0..ni {
            lons.push(lon);
            lon += idir;
        }
        if ni > 1 {
            if let Some(last) = lons.last_mut() {
                *last = if !i_neg && lo2 < *last - 180.0 {
                    lo2 + 360.0
                } else {
                    lo2
                };
            }
        }
        let jdir = if j_pos { dj } else { -dj };
        let mut lat = la1;
        let mut lats = Vec::with_capacity(nj as usize);
        for _ in 0..nj {
            lats.push(lat);
            lat += jdir;
        }
        if nj > 1 {
            if let Some(last) = lats.last_mut() {
                *last = la2;
            }
        }
        Some((lats, lons))
    }
}

/// Reads the grid and sets the section 3 keys that concepts test.
pub(crate) fn read(s3: &Section<'_>, env: &mut Env) -> Grid {
    let template = s3.u16(13).unwrap_or(u16::MAX);
    let octets_for_pl = s3.u8(11).unwrap_or(0);
    let mut g = Grid {
        template,
        number_of_data_points: u64::from(s3.u32(7).unwrap_or(0)),
        ..Grid::default()
    };
    env.set(k::GRID_DEFINITION_TEMPLATE_NUMBER, i64::from(template));
    env.set(
        k::NUMBER_OF_OCTECTS_FOR_NUMBER_OF_POINTS,
        i64::from(octets_for_pl),
    );
    env.set(k::PL_PRESENT, i64::from(octets_for_pl != 0));
    match template {
        // Latitude/longitude (0-3) and Gaussian (40-43) grids share their first octets.
        0..=3 | 40..=43 => {
            let ni = un4_missing(s3, 31).flatten();
            g.ni = ni;
            g.nj = s3.u32(35).ok();
            env.set(
                k::NUMBER_OF_POINTS_ALONG_A_PARALLEL,
                ni.map_or(MISSING_LONG, i64::from),
            );
            let basic = un(s3, 39, 4).map_or(0, |v| v as i64);
            let sub = un4_missing(s3, 43)
                .flatten()
                .map_or(MISSING_LONG, i64::from);
            let deg = |octet| sn4(s3, octet).map(|v| g2grid_deg(v, basic, sub));
            g.lat_first = deg(47);
            g.lon_first = deg(51);
            let flags = s3.u8(55).unwrap_or(0);
            let i_given = flags & 0x20 != 0;
            let j_given = flags & 0x10 != 0;
            env.set(k::I_DIRECTION_INCREMENT_GIVEN, i64::from(i_given));
            g.lat_last = deg(56);
            g.lon_last = deg(60);
            let inc = |octet, given: bool| {
                let v = un4_missing(s3, octet)?;
                match v {
                    Some(v) if given => Some(g2grid_deg(i64::from(v), basic, sub)),
                    _ => None,
                }
            };
            g.di = inc(64, i_given);
            if template < 40 {
                g.dj = inc(68, j_given);
            }
            g.scanning_mode = s3.u8(72).unwrap_or(0);
        }
        10 => {
            g.ni = s3.u32(31).ok();
            g.nj = s3.u32(35).ok();
            g.lat_first = sn4(s3, 39).map(micro);
            g.lon_first = sn4(s3, 43).map(micro);
            env.set(
                k::I_DIRECTION_INCREMENT_GIVEN,
                i64::from(s3.u8(47).unwrap_or(0) & 0x20 != 0),
            );
            g.lat_last = sn4(s3, 52).map(micro);
            g.lon_last = sn4(s3, 56).map(micro);
            g.scanning_mode = s3.u8(60).unwrap_or(0);
        }
        20 | 30 | 31 => {
            g.ni = s3.u32(31).ok();
            g.nj = s3.u32(35).ok();
            g.lat_first = sn4(s3, 39).map(micro);
            g.lon_first = s3.u32(43).ok().map(|v| micro(i64::from(v)));
            env.set(
                k::I_DIRECTION_INCREMENT_GIVEN,
                i64::from(s3.u8(47).unwrap_or(0) & 0x20 != 0),
            );
            g.scanning_mode = s3.u8(65).unwrap_or(0);
        }
        150 => {
            env.set(
                k::I_DIRECTION_INCREMENT_GIVEN,
                i64::from(s3.u8(31).unwrap_or(0) & 0x20 != 0),
            );
            g.lon_first = s3.u32(36).ok().map(|v| micro(i64::from(v)));
            g.scanning_mode = s3.u8(42).unwrap_or(0);
        }
        101 => {
            if let Ok(n) = s3.u8(19) {
                env.set(k::NUMBER_OF_GRID_IN_REFERENCE, i64::from(n));
            }
        }
        _ => {}
    }
    g.grid_type = keys::inline(env, tables::GRID_TYPE)
        .unwrap_or("unknown")
        .to_string();
    g
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn angles() {
        assert_eq!(g2grid_deg(89_141_519, 0, MISSING_LONG), 89.141519);
        assert_eq!(micro(16_977_500), 16.9775);
        assert_eq!(g2grid_deg(-12_302_501, 0, 0), -12.302501);
    }

    fn grid(lo1: f64, lo2: f64, ni: u32, nj: u32, d: f64) -> Grid {
        Grid {
            grid_type: "regular_ll".into(),
            number_of_data_points: u64::from(ni) * u64::from(nj),
            ni: Some(ni),
            nj: Some(nj),
            lat_first: Some(90.0),
            lon_first: Some(lo1),
            lat_last: Some(-90.0),
            lon_last: Some(lo2),
            di: Some(d),
            dj: Some(d),
            ..Grid::default()
        }
    }

    #[test]
    fn regular_ll_like_eccodes() {
        // 0.4° as in the kerchunk grib_tree of gribrs__20240101000000-0h-oper-fc:
        // longitudes -180 … 179.6 accumulated, last exactly 179.6.
        let (lat, lon) = grid(180.0, 179.6, 900, 451, 0.4).lat_lon().expect("axes");
        assert_eq!(lon[0], -180.0);
        assert_eq!(lon[1], -179.6);
        assert_eq!(lon[2], -179.2);
        assert_eq!(lon[3], -178.799_999_999_999_98);
        assert_eq!(lon[899], 179.6);
        assert_eq!(lat[2], 89.199_999_999_999_99);
        assert_eq!(lat[450], -90.0);
        // 0..358.5 stays east.
        let (_, lon) = grid(0.0, 358.5, 240, 121, 1.5).lat_lon().expect("axes");
        assert_eq!((lon[0], lon[239]), (0.0, 358.5));
    }

    #[test]
    fn only_regular_lat_lon_grids_have_axes() {
        let mut g = grid(0.0, 358.5, 240, 121, 1.5);
        g.grid_type = "reduced_gg".into();
        assert_eq!(g.lat_lon(), None);
        let mut g = grid(0.0, 358.5, 240, 121, 1.5);
        g.di = None;
        assert_eq!(g.lat_lon(), None);
        // west to east from 180°: ecCodes moves the first longitude west (not a wrap at 180)
        let (_, lon) = grid(180.0, 179.6, 900, 451, 0.4).lat_lon().expect("axes");
        assert!(lon.windows(2).all(|w| w[1] > w[0]));
    }
}
