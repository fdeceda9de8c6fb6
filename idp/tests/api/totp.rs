//! Authenticator apps (2-4-1 … 2-4-4, 3-6): setting one up with a code from it, and its codes at
//! login with one step of drift, never twice, and on the lockout records like a password.

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::Kenpo;
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::totp::{self as codes, TotpSeed};
use kenpo_idp::flows::brute_force::Lock;
use kenpo_idp::flows::lockout::IdentityCheck;
use kenpo_idp::flows::mfa::totp::{self, Setup};
use kenpo_idp::store::{BruteForcePolicy, Credential, User, UserStore};
use std::net::IpAddr;
use time::Duration;

on_every_backend!(
    an_app_is_set_up_with_a_code_from_it_and_its_seed_is_stored_sealed,
    setup_refuses_a_wrong_code_and_an_empty_or_taken_device_name,
    login_codes_allow_one_step_of_drift_and_are_never_accepted_twice,
    two_requests_with_the_same_code_let_exactly_one_in,
    wrong_codes_lock_like_wrong_passwords,
);

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 30));
const SEED: [u8; 20] = *b"kenpo-totp-test-seed";

async fn taro(kenpo: &Kenpo) -> User {
    let found = kenpo.app.state.db.user_by_id(&kenpo.realm.id, &kenpo.taro.id).await;
    found.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no taro"))
}

/// The code the member's app shows now.
fn code_now(kenpo: &Kenpo, seed: &TotpSeed) -> String {
    codes::code_at(seed, &kenpo.realm.settings.otp_policy, kenpo.app.clock.now())
}

async fn set_up(kenpo: &Kenpo, user: &User, seed: &TotpSeed, code: &str, label: &str) -> Setup {
    let state = &kenpo.app.state;
    let issuer = state.config.issuer(kenpo.realm.name.as_str());
    totp::finish_setup(&state.ctx(&kenpo.realm, &issuer), user, seed, code, label)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn registered(kenpo: &Kenpo, user: &User, seed: &TotpSeed, label: &str) -> Credential {
    match set_up(kenpo, user, seed, &code_now(kenpo, seed), label).await {
        Setup::Registered(credential) => credential,
        Setup::Refused(errors) => panic!("setup refused: {errors:?}"),
    }
}

async fn log_in(kenpo: &Kenpo, user: &User, credential: &Credential, code: &str) -> IdentityCheck {
    let state = &kenpo.app.state;
    let issuer = state.config.issuer(kenpo.realm.name.as_str());
    let ctx = state.ctx(&kenpo.realm, &issuer);
    totp::check_login_code(&ctx, user, &credential.id, code, None, IP).await.unwrap_or_else(|e| panic!("{e}"))
}

fn refused_fields(setup: Setup) -> Vec<(&'static str, &'static str)> {
    match setup {
        Setup::Refused(errors) => errors.iter().map(|e| (e.field, e.message)).collect(),
        Setup::Registered(c) => panic!("registered {c:?}"),
    }
}

async fn an_app_is_set_up_with_a_code_from_it_and_its_seed_is_stored_sealed(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let user = taro(&kenpo).await;
    let seed = TotpSeed::new(SEED);

    let credential = registered(&kenpo, &user, &seed, "  iPhone  ").await;

    assert_eq!(credential.user_label.as_deref(), Some("iPhone"));
    let stored = &credential.secret_data;
    assert!(
        !stored.contains(&seed.base32()) && !stored.contains("kenpo-totp") && !stored.contains(&hex(&SEED))
    );
    let state = &kenpo.app.state;
    let issuer = state.config.issuer(kenpo.realm.name.as_str());
    let ctx = state.ctx(&kenpo.realm, &issuer);
    let opened = totp::open(&ctx, &user, stored).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opened.expose(), &SEED);
    let hanako = state.db.user_by_id(&kenpo.realm.id, &kenpo.hanako.id).await.ok().flatten();
    let hanako = hanako.unwrap_or_else(|| panic!("no hanako"));
    assert!(totp::open(&ctx, &hanako, stored).is_err(), "sealed to its member");
    // The setup code has done its job: it does not log in as well.
    assert_eq!(log_in(&kenpo, &user, &credential, &code_now(&kenpo, &seed)).await, IdentityCheck::Failed);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn setup_refuses_a_wrong_code_and_an_empty_or_taken_device_name(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let user = taro(&kenpo).await;
    let (seed, other) = (TotpSeed::new(SEED), TotpSeed::new(*b"another-totp-seed-20"));
    let right = code_now(&kenpo, &seed);
    let wrong = code_now(&kenpo, &other);

    let wrong_code = set_up(&kenpo, &user, &seed, &wrong, "iPhone").await;
    let nothing = set_up(&kenpo, &user, &seed, "", "  ").await;
    let too_long = set_up(&kenpo, &user, &seed, &right, &"あ".repeat(totp::LABEL_MAX + 1)).await;
    registered(&kenpo, &user, &seed, "iPhone").await;
    kenpo.advance(Duration::seconds(30));
    let taken = set_up(&kenpo, &user, &other, &code_now(&kenpo, &other), "iPhone").await;
    let second = registered(&kenpo, &user, &other, "iPad").await;

    assert_eq!(refused_fields(wrong_code), [("totp", "totp.setup_wrong_code")]);
    assert_eq!(refused_fields(nothing), [("totp", "totp.code_empty"), ("userLabel", "totp.label_empty")]);
    assert_eq!(refused_fields(too_long), [("userLabel", "totp.label_long")]);
    assert_eq!(refused_fields(taken), [("userLabel", "totp.label_taken")]);
    let state = &kenpo.app.state;
    let issuer = state.config.issuer(kenpo.realm.name.as_str());
    let devices =
        totp::devices(&state.ctx(&kenpo.realm, &issuer), &user).await.unwrap_or_else(|e| panic!("{e}"));
    let labels: Vec<_> = devices.iter().filter_map(|d| d.user_label.as_deref()).collect();
    assert_eq!(labels, ["iPhone", "iPad"], "several apps per member (Q11)");
    assert_eq!(devices[1].id, second.id);
}

async fn login_codes_allow_one_step_of_drift_and_are_never_accepted_twice(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let user = taro(&kenpo).await;
    let seed = TotpSeed::new(SEED);
    let credential = registered(&kenpo, &user, &seed, "iPhone").await;
    kenpo.advance(Duration::seconds(90));
    let policy = &kenpo.realm.settings.otp_policy;
    let now = kenpo.app.clock.now();
    let slow_phone = codes::code_at(&seed, policy, now - Duration::seconds(30));
    let current = codes::code_at(&seed, policy, now);
    let too_slow = codes::code_at(&seed, policy, now - Duration::seconds(60));

    let late = log_in(&kenpo, &user, &credential, &too_slow).await;
    kenpo.advance(Duration::seconds(2));
    let drifted = log_in(&kenpo, &user, &credential, &slow_phone).await;
    kenpo.advance(Duration::seconds(2));
    let replayed = log_in(&kenpo, &user, &credential, &slow_phone).await;
    kenpo.advance(Duration::seconds(2));
    let newer = log_in(&kenpo, &user, &credential, &current).await;
    kenpo.advance(Duration::seconds(2));
    let again = log_in(&kenpo, &user, &credential, &current).await;

    assert_eq!(late, IdentityCheck::Failed, "two steps behind");
    assert_eq!(drifted, IdentityCheck::Passed, "one step behind");
    assert_eq!(replayed, IdentityCheck::Failed, "never twice");
    assert_eq!(newer, IdentityCheck::Passed);
    assert_eq!(again, IdentityCheck::Failed);
}

async fn two_requests_with_the_same_code_let_exactly_one_in(app: TestApp) {
    let kenpo = Kenpo::new(
        app,
        BruteForcePolicy { quick_login_check_milliseconds: 0, ..BruteForcePolicy::default() },
    )
    .await;
    let user = taro(&kenpo).await;
    let seed = TotpSeed::new(SEED);
    let credential = registered(&kenpo, &user, &seed, "iPhone").await;
    kenpo.advance(Duration::seconds(30));
    let code = code_now(&kenpo, &seed);

    let (a, b) =
        tokio::join!(log_in(&kenpo, &user, &credential, &code), log_in(&kenpo, &user, &credential, &code));

    let passed = [a, b].iter().filter(|c| **c == IdentityCheck::Passed).count();
    assert_eq!(passed, 1, "{a:?} {b:?}");
}

async fn wrong_codes_lock_like_wrong_passwords(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let user = taro(&kenpo).await;
    let seed = TotpSeed::new(SEED);
    let credential = registered(&kenpo, &user, &seed, "iPhone").await;

    let mut seen = Vec::new();
    for _ in 0..5 {
        kenpo.advance(Duration::seconds(2));
        seen.push(log_in(&kenpo, &user, &credential, "000000").await);
    }
    kenpo.advance(Duration::seconds(30));
    let right_but_locked = log_in(&kenpo, &user, &credential, &code_now(&kenpo, &seed)).await;

    assert_eq!(seen[..4], [IdentityCheck::Failed; 4]);
    assert!(matches!(seen[4], IdentityCheck::Locked(Lock::Temporary { .. })), "{seen:?}");
    assert!(matches!(right_but_locked, IdentityCheck::Locked(_)), "{right_but_locked:?}");
}
