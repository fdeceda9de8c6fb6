//! Retrying durable deliveries (back-channel logouts, mail): how long to wait after a failure,
//! and when to stop trying.

use time::{Duration, OffsetDateTime};

/// After this many failures a delivery is not tried again; its row keeps the last error for an
/// operator to look at.
pub const MAX_ATTEMPTS: i32 = 12;

/// The wait after `attempts` failures: 5 s, 10 s, 20 s, … capped at an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    Duration::seconds((5_i64 << exponent).min(3600))
}

/// When to try again after the `attempts`-th failure at `now`, or `None` to give up.
pub fn next_attempt(attempts: i32, now: OffsetDateTime) -> Option<OffsetDateTime> {
    (attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn backoff_doubles_then_caps_at_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(5));
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(3), Duration::seconds(40));
        assert_eq!(backoff(9), Duration::seconds(2560));
        assert_eq!(backoff(10), Duration::hours(1));
        assert_eq!(backoff(12), Duration::hours(1));
        assert_eq!(backoff(i32::MAX), Duration::hours(1), "no overflow however many");
        assert_eq!(backoff(-1), Duration::seconds(5));
    }

    #[test]
    fn gives_up_after_the_last_attempt() {
        let now = datetime!(2026-11-24 09:00 UTC);
        assert_eq!(next_attempt(1, now), Some(now + Duration::seconds(10)));
        assert_eq!(next_attempt(MAX_ATTEMPTS - 1, now), Some(now + Duration::hours(1)));
        assert_eq!(next_attempt(MAX_ATTEMPTS, now), None);
    }
}
