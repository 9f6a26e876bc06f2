//! `azure status` (one GET, and an exit code like a monitoring check's)
//! and `azure delete --yes`.

use sw_core::config::Env;
use sw_core::contract::Timestamp;
use sw_core::output::Output;
use sw_core::{Error, Exit, Result};

use super::args::{DeleteArgs, StatusArgs};
use super::record::{DeleteResult, ServerSummary, StatusResult, id_of};
use super::server::{ServerState, text};

/// Run `azure status`: the record, then as `status` of a local cluster:
/// 0 ready, 1 busy with an operation, 2 not serving (stopped, disabled,
/// inaccessible, being dropped); 66 when there is no such server.
pub fn status(a: &StatusArgs, pretty: bool) -> Result<()> {
    let t = &a.target;
    let c = t.client()?;
    let server = c.get_opt(&t.path(""))?.ok_or_else(|| {
        Error::no_input(format!(
            "server {} does not exist in resource group {}",
            t.name, t.resource_group
        ))
    })?;
    Output::stdout(pretty).emit(&StatusResult {
        time: Timestamp::now(),
        id: id_of(&server),
        server: ServerSummary::of(&server),
    })?;
    let state = ServerState::of(&server);
    let said = text(&server, "/properties/state");
    match state {
        ServerState::Ready => Ok(()),
        ServerState::Dropping => Err(Error::new(Exit::Critical, format!("server {} is {said}", t.name))),
        s if s.is_busy() => Err(Error::new(Exit::Warning, format!("server {} is {said}", t.name))),
        _ => Err(Error::new(
            Exit::Critical,
            format!(
                "server {} is {}",
                t.name,
                if said.is_empty() { "in no known state" } else { said }
            ),
        )),
    }
}

/// Run `azure delete --yes` (deleting what is gone is not an error).
pub fn delete(a: &DeleteArgs, pretty: bool) -> Result<()> {
    let t = &a.target;
    if !a.yes {
        return Err(Error::usage(format!(
            "delete removes server {} and its backups; pass --yes",
            t.name
        )));
    }
    let c = t.client()?;
    let _lock = c.write_lock(&t.server_id(), &Env::process())?;
    let existed = c.get_opt(&t.path(""))?.is_some();
    if existed {
        c.mutate("DELETE", &t.path(""), None)?;
    }
    Output::stdout(pretty).emit(&DeleteResult {
        time: Timestamp::now(),
        id: t.server_id(),
        deleted: existed,
    })
}
