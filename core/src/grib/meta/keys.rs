//! The ecCodes keys of one field, as concepts see them.
//!
//! Values come from sections 1, 2 and 4 (through the flattened template
//! layouts of `tables`) and from the computed keys gik derives the way
//! ecCodes does. A key that the message does not define is `None`, so a
//! concept condition on it fails, as in ecCodes.

use std::borrow::Cow;

use crate::grib::section::Section;
use crate::grib::tables::{
    self, k, FieldKind, Item, KeyId, KeySource, Pdt, MISSING_LONG, NUM_KEYS,
};

/// Key values of one field.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    longs: [Option<i64>; NUM_KEYS],
    strings: Vec<(KeyId, Cow<'static, str>)>,
    lists: Vec<(KeyId, Vec<i64>)>,
}

impl Default for Env {
    fn default() -> Self {
        Self {
            longs: [None; NUM_KEYS],
            strings: Vec::new(),
            lists: Vec::new(),
        }
    }
}

impl Env {
    pub(crate) fn set(&mut self, key: KeyId, v: i64) {
        if let Some(slot) = self.longs.get_mut(usize::from(key)) {
            *slot = Some(v);
        }
    }

    pub(crate) fn set_str(&mut self, key: KeyId, v: impl Into<Cow<'static, str>>) {
        let v = v.into();
        if let Some(e) = self.strings.iter_mut().find(|(k, _)| *k == key) {
            e.1 = v;
        } else {
            self.strings.push((key, v));
        }
    }

    pub(crate) fn get(&self, key: KeyId) -> Option<i64> {
        self.longs.get(usize::from(key)).copied().flatten()
    }

    pub(crate) fn get_str(&self, key: KeyId) -> Option<&str> {
        self.strings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// All values of a key read inside a repeated list, in order.
    pub(crate) fn list(&self, key: KeyId) -> Option<&[i64]> {
        self.lists
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_slice())
    }

    fn push_list(&mut self, key: KeyId, v: i64) {
        if let Some(e) = self.lists.iter_mut().find(|(k, _)| *k == key) {
            e.1.push(v);
        } else {
            self.lists.push((key, vec![v]));
        }
    }

    /// Reads section 4 with the flattened layout of its template. Returns
    /// false when the layout or the section ends before the template does
    /// (keys after that point stay undefined).
    pub(crate) fn read_template(&mut self, sec: &Section<'_>, pdt: &Pdt) -> bool {
        let mut pos = 10; // first template octet of section 4
        let ok = self.read_items(sec, pdt.items, &mut pos, false);
        ok && pdt.complete
    }

    fn read_items(
        &mut self,
        sec: &Section<'_>,
        items: &[Item],
        pos: &mut usize,
        in_list: bool,
    ) -> bool {
        for item in items {
            match item {
                Item::Skip(n) => {
                    *pos += usize::from(*n);
                    if *pos > sec.len() + 1 {
                        return false;
                    }
                }
                Item::F(keys, octets, kind, can_be_missing) => {
                    let n = usize::from(*octets);
                    let Some(bytes) = sec.bytes.get(*pos - 1..*pos - 1 + n) else {
                        return false;
                    };
                    *pos += n;
                    let Some(v) = read_number(bytes, *kind, *can_be_missing) else {
                        continue;
                    };
                    for &key in *keys {
                        self.set(key, v);
                        if in_list {
                            self.push_list(key, v);
                        }
                    }
                }
                Item::List(count, body) => {
                    let Some(n) = self.get(*count) else {
                        return false;
                    };
                    // Forget values of a previous list with the same keys.
                    for_each_key(body, &mut |key| self.lists.retain(|(k, _)| *k != key));
                    // A list cannot hold more elements than the section has octets.
                    if n < 0 || n as usize > sec.len() {
                        return false;
                    }
                    for _ in 0..n {
                        if !self.read_items(sec, body, pos, true) {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }
}

fn for_each_key(items: &[Item], f: &mut dyn FnMut(KeyId)) {
    for item in items {
        match item {
            Item::F(keys, ..) => keys.iter().for_each(|k| f(*k)),
            Item::List(_, body) => for_each_key(body, f),
            Item::Skip(_) => {}
        }
    }
}

/// Reads a template field like ecCodes' `unsigned[n]` / `signed[n]`:
/// all bits set in a `can_be_missing` field reads as `GRIB_MISSING_LONG`.
fn read_number(bytes: &[u8], kind: FieldKind, can_be_missing: bool) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let raw = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let bits = 8 * bytes.len() as u32;
    let all_ones = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    if can_be_missing && raw == all_ones {
        return Some(MISSING_LONG);
    }
    match kind {
        FieldKind::U => i64::try_from(raw).ok(),
        FieldKind::S => {
            let sign = 1u64 << (bits - 1);
            let mag = i64::try_from(raw & (sign - 1)).ok()?;
            Some(if raw & sign != 0 { -mag } else { mag })
        }
    }
}

impl KeySource for Env {
    fn long(&self, key: KeyId) -> Option<i64> {
        self.get(key)
            .or_else(|| self.get_str(key).and_then(|s| s.parse().ok()))
    }

    fn string(&self, key: KeyId) -> Option<Cow<'_, str>> {
        if let Some(s) = self.get_str(key) {
            return Some(Cow::Borrowed(s));
        }
        self.get(key).map(|v| Cow::Owned(v.to_string()))
    }

    fn longs(&self, key: KeyId) -> Option<Cow<'_, [i64]>> {
        if let Some(l) = self.list(key) {
            return Some(Cow::Borrowed(l));
        }
        self.get(key).map(|v| Cow::Owned(vec![v]))
    }
}

/// `discipline << 16 | parameterCategory << 8 | parameterNumber`, when the message has all three.
pub(crate) fn triple(env: &Env) -> Option<u32> {
    match (
        env.get(k::DISCIPLINE),
        env.get(k::PARAMETER_CATEGORY),
        env.get(k::PARAMETER_NUMBER),
    ) {
        (Some(d @ 0..=255), Some(c @ 0..=255), Some(n @ 0..=255)) => {
            Some(((d << 16) | (c << 8) | n) as u32)
        }
        _ => None,
    }
}

/// Evaluates a concept over `local` and `master` concept directories and a file name.
pub(crate) fn concept_in(env: &Env, local: &str, master: &str, file: &str) -> Option<&'static str> {
    tables::eval(
        env,
        triple(env),
        tables::concept_file(local, file),
        tables::concept_file(master, file),
        true,
    )
}

/// Evaluates an inline concept (one list, no local file).
pub(crate) fn inline(env: &Env, id: u16) -> Option<&'static str> {
    tables::eval(env, None, None, Some(tables::inline_concept(id)), false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_eccodes() {
        assert_eq!(read_number(&[0x80, 0x05], FieldKind::S, false), Some(-5));
        assert_eq!(read_number(&[0xff], FieldKind::S, true), Some(MISSING_LONG));
        assert_eq!(read_number(&[0xff], FieldKind::S, false), Some(-127));
        assert_eq!(
            read_number(&[0xff; 4], FieldKind::U, false),
            Some(4_294_967_295)
        );
        assert_eq!(
            read_number(&[0xff; 4], FieldKind::U, true),
            Some(MISSING_LONG)
        );
        assert_eq!(read_number(&[], FieldKind::U, false), None);
    }
}
