"""A small reader for the parts of the ecCodes definition language gik needs.

* concept files (`'value' = { key = v ; ... }`) and inline `concept` blocks;
* code tables (`code abbreviation title`);
* section templates, flattened into byte layouts (fields, counted lists),
  for the templates whose layout does not depend on run-time conditions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<str>"[^"]*"|'[^']*'|`[^`]*`)
  | (?P<num>-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[{}()\[\];,=:<>!+\-*/%.&|])
""",
    re.VERBOSE,
)


@dataclass
class Tok:
    kind: str
    text: str

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.kind}:{self.text}"


def tokenize(text: str) -> list[Tok]:
    out = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            out.append(Tok("other", text[pos]))
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        out.append(Tok(kind, m.group(0)))
    return out


# ---------------------------------------------------------------- concepts

MISSING = ("missing",)


@dataclass
class Cond:
    key: str
    value: object  # int | str | MISSING | tuple[int, ...] (array)


@dataclass
class Entry:
    value: str
    conds: list[Cond]


def _unquote(s: str) -> str:
    if s[:1] in "\"'`" and s[-1:] == s[:1]:
        return s[1:-1]
    return s


def parse_concept_entries(toks: list[Tok], i: int = 0, end: int | None = None) -> list[Entry]:
    """Entries `value = { k = v; ... }` from toks[i:end]."""
    end = len(toks) if end is None else end
    entries = []
    while i < end:
        t = toks[i]
        if t.kind in ("str", "ident", "num") and i + 2 < end and toks[i + 1].text == "=" and toks[i + 2].text == "{":
            value = _unquote(t.text)
            i += 3
            conds = []
            while toks[i].text != "}":
                key = toks[i].text
                if toks[i + 1].text != "=":
                    raise ValueError(f"bad condition near {toks[i:i+4]}")
                i += 2
                if toks[i].text == "missing" and toks[i + 1].text == "(":
                    val: object = MISSING
                    i += 3
                elif toks[i].text == "[":
                    arr = []
                    i += 1
                    while toks[i].text != "]":
                        if toks[i].text != ",":
                            arr.append(int(toks[i].text))
                        i += 1
                    i += 1
                    val = tuple(arr)
                elif toks[i].text == "is_one_of" and toks[i + 1].text == "(":
                    # true = is_one_of(key, v1, v2, ...): 1 when key's value is listed
                    j = i + 2
                    args = []
                    while toks[j].text != ")":
                        if toks[j].text != ",":
                            args.append(toks[j])
                        j += 1
                    if any(a.kind != "num" for a in args[1:]):
                        raise ValueError(f"is_one_of with non-integer values near {toks[i:j]}")
                    val = ("one_of", args[0].text, tuple(int(a.text) for a in args[1:]))
                    i = j + 1
                elif toks[i].kind == "num":
                    val = int(toks[i].text)
                    i += 1
                elif toks[i].kind == "str":
                    val = _unquote(toks[i].text)
                    i += 1
                else:
                    raise ValueError(f"unsupported condition value {toks[i]}")
                if toks[i].text == ";":
                    i += 1
                conds.append(Cond(key, val))
            i += 1
            entries.append(Entry(value, conds))
        else:
            i += 1
    return entries


def parse_concept_file(text: str) -> list[Entry]:
    return parse_concept_entries(tokenize(text))


def inline_concept(text: str, name: str) -> list[Entry]:
    """Entries of the inline block `concept name[(default)] { ... }` in a .def file."""
    toks = tokenize(text)
    for i, t in enumerate(toks):
        if t.text in ("concept", "concept_nofail") and toks[i + 1].text == name:
            j = i + 2
            while toks[j].text != "{":
                if toks[j].text == ";":
                    break
                j += 1
            if toks[j].text != "{":
                continue
            depth, k = 0, j
            while True:
                if toks[k].text == "{":
                    depth += 1
                elif toks[k].text == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            return parse_concept_entries(toks, j + 1, k)
    raise KeyError(name)


# ---------------------------------------------------------------- code tables

def parse_code_table(text: str) -> dict[int, tuple[str, str]]:
    """`code abbreviation title` lines -> {code: (abbreviation, title)}."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        try:
            code = int(parts[0])
        except ValueError:
            continue
        abbr = parts[1] if len(parts) > 1 else parts[0]
        title = parts[2] if len(parts) > 2 else ""
        out.setdefault(code, (abbr, title))
    return out


# ---------------------------------------------------------------- templates

@dataclass
class Field:
    name: str
    octets: int
    kind: str  # "u" unsigned, "s" signed (sign and magnitude), "f" ieee float, "b" bytes/ascii
    can_be_missing: bool


@dataclass
class ListOf:
    count: str
    body: list


@dataclass
class Layout:
    items: list = field(default_factory=list)
    aliases: dict = field(default_factory=dict)  # alias -> key
    complete: bool = True  # False: stopped at a construct whose size depends on values
    stop_reason: str = ""


CONSUMING = {"unsigned", "signed", "codetable", "codeflag", "ieeefloat", "ascii", "byte", "bytes",
             "ksec1expver", "pad", "padto", "padtoeven", "bits", "unsigned_bits", "signed_bits",
             "section_length", "g1_half_byte_codeflag"}
NON_CONSUMING = {"alias", "unalias", "meta", "transient", "constant", "position", "label", "lookup",
                 "remove", "set", "set_nofail", "print", "assert", "rename", "hash_array", "modify",
                 "write", "close", "export", "trigger", "dummy", "smart_table", "smart_table_column",
                 "section_padding", "constant_nofail"}


class _Stop(Exception):
    pass


def _block_end(toks: list[Tok], i: int) -> int:
    """toks[i] is '{'; index just past the matching '}'."""
    depth = 0
    while i < len(toks):
        if toks[i].text == "{":
            depth += 1
        elif toks[i].text == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced braces")


def _stmt_end(toks: list[Tok], i: int) -> int:
    """Index just past the ';' ending the simple statement at toks[i]."""
    depth = 0
    while i < len(toks):
        t = toks[i].text
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
        elif t == ";" and depth == 0:
            return i + 1
        i += 1
    return i


class TemplateFlattener:
    """Flattens a section template into a byte layout."""

    def __init__(self, defs):
        self.defs = defs

    def layout(self, rel_path: str) -> Layout:
        lay = Layout()
        try:
            self._file(rel_path, lay.items, lay)
        except _Stop as e:
            lay.complete = False
            lay.stop_reason = str(e)
        return lay

    def _file(self, rel: str, out: list, lay: Layout) -> None:
        text = self.defs.get(rel)
        if text is None:
            raise _Stop(f"missing include {rel}")
        self._block(tokenize(text), 0, None, out, lay)

    def _consumes(self, toks: list[Tok], i: int, end: int) -> bool:
        """Whether a nested block may consume octets (conservative)."""
        for t in toks[i:end]:
            if t.kind == "ident" and (t.text in CONSUMING or t.text in ("include", "template", "template_nofail", "list")):
                return True
        return False

    def _block(self, toks: list[Tok], i: int, end: int | None, out: list, lay: Layout) -> None:
        end = len(toks) if end is None else end
        while i < end:
            t = toks[i]
            w = t.text
            if w == "}":
                i += 1
                continue
            if w == "include":
                self._file(_unquote(toks[i + 1].text), out, lay)
                i += 2
                if i < end and toks[i].text == ";":
                    i += 1
                continue
            if w in ("if", "_if", "when"):
                # if (cond) { ... } [else { ... } | else if ...]
                j = i + 1
                depth = 0
                while True:
                    if toks[j].text == "(":
                        depth += 1
                    elif toks[j].text == ")":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
                j += 1
                k = _block_end(toks, j)
                consumes = self._consumes(toks, j, k) and w != "when"
                while k < end and toks[k].text == "else":
                    if toks[k + 1].text in ("if", "_if"):
                        # else if: find its block(s)
                        j2 = k + 2
                        depth = 0
                        while True:
                            if toks[j2].text == "(":
                                depth += 1
                            elif toks[j2].text == ")":
                                depth -= 1
                                if depth == 0:
                                    break
                            j2 += 1
                        k2 = _block_end(toks, j2 + 1)
                        consumes = consumes or self._consumes(toks, j2 + 1, k2)
                        k = k2
                    else:
                        k2 = _block_end(toks, k + 1)
                        consumes = consumes or self._consumes(toks, k + 1, k2)
                        k = k2
                if consumes:
                    raise _Stop(f"octets under a condition ({' '.join(x.text for x in toks[i:i+8])} ...)")
                i = k
                continue
            if w in ("concept", "concept_nofail", "switch"):
                j = i + 1
                while j < end and toks[j].text not in ("{", ";"):
                    j += 1
                if j < end and toks[j].text == "{":
                    j = _block_end(toks, j)
                i = _stmt_end(toks, j) if j < end and toks[j].text != ";" and toks[j].text == ":" else j
                if i < end and toks[i].text == ";":
                    i += 1
                continue
            if t.kind == "ident" and i + 2 < end and toks[i + 1].text == "list" and toks[i + 2].text == "(":
                count = toks[i + 3].text
                j = i + 4
                while toks[j].text != ")":
                    j += 1
                k = _block_end(toks, j + 1)
                body: list = []
                self._block(toks, j + 2, k - 1, body, lay)
                out.append(ListOf(count, body))
                i = k
                continue
            if w in ("template", "template_nofail"):
                raise _Stop(f"dynamic template {toks[i+2].text}")
            if w == "alias":
                # alias [ns.]name = [ns.]target ;
                j = _stmt_end(toks, i)
                name = toks[i + 1].text
                if toks[i + 2].text == "=":
                    target = toks[i + 3].text
                    lay.aliases[name.split(".")[-1]] = target.split(".")[-1]
                i = j
                continue
            if w in CONSUMING:
                j = _stmt_end(toks, i)
                stmt = toks[i:j]
                octets = 4 if w == "ieeefloat" else None
                k = 1
                if stmt[1].text == "[":
                    octets = int(stmt[2].text)
                    k = 4
                if w in ("pad", "padto", "padtoeven", "bits", "unsigned_bits", "signed_bits", "g1_half_byte_codeflag"):
                    raise _Stop(f"unsupported field kind {w}")
                name = stmt[k].text
                can_be_missing = any(x.text == "can_be_missing" for x in stmt)
                kind = {"signed": "s", "ieeefloat": "f", "ascii": "b", "byte": "b", "bytes": "b",
                        "ksec1expver": "b"}.get(w, "u")
                if octets is None:
                    raise _Stop(f"field without width: {w} {name}")
                out.append(Field(name, octets, kind, can_be_missing))
                i = j
                continue
            if w in NON_CONSUMING or t.kind != "ident":
                i = _stmt_end(toks, i)
                continue
            # `name = expr : flags;` style transients, or anything else unknown
            if i + 1 < end and toks[i + 1].text == "=":
                i = _stmt_end(toks, i)
                continue
            raise _Stop(f"unknown statement {w}")
