//! `sw-backup --azure`: the backups of an Azure Database for PostgreSQL
//! Flexible Server, through the Resource Manager API (api-version
//! 2025-08-01; `sw_core::azure::flexible` reads the server). Selected by
//! `--azure`, or by a `--server` (name or ARM id).
//!
//! - `backups`: `full` (an on-demand backup), `list` (automatic and
//!   on-demand, with the server's earliest restore point and geo-backup
//!   state) and `delete` (on-demand backups only);
//! - `ltr`: long-term retention: `ltr-check`, `ltr-start` (to SAS URLs
//!   read from a file, never from argv) and `ltr-list`;
//! - `check`: the newest backup's age and the restore window against the
//!   retention the server promises.
//!
//! What Azure cannot do (WAL continuity, pinning, pruning by hand) is an
//! `azure.unsupported` record and exit 64, never an imitation.

pub mod backups;
pub mod check;
pub mod docs;
pub mod ltr;

use serde_json::Value;
use sw_core::azure::ArmClient;
use sw_core::azure::flexible::target::{AzureOpts, ServerRef};
use sw_core::contract::Timestamp;
use sw_core::{Error, Result};

/// The client, the server and its resource.
pub struct Server {
    pub client: ArmClient,
    pub at: ServerRef,
    pub resource: Value,
}

impl Server {
    /// Read the server the flags name.
    ///
    /// # Errors
    /// 64/78 for incomplete flags; 66 when the server does not exist; the
    /// ARM errors of the GET.
    pub fn open(o: &AzureOpts) -> Result<Server> {
        let at = o.server_ref()?;
        let client = o.client()?;
        let resource = client.get_opt(&at.path(""))?.ok_or_else(|| {
            Error::no_input(format!(
                "server {} does not exist in resource group {}",
                at.name, at.resource_group
            ))
        })?;
        Ok(Server { client, at, resource })
    }
}

/// `sw-backup verify --azure`: Azure keeps the WAL to itself.
pub fn unsupported_verify(pretty: bool) -> Error {
    sw_core::azure::flexible::ops::unsupported(
        pretty,
        "sw-backup verify",
        "wal_continuity",
        "Azure does not expose a Flexible Server's backup files or WAL, so neither can be re-hashed or checked for continuity; `sw-restore drill --azure` proves a backup restores",
    )
}

/// An RFC 3339 time of any offset (`completedTime` uses `+00:00`), as a
/// record timestamp; None when absent or not a time.
pub fn time_at(v: &Value, ptr: &str) -> Option<Timestamp> {
    let s = v.pointer(ptr).and_then(Value::as_str)?;
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| Timestamp(t.with_timezone(&chrono::Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_times_parse_with_any_offset() {
        let v = serde_json::json!({"p": {"t": "2024-08-01T14:30:22.123456+00:00", "z": "2024-08-01T16:30:22+02:00"}});
        assert_eq!(time_at(&v, "/p/t").unwrap().to_string(), "2024-08-01T14:30:22.123Z");
        assert_eq!(time_at(&v, "/p/z").unwrap().to_string(), "2024-08-01T14:30:22.000Z");
        assert_eq!(time_at(&v, "/p/none"), None);
    }
}
