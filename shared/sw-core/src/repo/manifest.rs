//! Backup manifests: the record of one complete base backup. A backup
//! exists (is complete) exactly when its `manifest.json` does; the catalog
//! is nothing but the set of manifests, so it can always be rebuilt.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::repo::wal::Lsn;

/// Manifest format version.
pub const MANIFEST_FORMAT: u32 = 1;

/// The manifest's file name inside a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// One stored object of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name inside the backup directory.
    pub name: String,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 of the stored bytes.
    pub sha256: String,
}

/// A complete base backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: u32,
    pub id: String,
    pub label: Option<String>,
    /// Exempt from retention.
    pub pinned: bool,
    pub system_identifier: String,
    pub pg_version_num: u32,
    pub pg_major: u32,
    pub timeline: u32,
    pub start_lsn: Lsn,
    pub stop_lsn: Lsn,
    pub start_time: DateTime<Utc>,
    pub stop_time: DateTime<Utc>,
    pub wal_segment_size: u64,
    /// First and last WAL segment the backup needs to be consistent.
    pub start_wal: String,
    pub stop_wal: String,
    /// How it was taken (`pg_basebackup`).
    pub method: String,
    /// Bytes of the cluster files (from PostgreSQL's backup_manifest).
    pub database_bytes: u64,
    /// Bytes stored in the repository.
    pub stored_bytes: u64,
    /// Every stored object (PostgreSQL's `backup_manifest` included).
    pub files: Vec<ManifestFile>,
    /// A backup stored as chunks (`full --incremental`, `--differential`,
    /// `--chunked`): its files are in [`crate::repo::chunkindex::INDEX_FILE`];
    /// absent for a tar backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunked: Option<ChunkedInfo>,
    /// The page checksum validation of the backup's relation files; None
    /// when none was done (no data checksums, `--no-page-checks`, or a
    /// backup taken before sw-backup checked pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_checks: Option<PageChecks>,
}

/// What the page checks of one backup found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PageChecks {
    /// Pages whose checksum was computed (new pages and pages written
    /// during the backup are skipped).
    pub checked: u64,
    /// Pages that failed their checksum: the backup holds corruption that
    /// is on the server's disk. At most [`MAX_BAD_PAGES`] are listed.
    pub failed: u64,
    /// Of those, the pages that could not be re-read to confirm the
    /// failure (a torn read is then not told from corruption).
    #[serde(default)]
    pub unconfirmed: u64,
    pub bad_pages: Vec<BadPage>,
}

impl PageChecks {
    /// The first five bad pages, as `relation block N` (or the file's
    /// path), for messages.
    pub fn first_bad(&self) -> Vec<String> {
        self.bad_pages
            .iter()
            .take(5)
            .map(|b| format!("{} block {}", b.relation.as_deref().unwrap_or(&b.file), b.block))
            .collect()
    }
}

/// How many bad pages a manifest lists (the count is exact).
pub const MAX_BAD_PAGES: usize = 100;

/// A page of a backup that fails its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BadPage {
    /// The file in the data directory.
    pub file: String,
    /// The database, when its name could be read.
    pub database: Option<String>,
    /// The relation (schema-qualified), when it could be resolved.
    pub relation: Option<String>,
    /// `main`, `fsm`, `vm` or `init`.
    pub fork: String,
    /// The block number in the relation.
    pub block: u32,
    /// The page's LSN as read.
    pub lsn: Lsn,
    /// The checksum in the page's header, and the one its contents give.
    pub stored_checksum: u16,
    pub computed_checksum: u16,
    /// Whether a second read from the server after the backup failed too
    /// (false: the server would not let this role read the file, so the
    /// page could not be re-read; it is reported all the same).
    pub confirmed: bool,
}

/// What a chunked backup is and what it added to the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkedInfo {
    /// `full`, `incremental` or `differential`: what it was compared with
    /// (every chunked backup restores alone, whatever its type).
    pub backup_type: String,
    /// The backup it was compared with (the previous one, or the last full
    /// for a differential); null for a full.
    pub parent: Option<String>,
    /// Bytes of the cluster files it restores.
    pub logical_bytes: u64,
    /// Distinct chunks it references.
    pub chunks: u64,
    /// Chunks this backup stored (the repository lacked them).
    pub new_chunks: u64,
    /// Bytes those chunks take in the repository.
    pub new_bytes: u64,
    /// Bytes of the files' content in chunks its parent does not reference.
    pub changed_bytes: u64,
}

/// What other tools need to know about a backup (e.g. its age).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupSummary {
    pub id: String,
    pub label: Option<String>,
    pub stop_time: DateTime<Utc>,
    pub system_identifier: String,
    pub pinned: bool,
    pub pg_major: u32,
    pub timeline: u32,
    pub stop_lsn: Lsn,
    /// Pages that failed their checksum while it was taken (None: not checked).
    pub corrupt_pages: Option<u64>,
    /// Of those, the ones that could not be re-read to confirm them.
    pub unconfirmed_pages: u64,
    /// The first of them, as `relation block N` (or the file's path).
    pub first_corrupt: Vec<String>,
}

impl BackupManifest {
    /// The summary of this backup.
    pub fn summary(&self) -> BackupSummary {
        BackupSummary {
            id: self.id.clone(),
            label: self.label.clone(),
            stop_time: self.stop_time,
            system_identifier: self.system_identifier.clone(),
            pinned: self.pinned,
            pg_major: self.pg_major,
            timeline: self.timeline,
            stop_lsn: self.stop_lsn,
            corrupt_pages: self.page_checks.as_ref().map(|p| p.failed),
            unconfirmed_pages: self.page_checks.as_ref().map_or(0, |p| p.unconfirmed),
            first_corrupt: self.page_checks.as_ref().map_or_else(Vec::new, PageChecks::first_bad),
        }
    }
}
