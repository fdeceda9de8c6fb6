//! OTPメール認証 (2-4-5): six digits mailed through the outbox and read back from a real SMTP
//! listener, valid five minutes on the server's clock, used once even by concurrent requests,
//! void after five wrong tries, 「再送信」 once a minute, and only a keyed hash in the store. Every
//! test runs on SQLite and PostgreSQL, with the ephemeral store in memory and on Redis.

use crate::helpers::{Backend, TestApp, redis_url, spawn_app_with};
use crate::login_browser::Kenpo;
use crate::smtp::SmtpSink;
use kenpo_idp::domain::Email;
use kenpo_idp::ephemeral::EphemeralStore as _;
use kenpo_idp::flows::brute_force::Lock;
use kenpo_idp::flows::mfa::email_otp::{self, CodeCheck, SendOutcome};
use kenpo_idp::i18n::Locale;
use kenpo_idp::store::{BruteForcePolicy, User, UserStore};
use std::net::IpAddr;
use time::Duration;

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 55));
const TAB: &str = "tab-of-this-login";
const ADDRESS: &str = "taro@example.jp";

/// A server that mails through a real SMTP listener.
pub struct Mailed {
    app: TestApp,
    sink: SmtpSink,
}

async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Option<Mailed> {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let mut env = vec![("KENPO_IDP_SMTP_URL", url.as_str())];
    env.extend_from_slice(extra);
    let app = spawn_app_with(backend, &env).await?;
    Some(Mailed { app, sink })
}

mod in_memory {
    use super::*;

    async fn spawn(backend: Backend) -> Option<Mailed> {
        spawn_with(backend, &[]).await
    }

    shared_runtime::on_every_backend!(crate::email_otp::in_memory::spawn;
        a_code_arrives_by_smtp_from_no_reply_and_passes_once,
        two_requests_with_one_code_let_exactly_one_in,
        a_code_lives_five_minutes_on_the_servers_clock,
        five_wrong_tries_void_the_code,
        resend_waits_a_minute_and_the_new_code_replaces_the_old,
        wrong_codes_count_on_the_lockout_record,
        the_store_keeps_no_code,
        a_member_without_an_address_is_sent_nothing,
    );
}

mod on_redis {
    use super::*;

    async fn spawn(backend: Backend) -> Option<Mailed> {
        let url = redis_url()?;
        spawn_with(backend, &[("KENPO_IDP_REDIS_URL", url.as_str())]).await
    }

    shared_runtime::on_every_backend!(crate::email_otp::on_redis::spawn;
        a_code_arrives_by_smtp_from_no_reply_and_passes_once,
        two_requests_with_one_code_let_exactly_one_in,
        a_code_lives_five_minutes_on_the_servers_clock,
        five_wrong_tries_void_the_code,
        resend_waits_a_minute_and_the_new_code_replaces_the_old,
        wrong_codes_count_on_the_lockout_record,
        the_store_keeps_no_code,
        a_member_without_an_address_is_sent_nothing,
    );
}

/// A realm with taro, who has a mail address, and the listener his mail reaches.
struct Otp {
    kenpo: Kenpo,
    sink: SmtpSink,
    taro: User,
}

/// No wait between quick tries, so the tests need not space their requests.
fn relaxed() -> BruteForcePolicy {
    BruteForcePolicy { quick_login_check_milliseconds: 0, failure_factor: 30, ..BruteForcePolicy::default() }
}

impl Otp {
    async fn new(mailed: Mailed, policy: BruteForcePolicy) -> Self {
        let kenpo = Kenpo::new(mailed.app, policy).await;
        let taro = member(&kenpo, &kenpo.taro.id).await;
        let mut taro = taro;
        taro.email = Some(Email::parse(ADDRESS).unwrap_or_else(|e| panic!("{e}")));
        kenpo.app.state.db.save_member(&taro).await.unwrap_or_else(|e| panic!("{e}"));
        Self { kenpo, sink: mailed.sink, taro }
    }

    async fn send_for(&self, user: &User, tab: &str, locale: Locale) -> SendOutcome {
        let state = &self.kenpo.app.state;
        let issuer = state.config.issuer(self.kenpo.realm.name.as_str());
        let ctx = state.ctx(&self.kenpo.realm, &issuer);
        let sent = email_otp::send(&ctx, user, locale, tab).await.unwrap_or_else(|e| panic!("send: {e}"));
        // What the page does after queuing: wake the deliverer.
        state.mail_outbox.notify_one();
        sent
    }

    async fn send(&self) -> SendOutcome {
        self.send_for(&self.taro, TAB, Locale::Ja).await
    }

    async fn check_in(&self, tab: &str, code: &str) -> CodeCheck {
        let state = &self.kenpo.app.state;
        let issuer = state.config.issuer(self.kenpo.realm.name.as_str());
        let ctx = state.ctx(&self.kenpo.realm, &issuer);
        email_otp::check(&ctx, &self.taro, tab, code, None, IP).await.unwrap_or_else(|e| panic!("check: {e}"))
    }

    async fn check(&self, code: &str) -> CodeCheck {
        self.check_in(TAB, code).await
    }

    /// The code of the next mail, read as the member's mail client shows it: from
    /// `no-reply@`, with the subject `subject`, the same six digits in both parts.
    async fn mailed_code(&mut self, subject: &str) -> String {
        let received = self.sink.next().await;
        assert_eq!(received.from, "no-reply@localhost");
        assert_eq!(received.to, [ADDRESS]);
        let mail = received.parsed();
        assert!(mail.header("From").is_some_and(|f| f.ends_with("<no-reply@localhost>")), "{mail:?}");
        assert_eq!(mail.header("Subject"), Some(subject));
        let text = mail.part("text/plain").unwrap_or_else(|| panic!("no text part: {}", received.data));
        let html = mail.part("text/html").unwrap_or_else(|| panic!("no HTML part: {}", received.data));
        let shown: String = scraper::Html::parse_document(html).root_element().text().collect();
        let in_text = six_digit_runs(text);
        assert_eq!(in_text.len(), 1, "one code in {text}");
        assert_eq!(six_digit_runs(&shown), in_text, "the HTML part shows the same code: {shown}");
        in_text[0].clone()
    }

    fn advance(&self, by: Duration) {
        self.kenpo.advance(by);
    }
}

async fn member(kenpo: &Kenpo, id: &str) -> User {
    let found = kenpo.app.state.db.user_by_id(&kenpo.realm.id, id).await;
    found.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no member {id}"))
}

/// Runs of exactly six ASCII digits.
fn six_digit_runs(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|run| run.len() == 6).map(str::to_owned).collect()
}

/// A six-digit code that is not `code`.
fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap_or_else(|e| panic!("{code}: {e}"));
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn a_code_arrives_by_smtp_from_no_reply_and_passes_once(mailed: Mailed) {
    let mut t = Otp::new(mailed, relaxed()).await;

    let sent = t.send().await;
    let code = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    let empty = t.check("  ").await;
    let other_login = t.check_in("another-login-tab", &code).await;
    let typed_with_an_ime = code.chars().map(|c| char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c));
    let passed = t.check(&typed_with_an_ime.collect::<String>()).await;
    let again = t.check(&code).await;

    assert_eq!(sent, SendOutcome::Sent);
    assert_eq!(empty, CodeCheck::Empty);
    assert_eq!(other_login, CodeCheck::Expired, "bound to the tab it was sent for");
    assert_eq!(passed, CodeCheck::Passed, "full-width digits read as digits");
    assert_eq!(again, CodeCheck::Expired, "single use");
}

async fn two_requests_with_one_code_let_exactly_one_in(mailed: Mailed) {
    let mut t = Otp::new(mailed, relaxed()).await;
    t.send().await;
    let code = t.mailed_code("ワンタイムパスワードのお知らせ").await;

    let (a, b) = tokio::join!(t.check(&code), t.check(&code));

    let passed = [a, b].iter().filter(|c| **c == CodeCheck::Passed).count();
    assert_eq!(passed, 1, "{a:?} {b:?}");
    assert!([a, b].contains(&CodeCheck::Expired), "the other finds it used: {a:?} {b:?}");
}

async fn a_code_lives_five_minutes_on_the_servers_clock(mailed: Mailed) {
    let mut t = Otp::new(mailed, relaxed()).await;
    t.send().await;
    let first = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    t.advance(Duration::seconds(5 * 60 - 1));
    let just_in_time = t.check(&first).await;
    t.send().await;
    let second = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    t.advance(Duration::minutes(5));

    let too_late = t.check(&second).await;

    assert_eq!(just_in_time, CodeCheck::Passed);
    assert_eq!(too_late, CodeCheck::Expired);
}

async fn five_wrong_tries_void_the_code(mailed: Mailed) {
    let mut t = Otp::new(mailed, relaxed()).await;
    t.send().await;
    let code = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    let wrong = other_than(&code);

    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(t.check(&wrong).await);
    }
    let right_but_void = t.check(&code).await;
    t.advance(Duration::seconds(60));
    let resent = t.send().await;
    let fresh = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    let fresh_passes = t.check(&fresh).await;

    assert_eq!(seen[..4], [CodeCheck::Wrong; 4]);
    assert_eq!(seen[4], CodeCheck::TooManyAttempts, "the fifth wrong try voids the code");
    assert_eq!(right_but_void, CodeCheck::TooManyAttempts);
    assert_eq!(resent, SendOutcome::Sent);
    assert_eq!(fresh_passes, CodeCheck::Passed, "a new code has its own tries");
}

async fn resend_waits_a_minute_and_the_new_code_replaces_the_old(mailed: Mailed) {
    let mut t = Otp::new(mailed, relaxed()).await;
    let on_arrival = t.send().await;
    let old = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    t.advance(Duration::seconds(20));
    let too_soon = t.send().await;
    t.sink.assert_no_more().await;
    t.advance(Duration::seconds(39));
    let still_too_soon = t.send().await;
    t.advance(Duration::seconds(1));
    let resent = t.send_for(&t.taro, TAB, Locale::En).await;
    let new = t.mailed_code("Your one-time password").await;

    let old_code = t.check(&old).await;
    let new_code = t.check(&new).await;

    assert_eq!(on_arrival, SendOutcome::Sent);
    assert_eq!(too_soon, SendOutcome::Cooldown { retry_after: Duration::seconds(40) });
    assert_eq!(still_too_soon, SendOutcome::Cooldown { retry_after: Duration::seconds(1) });
    assert_eq!(resent, SendOutcome::Sent);
    if old != new {
        assert_eq!(old_code, CodeCheck::Wrong, "the old code is dead");
    }
    assert_eq!(new_code, CodeCheck::Passed);
}

async fn wrong_codes_count_on_the_lockout_record(mailed: Mailed) {
    let mut t = Otp::new(mailed, BruteForcePolicy::default()).await;
    t.send().await;
    let code = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    let wrong = other_than(&code);

    let mut seen = Vec::new();
    for _ in 0..5 {
        t.advance(Duration::seconds(2));
        seen.push(t.check(&wrong).await);
    }
    // A minute after the first mail, well within the lock.
    t.advance(Duration::seconds(50));
    t.send().await;
    let fresh = t.mailed_code("ワンタイムパスワードのお知らせ").await;
    let right_but_locked = t.check(&fresh).await;

    assert_eq!(seen[..4], [CodeCheck::Wrong; 4]);
    assert!(matches!(seen[4], CodeCheck::Locked(Lock::Temporary { .. })), "{seen:?}");
    assert!(matches!(right_but_locked, CodeCheck::Locked(_)), "{right_but_locked:?}");
}

async fn the_store_keeps_no_code(mailed: Mailed) {
    let mut t = Otp::new(mailed, relaxed()).await;
    t.send().await;
    let code = t.mailed_code("ワンタイムパスワードのお知らせ").await;

    let key = format!("email-otp:code:{}", t.taro.id);
    let stored = t.kenpo.app.state.ephemeral.get(&key).await.unwrap_or_else(|e| panic!("{e}"));

    let stored = String::from_utf8(stored.unwrap_or_else(|| panic!("nothing under {key}")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!stored.contains(&code), "{stored}");
    assert!(stored.contains("hmac-sha256:") && stored.contains(TAB), "{stored}");
}

async fn a_member_without_an_address_is_sent_nothing(mailed: Mailed) {
    let mut t = Otp::new(mailed, relaxed()).await;
    let hanako = member(&t.kenpo, &t.kenpo.hanako.id).await;

    let sent = t.send_for(&hanako, TAB, Locale::Ja).await;

    assert_eq!(sent, SendOutcome::NoAddress);
    t.sink.assert_no_more().await;
}
