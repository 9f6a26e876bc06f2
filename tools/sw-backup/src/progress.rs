//! `full`'s progress line on a terminal: the server's own count of what
//! the base backup has streamed of its estimate (pg_stat_progress_basebackup),
//! read once a second over a second session while pg_basebackup runs.
//! Nothing is read when the line is not drawn (see sw-core's `progress`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sw_core::cli::PgOpts;
use sw_core::progress::{Meter, Progress, Unit};

const TOOL: &str = "sw-backup";
const QUERY: &str = "SELECT phase, coalesce(backup_total, 0), backup_streamed FROM pg_stat_progress_basebackup";

/// Run `work` (which runs pg_basebackup) with the line drawn beside it.
pub fn around<T>(pg: &PgOpts, work: impl FnOnce() -> T) -> T {
    let progress = Progress::new_meter(TOOL, Unit::Bytes);
    if !progress.shown() {
        return work();
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| watch(pg, progress.meter(), &stop));
        let out = work();
        stop.store(true, Ordering::Relaxed);
        out
    })
}

fn watch(pg: &PgOpts, meter: &Arc<Meter>, stop: &AtomicBool) {
    meter.phase("base backup", 0);
    let mut last = String::new();
    let r = sw_core::cli::block_on(async {
        let (_, conn) = pg.connect(TOOL).await?;
        while !stop.load(Ordering::Relaxed) {
            if let Ok(rows) = conn.client.query(QUERY, &[]).await
                && let Some(row) = rows.first()
            {
                let phase: String = row.get(0);
                let (total, done): (i64, i64) = (row.get(1), row.get(2));
                if phase != last {
                    meter.phase(&format!("base backup: {phase}"), 0);
                    last = phase;
                }
                meter.set_total(u64::try_from(total).unwrap_or(0));
                meter.set_done(u64::try_from(done).unwrap_or(0));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    });
    if let Err(e) = r {
        log::debug!("the progress line cannot read the server's progress: {e}");
    }
}
