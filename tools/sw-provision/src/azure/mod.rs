//! `sw-provision azure`: an Azure Database for PostgreSQL Flexible Server
//! through the Resource Manager API (api-version 2025-08-01).
//!
//! Every run GETs first and sends only what differs, so re-running is safe:
//! a server still being created (an interrupted earlier run) is re-attached
//! to rather than created twice, and HA zones that swapped after a failover
//! are not drift (fixtures README §6, terraform-provider-azurerm#13443).
//! `--dry-run` does the same reads and prints the writes it would send.
//!
//! - `args`: the flags; `target`: which server and the ARM client;
//! - `apply`: the converge run, planning with `body` (request bodies) and
//!   `plan` (firewall, parameters, database), checking with `caps`,
//!   estimating with `cost`, writing the env files with `connect`;
//! - the hardening, each with its flags, checks and request bodies:
//!   `network` (private access), `cmk` (customer-managed keys), `entra`
//!   (Entra ID sign-in and administrator), `roles` (the application role
//!   over SQL, with `crate::approle`), `disruptive` (major version
//!   upgrade, moving the HA standby, what only a create can choose);
//! - `replica`: `azure replica`; `admin`: `azure status` and `delete`;
//! - `server`: reading a server resource; `record`: the records printed.

mod admin;
mod apply;
mod args;
mod body;
mod caps;
mod cmk;
mod connect;
mod cost;
mod disruptive;
mod entra;
mod firewall;
mod network;
mod plan;
pub(crate) mod record;
mod replica;
mod roles;
mod server;
mod target;

use sw_core::{Error, Result};

pub use args::AzureCmd;

/// Run `azure`.
pub fn run(cmd: AzureCmd, pretty: bool) -> Result<()> {
    match (cmd.sub, cmd.target) {
        (Some(args::AzureSub::Replica(a)), _) => replica::run(&a, pretty),
        (Some(args::AzureSub::Status(a)), _) => admin::status(&a, pretty),
        (Some(args::AzureSub::Delete(a)), _) => admin::delete(&a, pretty),
        (None, Some(t)) => apply::run(&t, &cmd.apply, pretty),
        (None, None) => Err(Error::usage(
            "sw-provision azure needs --subscription, --resource-group and --name",
        )),
    }
}
