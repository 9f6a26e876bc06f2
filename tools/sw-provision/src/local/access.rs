//! Who may connect, and how: the CA and server certificate (re-issued when
//! the names change or it nears expiry), and `pg_hba.conf`/`pg_ident.conf`
//! admitting the superuser only over the socket as the server's OS user
//! and everyone else only over TLS with SCRAM from the listed networks.

use std::path::Path;

use sw_core::Result;
use sw_core::cluster::Runner;
use sw_core::fsutil::{self, q};

use super::args::LocalArgs;
use super::converge::Ctx;
use super::record::Action;
use super::site::mkdir;
use crate::certs;

/// The names the server certificate must carry: --host, loopback,
/// --cert-name and the specific --listen addresses, each once.
fn cert_names(a: &LocalArgs) -> Vec<String> {
    let mut names = vec![a.host.clone(), "localhost".into(), "127.0.0.1".into(), "::1".into()];
    names.extend(a.cert_names.iter().cloned());
    names.extend(
        a.listen
            .iter()
            .filter(|l| !matches!(l.as_str(), "*" | "0.0.0.0" | "::" | ""))
            .cloned(),
    );
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// The CA and a current server certificate for the names; whether the
/// server must reload (a new certificate).
pub(crate) fn ensure_tls(cx: &mut Ctx<'_>) -> Result<bool> {
    let tls_dir = cx.dir.join("tls");
    if !(cx.tls.ca_cert.exists() && cx.tls.ca_key.exists()) {
        cx.note(
            Action::CreateCa,
            format!("{} (for clients: sslrootcert)", q(&cx.tls.ca_cert)),
        );
        if !cx.dry {
            certs::ensure_ca(&cx.tls)?;
        }
    }
    let names = cert_names(cx.a);
    let (have, expiring) = if cx.tls.server_cert.exists() {
        let cert = certs::load(&cx.tls.server_cert)?;
        (certs::cert_names(&cert), certs::expires_within(&cert, 30)?)
    } else {
        (Vec::new(), false)
    };
    let issue = have != names || expiring;
    if issue {
        let why = if expiring && have == names {
            " (renewal: the old one expires within 30 days)"
        } else {
            ""
        };
        cx.note(Action::IssueServerCertificate, format!("{}{why}", names.join(",")));
        if !cx.dry {
            mkdir(&tls_dir, 0o700)?;
            certs::issue_server(&cx.tls, &names)?;
        }
    }
    if !cx.dry {
        mkdir(&cx.sock, 0o755)?;
        cx.runner.hand_over(&cx.sock)?;
        cx.runner.hand_over(&tls_dir)?;
    }
    Ok(issue)
}

fn hba_text(allow: &[String]) -> String {
    let mut t = String::from(
        "# Written by sw-provision: the superuser only over the socket as the server's OS user;\n\
         # everyone else only over TLS with SCRAM, from the listed networks.\n\
         local   all          postgres                 peer map=sw\n\
         local   replication  postgres                 peer map=sw\n",
    );
    for c in allow {
        t.push_str(&format!("hostssl all          all       {c:<18} scram-sha-256\n"));
        t.push_str(&format!("hostssl replication all       {c:<18} scram-sha-256\n"));
    }
    t
}

fn ident_text(runner: &Runner) -> String {
    format!(
        "# Written by sw-provision: OS users allowed to be the superuser over the socket.\nsw {} postgres\n",
        os_user_name(runner)
    )
}

pub(crate) fn os_user_name(runner: &Runner) -> String {
    match &runner.user {
        Some(u) => u.name.clone(),
        None => nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map_or_else(|| "postgres".to_owned(), |u| u.name),
    }
}

/// Whether `path` already holds exactly `text`.
fn holds(path: &Path, text: &str) -> bool {
    std::fs::read_to_string(path).ok().as_deref() == Some(text)
}

/// Write a server configuration file (0600, owned by the server's OS user).
fn write_conf(path: &Path, text: &str, runner: &Runner) -> Result<()> {
    fsutil::atomic_write(path, text.as_bytes(), 0o600)?;
    runner.hand_over(path)
}

/// The networks clients may connect from: --allow, default loopback.
pub(crate) fn allowed(a: &LocalArgs) -> Vec<String> {
    if a.allow.is_empty() {
        vec!["127.0.0.1/32".into(), "::1/128".into()]
    } else {
        a.allow.clone()
    }
}

/// pg_hba.conf and pg_ident.conf as they should be; whether they changed
/// (the server must reload).
pub(crate) fn ensure_rules(cx: &mut Ctx<'_>) -> Result<bool> {
    let mut allow = allowed(cx.a);
    // The pooler's connections come from this host, listed or not.
    let pooler = super::pooler::source_cidr(&cx.a.listen);
    if cx.pooled_port.is_some() && !allow.contains(&pooler) {
        allow.push(pooler);
    }
    let hba = hba_text(&allow);
    let ident = ident_text(&cx.runner);
    let hba_path = cx.cluster.datadir.join("pg_hba.conf");
    let ident_path = cx.cluster.datadir.join("pg_ident.conf");
    let (hba_same, ident_same) = (holds(&hba_path, &hba), holds(&ident_path, &ident));
    if hba_same && ident_same {
        return Ok(false);
    }
    cx.note(
        Action::WritePgHba,
        format!("hostssl scram-sha-256 from {}", allow.join(",")),
    );
    if !cx.dry && !hba_same {
        write_conf(&hba_path, &hba, &cx.runner)?;
    }
    if !cx.dry && !ident_same {
        write_conf(&ident_path, &ident, &cx.runner)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tls_with_scram_from_the_listed_networks() {
        let t = hba_text(&["10.0.0.0/8".into()]);
        let host_lines: Vec<&str> = t.lines().filter(|l| l.starts_with("host")).collect();
        assert_eq!(host_lines.len(), 2, "{t}");
        assert!(
            host_lines
                .iter()
                .all(|l| l.starts_with("hostssl") && l.ends_with("scram-sha-256"))
        );
        assert!(host_lines.iter().all(|l| l.contains("10.0.0.0/8")));
    }
}
