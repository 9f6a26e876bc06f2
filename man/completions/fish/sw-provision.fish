# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_provision_global_optspecs
    string join \n v/verbose q/quiet pretty h/help V/version
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

complete -c sw-provision -n "__fish_sw_provision_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -s h -l help -d 'Print help'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -s V -l version -d 'Print version'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "local" -d 'Create or converge a local cluster in --dir (TLS, SCRAM, tuned, app role + database, env file)'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "status" -d 'Report whether the local cluster in --dir exists and runs'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "destroy" -d 'Stop the local cluster in --dir and delete it (needs --yes)'
complete -c sw-provision -n "__fish_sw_provision_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l dir -d 'The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l os-user -d 'OS user the server programs run as when sw-provision runs as root' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pg-bindir -d 'Directory of initdb/pg_ctl/postgres (default: SW_PG_BINDIR, PATH, pg_config, /usr/lib/postgresql/*/bin)' -r -F
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
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l storage -d 'Storage class, for random_page_cost and effective_io_concurrency' -r -f -a "ssd\t''
hdd\t''"
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l max-connections -d 'max_connections (work_mem is sized from it)' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l start-timeout -d 'How long to wait for the server to start' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l rotate-password -d 'Give the application role a new password (default: keep it)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l dry-run -d 'Print the plan; change nothing'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand local" -s h -l help -d 'Print help'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l dir -d 'The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l os-user -d 'OS user the server programs run as when sw-provision runs as root' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l pg-bindir -d 'Directory of initdb/pg_ctl/postgres (default: SW_PG_BINDIR, PATH, pg_config, /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand status" -s h -l help -d 'Print help'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l dir -d 'The provision directory (cluster in DIR/data, CA for clients in DIR/ca.crt)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l os-user -d 'OS user the server programs run as when sw-provision runs as root' -r
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l pg-bindir -d 'Directory of initdb/pg_ctl/postgres (default: SW_PG_BINDIR, PATH, pg_config, /usr/lib/postgresql/*/bin)' -r -F
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l yes -d 'Really delete the cluster and its data'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand destroy" -s h -l help -d 'Print help'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy help" -f -a "local" -d 'Create or converge a local cluster in --dir (TLS, SCRAM, tuned, app role + database, env file)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy help" -f -a "status" -d 'Report whether the local cluster in --dir exists and runs'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy help" -f -a "destroy" -d 'Stop the local cluster in --dir and delete it (needs --yes)'
complete -c sw-provision -n "__fish_sw_provision_using_subcommand help; and not __fish_seen_subcommand_from local status destroy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
