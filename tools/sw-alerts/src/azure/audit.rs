//! `azure-apply --audit`: pgaudit on the server. Allow-list the extension
//! (`azure.extensions`), preload its library (`shared_preload_libraries`,
//! a static parameter: the server restarts once, as the service requires),
//! then set the statement classes it logs (`pgaudit.log`, which exists once
//! the library is loaded). Its log lines go to `PostgreSQLLogs`, which the
//! diagnostic setting sends to the workspace. Each parameter is read first
//! and written only when it differs; writes to the server are serialised
//! with other sw tools' (`ArmClient::write_lock`).

use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::azure::flexible::ops::{AzureRequest, Method};
use sw_core::azure::flexible::target::ServerRef;
use sw_core::azure::flexible::text;
use sw_core::config::Env;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::{AzureDrift, AzureResource, Change};

/// What a run does to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    DryRun,
    VerifyOnly,
}

/// Turn pgaudit on, logging `classes`; how many parameters differed (the
/// drift, with `VerifyOnly`).
///
/// # Errors
/// 65 when the server has no such parameter; the ARM client's errors.
pub fn run(c: &ArmClient, s: &ServerRef, classes: &str, mode: Mode, out: &mut Output) -> Result<usize> {
    let _lock = match mode {
        Mode::Apply => Some(c.write_lock(&s.id(), &Env::process())?),
        _ => None,
    };
    let mut drifted = 0;
    let mut restart = false;
    for (name, item) in [("azure.extensions", "PGAUDIT"), ("shared_preload_libraries", "pgaudit")] {
        let (changed, is_static) = parameter(c, s, name, |cur| with_item(cur, item), mode, out)?;
        drifted += usize::from(changed);
        restart |= changed && is_static;
    }
    if restart && mode != Mode::VerifyOnly {
        let path = s.path("/restart");
        if mode == Mode::DryRun {
            out.emit(&AzureRequest {
                method: Method::Post,
                url: c.url(&path),
                body: None,
            })?;
        } else {
            c.mutate("POST", &path, None)?;
        }
        out.emit(&AzureResource {
            resource: "server".into(),
            name: s.name.clone(),
            id: s.id(),
            action: "restart".into(),
            sent: mode == Mode::Apply,
            changes: Vec::new(),
        })?;
    }
    let want = classes.to_ascii_lowercase();
    let (changed, _) = parameter(
        c,
        s,
        "pgaudit.log",
        |cur| (!cur.eq_ignore_ascii_case(&want)).then(|| want.clone()),
        mode,
        out,
    )?;
    Ok(drifted + usize::from(changed))
}

/// `cur` with `item` added to its comma-separated list; None when it has it.
fn with_item(cur: &str, item: &str) -> Option<String> {
    if cur.split(',').any(|x| x.trim().eq_ignore_ascii_case(item)) {
        return None;
    }
    Some(if cur.trim().is_empty() {
        item.to_owned()
    } else {
        format!("{},{item}", cur.trim_end_matches(','))
    })
}

/// Read parameter `name` and write what `want` makes of its value (None:
/// as it is); (whether it differed, whether it needs a restart).
fn parameter(
    c: &ArmClient,
    s: &ServerRef,
    name: &str,
    want: impl Fn(&str) -> Option<String>,
    mode: Mode,
    out: &mut Output,
) -> Result<(bool, bool)> {
    let path = s.path(&format!("/configurations/{name}"));
    let cur = c
        .get_opt(&path)?
        .ok_or_else(|| Error::data(format!("server {} has no parameter {name:?}", s.name)))?;
    let have = text(&cur, "/properties/value").to_owned();
    let is_static = cur.pointer("/properties/isDynamicConfig") == Some(&json!(false));
    let Some(value) = want(&have) else {
        if mode != Mode::VerifyOnly {
            out.emit(&record(s, name, "unchanged", false, Vec::new()))?;
        }
        return Ok((false, is_static));
    };
    if mode == Mode::VerifyOnly {
        out.emit(&AzureDrift {
            resource: "configuration".into(),
            name: name.to_owned(),
            property: "properties.value".into(),
            want: json!(value),
            have: json!(have),
        })?;
        return Ok((true, is_static));
    }
    let body = json!({"properties": {"value": value, "source": "user-override"}});
    if mode == Mode::DryRun {
        out.emit(&AzureRequest {
            method: Method::Patch,
            url: c.url(&path),
            body: Some(body.clone()),
        })?;
    } else {
        c.mutate("PATCH", &path, Some(&body))?;
    }
    let change = Change {
        property: "properties.value".into(),
        want: json!(value),
        have: Value::String(have),
    };
    out.emit(&record(s, name, "update", mode == Mode::Apply, vec![change]))?;
    Ok((true, is_static))
}

fn record(s: &ServerRef, name: &str, action: &str, sent: bool, changes: Vec<Change>) -> AzureResource {
    AzureResource {
        resource: "configuration".into(),
        name: name.to_owned(),
        id: format!("{}/configurations/{name}", s.id()),
        action: action.to_owned(),
        sent,
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_gain_the_item_once() {
        assert_eq!(with_item("", "pgaudit").as_deref(), Some("pgaudit"));
        assert_eq!(with_item("pg_cron", "pgaudit").as_deref(), Some("pg_cron,pgaudit"));
        assert_eq!(with_item("PG_CRON, PGAUDIT", "pgaudit"), None);
    }
}
