//! What the Azure paths promise, added to the commands' contracts in
//! `crate::docs`: the codes an Azure target adds (with their meaning for
//! it) and the records it prints; and `promote`, which is Azure's alone.

use sw_core::azure::flexible::ops::{AzureRequest, Unsupported};
use sw_core::contract::CommandDoc;

use super::{activate, audit, drill, promote, restore, runbook};

/// Add `meaning` for an Azure target to `code` (after what it means locally).
pub fn also(d: CommandDoc, code: u8, meaning: &str) -> CommandDoc {
    let text = match d.exits.iter().find(|(c, _)| *c == code) {
        Some((_, old)) => format!("{old}; with --azure: {meaning}"),
        None => format!("with --azure: {meaning}"),
    };
    d.exit(code, &text)
}

/// The codes of every request to ARM.
fn arm(d: CommandDoc) -> CommandDoc {
    let d = also(
        d,
        64,
        "no --server, a server name without --resource-group, or something Azure cannot do (an azure.unsupported record says what: LSN or named targets, restore in place, choosing a backup)",
    );
    let d = also(
        d,
        65,
        "Azure rejected the request or the operation failed with an error code it blames on the request (the line names the ARM code)",
    );
    let d = also(d, 66, "the server does not exist");
    let d = also(
        d,
        69,
        "Azure cannot be reached, or the operation failed on Azure's side (the line names the ARM code)",
    );
    let d = also(
        d,
        75,
        "throttled (429) or 5xx past the retries, an operation still running after --operation-timeout (run again to re-attach), another sw process writing to the server, or interrupted",
    );
    let d = also(d, 77, "Azure refused the token (401/403)");
    also(d, 78, "no valid subscription id, or incomplete credentials")
}

/// The codes of a restore into a new server.
fn restores(d: CommandDoc) -> CommandDoc {
    let d = also(
        d,
        65,
        "a point before the earliest restore point, in the future or beyond 35 days, or a geo-restore from a server without geo-redundant backup (refused before any write)",
    );
    also(
        d,
        73,
        "the new server exists and is not this restore (its sw-restore-source tag names another source or point)",
    )
}

/// The Azure additions to an existing command, by name.
pub fn extend(d: CommandDoc) -> CommandDoc {
    match d.command.as_str() {
        "sw-restore" => restores(arm(d))
            .record::<restore::AzureRestore>()
            .record::<AzureRequest>()
            .record::<Unsupported>(),
        "sw-restore drill" => {
            let d = also(
                restores(arm(d)),
                69,
                "the scratch server could not be deleted (delete it by hand), or never answered",
            );
            also(
                d,
                75,
                "SIGTERM or SIGINT: the scratch server is deleted first (or its delete accepted) and the drill logged",
            )
            .record::<drill::AzureDrill>()
        }
        "sw-restore activate" => also(
            also(
                restores(arm(d)),
                64,
                "the primary does not look down and --force was not given",
            ),
            69,
            "no HA, no replica and no --new-server for database_failure",
        )
        .record::<activate::AzureActivation>()
        .record::<audit::AzureAuditLine>()
        .record::<AzureRequest>(),
        "sw-restore runbook" => arm(d).record::<runbook::AzureRunbook>(),
        _ => d,
    }
}

/// `sw-restore promote`.
pub fn promote() -> CommandDoc {
    arm(CommandDoc::new("sw-restore promote")
        .exit(
            0,
            "the replica is promoted and its role is Primary (or, with --dry-run, the request printed)",
        )
        .exit(
            64,
            "usage error (bad flags), or no Azure target (a local standby is promoted by activate)",
        )
        .exit(65, "the server is not a read replica")
        .exit(70, "internal error")
        .exit(73, "the env file cannot be written")
        .exit(74, "I/O error"))
    .record::<promote::AzurePromote>()
    .record::<AzureRequest>()
}
