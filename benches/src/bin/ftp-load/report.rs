//! The results: rows of a table for people, and one JSON line for scripts (written by hand:
//! a few numbers and strings need no serialisation framework).

use std::fmt::Write as _;

/// A JSON value, as much of JSON as the report needs.
#[derive(Clone, Debug)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(u64),
    Num(f64),
    Str(String),
    Arr(Vec<Self>),
    Obj(Vec<(&'static str, Self)>),
}

impl Json {
    /// A number rounded to three decimals (`null` when not finite).
    pub(crate) fn num(x: f64) -> Self {
        if x.is_finite() {
            Self::Num((x * 1000.0).round() / 1000.0)
        } else {
            Self::Null
        }
    }

    pub(crate) fn str(s: impl Into<String>) -> Self {
        Self::Str(s.into())
    }

    /// The compact encoding, on one line.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Num(x) => {
                let _ = write!(out, "{x}");
            }
            Self::Str(s) => escape_into(s, out),
            Self::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape_into(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped.
fn escape_into(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One line of the table.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) what: String,
    pub(crate) value: String,
    pub(crate) detail: String,
}

impl Row {
    pub(crate) fn new(what: impl Into<String>, value: String, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            value,
            detail: detail.into(),
        }
    }
}

/// What one phase found: its JSON object (under `key`) and its rows.
#[derive(Clone, Debug)]
pub(crate) struct PhaseReport {
    pub(crate) key: &'static str,
    pub(crate) json: Vec<(&'static str, Json)>,
    pub(crate) rows: Vec<Row>,
}

impl PhaseReport {
    /// A phase that could not finish: the error takes the place of its figures.
    pub(crate) fn failed(key: &'static str, title: &str, error: &str) -> Self {
        Self {
            key,
            json: vec![("error", Json::str(error))],
            rows: vec![Row::new(title, "failed".to_owned(), error)],
        }
    }

    /// A phase that did not run, and why.
    pub(crate) fn skipped(key: &'static str, title: &str, why: &str) -> Self {
        Self {
            key,
            json: vec![("skipped", Json::str(why))],
            rows: vec![Row::new(title, "skipped".to_owned(), why)],
        }
    }
}

/// The table, columns aligned, long details left to run on.
pub(crate) fn table(rows: &[Row]) -> String {
    let header = Row::new("measurement", "value".to_owned(), "details");
    let all: Vec<&Row> = std::iter::once(&header).chain(rows).collect();
    let w0 = all
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0);
    let w1 = all
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, r) in all.iter().enumerate() {
        let line = format!("{:<w0$}  {:>w1$}  {}", r.what, r.value, r.detail);
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(w0 + w1 + 12));
            out.push('\n');
        }
    }
    out
}

/// `12.3` style: three significant figures or so, for MiB/s, files/s and KiB.
pub(crate) fn fmt_num(x: f64) -> String {
    match x.abs() {
        v if !v.is_finite() => "-".to_owned(),
        v if v >= 100.0 => format!("{x:.0}"),
        v if v >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let v = Json::str("a\"b\\c\nd\u{1}é");
        assert_eq!(v.encode(), r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn objects_numbers_and_nulls() {
        let v = Json::Obj(vec![
            ("n", Json::num(1.23456)),
            ("inf", Json::num(f64::INFINITY)),
            ("i", Json::Int(7)),
            ("ok", Json::Bool(true)),
            ("l", Json::Arr(vec![Json::Null, Json::str("x")])),
        ]);
        assert_eq!(
            v.encode(),
            r#"{"n":1.235,"inf":null,"i":7,"ok":true,"l":[null,"x"]}"#
        );
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[Row::new("a", "1.00".to_owned(), "MiB/s")]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[2].starts_with("a"));
        assert!(lines[2].ends_with(" 1.00  MiB/s"));
    }
}
