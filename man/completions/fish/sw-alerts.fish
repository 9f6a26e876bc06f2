# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sw_alerts_global_optspecs
    string join \n v/verbose q/quiet pretty h/help V/version
end

function __fish_sw_alerts_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sw_alerts_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sw_alerts_using_subcommand
    set -l cmd (__fish_sw_alerts_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -s h -l help -d 'Print help'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -s V -l version -d 'Print version'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -f -a "eval" -d 'Read health.report records on stdin, print alert events (transitions and repeats)'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -f -a "notify" -d 'Read alert events on stdin and deliver them; undelivered ones stay in the outbox (exit 75), ones a receiver rejects (HTTP 400/413/422) go to its rejected/ folder (exit 65)'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -f -a "default-rules" -d 'Print the built-in default rule pack (a starting point for --rules)'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -f -a "prometheus-rules" -d 'Print the rule pack (--rules, or the default one) as Prometheus alerting rules over sw-health\'s exporter metrics'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -f -a "azure-apply" -d 'Set up Azure Monitor for a Flexible Server from the rule pack: a Log Analytics workspace, an action group and a metric alert per rule a server metric can express; sends only what differs'
complete -c sw-alerts -n "__fish_sw_alerts_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -l rules -d 'Rule file (TOML); the built-in default pack when not given (see `sw-alerts default-rules`)' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -l state -d 'State file (alert states per rule and label set; flock-protected, replaced atomically). Default: $XDG_STATE_HOME/sw/alerts.json or ~/.local/state/sw/alerts.json' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -l silences -d 'Silences (TOML `[[silence]]` tables: matchers = { label = "value" } or Alertmanager-style ["label=value", "label!=value", "label=~regex", "label!~regex"], starts_at, ends_at, comment)' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -l now -d 'Evaluate as of this time (RFC 3339) instead of now; for tests and replays' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand eval" -s h -l help -d 'Print help'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l config -d 'TOML file with channels (keys webhook, alertmanager, slack, teams, exec, no_resolved as lists, generator_url, and an [smtp] table: server, tls, from, to, credentials, ca); added to the flags. A list entry may be a table { url = "...", send_resolved = false } ({ command = ... } for exec), and [smtp] may set send_resolved: resolved notifications per channel' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l webhook -d 'POST the Alertmanager webhook payload (version 4) to this URL; repeatable. `@FILE` reads the URL from a file (keeps tokens off argv)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l alertmanager -d 'Push alerts to this Alertmanager\'s API v2 (POST URL/api/v2/alerts, or the URL as given when it ends in /api/v2/alerts), or @FILE; repeatable: name every Alertmanager of the cluster. An alert is delivered once one of them accepts it, and kept in the outbox while none does' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l generator-url -d 'generatorURL of the alerts pushed to Alertmanager: the link back to where they come from (a dashboard, a runbook); empty by default' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l resend-every -d 'Re-send a still-firing alert to Alertmanager once its last push is this old; each push holds it firing for 4 times this (endsAt), as Prometheus does, so run notify at least this often (sw-monitor.timer runs it every minute)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l slack -d 'Slack incoming-webhook URL (or @FILE); repeatable' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l teams -d 'Microsoft Teams workflow webhook URL (or @FILE); repeatable' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l webhook-ca -d 'CA certificate (PEM) to verify https webhook receivers with, instead of the system store' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l exec -d 'Run this shell command per event with the event (one JSON line) on stdin; exit 0 is delivered' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l smtp-server -d 'Send email through this SMTP server (HOST:PORT)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l smtp-tls -d 'SMTP transport security: starttls (587), implicit (465), or plain-insecure (no TLS at all)' -r -f -a "starttls\t'Plain connection upgraded with STARTTLS (port 587); fails when the server does not offer it'
implicit\t'TLS from the first byte (port 465)'
plain-insecure\t'No TLS at all: credentials and mail in clear text (local relays and tests only)'"
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l smtp-ca -d 'CA certificate (PEM) to verify the SMTP server with, instead of the system store' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l smtp-credentials -d 'Env file with SMTP_USER and SMTP_PASSWORD (credentials never go on argv)' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l smtp-from -d 'Envelope and header sender' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l smtp-to -d 'Recipient; repeatable' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l no-resolved -d 'Do not send resolved notifications to this kind of channel (webhook, alertmanager, slack, teams, email, exec); repeatable. By default every channel gets them' -r -f -a "webhook\t''
alertmanager\t''
slack\t''
teams\t''
email\t''
exec\t''"
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l outbox -d 'Outbox directory (default $XDG_STATE_HOME/sw/outbox or ~/.local/state/sw/outbox)' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l attempts -d 'Delivery attempts per notification and run' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l retry-delay -d 'Wait before the first retry; doubles for each further one' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l timeout -d 'Timeout of one delivery attempt' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand notify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand default-rules" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand default-rules" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand default-rules" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand default-rules" -s h -l help -d 'Print help'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand prometheus-rules" -l rules -d 'Rule file (TOML) to render; the built-in default pack when not given' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand prometheus-rules" -l job -d 'The Prometheus job that scrapes `sw-health serve` (its `up` series tells a silent exporter apart)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand prometheus-rules" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand prometheus-rules" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand prometheus-rules" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand prometheus-rules" -s h -l help -d 'Print help'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l server -d 'The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l subscription -d 'Subscription id (default: AZURE_SUBSCRIPTION_ID)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l resource-group -d 'The server\'s resource group' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l auth -d 'How to get a token' -r -f -a "auto\t'AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS'
client-secret\t''
workload-identity\t''
managed-identity\t''
azure-cli\t''"
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l arm-endpoint -d 'Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l token-endpoint -d 'Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l poll-interval -d 'Poll interval when Azure sends no Retry-After' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l operation-timeout -d 'Give up waiting for one operation after this long (exit 75; run again to re-attach)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l rules -d 'Rule file (TOML) whose rules become metric alerts; the built-in default pack when not given' -r -F
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l email -d 'An email receiver of the action group (repeatable)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l webhook -d 'A webhook receiver of the action group (repeatable; https)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l workspace -d 'Log Analytics workspace (default: SERVER-logs)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l retention-days -d 'Days the workspace keeps data' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l action-group -d 'Action group (default: SERVER-alerts)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l audit-classes -d 'The statement classes pgaudit logs (pgaudit.log)' -r
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l azure -d 'Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l dry-run -d 'Read what is there and print the requests that would change it (azure.request); send nothing else'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l verify-only -d 'Send nothing: report every property that differs from the rule pack (azure.drift records) and exit 1 when one does'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l audit -d 'Turn pgaudit on: allow-list it, preload it (the server restarts once when that changes) and log --audit-classes; its log lines reach the workspace through the PostgreSQLLogs category'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l prune -d 'Delete the metric alerts on this server that sw-alerts made (tagged sw-managed) and the rule pack no longer has'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -s v -l verbose -d 'More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -s q -l quiet -d 'Only errors on stderr'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -l pretty -d 'Indent JSON output for people (still valid JSON, no longer one record per line)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand azure-apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand help; and not __fish_seen_subcommand_from eval notify default-rules prometheus-rules azure-apply help" -f -a "eval" -d 'Read health.report records on stdin, print alert events (transitions and repeats)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand help; and not __fish_seen_subcommand_from eval notify default-rules prometheus-rules azure-apply help" -f -a "notify" -d 'Read alert events on stdin and deliver them; undelivered ones stay in the outbox (exit 75), ones a receiver rejects (HTTP 400/413/422) go to its rejected/ folder (exit 65)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand help; and not __fish_seen_subcommand_from eval notify default-rules prometheus-rules azure-apply help" -f -a "default-rules" -d 'Print the built-in default rule pack (a starting point for --rules)'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand help; and not __fish_seen_subcommand_from eval notify default-rules prometheus-rules azure-apply help" -f -a "prometheus-rules" -d 'Print the rule pack (--rules, or the default one) as Prometheus alerting rules over sw-health\'s exporter metrics'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand help; and not __fish_seen_subcommand_from eval notify default-rules prometheus-rules azure-apply help" -f -a "azure-apply" -d 'Set up Azure Monitor for a Flexible Server from the rule pack: a Log Analytics workspace, an action group and a metric alert per rule a server metric can express; sends only what differs'
complete -c sw-alerts -n "__fish_sw_alerts_using_subcommand help; and not __fish_seen_subcommand_from eval notify default-rules prometheus-rules azure-apply help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
