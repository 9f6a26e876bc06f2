# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_health_global_optspecs
    string join \n v/verbose q/quiet pretty db= env-file= connect-timeout= statement-timeout= lock-timeout= application-name= azure-auth= targets= parallel= all-databases checks= skip= warn= crit= thresholds= check-timeout= deadline= latency-samples= state-dir= backup-repo= pooler-url= azure server= subscription= resource-group= azure-env-file= auth= arm-endpoint= token-endpoint= arm-timeout= format= prom-file= h/help V/version
end

function __fish_sw_health_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sw_health_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sw_health_using_subcommand
    set -l cmd (__fish_sw_health_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sw-health -n "__fish_sw_health_needs_command" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-health -n "__fish_sw_health_needs_command" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_needs_command" -l targets -d 'Check a fleet: the targets in this TOML ([[target]] tables) or JSON Lines file, each with url or env_file, and optional instance and labels; one report per target, the exit code the worst' -r -F
complete -c sw-health -n "__fish_sw_health_needs_command" -l parallel -d 'Targets checked at the same time (--targets)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l checks -d 'Only these checks (comma-separated or repeated)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l skip -d 'Skip these checks (comma-separated or repeated)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l warn -d 'Warning threshold override, NAME=VALUE (or NAME=none); repeatable' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l crit -d 'Critical threshold override, NAME=VALUE (or NAME=none); repeatable' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l thresholds -d 'TOML file of thresholds: one table per check with warn and/or crit (flags win over the file)' -r -F
complete -c sw-health -n "__fish_sw_health_needs_command" -l check-timeout -d 'statement_timeout of each check; a check that runs longer is UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l deadline -d 'Deadline for the run of each target (connecting included); checks not started by then are UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l latency-samples -d 'Round trips for the latency check' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l state-dir -d 'Directory for the run lock and the counters behind rates (default $XDG_STATE_HOME/sw or ~/.local/state/sw)' -r -F
complete -c sw-health -n "__fish_sw_health_needs_command" -l backup-repo -d 'sw-backup repository whose newest complete backup the backup_age check judges' -r -F
complete -c sw-health -n "__fish_sw_health_needs_command" -l pooler-url -d 'Check the PgBouncer in front of the server through its admin console as a stats user (waiting clients, longest wait, pool saturation, server and client connections of their limits), e.g. "host=/run/sw port=6432 user=postgres"; the database is always pgbouncer, and a password comes from PGPASSWORD or ~/.pgpass, never the URL. Alone, only the pooler is checked; with --db or --env-file the server too' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l server -d 'The Flexible Server (selects --azure): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l azure-env-file -d 'Env file naming the server (selects --azure): AZURE_SERVER (a name or an ARM id), AZURE_RESOURCE_GROUP, AZURE_SUBSCRIPTION_ID; the flags win' -r -F
complete -c sw-health -n "__fish_sw_health_needs_command" -l auth -d 'How to get a Resource Manager token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_needs_command" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l arm-timeout -d 'Time one Resource Manager round trip may take (capped by what is left of --deadline); one that takes longer, fails or is throttled makes its checks UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_needs_command" -l format -d 'Output format' -r -f -a "json\t'One `health.report` JSON record'
nagios\t'Monitoring plugin API (Nagios, Icinga, Naemon): status line with perfdata'
prometheus\t'Prometheus text exposition (node_exporter textfile collector)'"
complete -c sw-health -n "__fish_sw_health_needs_command" -l prom-file -d 'With --format prometheus: write this textfile-collector file atomically (temp file in the same directory, then rename) instead of stdout' -r -F
complete -c sw-health -n "__fish_sw_health_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-health -n "__fish_sw_health_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-health -n "__fish_sw_health_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-health -n "__fish_sw_health_needs_command" -l all-databases -d 'Run the per-database checks in every database that accepts connections'
complete -c sw-health -n "__fish_sw_health_needs_command" -l azure -d 'Check an Azure Database for PostgreSQL Flexible Server through the Resource Manager API (server state, HA, storage, metrics, backups); with --db or --env-file its SQL checks too, in the same report'
complete -c sw-health -n "__fish_sw_health_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-health -n "__fish_sw_health_needs_command" -s V -l version -d 'Print version'
complete -c sw-health -n "__fish_sw_health_needs_command" -f -a "check" -d 'Run the check catalogue (the default) and print one health.report'
complete -c sw-health -n "__fish_sw_health_needs_command" -f -a "ping" -d 'Connect once and report server version, TLS, connect time and round-trip latency'
complete -c sw-health -n "__fish_sw_health_needs_command" -f -a "load" -d 'Put a bounded load on the server and measure connection acquisition, latency percentiles, throughput and errors; --targets judges them like a check'
complete -c sw-health -n "__fish_sw_health_needs_command" -f -a "serve" -d 'Serve the checks of one target or a --targets fleet as a Prometheus exporter (/metrics, /healthz)'
complete -c sw-health -n "__fish_sw_health_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l targets -d 'Check a fleet: the targets in this TOML ([[target]] tables) or JSON Lines file, each with url or env_file, and optional instance and labels; one report per target, the exit code the worst' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l parallel -d 'Targets checked at the same time (--targets)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l checks -d 'Only these checks (comma-separated or repeated)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l skip -d 'Skip these checks (comma-separated or repeated)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l warn -d 'Warning threshold override, NAME=VALUE (or NAME=none); repeatable' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l crit -d 'Critical threshold override, NAME=VALUE (or NAME=none); repeatable' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l thresholds -d 'TOML file of thresholds: one table per check with warn and/or crit (flags win over the file)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l check-timeout -d 'statement_timeout of each check; a check that runs longer is UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l deadline -d 'Deadline for the run of each target (connecting included); checks not started by then are UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l latency-samples -d 'Round trips for the latency check' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l state-dir -d 'Directory for the run lock and the counters behind rates (default $XDG_STATE_HOME/sw or ~/.local/state/sw)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l backup-repo -d 'sw-backup repository whose newest complete backup the backup_age check judges' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l pooler-url -d 'Check the PgBouncer in front of the server through its admin console as a stats user (waiting clients, longest wait, pool saturation, server and client connections of their limits), e.g. "host=/run/sw port=6432 user=postgres"; the database is always pgbouncer, and a password comes from PGPASSWORD or ~/.pgpass, never the URL. Alone, only the pooler is checked; with --db or --env-file the server too' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l server -d 'The Flexible Server (selects --azure): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l azure-env-file -d 'Env file naming the server (selects --azure): AZURE_SERVER (a name or an ARM id), AZURE_RESOURCE_GROUP, AZURE_SUBSCRIPTION_ID; the flags win' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l auth -d 'How to get a Resource Manager token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l arm-timeout -d 'Time one Resource Manager round trip may take (capped by what is left of --deadline); one that takes longer, fails or is throttled makes its checks UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l format -d 'Output format' -r -f -a "json\t'One `health.report` JSON record'
nagios\t'Monitoring plugin API (Nagios, Icinga, Naemon): status line with perfdata'
prometheus\t'Prometheus text exposition (node_exporter textfile collector)'"
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l prom-file -d 'With --format prometheus: write this textfile-collector file atomically (temp file in the same directory, then rename) instead of stdout' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l all-databases -d 'Run the per-database checks in every database that accepts connections'
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l azure -d 'Check an Azure Database for PostgreSQL Flexible Server through the Resource Manager API (server state, HA, storage, metrics, backups); with --db or --env-file its SQL checks too, in the same report'
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-health -n "__fish_sw_health_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l count -d 'Round trips to time after connecting' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l clients -d 'Concurrent client connections, all connected at the start' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l duration -d 'Length of the measured phase (at most 10m)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l rate -d 'Open loop: schedule this many requests per second in total, and count latency from each request\'s scheduled time (no coordinated omission). Without it, closed loop: each client sends as soon as it has an answer' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l sql -d 'Run this file\'s SQL (sent whole, one simple query per request) instead of the built-in read-mostly workload on a scratch table' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l target-rps -d 'Throughput target, requests per second (at least)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l target-p95 -d 'Request latency target (p95 below)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l target-acquisition -d 'Connection acquisition target (p95 below)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l targets -d 'Judge against the targets (the seed\'s: 1000 req/s, p95 < 100 ms, acquisition p95 < 10 ms): exit 2 when one is missed, 1 when all are met but requests failed. Any --target-* flag implies it'
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-health -n "__fish_sw_health_using_subcommand load" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l azure-auth -d 'Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a password (the target\'s user is the Entra principal; HOW picks the credential, default auto)' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l targets -d 'Check a fleet: the targets in this TOML ([[target]] tables) or JSON Lines file, each with url or env_file, and optional instance and labels; one report per target, the exit code the worst' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l parallel -d 'Targets checked at the same time (--targets)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l checks -d 'Only these checks (comma-separated or repeated)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l skip -d 'Skip these checks (comma-separated or repeated)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l warn -d 'Warning threshold override, NAME=VALUE (or NAME=none); repeatable' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l crit -d 'Critical threshold override, NAME=VALUE (or NAME=none); repeatable' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l thresholds -d 'TOML file of thresholds: one table per check with warn and/or crit (flags win over the file)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l check-timeout -d 'statement_timeout of each check; a check that runs longer is UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l deadline -d 'Deadline for the run of each target (connecting included); checks not started by then are UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l latency-samples -d 'Round trips for the latency check' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l state-dir -d 'Directory for the run lock and the counters behind rates (default $XDG_STATE_HOME/sw or ~/.local/state/sw)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l backup-repo -d 'sw-backup repository whose newest complete backup the backup_age check judges' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l pooler-url -d 'Check the PgBouncer in front of the server through its admin console as a stats user (waiting clients, longest wait, pool saturation, server and client connections of their limits), e.g. "host=/run/sw port=6432 user=postgres"; the database is always pgbouncer, and a password comes from PGPASSWORD or ~/.pgpass, never the URL. Alone, only the pooler is checked; with --db or --env-file the server too' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l server -d 'The Flexible Server (selects --azure): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l azure-env-file -d 'Env file naming the server (selects --azure): AZURE_SERVER (a name or an ARM id), AZURE_RESOURCE_GROUP, AZURE_SUBSCRIPTION_ID; the flags win' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l auth -d 'How to get a Resource Manager token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l arm-timeout -d 'Time one Resource Manager round trip may take (capped by what is left of --deadline); one that takes longer, fails or is throttled makes its checks UNKNOWN' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l listen -d 'Listen on this address (HOST:PORT, e.g. 127.0.0.1:9188 or [::]:9188)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l min-interval -d 'Run the checks at most once per this interval: scrapes inside it get the last result, so two Prometheus servers do not double the load' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l scrape-timeout -d 'The longest a scrape may take (a scraper\'s X-Prometheus-Scrape-Timeout-Seconds, less 0.5 s, lowers it): targets not done by then report what they have' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l web-config-file -d 'TLS and basic auth: the Prometheus exporter-toolkit web configuration file (YAML: tls_server_config with cert_file, key_file, client_ca_file, client_auth_type, min_version; basic_auth_users with bcrypt hashes)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l all-databases -d 'Run the per-database checks in every database that accepts connections'
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l azure -d 'Check an Azure Database for PostgreSQL Flexible Server through the Resource Manager API (server state, HA, storage, metrics, backups); with --db or --env-file its SQL checks too, in the same report'
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-health -n "__fish_sw_health_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-health -n "__fish_sw_health_using_subcommand help; and not __fish_seen_subcommand_from check ping load serve help" -f -a "check" -d 'Run the check catalogue (the default) and print one health.report'
complete -c sw-health -n "__fish_sw_health_using_subcommand help; and not __fish_seen_subcommand_from check ping load serve help" -f -a "ping" -d 'Connect once and report server version, TLS, connect time and round-trip latency'
complete -c sw-health -n "__fish_sw_health_using_subcommand help; and not __fish_seen_subcommand_from check ping load serve help" -f -a "load" -d 'Put a bounded load on the server and measure connection acquisition, latency percentiles, throughput and errors; --targets judges them like a check'
complete -c sw-health -n "__fish_sw_health_using_subcommand help; and not __fish_seen_subcommand_from check ping load serve help" -f -a "serve" -d 'Serve the checks of one target or a --targets fleet as a Prometheus exporter (/metrics, /healthz)'
complete -c sw-health -n "__fish_sw_health_using_subcommand help; and not __fish_seen_subcommand_from check ping load serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
