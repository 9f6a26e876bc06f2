//! What the Azure paths promise, added to the commands' contracts in
//! `crate::docs`: the codes an Azure target adds (with their meaning for
//! it) and the records it prints; and the Azure-only commands.

use sw_core::azure::flexible::ops::Unsupported;
use sw_core::contract::CommandDoc;

use super::{backups, check, ltr};

/// Add `meaning` for an Azure target to `code` (after what it means locally).
pub fn also(mut d: CommandDoc, code: u8, meaning: &str) -> CommandDoc {
    let text = match d.exits.iter().find(|(c, _)| *c == code) {
        Some((_, old)) => format!("{old}; with --azure: {meaning}"),
        None => format!("with --azure: {meaning}"),
    };
    d = d.exit(code, &text);
    d
}

/// The codes of every request to ARM.
fn arm(d: CommandDoc) -> CommandDoc {
    let d = also(
        d,
        64,
        "no --server, a server name without --resource-group, or something Azure cannot do (an azure.unsupported record says what)",
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
    let d = also(
        d,
        77,
        "Azure refused the token (401/403) or the credentials were refused",
    );
    also(d, 78, "no valid subscription id, or incomplete credentials")
}

/// The Azure additions to an existing command, by name.
pub fn extend(d: CommandDoc) -> CommandDoc {
    match d.command.as_str() {
        "sw-backup full" => arm(d).record::<backups::AzureFull>().record::<Unsupported>(),
        "sw-backup list" => arm(d).record::<backups::AzureBackup>(),
        "sw-backup verify" => also(
            d,
            64,
            "always: Azure does not expose WAL (an azure.unsupported record says so)",
        )
        .record::<Unsupported>(),
        "sw-backup check" => also(d, 3, "UNKNOWN also when Azure cannot be asked about the server")
            .record::<check::AzureCheckItem>()
            .record::<check::AzureCheckSummary>(),
        _ => d,
    }
}

fn base(command: &str, ok: &str) -> CommandDoc {
    arm(CommandDoc::new(command)
        .exit(0, ok)
        .exit(64, "usage error (bad flags or arguments)")
        .exit(70, "internal error")
        .exit(74, "I/O error writing stdout"))
}

/// The Azure-only commands.
pub fn commands() -> Vec<CommandDoc> {
    vec![
        also(
            base(
                "sw-backup delete",
                "the on-demand backup is deleted (or was already gone)",
            ),
            65,
            "the backup is an automatic one (Azure deletes those itself)",
        )
        .exit(
            64,
            "usage error: no --yes, a bad backup name, or no Azure target (local backups are removed by prune)",
        )
        .record::<backups::AzureDelete>(),
        base("sw-backup ltr-check", "Azure's pre-check passed").record::<ltr::LtrCheck>(),
        also(
            base(
                "sw-backup ltr-start",
                "the long-term backup succeeded (with --no-wait: was accepted)",
            ),
            65,
            "--sas-file holds no https SAS URL",
        )
        .exit(66, "the server, or --sas-file, does not exist")
        .exit(
            69,
            "Azure cannot be reached, or the long-term backup failed or was cancelled",
        )
        .record::<ltr::LtrBackup>(),
        base(
            "sw-backup ltr-list",
            "the long-term backups are listed (none is no error)",
        )
        .record::<ltr::LtrBackup>(),
    ]
}
