//! Delivering update mails in the background of `kenpo-portal serve` and the launcher: a round
//! whenever an import wakes it (`AppState::update_mails`), and every few seconds for retries and
//! for mails queued by another process (the CLI's `import`). Tests run [`deliver_now`].

use crate::app::AppState;
use crate::flows::update_mails::{self, Outgoing};
use crate::store::StoreError;
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

/// Runs [`deliver_now`] when woken and every [`INTERVAL`], logging a failed round.
pub fn spawn_update_mail_delivery(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let wake = state.update_mails.clone();
        loop {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(INTERVAL) => {}
            }
            if let Err(e) = deliver_now(&state).await {
                tracing::warn!(error = %e, "update mail delivery failed");
            }
        }
    })
}
