//! 3-D geometry of MIR's finite-element interpolation: points on the sphere
//! as eckit converts them, and ray/triangle intersection (Möller–Trumbore)
//! with atlas' edge tolerance and snapping.

/// Sphere radius in metres (atlas' `util::Earth`). Only ratios enter the
/// weights, but the edge tolerance `1e-15 · √area` depends on the scale, so
/// the mesh lives on the same sphere as MIR's.
pub(crate) const EARTH_RADIUS: f64 = 6_371_229.0;

/// Scales the edge tolerance of a triangle: `PARAMETRIC_EPSILON · √area`.
const PARAMETRIC_EPSILON: f64 = 1e-15;

/// Below this |det| the ray is taken as parallel to the triangle.
const PARALLEL_EPSILON: f64 = 5.0 * f64::EPSILON;

pub(crate) type Vec3 = [f64; 3];

/// Sine and cosine of a latitude as eckit computes them: `sin φ` from libm,
/// `cos φ = √(1 − sin² φ)` (exactly 0 at the poles).
pub(crate) fn lat_sin_cos(lat_deg: f64) -> (f64, f64) {
    let phi = lat_deg.to_radians_eckit();
    let s = phi.sin();
    (s, (1.0 - s * s).sqrt())
}

/// Sine and cosine of a longitude as eckit computes them: the longitude is
/// first brought into `[−180, 180)`; `sin λ` from libm (0 at ±180),
/// `cos λ = √(1 − sin² λ)` when |λ| ≤ 90°, libm's `cos λ` otherwise.
pub(crate) fn lon_sin_cos(lon_deg: f64) -> (f64, f64) {
    let mut lon = lon_deg;
    while lon >= 180.0 {
        lon -= 360.0;
    }
    while lon < -180.0 {
        lon += 360.0;
    }
    let lambda = lon.to_radians_eckit();
    let s = if lon.abs() < 180.0 { lambda.sin() } else { 0.0 };
    let c = if lon.abs() > 90.0 {
        lambda.cos()
    } else {
        (1.0 - s * s).sqrt()
    };
    (s, c)
}

/// xyz on the sphere of radius [`EARTH_RADIUS`] from `R cos φ` (precomputed
/// per row), `sin φ` and the longitude's sine and cosine; the same products
/// in the same order as eckit's `(R · cos φ) · cos λ`.
#[inline]
pub(crate) fn xyz(r_cos_lat: f64, sin_lat: f64, (sin_lon, cos_lon): (f64, f64)) -> Vec3 {
    [
        r_cos_lat * cos_lon,
        r_cos_lat * sin_lon,
        EARTH_RADIUS * sin_lat,
    ]
}

/// xyz of a point given in degrees.
#[cfg(test)]
pub(crate) fn xyz_of(lat_deg: f64, lon_deg: f64) -> Vec3 {
    let (s, c) = lat_sin_cos(lat_deg);
    xyz(EARTH_RADIUS * c, s, lon_sin_cos(lon_deg))
}

trait ToRadiansEckit {
    fn to_radians_eckit(self) -> f64;
}

impl ToRadiansEckit for f64 {
    /// `(π / 180) · deg`, one rounding of the product as eckit does it
    /// (std's `to_radians` is the same expression today; spelt out so the
    /// operator does not depend on that).
    #[inline]
    fn to_radians_eckit(self) -> f64 {
        (std::f64::consts::PI / 180.0) * self
    }
}

#[inline]
fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// The barycentric weights `(1 − u − v, u, v)` of the point where the ray
/// from `p` towards the centre of the sphere crosses the triangle
/// `(v0, v1, v2)`, or `None` if it misses it by more than the edge tolerance
/// `1e-15 · √area`.
///
/// Möller–Trumbore; a point outside by less than the tolerance is snapped
/// onto the edge as atlas' `Triag3D::intersects` does (over the diagonal:
/// `u` and `v` each move by half the excess; below 0: set to 0, and clamped
/// to `[0, 1]` along that edge).
pub(crate) fn intersect(p: Vec3, v0: Vec3, v1: Vec3, v2: Vec3) -> Option<[f64; 3]> {
    let edge1 = sub(v1, v0);
    let edge2 = sub(v2, v0);
    let area = 0.5 * norm(cross(edge1, edge2));
    let edge_eps = PARAMETRIC_EPSILON * area.sqrt();
    let (mut u, mut v) = ray_uv(p, v0, edge1, edge2)?;

    let w = 1.0 - (u + v);
    if w < 0.0 {
        if w < -edge_eps {
            return None;
        }
        u += 0.5 * w;
        v += 0.5 * w;
    }
    if u < 0.0 {
        if u < -edge_eps || v < -edge_eps || v > 1.0 + edge_eps {
            return None;
        }
        u = 0.0;
        v = v.clamp(0.0, 1.0);
    }
    if v < 0.0 {
        if v < -edge_eps || u < -edge_eps || u > 1.0 + edge_eps {
            return None;
        }
        v = 0.0;
        u = u.clamp(0.0, 1.0);
    }
    Some([1.0 - u - v, u, v])
}

/// Unclamped barycentric weights of the ray's crossing with the plane of
/// the triangle (`None` if parallel to it).
pub(crate) fn barycentric(p: Vec3, v0: Vec3, v1: Vec3, v2: Vec3) -> Option<[f64; 3]> {
    let (u, v) = ray_uv(p, v0, sub(v1, v0), sub(v2, v0))?;
    Some([1.0 - u - v, u, v])
}

/// Möller–Trumbore's `(u, v)` for the ray from `p` towards the centre.
#[inline]
fn ray_uv(p: Vec3, v0: Vec3, edge1: Vec3, edge2: Vec3) -> Option<(f64, f64)> {
    let dir = [-p[0], -p[1], -p[2]];
    let pvec = cross(dir, edge2);
    let det = dot(edge1, pvec);
    if det.abs() < PARALLEL_EPSILON {
        return None;
    }
    let inv_det = 1.0 / det;
    let tvec = sub(p, v0);
    let qvec = cross(tvec, edge1);
    Some((dot(tvec, pvec) * inv_det, dot(dir, qvec) * inv_det))
}

#[inline]
fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eckit_conventions() {
        assert_eq!(lat_sin_cos(90.0), (1.0, 0.0));
        assert_eq!(lon_sin_cos(180.0), (0.0, -1.0));
        assert_eq!(lon_sin_cos(0.0), (0.0, 1.0));
        // 359.75 is taken as −0.25
        assert_eq!(lon_sin_cos(359.75), lon_sin_cos(-0.25));
        let p = xyz_of(0.0, 90.0);
        assert!((p[1] - EARTH_RADIUS).abs() < 1e-6 && p[0].abs() < 1e-6);
    }

    #[test]
    fn centroid_hits_with_equal_weights() {
        let a = xyz_of(10.0, 10.0);
        let b = xyz_of(10.0, 10.25);
        let c = xyz_of(9.75, 10.0);
        let m = [
            (a[0] + b[0] + c[0]) / 3.0,
            (a[1] + b[1] + c[1]) / 3.0,
            (a[2] + b[2] + c[2]) / 3.0,
        ];
        let w = intersect(m, a, b, c).unwrap_or_default();
        for x in w {
            assert!((x - 1.0 / 3.0).abs() < 1e-12, "{w:?}");
        }
        // a point outside misses
        assert!(intersect(xyz_of(9.5, 10.1), a, b, c).is_none());
    }
}
