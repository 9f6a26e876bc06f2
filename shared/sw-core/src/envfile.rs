//! Env files (`KEY=value` lines, as read by systemd's EnvironmentFile=,
//! shells and dotenv libraries): read them, and rewrite them keeping every
//! line we do not own, with mode 0600 from the first byte and atomically, so
//! a reader never sees a partial file and secrets are never world-readable.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, q};
use crate::secret;

/// Keys and values of an env file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Var { key: String, value: String },
    Other(String),
}

impl EnvFile {
    /// Read an env file; a missing file is exit 66.
    pub fn read(path: &Path) -> Result<EnvFile> {
        let mut f = fsutil::open_nofollow(path)?;
        let mut text = String::new();
        f.read_to_string(&mut text)
            .io_context(|| format!("reading env file {}", q(path)))?;
        EnvFile::parse(&text).map_err(|e| e.context(format!("env file {}", q(path))))
    }

    /// Read an env file, or start an empty one if it does not exist.
    pub fn read_or_default(path: &Path) -> Result<EnvFile> {
        match EnvFile::read(path) {
            Err(e) if e.exit() == crate::Exit::NoInput && !path.exists() => Ok(EnvFile::default()),
            other => other,
        }
    }

    /// Parse env-file text.
    pub fn parse(text: &str) -> Result<EnvFile> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                lines.push(Line::Other(raw.to_owned()));
                continue;
            }
            let t = t.strip_prefix("export ").unwrap_or(t);
            let Some((k, v)) = t.split_once('=') else {
                return Err(Error::config(format!("line {}: expected KEY=value", i + 1)));
            };
            let key = k.trim().to_owned();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::config(format!("line {}: invalid key {key:?}", i + 1)));
            }
            let value = unquote(v.trim())
                .ok_or_else(|| Error::config(format!("line {}: unterminated quote in value of {key}", i + 1)))?;
            if key.contains("PASSWORD") || key.ends_with("_URL") || key.ends_with("DSN") {
                if let Ok(p) = crate::conninfo::parse(&value) {
                    if let Some(pw) = p.get("password") {
                        secret::register(pw);
                    }
                } else if key.contains("PASSWORD") {
                    secret::register(&value);
                }
            }
            lines.push(Line::Var { key, value });
        }
        Ok(EnvFile { lines })
    }

    /// A value; the last assignment wins, as in shells.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines.iter().rev().find_map(|l| match l {
            Line::Var { key: k, value } if k == key => Some(value.as_str()),
            _ => None,
        })
    }

    /// All variables (last assignment wins).
    pub fn vars(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for l in &self.lines {
            if let Line::Var { key, value } = l {
                m.insert(key.clone(), value.clone());
            }
        }
        m
    }

    /// Set a value, replacing it in place or appending it.
    pub fn set(&mut self, key: &str, value: &str) {
        let mut found = false;
        // Later duplicates are dropped so the file holds one truth.
        self.lines.retain_mut(|l| match l {
            Line::Var { key: k, value: v } if k == key => {
                if found {
                    return false;
                }
                *v = value.to_owned();
                found = true;
                true
            }
            _ => true,
        });
        if !found {
            self.lines.push(Line::Var {
                key: key.to_owned(),
                value: value.to_owned(),
            });
        }
    }

    /// Remove a key.
    pub fn remove(&mut self, key: &str) {
        self.lines
            .retain(|l| !matches!(l, Line::Var { key: k, .. } if k == key));
    }

    /// Render as text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            match l {
                Line::Var { key, value } => {
                    s.push_str(key);
                    s.push('=');
                    s.push_str(&quote(value));
                }
                Line::Other(o) => s.push_str(o),
            }
            s.push('\n');
        }
        s
    }

    /// Write atomically with mode 0600; refuses a symlink at `path`.
    ///
    /// A file that exists keeps its owner and group (when we may set them):
    /// an application reading its own 0600 env file must still be able to
    /// after a tool running as root rewrote it.
    pub fn write(&self, path: &Path) -> Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::MetadataExt;
        fsutil::refuse_symlink(path)?;
        let owner = std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid()));
        let mut tmp = fsutil::temp_for(path, 0o600)?;
        tmp.write_all(self.render().as_bytes())
            .io_context(|| format!("writing {}", q(path)))?;
        if let Some((uid, gid)) = owner {
            // Only root (or the owner itself) may; otherwise the file is ours anyway.
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid));
        }
        tmp.as_file().sync_all().io_context(|| format!("syncing {}", q(path)))?;
        tmp.persist(path)
            .map_err(|e| Error::io(format!("renaming into {}", q(path))).with_source(e.error))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fsutil::fsync_dir(dir)
    }
}

fn unquote(v: &str) -> Option<String> {
    if let Some(inner) = v.strip_prefix('\'') {
        // Single quotes: literal, as in sh; '\'' sequences join pieces.
        let inner = inner.strip_suffix('\'')?;
        return Some(inner.replace("'\\''", "'"));
    }
    if let Some(inner) = v.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(n) => out.push(n),
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        return Some(out);
    }
    // Unquoted: strip a trailing comment.
    let v = match v.find(" #") {
        Some(i) => v[..i].trim_end(),
        None => v,
    };
    Some(v.to_owned())
}

fn quote(v: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+,=".contains(c);
    if !v.is_empty() && v.chars().all(safe) {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_keeps_the_owner_and_mode_0600() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("app.env");
        std::fs::write(&p, "A=1\n").unwrap();
        // As root (CI), hand it to another user first; otherwise it stays ours.
        let (uid, gid) = if nix::unistd::geteuid().is_root() {
            (4242, 4243)
        } else {
            let m = std::fs::metadata(&p).unwrap();
            (m.uid(), m.gid())
        };
        std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
        let mut env = EnvFile::read(&p).unwrap();
        env.set("B", "2");
        env.write(&p).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid(), m.permissions().mode() & 0o777), (uid, gid, 0o600));
        assert_eq!(EnvFile::read(&p).unwrap().get("B"), Some("2"));
    }

    #[test]
    fn keeps_foreign_lines_and_roundtrips() {
        let src = "# app settings\nFOO=bar\nexport DATABASE_URL='postgresql://u:p@h/d?sslmode=verify-full&x=y'\n\nOTHER=\"a b\"\n";
        let mut f = EnvFile::parse(src).unwrap();
        assert_eq!(
            f.get("DATABASE_URL"),
            Some("postgresql://u:p@h/d?sslmode=verify-full&x=y")
        );
        assert_eq!(f.get("OTHER"), Some("a b"));
        f.set("DATABASE_URL", "postgresql://new@h/d?a=1&b=2");
        f.set("NEW_KEY", "it's");
        let text = f.render();
        assert!(text.starts_with("# app settings\nFOO=bar\n"));
        let back = EnvFile::parse(&text).unwrap();
        assert_eq!(back.get("DATABASE_URL"), Some("postgresql://new@h/d?a=1&b=2"));
        assert_eq!(back.get("NEW_KEY"), Some("it's"));
        assert_eq!(back.get("FOO"), Some("bar"));
        assert_eq!(back.get("OTHER"), Some("a b"));
    }

    #[test]
    fn bad_lines_are_config_errors() {
        assert_eq!(EnvFile::parse("JUSTAWORD\n").unwrap_err().exit(), crate::Exit::Config);
        assert!(EnvFile::parse("K='open\n").is_err());
    }
}
