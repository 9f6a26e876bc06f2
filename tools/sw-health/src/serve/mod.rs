//! `sw-health serve --listen ADDR`: a Prometheus exporter for one target
//! or a `--targets` fleet. `/metrics` runs the checks on scrape (at most
//! once per `--min-interval`, see [`cache`]) within the scrape's time
//! budget and answers in OpenMetrics (or the text format, for a client
//! that does not ask for OpenMetrics); `/healthz` says the exporter is up.
//! TLS and basic auth come from an exporter-toolkit web configuration
//! file ([`web`]). A small blocking HTTP/1.1 server ([`http`]) on std::net
//! with a thread per connection: scrapes are few, and the build stays lean.
//!
//! SIGTERM or SIGINT stops the server (exit 0: stopping a service is not a
//! failure); a check run in flight is dropped with its connections.

mod cache;
mod http;
mod web;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Args;
use sw_core::{Error, Exit, Result};

use crate::check::{Prepared, RunOpts};
use crate::exposition::{self, Flavour};
use cache::Exporter;
use http::{Conn, Request, Response};
use web::WebConfig;

/// Flags of `sw-health serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub run: RunOpts,
    /// Listen on this address (HOST:PORT, e.g. 127.0.0.1:9188 or [::]:9188).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Run the checks at most once per this interval: scrapes inside it get
    /// the last result, so two Prometheus servers do not double the load.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub min_interval: Duration,
    /// The longest a scrape may take (a scraper's
    /// X-Prometheus-Scrape-Timeout-Seconds, less 0.5 s, lowers it): targets
    /// not done by then report what they have.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub scrape_timeout: Duration,
    /// TLS and basic auth: the Prometheus exporter-toolkit web configuration
    /// file (YAML: tls_server_config with cert_file, key_file, client_ca_file,
    /// client_auth_type, min_version; basic_auth_users with bcrypt hashes).
    #[arg(long, value_name = "FILE", alias = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
}

/// At most this many connections are served at once; more are closed.
const MAX_CONNECTIONS: usize = 64;

/// What every connection's thread shares.
struct Ctx {
    exporter: Exporter,
    web: WebConfig,
    tls: Option<openssl::ssl::SslAcceptor>,
    scrape_timeout: Duration,
    active: AtomicUsize,
}

/// Run the exporter until SIGTERM or SIGINT.
///
/// # Errors
/// 64/66/74/77/78 for the flags and files (as `check`, and the web
/// configuration); 69 when the address cannot be listened on (77 when
/// that is not allowed).
pub fn run(a: &ServeArgs) -> Result<()> {
    let web = match &a.web_config_file {
        Some(p) => WebConfig::load(p)?,
        None => WebConfig::default(),
    };
    let tls = web.acceptor()?;
    let mut prep = Prepared::new(&a.run)?;
    // Every target is a report, whatever happens to it.
    prep.fleet = true;
    let listener = TcpListener::bind(&a.listen).map_err(|e| {
        let exit = if e.kind() == std::io::ErrorKind::PermissionDenied {
            Exit::NoPerm
        } else {
            Exit::Unavailable
        };
        Error::new(exit, format!("listening on {}", a.listen)).with_source(e)
    })?;
    log::info!(
        "serving /metrics on {}{} for {} targets",
        if tls.is_some() { "https://" } else { "http://" },
        a.listen,
        prep.targets.len()
    );
    let ctx = Arc::new(Ctx {
        exporter: Exporter::new(prep, a.run.clone(), a.min_interval),
        web,
        tls,
        scrape_timeout: a.scrape_timeout,
        active: AtomicUsize::new(0),
    });
    // Block the signals in every thread; this one waits for them.
    let mut signals = nix::sys::signal::SigSet::empty();
    signals.add(nix::sys::signal::Signal::SIGINT);
    signals.add(nix::sys::signal::Signal::SIGTERM);
    signals
        .thread_block()
        .map_err(|e| Error::software("blocking signals").with_source(e))?;
    std::thread::spawn(move || accept(&listener, &ctx));
    let sig = signals
        .wait()
        .map_err(|e| Error::software("waiting for signals").with_source(e))?;
    log::info!("{sig}: stopping");
    Ok(())
}

fn accept(listener: &TcpListener, ctx: &Arc<Ctx>) {
    for s in listener.incoming() {
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                log::warn!("accepting a connection: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if ctx.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            ctx.active.fetch_sub(1, Ordering::SeqCst);
            log::warn!("more than {MAX_CONNECTIONS} connections at once: closing one");
            continue;
        }
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            serve_one(s, &ctx);
            ctx.active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// One connection: (TLS,) one request, one response.
fn serve_one(s: TcpStream, ctx: &Ctx) {
    // A scrape waits for the checks; reading and writing never wait long.
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
    let peer = s.peer_addr().map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let mut conn = match &ctx.tls {
        None => Conn::Plain(s),
        Some(acc) => match acc.accept(s) {
            Ok(t) => Conn::Tls(Box::new(t)),
            Err(e) => {
                log::debug!("{peer}: TLS handshake: {e}");
                return;
            }
        },
    };
    let (resp, head) = match http::read_request(&mut conn) {
        Ok(None) => return,
        Ok(Some(req)) => (route(&req, ctx), req.method == "HEAD"),
        Err(e) => (Response::text(400, &format!("{e}\n")), false),
    };
    if let Err(e) = http::write_response(&mut conn, &resp, head) {
        log::debug!("{peer}: writing the response: {e}");
    }
}

fn route(req: &Request, ctx: &Ctx) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        let mut r = Response::text(405, "GET or HEAD\n");
        r.headers.push(("allow", "GET, HEAD".into()));
        return r;
    }
    if !ctx.web.authorized(req.header("authorization")) {
        let mut r = Response::text(401, "unauthorized\n");
        r.headers.push(("www-authenticate", "Basic realm=\"sw-health\"".into()));
        return r;
    }
    match req.path() {
        "/metrics" => metrics(req, ctx),
        "/healthz" => Response::text(200, "ok\n"),
        "/" => Response::text(200, "sw-health exporter: /metrics (OpenMetrics), /healthz\n"),
        _ => Response::text(404, "not found: try /metrics\n"),
    }
}

/// The scrape's time budget: --scrape-timeout, or less when the scraper
/// says it gives up sooner.
fn budget(req: &Request, max: Duration) -> Duration {
    req.header("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64((s - 0.5).max(0.5)).ok())
        .map_or(max, |d| d.min(max))
}

fn metrics(req: &Request, ctx: &Ctx) -> Response {
    let flavour = if req
        .header("accept")
        .is_some_and(|a| a.contains("application/openmetrics-text"))
    {
        Flavour::OpenMetrics
    } else {
        Flavour::Text
    };
    match ctx.exporter.scrape(budget(req, ctx.scrape_timeout)) {
        None => Response::text(503, "the first check run has not finished yet\n"),
        Some((reports, runs)) => Response {
            status: 200,
            content_type: flavour.content_type(),
            headers: Vec::new(),
            body: exposition::render(&reports, flavour, Some(runs)).into_bytes(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_scrape_budget_follows_the_scraper() {
        let req = |h: &str| {
            http::read_request(format!("GET /metrics HTTP/1.1\r\n{h}\r\n\r\n").as_bytes())
                .unwrap()
                .unwrap()
        };
        let max = Duration::from_secs(10);
        assert_eq!(
            budget(&req("X-Prometheus-Scrape-Timeout-Seconds: 4"), max),
            Duration::from_millis(3500)
        );
        assert_eq!(budget(&req("X-Prometheus-Scrape-Timeout-Seconds: 60"), max), max);
        assert_eq!(
            budget(&req("X-Prometheus-Scrape-Timeout-Seconds: 0.2"), max),
            Duration::from_millis(500)
        );
        assert_eq!(budget(&req("X-Other: 1"), max), max);
    }
}
