# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_restore_global_optspecs
    string join \n v/verbose q/quiet pretty repo= pgdata= target-time= target-lsn= target-name= immediate latest backup= system-identifier= as-primary start port= socket-dir= timeout= bindir= os-user= superuser= sw-restore= h/help V/version
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
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l immediate -d 'Stop as soon as the backup is consistent'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l latest -d 'Recover to the end of the archived WAL'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l as-primary -d 'Keep archive_mode and archive_command from the backup (the copy becomes the primary that archives)'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -l start -d 'Start the copy, wait until the target is reached, promote it and report what was reached'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s h -l help -d 'Print help'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -s V -l version -d 'Print version'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "wal-fetch" -d 'Fetch one WAL file from the repository (the restore_command): 0 found, 1 absent, 126 corrupt or unreadable'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "drill" -d 'Restore the newest backup (or a given time) into a scratch directory, start and check it, record the RTO, clean up'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "activate" -d 'Disaster recovery: promote the standby or restore the newest backup (database_failure), or restore to just before the damage (data_corruption); updates the env file, prints a checklist, writes an audit log'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "runbook" -d 'Write a Markdown recovery runbook from the repository state and the drill log (measured RTO and RPO)'
complete -c sw-restore -n "__fish_sw_restore_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l repo -d 'The backup repository (a directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l area -d 'The repository area (pg<major>-<system identifier>); needed when the repository holds several' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand wal-fetch" -s h -l help -d 'Print help'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l repo -d 'The backup repository (a directory)' -r -F
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
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l keep -d 'Keep the copy running and its directory (for inspection) instead of deleting it'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand drill" -s h -l help -d 'Print help'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l repo -d 'The backup repository (a directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l incident -d 'What happened' -r -f -a "database_failure\t'The primary is gone: promote the standby or restore the newest backup'
data_corruption\t'Data was damaged at a known time: restore to just before it'"
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l before -d 'For data_corruption: when the damage happened (RFC 3339); the restore stops just before it' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l standby-pgdata -d 'A standby to promote on database_failure (its data directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l pgdata -d 'Where to restore the new primary (missing or empty directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l port -d 'Port of the new primary (the restored copy, or the promoted standby)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l host -d 'Host applications use to reach the new primary (written to the env file)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l socket-dir -d 'Unix socket directory for a restored primary (default /tmp)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l env-file -d 'Env file whose DATABASE_URL is pointed at the new primary (user, password and options kept)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l audit-log -d 'Audit log (JSON Lines; default: audit.jsonl in the repository area)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l superuser -d 'Database superuser used to check the started copy over its socket' -r
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l sw-restore -d 'The sw-restore binary restore_command runs (default: this one); the server\'s OS user must be able to run it' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand activate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l repo -d 'The backup repository (a directory)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l out -d 'Where to write the runbook (Markdown; replaced atomically)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l env-file -d 'The env file applications read (named in the procedures)' -r -F
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand runbook" -s h -l help -d 'Print help'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch drill activate runbook help" -f -a "wal-fetch" -d 'Fetch one WAL file from the repository (the restore_command): 0 found, 1 absent, 126 corrupt or unreadable'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch drill activate runbook help" -f -a "drill" -d 'Restore the newest backup (or a given time) into a scratch directory, start and check it, record the RTO, clean up'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch drill activate runbook help" -f -a "activate" -d 'Disaster recovery: promote the standby or restore the newest backup (database_failure), or restore to just before the damage (data_corruption); updates the env file, prints a checklist, writes an audit log'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch drill activate runbook help" -f -a "runbook" -d 'Write a Markdown recovery runbook from the repository state and the drill log (measured RTO and RPO)'
complete -c sw-restore -n "__fish_sw_restore_using_subcommand help; and not __fish_seen_subcommand_from wal-fetch drill activate runbook help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
