//! Progress of long waits on a terminal: a restore, a failover or a
//! replica promotion takes minutes to an hour, and an engineer watching it
//! wants to see it is still moving. One line on stderr, redrawn in place:
//! the operation, Azure's status and the time elapsed. Drawn only when
//! stderr is a terminal (never under systemd, in pipes or in tests), and
//! only for tools that ask for it ([`super::ArmClient::show_progress`]).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

/// The progress line of one client.
#[derive(Debug, Default)]
pub struct Progress {
    enabled: bool,
    /// Whether a line is drawn now (it is ended with a newline before
    /// anything else is written).
    drawn: Mutex<bool>,
}

impl Progress {
    /// Progress drawn when stderr is a terminal, else silent.
    pub fn on_terminal() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            drawn: Mutex::new(false),
        }
    }

    /// Whether anything will be drawn.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Redraw the line: `what: status, elapsed`.
    pub fn report(&self, what: &str, status: &str, elapsed: Duration) {
        if !self.enabled {
            return;
        }
        let line = line(what, status, elapsed);
        let mut err = std::io::stderr().lock();
        // \r and erase-line: the line is redrawn in place.
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        if let Ok(mut d) = self.drawn.lock() {
            *d = true;
        }
    }

    /// End a drawn line (the next output starts on its own line).
    pub fn end(&self) {
        if let Ok(mut d) = self.drawn.lock()
            && *d
        {
            let _ = writeln!(std::io::stderr());
            *d = false;
        }
    }
}

/// `1h02m`, `3m05s`, `12s`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// The progress line (the ARM URL's query string, which may carry a
/// token, is never part of `what`).
pub fn line(what: &str, status: &str, d: Duration) -> String {
    format!("{what}: {status}, {} elapsed", elapsed(d))
}

impl super::ArmClient {
    /// Draw the progress of long waits on stderr when it is a terminal
    /// (off unless asked for).
    pub fn show_progress(&mut self) {
        self.progress = Progress::on_terminal();
    }

    /// Redraw the progress line (nothing unless [`super::ArmClient::show_progress`]).
    pub fn report_progress(&self, what: &str, status: &str, elapsed: Duration) {
        self.progress.report(what, status, elapsed);
    }

    /// End the progress line, if one is drawn.
    pub fn end_progress(&self) {
        self.progress.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_what_its_status_and_how_long() {
        assert_eq!(
            line("PUT /x", "InProgress", Duration::from_secs(185)),
            "PUT /x: InProgress, 3m05s elapsed"
        );
        assert_eq!(elapsed(Duration::from_secs(12)), "12s");
        assert_eq!(elapsed(Duration::from_secs(3720)), "1h02m");
        // Tests run with stderr on a pipe or file: nothing is drawn.
        let p = Progress::default();
        assert!(!p.enabled());
        p.report("x", "y", Duration::ZERO);
        p.end();
    }
}
