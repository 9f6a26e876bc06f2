//! Reading a Flexible Server resource as ARM returns it (in
//! `sw_core::azure::flexible`, shared with sw-backup and sw-restore), and
//! waiting for a server that an earlier (interrupted) run left in the
//! middle of an operation.

use serde_json::Value;
use sw_core::Result;
use sw_core::azure::ArmClient;
pub use sw_core::azure::flexible::{ServerState, replication_role, same, text};

use super::target::Target;

/// Wait for a server that an earlier (interrupted) run left mid-operation.
///
/// # Errors
/// 75 when it is still busy after the operation timeout; 69 when it
/// disappears or ends disabled or inaccessible.
pub fn reattach(c: &ArmClient, t: &Target, server: Value) -> Result<Value> {
    sw_core::azure::flexible::wait_while_busy(c, &t.path(""), &t.name, server)
}
