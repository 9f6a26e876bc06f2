//! Opening the SQLite source read-only, and a consistent snapshot shared by
//! several reader connections.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sw_core::{Error, Result};

/// Open the source read-only (never creates, never writes).
pub fn open(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(Error::no_input(format!(
            "source database {} does not exist",
            sw_core::fsutil::q(path)
        )));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::no_input(format!("opening {}", sw_core::fsutil::q(path))).with_source(e))?;
    c.busy_timeout(Duration::from_secs(30))
        .map_err(|e| Error::io("setting the busy timeout").with_source(e))?;
    // Prove it is a database (a text file opens fine and fails here).
    c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .map_err(|e| {
            Error::data(format!(
                "{} is not a readable SQLite database",
                sw_core::fsutil::q(path)
            ))
            .with_source(e)
        })?;
    Ok(c)
}

fn begin(c: &Connection) -> Result<()> {
    c.execute_batch("BEGIN DEFERRED; SELECT count(*) FROM sqlite_master;")
        .map_err(|e| Error::temp("starting a read transaction on the source").with_source(e))
}

fn data_version(c: &Connection) -> Result<i64> {
    c.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(|e| Error::io("reading PRAGMA data_version").with_source(e))
}

/// Open `n` connections whose read transactions all see the same database
/// state. A monitor connection reads `data_version` before and after the
/// transactions start: when nothing committed in between, all snapshots
/// are the same one. Retries while writers are busy.
pub fn snapshot(path: &Path, n: usize) -> Result<Vec<Connection>> {
    let monitor = open(path)?;
    for attempt in 0..50 {
        let before = data_version(&monitor)?;
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n {
            let c = open(path)?;
            begin(&c)?;
            conns.push(c);
        }
        if data_version(&monitor)? == before {
            return Ok(conns);
        }
        log::debug!("source changed while opening readers (attempt {attempt}); retrying");
        drop(conns);
        std::thread::sleep(Duration::from_millis(20 * (attempt + 1)));
    }
    Err(Error::temp(format!(
        "{} changes too often to take a consistent snapshot; retry when writes pause",
        sw_core::fsutil::q(path)
    )))
}
