//! Server parameters tuned from the host, after the rules pgtune uses for a
//! web/OLTP workload: a quarter of memory for shared_buffers, three quarters
//! as the planner's cache estimate, work_mem sized so that every connection
//! running a few sorts at once stays inside what shared_buffers leaves, and
//! SSD costs unless told the storage spins.

use sw_core::{Error, Result};

const MB: u64 = 1024 * 1024;
const GB: u64 = 1024 * MB;

/// What the tuning is based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    pub memory_bytes: u64,
    pub cpus: u32,
    pub ssd: bool,
    pub max_connections: u32,
}

/// Detect memory (the cgroup limit when lower than physical memory) and cores.
pub fn detect_memory() -> Result<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| Error::unavailable("reading /proc/meminfo").with_source(e))?;
    let total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::unavailable("no MemTotal in /proc/meminfo; pass --memory"))?;
    let mut mem = total_kb * 1024;
    // A container's limit is what the server really gets (cgroup v2, then
    // v1; "max" and v1's huge "unlimited" value do not parse or are larger).
    for f in [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ] {
        if let Ok(limit) = std::fs::read_to_string(f)
            && let Ok(l) = limit.trim().parse::<u64>()
        {
            mem = mem.min(l);
        }
    }
    Ok(mem)
}

/// Cores available to this process.
pub fn detect_cpus() -> u32 {
    std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok())
        .unwrap_or(1)
}

/// Parse a size such as `512MB`, `4GB`, `2GiB` or a byte count.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?} (e.g. 512MB, 4GB)"))?;
    let mul = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MB,
        "g" | "gb" | "gib" => GB,
        "t" | "tb" | "tib" => 1024 * GB,
        _ => return Err(format!("invalid size unit in {s:?} (use kB, MB, GB or TB)")),
    };
    n.checked_mul(mul).ok_or_else(|| format!("size {s:?} is too large"))
}

fn mb(bytes: u64) -> String {
    format!("{}MB", (bytes / MB).max(1))
}

/// The tuned parameters, in a stable order.
pub fn params(h: &Host) -> Vec<(String, String)> {
    let mem = h.memory_bytes.max(256 * MB);
    let cpus = h.cpus.max(1);
    let shared_buffers = mem / 4;
    let gather = (cpus / 2).clamp(1, 4);
    // pgtune: (RAM - shared_buffers) / (connections * 3) / workers per gather.
    let work_mem = ((mem - shared_buffers) / (u64::from(h.max_connections.max(1)) * 3) / u64::from(gather)).max(4 * MB);
    let maintenance = (mem / 16).clamp(64 * MB, 2 * GB);
    // 3% of shared_buffers, capped at one WAL segment (16MB) as PostgreSQL's own -1 rule.
    let wal_buffers = (shared_buffers * 3 / 100).clamp(MB, 16 * MB);
    // Small hosts get smaller WAL bounds so a test box is not filled by WAL.
    let (min_wal, max_wal) = if mem < 4 * GB { (256 * MB, GB) } else { (GB, 4 * GB) };
    let mut v: Vec<(&str, String)> = vec![
        ("max_connections", h.max_connections.to_string()),
        ("shared_buffers", mb(shared_buffers)),
        ("effective_cache_size", mb(mem * 3 / 4)),
        ("work_mem", format!("{}kB", work_mem / 1024)),
        ("maintenance_work_mem", mb(maintenance)),
        ("wal_buffers", mb(wal_buffers)),
        ("min_wal_size", mb(min_wal)),
        ("max_wal_size", mb(max_wal)),
        ("checkpoint_completion_target", "0.9".into()),
        ("default_statistics_target", "100".into()),
        ("max_worker_processes", cpus.max(8).to_string()),
        ("max_parallel_workers", cpus.to_string()),
        ("max_parallel_workers_per_gather", gather.to_string()),
        ("max_parallel_maintenance_workers", gather.to_string()),
    ];
    if h.ssd {
        v.push(("random_page_cost", "1.1".into()));
        v.push(("effective_io_concurrency", "200".into()));
    } else {
        v.push(("random_page_cost", "4".into()));
        v.push(("effective_io_concurrency", "2".into()));
    }
    v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Memory parameters sized from the host.
const SIZED: &[&str] = &[
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "wal_buffers",
];

/// A memory setting as PostgreSQL writes it (`6026MB`, `10485kB`), in bytes.
fn setting_bytes(v: &str) -> Option<u64> {
    let split = v.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = v.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mul = match unit {
        "kB" => 1024,
        "MB" => MB,
        "GB" => GB,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// Keep the value a cluster already has for a host-sized memory parameter
/// when it is within 10% of the newly tuned one: a host whose memory reads
/// a little differently after a reboot must not restart the server on a
/// re-run. Values given with `--param` are always taken as given.
pub fn keep_close(
    mut want: Vec<(String, String)>,
    have: &[(String, String)],
    given: &[(String, String)],
) -> Vec<(String, String)> {
    for (k, v) in &mut want {
        if !SIZED.contains(&k.as_str()) || given.iter().any(|(g, _)| g == k) {
            continue;
        }
        let Some((_, old)) = have.iter().find(|(h, _)| h == k) else {
            continue;
        };
        if let (Some(w), Some(o)) = (setting_bytes(v), setting_bytes(old))
            && w.abs_diff(o) <= w / 10
        {
            v.clone_from(old);
        }
    }
    want
}

/// Parameters that take effect only after a restart (the rest reload).
pub fn needs_restart(name: &str) -> bool {
    matches!(
        name,
        "max_connections"
            | "shared_buffers"
            | "wal_buffers"
            | "max_worker_processes"
            | "port"
            | "listen_addresses"
            | "unix_socket_directories"
            | "huge_pages"
            | "shared_preload_libraries"
            | "max_wal_senders"
            | "max_replication_slots"
            | "wal_level"
            | "max_prepared_transactions"
            | "max_locks_per_transaction"
            | "hot_standby"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(p: &'a [(String, String)], k: &str) -> &'a str {
        &p.iter().find(|(n, _)| n == k).unwrap().1
    }

    #[test]
    fn tunes_from_memory_and_cores() {
        let p = params(&Host {
            memory_bytes: 16 * GB,
            cpus: 8,
            ssd: true,
            max_connections: 100,
        });
        assert_eq!(get(&p, "shared_buffers"), "4096MB");
        assert_eq!(get(&p, "effective_cache_size"), "12288MB");
        assert_eq!(get(&p, "maintenance_work_mem"), "1024MB");
        assert_eq!(get(&p, "max_parallel_workers_per_gather"), "4");
        assert_eq!(get(&p, "random_page_cost"), "1.1");
        assert_eq!(get(&p, "work_mem"), "10485kB");
    }

    #[test]
    fn small_hosts_and_spinning_disks() {
        let p = params(&Host {
            memory_bytes: GB,
            cpus: 1,
            ssd: false,
            max_connections: 50,
        });
        assert_eq!(get(&p, "shared_buffers"), "256MB");
        assert_eq!(get(&p, "work_mem"), "5242kB");
        assert_eq!(get(&p, "max_wal_size"), "1024MB");
        assert_eq!(get(&p, "random_page_cost"), "4");
    }

    #[test]
    fn small_memory_differences_keep_the_current_values() {
        let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let want = vec![
            kv("shared_buffers", "262MB"),
            kv("work_mem", "20000kB"),
            kv("port", "5433"),
        ];
        let have = vec![
            kv("shared_buffers", "256MB"),
            kv("work_mem", "10000kB"),
            kv("port", "5432"),
        ];
        let got = keep_close(want.clone(), &have, &[]);
        assert_eq!(
            got,
            [
                kv("shared_buffers", "256MB"),
                kv("work_mem", "20000kB"),
                kv("port", "5433")
            ]
        );
        // --param wins as given.
        let got = keep_close(want, &have, &[kv("shared_buffers", "262MB")]);
        assert_eq!(got[0], kv("shared_buffers", "262MB"));
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512MB").unwrap(), 512 * MB);
        assert_eq!(parse_size("2GiB").unwrap(), 2 * GB);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5XB").is_err());
    }
}
