//! The repository on Azure Blob Storage (feature `blob`, issue #16): the
//! same keys as a directory repository's paths, under
//! `azure://ACCOUNT/CONTAINER[/PREFIX]`.
//!
//! Writes are write-once (`If-None-Match: *`, see [`super::store`]); a
//! large object goes up in blocks that stay invisible until the block list
//! commits, so an interrupted upload never shows a partial object. Objects
//! are listed by prefix with marker paging (past 5,000 blobs), each WAL
//! segment's own directory prefix for a single lookup.

use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::store::{BlobStore, Put, Store};
use super::{Area, Backend, BackupManifest, MANIFEST_FILE, MARKER, Marker, REPO_FORMAT, Repo, WalObject};
use crate::blob::{Mode, Options, PutOutcome};
use crate::cli::RepoOpts;
use crate::error::{Error, Result};
use crate::fsutil::q;

/// Objects up to this size are fetched whole (a failed request keeps its
/// exit code); larger ones are streamed.
const WHOLE_MAX: u64 = 64 << 20;

/// What a new repository writes before its marker (the keyring).
pub(super) type BeforeMarker<'a> = &'a dyn Fn(&dyn Store) -> Result<()>;

/// Open (with `init`, create) the repository `opts` names.
///
/// # Errors
/// 78 without `--azure-credentials`; 66 when it is not a repository and
/// `init` is false; the client's codes.
pub(super) fn open(opts: &RepoOpts, init: bool, before_marker: Option<BeforeMarker<'_>>) -> Result<Repo> {
    let url = opts.repo.to_string_lossy().into_owned();
    let creds = opts.blob.azure_credentials.as_deref().ok_or_else(|| {
        Error::config(format!(
            "the repository {url} needs --azure-credentials FILE (an env file holding AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN)"
        ))
    })?;
    let o = Options {
        ca_file: opts.blob.azure_ca_file.clone(),
        block_size: usize::try_from(opts.blob.azure_block_mib).unwrap_or(8) << 20,
        ..Options::default()
    };
    let store = super::store::open_blob(&url, opts.blob.azure_endpoint.as_deref(), creds, o)?;
    let loc = crate::blob::Location::parse(&url)?;
    let repo = Repo {
        root: loc.to_string().into(),
        backend: Backend::Blob(Arc::new(store)),
        crypt: None,
    };
    let Backend::Blob(b) = &repo.backend else {
        return Err(Error::software("a Blob repository without a Blob store"));
    };
    let mut text = get_text(b, MARKER)?;
    if text.is_none() && init {
        match b.client.create_container() {
            Ok(_) => {}
            // A SAS scoped to the container may not create it; it exists
            // then, or the write below says what is wrong.
            Err(e) if e.exit() == crate::Exit::NoPerm => log::info!("not creating the container: {e}"),
            Err(e) => return Err(e),
        }
        if let Some(f) = before_marker {
            f(b.as_ref())?;
        }
        let m = Marker {
            format: REPO_FORMAT,
            created: Utc::now(),
        };
        let body = serde_json::to_vec_pretty(&m).map_err(|e| Error::software("rendering JSON").with_source(e))?;
        put_first(b, MARKER, &body)?;
        text = get_text(b, MARKER)?;
    }
    let text = text.ok_or_else(|| {
        Error::no_input(format!(
            "{} is not an sw backup repository (no {MARKER}; create it with `sw-backup setup`)",
            q(&repo.root)
        ))
    })?;
    let m: Marker =
        serde_json::from_str(&text).map_err(|e| Error::data(format!("{url}/{MARKER} is malformed")).with_source(e))?;
    if m.format != REPO_FORMAT {
        return Err(Error::data(format!(
            "{url} has repository format {}; this sw understands {REPO_FORMAT}",
            m.format
        )));
    }
    Ok(repo)
}

/// A small text object, or `None` when absent.
pub(super) fn get_text(b: &BlobStore, key: &str) -> Result<Option<String>> {
    match b.get(key)? {
        Some(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::data(format!("{key} in the off-site repository is not UTF-8"))),
        None => Ok(None),
    }
}

/// Write `key` unless it exists; whoever wrote it first wins (a marker or
/// area.json two hosts created at once: both are valid).
pub(super) fn put_first(b: &BlobStore, key: &str, body: &[u8]) -> Result<()> {
    match b.put_once(key, body) {
        Ok(Put::Created | Put::Same) => Ok(()),
        Err(e) if e.exit() == crate::Exit::DataErr => Ok(()),
        Err(e) => Err(e),
    }
}

/// Area names: the top-level "directories" holding an area.json.
pub(super) fn area_names(b: &BlobStore) -> Result<Vec<String>> {
    let listing = b.client.list("", Some("/"))?;
    let mut v: Vec<String> = listing
        .prefixes
        .iter()
        .map(|p| p.trim_end_matches('/').to_owned())
        .filter(|p| !p.is_empty() && !p.starts_with('.'))
        .collect();
    v.sort();
    Ok(v)
}

fn mtime(last_modified: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc2822(last_modified).map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc))
}

/// Stored WAL objects of `area` whose key continues `<area>/wal/` with
/// `sub` (a segment's directory and name, or "" for all), every copy.
pub(super) fn wal_listing(area: &Area, b: &BlobStore, sub: &str) -> Result<Vec<WalObject>> {
    let base = format!("{}/wal/", area.name);
    let mut v = Vec::new();
    for item in b.client.list(&format!("{base}{sub}"), None)?.blobs {
        let rel = &item.name[base.len()..];
        let (dir, file) = rel.rsplit_once('/').map_or(("", rel), |(d, f)| (d, f));
        let Some((name, sha256)) = super::parse_object_name(file) else {
            continue;
        };
        // Only where a directory repository would hold it.
        if name.dir().unwrap_or("") != dir {
            continue;
        }
        v.push(WalObject {
            name,
            path: area.repo.root.join(&item.name),
            key: item.name.clone(),
            sha256,
            size: item.size,
            mtime: mtime(&item.last_modified),
        });
    }
    Ok(v)
}

/// Every complete backup's manifest (a backup without one is invisible).
pub(super) fn manifests(area: &Area, b: &BlobStore) -> Result<Vec<BackupManifest>> {
    let base = format!("{}/backup/", area.name);
    let mut v = Vec::new();
    for item in b.client.list(&base, None)?.blobs {
        let rel = &item.name[base.len()..];
        let Some(id) = rel.strip_suffix(&format!("/{MANIFEST_FILE}")) else {
            continue;
        };
        if id.contains('/') || id.starts_with('.') {
            continue;
        }
        let Some(text) = get_text(b, &item.name)? else { continue };
        let m: BackupManifest = serde_json::from_str(&text).map_err(|e| {
            Error::data(format!("{}/{} is malformed", area.repo.root.display(), item.name)).with_source(e)
        })?;
        v.push(m);
    }
    Ok(v)
}

/// Keys of one backup's objects (complete or not) by backup id.
///
/// # Errors
/// The client's codes.
pub fn backup_keys(area: &Area) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    let mut m: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    let Some(b) = area.repo.blob() else { return Ok(m) };
    let base = format!("{}/backup/", area.name);
    for item in b.client.list(&base, None)?.blobs {
        if let Some((id, _)) = item.name[base.len()..].split_once('/') {
            m.entry(id.to_owned()).or_default().push(item.name.clone());
        }
    }
    Ok(m)
}

/// A reader over the object `key`.
pub(super) fn reader(b: &BlobStore, key: &str, size: u64) -> Result<Box<dyn Read + Send>> {
    if size <= WHOLE_MAX {
        return Ok(Box::new(Cursor::new(b.client.get(key)?)));
    }
    // Stream through a pipe: bounded memory for a base backup of any size;
    // the download's own error surfaces at the end of the stream.
    let (rx, mut tx) = std::io::pipe().map_err(|e| Error::io("making a pipe").with_source(e))?;
    let client = b.client.clone();
    let name = key.to_owned();
    let handle = std::thread::spawn(move || client.download(&name, &mut tx));
    Ok(Box::new(Streamed {
        rx,
        handle: Some(handle),
    }))
}

struct Streamed {
    rx: std::io::PipeReader,
    handle: Option<std::thread::JoinHandle<Result<u64>>>,
}

impl Read for Streamed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rx.read(buf)?;
        if n == 0
            && let Some(h) = self.handle.take()
        {
            match h.join() {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(std::io::Error::other(e.to_string())),
                Err(_) => return Err(std::io::Error::other("the download thread panicked")),
            }
        }
        Ok(n)
    }
}

/// Upload the local file `path` as `key`, write-once (blocks in parallel
/// for a large one, committed at the end). Returns the bytes sent.
///
/// # Errors
/// 73 when the key exists; 66/74 reading the file; the client's codes.
pub fn upload_file(repo: &Repo, key: &str, path: &Path) -> Result<u64> {
    let b = repo
        .blob()
        .ok_or_else(|| Error::software("upload_file on a directory repository"))?;
    let mut f = crate::fsutil::open_nofollow(path)?;
    let up = b.client.upload(key, &mut f, Mode::Create, &[])?;
    if up.outcome == PutOutcome::Exists {
        return Err(Error::cant_create(format!(
            "{}/{key} already exists",
            repo.root.display()
        )));
    }
    Ok(up.bytes)
}

/// Write a small object once (e.g. a WAL object named by its hash, a
/// manifest).
///
/// # Errors
/// 65 when a different object is there; the client's codes.
pub fn put_once(repo: &Repo, key: &str, data: &[u8]) -> Result<Put> {
    repo.blob()
        .ok_or_else(|| Error::software("put_once on a directory repository"))?
        .put_once(key, data)
}

/// Remove an object.
///
/// # Errors
/// The client's codes.
pub fn delete(repo: &Repo, key: &str) -> Result<bool> {
    repo.blob()
        .ok_or_else(|| Error::software("delete on a directory repository"))?
        .delete(key)
}
