//! The life of a drill's scratch server: the work runs on its own thread
//! while this one waits for it or for SIGTERM/SIGINT, so that whatever
//! happens (success, a failed check, an error, a signal) the scratch
//! server is deleted before the program exits.

use std::time::Duration;

use sw_core::azure::ArmClient;
use sw_core::azure::flexible::ops;
use sw_core::azure::flexible::target::ServerRef;
use sw_core::{Error, Result};

/// How work on the other thread ended.
pub enum Ended<T> {
    Done(T),
    /// A signal came first (its name); the work may still be running.
    Interrupted(&'static str),
}

/// Run `work` on its own thread; return when it ends or a signal comes.
///
/// # Errors
/// 70 when the runtime or the signal handler cannot be set up, or the
/// work thread panicked.
pub fn run_interruptible<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<Ended<T>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::software("starting the async runtime").with_source(e))?;
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        // Handlers first: a signal from here on is ours to act on.
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Error::software("installing the SIGTERM handler").with_source(e))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| Error::software("installing the SIGINT handler").with_source(e))?;
        std::thread::spawn(move || {
            let _ = tx.send(work());
        });
        tokio::select! {
            biased;
            _ = term.recv() => Ok(Ended::Interrupted("SIGTERM")),
            _ = int.recv() => Ok(Ended::Interrupted("SIGINT")),
            r = rx => r.map(Ended::Done).map_err(|_| Error::software("the drill's work thread panicked")),
        }
    })
}

/// What became of a scratch server.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Deleted (or never created: nothing is left).
    Deleted,
    /// The delete was accepted and still runs when the drill ended (after a signal).
    Deleting,
    /// Kept for inspection (--keep).
    Kept,
    /// The delete failed: delete it by hand (the error says why).
    DeleteFailed,
}

/// Delete `server`; after a signal wait at most `patience` for it.
pub fn delete(c: &mut ArmClient, server: &ServerRef, patience: Option<Duration>) -> (Fate, Option<String>) {
    if let Some(p) = patience {
        c.policy.operation_timeout = c.policy.operation_timeout.min(p);
    }
    let started = match ops::start(c, "DELETE", &server.path(""), None) {
        Ok(s) => s,
        Err(e) => return (Fate::DeleteFailed, Some(e.to_string())),
    };
    match ops::finish(c, &started) {
        Ok(_) => (Fate::Deleted, None),
        Err(e) if e.exit() == sw_core::Exit::TempFail && patience.is_some() => (Fate::Deleting, None),
        Err(e) => (Fate::DeleteFailed, Some(e.to_string())),
    }
}
