//! Reading an Azure Database for PostgreSQL Flexible Server resource as ARM
//! returns it (api-version 2025-08-01): its fields by JSON pointer, its
//! state as an enum, its replication role, and waiting for a server that an
//! earlier (interrupted) run left in the middle of an operation. Shared by
//! sw-provision (which creates servers) and sw-backup/sw-restore (which
//! back them up, restore and fail them over).
//!
//! - [`target`]: the `--azure` flag group and the server it names;
//! - [`ops`]: operations whose id is recorded, dry-run and unsupported records;
//! - [`hosts`]: connecting with an env file's credentials, the host override;
//! - [`envfile`]: the new server's connection strings in the env file.

pub mod envfile;
pub mod hosts;
pub mod ops;
pub mod target;

use std::time::Instant;

use serde_json::Value;

use super::ArmClient;
use crate::error::{Error, Result};

/// The api-version every Flexible Server request uses.
pub const API_VERSION: &str = "2025-08-01";

/// The string at `ptr` in an ARM resource, or "" when absent.
pub fn text<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Whether two ARM spellings are the same value (ARM is case-insensitive).
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A server's `properties.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    Ready,
    Provisioning,
    Updating,
    Starting,
    Stopping,
    Restarting,
    Dropping,
    Stopped,
    Disabled,
    Inaccessible,
    /// Absent, or a state this version does not know.
    Unknown,
}

impl ServerState {
    /// The state of a server resource.
    pub fn of(server: &Value) -> ServerState {
        ServerState::parse(text(server, "/properties/state"))
    }

    /// ARM's spelling, any case.
    pub fn parse(s: &str) -> ServerState {
        use ServerState::*;
        [
            ("Ready", Ready),
            ("Provisioning", Provisioning),
            ("Updating", Updating),
            ("Starting", Starting),
            ("Stopping", Stopping),
            ("Restarting", Restarting),
            ("Dropping", Dropping),
            ("Stopped", Stopped),
            ("Disabled", Disabled),
            ("Inaccessible", Inaccessible),
        ]
        .into_iter()
        .find_map(|(name, st)| same(name, s).then_some(st))
        .unwrap_or(Unknown)
    }

    /// Still being changed by an operation.
    pub fn is_busy(self) -> bool {
        use ServerState::*;
        matches!(
            self,
            Provisioning | Updating | Starting | Stopping | Restarting | Dropping
        )
    }
}

/// The replication role of a server (`Primary`, `AsyncReplica`, ...), "" when unset.
pub fn replication_role(server: &Value) -> &str {
    match text(server, "/properties/replica/role") {
        "" => text(server, "/properties/replicationRole"),
        r => r,
    }
}

/// Wait while `server` (the resource at `path`, named `name` in messages)
/// is busy with an operation an earlier (interrupted) run left running;
/// the resource once it is not.
///
/// # Errors
/// 75 when it is still busy after the operation timeout; 69 when it
/// disappears or ends disabled or inaccessible.
pub fn wait_while_busy(c: &ArmClient, path: &str, name: &str, mut server: Value) -> Result<Value> {
    let t0 = Instant::now();
    let deadline = t0 + c.policy.operation_timeout;
    while ServerState::of(&server).is_busy() {
        let state = match text(&server, "/properties/state") {
            "" => "?",
            s => s,
        };
        c.report_progress(&format!("server {name}"), state, t0.elapsed());
        if Instant::now() + c.policy.poll_interval > deadline {
            c.end_progress();
            return Err(Error::temp(format!(
                "server {name} is still {state} after {}s; run again to re-attach",
                c.policy.operation_timeout.as_secs()
            )));
        }
        std::thread::sleep(c.policy.poll_interval);
        server = c
            .get_opt(path)?
            .ok_or_else(|| Error::unavailable(format!("server {name} disappeared while being created")))?;
    }
    c.end_progress();
    if matches!(
        ServerState::of(&server),
        ServerState::Disabled | ServerState::Inaccessible
    ) {
        return Err(Error::unavailable(format!(
            "server {name} is {}",
            text(&server, "/properties/state")
        )));
    }
    Ok(server)
}

/// Server names: 3-63 characters, `^[a-z0-9]+(-[a-z0-9]+)*$` (the service
/// wants lowercase; the spec pattern is looser).
pub fn parse_server_name(s: &str) -> std::result::Result<String, String> {
    let ok = (3..=63).contains(&s.len())
        && s.split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?}: server names are 3-63 lowercase letters, digits and inner hyphens"
        ))
    }
}

/// A region's name as ARM paths take it: `East US` -> `eastus` (GETs may
/// answer with the display name).
pub fn region(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `--location`: letters and digits (spaces dropped).
pub fn parse_region(s: &str) -> std::result::Result<String, String> {
    let r = region(s);
    if r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{s:?} is not an Azure region name (e.g. westeurope)"));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_parse_in_any_case() {
        assert_eq!(ServerState::parse("ready"), ServerState::Ready);
        assert!(ServerState::parse("UPDATING").is_busy());
        assert!(!ServerState::parse("Stopped").is_busy());
        assert_eq!(ServerState::parse(""), ServerState::Unknown);
        let s = json!({"properties": {"state": "Dropping", "replicationRole": "AsyncReplica"}});
        assert!(ServerState::of(&s).is_busy());
        assert_eq!(replication_role(&s), "AsyncReplica");
    }

    #[test]
    fn names_and_regions() {
        assert!(parse_server_name("orders-db").is_ok());
        for bad in ["ab", "Orders", "-db", "db-", "a--b"] {
            assert!(parse_server_name(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_region("East US").unwrap(), "eastus");
        assert!(parse_region("east-us").is_err());
    }
}
