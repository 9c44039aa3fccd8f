//! The small subset of Jinja that kerchunk reference files use: `{{name}}`
//! substitution in urls (`templates`) and integer arithmetic over `gen`
//! dimensions (`"offset": "{{i * 1000 + 8}}"`).

use std::collections::BTreeMap;

/// A value a template variable can hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TValue {
    Int(i64),
    Str(String),
}

impl std::fmt::Display for TValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Str(s) => f.write_str(s),
        }
    }
}

/// Renders `text`, replacing every `{{ expr }}` by its value.
pub(crate) fn render(text: &str, vars: &BTreeMap<String, TValue>) -> Result<String, String> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed `{{{{` in {text:?}"))?;
        let expr = &after[..end];
        out.push_str(&eval(expr, vars)?.to_string());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Evaluates one expression: a variable, an integer, or integer arithmetic
/// (`+ - * / // %` and parentheses) over them.
fn eval(expr: &str, vars: &BTreeMap<String, TValue>) -> Result<TValue, String> {
    let tokens = tokenize(expr)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        vars,
    };
    let v = p.sum()?;
    if p.pos != tokens.len() {
        return Err(format!("cannot evaluate {expr:?}"));
    }
    Ok(v)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(i64),
    Ident(String),
    Op(&'static str),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' => i += 1,
            b'0'..=b'9' => {
                let st = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n = s[st..i]
                    .parse::<i64>()
                    .map_err(|e| format!("{e} in {s:?}"))?;
                out.push(Tok::Num(n));
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let st = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Tok::Ident(s[st..i].to_string()));
            }
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                out.push(Tok::Op("//"));
                i += 2;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' => {
                out.push(Tok::Op(match c {
                    b'+' => "+",
                    b'-' => "-",
                    b'*' => "*",
                    b'/' => "/",
                    _ => "%",
                }));
                i += 1;
            }
            _ => {
                return Err(format!(
                    "unsupported character {:?} in template {s:?}",
                    c as char
                ))
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
    vars: &'a BTreeMap<String, TValue>,
}

impl Parser<'_> {
    fn sum(&mut self) -> Result<TValue, String> {
        let mut v = self.product()?;
        while let Some(Tok::Op(op @ ("+" | "-"))) = self.tokens.get(self.pos) {
            self.pos += 1;
            let r = self.product()?;
            v = arith(op, &v, &r)?;
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<TValue, String> {
        let mut v = self.unary()?;
        while let Some(Tok::Op(op @ ("*" | "/" | "//" | "%"))) = self.tokens.get(self.pos) {
            self.pos += 1;
            let r = self.unary()?;
            v = arith(op, &v, &r)?;
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<TValue, String> {
        if let Some(Tok::Op("-")) = self.tokens.get(self.pos) {
            self.pos += 1;
            let v = self.unary()?;
            return arith("-", &TValue::Int(0), &v);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<TValue, String> {
        let t = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of expression")?;
        self.pos += 1;
        match t {
            Tok::Num(n) => Ok(TValue::Int(n)),
            Tok::Ident(name) => self
                .vars
                .get(&name)
                .cloned()
                .ok_or_else(|| format!("unknown template variable {name:?}")),
            Tok::Open => {
                let v = self.sum()?;
                match self.tokens.get(self.pos) {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(v)
                    }
                    _ => Err("missing `)`".to_string()),
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

fn arith(op: &str, a: &TValue, b: &TValue) -> Result<TValue, String> {
    let (TValue::Int(a), TValue::Int(b)) = (a, b) else {
        if op == "+" {
            return Ok(TValue::Str(format!("{a}{b}")));
        }
        return Err(format!("`{op}` needs integers"));
    };
    let (a, b) = (*a, *b);
    let r = match op {
        "+" => a.checked_add(b),
        "-" => a.checked_sub(b),
        "*" => a.checked_mul(b),
        "/" | "//" => {
            if b == 0 {
                None
            } else {
                Some(a.div_euclid(b) - i64::from(b < 0 && a.rem_euclid(b) != 0))
            }
        }
        _ => {
            if b == 0 {
                None
            } else {
                Some(a - b * (a.div_euclid(b) - i64::from(b < 0 && a.rem_euclid(b) != 0)))
            }
        }
    };
    r.map(TValue::Int)
        .ok_or_else(|| format!("overflow or division by zero in {a} {op} {b}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_templates_and_arithmetic() {
        let mut v = BTreeMap::new();
        v.insert("u".to_string(), TValue::Str("s3://b/f.grib2".into()));
        v.insert("i".to_string(), TValue::Int(3));
        assert_eq!(render("{{u}}", &v).as_deref(), Ok("s3://b/f.grib2"));
        assert_eq!(render("{{ u }}", &v).as_deref(), Ok("s3://b/f.grib2"));
        assert_eq!(render("data/{{i}}.0", &v).as_deref(), Ok("data/3.0"));
        assert_eq!(render("{{(i + 1) * 1000 - 8}}", &v).as_deref(), Ok("3992"));
        assert_eq!(
            render("{{i // 2}} {{i % 2}} {{-7 // 2}}", &v).as_deref(),
            Ok("1 1 -4")
        );
        assert!(render("{{nope}}", &v).is_err());
        assert!(render("{{i", &v).is_err());
        assert!(render("{{i / 0}}", &v).is_err());
        assert!(render("{{i | int}}", &v).is_err());
    }
}
