//! `backup_age`: how long ago the newest complete backup in `--backup-repo`
//! (an sw-backup repository) finished. Reads the repository, not the
//! server, so its own module; without `--backup-repo` it does not apply.

use std::path::Path;

use serde_json::json;
use sw_core::fsutil::q;
use sw_core::health::Status;

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

pub fn run(r: &mut Runner<'_>, repo: Option<&Path>) {
    if !r.wants(&BACKUP_AGE) {
        return;
    }
    let Some(repo) = repo else {
        r.skip(&BACKUP_AGE);
        return;
    };
    match sw_core::repo::newest_complete_backup(repo) {
        Ok(Some(b)) => {
            let age = (chrono::Utc::now() - b.stop_time).num_milliseconds() as f64 / 1000.0;
            let m = Measured::new(
                Some(age.max(0.0)),
                format!("newest complete backup {} finished {age:.0} s ago", b.id),
                json!({"backup": b.id, "stop_time": sw_core::output::rfc3339(b.stop_time),
                       "label": b.label, "repository": repo}),
            );
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
