//! Brute-force detection as Keycloak decides it (`DefaultBruteForceProtector`, "multiple"
//! strategy), as pure functions of the policy, the record and `now`. [`super::lockout`] reads
//! and writes the records.
//!
//! On each failure: a failure more than `max_delta_time_seconds` after the previous one starts
//! the count again; then the wait is `wait_increment × (failures / failure_factor)`, at most
//! `max_failure_wait_seconds`. A wait of zero becomes `minimum_quick_login_wait_seconds` when
//! the failure came within `quick_login_check_milliseconds` of the previous one (a script, not a
//! person). Every lock that is not such a quick-login lock is a temporary lockout; the one after
//! `max_temporary_lockouts` of them is permanent, until an admin unlocks. Keycloak's
//! `permanentLockout` switch is our `max_temporary_lockouts > 0` (0: never permanent).
//!
//! Failures are only counted on a record that is not locked: a locked record refuses before the
//! password is looked at, so there is nothing to count.

use crate::store::{BruteForcePolicy, LoginFailure};
use time::{Duration, OffsetDateTime};

/// Why a record refuses logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Until this instant (Keycloak's `failedLoginNotBefore`).
    Temporary { until: OffsetDateTime },
    /// Until an admin unlocks.
    Permanent,
}

/// A failure applied to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The record to store.
    pub record: LoginFailure,
    /// The lock this failure started, if it started one (Keycloak then sends
    /// `USER_DISABLED_BY_TEMPORARY_LOCKOUT` or `USER_DISABLED_BY_PERMANENT_LOCKOUT`).
    pub started: Option<Lock>,
}

/// The lock a record holds at `now`, if any. A temporary lock ends at its instant exactly.
pub fn lock_of(record: &LoginFailure, now: OffsetDateTime) -> Option<Lock> {
    if record.permanently_locked {
        return Some(Lock::Permanent);
    }
    record.locked_until.filter(|until| *until > now).map(|until| Lock::Temporary { until })
}

/// Applies one failed attempt made at `now` from `ip`. A record locked at `now` comes back as
/// it was: failures while locked are not counted.
pub fn on_failure(
    policy: &BruteForcePolicy,
    record: &LoginFailure,
    ip: &str,
    now: OffsetDateTime,
) -> Decision {
    if lock_of(record, now).is_some() {
        return Decision { record: record.clone(), started: None };
    }
    let since_last = record.last_failure_at.map(|last| now - last);
    let mut next = if since_last.is_some_and(|d| d > seconds(policy.max_delta_time_seconds)) {
        // Keycloak's clearFailures: the count, the lockouts and the lock start again.
        LoginFailure::default()
    } else {
        record.clone()
    };
    next.last_ip = Some(ip.to_owned());
    next.last_failure_at = Some(record.last_failure_at.map_or(now, |last| last.max(now)));
    next.num_failures = next.num_failures.saturating_add(1);

    let mut wait = match policy.failure_factor {
        0 => 0,
        factor => u64::from(policy.wait_increment_seconds) * u64::from(next.num_failures / factor),
    };
    let quick = wait == 0
        && since_last
            .is_some_and(|d| d < Duration::milliseconds(policy.quick_login_check_milliseconds.into()));
    if quick {
        wait = policy.minimum_quick_login_wait_seconds.into();
    }
    let permanent_after = policy.max_temporary_lockouts;
    let mut started = None;
    if wait > 0 {
        let wait = u32::try_from(wait.min(policy.max_failure_wait_seconds.into())).unwrap_or(u32::MAX);
        if !quick {
            next.temporary_lockouts = next.temporary_lockouts.saturating_add(1);
        }
        if quick || permanent_after == 0 || next.temporary_lockouts <= permanent_after {
            let until = now.saturating_add(seconds(wait));
            next.locked_until = Some(until);
            started = Some(Lock::Temporary { until });
        }
    }
    if permanent_after > 0 && next.temporary_lockouts > permanent_after {
        next.permanently_locked = true;
        started = Some(Lock::Permanent);
    }
    Decision { record: next, started }
}

fn seconds(n: u32) -> Duration {
    Duration::seconds(n.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);

    /// Keycloak's defaults with our permanent lockout after 3 temporary ones.
    fn policy() -> BruteForcePolicy {
        BruteForcePolicy::default()
    }

    /// Fails once `at`, expecting the record to be unlocked then.
    fn fail(policy: &BruteForcePolicy, record: &LoginFailure, at: OffsetDateTime) -> Decision {
        assert_eq!(lock_of(record, at), None, "the attempt at {at} would have been refused");
        on_failure(policy, record, "192.0.2.1", at)
    }

    /// `n` failures two seconds apart (beyond the quick-login check), from a clean record.
    fn failures(policy: &BruteForcePolicy, n: u32) -> (LoginFailure, OffsetDateTime, Option<Lock>) {
        let (mut record, mut at, mut started) = (LoginFailure::default(), T0, None);
        for _ in 0..n {
            at += Duration::seconds(2);
            let decision = fail(policy, &record, at);
            (record, started) = (decision.record, decision.started);
        }
        (record, at, started)
    }

    #[test]
    fn failures_below_the_factor_do_not_lock() {
        let (record, at, started) = failures(&policy(), 4);

        assert_eq!(record.num_failures, 4);
        assert_eq!(started, None);
        assert_eq!(lock_of(&record, at), None);
        assert_eq!(record.last_ip.as_deref(), Some("192.0.2.1"));
    }

    #[test]
    fn the_factorth_failure_locks_for_the_wait_increment() {
        let (record, at, started) = failures(&policy(), 5);

        let until = at + Duration::seconds(60);
        assert_eq!(started, Some(Lock::Temporary { until }));
        assert_eq!(lock_of(&record, at + Duration::seconds(59)), Some(Lock::Temporary { until }));
        assert_eq!(lock_of(&record, until), None, "the lock ends at its instant");
        assert_eq!(record.temporary_lockouts, 1);
    }

    #[test]
    fn the_wait_grows_with_every_factor_of_failures_up_to_the_maximum() {
        let policy = BruteForcePolicy {
            failure_factor: 2,
            max_failure_wait_seconds: 150,
            max_temporary_lockouts: 0,
            ..policy()
        };
        let mut record = LoginFailure::default();
        let mut at = T0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            // Each attempt comes after the previous lock has ended.
            at = record.locked_until.map_or(at, |until| until.max(at)) + Duration::seconds(2);
            let decision = fail(&policy, &record, at);
            waits.push(decision.record.locked_until.filter(|u| *u > at).map(|u| (u - at).whole_seconds()));
            record = decision.record;
        }

        // 60 × (n / 2), capped at 150: failures 1..6.
        assert_eq!(waits, [None, Some(60), Some(60), Some(120), Some(120), Some(150)]);
        assert_eq!(record.temporary_lockouts, 5);
        assert!(!record.permanently_locked, "0 temporary lockouts allowed means never permanent");
    }

    #[test]
    fn a_failure_later_than_the_reset_time_starts_the_count_again() {
        let policy = policy();
        let (record, at, _) = failures(&policy, 4);

        let later = at + Duration::seconds(i64::from(policy.max_delta_time_seconds) + 1);
        let decision = fail(&policy, &record, later);

        assert_eq!(decision.record.num_failures, 1);
        assert_eq!(decision.record.last_failure_at, Some(later));
        // Within the reset time, the count goes on.
        let sooner = at + Duration::seconds(i64::from(policy.max_delta_time_seconds));
        assert_eq!(fail(&policy, &record, sooner).record.num_failures, 5);
    }

    #[test]
    fn the_reset_time_also_forgets_temporary_lockouts() {
        let policy = policy();
        let (record, at, _) = failures(&policy, 5);
        assert_eq!(record.temporary_lockouts, 1);

        let later = at + Duration::days(1);
        let decision = fail(&policy, &record, later);

        assert_eq!((decision.record.num_failures, decision.record.temporary_lockouts), (1, 0));
        assert_eq!(decision.started, None);
    }

    #[test]
    fn a_quick_second_failure_locks_for_the_minimum_wait_without_counting_a_lockout() {
        let policy = policy();
        let first = fail(&policy, &LoginFailure::default(), T0);
        assert_eq!(first.started, None, "a first failure is never quick");

        let at = T0 + Duration::milliseconds(999);
        let second = fail(&policy, &first.record, at);

        let until = at + Duration::seconds(60);
        assert_eq!(second.started, Some(Lock::Temporary { until }));
        assert_eq!(second.record.temporary_lockouts, 0);
        // One second apart is not quick.
        let slow = fail(&policy, &first.record, T0 + Duration::milliseconds(1000));
        assert_eq!(slow.started, None);
    }

    #[test]
    fn the_quick_login_wait_is_capped_by_the_maximum_wait_too() {
        let policy = BruteForcePolicy { max_failure_wait_seconds: 30, ..policy() };
        let first = fail(&policy, &LoginFailure::default(), T0);

        let second = fail(&policy, &first.record, T0);

        assert_eq!(second.started, Some(Lock::Temporary { until: T0 + Duration::seconds(30) }));
    }

    #[test]
    fn more_temporary_lockouts_than_allowed_lock_permanently() {
        let policy = policy();
        // The 5th failure is the first lockout; after it, every failure reaches the factor again.
        let (mut record, mut at, started) = failures(&policy, 5);
        assert!(matches!(started, Some(Lock::Temporary { .. })));
        let mut starts = Vec::new();
        for _ in 0..3 {
            at = record.locked_until.map_or(at, |until| until.max(at)) + Duration::seconds(1);
            let decision = fail(&policy, &record, at);
            starts.push(decision.started);
            record = decision.record;
        }

        assert!(matches!(starts[0], Some(Lock::Temporary { .. })), "2nd lockout: {starts:?}");
        assert!(matches!(starts[1], Some(Lock::Temporary { .. })), "3rd lockout: {starts:?}");
        assert_eq!(starts[2], Some(Lock::Permanent), "the 4th is past max_temporary_lockouts (3)");
        assert_eq!(record.temporary_lockouts, 4);
        assert!(record.permanently_locked);
        assert_eq!(lock_of(&record, at + Duration::days(365)), Some(Lock::Permanent));
    }

    #[test]
    fn failures_while_locked_are_not_counted() {
        let policy = policy();
        let (record, at, _) = failures(&policy, 5);

        let during = on_failure(&policy, &record, "198.51.100.7", at + Duration::seconds(30));

        assert_eq!(during.record, record);
        assert_eq!(during.started, None);
        let permanent = LoginFailure { permanently_locked: true, ..LoginFailure::default() };
        assert_eq!(on_failure(&policy, &permanent, "198.51.100.7", at).record, permanent);
    }

    #[test]
    fn a_clock_that_went_back_neither_panics_nor_resets() {
        let policy = policy();
        let (record, at, _) = failures(&policy, 3);

        let decision = on_failure(&policy, &record, "192.0.2.1", at - Duration::hours(1));

        assert_eq!(decision.record.num_failures, 4);
        assert_eq!(decision.record.last_failure_at, Some(at), "the last failure never moves back");
    }
}
