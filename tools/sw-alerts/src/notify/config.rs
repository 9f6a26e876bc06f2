//! What `sw-alerts notify` is told: its flags, and the `--config` file
//! (channels as TOML) merged into them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

use crate::smtp::SmtpTls;

/// Flags of `sw-alerts notify`.
#[derive(Args, Debug, Clone)]
pub struct NotifyArgs {
    /// TOML file with channels (keys webhook, alertmanager, slack, teams, exec, no_resolved as lists, generator_url, and an
    /// [smtp] table: server, tls, from, to, credentials, ca); added to the flags. A list entry
    /// may be a table { url = "...", send_resolved = false } ({ command = ... } for exec), and
    /// [smtp] may set send_resolved: resolved notifications per channel.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Per-channel send_resolved from --config, by the channel's URL (or @FILE) or command.
    #[arg(skip)]
    pub send_resolved: BTreeMap<String, bool>,
    /// send_resolved of the --config [smtp] table.
    #[arg(skip)]
    pub smtp_send_resolved: Option<bool>,
    /// POST the Alertmanager webhook payload (version 4) to this URL; repeatable.
    /// `@FILE` reads the URL from a file (keeps tokens off argv).
    #[arg(long, value_name = "URL|@FILE")]
    pub webhook: Vec<String>,
    /// Push alerts to this Alertmanager's API v2 (POST URL/api/v2/alerts, or
    /// the URL as given when it ends in /api/v2/alerts), or @FILE; repeatable:
    /// name every Alertmanager of the cluster. An alert is delivered once one
    /// of them accepts it, and kept in the outbox while none does.
    #[arg(long, value_name = "URL|@FILE")]
    pub alertmanager: Vec<String>,
    /// generatorURL of the alerts pushed to Alertmanager: the link back to
    /// where they come from (a dashboard, a runbook); empty by default.
    #[arg(long, value_name = "URL", default_value = "")]
    pub generator_url: String,
    /// Re-send a still-firing alert to Alertmanager once its last push is
    /// this old; each push holds it firing for 4 times this (endsAt), as
    /// Prometheus does, so run notify at least this often (sw-monitor.timer
    /// runs it every minute).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub resend_every: Duration,
    /// Slack incoming-webhook URL (or @FILE); repeatable.
    #[arg(long, value_name = "URL|@FILE")]
    pub slack: Vec<String>,
    /// Microsoft Teams workflow webhook URL (or @FILE); repeatable.
    #[arg(long, value_name = "URL|@FILE")]
    pub teams: Vec<String>,
    /// CA certificate (PEM) to verify https webhook receivers with, instead of the system store.
    #[arg(long, value_name = "FILE")]
    pub webhook_ca: Option<PathBuf>,
    /// Run this shell command per event with the event (one JSON line) on stdin; exit 0 is delivered.
    #[arg(long, value_name = "CMD")]
    pub exec: Vec<String>,
    /// Send email through this SMTP server (HOST:PORT).
    #[arg(long, value_name = "HOST:PORT")]
    pub smtp_server: Option<String>,
    /// SMTP transport security: starttls (587), implicit (465), or plain-insecure (no TLS at all).
    #[arg(long, value_enum, default_value = "starttls")]
    pub smtp_tls: SmtpTls,
    /// CA certificate (PEM) to verify the SMTP server with, instead of the system store.
    #[arg(long, value_name = "FILE")]
    pub smtp_ca: Option<PathBuf>,
    /// Env file with SMTP_USER and SMTP_PASSWORD (credentials never go on argv).
    #[arg(long, value_name = "FILE")]
    pub smtp_credentials: Option<PathBuf>,
    /// Envelope and header sender.
    #[arg(long, value_name = "ADDRESS")]
    pub smtp_from: Option<String>,
    /// Recipient; repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub smtp_to: Vec<String>,
    /// Do not send resolved notifications to this kind of channel
    /// (webhook, alertmanager, slack, teams, email, exec); repeatable. By default every channel gets them.
    #[arg(long, value_name = "KIND")]
    pub no_resolved: Vec<ChannelKind>,
    /// Outbox directory (default $XDG_STATE_HOME/sw/outbox or ~/.local/state/sw/outbox).
    #[arg(long, value_name = "DIR")]
    pub outbox: Option<PathBuf>,
    /// Delivery attempts per notification and run.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
    /// Wait before the first retry; doubles for each further one.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub retry_delay: Duration,
    /// Timeout of one delivery attempt.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub timeout: Duration,
}

/// Kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Webhook,
    Alertmanager,
    Slack,
    Teams,
    Email,
    Exec,
}

impl ChannelKind {
    /// The name as written (`webhook`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Alertmanager => "alertmanager",
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
            ChannelKind::Email => "email",
            ChannelKind::Exec => "exec",
        }
    }
}

/// A channel in the config file: the URL (or command), or a table with
/// its own send_resolved.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Entry {
    Plain(String),
    Url {
        url: String,
        send_resolved: Option<bool>,
    },
    Command {
        command: String,
        send_resolved: Option<bool>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    webhook: Vec<Entry>,
    #[serde(default)]
    alertmanager: Vec<Entry>,
    generator_url: Option<String>,
    #[serde(default)]
    slack: Vec<Entry>,
    #[serde(default)]
    teams: Vec<Entry>,
    #[serde(default)]
    exec: Vec<Entry>,
    #[serde(default)]
    no_resolved: Vec<String>,
    smtp: Option<SmtpSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpSection {
    server: String,
    tls: Option<String>,
    from: String,
    to: Vec<String>,
    credentials: Option<PathBuf>,
    ca: Option<PathBuf>,
    send_resolved: Option<bool>,
}

impl NotifyArgs {
    /// The flags plus the --config file.
    ///
    /// # Errors
    /// 78 for a bad config file (66/74 when it cannot be read); 64 when it
    /// sets SMTP that the flags set too.
    pub fn merged(&self) -> Result<NotifyArgs> {
        use clap::ValueEnum;
        let mut m = self.clone();
        let Some(path) = &self.config else { return Ok(m) };
        let at = q(path);
        let text = std::fs::read_to_string(path).io_context(|| format!("reading {at}"))?;
        let f: ConfigFile =
            toml::from_str(&text).map_err(|e| Error::config(format!("{at}: {}", e.message().trim())))?;
        for (key, entries, list) in [
            (ChannelKind::Webhook, f.webhook, &mut m.webhook),
            (ChannelKind::Alertmanager, f.alertmanager, &mut m.alertmanager),
            (ChannelKind::Slack, f.slack, &mut m.slack),
            (ChannelKind::Teams, f.teams, &mut m.teams),
            (ChannelKind::Exec, f.exec, &mut m.exec),
        ] {
            for e in entries {
                let (spec, send) = entry(e, key, &at)?;
                if let Some(b) = send {
                    m.send_resolved.insert(spec.clone(), b);
                }
                list.push(spec);
            }
        }
        for k in &f.no_resolved {
            m.no_resolved.push(
                ChannelKind::from_str(k, true)
                    .map_err(|_| Error::config(format!("{at}: no_resolved: unknown channel kind {k:?}")))?,
            );
        }
        if let Some(u) = f.generator_url {
            m.generator_url = u;
        }
        if let Some(s) = f.smtp {
            m.smtp_from_config(s, &at)?;
        }
        Ok(m)
    }

    fn smtp_from_config(&mut self, s: SmtpSection, at: &str) -> Result<()> {
        use clap::ValueEnum;
        if self.smtp_server.is_some() {
            return Err(Error::usage(format!("SMTP is set both by flags and in {at}")));
        }
        self.smtp_server = Some(s.server);
        if let Some(t) = s.tls {
            self.smtp_tls = SmtpTls::from_str(&t, true)
                .map_err(|_| Error::config(format!("{at}: smtp.tls {t:?}: starttls, implicit or plain-insecure")))?;
        }
        self.smtp_from = Some(s.from);
        self.smtp_to = s.to;
        self.smtp_credentials = s.credentials;
        self.smtp_ca = s.ca;
        self.smtp_send_resolved = s.send_resolved;
        Ok(())
    }
}

/// One config-file channel entry of `kind`: its URL (or command) and its
/// own send_resolved.
fn entry(e: Entry, kind: ChannelKind, at: &str) -> Result<(String, Option<bool>)> {
    let exec = kind == ChannelKind::Exec;
    match (e, exec) {
        (Entry::Plain(v), _) => Ok((v, None)),
        (Entry::Url { url, send_resolved }, false) => Ok((url, send_resolved)),
        (Entry::Command { command, send_resolved }, true) => Ok((command, send_resolved)),
        _ => Err(Error::config(format!(
            "{at}: {} entries are strings or tables with {} and send_resolved",
            kind.name(),
            if exec { "command" } else { "url" }
        ))),
    }
}
