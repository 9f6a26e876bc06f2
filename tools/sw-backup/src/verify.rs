//! `sw-backup verify`: re-hash every stored object (backup files against
//! their manifests, WAL objects against the hash in their names: no
//! decompression) and check WAL continuity from each backup to the newest
//! stored segment, following timeline history files (`continuity`), and
//! the chunks of chunked backups (`verify_chunks`).
//! Every lost segment and bad object is named in its own record; any
//! problem exits 65.

use std::time::Instant;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::RepoOpts;
use sw_core::contract::Record;
use sw_core::duration::millis;
use sw_core::output::Output;
use sw_core::progress::{Meter, Progress, Unit};
use sw_core::repo::seal::Checked;
use sw_core::repo::{Area, BackupManifest, Repo};
use sw_core::{Error, Result};

/// Flags of `sw-backup verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The Azure target (`--azure`): see `sw_backup::azure`.
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub repo: RepoOpts,
    /// Hashing threads.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
}

/// What is wrong.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A stored object's size or SHA-256 differs from what was recorded.
    BadObject,
    /// A stored object cannot be read (gone, or unreadable).
    MissingObject,
    /// A file in a backup directory its manifest does not name.
    ExtraObject,
    /// A WAL segment recovery from a backup needs is not stored.
    MissingSegment,
    /// A timeline history file cannot be read or parsed.
    UnreadableHistory,
    /// Two different copies are stored under one WAL name.
    ConflictingCopies,
    /// An encrypted object failed AES-GCM authentication: altered,
    /// truncated, its chunks reordered, or another object's bytes under
    /// its name (checked only with the key).
    FailedAuthentication,
    /// A chunk a chunked backup references is not stored.
    MissingChunk,
    /// A stored chunk does not decrypt, decompress or hash to its name.
    BadChunk,
}

/// One problem in the repository.
#[derive(Serialize, JsonSchema, Debug)]
pub struct Problem {
    /// The repository area (pg<major>-<system identifier>).
    pub area: String,
    pub problem: ProblemKind,
    /// The object or segment concerned.
    pub object: String,
    /// The backup concerned; null for WAL that no single backup owns.
    pub backup: Option<String>,
    /// What was found, for people.
    pub detail: String,
}

impl Record for Problem {
    const KIND: &'static str = "verify.problem";
}

/// The verification's totals, printed last.
#[derive(Serialize, JsonSchema)]
pub struct Summary {
    /// No problem found.
    ok: bool,
    /// Complete backups checked.
    backups: usize,
    /// Stored WAL files checked.
    wal_objects: usize,
    /// Stored chunks (of chunked backups) checked.
    chunks: usize,
    /// Bytes re-hashed (schema 1 called it bytes_hashed).
    hashed_bytes: u64,
    /// verify.problem records printed.
    problems: usize,
    /// The repository is encrypted.
    encrypted: bool,
    /// Every encrypted object's AES-GCM tags were checked (the key was
    /// given); false for an encrypted repository verified without its key,
    /// when only sizes, SHA-256 of the stored bytes and WAL continuity were.
    tags_checked: bool,
    duration_ms: u64,
}

impl Record for Summary {
    const KIND: &'static str = "verify.summary";
    const SCHEMA: u32 = 2;
}

/// One object to re-hash.
struct Job {
    /// Its key, read through the backend of an azure:// repository.
    key: String,
    size: u64,
    sha256: String,
    area: String,
    backup: Option<String>,
    object: String,
}

/// The name areas go by in records.
pub fn area_name(area: &Area) -> String {
    area.name.clone()
}

pub fn run(a: &VerifyArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let repo = Repo::open_opts_keyless(&a.repo)?;
    let tags_checked = repo.data_key().is_ok_and(|k| k.is_some());
    if repo.is_encrypted() && !tags_checked {
        log::warn!(
            "{} is encrypted and no key was given: checking sizes, SHA-256 of the stored (encrypted) bytes, manifests and WAL continuity, NOT the AES-GCM tags (a forged object with a matching manifest entry, or a WAL object moved under another segment's name, is not detected; give --key-file or --passphrase-file for that)",
            sw_core::fsutil::q(&repo.root)
        );
    }
    let mut out = Output::stdout(pretty);
    let mut problems = Vec::new();
    let mut jobs = Vec::new();
    let (mut nbackups, mut nwal, mut nchunks, mut chunk_bytes) = (0, 0, 0, 0);
    let open_chunks = !repo.is_encrypted() || tags_checked;
    for area in repo.areas()? {
        let backups = area.backups()?;
        let objects = area.wal_objects()?;
        nbackups += backups.len();
        nwal += objects.len();
        for b in &backups {
            problems.extend(extra_objects(&area, b));
            jobs.extend(backup_jobs(&area, b));
        }
        let an = area_name(&area);
        for o in objects.values() {
            let rel = o.path.strip_prefix(&area.dir).unwrap_or(&o.path).display().to_string();
            jobs.push(Job {
                key: o.key.clone(),
                size: o.size,
                sha256: o.sha256.clone(),
                area: an.clone(),
                backup: None,
                object: rel,
            });
        }
        problems.extend(crate::continuity::problems(&area, &objects, &backups));
        let c = crate::verify_chunks::check(&area, &backups, a.jobs, open_chunks);
        nchunks += c.chunks;
        chunk_bytes += c.hashed_bytes;
        problems.extend(c.problems);
    }
    let hashed_bytes: u64 = jobs.iter().map(|j| j.size).sum::<u64>() + chunk_bytes;
    let progress = Progress::new_meter("sw-backup", Unit::Bytes);
    progress
        .meter()
        .phase("verify: re-hashing objects", jobs.iter().map(|j| j.size).sum());
    problems.extend(rehash(&repo, &jobs, a.jobs, progress.meter()));
    drop(progress);
    for p in &problems {
        out.emit(p)?;
    }
    let n = problems.len();
    out.emit(&Summary {
        ok: n == 0,
        backups: nbackups,
        wal_objects: nwal,
        chunks: nchunks,
        hashed_bytes,
        problems: n,
        encrypted: repo.is_encrypted(),
        tags_checked,
        duration_ms: millis(t0.elapsed()),
    })?;
    if n > 0 {
        return Err(Error::data(format!(
            "verify found {n} problem(s); see the verify.problem records"
        )));
    }
    Ok(())
}

/// Files in a backup's directory its manifest does not name (someone
/// added or renamed one).
fn extra_objects(area: &Area, b: &BackupManifest) -> Vec<Problem> {
    let names: Vec<String> = if area.repo.is_blob() {
        let keys = sw_core::repo::remote::backup_keys(area).unwrap_or_default();
        let base = area.key(&format!("backup/{}/", b.id));
        keys.get(&b.id)
            .into_iter()
            .flatten()
            .filter_map(|k| k.strip_prefix(&base).map(str::to_owned))
            .collect()
    } else {
        let dir = area.backup_dir().join(&b.id);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        rd.flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    names
        .into_iter()
        .filter(|name| name != sw_core::repo::MANIFEST_FILE && !b.files.iter().any(|f| f.name == *name))
        .map(|name| Problem {
            area: area_name(area),
            problem: ProblemKind::ExtraObject,
            object: format!("backup/{}/{name}", b.id),
            backup: Some(b.id.clone()),
            detail: "not named in the backup's manifest".into(),
        })
        .collect()
}

/// The files of backup `b`, to re-hash against its manifest.
fn backup_jobs(area: &Area, b: &BackupManifest) -> Vec<Job> {
    b.files
        .iter()
        .map(|f| Job {
            key: area.key(&format!("backup/{}/{}", b.id, f.name)),
            size: f.size,
            sha256: f.sha256.clone(),
            area: area_name(area),
            backup: Some(b.id.clone()),
            object: format!("backup/{}/{}", b.id, f.name),
        })
        .collect()
}

/// Re-hash every job on `threads` threads (interleaved, so large and small
/// objects spread evenly); a problem for each one that does not match.
fn rehash(repo: &Repo, jobs: &[Job], threads: u32, meter: &Meter) -> Vec<Problem> {
    let n = usize::try_from(threads).unwrap_or(1).max(1);
    let chunks: Vec<Vec<&Job>> = (0..n).map(|i| jobs.iter().skip(i).step_by(n).collect()).collect();
    std::thread::scope(|s| {
        let hs: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|j| {
                            let p = check_one(repo, j);
                            meter.add(j.size);
                            p
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

fn check_one(repo: &Repo, j: &Job) -> Option<Problem> {
    let (problem, detail) = match repo.check_object(&j.key, j.size) {
        Ok(c) if c.size == j.size && c.sha256 == j.sha256 => match c.tags {
            None | Some(Ok(())) => return None,
            Some(Err(why)) => (ProblemKind::FailedAuthentication, why),
        },
        Ok(Checked { size, sha256: sha, .. }) => (
            ProblemKind::BadObject,
            format!(
                "{size} bytes with SHA-256 {sha}; expected {} bytes with {}",
                j.size, j.sha256
            ),
        ),
        Err(e) => (ProblemKind::MissingObject, e.to_string()),
    };
    Some(Problem {
        area: j.area.clone(),
        problem,
        object: j.object.clone(),
        backup: j.backup.clone(),
        detail,
    })
}
