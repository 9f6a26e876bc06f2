//! JSON Lines input for filters: every line must be a JSON object; the
//! first malformed line stops the run with exit 65 and its line number.

use std::io::BufRead;

use serde_json::Value;

use crate::error::{Error, Result};

/// One parsed input line (a JSON object) with its line number (1-based).
#[derive(Debug, Clone)]
pub struct Line {
    pub line: usize,
    pub value: Value,
}

impl Line {
    /// The record's `kind`, if any.
    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind").and_then(Value::as_str)
    }

    /// Fail with exit 65 unless `kind` is one of `kinds` and `schema` is 1.
    pub fn expect(&self, source: &str, kinds: &[&str]) -> Result<()> {
        let with_versions: Vec<(&str, u32)> = kinds.iter().map(|k| (*k, crate::output::SCHEMA)).collect();
        self.expect_versions(source, &with_versions)
    }

    /// Fail with exit 65 unless the record is one of the `(kind, schema)`
    /// pairs (each kind has its own schema version).
    pub fn expect_versions(&self, source: &str, kinds: &[(&str, u32)]) -> Result<()> {
        let kind = self
            .kind()
            .ok_or_else(|| Error::data(format!("{source}:{}: record has no \"kind\"", self.line)))?;
        let Some(&(_, want)) = kinds.iter().find(|(k, _)| *k == kind) else {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            return Err(Error::data(format!(
                "{source}:{}: unexpected record kind {kind:?} (expected {})",
                self.line,
                names.join(" or ")
            )));
        };
        match self.value.get("schema").and_then(Value::as_u64) {
            Some(s) if s == u64::from(want) => Ok(()),
            Some(s) => Err(Error::data(format!(
                "{source}:{}: {kind} record schema {s} is not supported (expected {want})",
                self.line
            ))),
            None => Err(Error::data(format!("{source}:{}: record has no \"schema\"", self.line))),
        }
    }
}

/// An iterator of records from a reader; blank lines are skipped.
pub struct JsonLines<R> {
    reader: R,
    source: String,
    line: usize,
    buf: String,
}

impl<R: BufRead> JsonLines<R> {
    /// Read from `reader`, naming it `source` ("stdin", a path) in errors.
    pub fn new(reader: R, source: &str) -> JsonLines<R> {
        JsonLines {
            reader,
            source: source.to_owned(),
            line: 0,
            buf: String::new(),
        }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Result<Line>;

    fn next(&mut self) -> Option<Result<Line>> {
        loop {
            self.buf.clear();
            self.line += 1;
            match self.reader.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Some(Err(Error::data(format!(
                        "{}:{}: input is not UTF-8",
                        self.source, self.line
                    ))));
                }
                Err(e) => return Some(Err(Error::io(format!("reading {}", self.source)).with_source(e))),
            }
            let t = self.buf.trim();
            if t.is_empty() {
                continue;
            }
            return Some(match serde_json::from_str::<Value>(t) {
                Ok(v) if v.is_object() => Ok(Line {
                    line: self.line,
                    value: v,
                }),
                Ok(_) => Err(Error::data(format!(
                    "{}:{}: expected a JSON object",
                    self.source, self.line
                ))),
                Err(e) => Err(Error::data(format!(
                    "{}:{}: malformed JSON: {e}",
                    self.source, self.line
                ))),
            });
        }
    }
}

/// Read all records up front (filters validate everything before any side
/// effect).
pub fn read_all<R: BufRead>(reader: R, source: &str) -> Result<Vec<Line>> {
    JsonLines::new(reader, source).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_bad_line() {
        let input = "{\"kind\":\"a\",\"schema\":1}\n\n{\"kind\": oops}\n";
        let e = read_all(input.as_bytes(), "stdin").unwrap_err();
        assert_eq!(e.exit(), crate::Exit::DataErr);
        assert!(e.to_string().starts_with("stdin:3: malformed JSON"), "{e}");
        let e = read_all("[1]\n".as_bytes(), "stdin").unwrap_err();
        assert!(e.to_string().contains("stdin:1: expected a JSON object"));
    }

    #[test]
    fn checks_kind_and_schema() {
        let recs = read_all(
            "{\"kind\":\"a\",\"schema\":1}\n{\"kind\":\"b\",\"schema\":2}\n".as_bytes(),
            "in",
        )
        .unwrap();
        assert!(recs[0].expect("in", &["a"]).is_ok());
        assert!(recs[0].expect("in", &["b"]).is_err());
        assert!(
            recs[1]
                .expect("in", &["b"])
                .unwrap_err()
                .to_string()
                .contains("schema 2")
        );
    }
}
