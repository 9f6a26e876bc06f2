//! Who a data directory belongs to: its system identifier and major
//! version, read from the files themselves (`global/pg_control`,
//! `PG_VERSION`) so `setup` and `wal-push` need no running server.

use std::path::Path;

use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

/// The system identifier and major version of the cluster in `datadir`.
///
/// # Errors
/// 66 when a file is missing (not a data directory), 65 when one is
/// malformed, 74/77 when it cannot be read.
pub fn identity(datadir: &Path) -> Result<(String, u32)> {
    let vp = datadir.join("PG_VERSION");
    let v = std::fs::read_to_string(&vp).io_context(|| format!("reading {}", q(&vp)))?;
    let major: u32 = v
        .trim()
        .parse()
        .map_err(|_| Error::data(format!("{} does not hold a major version", q(&vp))))?;
    let cp = datadir.join("global/pg_control");
    let c = std::fs::read(&cp).io_context(|| format!("reading {}", q(&cp)))?;
    let Some(b) = c.get(..8) else {
        return Err(Error::data(format!("{} is truncated", q(&cp))));
    };
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok((u64::from_le_bytes(a).to_string(), major))
}
