//! `sw-alerts notify`: alert records in, deliveries out. Every (alert,
//! channel) pair is first written durably to the outbox, then delivered with
//! retries; what cannot be delivered stays there for the next run (exit 75),
//! and what a receiver rejects as a payload is moved to `rejected/` (exit 65).
//!
//! [`config`] holds the flags and the `--config` file, [`channel`] turns
//! them into channels, [`outbox`] keeps the queue on disk, [`send`]
//! delivers one alert to one channel, [`payload`] is what each kind of
//! channel receives, and [`active`] keeps the firing alerts Alertmanager
//! must hear again before they end there.

mod active;
mod channel;
mod config;
mod outbox;
mod payload;
mod send;

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::Record;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::{Error, Result};

use crate::alert::{Alert, AlertStatus};
use active::Active;
use channel::Channel;
pub use config::{ChannelKind, NotifyArgs};
use outbox::Outbox;
use send::Failed;

/// The outcome of one outbox entry in this run: an alert to one channel.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AlertDelivery {
    /// The channel, safe to print: its kind and host (webhook http://host:port,
    /// email host:port, exec), never a path, query or token.
    pub channel: String,
    /// The alert's name.
    pub alertname: String,
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// The alert's status.
    pub status: AlertStatus,
    /// True when the receiver took it (the entry left the outbox).
    pub delivered: bool,
    /// Attempts made in this run (0: the channel already failed in this run and was not tried again).
    pub attempts: u32,
    /// Why not, each distinct error once, joined by " / " (a rejected payload
    /// ends in "; moved to rejected/"); null when delivered.
    pub error: Option<String>,
    /// A periodic re-send of a still-firing alert to Alertmanager (so it does
    /// not end there at its endsAt), not an outbox entry: when it fails, the
    /// next run sends it again.
    pub resend: bool,
}

impl Record for AlertDelivery {
    const KIND: &'static str = "alert.delivery";
}

/// Read and check all input before anything is queued.
fn read_alerts() -> Result<Vec<Alert>> {
    let lines = sw_core::input::read_all(std::io::stdin().lock(), "stdin")?;
    lines
        .iter()
        .map(|l| sw_core::contract::parse::<Alert>(l, "stdin"))
        .collect()
}

/// Run notify.
pub fn run(a: &NotifyArgs, pretty: bool) -> Result<()> {
    let a = &a.merged()?;
    let chans = channel::channels(a)?;
    if chans.is_empty() {
        return Err(Error::usage(
            "no channel: give --config, --webhook, --alertmanager, --slack, --teams, --smtp-server or --exec",
        ));
    }
    let alerts = read_alerts()?;
    let dir = a.outbox.clone().unwrap_or_else(|| crate::state_dir().join("outbox"));
    let outbox = Outbox::open(dir)?;
    outbox.enqueue(&alerts, &chans)?;
    let am = chans.iter().find(|c| c.kind == ChannelKind::Alertmanager);
    let active = match am {
        None => None,
        Some(_) => {
            let mut active = Active::load(outbox.dir())?;
            active.note(&alerts);
            Some(active)
        }
    };
    let files = outbox.pending()?;
    let mut d = Deliveries {
        args: a,
        chans: &chans,
        agent: send::http_agent(a)?,
        outbox,
        active,
        out: Output::stdout(pretty),
        tally: Tally::default(),
    };
    for f in files {
        d.deliver(&f)?;
    }
    if let Some(c) = am {
        d.resend(c)?;
    }
    d.out.flush()?;
    d.outbox.sync()?;
    if let Some(active) = &d.active {
        active.save(d.outbox.dir())?;
    }
    d.tally.verdict(&chans, &d.outbox)
}

/// What this run's deliveries came to.
#[derive(Default)]
struct Tally {
    /// Entries left in the outbox for the next run.
    failed: usize,
    /// Firing alerts Alertmanager did not take again (the next run tries).
    resend_failed: usize,
    /// Entries moved to rejected/.
    rejected: usize,
    /// Entries for channels not configured in this run (left alone).
    foreign: usize,
    /// Fingerprints of Alertmanager entries left in the outbox: not re-sent.
    queued: Vec<String>,
    /// Channels that failed in this run, with why: not tried again for
    /// their later entries (keeps order, saves time).
    down: BTreeMap<String, String>,
}

impl Tally {
    /// The run's result: 75 while something stays queued (or a firing
    /// alert could not be re-sent), else 65 when a payload was rejected.
    fn verdict(&self, chans: &[Channel], outbox: &Outbox) -> Result<()> {
        if self.foreign > 0 {
            log::warn!(
                "{} outbox entries belong to channels not configured in this run",
                self.foreign
            );
        }
        if self.failed > 0 || self.resend_failed > 0 {
            let why: Vec<String> = self
                .down
                .iter()
                .filter_map(|(id, e)| chans.iter().find(|c| &c.id == id).map(|c| format!("{}: {e}", c.name)))
                .collect();
            let mut what = Vec::new();
            if self.failed > 0 {
                what.push(format!(
                    "{} notifications not delivered, kept in {} for the next run",
                    self.failed,
                    q(outbox.dir())
                ));
            }
            if self.resend_failed > 0 {
                what.push(format!(
                    "{} firing alerts not re-sent to Alertmanager (the next run tries again)",
                    self.resend_failed
                ));
            }
            return Err(Error::temp(format!(
                "{} ({}){}",
                what.join("; "),
                why.join("; "),
                if self.rejected > 0 {
                    format!("; {} rejected by their receiver, moved to rejected/", self.rejected)
                } else {
                    String::new()
                }
            )));
        }
        if self.rejected > 0 {
            return Err(Error::data(format!(
                "{} notifications were rejected by their receiver (HTTP 400, 413 or 422) and moved to {} for inspection; the others were delivered",
                self.rejected,
                q(&outbox.rejected_dir())
            )));
        }
        Ok(())
    }
}

/// Delivering the outbox, entry by entry, then the re-sends.
struct Deliveries<'a> {
    args: &'a NotifyArgs,
    chans: &'a [Channel],
    agent: ureq::Agent,
    outbox: Outbox,
    /// The Alertmanager channel's firing alerts (when it is configured).
    active: Option<Active>,
    out: Output,
    tally: Tally,
}

impl Deliveries<'_> {
    /// Try one alert on one channel, unless the channel already failed in
    /// this run; a failure (not a rejection) marks the channel down.
    fn attempt(&mut self, c: &Channel, e: &Alert) -> (u32, Option<Failed>) {
        let (attempts, err) = match self.tally.down.get(&c.id) {
            // The channel already failed in this run: not tried again.
            Some(e) => (0, Some(Failed::from(e.clone()))),
            None => send::with_retries(c, &self.agent, e, self.args),
        };
        match &err {
            None if c.kind == ChannelKind::Alertmanager && e.status == AlertStatus::Firing => {
                if let Some(active) = &mut self.active {
                    active.pushed(&e.fingerprint, chrono::Utc::now());
                }
            }
            Some(f) if !f.rejected => {
                self.tally.down.insert(c.id.clone(), f.msg.clone());
            }
            _ => {}
        }
        (attempts, err)
    }

    /// Deliver one outbox entry (unless its channel is not ours or already
    /// down), settle it in the outbox and print its alert.delivery.
    fn deliver(&mut self, f: &Path) -> Result<()> {
        let Some(job) = Outbox::read(f)? else {
            self.tally.foreign += 1;
            return Ok(());
        };
        let Some(c) = self.chans.iter().find(|c| c.id == job.channel) else {
            log::warn!(
                "{} is for a channel not configured in this run ({}); left in the outbox",
                q(f),
                job.channel
            );
            self.tally.foreign += 1;
            return Ok(());
        };
        let (attempts, err) = self.attempt(c, &job.event);
        let delivered = err.is_none();
        let error = match err {
            None => {
                self.outbox.remove(f)?;
                None
            }
            Some(e) if e.rejected => {
                self.outbox.reject(f)?;
                self.tally.rejected += 1;
                Some(e.msg + "; moved to rejected/")
            }
            Some(e) => {
                self.tally.failed += 1;
                if c.kind == ChannelKind::Alertmanager {
                    self.tally.queued.push(job.event.fingerprint.clone());
                }
                Some(e.msg)
            }
        };
        self.out.emit(&AlertDelivery {
            channel: c.name.clone(),
            alertname: job.event.alertname,
            fingerprint: job.event.fingerprint,
            status: job.event.status,
            delivered,
            attempts,
            error,
            resend: false,
        })
    }

    /// Push again every firing alert Alertmanager last heard of
    /// `--resend-every` ago or more, so it does not end there.
    fn resend(&mut self, c: &Channel) -> Result<()> {
        let Some(active) = &self.active else { return Ok(()) };
        for e in active.due(chrono::Utc::now(), self.args.resend_every, &self.tally.queued) {
            let (attempts, err) = self.attempt(c, &e);
            if err.is_some() {
                self.tally.resend_failed += 1;
            }
            self.out.emit(&AlertDelivery {
                channel: c.name.clone(),
                alertname: e.alertname,
                fingerprint: e.fingerprint,
                status: e.status,
                delivered: err.is_none(),
                attempts,
                error: err.map(|f| f.msg),
                resend: true,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sw_core::contract::KindDoc;

    use super::*;

    #[test]
    fn the_delivery_follows_the_field_rule() {
        let d = KindDoc::of::<AlertDelivery>();
        assert!(d.rule_violations().is_empty(), "{:?}", d.rule_violations());
    }
}
