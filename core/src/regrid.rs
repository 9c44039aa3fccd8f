//! Regridding ECMWF's 0.25° regular grid to the N320 reduced Gaussian grid
//! that AIFS reads, reproducing ECMWF MIR's `interpolation=linear`.
//!
//! The operator is the sparse matrix MIR builds for
//! `{grid: [0.25, 0.25]} → {grid: N320}` (the matrix earthkit-regrid
//! downloads for the AIFS notebooks): finite-element linear interpolation on
//! a triangulated mesh of the source grid, in 3-D.
//!
//! - **Source mesh.** Every 0.25° cell is split into two triangles in a
//!   checkerboard: for the cell whose north-west corner is row `j` (from the
//!   north pole) and column `i` (from longitude 0), `(i + j)` odd → diagonal
//!   NW–SE, `(i + j)` even → diagonal SW–NE. Longitude is periodic (the
//!   359.75° → 0° cells exist). Each pole row collapses to its node at
//!   longitude 0, so the polar caps are triangle fans.
//! - **Target points.** N320 rows north → south at the Gaussian latitudes
//!   ([`n320_latitudes`], computed in code), row `r` holding `pl[r]` points at
//!   `k · 360 / pl[r]` ([`n320_longitudes`], 0 → 360).
//! - **Weights.** Points become xyz on the sphere as eckit converts them
//!   (cosines as `√(1 − sin²)`); the ray from a target point towards the
//!   centre of the sphere hits one triangle (Möller–Trumbore, edge tolerance
//!   `1e-15 · √area`), whose barycentric coordinates `(1 − u − v, u, v)` are
//!   the weights. Weights below `1e-10` are dropped and their sum is spread
//!   evenly over the point's other weights. Result: 1,505,824 weights,
//!   421,664 points with three and 120,416 (those on a 0.25° meridian) with
//!   two.
//!
//! Because the source grid is regular, the triangle is found directly from
//! the point's latitude and longitude (its cell, then the neighbouring
//! cells): no search tree. Building takes a few tens of milliseconds.
//!
//! # Source layout
//!
//! MIR's matrix numbers the source `lat 90 → −90, lon 0 → 359.75`. ECMWF open
//! data stores `lon −180 → 179.75`. [`N320Operator::build`] maps the indices
//! so that the operator applies **directly to the open-data array order**
//! (as decoded, no roll); [`N320Operator::build_for`]`(`[`SourceLayout::Greenwich`]`)`
//! gives MIR's numbering (MARS retrievals, ERA5). Within each point the
//! weights are kept in the order MIR stores them (its triangles' vertex
//! order, not sorted by column), so a point's f64 sum is formed in the same
//! order as MIR's matrix product (or scipy's on MIR's matrix).
//!
//! # Agreement with MIR
//!
//! Against MIR 1.30.2's whole matrix (`scripts/regrid_compare_mir.py`): the
//! same 1,505,824 (row, column) pairs, largest weight difference 3.3e-13 (the
//! target coordinates differ from MIR's in the last bit here and there), the
//! analytic checksum of `shared/data/regrid` to 2e-15, and a real t500 field
//! to 2e-15 relative in f64 and identical at every point after the f32 cast.
//!
//! Values are combined in f64; [`N320Operator::apply_f32`] rounds the f64
//! result to f32. A NaN among a point's source values makes that point NaN.
//!
//! ```no_run
//! use gik_core::regrid::{self, N320Operator};
//!
//! let bytes = std::fs::read("t500.grib2").unwrap();
//! let field = gik_core::grib::fields(&bytes).next().unwrap()?;
//! let values = field.decode_f64()?; // 721 × 1440, lon −180 → 179.75
//!
//! let op = N320Operator::build(); // once; reuse for every field
//! let n320: Vec<f32> = op.apply_f32(&values).unwrap(); // 542,080 values
//! let (lats, lons) = (regrid::n320_latitudes(), regrid::n320_longitudes());
//! assert_eq!(n320.len(), lats.len());
//! # let _ = lons;
//! # Ok::<(), gik_core::Error>(())
//! ```

mod gaussian;
mod geometry;

mod classic_pl;

pub use gaussian::{
    gaussian_latitudes, n320_latitudes, n320_longitudes, n320_pl, n320_row_latitudes, GridError,
    ReducedGaussian, MAX_POINTS, N320_N, N320_POINTS,
};

use geometry::Vec3;

/// Rows (latitudes) of the 0.25° source grid, 90 → −90.
pub const SOURCE_NJ: usize = 721;
/// Columns (longitudes) of the 0.25° source grid.
pub const SOURCE_NI: usize = 1440;
/// Points of the 0.25° source grid.
pub const SOURCE_POINTS: usize = SOURCE_NJ * SOURCE_NI;

/// Weights with a smaller magnitude are dropped (MIR's matrix pruning).
const PRUNE_EPSILON: f64 = 1e-10;

/// Cells `[j][i]` of the source grid.
const CELL_ROWS: usize = SOURCE_NJ - 1;

/// How the 0.25° source field is ordered (rows are always 90 → −90).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SourceLayout {
    /// Longitudes −180 → 179.75, as ECMWF open data is published.
    #[default]
    OpenData,
    /// Longitudes 0 → 359.75, as MARS, ERA5 and MIR's matrix number them.
    Greenwich,
}

impl SourceLayout {
    /// Column in this layout of the MIR (Greenwich) column `i`.
    fn column(self, i: usize) -> usize {
        match self {
            Self::OpenData => (i + SOURCE_NI / 2) % SOURCE_NI,
            Self::Greenwich => i,
        }
    }
}

/// What went wrong applying the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegridError {
    /// The source field is not on the 0.25° grid (721 × 1440 values).
    #[error("source field has {found} values; the 0.25° grid has {expected} (721 × 1440)")]
    SourceLength { expected: usize, found: usize },
    /// The output buffer does not have one value per target point.
    #[error("output buffer has {found} values; the target grid has {expected}")]
    TargetLength { expected: usize, found: usize },
}

/// The weights of MIR's "linear" 0.25° → reduced Gaussian interpolation
/// (N320 unless built with [`Operator::build_grid`]): for each target point,
/// two or three source indices and weights.
///
/// Stored as fixed triples (a point with two weights carries a third slot
/// with weight 0 pointing at its first source index), so applying it is one
/// pass with no row pointers. [`Operator::rows`] and
/// [`Operator::to_csr`] expose the exact sparse matrix.
#[derive(Clone)]
pub struct Operator {
    layout: SourceLayout,
    grid: ReducedGaussian,
    /// The target points' coordinates when they are not the grid's own
    /// (a checkpoint's supporting arrays, checked against the grid).
    coordinates: Option<std::sync::Arc<(Vec<f64>, Vec<f64>)>>,
    cols: Vec<u32>,
    weights: Vec<f64>,
    len: Vec<u8>,
}

/// The operator to N320, by its former name.
pub type N320Operator = Operator;

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("grid", &self.grid)
            .field("layout", &self.layout)
            .field("points", &self.len.len())
            .field("nnz", &self.nnz())
            .finish_non_exhaustive()
    }
}

/// A compressed-sparse-row copy of the operator (`scipy.sparse.csr_array((data,
/// indices, indptr), shape)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    /// `(542080, 1038240)`.
    pub shape: (usize, usize),
    /// Row `r`'s entries are `indptr[r] .. indptr[r + 1]`.
    pub indptr: Vec<u64>,
    /// Source index of each entry.
    pub indices: Vec<u32>,
    /// Weight of each entry.
    pub data: Vec<f64>,
}

impl Operator {
    /// Builds the operator for fields in ECMWF open-data order
    /// ([`SourceLayout::OpenData`]: lat 90 → −90, lon −180 → 179.75).
    #[must_use]
    pub fn build() -> Self {
        Self::build_for(SourceLayout::OpenData)
    }

    /// Builds the N320 operator for fields in the given source layout.
    #[must_use]
    pub fn build_for(layout: SourceLayout) -> Self {
        Self::build_unchecked(ReducedGaussian::N320, layout)
    }

    /// Builds the operator to any reduced Gaussian grid gik knows (classic
    /// `N` in ecCodes' samples, octahedral `O` of any number, up to
    /// [`MAX_POINTS`] points), the same way MIR builds it for N320.
    ///
    /// # Errors
    /// [`GridError`] for a classic grid without a table or a grid too large.
    pub fn build_grid(grid: ReducedGaussian, layout: SourceLayout) -> Result<Self, GridError> {
        grid.check()?;
        Ok(Self::build_unchecked(grid, layout))
    }

    fn build_unchecked(grid: ReducedGaussian, layout: SourceLayout) -> Self {
        let mesh = SourceMesh::new();
        let pl = grid.pl();
        let lats = grid.row_latitudes();
        let points = grid.points();
        let mut cols = Vec::with_capacity(3 * points);
        let mut weights = Vec::with_capacity(3 * points);
        let mut len = Vec::with_capacity(points);

        for (&lat, &n) in lats.iter().zip(&pl) {
            let (sin_lat, cos_lat) = geometry::lat_sin_cos(lat);
            let r_cos_lat = geometry::EARTH_RADIUS * cos_lat;
            for k in 0..n {
                let lon = gaussian::row_longitude(k, n);
                let p = geometry::xyz(r_cos_lat, sin_lat, geometry::lon_sin_cos(lon));
                let (nodes, mut w) = mesh.locate(p, lat, lon);
                // Kept in the triangle's vertex order, which is MIR's order.
                let entries = prune(nodes, &mut w);
                let count = entries.len();
                for &(node, wt) in entries.iter() {
                    cols.push(layout_index(layout, node));
                    weights.push(wt);
                }
                let first = if count > 0 {
                    cols[cols.len() - count]
                } else {
                    0
                };
                for _ in count..3 {
                    cols.push(first);
                    weights.push(0.0);
                }
                len.push(count as u8);
            }
        }
        Self {
            layout,
            grid,
            coordinates: None,
            cols,
            weights,
            len,
        }
    }

    /// The target grid.
    #[must_use]
    pub fn grid(&self) -> ReducedGaussian {
        self.grid
    }

    /// Latitude of every target point: the grid's, or the coordinates given
    /// to [`Operator::with_coordinates`].
    #[must_use]
    pub fn latitudes(&self) -> Vec<f64> {
        match &self.coordinates {
            Some(c) => c.0.clone(),
            None => self.grid.latitudes(),
        }
    }

    /// Longitude of every target point (see [`Operator::latitudes`]).
    #[must_use]
    pub fn longitudes(&self) -> Vec<f64> {
        match &self.coordinates {
            Some(c) => c.1.clone(),
            None => self.grid.longitudes(),
        }
    }

    /// The operator whose target points carry these coordinates (a model's
    /// own latitudes and longitudes), after checking they are the grid's
    /// points in its order: latitudes within [`COORDINATE_TOLERANCE`]
    /// degrees, longitudes too once both are brought into `[0, 360)`.
    ///
    /// # Errors
    /// [`CoordinateMismatch`] for another number of points or the first
    /// point that differs.
    pub fn with_coordinates(
        &self,
        latitudes: Vec<f64>,
        longitudes: Vec<f64>,
    ) -> Result<Self, CoordinateMismatch> {
        compare_coordinates(self.grid, &latitudes, &longitudes)?;
        let mut op = self.clone();
        op.coordinates = Some(std::sync::Arc::new((latitudes, longitudes)));
        Ok(op)
    }

    /// The source layout the operator expects.
    #[must_use]
    pub fn layout(&self) -> SourceLayout {
        self.layout
    }

    /// Number of target points (542,080 for N320).
    #[must_use]
    pub fn target_len(&self) -> usize {
        self.len.len()
    }

    /// Number of source points (1,038,240).
    #[must_use]
    pub fn source_len(&self) -> usize {
        SOURCE_POINTS
    }

    /// Number of non-zero weights (1,505,824).
    #[must_use]
    pub fn nnz(&self) -> usize {
        self.len.iter().map(|&n| usize::from(n)).sum()
    }

    /// The source indices (in this operator's [`SourceLayout`]) and weights of
    /// every target point, in target order; within a point, in MIR's storage
    /// order (not sorted by column).
    pub fn rows(&self) -> impl ExactSizeIterator<Item = (&[u32], &[f64])> + '_ {
        self.cols
            .chunks_exact(3)
            .zip(self.weights.chunks_exact(3))
            .zip(&self.len)
            .map(|((c, w), &n)| (&c[..usize::from(n)], &w[..usize::from(n)]))
    }

    /// The operator as a CSR matrix of shape `(points, 1038240)`, entries in
    /// the order of [`Operator::rows`] (sort them for a canonical CSR).
    #[must_use]
    pub fn to_csr(&self) -> Csr {
        let nnz = self.nnz();
        let mut csr = Csr {
            shape: (self.target_len(), SOURCE_POINTS),
            indptr: Vec::with_capacity(self.target_len() + 1),
            indices: Vec::with_capacity(nnz),
            data: Vec::with_capacity(nnz),
        };
        csr.indptr.push(0);
        for (c, w) in self.rows() {
            csr.indices.extend_from_slice(c);
            csr.data.extend_from_slice(w);
            csr.indptr.push(csr.indices.len() as u64);
        }
        csr
    }

    /// Regrids one field, in f64.
    ///
    /// # Errors
    /// [`RegridError::SourceLength`] unless `src` has 1,038,240 values.
    pub fn apply_f64<T: Copy + Into<f64>>(&self, src: &[T]) -> Result<Vec<f64>, RegridError> {
        let mut out = vec![0.0; self.target_len()];
        self.apply_f64_into(src, &mut out)?;
        Ok(out)
    }

    /// Regrids one field in f64 and rounds the result to f32 (the source may
    /// be f32 or f64).
    ///
    /// # Errors
    /// [`RegridError::SourceLength`] unless `src` has 1,038,240 values.
    pub fn apply_f32<T: Copy + Into<f64>>(&self, src: &[T]) -> Result<Vec<f32>, RegridError> {
        let mut out = vec![0.0; self.target_len()];
        self.apply_f32_into(src, &mut out)?;
        Ok(out)
    }

    /// [`Operator::apply_f64`] into a caller's buffer.
    ///
    /// # Errors
    /// [`RegridError::SourceLength`] or [`RegridError::TargetLength`].
    pub fn apply_f64_into<T: Copy + Into<f64>>(
        &self,
        src: &[T],
        out: &mut [f64],
    ) -> Result<(), RegridError> {
        self.check(src.len(), out.len())?;
        for (o, (c, w)) in out
            .iter_mut()
            .zip(self.cols.chunks_exact(3).zip(self.weights.chunks_exact(3)))
        {
            *o = combine(src, c, w);
        }
        Ok(())
    }

    /// [`Operator::apply_f32`] into a caller's buffer.
    ///
    /// # Errors
    /// [`RegridError::SourceLength`] or [`RegridError::TargetLength`].
    pub fn apply_f32_into<T: Copy + Into<f64>>(
        &self,
        src: &[T],
        out: &mut [f32],
    ) -> Result<(), RegridError> {
        self.check(src.len(), out.len())?;
        for (o, (c, w)) in out
            .iter_mut()
            .zip(self.cols.chunks_exact(3).zip(self.weights.chunks_exact(3)))
        {
            *o = combine(src, c, w) as f32;
        }
        Ok(())
    }

    fn check(&self, src: usize, out: usize) -> Result<(), RegridError> {
        if src != SOURCE_POINTS {
            return Err(RegridError::SourceLength {
                expected: SOURCE_POINTS,
                found: src,
            });
        }
        if out != self.target_len() {
            return Err(RegridError::TargetLength {
                expected: self.target_len(),
                found: out,
            });
        }
        Ok(())
    }
}

/// Largest difference, in degrees, between a model's coordinates and gik's
/// grid accepted as the same point (about 1 cm; float32 copies of the
/// coordinates would need 1e-5).
pub const COORDINATE_TOLERANCE: f64 = 1e-7;

/// A model's latitudes and longitudes that are not the grid's points.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CoordinateMismatch {
    /// Another number of points, or latitudes and longitudes of different lengths.
    #[error(
        "{latitudes} latitudes and {longitudes} longitudes, where grid {grid} has {points} points"
    )]
    Length {
        grid: ReducedGaussian,
        points: usize,
        latitudes: usize,
        longitudes: usize,
    },
    /// A point away from the grid's.
    #[error("point {index} is at latitude {lat}, longitude {lon}; point {index} of grid {grid} is at {grid_lat}, {grid_lon} (more than {tolerance}° apart{more})",
        tolerance = COORDINATE_TOLERANCE,
        more = if *.others > 0 { format!("; {} more points differ", .others) } else { String::new() })]
    Point {
        grid: ReducedGaussian,
        index: usize,
        lat: f64,
        lon: f64,
        grid_lat: f64,
        grid_lon: f64,
        others: usize,
    },
}

/// Checks `latitudes` and `longitudes` are `grid`'s points, in its order.
///
/// # Errors
/// As [`Operator::with_coordinates`].
pub fn compare_coordinates(
    grid: ReducedGaussian,
    latitudes: &[f64],
    longitudes: &[f64],
) -> Result<(), CoordinateMismatch> {
    let points = grid.points();
    if latitudes.len() != points || longitudes.len() != points {
        return Err(CoordinateMismatch::Length {
            grid,
            points,
            latitudes: latitudes.len(),
            longitudes: longitudes.len(),
        });
    }
    let (glat, glon) = (grid.latitudes(), grid.longitudes());
    let lon_diff = |a: f64, b: f64| {
        let d = (a - b).rem_euclid(360.0);
        d.min(360.0 - d)
    };
    let mut first = None;
    let mut others = 0usize;
    for i in 0..points {
        let ok = (latitudes[i] - glat[i]).abs() <= COORDINATE_TOLERANCE
            && lon_diff(longitudes[i], glon[i]) <= COORDINATE_TOLERANCE;
        if !ok {
            if first.is_none() {
                first = Some(i);
            } else {
                others += 1;
            }
        }
    }
    match first {
        None => Ok(()),
        Some(index) => Err(CoordinateMismatch::Point {
            grid,
            index,
            lat: latitudes[index],
            lon: longitudes[index],
            grid_lat: glat[index],
            grid_lon: glon[index],
            others,
        }),
    }
}

/// `((w0 x0 + w1 x1) + w2 x2)`: the order of a CSR product over the row.
#[inline]
fn combine<T: Copy + Into<f64>>(src: &[T], c: &[u32], w: &[f64]) -> f64 {
    let x0: f64 = src[c[0] as usize].into();
    let x1: f64 = src[c[1] as usize].into();
    let x2: f64 = src[c[2] as usize].into();
    w[0] * x0 + w[1] * x1 + w[2] * x2
}

/// Index in `layout` of the MIR node number `node` (`j · 1440 + i`).
fn layout_index(layout: SourceLayout, node: usize) -> u32 {
    let (j, i) = (node / SOURCE_NI, node % SOURCE_NI);
    (j * SOURCE_NI + layout.column(i)) as u32
}

/// MIR's pruning of one point's weights: weights below [`PRUNE_EPSILON`] in
/// magnitude are removed and their sum is added evenly to the others.
/// Returns `(node, weight)` of the kept ones (up to three).
fn prune(nodes: [usize; 3], w: &mut [f64; 3]) -> arrayvec3::Entries {
    let mut removed = 0.0;
    let mut kept = 0usize;
    for x in w.iter_mut() {
        if x.abs() < PRUNE_EPSILON {
            removed += *x;
            *x = 0.0;
        } else {
            kept += 1;
        }
    }
    if removed != 0.0 && kept > 0 {
        let share = removed / kept as f64;
        for x in w.iter_mut().filter(|x| **x != 0.0) {
            *x += share;
        }
    }
    let mut out = arrayvec3::Entries::new();
    for (&n, &x) in nodes.iter().zip(w.iter()) {
        if x != 0.0 {
            out.push((n, x));
        }
    }
    out
}

/// A tiny fixed-capacity list of up to three `(node, weight)` entries.
mod arrayvec3 {
    #[derive(Debug, Default)]
    pub(super) struct Entries {
        items: [(usize, f64); 3],
        n: usize,
    }

    impl Entries {
        pub(super) fn new() -> Self {
            Self::default()
        }
        pub(super) fn push(&mut self, e: (usize, f64)) {
            if self.n < 3 {
                self.items[self.n] = e;
                self.n += 1;
            }
        }
    }

    impl std::ops::Deref for Entries {
        type Target = [(usize, f64)];
        fn deref(&self) -> &Self::Target {
            &self.items[..self.n]
        }
    }

    impl std::ops::DerefMut for Entries {
        fn deref_mut(&mut self) -> &mut Self::Target {
            &mut self.items[..self.n]
        }
    }
}

/// Cells tried around the point's lat/lon cell, as (row, column) offsets.
/// The cell itself first; chords bulge poleward of the latitude circles, so
/// a point can sit in the 3-D triangles of the cell north or south of it;
/// rounding can put a point on a meridian into the next column. The outer
/// ring is a safety net that this grid never needs.
const SEARCH_ORDER: [(isize, isize); 25] = [
    (0, 0),
    (-1, 0),
    (1, 0),
    (0, -1),
    (0, 1),
    (-1, -1),
    (-1, 1),
    (1, -1),
    (1, 1),
    (-2, -2),
    (-2, -1),
    (-2, 0),
    (-2, 1),
    (-2, 2),
    (2, -2),
    (2, -1),
    (2, 0),
    (2, 1),
    (2, 2),
    (-1, -2),
    (0, -2),
    (1, -2),
    (-1, 2),
    (0, 2),
    (1, 2),
];

/// The 0.25° source grid as a 3-D mesh, MIR (Greenwich) numbering.
struct SourceMesh {
    /// `R · cos φ` and `sin φ` of each row.
    r_cos_lat: Vec<f64>,
    sin_lat: Vec<f64>,
    /// `(sin λ, cos λ)` of each column.
    lon: Vec<(f64, f64)>,
}

/// A node of the mesh as (row, column), before pole rows collapse.
type Node = (usize, usize);

impl SourceMesh {
    fn new() -> Self {
        let mut r_cos_lat = Vec::with_capacity(SOURCE_NJ);
        let mut sin_lat = Vec::with_capacity(SOURCE_NJ);
        for j in 0..SOURCE_NJ {
            let (s, c) = geometry::lat_sin_cos(90.0 - 0.25 * j as f64);
            r_cos_lat.push(geometry::EARTH_RADIUS * c);
            sin_lat.push(s);
        }
        let lon = (0..SOURCE_NI)
            .map(|i| geometry::lon_sin_cos(0.25 * i as f64))
            .collect();
        Self {
            r_cos_lat,
            sin_lat,
            lon,
        }
    }

    /// Node number (`j · 1440 + i`) with each pole row collapsed to column 0.
    fn index((j, i): Node) -> usize {
        if j == 0 || j == SOURCE_NJ - 1 {
            j * SOURCE_NI
        } else {
            j * SOURCE_NI + i
        }
    }

    fn xyz(&self, (j, i): Node) -> Vec3 {
        let i = if j == 0 || j == SOURCE_NJ - 1 { 0 } else { i };
        geometry::xyz(self.r_cos_lat[j], self.sin_lat[j], self.lon[i])
    }

    /// The (one or two) triangles of cell `(j, i)`, as nodes.
    fn cell_triangles(j: usize, i: usize) -> ([[Node; 3]; 2], usize) {
        let i1 = (i + 1) % SOURCE_NI;
        let (nw, ne, sw, se) = ((j, i), (j, i1), (j + 1, i), (j + 1, i1));
        if j == 0 {
            // north cap: NW and NE are both the pole
            ([[nw, sw, se], [nw, sw, se]], 1)
        } else if j == CELL_ROWS - 1 {
            // south cap: SW and SE are both the pole
            ([[nw, sw, ne], [nw, sw, ne]], 1)
        } else if (i + j) % 2 == 1 {
            // diagonal NW–SE
            ([[nw, sw, se], [nw, se, ne]], 2)
        } else {
            // diagonal SW–NE
            ([[nw, sw, ne], [ne, sw, se]], 2)
        }
    }

    /// The triangle hit by the ray from `p` (at `lat`, `lon` in degrees,
    /// `lon` in `[0, 360)`) towards the centre: its node numbers and the
    /// barycentric weights.
    fn locate(&self, p: Vec3, lat: f64, lon: f64) -> ([usize; 3], [f64; 3]) {
        let i0 = ((lon * 4.0).floor().max(0.0) as usize).min(SOURCE_NI - 1);
        let j0 = (((90.0 - lat) * 4.0).floor().max(0.0) as usize).min(CELL_ROWS - 1);
        let mut best = None;
        for &(dj, di) in SEARCH_ORDER.iter() {
            if let Some(hit) = self.try_cell(p, j0, i0, dj, di, &mut best) {
                return hit;
            }
        }
        debug_assert!(false, "no triangle found for lat {lat} lon {lon}");
        // Never reached on this grid: fall back on the triangle that comes
        // closest, weights clamped to [0, 1].
        match best {
            Some((nodes, w, _)) => {
                let w = w.map(|x: f64| x.max(0.0));
                let s: f64 = w.iter().sum();
                (nodes, w.map(|x| x / s))
            }
            None => ([0; 3], [1.0, 0.0, 0.0]),
        }
    }

    /// Tries the triangles of cell `(j0 + dj, i0 + di)`.
    fn try_cell(
        &self,
        p: Vec3,
        j0: usize,
        i0: usize,
        dj: isize,
        di: isize,
        best: &mut Option<([usize; 3], [f64; 3], f64)>,
    ) -> Option<([usize; 3], [f64; 3])> {
        let j = j0 as isize + dj;
        if j < 0 || j >= CELL_ROWS as isize {
            return None;
        }
        let i = (i0 as isize + di).rem_euclid(SOURCE_NI as isize) as usize;
        let (tris, n) = Self::cell_triangles(j as usize, i);
        for tri in &tris[..n] {
            let [a, b, c] = tri.map(|node| self.xyz(node));
            let nodes = tri.map(Self::index);
            if let Some(w) = geometry::intersect(p, a, b, c) {
                return Some((nodes, w));
            }
            if let Some(w) = geometry::barycentric(p, a, b, c) {
                let score = w.iter().copied().fold(f64::INFINITY, f64::min);
                if best.as_ref().is_none_or(|b| score > b.2) {
                    *best = Some((nodes, w, score));
                }
            }
        }
        None
    }
}
