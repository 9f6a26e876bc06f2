# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_backup_global_optspecs
    string join \n v/verbose q/quiet pretty h/help V/version
end

function __fish_sw_backup_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sw_backup_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sw_backup_using_subcommand
    set -l cmd (__fish_sw_backup_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sw-backup -n "__fish_sw_backup_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -s h -l help -d 'Print help'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -s V -l version -d 'Print version'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "setup" -d 'Register a local cluster in the repository and write its archive settings (archive_mode, archive_command, wal_level)'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "wal-push" -d 'Archive one WAL file (the archive_command): checked, compressed, hashed, durable before exit 0'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "prune" -d 'Remove backups and WAL outside the retention window (pinned backups and history files are kept)'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "sync" -d 'Copy what the off-site repository (setup --offsite) lacks: queued WAL, then backups, then any WAL the queue missed'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "rekey" -d 'Encrypted repository: add or remove a wrapping of the data key (a key file or passphrase); no data is rewritten'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "delete" -d 'Delete an on-demand backup of an Azure Flexible Server (local backups are removed by prune)'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "ltr-check" -d 'Azure: check that a long-term retention backup can start now'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "ltr-start" -d 'Azure: start a long-term retention backup into a storage container (SAS URL read from a file) and wait for it'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "ltr-list" -d 'Azure: list the long-term retention backups'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "full" -d 'Take a full base backup of a running cluster; complete only once the WAL it needs is stored'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "list" -d 'One record per complete backup with the restorable window it gives'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "check" -d 'Monitoring check of archiving and backups (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "verify" -d 'Re-hash every stored object and check WAL continuity; non-zero on any problem'
complete -c sw-backup -n "__fish_sw_backup_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l pgdata -d 'The cluster\'s data directory' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l sw-backup -d 'The sw-backup binary archive_command runs (default: this one); the server\'s OS user must be able to run it' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l archive-timeout -d 'archive_timeout: force a segment switch after this long so idle periods are archived too (bounds the RPO)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l offsite -d 'Link an off-site azure:// repository (created when missing, encrypted when FILE names a key): an env file of SW_BACKUP_REPO, SW_AZURE_BLOB_ENDPOINT, SW_AZURE_CREDENTIALS, SW_AZURE_CA_FILE and SW_BACKUP_KEY_FILE or SW_BACKUP_PASSPHRASE_FILE. wal-push then queues every segment for it and `sync` copies' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l encrypt -d 'Create the repository encrypted (AES-256-GCM, names by HMAC), unlocked by --key-file (created when missing) or --passphrase-file; every later command that reads contents needs the same flag'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand setup" -s h -l help -d 'Print help'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l pgdata -d 'The cluster\'s data directory (default: the current directory, where the archiver runs archive_command)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l timeout -d 'Give up (exit 75, nothing acknowledged) when archiving this file takes longer, so a hung filesystem cannot stall the archiver for ever' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand wal-push" -s h -l help -d 'Print help'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l retention-days -d 'Keep everything needed to restore to any point within this many days' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l min-full -d 'Always keep at least this many newest backups' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l chunk-grace -d 'Keep chunks no backup references when stored less than this long ago (a chunked backup still running on another host)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l dry-run -d 'Print what would be removed and remove nothing'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand prune" -s h -l help -d 'Print help'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l wal-only -d 'Copy the queued and missing WAL only, not the backups'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand sync" -s h -l help -d 'Print help'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l add-key-file -d 'Add a wrapping of the data key by this key file (created, mode 0600, when missing)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l add-passphrase-file -d 'Add a wrapping of the data key by the passphrase on this file\'s first line' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l label -d 'Label of the added wrapping (default: key-<fingerprint>, or passphrase, passphrase-2, ...)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l remove -d 'Remove the wrapping with this label (repeatable); the key it stood for stops opening the repository. The last wrapping is never removed' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand rekey" -s h -l help -d 'Print help'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l backup -d 'The on-demand backup to delete (its name, as `list --azure` prints it)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l yes -d 'Really delete it'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l backup -d 'The name the long-term backup is to have' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l backup -d 'The name the long-term backup is to have' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l sas-file -d 'File holding the target container\'s SAS URL (one per line; mode 0600: a SAS URL is a credential and never goes on the command line)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l no-wait -d 'Return once Azure accepted the backup instead of waiting until it ends'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand ltr-list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l label -d 'A label stored with the backup' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l workers -d 'Server-side zstd compression workers' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l level -d 'zstd level' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l chunk-kib -d 'Chunk size of a chunked backup, in KiB (64 to 1024, a multiple of the 8 KiB page)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l wal-timeout -d 'How long to wait for the WAL the backup needs to be archived' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l pin -d 'Exempt this backup from retention (a manual, long-term backup)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l no-page-checks -d 'Do not check page checksums while backing up (they are checked whenever the cluster has data checksums)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l incremental -d 'Store the backup as content-addressed chunks, only those the repository lacks, compared with the newest backup (a chunked full when there is no chunked backup yet); it restores alone, like a full'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l differential -d 'As --incremental, compared with the newest chunked full backup'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l chunked -d 'A full backup stored as chunks (what later --incremental and --differential backups share chunks with)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l to-offsite -d 'Then copy the backup, and the WAL queued, to the off-site repository the primary links (`setup --offsite`)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand full" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l backup-warn -d 'WARNING when the newest complete backup is older than this' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l backup-crit -d 'CRITICAL when the newest complete backup is older than this' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l archive-warn -d 'WARNING when nothing was archived for this long' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l live-timeout -d 'How long the live test waits for the segment' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l min-free-percent -d 'WARNING below this much free space on the repository\'s filesystem (percent; CRITICAL below half of it)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l offsite-lag-warn -d 'WARNING when WAL has waited longer than this for the linked off-site repository' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l offsite-lag-crit -d 'CRITICAL past this' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l no-live -d 'Skip the live test (pg_switch_wal() and waiting until the segment is stored)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l jobs -d 'Hashing threads' -r
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "setup" -d 'Register a local cluster in the repository and write its archive settings (archive_mode, archive_command, wal_level)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "wal-push" -d 'Archive one WAL file (the archive_command): checked, compressed, hashed, durable before exit 0'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "prune" -d 'Remove backups and WAL outside the retention window (pinned backups and history files are kept)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "sync" -d 'Copy what the off-site repository (setup --offsite) lacks: queued WAL, then backups, then any WAL the queue missed'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "rekey" -d 'Encrypted repository: add or remove a wrapping of the data key (a key file or passphrase); no data is rewritten'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "delete" -d 'Delete an on-demand backup of an Azure Flexible Server (local backups are removed by prune)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "ltr-check" -d 'Azure: check that a long-term retention backup can start now'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "ltr-start" -d 'Azure: start a long-term retention backup into a storage container (SAS URL read from a file) and wait for it'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "ltr-list" -d 'Azure: list the long-term retention backups'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "full" -d 'Take a full base backup of a running cluster; complete only once the WAL it needs is stored'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "list" -d 'One record per complete backup with the restorable window it gives'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "check" -d 'Monitoring check of archiving and backups (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "verify" -d 'Re-hash every stored object and check WAL continuity; non-zero on any problem'
complete -c sw-backup -n "__fish_sw_backup_using_subcommand help; and not __fish_seen_subcommand_from setup wal-push prune sync rekey delete ltr-check ltr-start ltr-list full list check verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
