//! The third job of a restore: recovery. Write the recovery settings
//! (restore_command, target, timeline; archiving off unless
//! `--as-primary`) and scrub the backup's own recovery and archive
//! settings; with `--start`, start the copy, wait until recovery pauses at
//! the target, check where it paused, promote, and report what was reached.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sw_core::cluster::{Cluster, Status, StopMode};
use sw_core::duration::millis;
use sw_core::fsutil::{self, q};
use sw_core::repo::wal::Lsn;
use sw_core::{Error, IoContext, Result};

use super::plan::Plan;
use super::{Outcome, RestoreArgs, Target};
use crate::psql::Restored;

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The recovery settings for `plan`, replacing the ones in `current`.
fn settings(
    a: &RestoreArgs,
    current: Vec<(String, String)>,
    plan: &Plan,
    restore_command: String,
    socket_dir: Option<&Path>,
) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = current
        .into_iter()
        .filter(|(k, _)| !k.starts_with("recovery_target") && k != "restore_command")
        .collect();
    let mut set = |k: &str, v: String| {
        settings.retain(|(key, _)| key != k);
        settings.push((k.to_owned(), v));
    };
    set("restore_command", restore_command);
    set("recovery_target_timeline", plan.chain.timeline.to_string());
    match &plan.target {
        Target::Time(t) => set("recovery_target_time", t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()),
        Target::Lsn(l) => set("recovery_target_lsn", l.to_string()),
        Target::Name(n) => set("recovery_target_name", n.clone()),
        Target::Immediate => set("recovery_target", "immediate".into()),
        Target::Latest => {}
    }
    if plan.target != Target::Latest {
        set(
            "recovery_target_action",
            if a.start { "pause" } else { "promote" }.into(),
        );
    }
    if !a.as_primary {
        set("archive_mode", "off".into());
    }
    if let Some(p) = a.port {
        set("port", p.to_string());
    }
    if let Some(d) = socket_dir {
        set("unix_socket_directories", d.display().to_string());
    }
    // Do not inherit a hot standby's connection to the old primary.
    set("primary_conninfo", String::new());
    settings
}

/// Configure recovery in the extracted copy; returns the socket
/// directory the copy will use, if one is set.
///
/// # Errors
/// 73/74/77 writing the settings files.
pub fn configure(
    a: &RestoreArgs,
    reach: &[(&str, String)],
    cluster: &Cluster,
    plan: &Plan,
    exe: &Path,
) -> Result<Option<PathBuf>> {
    let dest = &cluster.datadir;
    // `--repo` and, for azure://, the endpoint and the credentials and CA
    // files by name (the server's OS user reads them; no secret is written).
    let mut restore_command = format!("{} wal-fetch", sh_quote(&exe.display().to_string()));
    for (flag, v) in reach {
        restore_command.push_str(&format!(" {flag} {}", sh_quote(v)));
    }
    restore_command.push_str(&format!(" --area {} %f %p", sh_quote(&plan.area.name)));
    let socket_dir = match (&a.socket_dir, a.start) {
        (Some(d), _) => Some(std::path::absolute(d).io_context(|| format!("resolving {}", q(d)))?),
        (None, true) => Some(PathBuf::from("/tmp")),
        (None, false) => None,
    };
    let current = cluster.read_settings()?;
    cluster.write_settings(&settings(a, current, plan, restore_command, socket_dir.as_deref()))?;
    // sw-backup keeps the source's archive settings in its own file,
    // included after sw.conf: the copy must not archive into the source's
    // repository unless asked.
    let archive_conf = dest.join("sw-backup.conf");
    if !a.as_primary && archive_conf.exists() {
        fsutil::atomic_write(
            &archive_conf,
            b"# Written by sw-restore: a restored copy does not archive (see --as-primary).\narchive_mode = 'off'\n",
            0o600,
        )?;
    }
    // postgresql.auto.conf (ALTER SYSTEM, pg_basebackup -R) is read last
    // and would override what was just written: drop its recovery and
    // replication settings, and its archive settings unless --as-primary.
    scrub_auto_conf(&dest.join("postgresql.auto.conf"), !a.as_primary)?;
    for stale in [
        "postmaster.pid",
        "postmaster.opts",
        "standby.signal",
        "backup_label.old",
    ] {
        let _ = std::fs::remove_file(dest.join(stale));
    }
    fsutil::write_new(&dest.join("recovery.signal"), b"", 0o600)?;
    Ok(socket_dir)
}

/// Whether a postgresql.conf-style line sets a parameter the restore owns.
fn owned_setting(line: &str, archive: bool) -> bool {
    let key = line
        .trim_start()
        .split(|c: char| c == '=' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    key == "restore_command"
        || key.starts_with("recovery_target")
        || key == "primary_conninfo"
        || key == "primary_slot_name"
        || (archive && matches!(key.as_str(), "archive_mode" | "archive_command" | "archive_library"))
}

/// Remove the settings the restore owns from postgresql.auto.conf.
fn scrub_auto_conf(path: &Path, archive: bool) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("reading {}", q(path))).with_source(e)),
    };
    let kept: Vec<&str> = text.lines().filter(|l| !owned_setting(l, archive)).collect();
    if kept.len() == text.lines().count() {
        return Ok(());
    }
    for l in text.lines().filter(|l| owned_setting(l, archive)) {
        log::info!("dropping {:?} from {}", l.trim(), q(path));
    }
    let mut body = kept.join("\n");
    body.push('\n');
    fsutil::atomic_write(path, body.as_bytes(), 0o600)
}

/// The last FATAL or PANIC line of the server's log, if any.
fn server_log_gist(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| l.contains("FATAL") || l.contains("PANIC"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

/// Where recovery is: in recovery or not, paused, the last replayed
/// location and transaction time (empty fields are null).
const REPLAY_STATE_SQL: &str = "SELECT pg_is_in_recovery(), \
     CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE '' END, \
     coalesce(pg_last_wal_replay_lsn()::text, ''), \
     coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')";

/// One reading of [`REPLAY_STATE_SQL`].
struct ReplayState {
    in_recovery: bool,
    paused: bool,
    lsn: Option<String>,
    time: Option<String>,
}

impl ReplayState {
    fn parse(s: &str) -> ReplayState {
        let f: Vec<&str> = s.split('|').collect();
        let text = |i: usize| f.get(i).map(|s| (*s).to_owned()).filter(|s| !s.is_empty());
        ReplayState {
            in_recovery: f.first() == Some(&"t"),
            paused: f.get(1) == Some(&"paused"),
            lsn: text(2),
            time: text(3),
        }
    }
}

/// Start the copy and see recovery through: wait for the target, check
/// it, promote, and fill in what was reached.
///
/// # Errors
/// 64 without --port; 69 when the copy does not start; 65 when recovery
/// stopped short of, past, or without the target (the copy is stopped);
/// 75 when --timeout passes first.
pub fn start_and_promote(
    a: &RestoreArgs,
    cluster: &Cluster,
    plan: &Plan,
    socket_dir: &Path,
    out: &mut Outcome,
    t0: Instant,
) -> Result<()> {
    let port = a
        .port
        .ok_or_else(|| Error::usage("--start needs --port (the copy must not collide with the source)"))?;
    let log = cluster.datadir.join("log").join("sw-restore.log");
    std::fs::create_dir_all(cluster.datadir.join("log")).io_context(|| "creating the log directory".into())?;
    cluster.runner.hand_over(&cluster.datadir.join("log"))?;
    cluster.start(&log, 600).map_err(|e| {
        let gist = server_log_gist(&log);
        Error::unavailable(format!(
            "{e}{}",
            if gist.is_empty() {
                String::new()
            } else {
                format!(" ({gist})")
            }
        ))
    })?;
    out.started = true;
    let copy = Restored {
        cluster,
        socket_dir,
        port,
        user: &a.copy.superuser,
    };
    let (lsn, time) = wait_for_target(a, &copy, plan, out, t0)?;
    // After promotion (automatic at the end of WAL for --latest, or ours).
    let end = Instant::now() + Duration::from_secs(120);
    while copy.query("postgres", "SELECT pg_is_in_recovery()")? != "f" {
        if Instant::now() > end {
            return Err(Error::temp("the copy did not leave recovery within 120s of promotion"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if plan.target == Target::Latest {
        out.promoted = true;
    }
    let reached = copy.query(
        "postgres",
        "SELECT pg_current_wal_lsn(), (SELECT timeline_id FROM pg_control_checkpoint())",
    )?;
    out.reached_lsn = lsn.or_else(|| reached.split('|').next().map(str::to_owned));
    out.reached_time = time;
    out.conninfo = Some(format!(
        "host={} port={port} user={} dbname=postgres",
        socket_dir.display(),
        a.copy.superuser
    ));
    Ok(())
}

/// Poll the copy until recovery pauses at the target (then promote it) or,
/// for --latest, ends; returns the replayed location and time.
fn wait_for_target(
    a: &RestoreArgs,
    copy: &Restored<'_>,
    plan: &Plan,
    out: &mut Outcome,
    t0: Instant,
) -> Result<(Option<String>, Option<String>)> {
    let begun = Instant::now();
    let deadline = begun + a.timeout;
    loop {
        match copy.query("postgres", REPLAY_STATE_SQL) {
            Ok(s) => {
                if out.queryable_ms.is_none() {
                    out.queryable_ms = Some(millis(t0.elapsed()));
                }
                if let Some(reached) = on_state(ReplayState::parse(&s), copy, plan, out)? {
                    return Ok(reached);
                }
            }
            Err(e) => {
                if !matches!(copy.cluster.status(), Ok(Status::Running(_))) {
                    let gist = server_log_gist(&copy.cluster.datadir.join("log").join("sw-restore.log"));
                    return Err(Error::data(format!(
                        "recovery to {} failed and the server stopped: {gist}",
                        plan.target.describe()
                    )));
                }
                log::debug!("waiting for the copy: {e}");
            }
        }
        if Instant::now() >= deadline {
            let _ = copy.cluster.stop(StopMode::Fast);
            return Err(Error::temp(format!(
                "recovery did not reach {} within {}s; the copy was stopped",
                plan.target.describe(),
                a.timeout.as_secs()
            )));
        }
        // Short recoveries are the common case: look often at first.
        std::thread::sleep(Duration::from_millis(if begun.elapsed() < Duration::from_secs(10) {
            50
        } else {
            200
        }));
    }
}

/// What one reading of the replay state means: done (what was reached),
/// keep waiting (None), or a copy that must not be used (stopped, error).
fn on_state(
    st: ReplayState,
    copy: &Restored<'_>,
    plan: &Plan,
    out: &mut Outcome,
) -> Result<Option<(Option<String>, Option<String>)>> {
    if !st.in_recovery {
        if plan.target != Target::Latest {
            // We asked recovery to pause at the target; leaving
            // recovery on its own means it never got there.
            let _ = copy.cluster.stop(StopMode::Fast);
            return Err(Error::data(format!(
                "recovery ended without stopping at {} (reached {} / {}); the copy was stopped: do not use it",
                plan.target.describe(),
                st.lsn.unwrap_or_default(),
                st.time.unwrap_or_default()
            )));
        }
        return Ok(Some((st.lsn, st.time)));
    }
    if !st.paused {
        return Ok(None);
    }
    if let Err(e) = check_reached(&plan.target, st.lsn.as_deref(), st.time.as_deref()) {
        let _ = copy.cluster.stop(StopMode::Fast);
        return Err(e);
    }
    copy.query("postgres", "SELECT pg_promote(true, 300)")?;
    out.promoted = true;
    Ok(Some((st.lsn, st.time)))
}

/// Once recovery paused at its target: the replayed LSN must have reached
/// an LSN target, and no transaction after a time target may have been
/// replayed. Anything else fails loudly rather than promote a wrong copy.
pub fn check_reached(target: &Target, lsn: Option<&str>, time: Option<&str>) -> Result<()> {
    match target {
        Target::Lsn(want) => {
            let got = lsn.map(Lsn::parse).transpose()?;
            if got.is_none_or(|g| g < *want) {
                return Err(Error::data(format!(
                    "recovery paused at {} before the target lsn {want}; the copy was stopped: do not use it",
                    lsn.unwrap_or("an unknown location")
                )));
            }
        }
        Target::Time(want) => {
            if let Some(t) = time {
                let got = DateTime::parse_from_rfc3339(t)
                    .map_err(|e| Error::software(format!("the copy reported a replay time {t:?}: {e}")))?
                    .with_timezone(&Utc);
                if got > *want {
                    return Err(Error::data(format!(
                        "recovery replayed a transaction of {t}, after the target {}; the copy was stopped: do not use it",
                        target.describe()
                    )));
                }
            }
        }
        Target::Name(_) | Target::Immediate | Target::Latest => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_conf_settings_the_restore_owns_are_recognised() {
        assert!(owned_setting("primary_conninfo = 'host=x'", false));
        assert!(owned_setting("recovery_target_name='x'", false));
        assert!(owned_setting("  restore_command = 'cp'", false));
        assert!(owned_setting("archive_mode = 'on'", true));
        assert!(!owned_setting("archive_mode = 'on'", false));
        assert!(!owned_setting("# primary_conninfo = 'x'", false));
        assert!(!owned_setting("shared_buffers = '1GB'", true));
        assert!(!owned_setting("archive_timeout = '60s'", true));
    }

    #[test]
    fn a_copy_paused_short_of_or_past_its_target_is_refused() {
        let lsn = Target::Lsn(Lsn::parse("0/3000060").unwrap());
        assert!(check_reached(&lsn, Some("0/3000100"), None).is_ok());
        assert!(check_reached(&lsn, Some("0/3000060"), None).is_ok());
        assert_eq!(
            check_reached(&lsn, Some("0/3000000"), None).unwrap_err().exit(),
            sw_core::Exit::DataErr
        );
        assert!(check_reached(&lsn, None, None).is_err());
        let t = Target::Time("2026-11-27T00:00:00Z".parse().unwrap());
        assert!(check_reached(&t, Some("0/1"), Some("2026-11-26T23:59:59.999999Z")).is_ok());
        assert!(check_reached(&t, Some("0/1"), Some("2026-11-27T00:00:00.000000Z")).is_ok());
        assert!(check_reached(&t, Some("0/1"), Some("2026-11-27T00:00:00.000001Z")).is_err());
        assert!(check_reached(&t, Some("0/1"), None).is_ok());
    }

    #[test]
    fn replay_state_reads_psql_output() {
        let s = ReplayState::parse("t|paused|0/3000060|2026-11-27T00:00:00.000001Z");
        assert!(s.in_recovery && s.paused);
        assert_eq!(s.lsn.as_deref(), Some("0/3000060"));
        let s = ReplayState::parse("f|||");
        assert!(!s.in_recovery && !s.paused && s.lsn.is_none() && s.time.is_none());
    }
}
