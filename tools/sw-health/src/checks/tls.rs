//! `tls`: whether remote clients must use TLS. Two queries, because
//! pg_hba_file_rules is often not readable (superuser only) and the check
//! still says whether `ssl` is on without it.

use serde_json::{Value, json};
use sw_core::health::Status;

use super::{Check, How, Measured, Row, Scope, count};
use crate::check::runner::Runner;
use crate::check::session::Sess;

pub const TLS: Check = Check {
    name: "tls",
    unit: "rules",
    warn: Some(0.0),
    crit: None,
    below: false,
    scope: Scope::Cluster,
    help: "non-TLS access rules for remote addresses (ssl off is WARNING)",
    how: How::Own,
};

const HBA_SQL: &str = "SELECT line_number, type, coalesce(address, ''), coalesce(netmask, ''), auth_method \
     FROM pg_hba_file_rules WHERE error IS NULL AND type IN ('host', 'hostnossl') \
     AND auth_method <> 'reject' ORDER BY line_number";

pub async fn run(r: &mut Runner<'_>, s: &mut Sess) {
    if !r.wants(&TLS) {
        return;
    }
    let ssl = r.rows(s, "SELECT current_setting('ssl')").await.ok();
    let hba = r.rows(s, HBA_SQL).await.ok();
    // What this session, a fresh connection with the --db settings, got.
    let own = r
        .rows(
            s,
            "SELECT ssl, coalesce(version, '') FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        )
        .await
        .ok()
        .map(|rows| {
            let row = Row::first(&rows);
            json!({"ssl": row.flag(0), "version": row.nonempty(1)})
        });
    match ssl {
        Some(ssl) => {
            let ssl_on = Row::first(&ssl).text(0) == "on";
            let mut m = judge(ssl_on, hba.as_deref());
            if let Some(own) = own {
                m.message.push_str(if own["ssl"] == true {
                    " (this connection: TLS)"
                } else {
                    " (this connection: no TLS)"
                });
                m.details["this_connection"] = own;
            }
            r.push(&TLS, None, m);
        }
        None => r.unknown(&TLS, None, "cannot read the ssl setting".into()),
    }
}

/// Access rules that let remote clients in without TLS (`host`,
/// `hostnossl` for an address that is not this host).
fn judge(ssl_on: bool, hba: Option<&[Row]>) -> Measured {
    let mut bad = Vec::new();
    for row in hba.unwrap_or_default() {
        let addr = row.text(2);
        let local = addr == "samehost" || addr.starts_with("127.") || addr == "::1" || addr == "localhost";
        if !local {
            bad.push(json!({"line": row.num(0), "type": row.text(1), "address": addr,
                "netmask": row.text(3), "auth_method": row.text(4)}));
        }
    }
    let n = bad.len();
    let msg = match (ssl_on, hba) {
        (false, _) => "ssl is off".to_owned(),
        (true, None) => "ssl on; pg_hba_file_rules not readable".to_owned(),
        (true, Some(_)) if n == 0 => "ssl on; remote access requires TLS".to_owned(),
        (true, Some(_)) => format!("ssl on; {n} access rules allow remote clients without TLS"),
    };
    let m = Measured::new(
        hba.map(|_| count(n)),
        msg,
        json!({"ssl": ssl_on, "hba_readable": hba.is_some(), "non_tls_rules": Value::Array(bad)}),
    );
    if ssl_on { m } else { m.floor(Status::Warning) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(line: &str, addr: &str) -> Row {
        let cols = [line, "host", addr, "", "scram-sha-256"];
        Row(cols.iter().map(|c| Some((*c).to_owned())).collect())
    }

    #[test]
    fn remote_rules_without_tls_are_counted_and_ssl_off_is_a_warning() {
        let rules = [rule("1", "127.0.0.1"), rule("2", "10.0.0.0"), rule("3", "samehost")];
        let m = judge(true, Some(&rules));
        assert_eq!(m.value, Some(1.0));
        assert_eq!(m.details["non_tls_rules"][0]["line"], 2.0);
        assert_eq!(m.at_least, Status::Ok);
        let m = judge(false, None);
        assert_eq!(
            (m.value, m.at_least, m.message.as_str()),
            (None, Status::Warning, "ssl is off")
        );
    }
}
