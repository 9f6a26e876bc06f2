//! A one-line progress display on stderr (rows read of rows expected, the
//! rate), drawn by its own thread only when stderr is a terminal and not
//! `--quiet`: never in pipes or under systemd.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// The display; dropping it stops and clears it.
pub(super) struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Start drawing `rows` of `expected` (0: not known yet).
    pub(super) fn start(rows: Arc<AtomicU64>, expected: Arc<AtomicU64>, quiet: bool) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = if !quiet && std::io::stderr().is_terminal() {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || draw(&rows, &expected, &stop))
                .ok()
        } else {
            None
        };
        Progress { stop, thread }
    }
}

fn draw(rows: &AtomicU64, expected: &AtomicU64, stop: &AtomicBool) {
    let t0 = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let n = rows.load(Ordering::Relaxed);
        let expected = expected.load(Ordering::Relaxed);
        if expected == 0 {
            continue;
        }
        let secs = t0.elapsed().as_secs_f64().max(0.001);
        let total = expected.max(n);
        #[allow(clippy::cast_precision_loss, reason = "a display: row counts beyond 2^53 may round")]
        let (rate, done) = (n as f64 / secs, n as f64 / total as f64);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "done is within 0..=1, so the bar width is within 0..=30"
        )]
        let filled = ((done * 30.0) as usize).min(30);
        eprint!(
            "\r{NAME}: [{}{}] {n}/{total} rows, {rate:.0} rows/s, {secs:.1}s ",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            NAME = crate::NAME
        );
    }
    eprint!("\r{:100}\r", "");
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
