//! What each command promises: the exit codes it can really return and
//! the record kinds it prints. The xtask renders the man pages' EXIT
//! STATUS and JSON OUTPUT sections and `schemas/sw-provision/` from this.
//!
//! None of the commands runs an async runtime, so SIGINT and SIGTERM end
//! them by the signal; 75 comes from held locks, a pooler slow to stop,
//! and Azure's temporary failures.

use sw_core::Exit;
use sw_core::contract::{ALWAYS, CommandDoc};

use crate::azure::record as az;
use crate::local::record as local;

/// The codes every command that runs the server programs can return.
const SERVER: &[(u8, &str)] = &[
    (
        69,
        "the PostgreSQL server programs are not found, or the server cannot be reached or started",
    ),
    (78, "unknown --os-user, or a malformed env file"),
];

/// The codes of every ARM command beyond [`ALWAYS`].
const ARM: &[(u8, &str)] = &[
    (
        65,
        "Azure rejected the request (400/409/422, or a failed operation that asked for something invalid)",
    ),
    (
        69,
        "Azure Resource Manager or the token endpoint cannot be reached, or an operation failed",
    ),
    (
        75,
        "throttled or 5xx past the retries, an operation still running after --operation-timeout, the server busy with another operation, or another sw process writing to it",
    ),
    (77, "the credential was refused, or it may not do this (401/403)"),
    (
        78,
        "no valid subscription id, incomplete credentials, or a malformed env file",
    ),
];

fn with(mut d: CommandDoc, codes: &[(u8, &str)]) -> CommandDoc {
    for (code, meaning) in codes {
        d = d.exit(*code, meaning);
    }
    d
}

fn local(name: &str) -> CommandDoc {
    let d = CommandDoc::new(name).exits(ALWAYS);
    with(d, SERVER)
        .exit(
            64,
            "bad flags, a --param the server does not know, a pool larger than max_connections allows, or --dir holds a standby",
        )
        .exit(
            69,
            "the PostgreSQL server programs or pgbouncer are not found, or the server or the pooler cannot be reached or started",
        )
        .exit(
            65,
            "the state file or the server certificate is not what sw-provision wrote",
        )
        .exit(73, "the env file is a symlink, or the data directory is in the way")
        .exit(74, "I/O error")
        .exit(
            75,
            "another sw-provision run holds the directory, or the pooler did not stop in time",
        )
        .exit(
            77,
            "the server's OS user cannot reach --dir (a private parent directory), or permission denied",
        )
        .record::<local::LocalResult>()
}

fn status() -> CommandDoc {
    // No lock and no retries: 75 cannot happen here (see the module doc).
    let always: Vec<Exit> = ALWAYS.iter().copied().filter(|e| *e != Exit::TempFail).collect();
    with(CommandDoc::new("sw-provision status").exits(&always), SERVER)
        .exit(0, "the cluster runs")
        .exit(2, "the cluster exists and is stopped, or its pooler is stopped")
        .exit(65, "the state file is not what sw-provision wrote")
        .exit(66, "there is no cluster in --dir")
        .exit(74, "I/O error")
        .record::<local::StatusResult>()
}

fn destroy() -> CommandDoc {
    with(CommandDoc::new("sw-provision destroy").exits(ALWAYS), SERVER)
        .exit(64, "bad flags, or no --yes")
        .exit(65, "a state file is not what sw-provision wrote")
        .exit(66, "there is no cluster in --dir")
        .exit(74, "I/O error while removing files")
        .exit(
            75,
            "another sw-provision run holds the directory, or the pooler did not stop in time",
        )
        .exit(77, "permission denied")
        .record::<local::DestroyResult>()
}

fn replica() -> CommandDoc {
    with(CommandDoc::new("sw-provision replica").exits(ALWAYS), SERVER)
        .exit(64, "bad flags, an invalid slot name, or --dir is the primary's")
        .exit(65, "the primary's directory or a state file is not what sw-provision wrote")
        .exit(
            69,
            "the server programs are not found, the primary cannot be reached, pg_basebackup fails, or the standby does not stream within --timeout",
        )
        .exit(73, "--dir holds a cluster that is not a standby, or the env file is a symlink")
        .exit(74, "I/O error")
        .exit(75, "another sw-provision run holds the directory")
        .exit(77, "the server's OS user cannot reach --dir, or permission denied")
        .exit(
            78,
            "unknown --os-user, an env file without DATABASE_URL, or an --of that does not parse",
        )
        .record::<local::ReplicaResult>()
}

fn azure() -> CommandDoc {
    with(CommandDoc::new("sw-provision azure").exits(ALWAYS), ARM)
        .exit(
            64,
            "bad flags or flags that cannot go together (firewall flags with private access, --entra-admin with password sign-in, a customer-managed key with geo-redundant backup but no geo key, the same file for --env-file and --admin-env-file), or a server to create without --location",
        )
        .exit(
            65,
            "checked before any write: what is asked for is not offered in the location, a subnet not delegated to Flexible Server, a private DNS zone that does not exist or is misnamed, a managed identity that does not exist, what only a create can choose (network, encryption type, geo-redundant backup), a major version upgrade Azure would refuse (replicas, extensions, target version); also storage would shrink, an unknown parameter or value, or Azure rejected the request",
        )
        .exit(66, "the resource group does not exist")
        .exit(
            69,
            "Azure cannot be reached or an operation failed, --allow-ip auto cannot learn this host's address, or the server cannot be reached for the application role (the message says how to let this host in)",
        )
        .exit(70, "SQL of the application role step failed on the server")
        .exit(73, "an env file is a symlink")
        .exit(74, "an env file cannot be written")
        .exit(
            77,
            "the credential was refused, or it may not do this (401/403), or the server refused the administrator's password or the SQL the role step runs",
        )
        .record::<az::Request>()
        .record::<az::AzureResult>()
}

fn azure_replica() -> CommandDoc {
    with(CommandDoc::new("sw-provision azure replica").exits(ALWAYS), ARM)
        .exit(64, "bad flags, or an --of that is no server name or ARM id")
        .exit(
            65,
            "the primary does not exist, a server of that name is not a replica, or Azure rejected the request",
        )
        .exit(66, "the resource group or the env file does not exist")
        .exit(
            69,
            "Azure cannot be reached, an operation failed, or the replica has no host name yet",
        )
        .exit(73, "the env file is a symlink")
        .exit(74, "the env file cannot be written")
        .exit(
            78,
            "no valid subscription id, incomplete credentials, or an env file without DATABASE_URL",
        )
        .record::<az::Request>()
        .record::<az::ReplicaResult>()
}

fn azure_status() -> CommandDoc {
    with(CommandDoc::new("sw-provision azure status").exits(ALWAYS), ARM)
        .exit(0, "the server is ready")
        .exit(1, "the server is busy with an operation (updating, starting, ...)")
        .exit(
            2,
            "the server is not serving (stopped, disabled, inaccessible, being dropped)",
        )
        .exit(66, "there is no such server (or resource group)")
        .record::<az::StatusResult>()
}

fn azure_delete() -> CommandDoc {
    with(CommandDoc::new("sw-provision azure delete").exits(ALWAYS), ARM)
        .exit(0, "the server was deleted, or was already gone")
        .exit(64, "bad flags, or no --yes")
        .record::<az::DeleteResult>()
}

/// One entry per man page.
pub fn docs() -> Vec<CommandDoc> {
    vec![
        local("sw-provision"),
        local("sw-provision local"),
        status(),
        destroy(),
        replica(),
        azure(),
        azure_replica(),
        azure_status(),
        azure_delete(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_follows_the_field_rule() {
        let mut kinds = 0;
        for d in docs() {
            for k in &d.records {
                kinds += 1;
                assert!(k.rule_violations().is_empty(), "{:?}", k.rule_violations());
            }
        }
        assert!(kinds >= 9);
        for k in [
            sw_core::contract::KindDoc::of::<crate::local::site::State>(),
            sw_core::contract::KindDoc::of::<crate::replica::ReplicaState>(),
        ] {
            assert!(k.rule_violations().is_empty(), "{:?}", k.rule_violations());
        }
    }

    #[test]
    fn every_page_has_a_contract() {
        let names: Vec<String> = docs().into_iter().map(|d| d.command).collect();
        let cmd = crate::command();
        let mut pages = vec!["sw-provision".to_owned()];
        for s in cmd.get_subcommands() {
            pages.push(format!("sw-provision {}", s.get_name()));
            for ss in s.get_subcommands() {
                pages.push(format!("sw-provision {} {}", s.get_name(), ss.get_name()));
            }
        }
        pages.retain(|p| !p.ends_with(" help"));
        pages.sort();
        let mut names = names;
        names.sort();
        assert_eq!(names, pages);
    }
}
