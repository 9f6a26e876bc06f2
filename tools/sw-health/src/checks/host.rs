//! Host measurements from /proc and statvfs, for a server on this host.

use std::path::Path;

use sw_core::fsutil::q;
use sw_core::{Error, Result};

/// (busy, total) jiffies from the first line of /proc/stat.
pub fn cpu_sample() -> Option<(u64, u64)> {
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
pub fn cpu_use(a: (u64, u64), b: (u64, u64)) -> f64 {
    let busy = b.0.saturating_sub(a.0) as f64;
    let total = b.1.saturating_sub(a.1) as f64;
    if total <= 0.0 {
        0.0
    } else {
        (busy * 100.0 / total).clamp(0.0, 100.0)
    }
}

/// (used percent, total bytes) from /proc/meminfo's MemTotal and MemAvailable.
pub fn memory_use() -> Option<(f64, f64)> {
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
pub fn disk_use(dir: &Path) -> Result<(f64, f64, f64)> {
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
