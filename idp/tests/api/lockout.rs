//! Brute-force lockout over the real login form, as Keycloak counts it, and the ways its denial
//! of service is limited: trusted devices, no account-existence oracle, a per-address limit.
//! Also the other locked account of the manual (Q6): one the kenpo has disabled.

use crate::helpers::{Backend, TestApp, on_every_backend, redis_url, spawn_app_with};
use crate::login_browser::{Browser, Kenpo, REALM, Seen};
use crate::smtp::SmtpSink;
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::{Email, Username};
use kenpo_idp::flows::brute_force::Lock;
use kenpo_idp::flows::lockout::{self, FailureKey, IdentityCheck};
use kenpo_idp::flows::recovery::{self, ResetRequest};
use kenpo_idp::i18n::Locale;
use kenpo_idp::store::{
    BruteForcePolicy, EventQuery, EventStore, EventType, NewUser, SessionStore, UserStore,
};
use reqwest::StatusCode;
use scraper::{Html, Selector};
use time::Duration;

on_every_backend!(
    wrong_passwords_lock_the_member_and_then_even_the_right_password_is_refused,
    the_lock_lifts_when_the_wait_is_over,
    repeated_lockouts_lock_permanently_until_an_admin_unlocks,
    an_unknown_user_id_locks_exactly_like_a_member,
    a_trusted_browser_still_logs_in_while_strangers_have_locked_the_member,
    a_device_cookie_of_one_member_does_nothing_for_another,
    one_address_failing_across_many_ids_is_refused_with_429,
    concurrent_guesses_get_no_more_tries_than_the_failure_factor,
    concurrent_failures_all_count,
    an_operator_sees_and_lifts_a_permanent_lock_by_the_issued_id,
    a_disabled_member_is_told_to_contact_the_kenpo_once_the_password_is_right,
);

const WRONG: &str = "Wrong-horse-9";
/// Between attempts: more than the quick-login check, so only the failure count decides.
const PAUSE: Duration = Duration::seconds(2);

/// Keycloak's defaults (5 failures, 60 s, permanent after 3 temporary lockouts).
async fn kenpo(app: TestApp) -> Kenpo {
    Kenpo::new(app, BruteForcePolicy::default()).await
}

/// `n` wrong passwords, a pause before each; what each one saw.
async fn fail(kenpo: &Kenpo, browser: &Browser, username: &str, n: usize) -> Vec<Seen> {
    let mut seen = Vec::new();
    for _ in 0..n {
        kenpo.advance(PAUSE);
        seen.push(browser.log_in(kenpo, username, WRONG).await.seen());
    }
    seen
}

/// Locks `username` permanently with the default policy: a first lockout after 5 failures, then
/// one more failure after each lock lifts, the 4th lockout being permanent.
async fn lock_permanently(kenpo: &Kenpo, browser: &Browser, username: &str) {
    assert_eq!(fail(kenpo, browser, username, 5).await, vec![Seen::Invalid; 5]);
    for _ in 0..3 {
        kenpo.advance(Duration::seconds(61));
        assert_eq!(fail(kenpo, browser, username, 1).await, [Seen::Invalid]);
    }
    kenpo.advance(Duration::days(30));
    assert_eq!(fail(kenpo, browser, username, 1).await, [Seen::Locked], "permanently locked");
}

/// The messages of an error page (`p.error`), as the member reads them.
fn page_errors(body: &str) -> Vec<String> {
    let html = Html::parse_document(body);
    let css = Selector::parse("p.error").unwrap_or_else(|e| panic!("selector: {e:?}"));
    html.select(&css).map(|p| p.text().collect::<String>().trim().to_owned()).collect()
}

async fn event_errors(kenpo: &Kenpo, kind: EventType) -> Vec<(Option<String>, Option<String>)> {
    let query = EventQuery { types: vec![kind], max: 1000, ..EventQuery::default() };
    let events = kenpo.app.state.db.events(&kenpo.realm.id, &query).await.unwrap_or_else(|e| panic!("{e}"));
    events.into_iter().map(|e| (e.user_id, e.error)).collect()
}

async fn wrong_passwords_lock_the_member_and_then_even_the_right_password_is_refused(app: TestApp) {
    let kenpo = kenpo(app).await;
    let browser = Browser::new();

    let seen = fail(&kenpo, &browser, kenpo.taro.username, 5).await;
    let right = browser.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;

    assert_eq!(seen, vec![Seen::Invalid; 5], "the 5th failure is counted, then the lock starts");
    assert_eq!(right.seen(), Seen::Locked, "{}", right.body);
    assert_eq!(right.location, None);
    assert!(right.set_cookie("KENPO_SESSION").is_none() && right.set_cookie("KENPO_DEVICE").is_none());
    let records = lockout::status(&kenpo.app.state.db, &kenpo.realm, &kenpo.taro.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].device.as_str(), records[0].failure.num_failures), ("", 5));
    assert_eq!(records[0].failure.locked_until, Some(kenpo.app.clock.now() + Duration::seconds(60)));
    let taro = Some(kenpo.taro.id.clone());
    assert_eq!(event_errors(&kenpo, EventType::UserDisabledByTemporaryLockout).await, [(taro, None)]);
    let errors = event_errors(&kenpo, EventType::LoginError).await;
    assert_eq!(errors[0], (None, Some("user_temporarily_disabled".to_owned())));
    assert_eq!(errors.len(), 6);
}

async fn the_lock_lifts_when_the_wait_is_over(app: TestApp) {
    let kenpo = kenpo(app).await;
    let browser = Browser::new();
    fail(&kenpo, &browser, kenpo.taro.username, 5).await;

    kenpo.advance(Duration::seconds(59));
    let during = browser.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;
    kenpo.advance(Duration::seconds(2));
    let after = browser.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;

    assert_eq!(during.seen(), Seen::Locked);
    assert_eq!(after.seen(), Seen::Code, "{}", after.body);
    let records = lockout::status(&kenpo.app.state.db, &kenpo.realm, &kenpo.taro.id).await.ok();
    assert_eq!(records.map(|r| r.len()), Some(0), "a success forgets the failures");
}

async fn repeated_lockouts_lock_permanently_until_an_admin_unlocks(app: TestApp) {
    let kenpo = kenpo(app).await;
    let browser = Browser::new();
    let db = &kenpo.app.state.db;

    lock_permanently(&kenpo, &browser, kenpo.taro.username).await;
    let refused = browser.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;
    let cleared = lockout::unlock(db, &kenpo.realm, &kenpo.taro.id).await.unwrap_or_else(|e| panic!("{e}"));
    let after = browser.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;

    assert_eq!(refused.seen(), Seen::Locked, "a month later, the right password is still refused");
    assert_eq!(cleared.len(), 1);
    assert!(cleared[0].failure.permanently_locked);
    assert_eq!(cleared[0].failure.temporary_lockouts, 4);
    assert_eq!(after.seen(), Seen::Code, "{}", after.body);
    let taro = Some(kenpo.taro.id.clone());
    assert_eq!(event_errors(&kenpo, EventType::UserDisabledByPermanentLockout).await, [(taro, None)]);
    assert_eq!(event_errors(&kenpo, EventType::UserDisabledByTemporaryLockout).await.len(), 3);
    let errors = event_errors(&kenpo, EventType::LoginError).await;
    assert_eq!(errors[0], (None, Some("user_disabled".to_owned())), "a permanent lock is user_disabled");
}

async fn an_unknown_user_id_locks_exactly_like_a_member(app: TestApp) {
    let kenpo = kenpo(app).await;
    let (member, stranger) = (Browser::new(), Browser::new());

    let mut seen_member = fail(&kenpo, &member, kenpo.taro.username, 5).await;
    let mut seen_unknown = fail(&kenpo, &stranger, "nobody123", 4).await;
    // Upper case and spaces count on the same record, as they would for a member.
    seen_unknown.extend(fail(&kenpo, &stranger, " NoBody123", 1).await);
    let member_locked = member.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;
    let unknown_locked = stranger.log_in(&kenpo, "nobody123", kenpo.taro.password).await;
    seen_member.push(member_locked.seen());
    seen_unknown.push(unknown_locked.seen());

    assert_eq!(seen_unknown, seen_member);
    assert_eq!(seen_unknown.last(), Some(&Seen::Locked));
    assert_eq!(unknown_locked.status, member_locked.status);
    // The pages differ only in the echoed user ID and the form's one-time values.
    assert_eq!(unknown_locked.page_without("nobody123"), member_locked.page_without(kenpo.taro.username));
    // And the lock lifts for both alike.
    kenpo.advance(Duration::seconds(61));
    assert_eq!(stranger.log_in(&kenpo, "nobody123", WRONG).await.seen(), Seen::Invalid);
    assert_eq!(member.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await.seen(), Seen::Code);
}

async fn a_trusted_browser_still_logs_in_while_strangers_have_locked_the_member(app: TestApp) {
    let kenpo = kenpo(app).await;
    let phone = Browser::new();
    let first = phone.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;
    assert_eq!(first.seen(), Seen::Code);
    let set = first.set_cookie("KENPO_DEVICE").unwrap_or_else(|| panic!("{:?}", first.set_cookies));
    let set = set.to_ascii_lowercase();
    assert!(set.contains("httponly") && set.contains("path=/realms/lockout/"), "{set}");
    assert!(set.contains("max-age=31536000"), "a year: {set}");

    let attacker = Browser::new();
    lock_permanently(&kenpo, &attacker, kenpo.taro.username).await;
    let attacker_right = attacker.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;
    let phone_right = phone.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;

    assert_eq!(attacker_right.seen(), Seen::Locked, "even with the right password, from another browser");
    assert_eq!(phone_right.seen(), Seen::Code, "{}", phone_right.body);
    // The phone's own guesses lock only the phone's record.
    assert_eq!(fail(&kenpo, &phone, kenpo.taro.username, 6).await.last(), Some(&Seen::Locked));
    let records = lockout::status(&kenpo.app.state.db, &kenpo.realm, &kenpo.taro.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let devices: Vec<_> =
        records.iter().map(|r| (r.device.is_empty(), r.failure.permanently_locked)).collect();
    assert_eq!(devices, [(true, true), (false, false)], "untrusted permanently, the phone for a while");
}

async fn a_device_cookie_of_one_member_does_nothing_for_another(app: TestApp) {
    let kenpo = kenpo(app).await;
    let taros_pc = Browser::new();
    assert_eq!(taros_pc.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await.seen(), Seen::Code);
    let cookie = taros_pc.cookie(&kenpo, "KENPO_DEVICE").unwrap_or_else(|| panic!("no device cookie"));
    let stranger = Browser::new();
    fail(&kenpo, &stranger, kenpo.hanako.username, 5).await;

    let with_taros_cookie = Browser::holding(&kenpo, "KENPO_DEVICE", &cookie);
    let hanako = with_taros_cookie.log_in(&kenpo, kenpo.hanako.username, kenpo.hanako.password).await;
    let taro = with_taros_cookie.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;

    assert_eq!(hanako.seen(), Seen::Locked, "taro's device is not hanako's");
    assert_eq!(taro.seen(), Seen::Code, "the copied cookie still works for taro: {}", taro.body);
    let hanakos = lockout::status(&kenpo.app.state.db, &kenpo.realm, &kenpo.hanako.id).await.ok();
    assert_eq!(
        hanakos.map(|r| r.iter().map(|r| r.device.clone()).collect::<Vec<_>>()),
        Some(vec![String::new()])
    );
    // The key a flow would use for hanako with that cookie is the untrusted one too.
    let key = FailureKey::member(&kenpo.app.state.master_key, &kenpo.realm, &kenpo.hanako.id, Some(&cookie));
    assert!(!key.is_trusted_device());
}

async fn one_address_failing_across_many_ids_is_refused_with_429(app: TestApp) {
    let policy = BruteForcePolicy { max_failures_per_address_per_hour: 3, ..BruteForcePolicy::default() };
    let kenpo = Kenpo::new(app, policy).await;
    let phone = Browser::new();
    assert_eq!(phone.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await.seen(), Seen::Code);
    let sprayer = Browser::new();

    let mut seen = Vec::new();
    for id in ["spray0001", "spray0002", "spray0003", "spray0004"] {
        kenpo.advance(PAUSE);
        seen.push(sprayer.log_in(&kenpo, id, WRONG).await.seen());
    }
    let untrusted = sprayer.log_in(&kenpo, kenpo.hanako.username, kenpo.hanako.password).await;
    let trusted = phone.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;
    kenpo.advance(Duration::hours(1));
    let next_hour = sprayer.log_in(&kenpo, kenpo.hanako.username, kenpo.hanako.password).await;

    assert_eq!(seen, [Seen::Invalid, Seen::Invalid, Seen::Invalid, Seen::TooMany]);
    assert_eq!(untrusted.seen(), Seen::TooMany, "the password is not even checked");
    assert_eq!(trusted.seen(), Seen::Code, "a member's trusted browser is not held back");
    assert_eq!(next_hour.seen(), Seen::Code, "a new hour, a new count");
}

async fn concurrent_guesses_get_no_more_tries_than_the_failure_factor(app: TestApp) {
    let policy = BruteForcePolicy { quick_login_check_milliseconds: 0, ..BruteForcePolicy::default() };
    let kenpo = Kenpo::new(app, policy).await;
    let mut forms = Vec::new();
    for _ in 0..12 {
        let browser = Browser::new();
        let (action, csrf) = browser.login_form(&kenpo).await;
        forms.push((browser, action, csrf));
    }

    let username = kenpo.taro.username;
    let guesses = forms.into_iter().map(|(browser, action, csrf)| {
        tokio::spawn(async move { browser.post_login(&action, &csrf, username, WRONG).await.seen() })
    });
    let mut seen = Vec::new();
    for guess in guesses.collect::<Vec<_>>() {
        seen.push(guess.await.unwrap_or_else(|e| panic!("{e}")));
    }

    let invalid = seen.iter().filter(|s| **s == Seen::Invalid).count();
    let locked = seen.iter().filter(|s| **s == Seen::Locked).count();
    assert_eq!((invalid, locked), (5, 7), "{seen:?}");
    let records = lockout::status(&kenpo.app.state.db, &kenpo.realm, &kenpo.taro.id).await.ok();
    assert_eq!(records.map(|r| r[0].failure.num_failures), Some(5));
}

async fn concurrent_failures_all_count(app: TestApp) {
    let policy = BruteForcePolicy {
        failure_factor: 1000,
        quick_login_check_milliseconds: 0,
        ..BruteForcePolicy::default()
    };
    let kenpo = Kenpo::new(app, policy).await;
    let state = kenpo.app.state.clone();
    let now = kenpo.app.clock.now();

    let failures = (0..20u8).map(|n| {
        let (state, realm, user) = (state.clone(), kenpo.realm.clone(), kenpo.hanako.id.clone());
        tokio::spawn(async move {
            let key = FailureKey::member(&state.master_key, &realm, &user, None);
            let ip = std::net::IpAddr::from([192, 0, 2, n]);
            lockout::check_identity(&state.db, &state.ephemeral, &realm, key, false, ip, now).await
        })
    });
    for failure in failures.collect::<Vec<_>>() {
        let locked = failure.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(locked, IdentityCheck::Failed);
    }

    let records = lockout::status(&state.db, &kenpo.realm, &kenpo.hanako.id).await.ok();
    assert_eq!(records.map(|r| r[0].failure.num_failures), Some(20));
    // Identity checks other than the password lock like password failures.
    let strict = BruteForcePolicy { failure_factor: 21, ..BruteForcePolicy::default() };
    let mut realm = kenpo.realm.clone();
    realm.settings.brute_force = strict;
    let key = FailureKey::member(&state.master_key, &realm, &kenpo.hanako.id, None);
    let ip = std::net::IpAddr::from([192, 0, 2, 99]);
    let later = now + Duration::seconds(5);
    let locked = lockout::check_identity(&state.db, &state.ephemeral, &realm, key, false, ip, later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(locked, IdentityCheck::Locked(Lock::Temporary { .. })), "{locked:?}");
}

async fn an_operator_sees_and_lifts_a_permanent_lock_by_the_issued_id(app: TestApp) {
    let kenpo = kenpo(app).await;
    let state = &kenpo.app.state;
    let name = |n: &str| Username::parse_issued(n).unwrap_or_else(|e| panic!("{e}"));
    let new = NewUser {
        username: name("jiro5678"),
        issued_username: Some(name("k0000777")),
        email: None,
        email_verified: false,
        display_name: "健保 次郎".to_owned(),
        birthdate: None,
        relationship: None,
        temporary_id: false,
        required_actions: vec![],
        locale: None,
    };
    let jiro = state
        .db
        .create_user(&kenpo.realm.id, new, kenpo.app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A strict realm: each failure is a lockout, the second one permanent.
    let mut strict = kenpo.realm.clone();
    strict.settings.brute_force =
        BruteForcePolicy { failure_factor: 1, max_temporary_lockouts: 1, ..BruteForcePolicy::default() };
    let mut at = kenpo.app.clock.now();
    for _ in 0..2 {
        let key = FailureKey::member(&state.master_key, &strict, &jiro.id, None);
        let ip = std::net::IpAddr::from([198, 51, 100, 7]);
        lockout::check_identity(&state.db, &state.ephemeral, &strict, key, false, ip, at)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        at += Duration::minutes(2);
    }
    let run = |args: &[&str]| {
        let output = kenpo.app.cli(args);
        let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), format!("{out}{err}"))
    };

    let (shown, before) = run(&["user", "lockout", "--realm", "lockout", "K0000777"]);
    let (unlocked, report) = run(&["user", "unlock", "--realm", "lockout", "k0000777"]);
    let (_, after) = run(&["user", "lockout", "--realm", "lockout", "jiro5678"]);
    let (found, nobody) = run(&["user", "unlock", "--realm", "lockout", "nobody123"]);

    assert!(shown, "{before}");
    assert!(before.contains("jiro5678: untrusted browsers: 2 failure(s), last "), "{before}");
    assert!(before.contains("from 198.51.100.7, 2 temporary lockout(s), LOCKED until unlocked"), "{before}");
    assert!(unlocked && report.contains("unlocked jiro5678: cleared 1 record(s)"), "{report}");
    assert!(after.contains("jiro5678: no login failures, not locked"), "{after}");
    assert!(!found && nobody.contains("no member nobody123"), "{nobody}");
    let records = lockout::status(&state.db, &kenpo.realm, &jiro.id).await.ok();
    assert_eq!(records.map(|r| r.len()), Some(0));
}

async fn a_disabled_member_is_told_to_contact_the_kenpo_once_the_password_is_right(app: TestApp) {
    let kenpo = kenpo(app).await;
    let browser = Browser::new();
    // Taro is logged in on another browser when the kenpo disables the account.
    let phone = Browser::new();
    assert_eq!(phone.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await.seen(), Seen::Code);
    let sessions = |kenpo: &Kenpo| {
        let (db, id) = (kenpo.app.state.db.clone(), kenpo.taro.id.clone());
        async move { db.sessions_of(&id).await.map(|s| s.len()).unwrap_or_else(|e| panic!("{e}")) }
    };
    assert_eq!(sessions(&kenpo).await, 1);
    let disabled = kenpo.app.cli(&["user", "disable", "--realm", "lockout", kenpo.taro.username]);
    let said = String::from_utf8_lossy(&disabled.stdout);
    assert!(disabled.status.success() && said.contains("taro1234 is disabled; 1 session(s) ended"), "{said}");
    assert_eq!(sessions(&kenpo).await, 0, "disabling ends the member's sessions now");

    kenpo.advance(PAUSE);
    let wrong = browser.log_in(&kenpo, kenpo.taro.username, WRONG).await;
    kenpo.advance(PAUSE);
    let right = browser.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await;

    // A wrong password learns nothing about the account: the usual message.
    assert_eq!(wrong.seen(), Seen::Invalid);
    // The right one is told, in the manual's words (Q6), and gets nothing else.
    assert_eq!(right.status, StatusCode::FORBIDDEN, "{}", right.body);
    assert_eq!(
        page_errors(&right.body),
        ["このアカウントは利用できません。ご加入の健保組合までお問い合わせください。"]
    );
    assert_eq!(right.location, None);
    assert!(right.set_cookie("KENPO_SESSION").is_none() && right.set_cookie("KENPO_DEVICE").is_none());
    let errors = event_errors(&kenpo, EventType::LoginError).await;
    assert_eq!(errors[0], (None, Some("user_disabled".to_owned())));
    // Enabled again, the same password gets in.
    let enabled = kenpo.app.cli(&["user", "enable", "--realm", "lockout", kenpo.taro.username]);
    assert!(enabled.status.success(), "{}", String::from_utf8_lossy(&enabled.stderr));
    kenpo.advance(PAUSE);
    assert_eq!(browser.log_in(&kenpo, kenpo.taro.username, kenpo.taro.password).await.seen(), Seen::Code);
}

/// Only the kenpo's operator lifts a permanent lock: the member's own password reset, by the
/// mailed link, does not. (The IdP mails through a real SMTP listener here.)
async fn a_members_own_password_reset_leaves_a_permanent_lock_in_place(mailed: with_mail::Mailed) {
    const NEW: &str = "Brand-New-77";
    let with_mail::Mailed { app, mut sink } = mailed;
    let kenpo = kenpo(app).await;
    let state = &kenpo.app.state;
    let mut taro = state
        .db
        .user_by_id(&kenpo.realm.id, &kenpo.taro.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no taro"));
    taro.email = Some(Email::parse("taro@example.jp").unwrap_or_else(|e| panic!("{e}")));
    state.db.save_member(&taro).await.unwrap_or_else(|e| panic!("{e}"));
    let browser = Browser::new();
    lock_permanently(&kenpo, &browser, kenpo.taro.username).await;

    // 「パスワードを忘れた方はこちら」: the reset link is mailed, and the new password set with it.
    let issuer = state.config.issuer(REALM);
    let requested = recovery::request_reset(&state.ctx(&kenpo.realm, &issuer), "taro1234", Locale::Ja)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(requested, ResetRequest::Sent { .. }), "{requested:?}");
    state.mail_outbox.notify_one();
    let mail = sink.next().await;
    assert_eq!(mail.to, ["taro@example.jp"]);
    let text = mail.parsed().part("text/plain").map(str::to_owned).unwrap_or_default();
    let key = text
        .split_whitespace()
        .find_map(|word| word.split_once("action-token?key=").map(|(_, key)| key.to_owned()))
        .unwrap_or_else(|| panic!("no reset link in:\n{text}"));
    let reset = kenpo
        .app
        .http
        .post(kenpo.app.url(&format!("/realms/{REALM}/login-actions/action-token")))
        .form(&[("key", key.as_str()), ("password-new", NEW), ("password-confirm", NEW)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("posting the new password: {e}"));
    assert_eq!(reset.status(), StatusCode::OK);
    let body = reset.text().await.unwrap_or_default();
    assert!(body.contains("パスワードを更新しました。"), "{body}");

    let after_reset = browser.log_in(&kenpo, kenpo.taro.username, NEW).await;
    let elsewhere = Browser::new().log_in(&kenpo, kenpo.taro.username, NEW).await;
    let output = kenpo.app.cli(&["user", "unlock", "--realm", REALM, "taro1234"]);
    let after_unlock = browser.log_in(&kenpo, kenpo.taro.username, NEW).await;

    assert_eq!(after_reset.seen(), Seen::Locked, "the new password does not open the lock");
    assert_eq!(elsewhere.seen(), Seen::Locked, "nor does another untrusted browser");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(after_unlock.seen(), Seen::Code, "{}", after_unlock.body);
}

/// An IdP that mails through a real SMTP listener.
mod with_mail {
    use super::*;

    pub struct Mailed {
        pub app: TestApp,
        pub sink: SmtpSink,
    }

    async fn spawn(backend: Backend) -> Option<Mailed> {
        let sink = SmtpSink::start().await;
        let app = spawn_app_with(backend, &[("KENPO_IDP_SMTP_URL", sink.url().as_str())]).await?;
        Some(Mailed { app, sink })
    }

    shared_runtime::on_every_backend!(crate::lockout::with_mail::spawn; a_members_own_password_reset_leaves_a_permanent_lock_in_place);
}

/// The per-address limit on Redis, where production keeps it.
mod on_redis {
    use super::*;

    async fn spawn(backend: Backend) -> Option<TestApp> {
        let url = redis_url()?;
        spawn_app_with(backend, &[("KENPO_IDP_REDIS_URL", url.as_str())]).await
    }

    shared_runtime::on_every_backend!(crate::lockout::on_redis::spawn; one_address_failing_across_many_ids_is_refused_with_429);
}
