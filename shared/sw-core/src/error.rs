//! The one error type every tool returns: an exit code, a message, and an
//! optional cause chain, printed as one redacted line on stderr.

use std::fmt;

use crate::exit::Exit;
use crate::secret;

/// Result alias used across the workspace.
pub type Result<T, E = Error> = std::result::Result<T, E>;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Error {
    exit: Exit,
    msg: String,
    source: Option<Source>,
}

impl Error {
    /// A new error with an explicit exit code.
    pub fn new(exit: Exit, msg: impl Into<String>) -> Error {
        Error {
            exit,
            msg: msg.into(),
            source: None,
        }
    }

    /// Attach a cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Source>) -> Error {
        self.source = Some(source.into());
        self
    }

    /// Usage error (64).
    pub fn usage(msg: impl Into<String>) -> Error {
        Error::new(Exit::Usage, msg)
    }
    /// Bad input data (65).
    pub fn data(msg: impl Into<String>) -> Error {
        Error::new(Exit::DataErr, msg)
    }
    /// Missing input (66).
    pub fn no_input(msg: impl Into<String>) -> Error {
        Error::new(Exit::NoInput, msg)
    }
    /// Service unavailable (69).
    pub fn unavailable(msg: impl Into<String>) -> Error {
        Error::new(Exit::Unavailable, msg)
    }
    /// Internal error (70).
    pub fn software(msg: impl Into<String>) -> Error {
        Error::new(Exit::Software, msg)
    }
    /// Cannot create output (73).
    pub fn cant_create(msg: impl Into<String>) -> Error {
        Error::new(Exit::CantCreat, msg)
    }
    /// I/O error (74).
    pub fn io(msg: impl Into<String>) -> Error {
        Error::new(Exit::IoErr, msg)
    }
    /// Temporary failure (75).
    pub fn temp(msg: impl Into<String>) -> Error {
        Error::new(Exit::TempFail, msg)
    }
    /// Permission denied (77).
    pub fn no_perm(msg: impl Into<String>) -> Error {
        Error::new(Exit::NoPerm, msg)
    }
    /// Configuration error (78).
    pub fn config(msg: impl Into<String>) -> Error {
        Error::new(Exit::Config, msg)
    }

    /// The exit code this error maps to.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// The message without causes.
    pub fn message(&self) -> &str {
        &self.msg
    }

    /// Replace the exit code (for callers that know better, e.g. a check
    /// that turns "cannot connect" into CRITICAL).
    #[must_use]
    pub fn with_exit(mut self, exit: Exit) -> Error {
        self.exit = exit;
        self
    }

    /// Wrap with more context, keeping the exit code.
    #[must_use]
    pub fn context(self, msg: impl Into<String>) -> Error {
        let exit = self.exit;
        Error {
            exit,
            msg: msg.into(),
            source: Some(Box::new(self)),
        }
    }

    /// An error from tokio-postgres, with its exit code derived from the
    /// SQLSTATE (or from the kind of I/O failure when there is none).
    pub fn pg(msg: impl Into<String>, err: tokio_postgres::Error) -> Error {
        let exit = exit_for_pg(&err);
        Error {
            exit,
            msg: msg.into(),
            source: Some(Box::new(PgCause(err))),
        }
    }
}

/// Displays a tokio-postgres error with the server's message and SQLSTATE,
/// which its own Display leaves as a bare "db error".
#[derive(Debug)]
struct PgCause(tokio_postgres::Error);

impl fmt::Display for PgCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db) = self.0.as_db_error() {
            write!(f, "{} (SQLSTATE {})", db.message(), db.code().code())?;
            if let Some(detail) = db.detail() {
                write!(f, ": {detail}")?;
            }
            Ok(())
        } else {
            write!(f, "{}", self.0)?;
            let mut src = std::error::Error::source(&self.0);
            while let Some(s) = src {
                write!(f, ": {s}")?;
                src = s.source();
            }
            Ok(())
        }
    }
}

impl std::error::Error for PgCause {}

/// Map a PostgreSQL error to an exit code (STYLE.md §6.3).
pub fn exit_for_pg(err: &tokio_postgres::Error) -> Exit {
    if let Some(code) = err.code() {
        return exit_for_sqlstate(code.code());
    }
    if err.is_closed() {
        return Exit::TempFail;
    }
    // No SQLSTATE: a connection-level failure (refused, DNS, TLS, timeout).
    Exit::Unavailable
}

/// Map a SQLSTATE to an exit code.
pub fn exit_for_sqlstate(code: &str) -> Exit {
    let class = code.get(..2).unwrap_or("");
    match (class, code) {
        (_, "3D000") => Exit::Config,
        (_, "42501") => Exit::NoPerm,
        (_, "53300" | "57P01" | "57P02" | "57P03" | "55P03" | "40001" | "40P01" | "57014") => Exit::TempFail,
        ("28", _) => Exit::NoPerm,
        ("08", _) => Exit::Unavailable,
        ("22" | "23", _) => Exit::DataErr,
        _ => Exit::Software,
    }
}

impl fmt::Display for Error {
    /// One line: the message, then each cause after ": ", secrets redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.msg.clone();
        let mut src: Option<&(dyn std::error::Error + 'static)> =
            self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static));
        while let Some(s) = src {
            let text = s.to_string();
            if !text.is_empty() && !line.ends_with(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            // Our own Error already printed its chain in to_string().
            if s.downcast_ref::<Error>().is_some() {
                break;
            }
            src = s.source();
        }
        let line = line.replace(['\n', '\r'], " ");
        f.write_str(&secret::redact(&line))
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::io("I/O error").with_source(e)
    }
}

/// Adds context and an exit code to foreign errors
/// (after coreutils' `map_err_context`).
pub trait Context<T> {
    /// Turn the error into an [`Error`] with this exit code and message.
    fn context(self, exit: Exit, msg: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E> Context<T> for std::result::Result<T, E>
where
    E: Into<Source>,
{
    fn context(self, exit: Exit, msg: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::new(exit, msg()).with_source(e))
    }
}

/// Context for I/O results: the exit code follows the kind of failure.
pub trait IoContext<T> {
    /// Wrap an I/O error, choosing 66 for "not found", 77 for "permission
    /// denied" and 74 otherwise.
    fn io_context(self, msg: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::result::Result<T, std::io::Error> {
    fn io_context(self, msg: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| {
            let exit = match e.kind() {
                std::io::ErrorKind::NotFound => Exit::NoInput,
                std::io::ErrorKind::PermissionDenied => Exit::NoPerm,
                _ => Exit::IoErr,
            };
            Error::new(exit, msg()).with_source(e)
        })
    }
}

/// Context for tokio-postgres results: exit code from the SQLSTATE.
pub trait PgContext<T> {
    /// Wrap a PostgreSQL error with a message.
    fn pg_context(self, msg: impl FnOnce() -> String) -> Result<T>;
}

impl<T> PgContext<T> for std::result::Result<T, tokio_postgres::Error> {
    fn pg_context(self, msg: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::pg(msg(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e: Result<()> = Err(io).io_context(|| "reading \"x\"".into());
        let e = e.unwrap_err();
        assert_eq!(e.exit(), Exit::NoInput);
        assert_eq!(e.to_string(), "reading \"x\": no such file");
        let wrapped = e.context("loading plan");
        assert_eq!(wrapped.to_string(), "loading plan: reading \"x\": no such file");
        assert_eq!(wrapped.exit(), Exit::NoInput);
    }

    #[test]
    fn sqlstate_mapping() {
        assert_eq!(exit_for_sqlstate("28P01"), Exit::NoPerm);
        assert_eq!(exit_for_sqlstate("3D000"), Exit::Config);
        assert_eq!(exit_for_sqlstate("55P03"), Exit::TempFail);
        assert_eq!(exit_for_sqlstate("22P02"), Exit::DataErr);
        assert_eq!(exit_for_sqlstate("08006"), Exit::Unavailable);
        assert_eq!(exit_for_sqlstate("XX000"), Exit::Software);
    }

    #[test]
    fn newlines_are_flattened() {
        let e = Error::data("line one\nline two");
        assert_eq!(e.to_string(), "line one line two");
    }
}
