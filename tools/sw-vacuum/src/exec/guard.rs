//! The limits an action must fit in before it starts: the time left of
//! `--time-budget`, and the guards (replication lag, connection use) that
//! pause the run while they are above their limits, for at most
//! `--max-pause` in all.

use std::time::{Duration, Instant};

use sw_core::{PgContext, Result};

use super::Ctx;

/// The largest statement_timeout PostgreSQL takes (an int4 of milliseconds).
const STATEMENT_TIMEOUT_MAX_MS: u64 = 2_147_483_647;

/// Returns why we must pause, if a guard is above its limit.
async fn guard(ctx: &Ctx) -> Result<Option<String>> {
    let side = ctx.side.borrow().clone();
    let Some(side) = side else { return Ok(None) };
    let row = side
        .query_one(
            "SELECT
               (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8
                 / greatest(1, current_setting('max_connections')::int
                               - current_setting('superuser_reserved_connections')::int)::float8,
               COALESCE((SELECT max(EXTRACT(epoch FROM replay_lag)) FROM pg_stat_replication), 0)::float8",
            &[],
        )
        .await
        .pg_context(|| "checking the guards".into())?;
    let used: f64 = row.get::<_, f64>(0) * 100.0;
    let lag: f64 = row.get(1);
    Ok(guard_reason(
        used,
        lag,
        ctx.cli.max_connection_use,
        ctx.cli.max_replication_lag,
    ))
}

/// Why to pause, given connection use (percent) and the worst standby's
/// replay lag (seconds); None when both are within their limits.
pub fn guard_reason(used_pct: f64, lag_s: f64, max_use_pct: f64, max_lag: Duration) -> Option<String> {
    if used_pct > max_use_pct {
        return Some(format!(
            "connection use {used_pct:.0}% is above --max-connection-use {max_use_pct}%"
        ));
    }
    if lag_s > max_lag.as_secs_f64() {
        return Some(format!(
            "replication lag {lag_s:.0}s is above --max-replication-lag {}s",
            max_lag.as_secs()
        ));
    }
    None
}

/// statement_timeout for the time left: at least 1 ms (0 would mean no
/// limit), and 0 (none) when the window is longer than the setting can hold.
pub fn statement_timeout_ms(left: Duration) -> u64 {
    match sw_core::duration::millis(left) {
        ms if ms > STATEMENT_TIMEOUT_MAX_MS => 0,
        ms => ms.max(1),
    }
}

/// The time left of `--time-budget`, if there is one.
pub(super) fn remaining(ctx: &Ctx) -> Option<Duration> {
    ctx.deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Wait for the guards; Some(reason) when the action must be skipped.
pub(super) async fn wait_guards(ctx: &Ctx) -> Result<Option<String>> {
    loop {
        let Some(why) = guard(ctx).await? else { return Ok(None) };
        if ctx.paused.get() >= ctx.cli.max_pause {
            return Ok(Some(format!("paused the longest --max-pause allows: {why}")));
        }
        if remaining(ctx).is_some_and(|r| r <= ctx.cli.guard_interval) {
            return Ok(Some(format!("time budget ended while paused: {why}")));
        }
        log::info!("pausing: {why}");
        let step = ctx
            .cli
            .guard_interval
            .min(ctx.cli.max_pause.saturating_sub(ctx.paused.get()));
        tokio::time::sleep(step).await;
        ctx.paused.set(ctx.paused.get() + step);
        if ctx.cancel.get() {
            return Ok(Some("interrupted".to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards() {
        let lag = Duration::from_secs(300);
        assert_eq!(guard_reason(50.0, 10.0, 90.0, lag), None);
        let why = guard_reason(95.0, 0.0, 90.0, lag).unwrap_or_default();
        assert!(why.starts_with("connection use 95%"), "{why}");
        let why = guard_reason(10.0, 301.0, 90.0, lag).unwrap_or_default();
        assert_eq!(why, "replication lag 301s is above --max-replication-lag 300s");
        assert_eq!(guard_reason(90.0, 300.0, 90.0, lag), None);
    }

    #[test]
    fn statement_timeout_fits_the_setting() {
        let int4_max = u64::try_from(i32::MAX).unwrap_or_default();
        assert_eq!(STATEMENT_TIMEOUT_MAX_MS, int4_max);
        assert_eq!(statement_timeout_ms(Duration::ZERO), 1);
        assert_eq!(statement_timeout_ms(Duration::from_secs(90)), 90_000);
        // 30 days is more than int4 milliseconds: no limit rather than an error.
        assert_eq!(statement_timeout_ms(Duration::from_secs(30 * 86_400)), 0);
        assert_eq!(statement_timeout_ms(Duration::from_millis(int4_max)), int4_max);
    }
}
