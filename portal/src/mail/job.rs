//! Delivering update mails in the background of `kenpo-portal serve` and the launcher: a round
//! whenever an import wakes it (`AppState::update_mails`), and every few seconds for retries and
//! for mails queued by another process (the CLI's `import`), after queuing the mails of newly
//! issued 資格情報のお知らせ and the survey reminders due. Tests run [`announce_now`] and [`deliver_now`].

use crate::app::AppState;
use crate::flows::qualification::announce;
use crate::flows::update_mails::{self, Outgoing};
use crate::store::{KenpoStore, StoreError};
use std::time::Duration;

/// How often the job looks for due mails without being woken.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// One round: sends every mail due now; returns how many were sent.
pub async fn deliver_now(state: &AppState) -> Result<usize, StoreError> {
    let outgoing = Outgoing {
        mail_domain: &state.config.mail_domain,
        public_url: &state.config.public_url,
        configured_kenpo: &state.kenpo_id,
    };
    update_mails::deliver_due(&state.db, &state.mailer, outgoing, state.clock.now()).await
}

/// Queues, for every kenpo, the update mails of 資格情報のお知らせ and 資格確認書 issued, and of
/// decisions on applications made, since the last round, and the 被扶養者資格確認 reminders due
/// (failures are logged; the next round tries again). Returns how many mails were queued.
pub async fn announce_now(state: &AppState) -> usize {
    let kenpos = match state.db.kenpos().await {
        Ok(kenpos) => kenpos,
        Err(e) => {
            tracing::warn!(error = %e, "update mails: cannot list the kenpos");
            return 0;
        }
    };
    let mut queued = 0;
    for kenpo in &kenpos {
        match update_mails::announce_new_notices(&state.db, kenpo, state.clock.now()).await {
            Ok(n) => queued += n,
            Err(e) => {
                tracing::warn!(kenpo = %kenpo.id, error = %e, "update mails: new notices not announced")
            }
        }
        match update_mails::reminders::queue_due(&state.db, kenpo, state.clock.now()).await {
            Ok(n) => queued += n,
            Err(e) => {
                tracing::warn!(kenpo = %kenpo.id, error = %e, "update mails: survey reminders not queued")
            }
        }
        queued += announce_qualification(state, kenpo).await;
    }
    queued
}

/// Newly issued 資格確認書 and decisions on applications (`flows::qualification::announce`);
/// failures are logged and tried again next round. Returns how many mails were queued.
async fn announce_qualification(state: &AppState, kenpo: &crate::store::Kenpo) -> usize {
    let now = state.clock.now();
    let mut queued = 0;
    match announce::announce_new_certificates(&state.db, kenpo, now).await {
        Ok(n) => queued += n,
        Err(e) => tracing::warn!(kenpo = %kenpo.id, error = %e, "update mails: new cards not announced"),
    }
    match announce::announce_decisions(&state.db, kenpo, now).await {
        Ok(n) => queued += n,
        Err(e) => tracing::warn!(kenpo = %kenpo.id, error = %e, "update mails: decisions not announced"),
    }
    queued
}

/// Runs [`announce_now`] and [`deliver_now`] when woken and every [`INTERVAL`], logging a
/// failed round.
pub fn spawn_update_mail_delivery(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let wake = state.update_mails.clone();
        loop {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(INTERVAL) => {}
            }
            announce_now(&state).await;
            if let Err(e) = deliver_now(&state).await {
                tracing::warn!(error = %e, "update mail delivery failed");
            }
        }
    })
}
