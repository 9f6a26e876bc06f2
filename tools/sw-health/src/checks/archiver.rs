//! `archiver`: WAL files waiting to be archived, and whether archiving is
//! failing. Whether it runs at all depends on `archive_mode` and the role
//! (off: OK without a query; a standby archives only with `always`), so
//! its own module.

use serde_json::json;
use sw_core::health::Status;

use super::server::Server;
use super::{Check, How, Measured, Row, Scope};
use crate::check::runner::Runner;
use crate::check::session::Sess;

pub const ARCHIVER: Check = Check {
    name: "archiver",
    unit: "files",
    warn: Some(10.0),
    crit: Some(100.0),
    below: false,
    scope: Scope::Cluster,
    help: "WAL files ready to archive; a failing archive_command is CRITICAL",
    how: How::Own,
};

const SQL: &str = "SELECT archived_count, failed_count, extract(epoch from clock_timestamp() - last_archived_time), \
     (last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)), \
     coalesce(last_failed_wal, ''), \
     (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') FROM pg_stat_archiver";

pub async fn run(r: &mut Runner<'_>, s: &mut Sess, srv: &Server) {
    if !r.wants(&ARCHIVER) {
        return;
    }
    let mode = srv.archive_mode.as_str();
    if mode == "off" {
        let m = Measured::new(Some(0.0), "archive_mode is off", json!({"archive_mode": "off"}));
        r.push(&ARCHIVER, None, m);
    } else if srv.standby && mode != "always" {
        r.skip(&ARCHIVER);
    } else {
        r.sql(s, &ARCHIVER, None, SQL, |rows| judge(rows, mode)).await;
    }
}

fn judge(rows: &[Row], mode: &str) -> Measured {
    let row = Row::first(rows);
    let failing = row.flag(3);
    let ready = row.num(5).unwrap_or(0.0);
    let msg = if failing {
        format!(
            "archiving failing ({} failures, last on {}); {ready:.0} files ready",
            row.text(1),
            row.text(4)
        )
    } else {
        format!("{ready:.0} WAL files ready to archive")
    };
    let m = Measured::new(
        Some(ready),
        msg,
        json!({"archive_mode": mode, "archived_count": row.num(0), "failed_count": row.num(1),
               "last_archived_age_s": row.num(2), "failing": failing,
               "last_failed_wal": row.nonempty(4)}),
    );
    if failing { m.floor(Status::Critical) } else { m }
}
