//! `sw-alerts notify`: alert events in, deliveries out. Every (event,
//! channel) pair is first written durably to the outbox, then delivered with
//! retries; what cannot be delivered stays there for the next run (exit 75),
//! and what a receiver rejects as a payload is moved to `rejected/` (exit 65).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::lock::Lock;
use sw_core::output::Output;
use sw_core::{Error, IoContext, Result};

use crate::event::AlertEvent;
use crate::smtp::{self, SmtpConfig, SmtpTls};

/// Flags of `sw-alerts notify`.
#[derive(Args, Debug, Clone)]
pub struct NotifyArgs {
    /// TOML file with channels (keys webhook, slack, teams, exec, no_resolved as lists, and an
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
    /// (webhook, slack, teams, email, exec); repeatable. By default every channel gets them.
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
    Slack,
    Teams,
    Email,
    Exec,
}

#[derive(Debug)]
enum Target {
    Url(String),
    Smtp(Box<SmtpConfig>),
    Exec(String),
}

#[derive(Debug)]
struct Channel {
    kind: ChannelKind,
    id: String,
    /// Resolved notifications go to this channel.
    send_resolved: bool,
    /// Safe to print (no path, query or token).
    name: String,
    target: Target,
}

fn hash(s: &str) -> String {
    crate::event::fnv1a(s.bytes())
}

fn read_url(v: &str) -> Result<String> {
    let url = match v.strip_prefix('@') {
        Some(p) => std::fs::read_to_string(p)
            .io_context(|| format!("reading {}", q(Path::new(p))))?
            .trim()
            .to_owned(),
        None => v.to_owned(),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::usage("webhook URLs must start with http:// or https://"));
    }
    Ok(url)
}

fn url_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |x| x.1);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{}://{host}", url.split("://").next().unwrap_or("http"))
}

fn channels(a: &NotifyArgs) -> Result<Vec<Channel>> {
    let mut out = Vec::new();
    for (kind, list) in [
        (ChannelKind::Webhook, &a.webhook),
        (ChannelKind::Slack, &a.slack),
        (ChannelKind::Teams, &a.teams),
    ] {
        for v in list {
            let url = read_url(v)?;
            // Webhook URLs carry their token in the path: never print one.
            sw_core::secret::register(&url);
            out.push(Channel {
                kind,
                id: format!("{}-{}", kind_name(kind), hash(&url)),
                send_resolved: resolved(a, kind, v),
                name: format!("{} {}", kind_name(kind), url_name(&url)),
                target: Target::Url(url),
            });
        }
    }
    for cmd in &a.exec {
        out.push(Channel {
            kind: ChannelKind::Exec,
            id: format!("exec-{}", hash(cmd)),
            send_resolved: resolved(a, ChannelKind::Exec, cmd),
            name: "exec".to_owned(),
            target: Target::Exec(cmd.clone()),
        });
    }
    if let Some(server) = &a.smtp_server {
        let (host, port) = server
            .rsplit_once(':')
            .and_then(|(h, p)| {
                p.parse::<u16>()
                    .ok()
                    .map(|p| (h.trim_matches(['[', ']']).to_owned(), p))
            })
            .ok_or_else(|| Error::usage(format!("--smtp-server {server:?} is not HOST:PORT")))?;
        let from = a
            .smtp_from
            .clone()
            .ok_or_else(|| Error::usage("--smtp-server needs --smtp-from"))?;
        if a.smtp_to.is_empty() {
            return Err(Error::usage("--smtp-server needs at least one --smtp-to"));
        }
        for addr in std::iter::once(&from).chain(&a.smtp_to) {
            if !addr.contains('@') || addr.contains(['<', '>', '\r', '\n', ' ']) {
                return Err(Error::usage(format!("{addr:?} is not an email address")));
            }
        }
        let credentials = match &a.smtp_credentials {
            None => None,
            Some(p) => {
                let f = EnvFile::read(p)?;
                let user = f.get("SMTP_USER").map(str::to_owned);
                let pass = f.get("SMTP_PASSWORD").map(str::to_owned);
                match (user, pass) {
                    (Some(u), Some(pw)) => {
                        sw_core::secret::register(&pw);
                        Some((u, pw))
                    }
                    _ => return Err(Error::config(format!("{} needs SMTP_USER and SMTP_PASSWORD", q(p)))),
                }
            }
        };
        out.push(Channel {
            kind: ChannelKind::Email,
            send_resolved: a
                .smtp_send_resolved
                .unwrap_or(!a.no_resolved.contains(&ChannelKind::Email)),
            id: format!(
                "email-{}",
                hash(&format!("{host}:{port}:{from}:{}", a.smtp_to.join(",")))
            ),
            name: format!("email {host}:{port}"),
            target: Target::Smtp(Box::new(SmtpConfig {
                host,
                port,
                tls: a.smtp_tls,
                ca_file: a.smtp_ca.clone(),
                credentials,
                from,
                to: a.smtp_to.clone(),
                timeout: a.timeout,
            })),
        });
    }
    // The same channel given twice (flag and --config, say) is one channel.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|c| seen.insert(c.id.clone()));
    Ok(out)
}

/// Whether a channel gets resolved notifications: its own send_resolved from
/// --config, else not when --no-resolved names its kind.
fn resolved(a: &NotifyArgs, kind: ChannelKind, spec: &str) -> bool {
    a.send_resolved
        .get(spec)
        .copied()
        .unwrap_or(!a.no_resolved.contains(&kind))
}

fn kind_name(k: ChannelKind) -> &'static str {
    match k {
        ChannelKind::Webhook => "webhook",
        ChannelKind::Slack => "slack",
        ChannelKind::Teams => "teams",
        ChannelKind::Email => "email",
        ChannelKind::Exec => "exec",
    }
}

/// The Alertmanager webhook payload (version 4) for one event.
pub fn alertmanager_payload(e: &AlertEvent) -> Value {
    let group = BTreeMap::from([("alertname".to_owned(), e.alertname.clone())]);
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{}\"}}", e.alertname),
        "truncatedAlerts": 0,
        "status": e.status,
        "receiver": "sw-alerts",
        "groupLabels": group,
        "commonLabels": e.labels,
        "commonAnnotations": e.annotations,
        "externalURL": "",
        "alerts": [{
            "status": e.status,
            "labels": e.labels,
            "annotations": e.annotations,
            "startsAt": e.starts_at,
            "endsAt": e.ends_at,
            "generatorURL": "",
            "fingerprint": e.fingerprint,
        }],
    })
}

fn headline(e: &AlertEvent) -> String {
    let inst = e.labels.get("instance").map(String::as_str).unwrap_or("");
    let sev = e.labels.get("severity").map(String::as_str).unwrap_or("");
    format!(
        "[{}{}] {} {} ({sev})",
        e.status.to_uppercase(),
        if e.repeat { ", repeat" } else { "" },
        e.alertname,
        inst
    )
}

fn text_body(e: &AlertEvent) -> String {
    let mut s = String::new();
    if let Some(sum) = e.annotations.get("summary") {
        s.push_str(sum);
        s.push('\n');
    }
    for (k, v) in &e.annotations {
        if k != "summary" {
            s.push_str(&format!("{k}: {v}\n"));
        }
    }
    s.push('\n');
    for (k, v) in &e.labels {
        s.push_str(&format!("{k}={v}\n"));
    }
    s.push_str(&format!("since {}", e.starts_at));
    if e.status == "resolved" {
        s.push_str(&format!(", resolved {}", e.ends_at));
    }
    s.push('\n');
    s
}

fn payload(kind: ChannelKind, e: &AlertEvent) -> Value {
    match kind {
        ChannelKind::Slack => json!({"text": format!("*{}*\n{}", headline(e), text_body(e))}),
        ChannelKind::Teams => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": headline(e), "wrap": true},
                        {"type": "TextBlock", "text": text_body(e), "wrap": true},
                    ],
                },
            }],
        }),
        _ => alertmanager_payload(e),
    }
}

/// A failed delivery. `rejected`: the receiver refused this very payload
/// (HTTP 400, 413 or 422). Retrying cannot help, and left at the head of
/// the outbox it would hold every later event for its channel, so it is
/// set aside instead. (401, 403, 404 and 5xx say the channel is wrong or
/// down: those events wait for it.)
struct Failed {
    msg: String,
    rejected: bool,
}

impl From<String> for Failed {
    fn from(msg: String) -> Failed {
        Failed { msg, rejected: false }
    }
}

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> std::result::Result<(), Failed> {
    let data = body.to_string();
    match agent
        .post(url)
        .header("content-type", "application/json")
        .send(data.as_bytes())
    {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) if matches!(resp.status().as_u16(), 400 | 413 | 422) => Err(Failed {
            msg: format!("HTTP {} (the receiver rejected this payload)", resp.status()),
            rejected: true,
        }),
        Ok(resp) => Err(format!("HTTP {}", resp.status()).into()),
        // deliver() redacts (the URL is a registered secret).
        Err(e) => Err(e.to_string().into()),
    }
}

fn exec(cmd: &str, e: &AlertEvent, timeout: Duration) -> std::result::Result<(), String> {
    let line = sw_core::output::render_kind("alert", e, false).map_err(|e| e.to_string())? + "\n";
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting /bin/sh: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(line.as_bytes());
    }
    let until = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => return Ok(()),
            Ok(Some(st)) => return Err(format!("command failed ({st})")),
            Ok(None) if Instant::now() >= until => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("command timed out after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn deliver(c: &Channel, agent: &ureq::Agent, e: &AlertEvent, timeout: Duration) -> std::result::Result<(), Failed> {
    match &c.target {
        Target::Url(url) => post(agent, url, &payload(c.kind, e)),
        Target::Smtp(cfg) => smtp::send(cfg, &headline(e), &text_body(e)).map_err(Failed::from),
        Target::Exec(cmd) => exec(cmd, e, timeout).map_err(Failed::from),
    }
    .map_err(|mut f| {
        f.msg = sw_core::secret::redact(&f.msg);
        f
    })
}

/// Deliver one event with up to --attempts tries, backing off in between; a
/// rejected payload is not tried again. The attempts made, and unless it was
/// delivered why not (each distinct error once, joined by " / ").
fn deliver_with_retries(c: &Channel, agent: &ureq::Agent, e: &AlertEvent, a: &NotifyArgs) -> (u32, Option<Failed>) {
    let mut err: Option<Failed> = None;
    for attempt in 1..=a.attempts {
        if attempt > 1 {
            // Doubling, but never more than 5 minutes (or the delay given) at a time.
            let backoff = a.retry_delay.saturating_mul(2u32.saturating_pow(attempt - 2));
            std::thread::sleep(backoff.min(a.retry_delay.max(Duration::from_secs(300))));
        }
        let f = match deliver(c, agent, e, a.timeout) {
            Ok(()) => return (attempt, None),
            Err(f) => f,
        };
        log::info!("{} attempt {attempt}: {}", c.name, f.msg);
        let msg = match err {
            Some(prev) if !prev.msg.split(" / ").any(|p| p == f.msg) => format!("{} / {}", prev.msg, f.msg),
            Some(prev) => prev.msg,
            None => f.msg,
        };
        err = Some(Failed {
            msg,
            rejected: f.rejected,
        });
        if f.rejected {
            return (attempt, err);
        }
    }
    (a.attempts, err)
}

/// An outbox entry.
#[derive(Debug, Serialize, Deserialize)]
struct Job {
    channel: String,
    kind: ChannelKind,
    event: AlertEvent,
}

/// The `alert.delivery` record.
#[derive(Debug, Serialize)]
struct Delivery<'a> {
    channel: &'a str,
    alertname: &'a str,
    fingerprint: &'a str,
    status: &'a str,
    delivered: bool,
    attempts: u32,
    error: Option<String>,
}

fn default_outbox() -> PathBuf {
    crate::state_dir().join("outbox")
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

/// Flags plus the --config file.
fn merged(a: &NotifyArgs) -> Result<NotifyArgs> {
    use clap::ValueEnum;
    let mut m = a.clone();
    let Some(path) = &a.config else { return Ok(m) };
    let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
    let f: ConfigFile =
        toml::from_str(&text).map_err(|e| Error::config(format!("{}: {}", q(path), e.message().trim())))?;
    for (key, entries, list) in [
        ("webhook", f.webhook, &mut m.webhook),
        ("slack", f.slack, &mut m.slack),
        ("teams", f.teams, &mut m.teams),
        ("exec", f.exec, &mut m.exec),
    ] {
        for e in entries {
            let (spec, send) = match (e, key == "exec") {
                (Entry::Plain(v), _) => (v, None),
                (Entry::Url { url, send_resolved }, false) => (url, send_resolved),
                (Entry::Command { command, send_resolved }, true) => (command, send_resolved),
                _ => {
                    return Err(Error::config(format!(
                        "{}: {key} entries are strings or tables with {} and send_resolved",
                        q(path),
                        if key == "exec" { "command" } else { "url" }
                    )));
                }
            };
            if let Some(b) = send {
                m.send_resolved.insert(spec.clone(), b);
            }
            list.push(spec);
        }
    }
    for k in &f.no_resolved {
        m.no_resolved.push(
            ChannelKind::from_str(k, true)
                .map_err(|_| Error::config(format!("{}: no_resolved: unknown channel kind {k:?}", q(path))))?,
        );
    }
    if let Some(s) = f.smtp {
        if m.smtp_server.is_some() {
            return Err(Error::usage(format!("SMTP is set both by flags and in {}", q(path))));
        }
        m.smtp_server = Some(s.server);
        if let Some(t) = s.tls {
            m.smtp_tls = SmtpTls::from_str(&t, true).map_err(|_| {
                Error::config(format!(
                    "{}: smtp.tls {t:?}: starttls, implicit or plain-insecure",
                    q(path)
                ))
            })?;
        }
        m.smtp_from = Some(s.from);
        m.smtp_to = s.to;
        m.smtp_credentials = s.credentials;
        m.smtp_ca = s.ca;
        m.smtp_send_resolved = s.send_resolved;
    }
    Ok(m)
}

/// The HTTP client for webhooks: one timeout per request, HTTP errors as
/// responses, and the system roots or --webhook-ca.
fn http_agent(a: &NotifyArgs) -> Result<ureq::Agent> {
    let roots = match &a.webhook_ca {
        None => ureq::tls::RootCerts::PlatformVerifier,
        Some(p) => {
            let pem = std::fs::read(p).io_context(|| format!("reading {}", q(p)))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(Error::config(format!("{} holds no PEM certificate", q(p))));
            }
            ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs))
        }
    };
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(roots)
        .build();
    Ok(ureq::Agent::config_builder()
        .timeout_global(Some(a.timeout))
        .http_status_as_error(false)
        .tls_config(tls)
        .build()
        .into())
}

/// Run `notify`.
pub fn run(a: &NotifyArgs, pretty: bool) -> Result<()> {
    let a = &merged(a)?;
    let chans = channels(a)?;
    if chans.is_empty() {
        return Err(Error::usage(
            "no channel: give --config, --webhook, --slack, --teams, --smtp-server or --exec",
        ));
    }
    // Validate all input before anything is queued.
    let recs = sw_core::input::read_all(std::io::stdin().lock(), "stdin")?;
    let mut events = Vec::new();
    for r in &recs {
        r.expect("stdin", &["alert"])?;
        let mut e: AlertEvent = serde_json::from_value(r.value.clone())
            .map_err(|e| Error::data(format!("stdin:{}: not an alert event: {e}", r.line)))?;
        e.complete();
        if e.status != "firing" && e.status != "resolved" {
            return Err(Error::data(format!(
                "stdin:{}: status {:?} is neither firing nor resolved",
                r.line, e.status
            )));
        }
        events.push(e);
    }
    let outbox = a.outbox.clone().unwrap_or_else(default_outbox);
    std::fs::create_dir_all(&outbox).io_context(|| format!("creating {}", q(&outbox)))?;
    let _lock = Lock::try_acquire(&outbox.join(".lock"), "sw-alerts notify with this outbox")?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut seq = 0u32;
    for e in &events {
        for c in &chans {
            if e.status == "resolved" && !c.send_resolved {
                continue;
            }
            let job = Job {
                channel: c.id.clone(),
                kind: c.kind,
                event: e.clone(),
            };
            let data = serde_json::to_vec(&job).map_err(|e| Error::software("encoding a job").with_source(e))?;
            let path = outbox.join(format!("{stamp:024}-{seq:06}-{}.json", c.id));
            seq += 1;
            sw_core::fsutil::write_new(&path, &data, 0o600)?;
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .io_context(|| format!("listing {}", q(&outbox)))?
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let agent = http_agent(a)?;
    let mut out = Output::stdout(pretty);
    let mut failed = 0usize;
    let mut rejected = 0usize;
    let mut foreign = 0usize;
    let mut removed = false;
    let rejected_dir = outbox.join("rejected");
    // A channel that failed in this run is not retried for its later jobs (keeps order, saves time).
    let mut down: BTreeMap<String, String> = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).io_context(|| format!("reading {}", q(&f)))?;
        let job: Job = match serde_json::from_str(&text) {
            Ok(j) => j,
            Err(e) => {
                log::warn!("skipping unreadable outbox entry {}: {e}", q(&f));
                foreign += 1;
                continue;
            }
        };
        let Some(c) = chans.iter().find(|c| c.id == job.channel) else {
            log::warn!(
                "{} is for a channel not configured in this run ({}); left in the outbox",
                q(&f),
                job.channel
            );
            foreign += 1;
            continue;
        };
        let (attempts, err) = match down.get(&c.id) {
            // The channel already failed in this run: not tried again.
            Some(e) => (0, Some(Failed::from(e.clone()))),
            None => deliver_with_retries(c, &agent, &job.event, a),
        };
        let delivered = err.is_none();
        let err = match err {
            None => {
                std::fs::remove_file(&f).io_context(|| format!("removing {}", q(&f)))?;
                removed = true;
                None
            }
            Some(e) if e.rejected => {
                // Kept for inspection, out of the way of the channel's later events.
                std::fs::create_dir_all(&rejected_dir).io_context(|| format!("creating {}", q(&rejected_dir)))?;
                let to = rejected_dir.join(f.file_name().unwrap_or_default());
                std::fs::rename(&f, &to).io_context(|| format!("moving {} to {}", q(&f), q(&to)))?;
                sw_core::fsutil::fsync_dir(&rejected_dir)?;
                removed = true;
                rejected += 1;
                Some(e.msg + "; moved to rejected/")
            }
            Some(e) => {
                failed += 1;
                down.insert(c.id.clone(), e.msg.clone());
                Some(e.msg)
            }
        };
        out.record(
            "alert.delivery",
            &Delivery {
                channel: &c.name,
                alertname: &job.event.alertname,
                fingerprint: &job.event.fingerprint,
                status: &job.event.status,
                delivered,
                attempts,
                error: err,
            },
        )?;
    }
    out.flush()?;
    if removed {
        sw_core::fsutil::fsync_dir(&outbox)?;
    }
    if foreign > 0 {
        log::warn!("{foreign} outbox entries belong to channels not configured in this run");
    }
    if failed > 0 {
        let why: Vec<String> = down
            .iter()
            .filter_map(|(id, e)| chans.iter().find(|c| &c.id == id).map(|c| format!("{}: {e}", c.name)))
            .collect();
        return Err(Error::temp(format!(
            "{failed} notifications not delivered, kept in {} for the next run ({}){}",
            q(&outbox),
            why.join("; "),
            if rejected > 0 {
                format!("; {rejected} rejected by their receiver, moved to rejected/")
            } else {
                String::new()
            }
        )));
    }
    if rejected > 0 {
        return Err(Error::data(format!(
            "{rejected} notifications were rejected by their receiver (HTTP 400, 413 or 422) and moved to {} for inspection; the others were delivered",
            q(&rejected_dir)
        )));
    }
    Ok(())
}
