//! Delivering queued back-channel logout tokens, with retries and backoff, so a client that is
//! down when a member logs out still hears of it when it comes back.

use super::{FlowError, retry};
use crate::store::{BackchannelStore, Db};
use time::{Duration, OffsetDateTime};

/// How long a claimed delivery is held by its deliverer before another may try it (a deliverer
/// that died mid-send is retried after this).
pub const LEASE: Duration = Duration::seconds(30);

/// Where a delivery that has failed [`retry::MAX_ATTEMPTS`] times is parked: never due again,
/// kept with its last error for an operator.
const GIVEN_UP: OffsetDateTime = OffsetDateTime::UNIX_EPOCH.saturating_add(Duration::weeks(52 * 1000));

/// Delivers what is due; returns how many were delivered.
pub async fn deliver_due(db: &Db, http: &reqwest::Client, now: OffsetDateTime) -> Result<usize, FlowError> {
    let mut delivered = 0;
    for delivery in db.due_logouts(now, 100).await? {
        if !db.claim_logout(&delivery.id, now, now + LEASE).await? {
            continue;
        }
        let sent = http
            .post(&delivery.uri)
            .form(&[("logout_token", delivery.logout_token.as_str())])
            .send()
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| if r.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", r.status())) });
        match sent {
            Ok(()) => {
                db.logout_delivered(&delivery.id, now).await?;
                delivered += 1;
            }
            Err(error) => {
                let attempts = delivery.attempts + 1;
                let next = retry::next_attempt(attempts, now).unwrap_or(GIVEN_UP);
                tracing::warn!(client = %delivery.client_id, attempts, %error, "back-channel logout not delivered");
                db.logout_failed(&delivery.id, &error, next).await?;
            }
        }
    }
    Ok(delivered)
}
