//! The directory against the version table: what is pending, what changed
//! since it was applied, what is missing or out of order, what stopped
//! part-way, and the exact repair for the latter. `status` prints this;
//! `up` and `down` refuse to start while anything but pending is reported.

use sw_core::contract::Timestamp;
use sw_core::{Error, Result};

use crate::files::{Migration, hex, prefix_checksum};
use crate::records::{Changed, Failed, MigrationState, State, StatusRecord};
use crate::store::{Applied, Direction};

/// Files and rows side by side.
pub struct Plan<'a> {
    pub files: &'a [Migration],
    pub applied: &'a [Applied],
    pub schema: &'a str,
}

impl Plan<'_> {
    pub fn file(&self, version: i64) -> Option<&Migration> {
        self.files.iter().find(|m| m.version == version)
    }

    fn row(&self, version: i64) -> Option<&Applied> {
        self.applied.iter().find(|a| a.version == version)
    }

    /// The highest version applied (or part-way).
    pub fn current(&self) -> i64 {
        self.applied.iter().map(|a| a.version).max().unwrap_or(0)
    }

    /// Migrations with no row, in order.
    pub fn pending(&self) -> Vec<&Migration> {
        self.files.iter().filter(|m| self.row(m.version).is_none()).collect()
    }

    /// Applied files that differ from their recorded checksums. A
    /// part-way migration may have its not-yet-run statements edited: only
    /// the committed prefix must match.
    pub fn changed(&self) -> Vec<Changed> {
        let mut out = Vec::new();
        for a in self.applied {
            let Some(m) = self.file(a.version) else { continue };
            let mut push = |file: String, rec: Option<&[u8]>, now: Option<[u8; 32]>| {
                out.push(Changed {
                    version: a.version,
                    name: a.name.clone(),
                    file,
                    recorded_checksum: rec.map(hex),
                    file_checksum: now.as_ref().map(|c| hex(c)),
                });
            };
            if !a.success {
                let running = match a.direction {
                    Direction::Up => Some(&m.up),
                    Direction::Down => m.down.as_ref(),
                };
                if let Some(f) = running
                    && a.done_checksum.as_deref() != Some(prefix_checksum(&f.statements, a.statements_done).as_slice())
                {
                    push(
                        format!(
                            "{} (statements 1-{} already committed)",
                            f.path.display(),
                            a.statements_done
                        ),
                        a.done_checksum.as_deref(),
                        Some(prefix_checksum(&f.statements, a.statements_done)),
                    );
                }
                continue;
            }
            if m.up.checksum.as_slice() != a.up_checksum.as_slice() {
                push(
                    m.up.path.display().to_string(),
                    Some(&a.up_checksum),
                    Some(m.up.checksum),
                );
            }
            let down_now = m.down.as_ref().map(|d| d.checksum);
            if down_now.as_ref().map(|c| c.as_slice()) != a.down_checksum.as_deref() {
                let path = m.down.as_ref().map_or_else(
                    || format!("{} (down file removed)", m.up.path.display()),
                    |d| d.path.display().to_string(),
                );
                push(path, a.down_checksum.as_deref(), down_now);
            }
        }
        out
    }

    pub fn missing(&self) -> Vec<i64> {
        self.applied
            .iter()
            .filter(|a| self.file(a.version).is_none())
            .map(|a| a.version)
            .collect()
    }

    pub fn out_of_order(&self) -> Vec<i64> {
        let cur = self.current();
        self.pending().iter().map(|m| m.version).filter(|v| *v < cur).collect()
    }

    /// Rows of part-way no-transaction runs.
    pub fn part_way(&self) -> Vec<&Applied> {
        self.applied.iter().filter(|a| !a.success).collect()
    }

    /// Refuse to run while anything but pending migrations is reported.
    ///
    /// # Errors
    /// 65 naming the first problem and pointing at `status`.
    pub fn require_consistent(&self, live_invalid: &dyn Fn(&Applied) -> Vec<String>) -> Result<()> {
        if let Some(c) = self.changed().first() {
            return Err(Error::data(format!(
                "applied migration {:04} changed since it was applied: {} (recorded {}, now {}); restore the file, \
                 or re-stamp it with sw-schema repair --version {} --reason '...' (see sw-schema status)",
                c.version,
                c.file,
                c.recorded_checksum.as_deref().map_or("none", |s| &s[..12.min(s.len())]),
                c.file_checksum.as_deref().map_or("none", |s| &s[..12.min(s.len())]),
                c.version
            )));
        }
        if let Some(v) = self.missing().first() {
            return Err(Error::data(format!(
                "migration {v:04} is applied but has no file in the migrations directory (wrong --dir, or a branch without it?)"
            )));
        }
        if let Some(v) = self.out_of_order().first() {
            return Err(Error::data(format!(
                "migration {v:04} is pending but older than the applied {:04}: renumber it after {:04} (sw-schema new makes the next number)",
                self.current(),
                self.current()
            )));
        }
        for a in self.part_way() {
            let invalid = live_invalid(a);
            if !invalid.is_empty() {
                return Err(Error::data(format!(
                    "migration {:04} stopped part-way and left INVALID index {}: {}",
                    a.version,
                    invalid.join(", "),
                    repair(a, &invalid)
                )));
            }
        }
        Ok(())
    }

    /// The `schema.status` record (`live_invalid` re-checks each part-way
    /// migration's INVALID indexes on the server).
    pub fn status(&self, live_invalid: &dyn Fn(&Applied) -> Vec<String>) -> StatusRecord {
        let changed = self.changed();
        let missing = self.missing();
        let failed: Vec<Failed> = self
            .part_way()
            .into_iter()
            .map(|a| {
                let invalid = live_invalid(a);
                Failed {
                    version: a.version,
                    name: a.name.clone(),
                    direction: a.direction,
                    statements_done: a.statements_done,
                    statement: a.failed_statement.clone(),
                    line: a.failed_line,
                    error: a.error.clone(),
                    repair: repair(a, &invalid),
                    invalid_indexes: invalid,
                }
            })
            .collect();
        let mut migrations: Vec<MigrationState> = self
            .files
            .iter()
            .map(|m| {
                let row = self.row(m.version);
                let state = match row {
                    None => State::Pending,
                    Some(a) if !a.success => State::Failed,
                    Some(_) if changed.iter().any(|c| c.version == m.version) => State::Changed,
                    Some(_) => State::Applied,
                };
                MigrationState {
                    version: m.version,
                    name: m.name.clone(),
                    state,
                    no_transaction: m.up.no_transaction,
                    applied_at: row.map(|a| Timestamp(a.applied_at)),
                    applied_by: row.map(|a| a.applied_by.clone()),
                }
            })
            .collect();
        for a in self.applied.iter().filter(|a| missing.contains(&a.version)) {
            migrations.push(MigrationState {
                version: a.version,
                name: a.name.clone(),
                state: State::Missing,
                no_transaction: a.no_transaction,
                applied_at: Some(Timestamp(a.applied_at)),
                applied_by: Some(a.applied_by.clone()),
            });
        }
        migrations.sort_by_key(|m| m.version);
        let pending: Vec<i64> = self.pending().iter().map(|m| m.version).collect();
        StatusRecord {
            table_schema: self.schema.to_owned(),
            current_version: self.current(),
            head_version: self.files.last().map_or(0, |m| m.version),
            clean: pending.is_empty() && changed.is_empty() && missing.is_empty() && failed.is_empty(),
            out_of_order: self.out_of_order(),
            pending,
            changed,
            missing,
            failed,
            migrations,
        }
    }
}

/// The exact steps that resolve a part-way no-transaction migration.
pub fn repair(a: &Applied, invalid: &[String]) -> String {
    let next = a.statements_done + 1;
    let at = a.failed_line.map_or_else(
        || format!("statement {next}"),
        |l| format!("statement {next}, line {l}"),
    );
    let verb = match a.direction {
        Direction::Up => "up",
        Direction::Down => "down",
    };
    let resume = format!(
        "sw-schema {verb} (it resumes {:04} {} at {at}; the {} statement(s) before it are committed)",
        a.version, a.name, a.statements_done
    );
    if invalid.is_empty() {
        let undo = match a.direction {
            Direction::Up => format!(" or sw-schema down --to {} to run its down file", a.version - 1),
            Direction::Down => String::new(),
        };
        format!("fix the cause of the error, then run {resume};{undo}")
    } else {
        let drops: Vec<String> = invalid
            .iter()
            .map(|i| format!("DROP INDEX CONCURRENTLY IF EXISTS {i};"))
            .collect();
        format!("run {} then {resume}", drops.join(" "))
    }
}
