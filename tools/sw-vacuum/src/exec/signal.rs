//! SIGTERM and SIGINT: stop starting work, cancel our own running
//! statements on the server (`pg_cancel_backend` from the side connection,
//! never anyone else's) until none is left, then exit 75. This is why the
//! tool runs its own runtime rather than `sw_core::cli::block_on`, which
//! only drops the futures: a backend notices a closed client only when it
//! next talks to it, so a long VACUUM would run on.

use std::rc::Rc;
use std::time::Duration;

use sw_core::target::Target;
use sw_core::{Error, Result};

use super::Ctx;

/// Run everything; on a signal, cancel and return 75.
pub(super) async fn supervise(ctx: Rc<Ctx>, target: Target) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| Error::software("installing the SIGTERM handler").with_source(e))?;
    let mut int =
        signal(SignalKind::interrupt()).map_err(|e| Error::software("installing the SIGINT handler").with_source(e))?;
    let work = super::run_all(ctx.clone(), target);
    tokio::pin!(work);
    let sig = tokio::select! {
        r = &mut work => return r,
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    ctx.cancel.set(true);
    log::warn!("{sig}: cancelling our statements and stopping");
    let canceller = async {
        loop {
            cancel_ours(&ctx).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::select! {
        _ = &mut work => {}
        () = canceller => {}
        () = tokio::time::sleep(Duration::from_secs(20)) => {
            log::warn!("gave up waiting for the cancelled statements to end");
        }
    }
    // Whatever is still active after the work ended (it should be nothing).
    for _ in 0..25 {
        if cancel_ours(&ctx).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(Error::temp(format!("interrupted ({sig})")))
}

/// Cancel our workers' active statements; returns how many were active.
async fn cancel_ours(ctx: &Ctx) -> usize {
    let pids = ctx.pids.borrow().clone();
    let side = ctx.side.borrow().clone();
    let (Some(side), false) = (side, pids.is_empty()) else {
        return 0;
    };
    match side
        .query(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1) AND state = 'active'",
            &[&pids],
        )
        .await
    {
        Ok(rows) => rows.len(),
        Err(e) => {
            log::warn!("cancelling our statements: {e}");
            0
        }
    }
}
