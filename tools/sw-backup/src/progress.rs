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
/// This role's newest base backup (another one may be running: a replica
/// being built; without pg_read_all_stats its columns are NULL).
const QUERY: &str = "SELECT p.phase, coalesce(p.backup_total, 0), coalesce(p.backup_streamed, 0) \
     FROM pg_stat_progress_basebackup p JOIN pg_stat_activity a USING (pid) \
     WHERE a.usename = current_user AND p.phase IS NOT NULL ORDER BY a.backend_start DESC LIMIT 1";

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
                && let (Ok(phase), Ok(total), Ok(done)) = (
                    row.try_get::<_, String>(0),
                    row.try_get::<_, i64>(1),
                    row.try_get::<_, i64>(2),
                )
            {
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
