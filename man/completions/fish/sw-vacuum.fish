complete -c sw-vacuum -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-vacuum -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-vacuum -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-vacuum -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-vacuum -l database -d 'Databases to process (glob, repeatable; default: the target\'s database)' -r
complete -c sw-vacuum -l exclude-database -d 'Databases to leave alone (glob, repeatable)' -r
complete -c sw-vacuum -l table -d 'Tables to consider: glob on TABLE or SCHEMA.TABLE (repeatable; default: all)' -r
complete -c sw-vacuum -l exclude-table -d 'Tables to leave alone: glob on TABLE or SCHEMA.TABLE (repeatable)' -r
complete -c sw-vacuum -s j -l jobs -d 'Parallel jobs (one connection each), across tables' -r
complete -c sw-vacuum -l time-budget -d 'Stop starting work that will not fit in this window (judged from size and past runs) and cancel what is still running when it ends' -r
complete -c sw-vacuum -l state-file -d 'Where past durations are kept (default $XDG_STATE_HOME/sw/vacuum-state.json, else /var/lib/sw/vacuum-state.json as root, else ~/.local/state/sw/vacuum-state.json)' -r -F
complete -c sw-vacuum -l cost-delay -d 'vacuum_cost_delay for our sessions (0 = unthrottled, PostgreSQL\'s manual default; max 100ms)' -r
complete -c sw-vacuum -l cost-limit -d 'vacuum_cost_limit for our sessions' -r
complete -c sw-vacuum -l max-replication-lag -d 'Pause while a standby\'s replay lag is above this' -r
complete -c sw-vacuum -l max-connection-use -d 'Pause while client connections use more than this percentage of the usable slots' -r
complete -c sw-vacuum -l max-pause -d 'Give up on the remaining work after pausing this long in total for the guards' -r
complete -c sw-vacuum -l guard-interval -d 'How often to re-check the guards while paused' -r
complete -c sw-vacuum -l freeze-ratio -d 'Wraparound-urgent (VACUUM FREEZE, ranked first) at this fraction of autovacuum_freeze_max_age or autovacuum_multixact_freeze_max_age' -r
complete -c sw-vacuum -l freeze-age -d 'Also wraparound-urgent at this transaction-id age or more' -r
complete -c sw-vacuum -l min-dead-tuples -d 'VACUUM a table with at least this many dead tuples...' -r
complete -c sw-vacuum -l min-dead-ratio -d '...making up at least this fraction of its tuples' -r
complete -c sw-vacuum -l analyze-ratio -d 'ANALYZE when more than 50 + RATIO x rows were modified since the last analyze' -r
complete -c sw-vacuum -l index-bloat-ratio -d 'REINDEX a btree index whose estimated bloat is at least this fraction...' -r
complete -c sw-vacuum -l min-index-mb -d '...and that is at least this many MiB (smaller estimates are unreliable)' -r
complete -c sw-vacuum -l buffer-usage-limit -d 'BUFFER_USAGE_LIMIT for VACUUM and ANALYZE, e.g. 256MB (PostgreSQL 16 and later; ignored with a warning on older servers)' -r
complete -c sw-vacuum -l vacuum-full -d 'Run VACUUM FULL on this table (SCHEMA.TABLE, repeatable). Never done otherwise' -r
complete -c sw-vacuum -l lock-timeout -d 'lock_timeout for every statement: the longest any lock wait may take' -r
complete -c sw-vacuum -l statement-timeout -d 'not taken (0 only): each statement may run until --time-budget ends' -r
complete -c sw-vacuum -l application-name -d 'application_name for the sessions (default: sw-vacuum)' -r
complete -c sw-vacuum -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-vacuum -s q -l quiet -d 'Only errors on stderr'
complete -c sw-vacuum -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-vacuum -l dry-run -d 'Print the ranked plan (vacuum.plan records) and change nothing'
complete -c sw-vacuum -l no-reindex -d 'Never REINDEX or drop invalid indexes'
complete -c sw-vacuum -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-vacuum -s V -l version -d 'Print version'
