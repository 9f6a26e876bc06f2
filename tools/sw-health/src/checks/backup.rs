//! `backup_age`: how long ago the newest complete backup in `--backup-repo`
//! (an sw-backup repository) finished, and `backup_pages`: how many of its
//! pages failed their checksum while it was taken (corruption on the
//! server's disk, found by sw-backup). Both read the repository, not the
//! server, so their own module; without `--backup-repo` they do not apply.

use std::path::Path;

use serde_json::json;
use sw_core::fsutil::q;
use sw_core::health::Status;
use sw_core::repo::BackupSummary;

use super::{Check, How, Measured, Scope};
use crate::check::runner::Runner;

pub const BACKUP_AGE: Check = Check {
    name: "backup_age",
    unit: "s",
    warn: Some(93600.0),
    crit: Some(180_000.0),
    below: false,
    scope: Scope::Client,
    help: "age of the newest complete backup in --backup-repo",
    how: How::Own,
};

pub const BACKUP_PAGES: Check = Check {
    name: "backup_pages",
    unit: "pages",
    warn: None,
    crit: Some(0.0),
    below: false,
    scope: Scope::Client,
    help: "pages of the newest backup in --backup-repo that failed their checksum, confirmed by a re-read (disk corruption; unconfirmed ones are a WARNING)",
    how: How::Own,
};

pub fn run(r: &mut Runner<'_>, repo: Option<&Path>) {
    let (age, pages) = (r.wants(&BACKUP_AGE), r.wants(&BACKUP_PAGES));
    if !age && !pages {
        return;
    }
    let Some(repo) = repo else {
        for (c, wanted) in [(&BACKUP_AGE, age), (&BACKUP_PAGES, pages)] {
            if wanted {
                r.skip(c);
            }
        }
        return;
    };
    let newest = sw_core::repo::newest_complete_backup(repo);
    if pages {
        corrupt_pages(r, repo, &newest);
    }
    if !age {
        return;
    }
    match newest {
        Ok(Some(b)) => {
            let age = age_of(&b);
            let mut details = json!({"backup": b.id, "stop_time": sw_core::output::rfc3339(b.stop_time),
                                     "label": b.label, "repository": repo});
            let mut m = Measured::new(
                Some(age),
                format!("newest complete backup {} finished {age:.0} s ago", b.id),
                json!(null),
            );
            offsite(repo, age, &mut m, &mut details);
            m.details = details;
            r.push(&BACKUP_AGE, None, m);
        }
        Ok(None) => {
            let m = Measured::new(
                None,
                format!("no complete backup in {}", q(repo)),
                json!({"repository": repo}),
            );
            r.push(&BACKUP_AGE, None, m.floor(Status::Critical));
        }
        Err(e) => r.unknown(&BACKUP_AGE, None, e.to_string()),
    }
}

fn age_of(b: &BackupSummary) -> f64 {
    ((chrono::Utc::now() - b.stop_time).num_milliseconds() as f64 / 1000.0).max(0.0)
}

/// The off-site repository the primary links (sw-backup setup --offsite):
/// its newest backup is judged too, so a region-failure copy that fell
/// behind shows; the value becomes the older of the two ages. An
/// unreachable off-site repository is a WARNING at least.
fn offsite(repo: &Path, age: f64, m: &mut Measured, details: &mut serde_json::Value) {
    let (url, found) = match sw_core::repo::offsite::newest_offsite_backup(repo) {
        Ok(Some(v)) => v,
        Ok(None) => return,
        Err(e) => {
            m.message.push_str(&format!("; the off-site link: {e}"));
            m.at_least = m.at_least.worst(Status::Warning);
            return;
        }
    };
    match found {
        Ok(Some(b)) => {
            let off = age_of(&b);
            details["offsite"] = json!({"repository": url, "backup": b.id,
                                        "stop_time": sw_core::output::rfc3339(b.stop_time), "age_s": off});
            if off > age {
                m.value = Some(off);
                m.message = format!("{}; off-site, the newest is {} from {off:.0} s ago", m.message, b.id);
            }
        }
        Ok(None) => {
            details["offsite"] = json!({"repository": url, "backup": null});
            m.message.push_str(&format!("; no complete backup off-site in {url}"));
            m.at_least = m.at_least.worst(Status::Critical);
        }
        Err(e) => {
            details["offsite"] = json!({"repository": url, "error": e.to_string()});
            m.message.push_str(&format!("; the off-site repository {url}: {e}"));
            m.at_least = m.at_least.worst(Status::Warning);
        }
    }
}

fn corrupt_pages(r: &mut Runner<'_>, repo: &Path, newest: &sw_core::Result<Option<BackupSummary>>) {
    let b = match newest {
        Ok(Some(b)) => b,
        Ok(None) => {
            // No backup is backup_age's finding; nothing here to judge.
            let m = Measured::new(
                None,
                format!("no complete backup in {} whose pages could be judged", q(repo)),
                json!({"repository": repo}),
            );
            r.push(&BACKUP_PAGES, None, m);
            return;
        }
        Err(e) => {
            r.unknown(&BACKUP_PAGES, None, e.to_string());
            return;
        }
    };
    let message = match b.corrupt_pages {
        None => format!(
            "the pages of backup {} were not checked (no data checksums, or --no-page-checks)",
            b.id
        ),
        Some(0) => format!("every page of backup {} passed its checksum", b.id),
        Some(n) if b.unconfirmed_pages == 0 => format!(
            "backup {} holds {n} page(s) that failed their checksum: {}",
            b.id,
            b.first_corrupt.join(", ")
        ),
        Some(n) => format!(
            "backup {} holds {n} page(s) that failed their checksum, {} of them not confirmed by a re-read (the role may not read the files: a torn read is not told from corruption): {}",
            b.id,
            b.unconfirmed_pages,
            b.first_corrupt.join(", ")
        ),
    };
    // Only confirmed failures are CRITICAL; unconfirmed ones a WARNING.
    let confirmed = b.corrupt_pages.map(|n| n.saturating_sub(b.unconfirmed_pages));
    let m = Measured::new(
        confirmed.map(|n| n as f64),
        message,
        json!({"backup": b.id, "pages": b.first_corrupt, "unconfirmed": b.unconfirmed_pages, "repository": repo}),
    );
    let m = if b.unconfirmed_pages > 0 {
        m.floor(Status::Warning)
    } else {
        m
    };
    r.push(&BACKUP_PAGES, None, m);
}
