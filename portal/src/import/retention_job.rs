//! The daily retention job: for every kenpo, deletes health data older than the kenpo's
//! `retention_months` (settings JSON; default 24), MYメール messages and the trail of update
//! mails older than its `inbox_retention_months`, and お知らせ (with their files) that expired
//! longer ago than its `notice_retention_months`. The integrator starts it from `app.rs`.

use crate::app::AppState;
use crate::domain::Month;
use crate::store::KenpoStore;
use std::time::Duration;
use time::{OffsetDateTime, UtcOffset};

pub const DEFAULT_RETENTION_MONTHS: u32 = 24;

/// The first month kept: rows of earlier months are deleted. `now` is read in Japan time, so
/// the month turns at midnight JST. With 24 months in November 2026 the cutoff is 2024-11.
pub fn retention_cutoff(now: OffsetDateTime, retention_months: u32) -> Month {
    let jst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    Month::of(now.to_offset(jst).date()).minus(retention_months)
}

/// Runs the purge once a day (first run right away), logging what it deleted.
pub fn spawn_retention_job(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every_day = tokio::time::interval(Duration::from_secs(24 * 60 * 60));
        every_day.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every_day.tick().await;
            // The app's clock, so a test's fixed time is the job's too.
            if let Err(e) = purge_every_kenpo(&state, state.clock.now()).await {
                tracing::error!(error = %e, "retention job failed");
            }
        }
    })
}

/// One pass over every kenpo; also what the CLI's `purge` runs for one kenpo.
pub async fn purge_every_kenpo(
    state: &AppState,
    now: OffsetDateTime,
) -> Result<(), crate::store::StoreError> {
    for (kenpo, months) in state.db.retention_settings().await? {
        let cutoff = retention_cutoff(now, months.unwrap_or(DEFAULT_RETENTION_MONTHS));
        let report = state.db.purge_older_than(&kenpo, cutoff).await?;
        tracing::info!(kenpo = %kenpo, %cutoff, ?report, "retention: deleted data older than the cutoff");
    }
    let kenpos = state.db.kenpos().await?;
    let messages = crate::flows::inbox::purge(&state.db, &kenpos, now).await?;
    tracing::info!(messages, "retention: deleted MYメール messages past each kenpo's inbox_retention_months");
    let notices = crate::flows::notices::purge(&state.db, &kenpos, now).await?;
    tracing::info!(
        notices,
        "retention: deleted お知らせ expired longer ago than each kenpo's notice_retention_months"
    );
    let mails = crate::flows::update_mails::purge(&state.db, &kenpos, now).await?;
    tracing::info!(
        mails,
        "retention: deleted the trail of update mails past each kenpo's inbox_retention_months"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_cutoff_follows_the_month_in_japan() {
        assert_eq!(retention_cutoff(datetime!(2026-11-15 00:00 UTC), 24).to_string(), "2024-11");
        // 2026-11-30 20:00 UTC is already December 1st in Tokyo.
        assert_eq!(retention_cutoff(datetime!(2026-11-30 20:00 UTC), 24).to_string(), "2024-12");
        assert_eq!(retention_cutoff(datetime!(2026-01-10 00:00 UTC), 1).to_string(), "2025-12");
    }
}
