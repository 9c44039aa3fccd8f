//! Ensemble statistics per grid point, streamed one member at a time:
//! mean, standard deviation, minimum, maximum, quantiles and the
//! probability of exceeding (or staying under) a threshold. Missing values
//! (NaN) are left out point by point, as numpy's `nanmean`, `nanstd`,
//! `nanquantile` do.
//!
//! Memory: the mean and spread keep two `f64` per point, minimum and
//! maximum one `f32`, each probability one count — independent of the
//! number of members. Quantiles need every member's value at each point, so
//! asking for one keeps the members' fields (`members × points × 4` bytes).
//!
//! [`Ensemble`] is the accumulator (pure, no I/O); [`ensemble_stats`] is the
//! driver that reads and decodes each member's message of a field through
//! any [`RangeReader`], in member order, so every front end gets the same
//! numbers.

use std::fmt;
use std::ops::ControlFlow;

use futures::stream::{self, StreamExt};

use crate::assemble::{self, AssembleError, FieldAt};
use crate::io::RangeReader;
use crate::refs::{RefStore, RefValue, RefsError, Variable};
use crate::scan::{Executor, TaskError};

/// One statistic of an ensemble, per grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Mean of the members.
    Mean,
    /// Standard deviation of the members (population, numpy's `ddof=0`).
    Std,
    /// Smallest member value.
    Min,
    /// Largest member value.
    Max,
    /// Quantile (0–1), linearly interpolated between the sorted members
    /// (numpy's default `method="linear"`).
    Quantile(f64),
    /// Fraction of members above the threshold (0–1).
    Above(f64),
    /// Fraction of members below the threshold (0–1).
    Below(f64),
}

/// A statistic's name that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("statistic `{0}`: expected mean, std, min, max, median, q<percent> (q90), p>threshold or p<threshold")]
pub struct BadStat(pub String);

impl Stat {
    /// Reads one name: `mean`, `std`, `min`, `max`, `median`, `q90` (the
    /// 90th percentile), `p>0.01`, `p<273.15`.
    ///
    /// # Errors
    /// [`BadStat`] for anything else.
    pub fn parse(s: &str) -> Result<Self, BadStat> {
        let bad = || BadStat(s.to_string());
        let number = |t: &str| t.trim().parse::<f64>().ok().filter(|x| x.is_finite());
        Ok(match s.trim() {
            "mean" => Self::Mean,
            "std" | "spread" => Self::Std,
            "min" => Self::Min,
            "max" => Self::Max,
            "median" => Self::Quantile(0.5),
            t => {
                if let Some(p) = t.strip_prefix("p>") {
                    Self::Above(number(p).ok_or_else(bad)?)
                } else if let Some(p) = t.strip_prefix("p<") {
                    Self::Below(number(p).ok_or_else(bad)?)
                } else if let Some(q) = t.strip_prefix('q') {
                    let q = number(q)
                        .filter(|q| (0.0..=100.0).contains(q))
                        .ok_or_else(bad)?;
                    Self::Quantile(q / 100.0)
                } else {
                    return Err(bad());
                }
            }
        })
    }

    /// Reads a comma-separated list (`mean,std,p>0.01`).
    ///
    /// # Errors
    /// [`BadStat`] for the first name that cannot be read, or an empty list.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, BadStat> {
        let v = s
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if v.is_empty() {
            return Err(BadStat(s.to_string()));
        }
        Ok(v)
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mean => write!(f, "mean"),
            Self::Std => write!(f, "std"),
            Self::Min => write!(f, "min"),
            Self::Max => write!(f, "max"),
            Self::Quantile(q) if *q == 0.5 => write!(f, "median"),
            Self::Quantile(q) => write!(f, "q{}", q * 100.0),
            Self::Above(t) => write!(f, "p>{t}"),
            Self::Below(t) => write!(f, "p<{t}"),
        }
    }
}

/// A member's field that does not fit the ensemble.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a member's field has {got} values, the ensemble's {want}")]
pub struct PointsMismatch {
    pub got: usize,
    pub want: usize,
}

/// The accumulator: add each member's field, then [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct Ensemble {
    stats: Vec<Stat>,
    points: usize,
    members: usize,
    /// Members that are not missing, per point.
    n: Vec<u32>,
    mean: Vec<f64>,
    /// Sum of squared deviations from the mean (Welford).
    m2: Vec<f64>,
    min: Vec<f32>,
    max: Vec<f32>,
    /// Per threshold statistic (in `stats` order), members beyond it per point.
    counts: Vec<Vec<u32>>,
    /// Every member's field, kept only when a quantile is asked for.
    kept: Vec<Vec<f32>>,
}

impl Ensemble {
    /// An empty ensemble of fields of `points` values.
    #[must_use]
    pub fn new(points: usize, stats: &[Stat]) -> Self {
        let thresholds = stats
            .iter()
            .filter(|s| matches!(s, Stat::Above(_) | Stat::Below(_)))
            .count();
        let moments = stats.iter().any(|s| matches!(s, Stat::Mean | Stat::Std));
        let has = |want: Stat| stats.contains(&want);
        let f64s = |on: bool| if on { vec![0.0; points] } else { Vec::new() };
        let f32s = |on: bool, v: f32| if on { vec![v; points] } else { Vec::new() };
        Self {
            stats: stats.to_vec(),
            points,
            members: 0,
            n: vec![0; points],
            mean: f64s(moments),
            m2: f64s(moments),
            min: f32s(has(Stat::Min), f32::INFINITY),
            max: f32s(has(Stat::Max), f32::NEG_INFINITY),
            counts: vec![vec![0; points]; thresholds],
            kept: Vec::new(),
        }
    }

    /// Members added so far.
    #[must_use]
    pub fn members(&self) -> usize {
        self.members
    }

    /// Adds one member's field.
    ///
    /// # Errors
    /// [`PointsMismatch`] when `values` is not one value per point.
    pub fn add(&mut self, values: &[f32]) -> Result<(), PointsMismatch> {
        if values.len() != self.points {
            return Err(PointsMismatch {
                got: values.len(),
                want: self.points,
            });
        }
        for (i, &v) in values.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            self.n[i] += 1;
            if !self.mean.is_empty() {
                let x = f64::from(v);
                let delta = x - self.mean[i];
                self.mean[i] += delta / f64::from(self.n[i]);
                self.m2[i] += delta * (x - self.mean[i]);
            }
            if !self.min.is_empty() {
                self.min[i] = self.min[i].min(v);
            }
            if !self.max.is_empty() {
                self.max[i] = self.max[i].max(v);
            }
        }
        let thresholds = self.stats.iter().filter_map(|s| match s {
            Stat::Above(t) => Some((*t, true)),
            Stat::Below(t) => Some((*t, false)),
            _ => None,
        });
        for ((t, above), counts) in thresholds.zip(&mut self.counts) {
            for (c, &v) in counts.iter_mut().zip(values) {
                let beyond = if above {
                    f64::from(v) > t
                } else {
                    f64::from(v) < t
                };
                *c += u32::from(beyond);
            }
        }
        if self.stats.iter().any(|s| matches!(s, Stat::Quantile(_))) {
            self.kept.push(values.to_vec());
        }
        self.members += 1;
        Ok(())
    }

    /// Each statistic asked for, in the order asked: one value per point,
    /// NaN where every member is missing.
    #[must_use]
    pub fn finish(&self) -> Vec<Vec<f32>> {
        let mut counts = self.counts.iter();
        let qs: Vec<f64> = self
            .stats
            .iter()
            .filter_map(|s| match s {
                Stat::Quantile(q) => Some(*q),
                _ => None,
            })
            .collect();
        let mut quantiles = self.quantiles(&qs).into_iter();
        self.stats
            .iter()
            .map(|s| match s {
                Stat::Mean => self.per_point(|i, _| self.mean[i] as f32, n_pos(&self.n)),
                Stat::Std => self.per_point(
                    |i, n| (self.m2[i] / f64::from(n)).sqrt() as f32,
                    n_pos(&self.n),
                ),
                Stat::Min => self.per_point(|i, _| self.min[i], n_pos(&self.n)),
                Stat::Max => self.per_point(|i, _| self.max[i], n_pos(&self.n)),
                Stat::Above(_) | Stat::Below(_) => {
                    let c = counts.next().map_or(&[][..], Vec::as_slice);
                    self.per_point(
                        |i, n| (f64::from(c[i]) / f64::from(n)) as f32,
                        n_pos(&self.n),
                    )
                }
                Stat::Quantile(_) => quantiles.next().unwrap_or_default(),
            })
            .collect()
    }

    fn per_point(
        &self,
        f: impl Fn(usize, u32) -> f32,
        present: impl Fn(usize) -> bool,
    ) -> Vec<f32> {
        (0..self.points)
            .map(|i| {
                if present(i) {
                    f(i, self.n[i])
                } else {
                    f32::NAN
                }
            })
            .collect()
    }

    /// numpy's `nanquantile(…, method="linear")` at every point, in `f64`,
    /// for each of `qs` (each point's members sorted once for all of them).
    fn quantiles(&self, qs: &[f64]) -> Vec<Vec<f32>> {
        let mut out = vec![Vec::with_capacity(self.points); qs.len()];
        if qs.is_empty() {
            return out;
        }
        let mut column: Vec<f64> = Vec::with_capacity(self.kept.len());
        for i in 0..self.points {
            column.clear();
            column.extend(
                self.kept
                    .iter()
                    .map(|m| m[i])
                    .filter(|v| !v.is_nan())
                    .map(f64::from),
            );
            column.sort_unstable_by(f64::total_cmp);
            for (q, o) in qs.iter().zip(&mut out) {
                o.push(interpolate(&column, *q));
            }
        }
        out
    }
}

/// The `q` quantile of sorted `column`, linear between neighbours; NaN when empty.
fn interpolate(column: &[f64], q: f64) -> f32 {
    if column.is_empty() {
        return f32::NAN;
    }
    let pos = q * (column.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(column.len() - 1);
    let frac = pos - lo as f64;
    (column[lo] + (column[hi] - column[lo]) * frac) as f32
}

fn n_pos(n: &[u32]) -> impl Fn(usize) -> bool + '_ {
    move |i| n[i] > 0
}

/// Which field's ensemble: a variable at one reference time, step and level;
/// `from_step` makes it the difference `step − from_step` of each member
/// first (an accumulation such as `tp` over that interval).
#[derive(Debug, Clone, Default)]
pub struct EnsembleField {
    /// Array path, or a shortName / name when unambiguous.
    pub variable: String,
    /// Reference time (seconds since 1970); default the first.
    pub time: Option<i64>,
    /// Step in hours; default the first.
    pub step: Option<i64>,
    /// Subtract each member's field at this step first.
    pub from_step: Option<i64>,
    /// Level value; default the first.
    pub level: Option<f64>,
    /// Members to include; default every member of the variable.
    pub members: Option<Vec<i64>>,
}

/// The statistics of one field's ensemble.
#[derive(Debug, Clone)]
pub struct EnsembleStats {
    /// The variable's array path.
    pub variable: String,
    /// The members included, in the order added.
    pub members: Vec<i64>,
    /// `[nlat, nlon]` for a regular grid, `[points]` otherwise.
    pub shape: Vec<usize>,
    /// One array per statistic asked for, in that order.
    pub values: Vec<(Stat, Vec<f32>)>,
}

/// What can go wrong computing ensemble statistics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError<E: std::error::Error + 'static> {
    /// The references could not be read, or lack the variable.
    #[error(transparent)]
    Refs(#[from] RefsError),
    /// The field is not in the references at that position.
    #[error(transparent)]
    Locate(AssembleError),
    /// A member's message is missing from the references.
    #[error("{variable}: no field at {at} in the references")]
    Missing { variable: String, at: String },
    /// The variable has no ensemble members (`number`).
    #[error("{variable}: no ensemble members (`number`) in the references")]
    NoMembers { variable: String },
    /// A message could not be read.
    #[error("{at}: {source}")]
    Read {
        at: String,
        #[source]
        source: E,
    },
    /// A message could not be decoded.
    #[error(transparent)]
    Decode(AssembleError),
    /// A member's field has another number of points.
    #[error("{at}: {source}")]
    Points {
        at: String,
        #[source]
        source: PointsMismatch,
    },
    /// The caller stopped the computation (its progress callback said so).
    #[error("cancelled")]
    Cancelled,
    /// The executor failed to run a decode.
    #[error(transparent)]
    Task(#[from] TaskError),
}

/// The grid shape of `var`: its last two sizes when it ends in
/// latitude/longitude, else its last size.
fn grid_shape(var: &Variable) -> Vec<usize> {
    let n = var.dims.len();
    let shape: Vec<usize> = var.shape.iter().map(|&x| x as usize).collect();
    if n >= 2 && var.dims[n - 2] == "latitude" && var.dims[n - 1] == "longitude" {
        shape[n - 2..].to_vec()
    } else {
        shape[n.saturating_sub(1)..].to_vec()
    }
}

/// The chunk of `var` for member `member` at `step`.
fn member_chunk<E: std::error::Error + 'static>(
    store: &RefStore,
    var: &Variable,
    field: &EnsembleField,
    step: Option<i64>,
    member: i64,
) -> Result<RefValue, StatsError<E>> {
    let at = FieldAt {
        time: field.time,
        step,
        level: field.level,
        member: Some(member),
    };
    let (_, chunk) = assemble::field_chunk(store, var, &at).map_err(StatsError::Locate)?;
    chunk.ok_or_else(|| StatsError::Missing {
        variable: var.path.clone(),
        at: at.describe(),
    })
}

/// Reads and decodes one member's field (minus its `from_step` field).
async fn member_values<R: RangeReader, X: Executor>(
    reader: &R,
    executor: &X,
    parts: (RefValue, Option<RefValue>),
    at: String,
) -> Result<Vec<f32>, StatsError<R::Error>> {
    let read = |part: RefValue| async {
        let bytes = crate::io::read_part(reader, &part)
            .await
            .map_err(|source| StatsError::Read {
                at: at.clone(),
                source,
            })?;
        let values = executor
            .run(move || assemble::decode_message(&bytes, &part).map(|(_, v)| v))
            .await?
            .map_err(StatsError::Decode)?;
        Ok::<_, StatsError<R::Error>>(values)
    };
    let mut values = read(parts.0).await?;
    if let Some(from) = parts.1 {
        let earlier = read(from).await?;
        if earlier.len() != values.len() {
            return Err(StatsError::Points {
                at,
                source: PointsMismatch {
                    got: earlier.len(),
                    want: values.len(),
                },
            });
        }
        for (v, e) in values.iter_mut().zip(earlier) {
            *v -= e;
        }
    }
    Ok(values)
}

/// The statistics `stats` of `field`'s ensemble: each member's message read
/// through `reader` (up to `concurrency` at once) and decoded on `executor`,
/// added in member order. After each member `progress` gets the members
/// done so far, the total and the accumulator (whose
/// [`finish`](Ensemble::finish) gives the statistics of the members so far,
/// for a map that fills in as they arrive); it returns
/// [`ControlFlow::Break`] to stop ([`StatsError::Cancelled`]).
///
/// # Errors
/// Unknown variable or position, a member's message missing or unreadable,
/// bad GRIB, a variable without members.
pub async fn ensemble_stats<R: RangeReader, X: Executor>(
    reader: &R,
    store: &RefStore,
    field: &EnsembleField,
    stats: &[Stat],
    concurrency: usize,
    executor: &X,
    mut progress: impl FnMut(usize, usize, &Ensemble) -> ControlFlow<()>,
) -> Result<EnsembleStats, StatsError<R::Error>> {
    let var = store.find_variable(&field.variable)?;
    let axes = store.axes(&var)?;
    let members = field.members.clone().unwrap_or_else(|| axes.number.clone());
    if members.is_empty() {
        return Err(StatsError::NoMembers {
            variable: var.path.clone(),
        });
    }
    let jobs = members
        .iter()
        .map(|&m| {
            let now = member_chunk(store, &var, field, field.step, m)?;
            let from = field
                .from_step
                .map(|s| member_chunk(store, &var, field, Some(s), m))
                .transpose()?;
            let at = FieldAt {
                member: Some(m),
                ..FieldAt::default()
            };
            Ok(((now, from), format!("{}, {}", var.path, at.describe())))
        })
        .collect::<Result<Vec<_>, StatsError<R::Error>>>()?;
    let shape = grid_shape(&var);
    let points = shape.iter().product();
    let mut acc = Ensemble::new(points, stats);
    let total = jobs.len();
    let mut fields = stream::iter(jobs)
        .map(|(parts, at)| async move {
            let values = member_values(reader, executor, parts, at.clone()).await?;
            Ok::<_, StatsError<R::Error>>((values, at))
        })
        .buffered(concurrency.max(1));
    while let Some(r) = fields.next().await {
        let (values, at) = r?;
        acc.add(&values)
            .map_err(|source| StatsError::Points { at, source })?;
        if progress(acc.members(), total, &acc).is_break() {
            return Err(StatsError::Cancelled);
        }
    }
    Ok(EnsembleStats {
        variable: var.path.clone(),
        members,
        shape,
        values: stats.iter().copied().zip(acc.finish()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f64) -> bool {
        (f64::from(a) - b).abs() <= 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn names_read_and_print_back() {
        let v = Stat::parse_list("mean,std,min,max,median,q90,p>0.01,p<273.15").unwrap();
        assert_eq!(
            v,
            [
                Stat::Mean,
                Stat::Std,
                Stat::Min,
                Stat::Max,
                Stat::Quantile(0.5),
                Stat::Quantile(0.9),
                Stat::Above(0.01),
                Stat::Below(273.15)
            ]
        );
        let names: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            names.join(","),
            "mean,std,min,max,median,q90,p>0.01,p<273.15"
        );
        for bad in ["", "avg", "q101", "p>", "p>x", "q-1", "p>inf"] {
            assert!(Stat::parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // `i` is a point of every member
    fn statistics_match_their_definitions_with_missing_values() {
        // three members, four points; point 3 is missing in every member, point 2 in one
        let members = [
            [1.0f32, 10.0, f32::NAN, f32::NAN],
            [2.0, 20.0, 5.0, f32::NAN],
            [4.0, 60.0, 7.0, f32::NAN],
        ];
        let stats = Stat::parse_list("mean,std,min,max,median,q25,p>3,p<15").unwrap();
        let mut e = Ensemble::new(4, &stats);
        for m in &members {
            e.add(m).unwrap();
        }
        assert_eq!(e.members(), 3);
        let out = e.finish();
        let col = |i: usize| -> Vec<f64> {
            members
                .iter()
                .map(|m| f64::from(m[i]))
                .filter(|v| !v.is_nan())
                .collect()
        };
        for i in 0..3 {
            let c = col(i);
            let n = c.len() as f64;
            let mean = c.iter().sum::<f64>() / n;
            let std = (c.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            let mut s = c.clone();
            s.sort_by(f64::total_cmp);
            let q = |q: f64| {
                let p = q * (n - 1.0);
                let lo = p.floor() as usize;
                let hi = (lo + 1).min(s.len() - 1);
                s[lo] + (s[hi] - s[lo]) * (p - lo as f64)
            };
            let want = [
                mean,
                std,
                s[0],
                s[s.len() - 1],
                q(0.5),
                q(0.25),
                c.iter().filter(|&&x| x > 3.0).count() as f64 / n,
                c.iter().filter(|&&x| x < 15.0).count() as f64 / n,
            ];
            for (k, w) in want.iter().enumerate() {
                assert!(
                    close(out[k][i], *w),
                    "{} at {i}: {} vs {w}",
                    stats[k],
                    out[k][i]
                );
            }
        }
        assert!(out.iter().all(|s| s[3].is_nan()), "all-missing point");
    }

    #[test]
    fn a_field_of_another_size_is_an_error() {
        let mut e = Ensemble::new(3, &[Stat::Mean]);
        assert_eq!(e.add(&[1.0, 2.0]), Err(PointsMismatch { got: 2, want: 3 }));
        assert_eq!(e.members(), 0);
    }
}
