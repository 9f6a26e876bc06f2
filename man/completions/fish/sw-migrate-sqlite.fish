# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_migrate_sqlite_global_optspecs
    string join \n v/verbose q/quiet pretty h/help V/version
end

function __fish_sw_migrate_sqlite_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sw_migrate_sqlite_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sw_migrate_sqlite_using_subcommand
    set -l cmd (__fish_sw_migrate_sqlite_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -s h -l help -d 'Print help'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -s V -l version -d 'Print version'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -f -a "plan" -d 'Print the migration plan as JSON: DDL per table, casts and reasons, indexes, constraints, foreign keys, views, and what cannot be translated'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -f -a "run" -d 'Migrate: plan (or read --plan), load through a staging schema, verify, switch in'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand plan" -l schema -d 'Target schema recorded in the plan' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand plan" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand plan" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand plan" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand plan" -s h -l help -d 'Print help'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l plan -d 'Execute this (possibly edited) plan instead of planning' -r -F
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l schema -d 'Target schema (default: public, or the plan\'s)' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -s j -l jobs -d 'Tables loaded at once (each with a reader thread and a PostgreSQL session); --data-only loads in one session, one transaction' -r
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l on-error -d 'What to do with a value that breaks a rule' -r -f -a "stop\t'Stop the run (exit 65) naming table, rowid, column, value and rule'
reject\t'Write the row to the reject file and go on (the run then exits 65 once the rest is loaded and verified)'"
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l reject-file -d 'Where --on-error=reject writes rejected rows (JSON Lines; must not exist; created at the first rejected row). Default: STEM.rejects.jsonl beside the --plan file, else beside the source' -r -F
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l verify -d 'Compare each table\'s row count and content checksum on both sides (the default)'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l no-verify -d 'Skip the per-table row count and checksum comparison'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l data-only -d 'Load into tables that already exist in the target schema (columns mapped by name), in one transaction'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l truncate -d 'With --data-only: empty the target tables first (in the same transaction)'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l strict -d 'Refuse (exit 65, before anything is written) a plan that relaxes or leaves out anything it names: a key made UNIQUE, a NOT VALID foreign key or CHECK, values made NULL, a dropped default, a colliding key, a skipped trigger, view or virtual table'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand help; and not __fish_seen_subcommand_from plan run help" -f -a "plan" -d 'Print the migration plan as JSON: DDL per table, casts and reasons, indexes, constraints, foreign keys, views, and what cannot be translated'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand help; and not __fish_seen_subcommand_from plan run help" -f -a "run" -d 'Migrate: plan (or read --plan), load through a staging schema, verify, switch in'
complete -c sw-migrate-sqlite -n "__fish_sw_migrate_sqlite_using_subcommand help; and not __fish_seen_subcommand_from plan run help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
