//! Delivering one alert to one channel: an HTTP POST, an SMTP
//! conversation or a command, with retries and backoff. Errors come back
//! redacted (webhook URLs and SMTP passwords are registered secrets), and
//! a payload the receiver rejects is told apart from a channel that is down.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

use super::channel::{Channel, Target};
use super::config::NotifyArgs;
use super::payload;
use crate::alert::Alert;
use crate::smtp;

/// A failed delivery. `rejected`: the receiver refused this very payload
/// (HTTP 400, 413 or 422). Retrying cannot help, and left at the head of
/// the outbox it would hold every later event for its channel, so it is
/// set aside instead. (401, 403, 404 and 5xx say the channel is wrong or
/// down: those events wait for it.)
pub struct Failed {
    pub msg: String,
    pub rejected: bool,
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

/// Push to every Alertmanager of the cluster, as Prometheus does: delivered
/// when one of them accepts (they do not share alerts, but deduplicate the
/// notifications they send). Rejected only when every one that answered
/// refused the payload and none was down.
fn push_all(agent: &ureq::Agent, urls: &[String], body: &Value) -> std::result::Result<(), Failed> {
    let mut errors = Vec::new();
    let mut rejected = true;
    let mut accepted = false;
    for url in urls {
        match post(agent, url, body) {
            Ok(()) => accepted = true,
            Err(f) => {
                rejected &= f.rejected;
                // The URL is a registered secret (redacted): name its host.
                errors.push(format!("{}: {}", super::channel::url_name(url), f.msg));
            }
        }
    }
    if accepted {
        if !errors.is_empty() {
            log::info!("delivered, but not to every Alertmanager: {}", errors.join("; "));
        }
        return Ok(());
    }
    Err(Failed {
        msg: errors.join("; "),
        rejected,
    })
}

/// Run `cmd` with the alert record (one JSON line) on its stdin.
fn exec(cmd: &str, e: &Alert, timeout: Duration) -> std::result::Result<(), String> {
    let line = sw_core::output::render(e, false).map_err(|e| e.to_string())? + "\n";
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

fn deliver(c: &Channel, agent: &ureq::Agent, e: &Alert, a: &NotifyArgs) -> std::result::Result<(), Failed> {
    let timeout = a.timeout;
    match &c.target {
        Target::Url(url) => post(agent, url, &payload::for_channel(c.kind, e)),
        Target::Alertmanagers(urls) => {
            let valid = a.resend_every.saturating_mul(4);
            push_all(agent, urls, &payload::alertmanager_v2(e, &a.generator_url, valid))
        }
        Target::Smtp(cfg) => smtp::send(cfg, &payload::headline(e), &payload::text_body(e)).map_err(Failed::from),
        Target::Exec(cmd) => exec(cmd, e, timeout).map_err(Failed::from),
    }
    .map_err(|mut f| {
        f.msg = sw_core::secret::redact(&f.msg);
        f
    })
}

/// Deliver one alert with up to --attempts tries, backing off in between; a
/// rejected payload is not tried again. The attempts made, and unless it was
/// delivered why not (each distinct error once, joined by " / ").
pub fn with_retries(c: &Channel, agent: &ureq::Agent, e: &Alert, a: &NotifyArgs) -> (u32, Option<Failed>) {
    let mut err: Option<Failed> = None;
    for attempt in 1..=a.attempts {
        if attempt > 1 {
            // Doubling, but never more than 5 minutes (or the delay given) at a time.
            let backoff = a.retry_delay.saturating_mul(2u32.saturating_pow(attempt - 2));
            std::thread::sleep(backoff.min(a.retry_delay.max(Duration::from_secs(300))));
        }
        let f = match deliver(c, agent, e, a) {
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

/// The HTTP client for webhooks: one timeout per request, HTTP errors as
/// responses, and the system roots or --webhook-ca.
///
/// # Errors
/// 78 when --webhook-ca holds no certificate (66/74 when it cannot be read).
pub fn http_agent(a: &NotifyArgs) -> Result<ureq::Agent> {
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
