//! Reading a Flexible Server resource as ARM returns it: its fields by
//! JSON pointer, its state as an enum, and waiting for a server that an
//! earlier (interrupted) run left in the middle of an operation.

use std::time::Instant;

use serde_json::Value;
use sw_core::azure::ArmClient;
use sw_core::{Error, Result};

use super::target::Target;

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

/// Wait for a server that an earlier (interrupted) run left mid-operation.
///
/// # Errors
/// 75 when it is still busy after the operation timeout; 69 when it
/// disappears or ends disabled or inaccessible.
pub fn reattach(c: &ArmClient, t: &Target, mut server: Value) -> Result<Value> {
    let deadline = Instant::now() + c.policy.operation_timeout;
    while ServerState::of(&server).is_busy() {
        if Instant::now() + c.policy.poll_interval > deadline {
            let state = match text(&server, "/properties/state") {
                "" => "?",
                s => s,
            };
            return Err(Error::temp(format!(
                "server {} is still {state} after {}s; run again to re-attach",
                t.name,
                c.policy.operation_timeout.as_secs()
            )));
        }
        std::thread::sleep(c.policy.poll_interval);
        server = c
            .get_opt(&t.path(""))?
            .ok_or_else(|| Error::unavailable(format!("server {} disappeared while being created", t.name)))?;
    }
    if matches!(
        ServerState::of(&server),
        ServerState::Disabled | ServerState::Inaccessible
    ) {
        return Err(Error::unavailable(format!(
            "server {} is {}",
            t.name,
            text(&server, "/properties/state")
        )));
    }
    Ok(server)
}

/// The replication role of a server (`Primary`, `AsyncReplica`, ...), "" when unset.
pub fn replication_role(server: &Value) -> &str {
    match text(server, "/properties/replica/role") {
        "" => text(server, "/properties/replicationRole"),
        r => r,
    }
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
}
