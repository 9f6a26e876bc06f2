//! `disk`, `host_cpu` and `host_memory`: measurements of this host from
//! /proc and statvfs, for a server that runs here (a remote target skips
//! them). Not SQL, so their own module.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sw_core::fsutil::q;
use sw_core::{Error, Result};

use super::{Check, How, Measured, Scope};
use crate::check::runner::Runner;
use crate::check::state::State;

pub const DISK: Check = Check {
    name: "disk",
    unit: "%",
    warn: Some(80.0),
    crit: Some(90.0),
    below: false,
    scope: Scope::Host,
    help: "use of the file system holding the data directory (local server; --azure: storage_percent)",
    how: How::Own,
};

pub const HOST_CPU: Check = Check {
    name: "host_cpu",
    unit: "%",
    warn: Some(80.0),
    crit: Some(95.0),
    below: false,
    scope: Scope::Host,
    help: "host CPU use (local server; --azure: cpu_percent over 5 minutes)",
    how: How::Own,
};

pub const HOST_MEMORY: Check = Check {
    name: "host_memory",
    unit: "%",
    warn: Some(85.0),
    crit: Some(95.0),
    below: false,
    scope: Scope::Host,
    help: "host memory use, from MemAvailable (local server; --azure: memory_percent over 5 minutes)",
    how: How::Own,
};

/// What the host checks need from the rest of the run.
pub struct Host<'a> {
    /// The server runs on this host.
    pub local: bool,
    /// The server's data_directory, when known.
    pub data_dir: Option<&'a str>,
    /// The CPU sample taken when the run started ([`cpu_start`]).
    pub cpu0: Option<(u64, u64)>,
    /// When the run started.
    pub started: Instant,
}

/// The CPU sample at the start of a run, when host_cpu will want it.
pub fn cpu_start(r: &Runner<'_>, local: bool) -> Option<(u64, u64)> {
    if local && r.wants(&HOST_CPU) {
        cpu_sample()
    } else {
        None
    }
}

/// Run the host checks (skipped for a remote server); the CPU sample is
/// kept in `next` for the next run.
pub async fn run(r: &mut Runner<'_>, h: &Host<'_>, prev: Option<&State>, next: &mut State) {
    if applies(r, &DISK, h) {
        disk(r, h.data_dir);
    }
    if applies(r, &HOST_CPU, h) {
        cpu(r, h, prev, next).await;
    }
    if applies(r, &HOST_MEMORY, h) {
        match memory_use() {
            Some((pct, total)) => r.push(
                &HOST_MEMORY,
                None,
                Measured::new(
                    Some(pct),
                    format!("memory {pct:.1}% used"),
                    json!({"total_bytes": total}),
                ),
            ),
            None => r.unknown(&HOST_MEMORY, None, "cannot read /proc/meminfo".into()),
        }
    }
}

/// Whether to measure `c`: wanted, and the server runs here (else skipped).
fn applies(r: &mut Runner<'_>, c: &'static Check, h: &Host<'_>) -> bool {
    if !r.wants(c) {
        return false;
    }
    if !h.local {
        r.skip(c);
    }
    h.local
}

fn disk(r: &mut Runner<'_>, data_dir: Option<&str>) {
    let Some(p) = data_dir.filter(|p| Path::new(p).is_dir()) else {
        r.skip(&DISK);
        return;
    };
    match disk_use(Path::new(p)) {
        Ok((pct, used, total)) => r.push(
            &DISK,
            None,
            Measured::new(
                Some(pct),
                format!("{pct:.1}% of the data directory's file system used"),
                json!({"data_directory": p, "used_bytes": used, "total_bytes": total}),
            ),
        ),
        Err(e) => r.unknown(&DISK, None, e.to_string()),
    }
}

/// Average CPU use since the previous run when that was 1 s to 1 h ago,
/// else a short sample over this run (at least 100 ms).
async fn cpu(r: &mut Runner<'_>, h: &Host<'_>, prev: Option<&State>, next: &mut State) {
    let wall = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let earlier = prev
        .and_then(|p| p.cpu)
        .filter(|c| (1.0..3600.0).contains(&(wall() - c.2)))
        .map(|c| (c.0, c.1));
    let base = match earlier {
        Some(b) => Some(b),
        None => {
            let waited = h.started.elapsed();
            if waited < Duration::from_millis(100) {
                tokio::time::sleep(Duration::from_millis(100) - waited).await;
            }
            h.cpu0
        }
    };
    let cpu1 = cpu_sample();
    if let Some(c) = cpu1 {
        next.cpu = Some((c.0, c.1, wall()));
    }
    match (base, cpu1) {
        (Some(a), Some(b)) => {
            let pct = cpu_use(a, b);
            let over = if earlier.is_some() {
                "since the previous run"
            } else {
                "over 100 ms"
            };
            r.push(
                &HOST_CPU,
                None,
                Measured::new(Some(pct), format!("CPU {pct:.1}% busy {over}"), Value::Null),
            );
        }
        _ => r.unknown(&HOST_CPU, None, "cannot read /proc/stat".into()),
    }
}

/// (busy, total) jiffies from the first line of /proc/stat.
fn cpu_sample() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    if v.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let idle = v[3] + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    Some((total - idle, total))
}

/// CPU use in percent between two samples.
fn cpu_use(a: (u64, u64), b: (u64, u64)) -> f64 {
    let busy = b.0.saturating_sub(a.0) as f64;
    let total = b.1.saturating_sub(a.1) as f64;
    if total <= 0.0 {
        0.0
    } else {
        (busy * 100.0 / total).clamp(0.0, 100.0)
    }
}

/// (used percent, total bytes) from /proc/meminfo's MemTotal and MemAvailable.
fn memory_use() -> Option<(f64, f64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |k: &str| -> Option<f64> {
        let l = text.lines().find(|l| l.starts_with(k))?;
        l.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb * 1024.0)
    };
    let total = field("MemTotal:")?;
    let avail = field("MemAvailable:")?;
    if total <= 0.0 {
        return None;
    }
    Some(((total - avail) * 100.0 / total, total))
}

/// (used percent, used bytes, total bytes) of the file system holding `dir`,
/// as df computes it (blocks reserved for root count as unavailable).
fn disk_use(dir: &Path) -> Result<(f64, f64, f64)> {
    let st = nix::sys::statvfs::statvfs(dir)
        .map_err(|e| Error::io(format!("statvfs {}", q(dir))).with_source(std::io::Error::from(e)))?;
    let frsize = st.fragment_size() as f64;
    let total = st.blocks() as f64 * frsize;
    let free = st.blocks_free() as f64 * frsize;
    let avail = st.blocks_available() as f64 * frsize;
    let used = total - free;
    let denom = used + avail;
    let pct = if denom <= 0.0 { 0.0 } else { used * 100.0 / denom };
    Ok((pct, used, total))
}
