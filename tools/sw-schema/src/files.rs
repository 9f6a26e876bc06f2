//! The migrations directory: numbered pairs `NNNN_name.up.sql` and
//! `NNNN_name.down.sql`, their checksums, directives and statements.
//!
//! A checksum is SHA-256 over the file with CRLF turned into LF, so a
//! checkout on Windows or an editor's line-ending change does not make an
//! applied migration look edited (transact-rs/sqlx#2659), while any other
//! byte does. The only directive that changes how a file runs is
//! `-- sw:no-transaction` on its first line; `-- sw:allow RULE: reason`
//! before a statement acknowledges a lint finding. Any other `-- sw:` comment
//! is a typo and refused, so a misspelt directive never silently does nothing.

use std::path::{Path, PathBuf};

use sw_core::error::IoContext;
use sw_core::fsutil::q;
use sw_core::{Error, Result};

use crate::sql::{self, Statement};

/// The first line that makes a migration run outside a transaction.
pub const NO_TRANSACTION: &str = "-- sw:no-transaction";

/// One `.sql` file of a migration.
#[derive(Debug, Clone)]
pub struct SqlFile {
    pub path: PathBuf,
    /// SHA-256 of the content with CRLF as LF.
    pub checksum: [u8; 32],
    /// Whether the first line is `-- sw:no-transaction`.
    pub no_transaction: bool,
    pub statements: Vec<Statement>,
}

/// A migration: its up file and, when it can be reverted, its down file.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i64,
    pub name: String,
    pub up: SqlFile,
    pub down: Option<SqlFile>,
}

/// SHA-256 of `bytes` with every CRLF read as LF.
pub fn checksum(bytes: &[u8]) -> [u8; 32] {
    let mut h = openssl::sha::Sha256::new();
    let mut rest = bytes;
    while let Some(p) = rest.windows(2).position(|w| w == b"\r\n") {
        h.update(&rest[..p]);
        h.update(b"\n");
        rest = &rest[p + 2..];
    }
    h.update(rest);
    h.finish()
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SHA-256 over the first `n` statements' text: what a resumed
/// no-transaction migration must still agree with.
pub fn prefix_checksum(statements: &[Statement], n: usize) -> [u8; 32] {
    let mut h = openssl::sha::Sha256::new();
    for s in statements.iter().take(n) {
        h.update(s.text.replace("\r\n", "\n").as_bytes());
        h.update(b"\0");
    }
    h.finish()
}

/// `(version, name, is_up)` from a file name, None when it is no migration name.
fn parse_name(file: &str) -> Option<(i64, String, bool)> {
    let (stem, up) = if let Some(s) = file.strip_suffix(".up.sql") {
        (s, true)
    } else {
        (file.strip_suffix(".down.sql")?, false)
    };
    let (num, name) = stem.split_once('_')?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    Some((num.parse().ok().filter(|v| *v > 0)?, name.to_owned(), up))
}

fn read_file(path: &Path) -> Result<SqlFile> {
    let bytes = std::fs::read(path).io_context(|| format!("reading {}", q(path)))?;
    let text = String::from_utf8(bytes.clone()).map_err(|e| {
        Error::data(format!(
            "{} is not UTF-8 (byte {})",
            q(path),
            e.utf8_error().valid_up_to()
        ))
    })?;
    let first = text.lines().next().unwrap_or("").trim_end();
    let no_transaction = first == NO_TRANSACTION;
    let statements =
        sql::split(&text).map_err(|e| Error::data(format!("{}:{}: {}", path.display(), e.line, e.message)))?;
    for (line_no, line) in text.lines().enumerate() {
        let l = line.trim();
        let Some(d) = l.strip_prefix("--").map(str::trim).and_then(|c| c.strip_prefix("sw:")) else {
            continue;
        };
        let ok = d.starts_with("allow ") || (d.trim_end() == "no-transaction" && line_no == 0);
        if !ok {
            let hint = if d.starts_with("no-transaction") {
                "it must be the file's first line"
            } else {
                "known directives: -- sw:no-transaction (first line), -- sw:allow RULE: reason"
            };
            return Err(Error::data(format!(
                "{}:{}: unknown or misplaced directive {l:?} ({hint})",
                path.display(),
                line_no + 1
            )));
        }
    }
    Ok(SqlFile {
        path: path.to_path_buf(),
        checksum: checksum(&bytes),
        no_transaction,
        statements,
    })
}

/// Read every migration in `dir`, in version order.
///
/// # Errors
/// 66 when `dir` does not exist; 65 for a `.sql` file whose name is not a
/// migration's, a version used twice, a down file without its up file, a
/// file that cannot be split or a misplaced directive; 74 on read errors.
pub fn load(dir: &Path) -> Result<Vec<Migration>> {
    let rd = std::fs::read_dir(dir).io_context(|| format!("reading the migrations directory {}", q(dir)))?;
    let mut ups: std::collections::BTreeMap<i64, (String, PathBuf)> = std::collections::BTreeMap::new();
    let mut downs: std::collections::BTreeMap<i64, (String, PathBuf)> = std::collections::BTreeMap::new();
    for e in rd {
        let e = e.io_context(|| format!("reading the migrations directory {}", q(dir)))?;
        let file = e.file_name().to_string_lossy().into_owned();
        if !file.ends_with(".sql") {
            continue;
        }
        let Some((version, name, up)) = parse_name(&file) else {
            return Err(Error::data(format!(
                "{}: not a migration file name (NNNN_name.up.sql or NNNN_name.down.sql, name in [A-Za-z0-9_])",
                q(&e.path())
            )));
        };
        let map = if up { &mut ups } else { &mut downs };
        if let Some((other, _)) = map.insert(version, (name.clone(), e.path())) {
            return Err(Error::data(format!(
                "version {version} is used twice in {} ({other} and {name})",
                q(dir)
            )));
        }
    }
    let mut out = Vec::new();
    for (version, (name, path)) in &ups {
        let down = match downs.remove(version) {
            Some((dname, dpath)) if dname == *name => Some(read_file(&dpath)?),
            Some((dname, _)) => {
                return Err(Error::data(format!(
                    "version {version}: the up file is named {name} but the down file {dname}"
                )));
            }
            None => None,
        };
        out.push(Migration {
            version: *version,
            name: name.clone(),
            up: read_file(path)?,
            down,
        });
    }
    if let Some((version, (_, path))) = downs.into_iter().next() {
        return Err(Error::data(format!("{} has no up file (version {version})", q(&path))));
    }
    Ok(out)
}

/// The next version's number and file stem for `name`, given what exists.
pub fn next_stem(existing: &[Migration], name: &str) -> Result<(i64, String)> {
    let clean: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_matches('_').to_owned();
    if clean.is_empty() {
        return Err(Error::usage(format!(
            "{name:?} has no letters or digits to name a migration by"
        )));
    }
    let version = existing.last().map_or(1, |m| m.version + 1);
    Ok((version, format!("{version:04}_{clean}")))
}

/// The up file `new` writes.
pub fn up_template(version: i64, name: &str) -> String {
    format!(
        "-- {version:04} {name}: what this changes, and why.\n\
         --\n\
         -- sw-schema runs this file in one transaction, with lock_timeout and\n\
         -- statement_timeout set, and retries it when a lock is not granted in time.\n\
         -- For CREATE INDEX CONCURRENTLY (which cannot run in a transaction), make\n\
         -- the first line of this file: {NO_TRANSACTION}\n\
         -- Check it with: sw-schema lint\n"
    )
}

/// The down file `new` writes.
pub fn down_template(version: i64, name: &str) -> String {
    format!("-- Reverts {version:04} {name}: after it, the schema is as it was before the up file ran.\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_does_not_change_the_checksum_anything_else_does() {
        assert_eq!(checksum(b"a\r\nb\r\n"), checksum(b"a\nb\n"));
        assert_ne!(checksum(b"a\nb\n"), checksum(b"a\nb \n"));
        assert_ne!(checksum(b"a\rb"), checksum(b"a\nb"));
        assert_eq!(
            hex(&checksum(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("0001_users.up.sql"), Some((1, "users".into(), true)));
        assert_eq!(parse_name("12_a_b.down.sql"), Some((12, "a_b".into(), false)));
        assert_eq!(parse_name("0001_users.sql"), None);
        assert_eq!(parse_name("0000_zero.up.sql"), None);
        assert_eq!(parse_name("x1_a.up.sql"), None);
        assert_eq!(parse_name("0001_a-b.up.sql"), None);
    }

    #[test]
    fn load_pairs_and_refuse_strays() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, s: &str| std::fs::write(d.path().join(n), s).unwrap();
        w("0001_a.up.sql", "CREATE TABLE a (x int);");
        w("0001_a.down.sql", "DROP TABLE a;");
        w(
            "0002_b.up.sql",
            "-- sw:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (x);",
        );
        w("README.md", "not sql");
        let m = load(d.path()).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m[1].up.no_transaction && m[1].down.is_none());
        assert_eq!(next_stem(&m, "Add sessions!").unwrap(), (3, "0003_add_sessions".into()));
        w("0003_c.up.sql", "SELECT 1;\n-- sw:no-transaction\n");
        let e = load(d.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("0003_c.up.sql:2: unknown or misplaced directive"),
            "{e}"
        );
        w("0003_c.up.sql", "-- sw:alow x\n");
        assert!(load(d.path()).is_err());
        std::fs::remove_file(d.path().join("0003_c.up.sql")).unwrap();
        w("0004_d.down.sql", "SELECT 1;");
        assert!(load(d.path()).unwrap_err().to_string().contains("has no up file"));
        std::fs::remove_file(d.path().join("0004_d.down.sql")).unwrap();
        w("4_x.sql", "");
        assert_eq!(load(d.path()).unwrap_err().exit(), sw_core::Exit::DataErr);
    }
}
