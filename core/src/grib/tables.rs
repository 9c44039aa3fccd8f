//! Parameter, level and template tables generated from ecCodes' own
//! definition files (see `core/tables/README.md`), and the evaluation of
//! ecCodes "concepts" over them.
//!
//! A concept (`paramId`, `shortName`, `typeOfLevel`, …) is a list of
//! entries `value = { key = v; … }`. An entry matches when all its
//! conditions hold, and ecCodes returns the matching entry with the most
//! conditions. Among equally specific matches, ecCodes 2.50 returns for a
//! concept read from files the entry of the master file before that of the
//! local (centre or dataset) file and, within a file, the one written last;
//! for a concept written inline in a section definition, the one written
//! first. (Measured against ecCodes 2.50 on ~28,000 messages covering every
//! parameter of its tables, see `core/tables/synth_check.py`.) [`eval`]
//! implements that rule.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

mod concepts;
#[rustfmt::skip]
mod generated;

pub use concepts::{load_parameter_tables, parameter_tables_complete, TablesError};

pub(crate) use generated::k;
#[cfg(test)]
use generated::ECCODES_VERSION;

/// Index of a key in [`generated::KEY_NAMES`].
pub(crate) type KeyId = u16;

/// ecCodes' `GRIB_MISSING_LONG`: what reading a "missing" (all bits set,
/// `can_be_missing`) field returns, and what `missing()` evaluates to.
pub(crate) const MISSING_LONG: i64 = 2_147_483_647;

/// The right-hand side of one concept condition.
#[derive(Debug)]
pub(crate) enum CondValue {
    /// An integer.
    I(i64),
    /// `missing()`.
    Missing,
    /// A string (compared with the key's string value).
    S(&'static str),
    /// An integer array (compared element-wise with all values of a repeated key).
    A(&'static [i64]),
    /// `is_one_of(key, v…)`: 1 when that key's value is one of the listed values, else 0.
    OneOf(KeyId, &'static [i64]),
}

/// One condition `key = value`.
#[derive(Debug)]
pub(crate) struct Cond(pub KeyId, pub CondValue);

/// One concept entry. Rows of a table are sorted by `dcn` then `ord`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Row(
    /// `discipline << 16 | parameterCategory << 8 | parameterNumber` when the
    /// entry fixes all three (those conditions are then not pooled), else `u32::MAX`.
    pub u32,
    /// Position of the entry in its file.
    pub u32,
    /// First pooled condition in `generated::CONDS`.
    pub u32,
    /// Number of pooled conditions.
    pub u8,
    /// Number of conditions of the entry (what ecCodes counts).
    pub u8,
    /// First value in `Concepts::values` (one per column of the table).
    pub u32,
);

/// A run of rows; `width` values per row (aligned concept files share rows).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Table {
    pub rows: u32,
    pub len: u32,
    pub width: u8,
}

/// Where the entries of one concept file live.
#[derive(Debug)]
pub(crate) struct ConceptIndex {
    pub dir: &'static str,
    pub file: &'static str,
    pub table: u16,
    pub column: u8,
}

/// How the octets of a template field are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// Unsigned big-endian integer.
    U,
    /// GRIB sign-and-magnitude integer.
    S,
}

/// One element of a flattened section 4 template.
#[derive(Debug)]
pub(crate) enum Item {
    /// A field: the keys it sets (its name and aliases), octets, kind, `can_be_missing`.
    F(&'static [KeyId], u8, FieldKind, bool),
    /// Octets gik does not need (including floats and text).
    Skip(u16),
    /// A list repeated `count key` times.
    List(KeyId, &'static [Item]),
}

/// A product definition template.
#[derive(Debug)]
pub(crate) struct Pdt {
    pub number: u16,
    /// False when the layout stops before the end (a size depends on values).
    pub complete: bool,
    /// Includes the statistical-processing part (time ranges).
    pub statistical: bool,
    /// Bits in the order of `generated::PDT_FLAG_KEYS`, as ecCodes computes them.
    pub flags: u8,
    pub items: &'static [Item],
}

impl Pdt {
    /// Value of the computed key `name` (`is_chemical`, …) for this template.
    pub(crate) fn flag(&self, name: &str) -> bool {
        generated::PDT_FLAG_KEYS
            .iter()
            .position(|k| *k == name)
            .is_some_and(|i| self.flags & (1 << i) != 0)
    }
}

/// The product definition template `n`, when ecCodes defines it.
pub(crate) fn pdt(n: u16) -> Option<&'static Pdt> {
    generated::PDTS
        .binary_search_by_key(&n, |p| p.number)
        .ok()
        .map(|i| &generated::PDTS[i])
}

/// Number of keys.
pub(crate) const NUM_KEYS: usize = generated::KEY_NAMES.len();

/// Name of key `k`.
#[allow(dead_code)]
pub(crate) fn key_name(k: KeyId) -> &'static str {
    generated::KEY_NAMES
        .get(usize::from(k))
        .copied()
        .unwrap_or("?")
}

/// What a concept sees of a message.
pub(crate) trait KeySource {
    /// `grib_get_long`: `None` when the key is not defined (or has no integer value).
    fn long(&self, k: KeyId) -> Option<i64>;
    /// `grib_get_string`.
    fn string(&self, k: KeyId) -> Option<Cow<'_, str>>;
    /// All values of a key repeated in a list (one value for a scalar key).
    fn longs(&self, k: KeyId) -> Option<Cow<'_, [i64]>>;
}

fn cond_true(src: &dyn KeySource, c: &Cond) -> bool {
    match &c.1 {
        CondValue::I(v) => src.long(c.0) == Some(*v),
        CondValue::Missing => src.long(c.0) == Some(MISSING_LONG),
        CondValue::S(s) => src.string(c.0).is_some_and(|v| v == *s),
        CondValue::A(a) => src.longs(c.0).is_some_and(|v| v.as_ref() == *a),
        CondValue::OneOf(other, list) => {
            let hit = src.long(*other).is_some_and(|v| list.contains(&v));
            src.long(c.0) == Some(i64::from(hit))
        }
    }
}

/// A concept file located in the generated tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConceptFile {
    table: u16,
    column: u8,
}

/// The concept file `dir/file` (e.g. `grib2/localConcepts/ecmf`, `paramId.lte33.def`), if ecCodes has it.
pub(crate) fn concept_file(dir: &str, file: &str) -> Option<ConceptFile> {
    type Index = HashMap<(&'static str, &'static str), ConceptFile>;
    static INDEX: OnceLock<Index> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        generated::CONCEPT_FILES
            .iter()
            .map(|c| {
                (
                    (c.dir, c.file),
                    ConceptFile {
                        table: c.table,
                        column: c.column,
                    },
                )
            })
            .collect()
    });
    index.get(&(dir, file)).copied()
}

/// An inline concept (`generated::STEP_TYPE`, …).
pub(crate) fn inline_concept(id: u16) -> ConceptFile {
    ConceptFile {
        table: id,
        column: 0,
    }
}

pub(crate) use generated::{
    CRRA_MARS_STREAM, CRRA_MARS_TYPE, DATASET_FOR_LOCAL, GRID_TYPE, LCGCR_MARS_STREAM,
    LCGCR_MARS_TYPE, PACKING_TYPE, S2S_MARS_STREAM, S2S_MARS_TYPE, STEP_TYPE,
    STEP_TYPE_INTERNAL_STATISTICAL, TIGGE_MARS_STREAM, TIGGE_MARS_TYPE, UERRA_MARS_STREAM,
    UERRA_MARS_TYPE,
};

/// True when the loaded tables hold every row a message with triple `dcn` can match.
pub(crate) fn concepts_cover(dcn: Option<u32>) -> bool {
    concepts::loaded().covers(dcn)
}

/// Evaluates a concept made of a `local` and a `master` file (either may be
/// absent) with ecCodes' rule; `dcn` is the message's
/// discipline/category/number key when it has all three. `later_wins`:
/// true for concepts read from files, false for inline concepts.
pub(crate) fn eval(
    src: &dyn KeySource,
    dcn: Option<u32>,
    local: Option<ConceptFile>,
    master: Option<ConceptFile>,
    later_wins: bool,
) -> Option<&'static str> {
    let concepts = concepts::loaded();
    // Best so far: (conditions, is master file, position in file) — larger wins.
    let mut best: Option<((u8, bool, i64), &'static str)> = None;
    for (is_master, file) in [(false, local), (true, master)] {
        let Some(file) = file else { continue };
        let Some(table) = concepts.tables.get(usize::from(file.table)) else {
            continue;
        };
        if file.column >= table.width {
            continue;
        }
        let start = table.rows as usize;
        let rows = concepts
            .rows
            .get(start..start + table.len as usize)
            .unwrap_or(&[]);
        let mut scan = |rows: &'static [Row]| {
            for r in rows {
                let rank = (
                    r.4,
                    is_master,
                    if later_wins {
                        i64::from(r.1)
                    } else {
                        -i64::from(r.1)
                    },
                );
                if best.as_ref().is_some_and(|(b, _)| *b >= rank) {
                    continue;
                }
                let first = r.2 as usize;
                let conds = generated::CONDS
                    .get(first..first + usize::from(r.3))
                    .unwrap_or(&[]);
                if conds.iter().all(|c| cond_true(src, c)) {
                    let v = r.5 as usize + usize::from(file.column);
                    let value = concepts
                        .values
                        .get(v)
                        .and_then(|s| concepts.strings.get(*s as usize));
                    if let Some(value) = value {
                        best = Some((rank, *value));
                    }
                }
            }
        };
        if let Some(dcn) = dcn {
            let lo = rows.partition_point(|r| r.0 < dcn);
            let hi = rows.partition_point(|r| r.0 <= dcn);
            scan(&rows[lo..hi]);
        }
        let other = rows.partition_point(|r| r.0 < u32::MAX);
        scan(&rows[other..]);
    }
    best.map(|(_, v)| v)
}

fn code_lookup(table: &'static [(u16, &'static str)], code: i64) -> Cow<'static, str> {
    u16::try_from(code)
        .ok()
        .and_then(|c| table.binary_search_by_key(&c, |e| e.0).ok())
        .map_or_else(
            || Cow::Owned(code.to_string()),
            |i| Cow::Borrowed(table[i].1),
        )
}

/// Centre abbreviation from ecCodes' `common/c-11.table` (`ecmf`, `kwbc`, …),
/// or the number when the table has none.
#[must_use]
pub(crate) fn centre_abbreviation(code: u16) -> Cow<'static, str> {
    code_lookup(&generated::CENTRES, i64::from(code))
}

/// MARS class abbreviation (`od`, …) of a code.
pub(crate) fn mars_class(code: i64) -> Cow<'static, str> {
    code_lookup(&generated::MARS_CLASS, code)
}

/// MARS type abbreviation (`fc`, `an`, `pf`, …) of a code.
pub(crate) fn mars_type(code: i64) -> Cow<'static, str> {
    code_lookup(&generated::MARS_TYPE, code)
}

/// MARS stream abbreviation (`oper`, `enfo`, …) of a code.
pub(crate) fn mars_stream(code: i64) -> Cow<'static, str> {
    code_lookup(&generated::MARS_STREAM, code)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(generated::PDTS
            .windows(2)
            .all(|w| w[0].number < w[1].number));
        for c in [concepts::full(), concepts::open_data()] {
            for t in &c.tables {
                let rows = &c.rows[t.rows as usize..(t.rows + t.len) as usize];
                assert!(rows.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
            }
        }
        for t in [
            &generated::CENTRES[..],
            &generated::MARS_CLASS,
            &generated::MARS_TYPE,
            &generated::MARS_STREAM,
        ] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn centre_names() {
        assert_eq!(centre_abbreviation(98), "ecmf");
        assert_eq!(centre_abbreviation(7), "kwbc");
        assert_eq!(centre_abbreviation(161), "161");
        assert_eq!(centre_abbreviation(0), "0");
        assert_eq!(ECCODES_VERSION, "2.50.0");
    }
}
