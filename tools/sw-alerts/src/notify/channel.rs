//! The channels of one `notify` run, built from the (merged) flags: where
//! each one delivers, its stable id (outbox entries name it), a name safe
//! to print, and whether it gets resolved notifications.

use std::path::Path;

use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

use super::config::{ChannelKind, NotifyArgs};
use crate::smtp::SmtpConfig;

/// Where a channel delivers.
#[derive(Debug)]
pub enum Target {
    Url(String),
    /// The API v2 alerts URL of each Alertmanager of one cluster.
    Alertmanagers(Vec<String>),
    Smtp(Box<SmtpConfig>),
    Exec(String),
}

/// One channel.
#[derive(Debug)]
pub struct Channel {
    pub kind: ChannelKind,
    /// Stable across runs: `<kind>-<hash of the URL, command or SMTP set-up>`
    /// (`alertmanager` for the Alertmanager cluster, whatever its members).
    pub id: String,
    /// Resolved notifications go to this channel.
    pub send_resolved: bool,
    /// Safe to print (no path, query or token).
    pub name: String,
    pub target: Target,
}

fn hash(s: &str) -> String {
    crate::alert::fnv1a(s.bytes())
}

/// A URL as given (or read from `@FILE`).
fn read_url(v: &str) -> Result<String> {
    let url = match v.strip_prefix('@') {
        Some(p) => std::fs::read_to_string(p)
            .io_context(|| format!("reading {}", q(Path::new(p))))?
            .trim()
            .to_owned(),
        None => v.to_owned(),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::usage(
            "webhook and Alertmanager URLs must start with http:// or https://",
        ));
    }
    Ok(url)
}

/// `scheme://host[:port]` of a URL: no user, path, query or token.
pub fn url_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |x| x.1);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{}://{host}", url.split("://").next().unwrap_or("http"))
}

/// The alerts endpoint of Alertmanager's API v2 at `url` (its base URL, or
/// the endpoint itself).
fn api_v2(url: &str) -> String {
    if url.trim_end_matches('/').ends_with("/api/v2/alerts") {
        url.to_owned()
    } else {
        format!("{}/api/v2/alerts", url.trim_end_matches('/'))
    }
}

/// The Alertmanager cluster as one channel: an alert pushed to every
/// member is delivered when one accepts it. Its id does not depend on the
/// members, so adding one keeps the outbox's entries and firing alerts.
fn alertmanagers(a: &NotifyArgs) -> Result<Option<Channel>> {
    if a.alertmanager.is_empty() {
        return Ok(None);
    }
    let mut urls = Vec::new();
    for v in &a.alertmanager {
        let url = api_v2(&read_url(v)?);
        sw_core::secret::register(&url);
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    let names: Vec<String> = urls.iter().map(|u| url_name(u)).collect();
    let kind = ChannelKind::Alertmanager;
    Ok(Some(Channel {
        kind,
        id: kind.name().to_owned(),
        send_resolved: !a.no_resolved.contains(&kind),
        name: format!("alertmanager {}", names.join(",")),
        target: Target::Alertmanagers(urls),
    }))
}

/// Whether a channel gets resolved notifications: its own send_resolved from
/// --config, else not when --no-resolved names its kind.
fn resolved(a: &NotifyArgs, kind: ChannelKind, spec: &str) -> bool {
    a.send_resolved
        .get(spec)
        .copied()
        .unwrap_or(!a.no_resolved.contains(&kind))
}

/// Every channel the flags name, each once.
///
/// # Errors
/// 64 for a bad URL or SMTP flags; 78 (66, 74) for a bad credentials file.
pub fn channels(a: &NotifyArgs) -> Result<Vec<Channel>> {
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
                id: format!("{}-{}", kind.name(), hash(&url)),
                send_resolved: resolved(a, kind, v),
                name: format!("{} {}", kind.name(), url_name(&url)),
                target: Target::Url(url),
            });
        }
    }
    out.extend(alertmanagers(a)?);
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
        out.push(email(a, server)?);
    }
    // The same channel given twice (flag and --config, say) is one channel.
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|c| seen.insert(c.id.clone()));
    Ok(out)
}

/// The email channel through `server` (HOST:PORT).
fn email(a: &NotifyArgs, server: &str) -> Result<Channel> {
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
        Some(p) => Some(credentials(p)?),
    };
    Ok(Channel {
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
    })
}

/// SMTP_USER and SMTP_PASSWORD from an env file (the password becomes a
/// registered secret: never printed).
fn credentials(p: &Path) -> Result<(String, String)> {
    let f = EnvFile::read(p)?;
    match (f.get("SMTP_USER"), f.get("SMTP_PASSWORD")) {
        (Some(u), Some(pw)) => {
            sw_core::secret::register(pw);
            Ok((u.to_owned(), pw.to_owned()))
        }
        _ => Err(Error::config(format!("{} needs SMTP_USER and SMTP_PASSWORD", q(p)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_hide_paths_and_users() {
        assert_eq!(
            url_name("https://u:p@hooks.example.org/T0KEN?x=1"),
            "https://hooks.example.org"
        );
        assert_eq!(url_name("http://127.0.0.1:9/hook"), "http://127.0.0.1:9");
    }

    #[test]
    fn alertmanager_urls_name_the_api_v2_endpoint() {
        assert_eq!(api_v2("http://am:9093"), "http://am:9093/api/v2/alerts");
        assert_eq!(api_v2("http://am:9093/prefix/"), "http://am:9093/prefix/api/v2/alerts");
        assert_eq!(api_v2("http://am:9093/api/v2/alerts"), "http://am:9093/api/v2/alerts");
    }
}
