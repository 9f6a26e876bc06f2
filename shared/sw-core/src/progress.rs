//! A progress line for long transfers on a terminal (issue #16): the
//! phase, what is done of the total, the rate and the time left, redrawn
//! in place on stderr by a thread of its own four times a second. Drawn
//! only when stderr is a terminal and the tool is not `-q`: never in
//! pipes, under systemd or in tests, so the JSON on stdout and the journal
//! stay clean. The work updates a shared [`Meter`] (atomics, no locks on
//! the hot path); dropping the [`Progress`] stops and clears the line.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Rows,
}

/// What the work has done so far, shared with the drawing thread.
#[derive(Debug, Default)]
pub struct Meter {
    done: AtomicU64,
    /// 0: not known (no percentage, no time left).
    total: AtomicU64,
    phase: Mutex<String>,
}

impl Meter {
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_done(&self, n: u64) {
        self.done.store(n, Ordering::Relaxed);
    }

    pub fn set_total(&self, n: u64) {
        self.total.store(n, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// A new phase: its name, counting from zero again.
    pub fn phase(&self, name: &str, total: u64) {
        if let Ok(mut p) = self.phase.lock() {
            name.clone_into(&mut p);
        }
        self.set_done(0);
        self.set_total(total);
    }
}

/// The drawing thread; dropping it stops and clears the line.
pub struct Progress {
    meter: Arc<Meter>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Draw `meter` for `tool` when stderr is a terminal and logging is not
    /// quiet (`-q` leaves only errors); otherwise nothing is drawn and the
    /// meter is merely counted.
    pub fn start(tool: &'static str, unit: Unit, meter: Arc<Meter>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let shown = std::io::stderr().is_terminal() && log::max_level() > log::LevelFilter::Error;
        let thread = shown
            .then(|| {
                let (m, stop) = (Arc::clone(&meter), Arc::clone(&stop));
                std::thread::Builder::new()
                    .name("progress".into())
                    .spawn(move || draw(tool, unit, &m, &stop))
                    .ok()
            })
            .flatten();
        Progress { meter, stop, thread }
    }

    /// A new meter, drawn as [`Progress::start`] says.
    pub fn new_meter(tool: &'static str, unit: Unit) -> Progress {
        Progress::start(tool, unit, Arc::new(Meter::default()))
    }

    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }

    /// Whether a line is drawn (work that costs something to measure, such
    /// as polling the server, is skipped when it is not).
    pub fn shown(&self) -> bool {
        self.thread.is_some()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn draw(tool: &str, unit: Unit, m: &Meter, stop: &AtomicBool) {
    let mut phase_started = (String::new(), Instant::now());
    let mut err = std::io::stderr();
    loop {
        // The last state is drawn once more before the line is cleared, so
        // a short run shows it too.
        let last = stop.load(Ordering::Relaxed);
        if !last {
            std::thread::sleep(Duration::from_millis(250));
        }
        let phase = m.phase.lock().map(|p| p.clone()).unwrap_or_default();
        if phase != phase_started.0 {
            phase_started = (phase.clone(), Instant::now());
        }
        let line = render(
            &phase,
            unit,
            m.done(),
            m.total.load(Ordering::Relaxed),
            phase_started.1.elapsed(),
        );
        let _ = write!(err, "\r{tool}: {line:<90}");
        let _ = err.flush();
        if last {
            break;
        }
    }
    let _ = write!(err, "\r{:110}\r", "");
    let _ = err.flush();
}

/// One line: `phase [#####.....] 40% 1.2 GB of 3.0 GB, 85 MB/s, 21s left`
/// (without a total: what is done and the rate).
#[must_use]
pub fn render(phase: &str, unit: Unit, done: u64, total: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = to_f64(done) / secs;
    let amount = |n: u64| match unit {
        Unit::Bytes => bytes(to_f64(n)),
        Unit::Rows => format!("{n} rows"),
    };
    let rate_s = match unit {
        Unit::Bytes => format!("{}/s", bytes(rate)),
        Unit::Rows => format!("{rate:.0} rows/s"),
    };
    if total == 0 {
        return format!("{phase} {}, {rate_s}, {secs:.0}s", amount(done));
    }
    let total = total.max(done);
    let frac = to_f64(done) / to_f64(total);
    let filled = usize::try_from(u128::from(done) * 20 / u128::from(total)).map_or(20, |f| f.min(20));
    let left = if done == 0 {
        "?".to_owned()
    } else {
        format!("{:.0}s", to_f64(total - done) / rate.max(f64::MIN_POSITIVE))
    };
    format!(
        "{phase} [{}{}] {:.0}% {} of {}, {rate_s}, {left} left",
        "#".repeat(filled),
        ".".repeat(20 - filled),
        frac * 100.0,
        amount(done),
        amount(total)
    )
}

#[allow(clippy::cast_precision_loss, reason = "a display: counts beyond 2^53 may round")]
fn to_f64(n: u64) -> f64 {
    n as f64
}

fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_the_share_the_rate_and_the_time_left() {
        let l = render(
            "backup",
            Unit::Bytes,
            1_200_000_000,
            3_000_000_000,
            Duration::from_secs(10),
        );
        assert_eq!(
            l,
            "backup [########............] 40% 1.2 GB of 3.0 GB, 120.0 MB/s, 15s left"
        );
        let l = render("copy", Unit::Rows, 500, 0, Duration::from_secs(2));
        assert_eq!(l, "copy 500 rows, 250 rows/s, 2s");
        let l = render("restore", Unit::Bytes, 0, 10, Duration::from_secs(1));
        assert!(l.ends_with("? left"), "{l}");
    }
}
