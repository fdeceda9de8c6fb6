//! The first login's birth-date check on the lockout records: a weaker secret than a password,
//! so its record counts whatever the realm's switch, its failures never expire, and only a right
//! date or the kenpo's unlock clears it.

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::Kenpo;
use kenpo_idp::clock::Clock as _;
use kenpo_idp::flows::brute_force::Lock;
use kenpo_idp::flows::lockout::{self, FailureKey, IdentityCheck};
use kenpo_idp::store::{BruteForcePolicy, Realm};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

on_every_backend!(
    birth_dates_lock_even_where_the_realm_switched_lockout_off,
    slow_guessing_of_birth_dates_still_ends_in_a_permanent_lock,
    a_right_answer_never_locks_even_on_the_attempt_that_reaches_the_limit,
);

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 10));

/// Answers one check on `key` at `at`.
async fn check(
    kenpo: &Kenpo,
    realm: &Realm,
    key: &FailureKey,
    passes: bool,
    at: OffsetDateTime,
) -> IdentityCheck {
    let state = &kenpo.app.state;
    lockout::check_identity(&state.db, &state.ephemeral, realm, key.clone(), passes, IP, at)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Keycloak's defaults: five failures lock for a minute; the fourth lockout is permanent.
async fn guess(kenpo: &Kenpo, realm: &Realm, key: &FailureKey, gap: Duration) -> Vec<IdentityCheck> {
    let mut at = kenpo.app.clock.now();
    let mut seen = Vec::new();
    for _ in 0..8 {
        at += gap;
        seen.push(check(kenpo, realm, key, false, at).await);
    }
    seen
}

fn is_temporary(check: &IdentityCheck) -> bool {
    matches!(check, IdentityCheck::Locked(Lock::Temporary { .. }))
}

async fn birth_dates_lock_even_where_the_realm_switched_lockout_off(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy { enabled: false, ..BruteForcePolicy::default() }).await;
    let birthdate = FailureKey::birthdate(&kenpo.taro.id);
    let password = FailureKey::member(&kenpo.app.state.master_key, &kenpo.realm, &kenpo.taro.id, None);

    let dates = guess(&kenpo, &kenpo.realm, &birthdate, Duration::minutes(2)).await;
    let passwords = guess(&kenpo, &kenpo.realm, &password, Duration::minutes(2)).await;

    assert_eq!(dates[..4], [IdentityCheck::Failed; 4]);
    assert!(dates[4..7].iter().all(is_temporary), "{dates:?}");
    assert_eq!(dates[7], IdentityCheck::Locked(Lock::Permanent));
    assert_eq!(passwords, [IdentityCheck::Failed; 8], "the realm's switch still holds for passwords");
}

async fn slow_guessing_of_birth_dates_still_ends_in_a_permanent_lock(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let birthdate = FailureKey::birthdate(&kenpo.taro.id);
    let password = FailureKey::member(&kenpo.app.state.master_key, &kenpo.realm, &kenpo.taro.id, None);
    // Longer than the realm's failure reset time (12 hours) between tries.
    let slow = Duration::hours(13);

    let dates = guess(&kenpo, &kenpo.realm, &birthdate, slow).await;
    let passwords = guess(&kenpo, &kenpo.realm, &password, slow).await;

    assert_eq!(dates[7], IdentityCheck::Locked(Lock::Permanent), "{dates:?}");
    assert_eq!(passwords, [IdentityCheck::Failed; 8], "password failures that far apart start again");
    let records = lockout::status(&kenpo.app.state.db, &kenpo.realm, &kenpo.taro.id).await.ok();
    let devices = records.map(|r| r.into_iter().map(|r| r.device).collect::<Vec<_>>());
    assert_eq!(devices, Some(vec!["".to_owned(), lockout::BIRTHDATE_DEVICE.to_owned()]));
}

async fn a_right_answer_never_locks_even_on_the_attempt_that_reaches_the_limit(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let key = FailureKey::birthdate(&kenpo.taro.id);
    let mut at = kenpo.app.clock.now();
    // Seven wrong dates: three temporary lockouts so far, each waited out.
    for _ in 0..7 {
        at += Duration::minutes(2);
        check(&kenpo, &kenpo.realm, &key, false, at).await;
    }

    // The eighth try would lock for good if it were wrong; it is right.
    let right = check(&kenpo, &kenpo.realm, &key, true, at + Duration::minutes(2)).await;

    assert_eq!(right, IdentityCheck::Passed);
    let records = lockout::status(&kenpo.app.state.db, &kenpo.realm, &kenpo.taro.id).await.ok();
    assert_eq!(records.map(|r| r.len()), Some(0), "the record starts again, unlocked");
}
