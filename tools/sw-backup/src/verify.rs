//! `sw-backup verify`: re-hash every stored object (backup files against
//! their manifests, WAL objects against the hash in their names: no
//! decompression) and check WAL continuity from each backup to the newest
//! stored segment, following timeline history files. Every lost segment
//! and bad object is named in its own record; any problem exits 65.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;
use sw_core::output::Output;
use sw_core::repo::object::hash_file;
use sw_core::repo::{Repo, chain};
use sw_core::{Error, Result};

use crate::common::{RepoOpts, ms};

/// Flags of `sw-backup verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// Hashing threads.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
}

#[derive(Serialize)]
struct Problem {
    area: String,
    /// `bad_object`, `missing_object`, `extra_object`, `missing_segment`, `unreadable_history`, `conflicting_copies`.
    problem: &'static str,
    /// The object or segment concerned.
    object: String,
    backup: Option<String>,
    detail: String,
}

#[derive(Serialize)]
struct Summary {
    ok: bool,
    backups: usize,
    wal_objects: usize,
    bytes_hashed: u64,
    problems: usize,
    duration_ms: u64,
}

struct Job {
    path: PathBuf,
    size: u64,
    sha256: String,
    area: String,
    backup: Option<String>,
    object: String,
}

/// How many stored objects each WAL name has (normally one).
fn copies_per_name(wal: &std::path::Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    let mut dirs = vec![wal.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if d == wal {
                    dirs.push(p);
                }
                continue;
            }
            if let Some((name, _)) = sw_core::repo::parse_object_name(&e.file_name().to_string_lossy()) {
                *m.entry(name.name).or_insert(0) += 1;
            }
        }
    }
    m
}

pub fn run(a: &VerifyArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let repo = Repo::open(&a.repo.repo)?;
    let mut out = Output::stdout(pretty);
    let mut problems = Vec::new();
    let mut jobs = Vec::new();
    let (mut nbackups, mut nwal) = (0, 0);
    for area in repo.areas()? {
        let an = area
            .dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let backups = area.backups()?;
        let objects = area.wal_objects()?;
        nbackups += backups.len();
        nwal += objects.len();
        for b in &backups {
            // Files the manifest does not name (someone added or renamed one).
            let dir = area.backup_dir().join(&b.id);
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name != sw_core::repo::MANIFEST_FILE && !b.files.iter().any(|f| f.name == name) {
                        problems.push(Problem {
                            area: an.clone(),
                            problem: "extra_object",
                            object: format!("backup/{}/{name}", b.id),
                            backup: Some(b.id.clone()),
                            detail: "not named in the backup's manifest".into(),
                        });
                    }
                }
            }
            for f in &b.files {
                jobs.push(Job {
                    path: area.backup_dir().join(&b.id).join(&f.name),
                    size: f.size,
                    sha256: f.sha256.clone(),
                    area: an.clone(),
                    backup: Some(b.id.clone()),
                    object: format!("backup/{}/{}", b.id, f.name),
                });
            }
        }
        for o in objects.values() {
            let rel = o.path.strip_prefix(&area.dir).unwrap_or(&o.path).display().to_string();
            jobs.push(Job {
                path: o.path.clone(),
                size: o.size,
                sha256: o.sha256.clone(),
                area: an.clone(),
                backup: None,
                object: rel,
            });
        }
        // Two different copies stored under one WAL name (the pushes of
        // old versions could race): restores refuse such a file.
        for (name, n) in copies_per_name(&area.wal_dir()) {
            if n > 1 {
                problems.push(Problem {
                    area: an.clone(),
                    problem: "conflicting_copies",
                    object: name.clone(),
                    backup: None,
                    detail: format!("{n} different copies of {name} are stored; keep the one the server wrote and move the others away"),
                });
            }
        }
        let histories = match area.histories_in(&objects) {
            Ok(h) => h,
            Err(e) => {
                problems.push(Problem {
                    area: an.clone(),
                    problem: "unreadable_history",
                    object: "wal/*.history".into(),
                    backup: None,
                    detail: e.to_string(),
                });
                Default::default()
            }
        };
        let mut seen = BTreeSet::new();
        for b in &backups {
            let c = match chain::walk(&area, &objects, &histories, b, None) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(Problem {
                        area: an.clone(),
                        problem: "unreadable_history",
                        object: format!("timeline of backup {}", b.id),
                        backup: Some(b.id.clone()),
                        detail: e.to_string(),
                    });
                    continue;
                }
            };
            let seg = area.info.wal_segment_size;
            let stop_segno = sw_core::repo::wal::stop_segno(b.start_lsn, b.stop_lsn, seg);
            if c.last_segno.is_none_or(|l| l < stop_segno) && c.missing.is_empty() {
                problems.push(Problem {
                    area: an.clone(),
                    problem: "missing_segment",
                    object: b.stop_wal.clone(),
                    backup: Some(b.id.clone()),
                    detail: format!("backup {} needs WAL up to {} to be consistent", b.id, b.stop_wal),
                });
            }
            // A pinned backup outlives the WAL after it (prune keeps only
            // what makes it consistent): check its own range only.
            let own_end = sw_core::repo::wal::segment_name(c.timeline, stop_segno, seg);
            for m in c.missing {
                if b.pinned && m.get(8..) > own_end.get(8..) {
                    continue;
                }
                if seen.insert(m.clone()) {
                    problems.push(Problem {
                        area: an.clone(),
                        problem: "missing_segment",
                        object: m.clone(),
                        backup: Some(b.id.clone()),
                        detail: format!(
                            "WAL segment {m} is missing: no restore from backup {} can pass it",
                            b.id
                        ),
                    });
                }
            }
        }
    }
    let bytes: u64 = jobs.iter().map(|j| j.size).sum();
    let n = usize::try_from(a.jobs).unwrap_or(1).max(1);
    let chunks: Vec<Vec<&Job>> = (0..n).map(|i| jobs.iter().skip(i).step_by(n).collect()).collect();
    let results: Vec<Problem> = std::thread::scope(|s| {
        let hs: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut v = Vec::new();
                    for j in chunk {
                        let (problem, detail) = match hash_file(&j.path) {
                            Ok((size, sha)) if size == j.size && sha == j.sha256 => continue,
                            Ok((size, sha)) => (
                                "bad_object",
                                format!(
                                    "{size} bytes with SHA-256 {sha}; expected {} bytes with {}",
                                    j.size, j.sha256
                                ),
                            ),
                            Err(e) => ("missing_object", e.to_string()),
                        };
                        v.push(Problem {
                            area: j.area.clone(),
                            problem,
                            object: j.object.clone(),
                            backup: j.backup.clone(),
                            detail,
                        });
                    }
                    v
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    problems.extend(results);
    for p in &problems {
        out.record("verify.problem", p)?;
    }
    let n = problems.len();
    out.record(
        "verify.summary",
        &Summary {
            ok: n == 0,
            backups: nbackups,
            wal_objects: nwal,
            bytes_hashed: bytes,
            problems: n,
            duration_ms: ms(t0.elapsed()),
        },
    )?;
    if n > 0 {
        return Err(Error::data(format!(
            "verify found {n} problem(s); see the verify.problem records"
        )));
    }
    Ok(())
}
