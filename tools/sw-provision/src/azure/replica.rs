//! `azure replica --of PRIMARY`: a read replica (createMode Replica, in
//! the primary's region or another), re-attached to when an earlier run
//! left its creation running, and its read-only URL in the env file.

use std::path::Path;

use serde_json::Value;
use sw_core::config::Env;
use sw_core::envfile::EnvFile;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::args::ReplicaArgs;
use super::body;
use super::record::{Action, Change, Method, ReplicaResult, Request, ServerSummary, id_of};
use super::server::{ServerState, reattach, replication_role, text};
use super::target::{API_VERSION, parse_server_name, region};
use crate::local::url_from;

/// Run `azure replica`.
pub fn run(a: &ReplicaArgs, pretty: bool) -> Result<()> {
    let t = &a.target;
    let c = t.client()?;
    let source_id = if a.of.starts_with("/subscriptions/") {
        a.of.clone()
    } else {
        parse_server_name(&a.of).map_err(Error::usage)?;
        t.id_of(&a.of)
    };
    let primary = c
        .get_opt(&format!("{source_id}?api-version={API_VERSION}"))?
        .ok_or_else(|| Error::data(format!("the primary {source_id} does not exist")))?;
    let location = a
        .location
        .clone()
        .or_else(|| primary.get("location").and_then(Value::as_str).map(region))
        .ok_or_else(|| Error::data("the primary has no location; pass --location"))?;
    let mut out = Output::stdout(pretty);
    let mut changes = Vec::new();
    let server = match c.get_opt(&t.path(""))? {
        Some(srv) => {
            let role = replication_role(&srv);
            if !role.to_ascii_lowercase().contains("replica") {
                return Err(Error::data(format!(
                    "server {} exists and is not a replica (role {role:?})",
                    t.name
                )));
            }
            if ServerState::of(&srv).is_busy() && !a.dry_run {
                changes.push(Change::new(Action::Reattach, "replica creation in progress"));
                Some(reattach(&c, t, srv)?)
            } else {
                Some(srv)
            }
        }
        None => {
            let body = body::replica(&location, &source_id);
            changes.push(Change::new(
                Action::CreateReplica,
                format!("{} of {source_id} in {location}", t.name),
            ));
            if a.dry_run {
                out.emit(&Request {
                    method: Method::Put,
                    url: c.url(&t.path("")),
                    body: Some(body),
                })?;
                None
            } else {
                let _lock = c.write_lock(&t.server_id(), &Env::process())?;
                Some(c.mutate("PUT", &t.path(""), Some(&body))?)
            }
        }
    };
    if let (Some(env_file), false) = (&a.env_file, a.dry_run) {
        let fqdn = server
            .as_ref()
            .map(|s| text(s, "/properties/fullyQualifiedDomainName"))
            .unwrap_or_default();
        if add_readonly_url(env_file, fqdn)? {
            changes.push(Change::new(Action::WriteEnvFile, env_file.display().to_string()));
        }
    }
    out.emit(&ReplicaResult {
        dry_run: a.dry_run,
        changed: !changes.is_empty(),
        source_id,
        changes,
        id: server.as_ref().and_then(id_of),
        server: ServerSummary::of_opt(server.as_ref()),
    })
}

/// The env file gains the primary's DATABASE_URL with the replica's host
/// name as DATABASE_URL_READONLY; whether it was written.
///
/// # Errors
/// 78 when the env file has no DATABASE_URL; 69 when the replica has no
/// host name yet.
fn add_readonly_url(env_file: &Path, fqdn: &str) -> Result<bool> {
    let mut env = EnvFile::read(env_file)?;
    let url = env
        .get("DATABASE_URL")
        .ok_or_else(|| Error::config(format!("{} has no DATABASE_URL (the primary's)", env_file.display())))?;
    if fqdn.is_empty() {
        return Err(Error::unavailable("the replica has no fullyQualifiedDomainName yet"));
    }
    let mut p = sw_core::conninfo::parse(url)?;
    p.insert("host".into(), fqdn.to_owned());
    let ro = url_from(&p);
    if env.get("DATABASE_URL_READONLY") == Some(ro.as_str()) {
        return Ok(false);
    }
    env.set("DATABASE_URL_READONLY", &ro);
    env.write(env_file)?;
    Ok(true)
}
