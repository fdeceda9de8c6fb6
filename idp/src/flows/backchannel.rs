//! Delivering queued back-channel logout tokens, with retries and backoff, so a client that is
//! down when a member logs out still hears of it when it comes back.

use super::FlowError;
use crate::store::{BackchannelStore, Db};
use time::{Duration, OffsetDateTime};

/// How long a claimed delivery is held by its deliverer before another may try it (a deliverer
/// that died mid-send is retried after this).
pub const LEASE: Duration = Duration::seconds(30);

/// After this many failures a delivery is left in the table, with its last error, for an
/// operator to look at.
pub const MAX_ATTEMPTS: i32 = 12;

/// 5 s, 10 s, 20 s, … capped at an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    Duration::seconds((5_i64 << exponent).min(3600))
}

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
                let next = if attempts >= MAX_ATTEMPTS {
                    OffsetDateTime::UNIX_EPOCH + Duration::weeks(52 * 1000)
                } else {
                    now + backoff(attempts)
                };
                tracing::warn!(client = %delivery.client_id, attempts, %error, "back-channel logout not delivered");
                db.logout_failed(&delivery.id, &error, next).await?;
            }
        }
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps_at_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(5));
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(3), Duration::seconds(40));
        assert_eq!(backoff(12), Duration::hours(1));
    }
}
