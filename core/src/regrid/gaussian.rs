//! The N320 reduced Gaussian grid: latitudes computed in code, `pl` as data.
//!
//! Gaussian latitudes are the zeros of the Legendre polynomial `P_2N`. They
//! are found by Newton iteration on the colatitude θ, evaluating
//! `P_n(cos θ)` from its Fourier cosine series
//! `P_n(cos θ) = Σ_k α_k α_(n−k) cos((n − 2k) θ)`, `α_k = (2k)! / (2^(2k) (k!)^2)`
//! (all coefficients positive, so the sum loses no precision), which stays
//! accurate next to the poles where `x = cos θ` would be ill-conditioned.

/// `pl` of the classic N320 reduced Gaussian grid, northern half (rows 0 to
/// 319, north → south); the southern half mirrors it.
///
/// Provenance: key `pl` of ecCodes 2.50.0's sample `reduced_gg_pl_320_grib2`
/// (`shared/data/regrid/n320_pl.json`). ECMWF defines the classic reduced
/// grids by such tables (atlas and MIR embed them too), not by a closed rule;
/// the test `n320_pl_matches_eccodes` checks this copy against the JSON.
const N320_PL_NORTH: [u16; 320] = [
    18, 25, 36, 40, 45, 50, 60, 64, 72, 72, 75, 81, 90, 96, 100, 108, 120, 120, 125, 135, 144, 144,
    150, 160, 180, 180, 180, 192, 192, 200, 216, 216, 216, 225, 240, 240, 240, 250, 256, 270, 270,
    288, 288, 288, 300, 300, 320, 320, 320, 324, 360, 360, 360, 360, 360, 360, 375, 375, 384, 384,
    400, 400, 405, 432, 432, 432, 432, 450, 450, 450, 480, 480, 480, 480, 480, 486, 500, 500, 500,
    512, 512, 540, 540, 540, 540, 540, 576, 576, 576, 576, 576, 576, 600, 600, 600, 600, 640, 640,
    640, 640, 640, 640, 640, 648, 648, 675, 675, 675, 675, 720, 720, 720, 720, 720, 720, 720, 720,
    720, 729, 750, 750, 750, 750, 768, 768, 768, 768, 800, 800, 800, 800, 800, 800, 810, 810, 864,
    864, 864, 864, 864, 864, 864, 864, 864, 864, 864, 900, 900, 900, 900, 900, 900, 900, 900, 960,
    960, 960, 960, 960, 960, 960, 960, 960, 960, 960, 960, 960, 960, 972, 972, 1000, 1000, 1000,
    1000, 1000, 1000, 1000, 1000, 1024, 1024, 1024, 1024, 1024, 1024, 1080, 1080, 1080, 1080, 1080,
    1080, 1080, 1080, 1080, 1080, 1080, 1080, 1080, 1080, 1125, 1125, 1125, 1125, 1125, 1125, 1125,
    1125, 1125, 1125, 1125, 1125, 1125, 1125, 1152, 1152, 1152, 1152, 1152, 1152, 1152, 1152, 1152,
    1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200,
    1200, 1200, 1215, 1215, 1215, 1215, 1215, 1215, 1215, 1280, 1280, 1280, 1280, 1280, 1280, 1280,
    1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280,
    1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280,
    1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280,
    1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280,
    1280, 1280, 1280,
];

/// N of the N320 grid (number of latitudes between a pole and the equator).
pub const N320_N: usize = 320;

/// Number of points of the N320 reduced Gaussian grid.
pub const N320_POINTS: usize = 542_080;

/// `pl` of the N320 grid: points per latitude row, 640 rows north → south.
#[must_use]
pub fn n320_pl() -> Vec<usize> {
    let north = N320_PL_NORTH.iter().map(|&p| usize::from(p));
    let south = N320_PL_NORTH.iter().rev().map(|&p| usize::from(p));
    north.chain(south).collect()
}

/// The `2n` Gaussian latitudes of a Gaussian grid of number `n` (`n` rows
/// between a pole and the equator), in degrees, north → south.
///
/// Symmetric by construction: row `2n − 1 − r` is exactly `−lat[r]`.
#[must_use]
pub fn gaussian_latitudes(n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let degree = 2 * n;
    let coeffs = fourier_coefficients(degree);
    let mut north = Vec::with_capacity(n);
    for k in 1..=n {
        let theta = legendre_zero(degree, k, &coeffs);
        north.push((std::f64::consts::FRAC_PI_2 - theta).to_degrees());
    }
    let south = north.iter().rev().map(|&lat| -lat);
    let mut lats = north.clone();
    lats.extend(south);
    lats
}

/// The 640 Gaussian latitudes of N320, degrees, north → south.
#[must_use]
pub fn n320_row_latitudes() -> Vec<f64> {
    gaussian_latitudes(N320_N)
}

/// Latitude of every N320 point (542,080 values, degrees, rows north →
/// south, each row's points west → east from longitude 0).
#[must_use]
pub fn n320_latitudes() -> Vec<f64> {
    let rows = n320_row_latitudes();
    let mut out = Vec::with_capacity(N320_POINTS);
    for (lat, pl) in rows.iter().zip(n320_pl()) {
        out.extend(std::iter::repeat_n(*lat, pl));
    }
    out
}

/// Longitude of every N320 point (542,080 values, degrees in `[0, 360)`,
/// the order of [`n320_latitudes`]): point `k` of a row of `pl` points lies
/// at `k · 360 / pl`, as anemoi-inference expects.
#[must_use]
pub fn n320_longitudes() -> Vec<f64> {
    let mut out = Vec::with_capacity(N320_POINTS);
    for pl in n320_pl() {
        out.extend((0..pl).map(|k| row_longitude(k, pl)));
    }
    out
}

/// Longitude of point `k` of a row of `pl` points: `360 k / pl` rounded once
/// (exact whenever the true value is a multiple of a power of two, e.g. on a
/// 0.25° meridian).
pub(crate) fn row_longitude(k: usize, pl: usize) -> f64 {
    (360 * k) as f64 / pl as f64
}

/// `c_m` such that `P_n(cos θ) = c_0 + 2 Σ_{m ≥ 1} c_m cos(m' θ)`, where the
/// terms come in pairs `(k, n − k)`: returns `(multiplicity × α_k α_(n−k), n − 2k)`
/// for `k = 0 ..= n/2`.
fn fourier_coefficients(n: usize) -> Vec<(f64, f64)> {
    // α_k = α_(k−1) (2k − 1) / (2k), α_0 = 1.
    let mut alpha = Vec::with_capacity(n + 1);
    alpha.push(1.0_f64);
    for k in 1..=n {
        let prev = alpha[k - 1];
        alpha.push(prev * (2 * k - 1) as f64 / (2 * k) as f64);
    }
    (0..=n / 2)
        .map(|k| {
            let pair = if 2 * k == n { 1.0 } else { 2.0 };
            (pair * alpha[k] * alpha[n - k], (n - 2 * k) as f64)
        })
        .collect()
}

/// `(P_n(cos θ), dP_n(cos θ)/dθ)` from the Fourier series.
fn legendre_theta(coeffs: &[(f64, f64)], theta: f64) -> (f64, f64) {
    let mut p = 0.0;
    let mut dp = 0.0;
    for &(c, m) in coeffs {
        let (s, co) = (m * theta).sin_cos();
        p += c * co;
        dp -= c * m * s;
    }
    (p, dp)
}

/// The k-th zero (k = 1 nearest the north pole) of `P_n(cos θ)`, as θ.
fn legendre_zero(n: usize, k: usize, coeffs: &[(f64, f64)]) -> f64 {
    let nf = n as f64;
    // Tricomi's asymptotic first guess, within ~1e-6 of the zero.
    let phase = std::f64::consts::PI * (4 * k - 1) as f64 / (4.0 * nf + 2.0);
    let mut theta = phase + 1.0 / (8.0 * nf * nf * phase.tan());
    for _ in 0..20 {
        let (p, dp) = legendre_theta(coeffs, theta);
        let step = p / dp;
        theta -= step;
        if step.abs() <= 1e-16 * theta {
            break;
        }
    }
    theta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pl_sum_and_first() {
        let pl = n320_pl();
        assert_eq!(pl.len(), 640);
        assert_eq!(pl.iter().sum::<usize>(), N320_POINTS);
        assert_eq!(pl[0], 18);
        assert_eq!(pl[639], 18);
    }

    #[test]
    fn legendre_zeros_are_zeros() {
        // Cross-check with the three-term recurrence in x = cos θ.
        let lats = gaussian_latitudes(N320_N);
        assert_eq!(lats.len(), 640);
        for &lat in &lats[..320] {
            let x = lat.to_radians().sin();
            let (mut p0, mut p1) = (1.0_f64, x);
            for m in 2..=640 {
                let mf = m as f64;
                let p2 = ((2.0 * mf - 1.0) * x * p1 - (mf - 1.0) * p0) / mf;
                p0 = p1;
                p1 = p2;
            }
            // |P| within the rounding of x itself (|P'| · ulp(x)).
            let dp = 640.0 * (x * p1 - p0) / (x * x - 1.0);
            assert!(
                p1.abs() < 4.0 * f64::EPSILON * dp.abs(),
                "P_640({x}) = {p1}, P' = {dp}"
            );
        }
        // strictly decreasing, symmetric
        assert!(lats.windows(2).all(|w| w[0] > w[1]));
        assert!(
            (lats[0] - 89.784_876_907_218_6).abs() < 1e-11,
            "{}",
            lats[0]
        );
        assert!(lats.iter().zip(lats.iter().rev()).all(|(a, b)| *a == -*b));
    }

    #[test]
    fn small_gaussian_grid() {
        // N1: the zeros of P_2 are ±1/√3.
        let lats = gaussian_latitudes(1);
        let expect = (1.0_f64 / 3.0_f64.sqrt()).asin().to_degrees();
        assert!((lats[0] - expect).abs() < 1e-13);
        assert_eq!(lats[1], -lats[0]);
    }

    #[test]
    fn longitudes_exact_on_meridians() {
        assert_eq!(row_longitude(5, 25), 72.0);
        assert_eq!(row_longitude(1, 18), 20.0);
        let lons = n320_longitudes();
        assert_eq!(lons.len(), N320_POINTS);
        assert_eq!(lons[18], 0.0);
        assert!(lons.iter().all(|&l| (0.0..360.0).contains(&l)));
    }
}
