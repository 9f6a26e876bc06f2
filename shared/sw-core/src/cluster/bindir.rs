//! Finding the PostgreSQL server programs: `SW_PG_BINDIR`, then `PATH`,
//! then `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`
//! (Debian keeps the server programs off `PATH`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Env;
use crate::error::{Error, Result};
use crate::fsutil::q;

/// The command that installs the server programs on Debian/Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install postgresql postgresql-contrib";

/// A directory holding initdb, pg_ctl, postgres and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindir(PathBuf);

impl Bindir {
    /// Use this directory (must contain pg_ctl).
    pub fn at(dir: &Path) -> Result<Bindir> {
        if dir.join("pg_ctl").is_file() {
            Ok(Bindir(dir.to_path_buf()))
        } else {
            Err(Error::unavailable(format!("no pg_ctl in {}", q(dir))))
        }
    }

    /// Find the server programs.
    ///
    /// # Errors
    /// 69 with the install command when none are found.
    pub fn find(explicit: Option<&Path>, env: &Env) -> Result<Bindir> {
        if let Some(d) = explicit {
            return Bindir::at(d);
        }
        if let Some(d) = env.get("SW_PG_BINDIR") {
            return Bindir::at(Path::new(&d));
        }
        if let Some(path) = env.get("PATH") {
            for dir in std::env::split_paths(&path) {
                let cand = dir.join("pg_ctl");
                if cand.is_file() && dir.join("initdb").is_file() {
                    // Resolve symlinks (e.g. /usr/local/bin/pg_ctl -> the real bindir)
                    // so sibling programs such as postgres are found next to it.
                    let real = std::fs::canonicalize(&cand).unwrap_or(cand);
                    if let Some(parent) = real.parent() {
                        return Ok(Bindir(parent.to_path_buf()));
                    }
                }
            }
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
            && out.status.success()
        {
            let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if d.join("pg_ctl").is_file() {
                return Ok(Bindir(d));
            }
        }
        if let Some(d) = newest_debian_bindir(Path::new("/usr/lib/postgresql")) {
            return Ok(Bindir(d));
        }
        Err(Error::unavailable(format!(
            "PostgreSQL server programs (initdb, pg_ctl) not found on PATH, via pg_config or in /usr/lib/postgresql/*/bin; install them with `{INSTALL_HINT}` or set SW_PG_BINDIR"
        )))
    }

    /// Path of a program in this directory.
    pub fn prog(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

fn newest_debian_bindir(root: &Path) -> Option<PathBuf> {
    let mut best: Option<(u32, PathBuf)> = None;
    for e in std::fs::read_dir(root).ok()?.flatten() {
        let Ok(v) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let bin = e.path().join("bin");
        if bin.join("pg_ctl").is_file() && best.as_ref().is_none_or(|(b, _)| v > *b) {
            best = Some((v, bin));
        }
    }
    best.map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_debian_version() {
        let d = tempfile::tempdir().unwrap();
        for v in ["9", "15", "13"] {
            let b = d.path().join(v).join("bin");
            std::fs::create_dir_all(&b).unwrap();
            std::fs::write(b.join("pg_ctl"), "").unwrap();
        }
        assert_eq!(newest_debian_bindir(d.path()).unwrap(), d.path().join("15/bin"));
    }
}
