//! Exit codes shared by every tool: sysexits(3) plus the monitoring-plugin
//! convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) for checks.
//!
//! One table, so the man pages' EXIT STATUS section and the code cannot drift.

use std::process::ExitCode;

/// A process exit status with a documented meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
    Usage = 64,
    DataErr = 65,
    NoInput = 66,
    Unavailable = 69,
    Software = 70,
    CantCreat = 73,
    IoErr = 74,
    TempFail = 75,
    NoPerm = 77,
    Config = 78,
}

impl Exit {
    /// Every code, in order, for documentation.
    pub const ALL: [Exit; 14] = [
        Exit::Ok,
        Exit::Warning,
        Exit::Critical,
        Exit::Unknown,
        Exit::Usage,
        Exit::DataErr,
        Exit::NoInput,
        Exit::Unavailable,
        Exit::Software,
        Exit::CantCreat,
        Exit::IoErr,
        Exit::TempFail,
        Exit::NoPerm,
        Exit::Config,
    ];

    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// A one-line description for man pages and the README.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success (checks: OK)",
            Exit::Warning => "checks: WARNING",
            Exit::Critical => "checks: CRITICAL (for ping: server unreachable)",
            Exit::Unknown => "checks: UNKNOWN",
            Exit::Usage => "usage error (bad flags or arguments)",
            Exit::DataErr => "bad input data (malformed JSON on stdin, rows that do not fit)",
            Exit::NoInput => "an input file or backup that should exist does not",
            Exit::Unavailable => "service unavailable (cannot connect, program missing, Azure unreachable)",
            Exit::Software => "internal error",
            Exit::CantCreat => "cannot create output (target exists, not empty)",
            Exit::IoErr => "I/O error",
            Exit::TempFail => "temporary failure, retry later (lock held, throttled, interrupted)",
            Exit::NoPerm => "permission denied (authentication failed, privilege missing)",
            Exit::Config => "configuration error (bad config file, missing or invalid target)",
        }
    }

    /// The worst of two results, for multi-step runs: checks compare by
    /// severity, and any hard error beats a temporary one so a permanent
    /// failure never loops through systemd restarts.
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u16 {
            match e {
                Exit::Ok => 0,
                Exit::Warning => 1,
                Exit::Unknown => 2,
                Exit::Critical => 3,
                Exit::TempFail => 4,
                other => 100 + u16::from(other.code()),
            }
        }
        if rank(other) > rank(self) { other } else { self }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_prefers_hard_errors_over_tempfail() {
        assert_eq!(Exit::TempFail.worst(Exit::DataErr), Exit::DataErr);
        assert_eq!(Exit::DataErr.worst(Exit::TempFail), Exit::DataErr);
        assert_eq!(Exit::Warning.worst(Exit::Critical), Exit::Critical);
        assert_eq!(Exit::Unknown.worst(Exit::Warning), Exit::Unknown);
        assert_eq!(Exit::Ok.worst(Exit::Ok), Exit::Ok);
    }
}
