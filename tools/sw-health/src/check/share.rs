//! The cluster-wide checks of a fleet sweep, run once per server: twenty
//! databases of one cluster are twenty targets, but `connections`,
//! `database_size` (a walk of every database's files), `xid_wraparound`
//! and the rest of the cluster scope read the same server-wide views from
//! each. The first target of a server runs them in its own session; the
//! others of the sweep take its results. A server is known by what its
//! facts query says (user, port, postmaster start time), not by the host
//! name in the URL: two names for one server share, and one pooler address
//! in front of two servers does not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sw_core::health::CheckResult;
use tokio::sync::OnceCell;

use crate::checks::Check;

/// One server's cluster-scope results and the checks that did not apply.
pub type ServerWide = (Vec<CheckResult>, Vec<&'static Check>);

/// Where one server's cluster-scope results are kept (filled once).
pub type Cell = Arc<OnceCell<ServerWide>>;

/// The cluster-scope results of one sweep, by server.
#[derive(Default)]
pub struct Shared {
    by_server: Mutex<HashMap<String, Cell>>,
}

impl Shared {
    /// The cell of the server `key`: the first target to reach it fills it
    /// (see `collect`), the others of the sweep wait for it and copy.
    pub fn cell(&self, key: &str) -> Cell {
        let mut map = self.by_server.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(key.to_owned()).or_default())
    }
}
