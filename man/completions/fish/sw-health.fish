# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_health_global_optspecs
    string join \n v/verbose q/quiet pretty h/help V/version
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

complete -c sw-health -n "__fish_sw_health_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-health -n "__fish_sw_health_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-health -n "__fish_sw_health_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-health -n "__fish_sw_health_needs_command" -s h -l help -d 'Print help'
complete -c sw-health -n "__fish_sw_health_needs_command" -s V -l version -d 'Print version'
complete -c sw-health -n "__fish_sw_health_needs_command" -f -a "ping" -d 'Connect once and report server version, TLS, connect time and round-trip latency'
complete -c sw-health -n "__fish_sw_health_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l db -d 'Target database: a postgresql:// URI or key=value conninfo. Prefer --env-file or DATABASE_URL for targets with passwords (argv is visible to other users)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l env-file -d 'Read DATABASE_URL from this env file (KEY=value lines)' -r -F
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l connect-timeout -d 'Give up connecting after this long (unless the target sets connect_timeout)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l statement-timeout -d 'statement_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l lock-timeout -d 'lock_timeout for the session' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l application-name -d 'application_name for the session (default: the program\'s name)' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l count -d 'Round trips to time after connecting' -r
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-health -n "__fish_sw_health_using_subcommand ping" -s h -l help -d 'Print help'
complete -c sw-health -n "__fish_sw_health_using_subcommand help; and not __fish_seen_subcommand_from ping help" -f -a "ping" -d 'Connect once and report server version, TLS, connect time and round-trip latency'
complete -c sw-health -n "__fish_sw_health_using_subcommand help; and not __fish_seen_subcommand_from ping help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
