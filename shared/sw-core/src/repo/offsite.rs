//! A second, off-site repository linked to a directory repository (issue
//! #16, feature `blob`): `wal-push` stores each segment in the directory
//! (the one PostgreSQL's acknowledgement waits for) and queues it for the
//! off-site one, which `sync` and each push, when it has time, catch up.
//!
//! The link is `<repo>/offsite.env`: the variables that name a repository
//! to every sw-backup command (`SW_BACKUP_REPO`, `SW_AZURE_*`,
//! `SW_BACKUP_KEY_FILE` or `SW_BACKUP_PASSPHRASE_FILE`), copied in by
//! `setup --offsite FILE` with paths made absolute. It holds file names,
//! never a secret, so the repository describes itself: archive_command
//! stays `wal-push --repo DIR %p`.
//!
//! The queue is `<area>/offsite-queue/`, one empty file per WAL object
//! waiting (the object's file name; its mtime is when the primary stored
//! it). It is what measures the lag while the off-site is unreachable;
//! `sync` also compares both repositories' listings, so an entry lost in a
//! crash loses nothing.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{Area, Repo};
use crate::cli::{BlobOpts, KeyOpts, RepoOpts};
use crate::config::Env;
use crate::envfile::EnvFile;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, q};

/// The link file in the primary repository's root.
pub const LINK_FILE: &str = "offsite.env";
/// The queue directory in each area of the primary repository.
pub const QUEUE_DIR: &str = "offsite-queue";

/// Variables a link may hold; every other one is refused (a typo, or a
/// secret that belongs in the credentials file).
const VARS: [&str; 6] = [
    "SW_BACKUP_REPO",
    "SW_AZURE_BLOB_ENDPOINT",
    "SW_AZURE_CREDENTIALS",
    "SW_AZURE_CA_FILE",
    crate::cli::KEY_FILE_ENV,
    crate::cli::PASSPHRASE_FILE_ENV,
];
/// Those naming files (made absolute when linked).
const FILE_VARS: [&str; 4] = [
    "SW_AZURE_CREDENTIALS",
    "SW_AZURE_CA_FILE",
    crate::cli::KEY_FILE_ENV,
    crate::cli::PASSPHRASE_FILE_ENV,
];

/// The off-site repository a primary names.
#[derive(Debug, Clone)]
pub struct Link {
    /// How to reach it, as the flags would say.
    pub opts: RepoOpts,
    /// Its key variables (read as a command reads the environment).
    env: Env,
}

impl Link {
    /// Parse a link (or the file `setup --offsite` is given); relative
    /// paths are taken from `base`.
    ///
    /// # Errors
    /// 78 for an unknown variable, a missing or non-`azure://` repository.
    pub fn parse(file: &EnvFile, base: &Path, what: &str) -> Result<Link> {
        let mut vars = file.vars();
        if let Some(k) = vars.keys().find(|k| !VARS.contains(&k.as_str())) {
            return Err(Error::config(format!(
                "{what}: {k} is not an off-site repository setting (allowed: {}; secrets go in the SW_AZURE_CREDENTIALS file)",
                VARS.join(", ")
            )));
        }
        for k in FILE_VARS {
            if let Some(v) = vars.get_mut(k)
                && !v.is_empty()
            {
                *v = base.join(&*v).display().to_string();
            }
        }
        let repo = vars.get("SW_BACKUP_REPO").cloned().unwrap_or_default();
        if !repo.starts_with("azure://") {
            return Err(Error::config(format!(
                "{what}: SW_BACKUP_REPO must name an azure://ACCOUNT/CONTAINER[/PREFIX] repository (got {repo:?}); an off-site copy in the same building as the first is not one"
            )));
        }
        let path = |k: &str| vars.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let opts = RepoOpts {
            repo: repo.clone().into(),
            blob: BlobOpts {
                azure_endpoint: vars.get("SW_AZURE_BLOB_ENDPOINT").cloned().filter(|v| !v.is_empty()),
                azure_credentials: path("SW_AZURE_CREDENTIALS"),
                azure_ca_file: path("SW_AZURE_CA_FILE"),
                azure_block_mib: 8,
            },
            keys: KeyOpts::default(),
        };
        Ok(Link {
            opts,
            env: Env::fixed(vars),
        })
    }

    /// The link of the directory repository `primary`, if it has one.
    ///
    /// # Errors
    /// 78 for a damaged link; I/O errors.
    pub fn of(primary: &Repo) -> Result<Option<Link>> {
        if primary.is_blob() {
            return Ok(None);
        }
        let p = primary.root.join(LINK_FILE);
        if !p.exists() {
            return Ok(None);
        }
        Link::parse(&EnvFile::read(&p)?, &primary.root, &q(&p)).map(Some)
    }

    /// Write this link into the directory repository `primary`
    /// (atomically; it holds no secret, but only the repository's users
    /// need it).
    ///
    /// # Errors
    /// 64 for a Blob primary; I/O errors.
    pub fn save(&self, primary: &Repo) -> Result<()> {
        if primary.is_blob() {
            return Err(Error::usage(format!(
                "{} is an azure:// repository; the off-site link and its queue live in a directory repository (the primary)",
                q(&primary.root)
            )));
        }
        let mut f = EnvFile::default();
        for k in VARS {
            if let Some(v) = self.env.get(k) {
                f.set(k, &v);
            }
        }
        let p = primary.root.join(LINK_FILE);
        f.write(&p)?;
        primary.adopt(&p)
    }

    /// The off-site repository's URL.
    #[must_use]
    pub fn url(&self) -> String {
        self.opts.repo.display().to_string()
    }

    /// True when the link names a key or passphrase file.
    #[must_use]
    pub fn names_key(&self) -> bool {
        self.env.get(crate::cli::KEY_FILE_ENV).is_some() || self.env.get(crate::cli::PASSPHRASE_FILE_ENV).is_some()
    }

    /// Open the off-site repository with its key (`keyless`: without one
    /// where only metadata is read).
    ///
    /// # Errors
    /// As [`Repo::open_opts`].
    pub fn open(&self, keyless: bool) -> Result<Repo> {
        Repo::open_plain(&self.opts)?.unlock_env(&self.opts.keys, keyless, &self.env)
    }

    /// The flags reaching it, the key or passphrase file as a flag (for
    /// a command that passes them on, e.g. into restore_command).
    #[must_use]
    pub fn flag_opts(&self) -> RepoOpts {
        let mut o = self.opts.clone();
        o.keys = KeyOpts {
            key_file: self.env.get(crate::cli::KEY_FILE_ENV).map(PathBuf::from),
            passphrase_file: self.env.get(crate::cli::PASSPHRASE_FILE_ENV).map(PathBuf::from),
        };
        o
    }

    /// The link's variables, as a command reads its environment (the
    /// key or passphrase file).
    #[must_use]
    pub fn env(&self) -> &Env {
        &self.env
    }
}

/// One WAL object waiting for the off-site repository.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The object's file name in the primary (`<wal name>-<sha256>.zst`).
    pub file: String,
    /// When it was queued (the primary stored it).
    pub since: SystemTime,
}

fn queue_dir(area: &Area) -> PathBuf {
    area.dir.join(QUEUE_DIR)
}

/// Queue the primary's WAL object `file` (no fsync: the entry is a hint,
/// see the module's note).
///
/// # Errors
/// I/O errors.
pub fn enqueue(area: &Area, file: &str) -> Result<()> {
    let dir = queue_dir(area);
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).io_context(|| format!("creating {}", q(&dir)))?;
        area.repo.adopt(&dir)?;
    }
    let p = dir.join(file);
    match fsutil::write_new(&p, b"", 0o640) {
        Err(e) if e.exit() != crate::Exit::CantCreat => Err(e),
        _ => Ok(()),
    }
}

/// Everything queued, oldest WAL first (names sort in WAL order).
///
/// # Errors
/// I/O errors.
pub fn queued(area: &Area) -> Result<Vec<Queued>> {
    let dir = queue_dir(area);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", q(&dir))).with_source(e)),
    };
    let mut v = Vec::new();
    for e in rd {
        let e = e.io_context(|| format!("listing {}", q(&dir)))?;
        let file = e.file_name().to_string_lossy().into_owned();
        if file.starts_with('.') {
            continue;
        }
        let since = e
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        v.push(Queued { file, since });
    }
    v.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(v)
}

/// Take an entry off the queue (gone already is fine: two drainers).
///
/// # Errors
/// I/O errors.
pub fn dequeue(area: &Area, file: &str) -> Result<()> {
    let p = queue_dir(area).join(file);
    match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(format!("removing {}", q(&p))).with_source(e))
        }
        _ => Ok(()),
    }
}

/// A file in the queue directory that drainers share (a lock, the time of
/// the last failure).
#[must_use]
pub fn queue_file(area: &Area, name: &str) -> PathBuf {
    queue_dir(area).join(name)
}

/// Run `work` (something that talks to the off-site repository) on a
/// thread and give up after `limit` (75): a report or a push must not
/// hang on a service that never answers (a stuck TLS handshake, a listing
/// that never ends). The thread is left behind; it ends with the process,
/// and every write it might still make is write-once.
///
/// # Errors
/// 75 past `limit`; `work`'s own errors.
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        Err(Error::temp(format!(
            "the off-site repository did not answer within {}s",
            limit.as_secs()
        )))
    })
}

/// How long a report waits for the off-site repository.
pub const REPORT_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);

/// The newest complete backup of the off-site repository the directory
/// repository `primary` links, for monitoring: `None` when it links none;
/// else its URL and what was found there (opened without a key, within
/// [`REPORT_LIMIT`]).
///
/// # Errors
/// The primary's own errors (66 / 65, a damaged link).
pub fn newest_offsite_backup(primary: &Path) -> Result<Option<(String, Result<Option<super::BackupSummary>>)>> {
    let Some(link) = Link::of(&Repo::open(primary)?)? else {
        return Ok(None);
    };
    let url = link.url();
    let newest = within(REPORT_LIMIT, move || link.open(true)?.newest_backup());
    Ok(Some((url, newest)))
}
