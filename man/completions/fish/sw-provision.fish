# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_provision_global_optspecs
    string join \n v/verbose q/quiet pretty dir= bindir= os-user= port= listen= allow= host= cert-name= database= role= env-file= param= memory= cpus= storage= max-connections= app-statement-timeout= app-lock-timeout= sqlalchemy-driver= rotate-password dry-run pooler= pooler-port= pool-mode= pool-size= reserve-pool-size= max-client-conn= server-lifetime= query-wait-timeout= server-check-query= pgbouncer= start-timeout= h/help V/version
end

function __fish_sw_provision_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sw_provision_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sw_provision_using_subcommand
    set -l cmd (__fish_sw_provision_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sw-provision -n "__fish_sw_provision_needs_command" -l dir -d 'The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt)' -r -F
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l port -d 'TCP port' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l listen -d 'Addresses to listen on (listen_addresses; repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l allow -d 'Networks allowed to connect (TLS + SCRAM only; repeatable; default loopback)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l host -d 'Host name clients use (in the connection strings and the server certificate)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l cert-name -d 'More names for the server certificate (DNS names or IP addresses; repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l database -d 'The application database' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l role -d 'The application role (default: the database name)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l env-file -d 'Env file for the connection strings (default: DIR/app.env)' -r -F
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l param -d 'Set a server parameter, overriding the tuned value (repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l memory -d 'Memory to tune for (default: the host\'s, or its cgroup limit)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l cpus -d 'Cores to tune for (default: those available)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l storage -d 'Storage class, for random_page_cost and effective_io_concurrency' -r -f -a "ssd\t'Solid-state storage: random reads cost about as much as sequential ones'
hdd\t'Spinning disks'"
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l max-connections -d 'max_connections (work_mem is sized from it)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l app-statement-timeout -d 'statement_timeout of the application role\'s sessions (ALTER ROLE ... SET, so it holds through a transaction pooler; 0 for none)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l app-lock-timeout -d 'lock_timeout of the application role\'s sessions (ALTER ROLE ... SET; 0 for none)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l sqlalchemy-driver -d 'The driver DATABASE_URL_SQLALCHEMY names: an application without it fails with "No module named ..."' -r -f -a "psycopg2\t'psycopg2 (`psycopg2-binary`, the seed application\'s stack)'
psycopg\t'psycopg 3 (SQLAlchemy 2.0 or later)'"
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l pooler -d 'Put a connection pooler in front of the cluster (DATABASE_URL_POOLED in the env file); without the flag an existing one is kept as it is' -r -f -a "pgbouncer\t'PgBouncer (Debian\'s `pgbouncer` package), run as the cluster\'s OS user'
none\t'None: remove the directory\'s pooler (stop it; delete DIR/pgbouncer, the lookup role and function, and DATABASE_URL_POOLED)'"
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l pooler-port -d 'The pooler\'s TCP port (it listens on the --listen addresses)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l pool-mode -d 'Pool mode' -r -f -a "session\t'For the whole session (session state works as without a pooler)'
transaction\t'For one transaction (the default: the most clients per connection)'
statement\t'For one statement (no multi-statement transactions)'"
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l pool-size -d 'Server connections per database and role (default_pool_size; the seed\'s pool_size)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l reserve-pool-size -d 'Extra server connections once clients wait (reserve_pool_size; the seed\'s max_overflow)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l max-client-conn -d 'Most clients connected at once (max_client_conn)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l server-lifetime -d 'Close server connections older than this (server_lifetime; the seed\'s pool_recycle)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l query-wait-timeout -d 'Give up on a client waiting this long for a server connection (query_wait_timeout; the seed\'s pool_timeout)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l server-check-query -d 'Run before reusing an idle server connection (server_check_query; the seed\'s pool_pre_ping)' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l pgbouncer -d 'The pgbouncer program (default: on PATH, else /usr/sbin/pgbouncer)' -r -F
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l start-timeout -d 'How long to wait for the server (and the pooler) to start' -r
complete -c sw-provision -n "__fish_sw_provision_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l rotate-password -d 'Give the application role a new password (default: keep it)'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l dry-run -d 'Print the plan; change nothing'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -s V -l version -d 'Print version'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "local" -d 'Create or converge a local cluster in --dir (TLS, SCRAM, tuned, app role + database, env file)'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "status" -d 'Report whether the local cluster in --dir exists and runs'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "destroy" -d 'Stop the local cluster in --dir and delete it (needs --yes)'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "replica" -d 'Make a streaming standby of a primary (base backup, slot, standby settings) in --dir'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "azure" -d 'Create or converge an Azure Flexible Server; `azure replica|status|delete`'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l dir -d 'The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l port -d 'TCP port' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l listen -d 'Addresses to listen on (listen_addresses; repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l allow -d 'Networks allowed to connect (TLS + SCRAM only; repeatable; default loopback)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l host -d 'Host name clients use (in the connection strings and the server certificate)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l cert-name -d 'More names for the server certificate (DNS names or IP addresses; repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l database -d 'The application database' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l role -d 'The application role (default: the database name)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l env-file -d 'Env file for the connection strings (default: DIR/app.env)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l param -d 'Set a server parameter, overriding the tuned value (repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l memory -d 'Memory to tune for (default: the host\'s, or its cgroup limit)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l cpus -d 'Cores to tune for (default: those available)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l storage -d 'Storage class, for random_page_cost and effective_io_concurrency' -r -f -a "ssd\t'Solid-state storage: random reads cost about as much as sequential ones'
hdd\t'Spinning disks'"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l max-connections -d 'max_connections (work_mem is sized from it)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l app-statement-timeout -d 'statement_timeout of the application role\'s sessions (ALTER ROLE ... SET, so it holds through a transaction pooler; 0 for none)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l app-lock-timeout -d 'lock_timeout of the application role\'s sessions (ALTER ROLE ... SET; 0 for none)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l sqlalchemy-driver -d 'The driver DATABASE_URL_SQLALCHEMY names: an application without it fails with "No module named ..."' -r -f -a "psycopg2\t'psycopg2 (`psycopg2-binary`, the seed application\'s stack)'
psycopg\t'psycopg 3 (SQLAlchemy 2.0 or later)'"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pooler -d 'Put a connection pooler in front of the cluster (DATABASE_URL_POOLED in the env file); without the flag an existing one is kept as it is' -r -f -a "pgbouncer\t'PgBouncer (Debian\'s `pgbouncer` package), run as the cluster\'s OS user'
none\t'None: remove the directory\'s pooler (stop it; delete DIR/pgbouncer, the lookup role and function, and DATABASE_URL_POOLED)'"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pooler-port -d 'The pooler\'s TCP port (it listens on the --listen addresses)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pool-mode -d 'Pool mode' -r -f -a "session\t'For the whole session (session state works as without a pooler)'
transaction\t'For one transaction (the default: the most clients per connection)'
statement\t'For one statement (no multi-statement transactions)'"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pool-size -d 'Server connections per database and role (default_pool_size; the seed\'s pool_size)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l reserve-pool-size -d 'Extra server connections once clients wait (reserve_pool_size; the seed\'s max_overflow)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l max-client-conn -d 'Most clients connected at once (max_client_conn)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l server-lifetime -d 'Close server connections older than this (server_lifetime; the seed\'s pool_recycle)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l query-wait-timeout -d 'Give up on a client waiting this long for a server connection (query_wait_timeout; the seed\'s pool_timeout)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l server-check-query -d 'Run before reusing an idle server connection (server_check_query; the seed\'s pool_pre_ping)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pgbouncer -d 'The pgbouncer program (default: on PATH, else /usr/sbin/pgbouncer)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l start-timeout -d 'How long to wait for the server (and the pooler) to start' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l rotate-password -d 'Give the application role a new password (default: keep it)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l dry-run -d 'Print the plan; change nothing'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l dir -d 'The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -s h -l help -d 'Print help'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l dir -d 'The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l yes -d 'Really delete the cluster and its data'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -s h -l help -d 'Print help'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l of -d 'The primary: its env file (DATABASE_URL) or a postgresql:// URL' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l dir -d 'Directory for the standby (like `local --dir`; must not be the primary\'s)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l port -d 'TCP port of the standby' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l env-file -d 'Env file that gains DATABASE_URL_READONLY (default: --of when it is a file)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l slot -d 'Replication slot name on the primary (default: derived from --dir and --port)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l timeout -d 'How long to wait for the standby to start and stream' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l bindir -d 'Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir, the newest /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l os-user -d 'OS user the server programs run as when invoked as root (initdb and postgres refuse root)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand replica" -s h -l help -d 'Print help'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l resource-group -d 'Resource group (must exist)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l name -d 'Server name (3-63 lowercase letters, digits and inner hyphens)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l location -d 'Region (required to create; an existing server keeps its own)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l sku -d 'Compute SKU name (ARM sku.name), e.g. Standard_D2ds_v5, Standard_B1ms [create default: Standard_D2ds_v5]' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l tier -d 'Pricing tier (ARM sku.tier), separate from the SKU name [create default: general-purpose]' -r -f -a "burstable\t''
general-purpose\t''
memory-optimized\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l pg-version -d 'PostgreSQL major version [create default: 17]' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l storage-gb -d 'Storage size in GB (one of the sizes the region offers; storage only grows) [create default: 128]' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l auto-grow -d 'Storage auto-grow [create default: enabled]' -r -f -a "enabled\t''
disabled\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l storage-tier -d 'Storage performance tier (P4...P80; default: the size\'s own)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l ha -d 'High availability [create default: zone-redundant]' -r -f -a "disabled\t''
zone-redundant\t''
same-zone\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l zone -d 'Availability zone of the primary (create only)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l standby-zone -d 'Availability zone of the HA standby' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l backup-retention-days -d 'Backup retention in days (7-35) [create default: 35]' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l geo-redundant-backup -d 'Geo-redundant backup (create only) [create default: enabled]' -r -f -a "enabled\t''
disabled\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l allow-ip -d 'Allow connections from this IPv4 CIDR, or `auto` for this host\'s public address (repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l my-ip-url -d 'Where `--allow-ip auto` asks for this host\'s public address (plain-text answer)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l param -d 'Set a server parameter (value + source user-override; repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l pooler -d 'Azure\'s built-in PgBouncer: pgbouncer turns it on (port 6432, transaction pooling, its metrics for sw-health) and adds DATABASE_URL_POOLED to the env files; none turns it off' -r -f -a "pgbouncer\t'PgBouncer (Debian\'s `pgbouncer` package), run as the cluster\'s OS user'
none\t'None: remove the directory\'s pooler (stop it; delete DIR/pgbouncer, the lookup role and function, and DATABASE_URL_POOLED)'"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l pool-size -d 'Server connections per database and role of the built-in PgBouncer (pgbouncer.default_pool_size)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l max-client-conn -d 'Most clients the built-in PgBouncer admits at once (pgbouncer.max_client_conn)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l query-wait-timeout -d 'Give up on a client waiting this long for a server connection (pgbouncer.query_wait_timeout)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l database -d 'The application database [default: the env file\'s, else app]' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l admin-user -d 'Administrator login (create only)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l env-file -d 'Env file for the application role\'s connection strings, 0600 (default: NAME.env)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l tag -d 'Resource tag (repeatable)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l network -d 'Network access (create only) [create default: public]' -r -f -a "public\t'A public endpoint; --allow-ip rules say who may connect'
private\t'VNet integration: an address in --subnet, a name in --private-dns-zone, no public endpoint'"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l subnet -d 'The subnet of --network private (ARM id of .../virtualNetworks/VNET/subnets/NAME, delegated to Microsoft.DBforPostgreSQL/flexibleServers)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l private-dns-zone -d 'The private DNS zone of --network private (ARM id of .../privateDnsZones/NAME; the name ends in .postgres.database.azure.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l cmk-key-uri -d 'Encrypt with a customer-managed key: https://VAULT.vault.azure.net/keys/NAME[/VERSION] (the type is chosen at create; a new URI later is a key rotation; without VERSION the server follows the newest)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l cmk-identity -d 'The user-assigned managed identity (ARM id) the server reads --cmk-key-uri with' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l cmk-geo-key-uri -d 'The key of the geo-redundant backup copy (a vault in the paired region); needed with geo-redundant backup' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l cmk-geo-identity -d 'The user-assigned managed identity (ARM id) the server reads --cmk-geo-key-uri with' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l auth-mode -d 'How clients sign in: entra (tokens only), password, or both [create default: Azure\'s, password]' -r -f -a "entra\t'Microsoft Entra ID tokens only (no password sign-in at all)'
password\t'Passwords only (Azure\'s default)'
both\t'Both'"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l entra-admin -d 'The Entra administrator\'s object id (a user, group or service principal)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l entra-admin-name -d 'The Entra administrator\'s name (a user\'s UPN, a group\'s or service principal\'s display name): the user name it signs in with' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l entra-admin-type -d 'What the Entra administrator is' -r -f -a "user\t''
group\t''
service-principal\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l entra-tenant -d 'The Entra tenant (default: AZURE_TENANT_ID)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l app-role -d 'The application role, made over SQL as `local` makes it (default: the database\'s name)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l admin-env-file -d 'Env file for the administrator\'s connection strings, 0600, never the application\'s (default: the env file\'s name with .admin before .env)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l connect-to -d 'Reach the server for the role step at ADDR:PORT (an SSH tunnel or port forward) instead of its host name on 5432; TLS still verifies the server\'s name' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l sslrootcert -d 'CA certificates the role step verifies the server with (default: the system\'s bundle; Azure\'s certificates chain to public roots)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l connect-timeout -d 'Give up connecting for the role step after this long' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l allow-azure-services -d 'Also allow every Azure service (a 0.0.0.0 rule: admits ANY Azure tenant\'s addresses, not only yours)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l restart -d 'Restart the server when a changed parameter needs it (default: report restart_pending)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l rotate-password -d 'Give the application role a new password (default: keep the one in the env file), as `local` does'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l apply-disruptive -d 'Apply the changes that take the server offline or cannot be undone: a major version upgrade (after an on-demand backup), moving the HA standby to another zone'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l dry-run -d 'Print the requests that would be sent and a monthly cost estimate; change nothing'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l no-app-role -d 'Make no application role (nor connect to the server): the database is created through ARM and only the administrator\'s env file is written'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l rotate-admin-password -d 'Give the administrator a new password (default: keep the one in its env file)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -f -a "replica" -d 'Create or converge a read replica (createMode Replica; another region allowed)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -f -a "status" -d 'Print the server\'s state'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -f -a "delete" -d 'Delete the server (needs --yes)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and not __fish_seen_subcommand_from replica status delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l resource-group -d 'Resource group (must exist)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l name -d 'Server name (3-63 lowercase letters, digits and inner hyphens)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l of -d 'The primary: a server name in the same resource group, or a full ARM id' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l location -d 'Region of the replica (default: the primary\'s)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l env-file -d 'Env file holding the primary\'s DATABASE_URL; gains DATABASE_URL_READONLY' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l dry-run -d 'Print the requests; change nothing'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from replica" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l resource-group -d 'Resource group (must exist)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l name -d 'Server name (3-63 lowercase letters, digits and inner hyphens)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l resource-group -d 'Resource group (must exist)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l name -d 'Server name (3-63 lowercase letters, digits and inner hyphens)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l yes -d 'Really delete the server and its backups'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from help" -f -a "replica" -d 'Create or converge a read replica (createMode Replica; another region allowed)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from help" -f -a "status" -d 'Print the server\'s state'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete the server (needs --yes)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand azure; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy replica azure help" -f -a "local" -d 'Create or converge a local cluster in --dir (TLS, SCRAM, tuned, app role + database, env file)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy replica azure help" -f -a "status" -d 'Report whether the local cluster in --dir exists and runs'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy replica azure help" -f -a "destroy" -d 'Stop the local cluster in --dir and delete it (needs --yes)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy replica azure help" -f -a "replica" -d 'Make a streaming standby of a primary (base backup, slot, standby settings) in --dir'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy replica azure help" -f -a "azure" -d 'Create or converge an Azure Flexible Server; `azure replica|status|delete`'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy replica azure help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and __fish_seen_subcommand_from azure" -f -a "replica" -d 'Create or converge a read replica (createMode Replica; another region allowed)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and __fish_seen_subcommand_from azure" -f -a "status" -d 'Print the server\'s state'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and __fish_seen_subcommand_from azure" -f -a "delete" -d 'Delete the server (needs --yes)'
