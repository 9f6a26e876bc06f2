//! Copying into the off-site repository a directory repository links to
//! (`sw_core::repo::offsite`): WAL objects and whole backups, read from the
//! primary (checked against their names and manifests), re-sealed for the
//! off-site repository and written the way a push or a backup there would
//! write them, manifest last. The two repositories need not share a key:
//! what crosses is the compressed plaintext, encrypted again under the
//! off-site key and named by it (a plain primary, an encrypted off-site
//! is the usual pair; an encrypted primary needs an encrypted off-site).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use sw_core::fsutil::{self, q};
use sw_core::progress::Meter;
use sw_core::repo::chunkindex::{self, INDEX_FILE};
use sw_core::repo::chunks::Chunks;
use sw_core::repo::object::{self, HashReader};
use sw_core::repo::offsite::{self, Link};
use sw_core::repo::{Area, BackupManifest, WalKind, WalObject, parse_object_name};
use sw_core::{Error, IoContext, Result};

use crate::full;

/// A primary area and its off-site counterpart.
pub(crate) struct Pair {
    pub primary: Area,
    pub offsite: Area,
    pub link: Link,
}

/// The off-site counterpart of `primary` (created with its area when
/// missing), or `None` when the repository links none. Blob requests stop
/// at `deadline`.
///
/// # Errors
/// 64 for an encrypted primary linked to a plain off-site; the client's codes.
pub(crate) fn pair(primary: &Area, deadline: Option<Instant>) -> Result<Option<Pair>> {
    let Some(link) = Link::of(&primary.repo)? else {
        return Ok(None);
    };
    let repo = link
        .open(false)
        .map_err(|e| e.context(format!("the off-site repository {}", link.url())))?
        .with_deadline(deadline);
    if primary.repo.is_encrypted() && !repo.is_encrypted() {
        return Err(Error::usage(format!(
            "{} is encrypted but its off-site repository {} is not: copying would store the plaintext off-site; link an encrypted one",
            q(&primary.repo.root),
            link.url()
        )));
    }
    let i = &primary.info;
    let offsite = repo.ensure_area(&i.system_identifier, i.pg_major, i.wal_segment_size)?;
    Ok(Some(Pair {
        primary: primary.clone(),
        offsite,
        link,
    }))
}

/// The off-site area of `primary` opened without a key (metadata only),
/// for reports.
///
/// # Errors
/// 64 when nothing is linked; the client's codes.
pub(crate) fn offsite_area(primary: &Area) -> Result<Area> {
    let link = Link::of(&primary.repo)?.ok_or_else(|| Error::usage("no off-site repository is linked"))?;
    let repo = link.open(true)?;
    let i = &primary.info;
    repo.area_required(&i.system_identifier, i.pg_major)
}

/// Read a whole stored object, checked against the SHA-256 it is named or
/// listed with.
fn read_checked(area: &Area, key: &str, size: u64, sha256: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    area.repo
        .reader(key, size)?
        .read_to_end(&mut bytes)
        .io_context(|| format!("reading {key}"))?;
    let got = object::sha256_hex(&bytes);
    if got != sha256 {
        return Err(Error::data(format!(
            "{}/{key} is corrupt (SHA-256 {got}, expected {sha256}); not copied off-site: run `sw-backup verify`",
            area.repo.root.display()
        )));
    }
    Ok(bytes)
}

/// Copy one WAL object; the bytes stored off-site (0 when a copy of that
/// file is there already).
///
/// # Errors
/// 65 for a corrupt primary object; the client's codes.
pub(crate) fn copy_wal(p: &Pair, o: &WalObject) -> Result<u64> {
    if !p.offsite.find_wal(&o.name)?.is_empty() {
        return Ok(0);
    }
    let stored = read_checked(&p.primary, &o.key, o.size, &o.sha256)?;
    let mut zst = Vec::new();
    let seal = p.primary.repo.seal_for(&p.primary.wal_object_id(&o.name))?;
    sw_core::repo::seal::unseal(seal, Box::new(std::io::Cursor::new(stored)))?
        .read_to_end(&mut zst)
        .map_err(|e| sw_core::crypt::error_from_io(e).context(format!("reading {}", o.key)))?;
    let seal = p.offsite.repo.seal_for(&p.offsite.wal_object_id(&o.name))?;
    let (bytes, size, sha) = object::seal_vec(zst, seal)?;
    let sub = o.name.dir().map_or_else(String::new, |d| format!("{d}/"));
    let key = p.offsite.key(&format!("wal/{sub}{}-{sha}.zst", o.name.name));
    sw_core::repo::remote::put_once(&p.offsite.repo, &key, &bytes)?;
    Ok(size)
}

/// What draining the queue did.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    /// Objects copied, and their bytes off-site.
    pub copied: u64,
    pub bytes: u64,
    /// Entries whose object the primary no longer holds (pruned there).
    pub gone: u64,
}

/// Copy queued WAL, oldest first, until the queue is empty or `until`.
///
/// # Errors
/// The first copy that fails (what was copied stays copied and dequeued).
pub(crate) fn drain(p: &Pair, until: Option<Instant>, meter: &Meter) -> Result<Drained> {
    let mut d = Drained::default();
    let q = offsite::queued(&p.primary)?;
    meter.phase(&format!("off-site: {} queued WAL object(s)", q.len()), 0);
    for e in q {
        if until.is_some_and(|u| Instant::now() >= u) {
            break;
        }
        let Some((name, sha)) = parse_object_name(&e.file) else {
            log::warn!("ignoring {} in the off-site queue (not a WAL object name)", e.file);
            offsite::dequeue(&p.primary, &e.file)?;
            continue;
        };
        match p.primary.find_wal(&name)?.into_iter().find(|o| o.sha256 == sha) {
            Some(o) => {
                let n = copy_wal(p, &o)?;
                d.copied += u64::from(n > 0);
                d.bytes += n;
                meter.add(o.size);
            }
            None => {
                log::warn!(
                    "{} left the primary repository before reaching the off-site one",
                    name.name
                );
                d.gone += 1;
            }
        }
        offsite::dequeue(&p.primary, &e.file)?;
    }
    Ok(d)
}

/// Copy every WAL object of the primary the off-site lacks, from the
/// oldest off-site backup's start on (what the off-site's own prune
/// removed is not brought back); timeline histories always. Returns the
/// objects and bytes copied.
///
/// # Errors
/// The first copy that fails.
pub(crate) fn reconcile_wal(p: &Pair, meter: &Meter) -> Result<(u64, u64)> {
    let seg = p.primary.info.wal_segment_size;
    let floor = p
        .offsite
        .backups()?
        .iter()
        .map(|b| b.start_lsn.segno(seg))
        .min()
        .unwrap_or(0);
    let there = p.offsite.wal_objects()?;
    let missing: Vec<WalObject> = p
        .primary
        .wal_objects()?
        .into_iter()
        .filter(|(name, o)| {
            (o.name.kind == WalKind::History || o.name.segno(seg) >= floor) && !there.contains_key(name)
        })
        .map(|(_, o)| o)
        .collect();
    meter.phase("off-site: WAL the queue missed", missing.iter().map(|o| o.size).sum());
    let (mut n, mut bytes) = (0, 0);
    for o in &missing {
        bytes += copy_wal(p, o)?;
        n += 1;
        meter.add(o.size);
    }
    Ok((n, bytes))
}

/// Copy a complete backup (its files, a chunked one's new chunks, then
/// its manifest). Returns the bytes stored off-site, `None` when it is
/// there already.
///
/// # Errors
/// 65 for a primary object that does not match its manifest; the client's codes.
pub(crate) fn copy_backup(p: &Pair, m: &BackupManifest, meter: &Meter) -> Result<Option<u64>> {
    if p.offsite.backups()?.iter().any(|b| b.id == m.id) {
        return Ok(None);
    }
    meter.phase(&format!("off-site: backup {}", m.id), m.stored_bytes);
    // What an interrupted copy of this id left (invisible without its manifest).
    for (id, keys) in sw_core::repo::remote::backup_keys(&p.offsite)? {
        if id == m.id {
            for k in keys {
                sw_core::repo::remote::delete(&p.offsite.repo, &k)?;
            }
        }
    }
    let spool = full::Spool::new(&p.offsite, &m.id)?;
    let mut chunk_bytes = 0;
    for f in &m.files {
        if m.chunked.is_some() && f.name == INDEX_FILE {
            chunk_bytes = copy_chunks(p, m, &spool.dir, meter)?;
        } else {
            unseal_into(p, m, f, &spool.dir)?;
        }
        meter.add(f.size);
    }
    full::seal_spool(&p.offsite, &m.id, &spool.dir)?;
    let files = full::hash_files(&spool.dir)?;
    let stored: u64 = files.iter().map(|f| f.size).sum();
    let copy = BackupManifest {
        stored_bytes: stored + chunk_bytes,
        files,
        ..m.clone()
    };
    full::upload(&p.offsite, &spool.dir, &copy)?;
    Ok(Some(copy.stored_bytes))
}

/// One backup file's compressed plaintext into the spool, checked
/// against the manifest on the way.
fn unseal_into(p: &Pair, m: &BackupManifest, f: &sw_core::repo::ManifestFile, dir: &Path) -> Result<()> {
    let key = p.primary.key(&format!("backup/{}/{}", m.id, f.name));
    let mut hashed = HashReader::new(p.primary.repo.reader(&key, f.size)?);
    let to = dir.join(&f.name);
    {
        let seal = p.primary.repo.seal_for(&key)?;
        let mut plain = sw_core::repo::seal::unseal(seal, Box::new(&mut hashed))?;
        let mut out = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create_new(&to).io_context(|| format!("creating {}", q(&to)))?,
        );
        std::io::copy(&mut plain, &mut out)
            .map_err(|e| sw_core::crypt::error_from_io(e).context(format!("copying {key}")))?;
        out.into_inner()
            .map_err(|e| Error::io(format!("writing {}", q(&to))).with_source(e.into_error()))?;
    }
    let (size, sha) = hashed.finish();
    if (size, sha.as_str()) != (f.size, f.sha256.as_str()) {
        return Err(Error::data(format!(
            "{}/{key} does not match backup {}'s manifest; not copied off-site: run `sw-backup verify`",
            p.primary.repo.root.display(),
            m.id
        )));
    }
    Ok(())
}

/// A chunked backup's chunks the off-site lacks, and its file list
/// renamed for the off-site key, written into the spool. Returns the
/// chunk bytes stored.
fn copy_chunks(p: &Pair, m: &BackupManifest, dir: &Path, meter: &Meter) -> Result<u64> {
    let mut ix = chunkindex::read(&p.primary, m)?;
    let (src, dst) = (Chunks::new(&p.primary), Chunks::new(&p.offsite));
    let mut have: BTreeSet<String> = dst.list()?.into_keys().collect();
    // A plain primary names chunks and files by their SHA-256, from which
    // the off-site names follow; an encrypted one's HMACs must be undone
    // by reading the content.
    let plain_names = !p.primary.repo.is_encrypted();
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    let mut bytes = 0;
    for e in &mut ix.entries {
        let mut whole = (!plain_names && e.hash.is_some()).then(openssl::sha::Sha256::new);
        for c in &mut e.chunks {
            let known = renamed.get(&c.0).cloned();
            let new = match known {
                Some(n) if whole.is_none() => n,
                _ => {
                    let plain = (!plain_names || !have.contains(&p.offsite.repo.content_name(&c.0)?))
                        .then(|| src.read(&c.0, 0))
                        .transpose()?;
                    if let (Some(h), Some(b)) = (whole.as_mut(), plain.as_ref()) {
                        h.update(b);
                    }
                    let n = match &plain {
                        Some(b) => dst.name_of(b)?,
                        None => p.offsite.repo.content_name(&c.0)?,
                    };
                    if let Some(b) = plain
                        && have.insert(n.clone())
                    {
                        let stored = dst.encode(&n, &b, 1)?;
                        bytes += stored.len() as u64;
                        dst.put(&n, &stored)?;
                        meter.add(stored.len() as u64);
                    }
                    renamed.insert(c.0.clone(), n.clone());
                    n
                }
            };
            c.0 = new;
        }
        e.hash = match (whole, &e.hash) {
            (Some(h), _) => Some(p.offsite.repo.content_name(&object::hex(&h.finish()))?),
            (None, Some(h)) => Some(p.offsite.repo.content_name(h)?),
            (None, None) => None,
        };
    }
    fsutil::write_new(&dir.join(INDEX_FILE), &ix.encode()?, 0o640)?;
    Ok(bytes)
}

/// How far the off-site repository is behind, from the queue alone (so
/// it is known while the off-site cannot be reached).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lag {
    /// WAL objects waiting.
    pub segments: u64,
    /// Since the oldest of them was stored in the primary.
    pub seconds: f64,
}

/// The queue's lag.
///
/// # Errors
/// I/O errors.
pub(crate) fn lag(primary: &Area) -> Result<Lag> {
    let q = offsite::queued(primary)?;
    let oldest = q.iter().map(|e| e.since).min();
    Ok(Lag {
        segments: q.len() as u64,
        seconds: oldest.map_or(0.0, |t| {
            SystemTime::now()
                .duration_since(t)
                .unwrap_or(Duration::ZERO)
                .as_secs_f64()
        }),
    })
}
