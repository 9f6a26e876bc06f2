//! The file list of a chunked backup (`backup/<id>/chunks.json.zst`):
//! every entry of the cluster's tar stream with what a restore needs to
//! recreate it (mode, mtime, link target) and, for a regular file, its
//! whole-file hash and every chunk (name, offset, length) in order. The
//! list is complete in every backup, whatever its type, so a restore
//! reads one index and its chunks and never walks a chain of parents.
//!
//! It is stored zstd-compressed but never encrypted: prune and a keyless
//! verify read it to know which chunks are referenced. In an encrypted
//! repository its hashes are HMACs ([`super::Repo::content_name`]), so it
//! gives away file paths, sizes and times only, like PostgreSQL's own
//! backup_manifest would.

use serde::{Deserialize, Serialize};

use std::io::Read;

use super::{Area, BackupManifest};
use crate::error::{Error, IoContext, Result};

/// The index's file name in a backup directory.
pub const INDEX_FILE: &str = "chunks.json.zst";
/// Index format version.
pub const INDEX_FORMAT: u32 = 1;
/// zstd level of the index.
const LEVEL: i32 = 3;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One chunk of a file: its name in the chunk store, where it starts in
/// the file and how long it is (a JSON array `[name, offset, length]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef(pub String, pub u64, pub u64);

impl ChunkRef {
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0
    }
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.1
    }
    #[must_use]
    pub fn len(&self) -> u64 {
        self.2
    }
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.2 == 0
    }
}

/// One entry of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Path relative to the data directory.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Modification time (seconds since the epoch), restored as recorded;
    /// never used to decide what changed.
    pub mtime: u64,
    /// Bytes of a file.
    #[serde(default)]
    pub size: u64,
    /// A file's whole-content SHA-256 (its HMAC in an encrypted repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// A symlink's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A file's chunks, in order, covering it exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<ChunkRef>,
}

/// A chunked backup's file list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkIndex {
    pub format: u32,
    /// Chunk size used when cutting files (the last chunk of a file is shorter).
    pub chunk_size: u64,
    pub entries: Vec<IndexEntry>,
}

impl ChunkIndex {
    /// Every chunk name referenced (with repeats).
    pub fn chunk_names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().flat_map(|e| e.chunks.iter().map(ChunkRef::name))
    }

    /// Bytes of the files it restores.
    #[must_use]
    pub fn logical_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// The stored form (zstd of the JSON).
    ///
    /// # Errors
    /// 70 when rendering fails.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(self).map_err(|e| Error::software("rendering the chunk index").with_source(e))?;
        zstd::encode_all(&json[..], LEVEL).io_context(|| "compressing the chunk index".into())
    }

    /// Read the stored form; `what` names it in errors.
    ///
    /// # Errors
    /// 65 when it does not decompress or parse, or its entries are inconsistent.
    pub fn decode(bytes: &[u8], what: &str) -> Result<ChunkIndex> {
        let json =
            zstd::decode_all(bytes).map_err(|e| Error::data(format!("{what} does not decompress")).with_source(e))?;
        let ix: ChunkIndex =
            serde_json::from_slice(&json).map_err(|e| Error::data(format!("{what} is malformed")).with_source(e))?;
        if ix.format != INDEX_FORMAT {
            return Err(Error::data(format!(
                "{what} has index format {}; this sw understands {INDEX_FORMAT}",
                ix.format
            )));
        }
        for e in &ix.entries {
            let mut at = 0;
            for c in &e.chunks {
                if c.offset() != at {
                    return Err(Error::data(format!(
                        "{what}: the chunks of {} do not follow each other",
                        e.path
                    )));
                }
                at += c.len();
            }
            if e.kind == EntryKind::File && at != e.size {
                return Err(Error::data(format!(
                    "{what}: the chunks of {} cover {at} bytes, the file has {}",
                    e.path, e.size
                )));
            }
        }
        Ok(ix)
    }
}

/// The file list of a chunked backup, read from the repository and checked
/// against its manifest entry.
///
/// # Errors
/// 65 when it is not the one the manifest names or does not parse;
/// 66/74 reading it.
pub fn read(area: &Area, b: &BackupManifest) -> Result<ChunkIndex> {
    let f = b
        .files
        .iter()
        .find(|f| f.name == INDEX_FILE)
        .ok_or_else(|| Error::data(format!("backup {} is chunked but names no {INDEX_FILE}", b.id)))?;
    let key = area.key(&format!("backup/{}/{INDEX_FILE}", b.id));
    let mut bytes = Vec::new();
    area.repo
        .reader(&key, f.size)?
        .read_to_end(&mut bytes)
        .io_context(|| format!("reading {key}"))?;
    let sha = super::object::sha256_hex(&bytes);
    if sha != f.sha256 {
        return Err(Error::data(format!(
            "{key} has SHA-256 {sha}, its manifest says {}",
            f.sha256
        )));
    }
    ChunkIndex::decode(&bytes, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_a_gap() {
        let mut ix = ChunkIndex {
            format: INDEX_FORMAT,
            chunk_size: 8192,
            entries: vec![IndexEntry {
                path: "base/1/1259".into(),
                kind: EntryKind::File,
                mode: 0o600,
                mtime: 1,
                size: 10,
                hash: Some("ab".into()),
                link: None,
                chunks: vec![ChunkRef("c1".into(), 0, 6), ChunkRef("c2".into(), 6, 4)],
            }],
        };
        let back = ChunkIndex::decode(&ix.encode().unwrap(), "x").unwrap();
        assert_eq!(back, ix);
        assert_eq!(back.chunk_names().collect::<Vec<_>>(), ["c1", "c2"]);
        ix.entries[0].chunks[1].1 = 7;
        let e = ChunkIndex::decode(&ix.encode().unwrap(), "x").unwrap_err();
        assert!(e.to_string().contains("do not follow"), "{e}");
    }
}
