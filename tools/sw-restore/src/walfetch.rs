//! `sw-restore wal-fetch %f %p`: the restore_command.
//!
//! Exit 0 when the file was found and written to %p; 1 when the repository
//! does not hold it (normal at the end of the archive); 126 when the stored
//! copy is corrupt or cannot be read: PostgreSQL treats codes above 125 as
//! fatal, so recovery stops instead of promoting on a truncated history.
//! Anything else that goes wrong (a missing or ambiguous repository, an
//! I/O error, even a bug) is 126 too: only "absent" may let recovery go
//! on. A usage error (bad flags, %f not a WAL name) is 64, which
//! PostgreSQL reads as absent.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use sw_core::cli::RepoOpts;
use sw_core::fsutil::{self, q};
use sw_core::repo::object::{self, ReadFailure};
use sw_core::repo::{Repo, WalName};
use sw_core::{Error, IoContext, Result};

/// Exit status when the repository does not hold the file (no stderr line).
pub const EXIT_ABSENT: u8 = 1;
/// Exit status for a corrupt or unreadable stored file, or any other
/// failure but a usage error: above 125, so PostgreSQL stops recovery.
pub const EXIT_FATAL: u8 = 126;

/// Flags of `sw-restore wal-fetch`.
#[derive(Args, Debug)]
pub struct WalFetchArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// The repository area (pg<major>-<system identifier>); needed when the repository holds several.
    #[arg(long, value_name = "NAME")]
    pub area: Option<String>,
    /// The WAL file name wanted (%f).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Where to write it (%p, relative to the data directory).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

enum Outcome {
    Found,
    Absent,
}

pub fn run(a: &WalFetchArgs) -> Result<()> {
    // A panic (its line is already on stderr) must not pass for "absent".
    let fetched = std::panic::catch_unwind(|| fetch(a)).unwrap_or_else(|_| exit_now(EXIT_FATAL));
    match fetched {
        Ok(Outcome::Found) => Ok(()),
        Ok(Outcome::Absent) => {
            log::info!("{} is not in the repository", a.name);
            exit_now(EXIT_ABSENT)
        }
        Err(e) if e.exit() == sw_core::Exit::Usage => Err(e),
        Err(e) => {
            eprintln!("sw-restore: error: {e}");
            exit_now(EXIT_FATAL)
        }
    }
}

fn fetch(a: &WalFetchArgs) -> Result<Outcome> {
    let name = WalName::parse(&a.name).map_err(|e| Error::usage(e.message().to_owned()))?;
    let repo = Repo::open_opts(&a.repo)?;
    let areas = repo.areas()?;
    let area = match &a.area {
        Some(n) => areas
            .into_iter()
            .find(|x| x.name == *n)
            .ok_or_else(|| Error::config(format!("repository {} has no area {n:?}", q(&repo.root))))?,
        None if areas.len() == 1 => areas.into_iter().next().ok_or_else(|| Error::software("no area"))?,
        None => {
            return Err(Error::config(format!(
                "repository {} holds {} areas; pass --area",
                q(&repo.root),
                areas.len()
            )));
        }
    };
    let found = area.find_wal(&name)?;
    if found.len() > 1 {
        // Two different copies under one name: which one is history is
        // unknowable here, and guessing could replay the wrong one.
        return Err(Error::data(format!(
            "the repository holds {} different copies of {}; run `sw-backup verify`",
            found.len(),
            name.name
        )));
    }
    let Some(o) = found.first() else {
        return Ok(Outcome::Absent);
    };
    let dest = a.path.clone();
    let mut tmp = fsutil::temp_for(&dest, 0o600)?;
    match object::decompress_object(&area, o, tmp.as_file_mut()) {
        Ok(_) => {}
        Err(ReadFailure::Corrupt(msg)) => return Err(Error::data(format!("{}: {msg}", name.name))),
        Err(ReadFailure::Io(e)) => return Err(e),
    }
    tmp.as_file_mut()
        .flush()
        .io_context(|| format!("writing {}", q(&dest)))?;
    tmp.persist(&dest)
        .map_err(|e| Error::io(format!("renaming into {}", q(&dest))).with_source(e.error))?;
    Ok(Outcome::Found)
}

/// The restore_command contract needs codes outside sw's exit table: 1 for
/// "absent" without an error line (the server asks for files that do not
/// exist as a matter of course), and above 125 for "fatal".
#[allow(
    clippy::disallowed_methods,
    reason = "1 without an error line and 126 are not sw exit codes, so they cannot travel back through sw_core::cli::main as an Error"
)]
fn exit_now(code: u8) -> ! {
    std::process::exit(i32::from(code))
}
