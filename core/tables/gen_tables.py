#!/usr/bin/env python3
"""Generate core/src/grib/tables/generated.rs, concepts.bin and
concepts-open-data.bin from ecCodes' own definitions.

Run with the Python that has `eccodes` and `eccodeslib` installed:

    .venv/bin/python core/tables/gen_tables.py            # write the Rust tables
    .venv/bin/python core/tables/gen_tables.py --check    # also cross-check layouts with ecCodes

See core/tables/README.md for where every table comes from.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from defparse import (  # noqa: E402
    MISSING,
    Field,
    ListOf,
    TemplateFlattener,
    inline_concept,
    parse_code_table,
    parse_concept_file,
)
from eccodes_defs import Definitions  # noqa: E402

OUT = os.path.join(HERE, "..", "src", "grib", "tables", "generated.rs")
# The concept rows, their values and strings (most of the data) as binary
# tables next to generated.rs: all of them, and the open-data subset.
BLOB_FULL = "concepts.bin"
BLOB_OPEN_DATA = "concepts-open-data.bin"

# The parameters of ECMWF's open data (IFS and AIFS, HRES and ENS, surface,
# pressure levels, soil, waves), by shortName. The open-data subset holds
# every concept row whose discipline/category/number is one of theirs (from
# any table), and every row that fixes no discipline/category/number: a
# message with one of these triples, or with none, names exactly as with
# all the tables (`cargo test -p gik-core tables` checks it).
OPEN_DATA_PARAMS = """
10u 10v 100u 100v 10fg 2t 2d 2r msl sp tp cp lsp sf tprate ptype skt tcwv tcw ro rowe
ssrd strd ssr str ttr tsr fdir slhf sshf ewss nsss lsm asn rsn sd sithick svn sve zos mucape
mx2t3 mn2t3 mx2t6 mn2t6 tcc lcc mcc hcc stl1 stl2 swvl1 swvl2 sot vsw z sdor slor 10si
gh t u v w q r vo d swh mwp mwd pp1d mp2
""".split()

PARAM_CONCEPTS = ["paramId", "shortName", "name", "units"]
PARAM_VARIANTS = ["", ".lte33", ".chemsplit", ".legacy"]
OTHER_CONCEPT_FILES = ["cfVarName.def", "typeOfLevelConcept.def", "MTG2SwitchConcept.def",
                       "MTG2SwitchViaTablesVersionConcept.def"]

# Inline concepts: (Rust name, definition file, concept name).
INLINE = [
    ("STEP_TYPE", "grib2/section.1.def", "stepType"),
    ("STEP_TYPE_INTERNAL_STATISTICAL", "grib2/templates/template.4.statistical.def", "stepTypeInternal"),
    ("DATASET_FOR_LOCAL", "grib2/section.4.def", "datasetForLocal"),
    ("GRID_TYPE", "grib2/section.3.def", "gridType"),
    ("PACKING_TYPE", "grib2/section.5.def", "packingType"),
    ("S2S_MARS_TYPE", "grib2/products_s2s.def", "marsType"),
    ("S2S_MARS_STREAM", "grib2/products_s2s.def", "marsStream"),
    ("TIGGE_MARS_TYPE", "grib2/products_tigge.def", "marsType"),
    ("TIGGE_MARS_STREAM", "grib2/products_tigge.def", "marsStream"),
    ("UERRA_MARS_TYPE", "grib2/products_uerra.def", "marsType"),
    ("UERRA_MARS_STREAM", "grib2/products_uerra.def", "marsStream"),
    ("CRRA_MARS_TYPE", "grib2/products_crra.def", "marsType"),
    ("CRRA_MARS_STREAM", "grib2/products_crra.def", "marsStream"),
    ("LCGCR_MARS_TYPE", "grib2/products_lcgcr.def", "marsType"),
    ("LCGCR_MARS_STREAM", "grib2/products_lcgcr.def", "marsStream"),
]

# Keys the Rust side reads from section 4 besides those concepts test.
EXTRA_KEYS = [
    "productDefinitionTemplateNumber", "NV", "forecastTime", "indicatorOfUnitForForecastTime",
    "indicatorOfUnitOfTimeRange", "perturbationNumber", "number", "numberOfForecastsInEnsemble",
    "typeOfEnsembleForecast", "yearOfEndOfOverallTimeInterval", "monthOfEndOfOverallTimeInterval",
    "dayOfEndOfOverallTimeInterval", "hourOfEndOfOverallTimeInterval",
    "minuteOfEndOfOverallTimeInterval", "secondOfEndOfOverallTimeInterval", "numberOfTimeRanges",
    "typeOfTimeIncrement", "typeOfStatisticalProcessing", "indicatorOfUnitForTimeRange",
    "lengthOfTimeRange", "backgroundProcess", "generatingProcessIdentifier",
    "typeOfGeneratingProcess", "hoursAfterDataCutoff", "minutesAfterDataCutoff",
    # section 1 / 2 / computed keys the concepts use
    "centre", "subCentre", "tablesVersion", "localTablesVersion", "productionStatusOfProcessedData",
    "typeOfProcessedData", "marsClass", "marsType", "marsStream", "generation", "stepType",
    "stepTypeInternal", "selectStepTemplateInstant", "selectStepTemplateInterval", "MTG2Switch",
    "pressureUnits", "genVertHeightCoords", "dummy", "dummyc", "true", "false", "discipline",
    "gridDefinitionTemplateNumber", "dataRepresentationTemplateNumber", "PLPresent",
    "numberOfOctectsForNumberOfPoints", "iDirectionIncrementGiven", "numberOfPointsAlongAParallel",
    "is_chemical", "is_chemical_srcsink", "is_chemical_distfn", "is_aerosol", "is_aerosol_optical",
    "parameterCategory", "parameterNumber", "numberOfGridInReference",
]

PDT_FLAG_KEYS = ["is_chemical", "is_chemical_srcsink", "is_chemical_distfn", "is_aerosol",
                 "is_aerosol_optical", "selectStepTemplateInstant", "selectStepTemplateInterval"]


def const_name(key: str) -> str:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.upper()


def rust_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Gen:
    def __init__(self, defs: Definitions):
        self.defs = defs
        self.keys: dict[str, int] = {}
        self.strings: dict[str, int] = {}
        self.arrays: dict[tuple, int] = {}
        self.cond_pool: list[tuple[int, object]] = []
        self.cond_lists: dict[tuple, int] = {}
        self.rows: list[tuple[int, int, int, int, int, int]] = []
        self.tables: list[tuple[int, int, int]] = []  # (row start, row count, width)
        self.vals: list[int] = []
        self.concept_index: list[tuple[str, str, int, int]] = []
        self.inline: list[tuple[str, int]] = []

    # -- pools
    def key(self, name: str) -> int:
        if name not in self.keys:
            self.keys[name] = len(self.keys)
        return self.keys[name]

    def string(self, s: str) -> int:
        if s not in self.strings:
            self.strings[s] = len(self.strings)
        return self.strings[s]

    def cond_list(self, conds: list[tuple[int, object]]) -> int:
        t = tuple(conds)
        if t not in self.cond_lists:
            self.cond_lists[t] = len(self.cond_pool)
            self.cond_pool.extend(conds)
        return self.cond_lists[t]

    # -- concept tables
    def add_table(self, columns: list[list]) -> int:
        """columns: one entry list per concept, all with the same conditions in the same order."""
        entries0 = columns[0]
        width = len(columns)
        rows = []
        for ord_, e in enumerate(entries0):
            conds = [(c.key, c.value) for c in e.conds]
            d = [c.value for c in e.conds if c.key == "discipline"]
            c_ = [c.value for c in e.conds if c.key == "parameterCategory"]
            n = [c.value for c in e.conds if c.key == "parameterNumber"]
            dcn = 0xFFFFFFFF
            pool = conds
            if (len(d) == 1 and len(c_) == 1 and len(n) == 1 and all(isinstance(x[0], int) for x in (d, c_, n))
                    and all(0 <= x[0] <= 255 for x in (d, c_, n))):
                dcn = (d[0] << 16) | (c_[0] << 8) | n[0]
                pool = [x for x in conds if x[0] not in ("discipline", "parameterCategory", "parameterNumber")]
            pool_ids = [(self.key(k), v) for k, v in pool]
            start = self.cond_list(pool_ids)
            vstart = len(self.vals)
            for col in columns:
                self.vals.append(self.string(col[ord_].value))
            # ecCodes 2.50 ranks an array condition (`key = [a, b]`) above a
            # scalar one on the same key (measured); count its elements.
            weight = sum(len(v) if isinstance(v, tuple) and v and v[0] != "one_of" else 1 for _, v in conds)
            rows.append((dcn, ord_, start, len(pool_ids), weight, vstart))
        rows.sort(key=lambda r: (r[0], r[1]))
        first = len(self.rows)
        for r in rows:
            self.rows.append(r)
        self.tables.append((first, len(rows), width))
        return len(self.tables) - 1

    def concept_files(self):
        dirs = ["grib2"] + ["grib2/localConcepts/" + x for x in self.defs.dirs_under("grib2/localConcepts")]
        for d in dirs:
            for v in PARAM_VARIANTS:
                files = {}
                for c in PARAM_CONCEPTS:
                    t = self.defs.get(f"{d}/{c}{v}.def")
                    if t is not None:
                        files[c] = parse_concept_file(t)
                if not files:
                    continue
                sigs = {c: [tuple((x.key, x.value) for x in e.conds) for e in es] for c, es in files.items()}
                names = list(files)
                if len(files) == 4 and len({tuple(s) for s in sigs.values()}) == 1:
                    t = self.add_table([files[c] for c in names])
                    for col, c in enumerate(names):
                        self.concept_index.append((d, f"{c}{v}.def", t, col))
                else:
                    for c in names:
                        t = self.add_table([files[c]])
                        self.concept_index.append((d, f"{c}{v}.def", t, 0))
            for f in OTHER_CONCEPT_FILES:
                t = self.defs.get(f"{d}/{f}")
                if t is None:
                    continue
                tid = self.add_table([parse_concept_file(t)])
                self.concept_index.append((d, f, tid, 0))
        for rust, path, name in INLINE:
            tid = self.add_table([inline_concept(self.defs[path], name)])
            self.inline.append((rust, tid))

    # -- section 4 layouts
    def layouts(self):
        fl = TemplateFlattener(self.defs)
        pdts = sorted(int(m.group(1)) for p in self.defs.files
                      if (m := re.match(r"grib2/templates/template\.4\.(\d+)\.def$", p)))
        out = []
        for n in pdts:
            path = f"grib2/templates/template.4.{n}.def"
            lay = fl.layout(path)
            text_includes = self._includes(path)
            statistical = "grib2/templates/template.4.statistical.def" in text_includes
            point = "grib2/templates/template.4.point_in_time.def" in text_includes
            out.append((n, lay, statistical, point))
        return out

    def _includes(self, path: str, seen=None) -> set:
        seen = set() if seen is None else seen
        text = self.defs.get(path) or ""
        for m in re.finditer(r'^\s*include\s+"([^"]+)"', text, re.M):
            p = m.group(1)
            if p not in seen:
                seen.add(p)
                self._includes(p, seen)
        return seen


def probe_pdt_flags(pdts: list[int]) -> dict[int, list[int]]:
    """Ask ecCodes itself for the computed per-template flags (is_chemical, ...)."""
    import eccodes as ec

    out = {}
    for n in pdts:
        h = ec.codes_grib_new_from_samples("GRIB2")
        try:
            ec.codes_set(h, "productDefinitionTemplateNumber", n)
            vals = []
            for k in PDT_FLAG_KEYS:
                try:
                    vals.append(int(ec.codes_get(h, k)))
                except Exception:  # noqa: BLE001
                    vals.append(0)
            out[n] = vals
        except Exception:  # noqa: BLE001
            out[n] = None
        finally:
            ec.codes_release(h)
    return out


def check_layouts(layouts) -> int:
    """Compare the flattened layouts with the octet offsets ecCodes reports."""
    import eccodes as ec

    bad = 0
    for n, lay, _, _ in layouts:
        h = ec.codes_grib_new_from_samples("GRIB2")
        try:
            ec.codes_set(h, "productDefinitionTemplateNumber", n)
        except Exception:  # noqa: BLE001
            ec.codes_release(h)
            continue
        s4 = ec.codes_get(h, "offsetSection4")
        pos = 9  # 0-based offset of octet 10 (first template octet)
        last = {}  # a name defined twice: ecCodes reports the last definition
        for it in lay.items:
            if isinstance(it, ListOf):
                try:
                    cnt = ec.codes_get(h, it.count)
                except Exception:  # noqa: BLE001
                    cnt = None
                if cnt:
                    break  # offsets inside lists are per element; stop checking here
                continue
            last[it.name] = pos
            pos += it.octets
        for name, pos in last.items():
            try:
                off = ec.codes_get_offset(h, name) - s4
            except Exception:  # noqa: BLE001
                continue
            if off != pos:
                print(f"PDT {n}: {name} at {off}, layout says {pos}")
                bad += 1
                break
        ec.codes_release(h)
    return bad


def fmt_value(v, g: Gen) -> str:
    if v is MISSING:
        return "V::Missing"
    if isinstance(v, tuple) and v and v[0] == "one_of":
        arr = v[2]
        if arr not in g.arrays:
            g.arrays[arr] = len(g.arrays)
        return f"V::OneOf({g.key(v[1])}, &ARR{g.arrays[arr]})"
    if isinstance(v, tuple):
        if v not in g.arrays:
            g.arrays[v] = len(g.arrays)
        return f"V::A(&ARR{g.arrays[v]})"
    if isinstance(v, int):
        return f"V::I({v})"
    return f"V::S({rust_str(v)})"


def blob(g: Gen, covered: set[int] | None) -> bytes:
    """The concept tables in the binary form `core/src/grib/tables.rs` reads.

    Little-endian: magic `GIKCPT1\\0`; the covered triples (`u32` count, or
    `u32::MAX` for all, then the sorted triples); the tables (`u32` count,
    then first row `u32`, rows `u32`, width `u8`); the rows (`u32` count, then
    dcn, order, first condition `u32`, pooled conditions `u8`, conditions
    `u8`, first value `u32`); the values (`u32` count, then `u32` string
    ids); the strings (`u32` count, then `u32` byte length and UTF-8 bytes).
    With `covered`, only the rows of those triples and the rows without one
    are kept (values and strings renumbered).
    """
    import struct

    out = bytearray(b"GIKCPT1\0")
    if covered is None:
        out += struct.pack("<I", 0xFFFFFFFF)
    else:
        out += struct.pack("<I", len(covered))
        out += b"".join(struct.pack("<I", d) for d in sorted(covered))
    strings = list(g.strings)
    string_ids: dict[int, int] = {}
    values: list[int] = []
    rows: list[tuple] = []
    tables: list[tuple[int, int, int]] = []
    for first, count, width in g.tables:
        start = len(rows)
        for dcn, ord_, cond, ncond, weight, vstart in g.rows[first:first + count]:
            if covered is not None and dcn != 0xFFFFFFFF and dcn not in covered:
                continue
            v = len(values)
            for sid in g.vals[vstart:vstart + width]:
                values.append(string_ids.setdefault(sid, len(string_ids)))
            rows.append((dcn, ord_, cond, ncond, weight, v))
        tables.append((start, len(rows) - start, width))
    out += struct.pack("<I", len(tables))
    for t in tables:
        out += struct.pack("<IIB", *t)
    out += struct.pack("<I", len(rows))
    for r in rows:
        out += struct.pack("<IIIBBI", *r)
    out += struct.pack("<I", len(values))
    out += b"".join(struct.pack("<I", v) for v in values)
    kept = sorted(string_ids, key=string_ids.get)
    out += struct.pack("<I", len(kept))
    for sid in kept:
        b = strings[sid].encode()
        out += struct.pack("<I", len(b)) + b
    return bytes(out)


def open_data_triples(g: Gen) -> set[int]:
    """discipline<<16|category<<8|number of the open-data parameters (ECMWF's and the WMO tables)."""
    wanted = set(OPEN_DATA_PARAMS)
    strings = list(g.strings)
    out = set()
    for d, f, t, col in g.concept_index:
        if not f.startswith("shortName") or d not in ("grib2", "grib2/localConcepts/ecmf"):
            continue
        first, count, width = g.tables[t]
        for dcn, _, _, _, _, vstart in g.rows[first:first + count]:
            if dcn != 0xFFFFFFFF and strings[g.vals[vstart + col]] in wanted:
                out.add(dcn)
    missing = wanted - {strings[g.vals[r[5] + c]] for d, f, t, c in g.concept_index
                        if f.startswith("shortName") for r in g.rows[g.tables[t][0]:g.tables[t][0] + g.tables[t][1]]}
    if missing:
        raise SystemExit(f"open-data parameters not in ecCodes' tables: {sorted(missing)}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="cross-check template layouts against ecCodes")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()

    import eccodes as ec

    version = ec.codes_get_api_version()
    defs = Definitions()
    g = Gen(defs)
    for k in EXTRA_KEYS:
        g.key(k)
    g.concept_files()
    layouts = g.layouts()
    if args.check:
        bad = check_layouts(layouts)
        print(f"layout check: {bad} mismatches")
    flags = probe_pdt_flags([n for n, *_ in layouts])

    # Layout items: keys used anywhere get ids; the rest become skips.
    def items_rs(items, aliases) -> str:
        parts = []
        skip = 0
        for it in items:
            if isinstance(it, Field):
                names = [it.name] + [a for a, t in aliases.items() if t == it.name]
                ids = [g.keys[x] for x in names if x in g.keys]
                if not ids or it.kind in ("f", "b"):
                    skip += it.octets
                    continue
                if skip:
                    parts.append(f"I::Skip({skip})")
                    skip = 0
                kind = {"u": "U", "s": "S"}[it.kind]
                ids_rs = ",".join(str(i) for i in ids)
                parts.append(f"I::F(&[{ids_rs}],{it.octets},FK::{kind},{str(it.can_be_missing).lower()})")
            else:
                if skip:
                    parts.append(f"I::Skip({skip})")
                    skip = 0
                cnt = g.key(it.count)
                parts.append(f"I::List({cnt},&[{items_rs(it.body, aliases)}])")
        if skip:
            parts.append(f"I::Skip({skip})")
        return ",".join(parts)

    layout_rs = []
    for n, lay, stat, point in layouts:
        # aliases for names that are keys we track (e.g. number -> perturbationNumber)
        al = {a: t for a, t in lay.aliases.items() if a in g.keys}
        items = items_rs(lay.items, al)
        fl = flags.get(n)
        fbits = 0
        if fl:
            for i, v in enumerate(fl):
                if v:
                    fbits |= 1 << i
        layout_rs.append(
            f"    Pdt {{ number: {n}, complete: {str(lay.complete).lower()}, statistical: {str(stat).lower()}, "
            f"flags: {fbits}, items: &[{items}] }},")

    centres = parse_code_table(defs["common/c-11.table"])
    mars = {t: parse_code_table(defs[f"mars/{t}.table"]) for t in ("class", "type", "stream")}

    # Format the pooled conditions first: it may register keys and arrays.
    cond_rs = [f"C({k},{fmt_value(v, g)})" for k, v in g.cond_pool]

    # ---- emit
    L = []
    w = L.append
    w("// @generated by core/tables/gen_tables.py from the ecCodes definitions embedded in")
    w(f"// eccodeslib (ecCodes {version}). Do not edit: regenerate (see core/tables/README.md).")
    w("#![allow(clippy::unreadable_literal, clippy::too_many_lines)]")
    w("")
    w("use super::{Cond as C, CondValue as V, ConceptIndex, FieldKind as FK, Item as I, Pdt};")
    w("")
    w("#[allow(dead_code)]")
    w(f'pub(crate) const ECCODES_VERSION: &str = "{version}";')
    w("")
    w("/// Every key a concept condition or a layout refers to, by id.")
    w(f"pub(crate) static KEY_NAMES: [&str; {len(g.keys)}] = [")
    for k in g.keys:
        w(f"    {rust_str(k)},")
    w("];")
    w("")
    w("/// Key ids.")
    w("#[allow(dead_code)]")
    w("pub(crate) mod k {")
    w("    use super::super::KeyId;")
    seen_consts = set()
    for k, i in g.keys.items():
        c = const_name(k)
        if c in seen_consts or not re.match(r"^[A-Z_][A-Z0-9_]*$", c):
            continue
        seen_consts.add(c)
        w(f"    pub(crate) const {c}: KeyId = {i};")
    w("}")
    w("")
    for arr, i in g.arrays.items():
        w(f"static ARR{i}: [i64; {len(arr)}] = [{', '.join(str(x) for x in arr)}];")
    w("")
    w(f"pub(crate) static CONDS: [C; {len(cond_rs)}] = [")
    for i in range(0, len(cond_rs), 8):
        w("    " + ", ".join(cond_rs[i:i + 8]) + ",")
    w("];")
    w("")
    w(f"/// Concept tables in {BLOB_FULL} / {BLOB_OPEN_DATA}.")
    w(f"pub(crate) const NUM_TABLES: usize = {len(g.tables)};")
    w("")
    w("/// (directory, concept file, table, column).")
    w(f"pub(crate) static CONCEPT_FILES: [ConceptIndex; {len(g.concept_index)}] = [")
    for d, f, t, c in g.concept_index:
        w(f"    ConceptIndex {{ dir: {rust_str(d)}, file: {rust_str(f)}, table: {t}, column: {c} }},")
    w("];")
    w("")
    for rust, tid in g.inline:
        w(f"pub(crate) const {rust}: u16 = {tid};")
    w("")
    w("/// Product definition templates flattened from grib2/templates/template.4.N.def.")
    w(f"pub(crate) static PDTS: [Pdt; {len(layout_rs)}] = [")
    L.extend(layout_rs)
    w("];")
    w("")
    w(f"pub(crate) static PDT_FLAG_KEYS: [&str; {len(PDT_FLAG_KEYS)}] = [{', '.join(rust_str(k) for k in PDT_FLAG_KEYS)}];")
    w("")

    def code_table(name, table):
        rows = [(c, a) for c, (a, _) in sorted(table.items()) if a != str(c)]
        w(f"pub(crate) static {name}: [(u16, &str); {len(rows)}] = [")
        for i in range(0, len(rows), 6):
            w("    " + ", ".join(f"({c}, {rust_str(a)})" for c, a in rows[i:i + 6]) + ",")
        w("];")
        w("")

    w("/// common/c-11.table: centre abbreviations (codes without one print as numbers).")
    code_table("CENTRES", centres)
    code_table("MARS_CLASS", {c: (a.lower(), t) for c, (a, t) in mars["class"].items()})
    code_table("MARS_TYPE", {c: (a.lower(), t) for c, (a, t) in mars["type"].items()})
    code_table("MARS_STREAM", {c: (a.lower(), t) for c, (a, t) in mars["stream"].items()})

    text = "\n".join(L) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    here = os.path.dirname(args.out)
    for name, covered in ((BLOB_FULL, None), (BLOB_OPEN_DATA, open_data_triples(g))):
        with open(os.path.join(here, name), "wb") as f:
            f.write(blob(g, covered))
    print(f"wrote {args.out}: {len(g.keys)} keys, {len(g.rows)} rows in {len(g.tables)} tables, "
          f"{len(g.cond_pool)} pooled conditions, {len(g.strings)} strings, {len(layout_rs)} templates, "
          f"{len(text) // 1024} KiB")


if __name__ == "__main__":
    main()
