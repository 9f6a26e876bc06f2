# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_restore_global_optspecs
    string join \n v/verbose q/quiet pretty repo= azure-endpoint= azure-credentials= azure-ca-file= azure-block-mib= key-file= passphrase-file= pgdata= target-time= target-lsn= target-name= immediate latest backup= system-identifier= as-primary start port= socket-dir= timeout= bindir= os-user= superuser= sw-restore= azure server= subscription= resource-group= auth= arm-endpoint= token-endpoint= poll-interval= operation-timeout= new-server= geo location= ha= zone= subnet= private-dns-zone= env-file= credentials-from= dry-run h/help V/version
end

function __fish_sw_restore_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sw_restore_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sw_restore_using_subcommand
    set -l cmd (__fish_sw_restore_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sw-restore -n "__fish_sw_restore_needs_command" -l repo -d 'The backup repository (a directory; required)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l pgdata -d 'The data directory to restore into (must be missing or empty; required)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l target-time -d 'Recover to this time (RFC 3339, e.g. 2026-11-26T10:15:00Z): transactions committed at or before it are kept' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l target-lsn -d 'Recover to this WAL location (e.g. 0/3000060), inclusive' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l target-name -d 'Recover to a restore point made with pg_create_restore_point()' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l backup -d 'Restore this backup instead of the newest one that fits the target' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l system-identifier -d 'The cluster to restore, when the repository holds several' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l port -d 'Port for the copy (written to its settings)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l socket-dir -d 'Unix socket directory for the copy (default with --start: /tmp)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l timeout -d 'How long --start waits for recovery to reach the target' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l superuser -d 'Database superuser used to check the started copy over its socket' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l sw-restore -d 'The sw-restore binary restore_command runs (default: this one); the server\'s OS user must be able to run it' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l new-server -d 'The new server to restore into (Azure restores never overwrite a server)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l location -d 'The region of a geo-restore (default: the source region\'s pair)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l ha -d 'High availability of the new server (default: the source\'s)' -r -f -a "disabled\t''
same-zone\t''
zone-redundant\t''"
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l zone -d 'Availability zone of the new server (default: Azure\'s choice)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l subnet -d 'Delegated subnet (ARM id) of the new server (default: the source\'s, in the same region)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l private-dns-zone -d 'Private DNS zone (ARM id) of the new server (default: the source\'s, in the same region)' -r
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l env-file -d 'Env file the new server\'s connection strings are written to (atomic, 0600, other keys kept)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l credentials-from -d 'Env file whose DATABASE_URL holds the credentials (default: --env-file; a restored server keeps the source\'s administrator and password)' -r -F
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l immediate -d 'Stop as soon as the backup is consistent'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l latest -d 'Recover to the end of the archived WAL'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l as-primary -d 'Keep archive_mode and archive_command from the backup (the copy becomes the primary that archives)'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l start -d 'Start the copy, wait until the target is reached, promote it and report what was reached'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l geo -d 'Geo-restore into another region (the source must keep geo-redundant backups)'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l dry-run -d 'Print the request that would be sent, send nothing'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s V -l version -d 'Print version'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "wal-fetch" -d 'Fetch one WAL file from the repository (the restore_command): 0 found, 1 absent, 126 corrupt or unreadable'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "promote" -d 'Azure: promote a read replica (planned switchover or forced standalone) and wait for its role to change'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "drill" -d 'Restore the newest backup (or a given time) into a scratch directory, start and check it, record the RTO, clean up'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "runbook" -d 'Write a Markdown recovery runbook from the repository state and the drill log (measured RTO and RPO)'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "activate" -d 'Disaster recovery: promote the standby or restore the newest backup (database_failure), or restore to just before the damage (data_corruption); updates the env file, prints a checklist, writes an audit log'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l area -d 'The repository area (pg<major>-<system identifier>); needed when the repository holds several' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -s h -l help -d 'Print help'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l mode -d 'Switch roles with the primary (switchover) or make the replica an independent primary (standalone)' -r -f -a "switchover\t'The replica and its primary swap roles'
standalone\t'The replica becomes an independent primary'"
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l env-file -d 'Env file the promoted server\'s connection strings are written to (atomic, 0600, other keys kept)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l credentials-from -d 'Env file whose DATABASE_URL holds the credentials (default: --env-file)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l forced -d 'Do not wait for the replica to catch up (promoteOption Forced; what a lost primary needs). Default: Planned'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l dry-run -d 'Print the request that would be sent, send nothing'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand promote" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l target-time -d 'Restore to this time instead of the end of the archive (RFC 3339)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l system-identifier -d 'The cluster to drill, when the repository holds several' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l sql -d 'SQL file run against the copy (database postgres); any error fails the drill' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l expect-rows -d 'Row counts the copy must reach, JSON Lines of {"database", "schema", "table", "min_rows"} (as --save-rows writes them); a missing table or fewer rows fails the drill' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l save-rows -d 'After the checks pass, write every user table\'s row count in the copy to FILE (JSON Lines in the --expect-rows format), as the expectation for later drills' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l scratch -d 'Parent directory for the scratch copy (default: the system temp directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l superuser -d 'Database superuser used to check the started copy over its socket' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l sw-restore -d 'The sw-restore binary restore_command runs (default: this one); the server\'s OS user must be able to run it' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l credentials-from -d 'Env file whose DATABASE_URL holds the credentials the checks connect with (the source\'s administrator; the scratch server keeps its password). SW_AZURE_HOST_OVERRIDE=PATTERN=ADDR:PORT sends the connection elsewhere, the certificate still checked against the host name' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l drill-log -d 'The drill log, a local file (JSON Lines; default: drills.jsonl in a directory repository\'s area, none for an azure:// repository, $XDG_STATE_HOME/sw/azure/SERVER/drills.jsonl for a Flexible Server)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l scratch-server -d 'Name of the scratch server (default SERVER-drill-YYYYMMDDHHMMSS)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l connect-timeout-after-ready -d 'How long to wait for the scratch server to answer once Azure says it is ready' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l keep -d 'Keep the copy running and its directory (for inspection) instead of deleting it'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l out -d 'Where to write the runbook (Markdown; replaced atomically)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l env-file -d 'The env file applications read (named in the procedures)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l drill-log -d 'The drill log (default $XDG_STATE_HOME/sw/azure/SERVER/drills.jsonl)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l audit-log -d 'The activation audit log (default $XDG_STATE_HOME/sw/azure/SERVER/audit.jsonl)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l rto-target -d 'The recovery time promised' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l rpo-target -d 'The recovery point promised (the data that may be lost)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l azure-endpoint -d 'Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l azure-credentials -d 'Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l azure-ca-file -d 'Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system\'s' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l azure-block-mib -d 'Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l key-file -d 'Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l passphrase-file -d 'File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l incident -d 'What happened' -r -f -a "database_failure\t'The primary is gone: promote the standby or restore the newest backup'
data_corruption\t'Data was damaged at a known time: restore to just before it'
region_failure\t'The primary\'s region is down: with --azure, promote a cross-region replica or geo-restore into the paired region; for a local cluster, restore the newest point from the off-site (azure://) repository'"
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l before -d 'For data_corruption: when the damage happened (RFC 3339); the restore stops just before it' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l standby-pgdata -d 'A standby to promote on database_failure (its data directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l pgdata -d 'Where to restore the new primary (missing or empty directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l host -d 'Host applications use to reach the new primary (written to the env file)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l socket-dir -d 'Unix socket directory for a restored primary (default /tmp)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l env-file -d 'Env file whose DATABASE_URL is pointed at the new primary (user, password and options kept)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l audit-log -d 'Audit log (JSON Lines; default: audit.jsonl in the repository area, or in the state directory for an azure:// repository)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l superuser -d 'Database superuser used to check the started copy over its socket' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l sw-restore -d 'The sw-restore binary restore_command runs (default: this one); the server\'s OS user must be able to run it' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l new-server -d 'The new server a restore goes into (default PRIMARY-REGION for a geo-restore, PRIMARY-pitr-TIME for data_corruption)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l location -d 'The region of a geo-restore (default: the primary region\'s pair)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l credentials-from -d 'Env file whose DATABASE_URL holds the credentials (default: --env-file)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l repo -d 'The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l port -d 'Port of the new primary (the restored copy, or the promoted standby)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l force -d 'Go ahead although the primary still looks up (or cannot be checked)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l dry-run -d 'Rehearse: do the reads and the checks, print the exact requests, write nothing'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch promote drill runbook activate help" -f -a "wal-fetch" -d 'Fetch one WAL file from the repository (the restore_command): 0 found, 1 absent, 126 corrupt or unreadable'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch promote drill runbook activate help" -f -a "promote" -d 'Azure: promote a read replica (planned switchover or forced standalone) and wait for its role to change'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch promote drill runbook activate help" -f -a "drill" -d 'Restore the newest backup (or a given time) into a scratch directory, start and check it, record the RTO, clean up'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch promote drill runbook activate help" -f -a "runbook" -d 'Write a Markdown recovery runbook from the repository state and the drill log (measured RTO and RPO)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch promote drill runbook activate help" -f -a "activate" -d 'Disaster recovery: promote the standby or restore the newest backup (database_failure), or restore to just before the damage (data_corruption); updates the env file, prints a checklist, writes an audit log'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch promote drill runbook activate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
