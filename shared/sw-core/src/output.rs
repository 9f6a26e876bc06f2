//! JSON Lines on stdout: one flat object per line, each starting with
//! `"kind"` and `"schema"` so `jq 'select(.kind=="backup")'` just works.

use std::io::{self, BufWriter, Write};

use serde::Serialize;

use crate::contract::Record;
use crate::error::{Error, Result};

/// The schema version every record kind starts at ([`Record::SCHEMA`]).
pub const SCHEMA: u32 = 1;

/// A JSON Lines writer. Each record is flushed as a whole line, so a
/// reader downstream in a pipe sees complete lines as they happen.
pub struct Output {
    out: Box<dyn Write + Send>,
    pretty: bool,
}

impl Output {
    /// Write to stdout.
    pub fn stdout(pretty: bool) -> Output {
        Output {
            out: Box::new(BufWriter::new(io::stdout())),
            pretty,
        }
    }

    /// Write to any sink (tests, files).
    pub fn to_writer(w: impl Write + Send + 'static, pretty: bool) -> Output {
        Output {
            out: Box::new(w),
            pretty,
        }
    }

    /// Write one record: its type's `kind` and `schema`, then its fields.
    pub fn emit<R: Record>(&mut self, record: &R) -> Result<()> {
        let line = render_versioned(R::KIND, R::SCHEMA, record, self.pretty)?;
        self.write_line(&line)
    }

    /// Write an already-rendered JSON value as one line (filters that pass
    /// records through unchanged).
    pub fn raw(&mut self, value: &serde_json::Value) -> Result<()> {
        let line = serde_json::to_string(value).map_err(|e| Error::software("rendering JSON").with_source(e))?;
        self.write_line(&line)
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        let r = self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        r.map_err(stdout_error)
    }

    /// Flush buffered output.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(stdout_error)
    }
}

/// A closed pipe downstream (`| head`) is not an error: exit quietly, 0.
fn stdout_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Error::new(crate::Exit::Ok, "broken pipe")
    } else {
        Error::io("writing to stdout").with_source(e)
    }
}

/// Render one record as a line of JSON (no trailing newline).
pub fn render<R: Record>(record: &R, pretty: bool) -> Result<String> {
    render_versioned(R::KIND, R::SCHEMA, record, pretty)
}

fn render_versioned<T: Serialize + ?Sized>(kind: &str, schema: u32, data: &T, pretty: bool) -> Result<String> {
    let body = serde_json::to_string(data).map_err(|e| Error::software("rendering JSON").with_source(e))?;
    let Some(rest) = body.strip_prefix('{') else {
        return Err(Error::software(format!("record of kind {kind:?} is not a JSON object")));
    };
    let kind_json = serde_json::to_string(kind).map_err(|e| Error::software("rendering JSON").with_source(e))?;
    let sep = if rest == "}" { "" } else { "," };
    let line = format!("{{\"kind\":{kind_json},\"schema\":{schema}{sep}{rest}");
    if pretty {
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| Error::software("rendering JSON").with_source(e))?;
        serde_json::to_string_pretty(&v).map_err(|e| Error::software("rendering JSON").with_source(e))
    } else {
        Ok(line)
    }
}

/// Current time as RFC 3339 UTC with a `Z` (the record convention).
pub fn now_rfc3339() -> String {
    rfc3339(chrono::Utc::now())
}

/// A timestamp as RFC 3339 UTC with a `Z`.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[derive(Serialize)]
    struct Ping {
        ok: bool,
    }
    impl Record for Ping {
        const KIND: &'static str = "health.ping";
    }
    #[derive(Serialize)]
    struct Empty {}
    impl Record for Empty {
        const KIND: &'static str = "summary";
        const SCHEMA: u32 = 2;
    }
    #[derive(Serialize)]
    struct List(Vec<u8>);
    impl Record for List {
        const KIND: &'static str = "x";
    }

    #[test]
    fn records_start_with_kind_and_schema() {
        let buf = Buf::default();
        let mut o = Output::to_writer(buf.clone(), false);
        o.emit(&Ping { ok: true }).unwrap();
        o.emit(&Empty {}).unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"kind":"health.ping","schema":1,"ok":true}"#);
        assert_eq!(lines[1], r#"{"kind":"summary","schema":2}"#);
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(render(&List(vec![1, 2]), false).is_err());
    }
}
