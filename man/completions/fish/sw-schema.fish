# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_schema_global_optspecs
    string join \n v/verbose q/quiet pretty h/help V/version
end

function __fish_sw_schema_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sw_schema_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sw_schema_using_subcommand
    set -l cmd (__fish_sw_schema_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sw-schema -n "__fish_sw_schema_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -s V -l version -d 'Print version'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "new" -d 'Create the next migration pair (NNNN_NAME.up.sql, NNNN_NAME.down.sql)'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "lint" -d 'Check every migration for operations that block a busy table (exit 65 on unacknowledged findings)'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "up" -d 'Apply pending migrations (all, or up to --to); resume a no-transaction one that stopped part-way'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "down" -d 'Revert applied migrations with their down files (one by default)'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "status" -d 'Where the database stands: current version, pending, changed, missing, failed (exit 65 unless consistent)'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "history" -d 'The log: every apply, revert, failure, retry and repair, with who ran it'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "repair" -d 'Re-stamp an applied migration\'s checksums to its files now, recorded with who and why'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "seed" -d 'Create the administrator (password to a 0600 file only) and, with --demo, three demo VPN servers'
complete -c sw-schema -n "__fish_sw_schema_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand new" -l dir -d 'The migrations directory' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand new" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand new" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand new" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand new" -s h -l help -d 'Print help'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand lint" -l dir -d 'The migrations directory' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand lint" -l lock-timeout -d 'The lock_timeout migrations will run with (as `up --lock-timeout`); 0 makes every locking statement a finding' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand lint" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand lint" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand lint" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand lint" -s h -l help -d 'Print help'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l to -d 'Apply up to and including this version' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l lock-wait -d 'How long to wait for another deployer\'s lock before exiting 75' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l index-lock-timeout -d 'lock_timeout for CREATE/DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY (0 = none: cutting their waits for old snapshots leaves an INVALID index)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l index-statement-timeout -d 'statement_timeout for those concurrent statements (0 = none)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l lock-retries -d 'Retries of a migration (or of a no-transaction statement) whose lock was not granted within lock_timeout' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l retry-delay -d 'Pause before the first retry; doubled for each next one (at most 30s), plus up to 25% jitter' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l dir -d 'The migrations directory' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l schema -d 'Schema of the version table (sw_schema_migrations) and its log; also the migrations\' search_path. The deployer lock is per database and schema' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l lock-timeout -d 'lock_timeout for each migration statement; a lock not granted in time is retried (--lock-retries)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l dry-run -d 'Print each migration\'s SQL and the locks each statement takes; change nothing'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l allow-lint -d 'Run even when the lint finds unacknowledged dangerous operations'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l steps -d 'Revert this many of the latest applied migrations' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l to -d 'Revert every migration above this version (0: all of them)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l lock-wait -d 'How long to wait for another deployer\'s lock before exiting 75' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l index-lock-timeout -d 'lock_timeout for CREATE/DROP INDEX CONCURRENTLY and REINDEX CONCURRENTLY (0 = none: cutting their waits for old snapshots leaves an INVALID index)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l index-statement-timeout -d 'statement_timeout for those concurrent statements (0 = none)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l lock-retries -d 'Retries of a migration (or of a no-transaction statement) whose lock was not granted within lock_timeout' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l retry-delay -d 'Pause before the first retry; doubled for each next one (at most 30s), plus up to 25% jitter' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l dir -d 'The migrations directory' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l schema -d 'Schema of the version table (sw_schema_migrations) and its log; also the migrations\' search_path. The deployer lock is per database and schema' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l lock-timeout -d 'lock_timeout for each migration statement; a lock not granted in time is retried (--lock-retries)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l dry-run -d 'Print each migration\'s SQL and the locks each statement takes; change nothing'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l allow-lint -d 'Run even when the lint finds unacknowledged dangerous operations'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l dir -d 'The migrations directory' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l schema -d 'Schema of the version table (sw_schema_migrations) and its log; also the migrations\' search_path. The deployer lock is per database and schema' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l lock-timeout -d 'lock_timeout for each migration statement; a lock not granted in time is retried (--lock-retries)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l schema -d 'Schema of the version table (sw_schema_migrations) and its log; also the migrations\' search_path. The deployer lock is per database and schema' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l lock-timeout -d 'lock_timeout for each migration statement; a lock not granted in time is retried (--lock-retries)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l version -d 'The applied migration to re-stamp' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l reason -d 'Why the applied file was changed (recorded in the log)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l dir -d 'The migrations directory' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l schema -d 'Schema of the version table (sw_schema_migrations) and its log; also the migrations\' search_path. The deployer lock is per database and schema' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l lock-timeout -d 'lock_timeout for each migration statement; a lock not granted in time is retried (--lock-retries)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand repair" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l admin-email -d 'The administrator\'s email (matched without case)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l password-file -d 'Where the new administrator\'s password is written (mode 0600), the only place it ever goes' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l schema -d 'Schema of the version table (sw_schema_migrations) and its log; also the migrations\' search_path. The deployer lock is per database and schema' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l lock-timeout -d 'lock_timeout for each migration statement; a lock not granted in time is retried (--lock-retries)' -r
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l demo -d 'Also create the three demo VPN servers (US East, EU West, Asia Southeast)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand seed" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "new" -d 'Create the next migration pair (NNNN_NAME.up.sql, NNNN_NAME.down.sql)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "lint" -d 'Check every migration for operations that block a busy table (exit 65 on unacknowledged findings)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "up" -d 'Apply pending migrations (all, or up to --to); resume a no-transaction one that stopped part-way'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "down" -d 'Revert applied migrations with their down files (one by default)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "status" -d 'Where the database stands: current version, pending, changed, missing, failed (exit 65 unless consistent)'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "history" -d 'The log: every apply, revert, failure, retry and repair, with who ran it'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "repair" -d 'Re-stamp an applied migration\'s checksums to its files now, recorded with who and why'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "seed" -d 'Create the administrator (password to a 0600 file only) and, with --demo, three demo VPN servers'
complete -c sw-schema -n "__fish_sw_schema_using_subcommand help; and not __fish_seen_subcommand_from new lint up down status history repair seed help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
