//! Server parameters: the tuned values, ours (TLS, SCRAM, replication) and
//! `--param`, written to the cluster's `sw.conf`; which of the changed
//! ones need a restart is the server's own answer (`postgres
//! --describe-config`), so a typo in `--param` is refused before the next
//! start would fail on it.

use std::collections::HashMap;

use sw_core::cluster::Runner;
use sw_core::{Error, Result};

use super::args::LocalArgs;
use super::converge::Ctx;
use super::record::Action;
use crate::tune::{self, Host};

/// The server's parameters and their contexts (`postmaster`: only a
/// restart applies it), from `postgres --describe-config`, which needs no
/// running cluster.
pub(crate) fn describe_config(runner: &Runner) -> Result<HashMap<String, String>> {
    let out = runner.run("postgres", ["--describe-config"])?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_owned(), f.next()?.to_owned()))
        })
        .collect())
}

/// Refuse `--param` names the server does not know (a typo would make the
/// next start fail); names with a dot are extensions' and pass.
pub(crate) fn check_param_names(a: &LocalArgs, known: &HashMap<String, String>) -> Result<()> {
    for (k, _) in &a.params {
        if !k.contains('.') && !known.contains_key(k) {
            return Err(Error::usage(format!("--param {k}: the server has no such parameter")));
        }
    }
    Ok(())
}

/// The full desired configuration: tuned values, then ours, then --param.
fn desired_settings(cx: &Ctx<'_>, host: &Host) -> Vec<(String, String)> {
    let a = cx.a;
    let mut s = tune::params(host);
    let fixed = [
        ("listen_addresses", a.listen.join(",")),
        ("port", a.port.to_string()),
        ("unix_socket_directories", cx.sock.display().to_string()),
        ("password_encryption", "scram-sha-256".into()),
        ("ssl", "on".into()),
        ("ssl_cert_file", cx.tls.server_cert.display().to_string()),
        ("ssl_key_file", cx.tls.server_key.display().to_string()),
        ("ssl_min_protocol_version", "TLSv1.2".into()),
        ("wal_level", "replica".into()),
        ("max_wal_senders", "10".into()),
        ("max_replication_slots", "10".into()),
        ("hot_standby", "on".into()),
    ];
    s.extend(fixed.into_iter().map(|(k, v)| (k.to_owned(), v)));
    for (k, v) in &a.params {
        if let Some(e) = s.iter_mut().find(|(n, _)| n == k) {
            e.1.clone_from(v);
        } else {
            s.push((k.clone(), v.clone()));
        }
    }
    s
}

/// Names set differently in `want` than in `have`, or only in `have`.
fn differing(want: &[(String, String)], have: &[(String, String)]) -> Vec<String> {
    want.iter()
        .filter(|kv| !have.contains(kv))
        .map(|(k, _)| k.clone())
        .chain(
            have.iter()
                .filter(|(k, _)| !want.iter().any(|(w, _)| w == k))
                .map(|(k, _)| k.clone()),
        )
        .collect()
}

/// Write the parameters that differ. None when none did; else the changed
/// ones that take effect only after a restart (maybe none: a reload does).
pub(crate) fn ensure_parameters(cx: &mut Ctx<'_>, host: &Host, existed: bool) -> Result<Option<Vec<String>>> {
    let have = if existed {
        cx.cluster.read_settings()?
    } else {
        Vec::new()
    };
    let want = tune::keep_close(desired_settings(cx, host), &have, &cx.a.params);
    if have == want {
        return Ok(None);
    }
    let changed = differing(&want, &have);
    let restart_for = changed
        .iter()
        .filter(|k| {
            cx.contexts
                .get(k.as_str())
                .map_or_else(|| tune::needs_restart(k), |c| c == "postmaster")
        })
        .cloned()
        .collect();
    cx.note(Action::SetParameters, changed.join(","));
    if !cx.dry {
        cx.cluster.write_settings(&want)?;
    }
    Ok(Some(restart_for))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_names_both_sides() {
        let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let want = [kv("a", "1"), kv("b", "2")];
        let have = [kv("a", "1"), kv("b", "3"), kv("c", "4")];
        assert_eq!(differing(&want, &have), ["b", "c"]);
    }
}
