//! The server facts every run reads first (version, role, start time, TLS
//! of this session, archive_mode), and the three checks judged from them
//! without a query of their own: `connection` (connect time), `uptime`
//! (a restart since the previous run is a WARNING once) and `role`.

use serde_json::{Value, json};
use sw_core::health::Status;

use super::{Check, How, Measured, Row, Scope};
use crate::check::runner::Runner;
use crate::check::state::State;

pub const CONNECTION: Check = Check {
    name: "connection",
    unit: "ms",
    warn: Some(1000.0),
    crit: Some(5000.0),
    below: false,
    scope: Scope::Client,
    help: "connect time (TCP, TLS, authentication); TLS in details",
    how: How::Own,
};

pub const UPTIME: Check = Check {
    name: "uptime",
    unit: "s",
    warn: None,
    crit: None,
    below: true,
    scope: Scope::Cluster,
    help: "seconds since the server started (set a warn threshold to see restarts); version in details",
    how: How::Own,
};

pub const ROLE: Check = Check {
    name: "role",
    unit: "",
    warn: None,
    crit: None,
    below: false,
    scope: Scope::Cluster,
    help: "0 primary, 1 standby; primary-only checks are skipped on a standby",
    how: How::Own,
};

/// The facts query. A server that accepts the connection but does not
/// answer it is as down as one that refuses it.
pub const FACTS_SQL: &str = "SELECT current_setting('server_version_num'), current_setting('server_version'), \
     pg_is_in_recovery(), extract(epoch from clock_timestamp() - pg_postmaster_start_time()), \
     current_database(), coalesce(x.ssl, false), coalesce(x.version, ''), \
     pg_postmaster_start_time(), current_setting('archive_mode'), current_user, current_setting('port') \
     FROM (SELECT 1) one LEFT JOIN pg_stat_ssl x ON x.pid = pg_backend_pid()";

/// What the facts query found.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// server_version_num (150004).
    pub version_num: i64,
    /// server_version as the server writes it.
    pub version: String,
    pub standby: bool,
    pub uptime_s: Option<f64>,
    /// The database of the first session.
    pub database: String,
    /// This session uses TLS, and which version.
    pub tls: bool,
    pub tls_version: Option<String>,
    /// pg_postmaster_start_time() as text (compared across runs).
    pub started_at: String,
    pub archive_mode: String,
    /// The session's user and the server's port, with `started_at` what
    /// tells one server from another in a fleet (cluster checks shared).
    pub user: String,
    pub port: String,
}

impl Server {
    /// Who sees what on which server: targets with the same key see the
    /// same cluster-wide views (see `check::share`).
    pub fn share_key(&self) -> String {
        format!("{}\u{1f}{}\u{1f}{}", self.user, self.port, self.started_at)
    }

    /// From the facts query's first row.
    pub fn from_rows(rows: &[Row]) -> Server {
        let row = Row::first(rows);
        Server {
            version_num: row.text(0).parse().unwrap_or(0),
            version: row.text(1),
            standby: row.flag(2),
            uptime_s: row.num(3),
            database: row.text(4),
            tls: row.flag(5),
            tls_version: row.nonempty(6),
            started_at: row.text(7),
            archive_mode: row.text(8),
            user: row.text(9),
            port: row.text(10),
        }
    }

    /// `primary` or `standby`.
    pub fn role(&self) -> &'static str {
        if self.standby { "standby" } else { "primary" }
    }
}

/// Report connection, uptime and role.
pub fn report(r: &mut Runner<'_>, srv: &Server, connect_ms: f64, prev: Option<&State>) {
    if r.wants(&CONNECTION) {
        let over = if srv.tls { " over TLS" } else { "" };
        let m = Measured::new(
            Some(connect_ms),
            format!("connected in {connect_ms:.1} ms{over}"),
            json!({"tls": srv.tls, "tls_version": srv.tls_version}),
        );
        r.push(&CONNECTION, None, m);
    }
    if r.wants(&UPTIME) {
        r.push(&UPTIME, None, uptime(srv, prev));
    }
    if r.wants(&ROLE) {
        let m = Measured::new(
            Some(if srv.standby { 1.0 } else { 0.0 }),
            srv.role(),
            json!({"role": srv.role()}),
        );
        r.push(&ROLE, None, m);
    }
}

fn uptime(srv: &Server, prev: Option<&State>) -> Measured {
    let up = srv.uptime_s;
    // A different start time than the previous run saw: restarted in between.
    let restarted = prev
        .and_then(|p| p.started_at.as_deref())
        .is_some_and(|p| p != srv.started_at);
    let note = if restarted {
        "; restarted since the previous run"
    } else {
        ""
    };
    let m = Measured::new(
        up,
        format!("up {:.0} s, PostgreSQL {}{note}", up.unwrap_or(0.0), srv.version),
        json!({"version": srv.version, "version_num": srv.version_num, "started_at": srv.started_at,
               "restarted_recently": up.is_some_and(|u| u < 300.0), "restarted_since_last_run": restarted}),
    );
    if restarted { m.floor(Status::Warning) } else { m }
}

/// The server cannot be reached (or does not answer): one CRITICAL
/// connection check without a value.
pub fn down(r: &mut Runner<'_>, message: String) {
    r.push(
        &CONNECTION,
        None,
        Measured::new(None, message, Value::Null).floor(Status::Critical),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_start_time_is_a_restart_since_the_previous_run() {
        let srv = Server {
            version: "15.4".into(),
            uptime_s: Some(12.0),
            started_at: "b".into(),
            ..Server::default()
        };
        let prev = State {
            started_at: Some("a".into()),
            ..State::default()
        };
        let m = uptime(&srv, Some(&prev));
        assert_eq!(m.at_least, Status::Warning);
        assert_eq!(m.message, "up 12 s, PostgreSQL 15.4; restarted since the previous run");
        assert_eq!(m.details["restarted_recently"], true);
        assert_eq!(uptime(&srv, None).at_least, Status::Ok);
    }
}
