//! The mail outbox against a real SMTP listener: what a member receives, from whom, and that a
//! mail server which is down at first still gets the mail, once, when it is back.

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::smtp::{DownServer, SmtpSink};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::Email;
use kenpo_idp::flows::mail::{self, Mail};
use kenpo_idp::flows::realms;
use kenpo_idp::i18n::Locale;
use kenpo_idp::store::{MailKind, MailRecord, OutboxStore, Realm, RealmStore};
use time::{Duration, OffsetDateTime};

const LINK: &str =
    "https://idp.example.jp/realms/kenpo-a/login-actions/action-token?key=k3y-0f-th1s-ma1l&client_id=portal";

/// A server whose mail server is down at first (it holds its port and hangs up on every
/// connection): each test brings it up when it wants it.
pub struct MailApp {
    app: TestApp,
    down: Option<DownServer>,
}

pub async fn spawn(backend: Backend) -> Option<MailApp> {
    let down = DownServer::start().await;
    let url = down.url();
    let app =
        spawn_app_with(backend, &[("KENPO_IDP_SMTP_URL", &url), ("KENPO_IDP_MAIL_DOMAIN", "idp.example.jp")])
            .await?;
    Some(MailApp { app, down: Some(down) })
}

shared_runtime::on_every_backend!(crate::outbox::spawn;
    queued_mail_reaches_the_listener_as_multipart_with_the_full_link_in_its_text_part,
    each_kind_of_mail_comes_from_its_sender_in_the_members_language,
    a_listener_that_is_down_at_first_receives_the_mail_once_it_is_up,
    a_claimed_mail_is_not_sent_by_another_deliverer,
    concurrent_deliverers_send_a_mail_once,
    the_message_is_sealed_at_rest_bound_to_its_row_and_dropped_once_sent,
);

impl MailApp {
    /// The mail server, up on the port the server was told of.
    async fn mail_server_up(&mut self) -> SmtpSink {
        self.down.take().unwrap_or_else(|| panic!("the mail server is up already")).back_up().await
    }

    async fn realm(&self, name: &str, mail_domain: Option<&str>) -> Realm {
        let app = &self.app;
        let spec = realms::RealmSpec {
            name: name.to_owned(),
            display_name: format!("{name}健康保険組合加入者ページ"),
            host: None,
        };
        let mut realm = realms::create(&app.state.db, &app.state.master_key, spec, app.clock.now())
            .await
            .unwrap_or_else(|e| panic!("create realm: {e}"));
        if let Some(domain) = mail_domain {
            realm.settings.mail_domain = Some(domain.to_owned());
            app.state
                .db
                .update_realm_settings(&realm.id, &realm.settings)
                .await
                .unwrap_or_else(|e| panic!("realm settings: {e}"));
        }
        realm
    }

    async fn enqueue_at(&self, realm: &Realm, to: &str, locale: Locale, mail: Mail<'_>, at: OffsetDateTime) {
        let state = &self.app.state;
        let to = Email::parse(to).unwrap_or_else(|e| panic!("{e}"));
        mail::enqueue(&state.db, &state.master_key, realm, &state.config.mail_domain, &to, locale, mail, at)
            .await
            .unwrap_or_else(|e| panic!("enqueue: {e}"));
    }

    async fn enqueue(&self, realm: &Realm, to: &str, locale: Locale, mail: Mail<'_>) {
        self.enqueue_at(realm, to, locale, mail, self.app.clock.now()).await;
    }

    /// One round of delivery as of `now`, as a deliverer (of any replica) runs it.
    async fn deliver_at(&self, now: OffsetDateTime) -> usize {
        let state = &self.app.state;
        mail::deliver_due(&state.db, &state.master_key, &state.mailer, now)
            .await
            .unwrap_or_else(|e| panic!("deliver: {e}"))
    }

    async fn outbox(&self, realm: &Realm) -> Vec<MailRecord> {
        self.app.state.db.realm_mails(&realm.id, 50).await.unwrap_or_else(|e| panic!("outbox: {e}"))
    }

    /// Waits for the realm's only mail to satisfy `done`, as recorded by whichever deliverer
    /// (the server's own, woken by its timer, or the test's) got to it.
    async fn wait_for(&self, realm: &Realm, done: impl Fn(&MailRecord) -> bool) -> MailRecord {
        for _ in 0..100 {
            if let [record] = self.outbox(realm).await.as_slice()
                && done(record)
            {
                return record.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the outbox never got there: {:?}", self.outbox(realm).await);
    }
}

async fn queued_mail_reaches_the_listener_as_multipart_with_the_full_link_in_its_text_part(mut t: MailApp) {
    let mut sink = t.mail_server_up().await;
    let realm = t.realm("kenpo-a", None).await;

    t.enqueue(&realm, "Taro@Example.JP", Locale::Ja, Mail::VerifyEmail { link: LINK, minutes: 720 }).await;
    t.app.state.mail_outbox.notify_one();

    let got = sink.next().await;
    assert_eq!(got.from, "no-reply@idp.example.jp", "the configured domain, as the realm names none");
    assert_eq!(got.to, vec!["Taro@Example.JP"]);
    let mail = got.parsed();
    assert_eq!(mail.header("Subject"), Some("メールアドレスの確認"));
    assert_eq!(mail.header("From"), Some("kenpo-a健康保険組合加入者ページ <no-reply@idp.example.jp>"));
    assert!(mail.header("Content-Type").is_some_and(|c| c.starts_with("multipart/alternative")));
    let types: Vec<&str> = mail.parts.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["text/plain", "text/html"]);
    let text = mail.part("text/plain").unwrap_or_default();
    assert!(text.contains(LINK), "the whole link, query and all, for plain-text readers: {text}");
    assert!(text.contains("有効期限は720分"), "{text}");
    let html = mail.part("text/html").unwrap_or_default();
    let unescaped = html.replace("&#x2f;", "/").replace("&amp;", "&");
    assert!(unescaped.contains(&format!("href=\"{LINK}\"")), "{html}");
    assert!(html.contains("メールアドレスの確認</a>"), "{html}");

    let record = t.wait_for(&realm, |r| r.sent_at.is_some()).await;
    assert_eq!(record.kind, MailKind::VerifyEmail);
    assert_eq!((record.attempts, record.next_attempt_at, record.last_error), (1, None, None));
    sink.assert_no_more().await;
}

async fn each_kind_of_mail_comes_from_its_sender_in_the_members_language(mut t: MailApp) {
    let mut sink = t.mail_server_up().await;
    let realm = t.realm("kenpo-b", Some("kenpo-b.example.jp")).await;

    t.enqueue(&realm, "a@example.jp", Locale::Ja, Mail::ResetPassword { link: LINK, minutes: 5 }).await;
    t.enqueue(&realm, "b@example.jp", Locale::En, Mail::UsernameReminder { username: "kenpo-taro" }).await;
    t.enqueue(&realm, "c@example.jp", Locale::Ja, Mail::FirstLoginDone { display_name: "健保 花子" }).await;
    t.app.state.mail_outbox.notify_one();

    let mut got = [sink.next().await, sink.next().await, sink.next().await];
    got.sort_by(|a, b| a.to.cmp(&b.to));
    let [reset, reminder, first_login] = got.each_ref().map(|r| (r.from.as_str(), r.parsed()));
    assert_eq!(reset.0, "no-reply@kenpo-b.example.jp", "the realm's own domain");
    assert_eq!(reset.1.header("Subject"), Some("パスワードのリセット"));
    assert!(reset.1.part("text/plain").is_some_and(|t| t.contains(LINK) && t.contains("有効期限は5分")));
    assert!(reset.1.part("text/html").is_some_and(|h| h.contains("パスワードをリセット</a>")));
    assert_eq!(reminder.0, "no-reply@kenpo-b.example.jp");
    assert_eq!(reminder.1.header("Subject"), Some("Your user ID"));
    assert!(reminder.1.part("text/plain").is_some_and(|t| t.contains("User ID: kenpo-taro")));
    assert_eq!(first_login.0, "webmaster@kenpo-b.example.jp", "the first-login notice (Q19)");
    assert_eq!(first_login.1.header("Subject"), Some("初回ログイン完了のお知らせ"));
    assert!(first_login.1.part("text/plain").is_some_and(|t| t.starts_with("健保 花子 様")));
    assert_eq!(
        first_login.1.header("From"),
        Some("kenpo-b健康保険組合加入者ページ <webmaster@kenpo-b.example.jp>")
    );
    sink.assert_no_more().await;
}

async fn a_listener_that_is_down_at_first_receives_the_mail_once_it_is_up(mut t: MailApp) {
    let realm = t.realm("kenpo-c", None).await;
    t.enqueue(&realm, "taro@example.jp", Locale::Ja, Mail::ResetPassword { link: LINK, minutes: 5 }).await;
    let first_try = t.app.clock.now();

    // Nothing listens on the SMTP port: the attempt fails and a retry is planned.
    t.deliver_at(first_try).await;
    let failed = t.wait_for(&realm, |r| r.attempts == 1).await;
    assert_eq!(failed.sent_at, None);
    assert!(failed.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{failed:?}");
    assert_eq!(failed.next_attempt_at, Some(first_try + Duration::seconds(10)), "the first backoff");
    assert_eq!(t.deliver_at(first_try).await, 0, "not due again before the backoff");

    let mut sink = t.mail_server_up().await;
    t.app.clock.advance(Duration::seconds(11));
    t.deliver_at(t.app.clock.now()).await;

    let got = sink.next().await;
    assert_eq!(got.to, vec!["taro@example.jp"]);
    assert!(got.parsed().part("text/plain").is_some_and(|text| text.contains(LINK)));
    let sent = t.wait_for(&realm, |r| r.sent_at.is_some()).await;
    assert_eq!((sent.attempts, sent.next_attempt_at), (2, None));
    assert_eq!(sent.sent_at, Some(t.app.clock.now()));
    t.app.clock.advance(Duration::hours(2));
    t.app.state.mail_outbox.notify_one();
    assert_eq!(t.deliver_at(t.app.clock.now()).await, 0);
    sink.assert_no_more().await;
}

async fn a_claimed_mail_is_not_sent_by_another_deliverer(mut t: MailApp) {
    let mut sink = t.mail_server_up().await;
    let realm = t.realm("kenpo-d", None).await;
    // Due a minute from the server's clock, so the server's own deliverer leaves it to us.
    let due = t.app.clock.now() + Duration::minutes(1);
    t.enqueue_at(
        &realm,
        "taro@example.jp",
        Locale::Ja,
        Mail::UsernameReminder { username: "kenpo-taro" },
        due,
    )
    .await;
    let id = t.outbox(&realm).await.first().map(|r| r.id.clone()).unwrap_or_default();

    // Another replica claims it (and, say, dies while sending).
    let db = &t.app.state.db;
    assert!(db.claim_mail(&id, due, due + mail::LEASE).await.unwrap_or_else(|e| panic!("{e}")));
    assert!(!db.claim_mail(&id, due, due + mail::LEASE).await.unwrap_or_else(|e| panic!("{e}")), "held");

    assert_eq!(t.deliver_at(due).await, 0, "claimed by another");
    assert_eq!(t.deliver_at(due + mail::LEASE - Duration::seconds(1)).await, 0, "still within the lease");
    sink.assert_no_more().await;

    // The lease runs out: the replica is presumed dead and the mail goes out, once.
    assert_eq!(t.deliver_at(due + mail::LEASE).await, 1);
    assert!(sink.next().await.parsed().part("text/plain").is_some_and(|t| t.contains("kenpo-taro")));
    assert_eq!(t.deliver_at(due + mail::LEASE * 3).await, 0);
    sink.assert_no_more().await;
}

async fn concurrent_deliverers_send_a_mail_once(mut t: MailApp) {
    let mut sink = t.mail_server_up().await;
    let realm = t.realm("kenpo-e", None).await;
    let due = t.app.clock.now() + Duration::minutes(1);
    for n in 0..5 {
        let to = format!("member{n}@example.jp");
        t.enqueue_at(&realm, &to, Locale::Ja, Mail::ResetPassword { link: LINK, minutes: 5 }, due).await;
    }

    let (a, b, c) = tokio::join!(t.deliver_at(due), t.deliver_at(due), t.deliver_at(due));

    assert_eq!(a + b + c, 5, "each mail sent by exactly one of them");
    let mut recipients = Vec::new();
    for _ in 0..5 {
        recipients.extend(sink.next().await.to);
    }
    recipients.sort();
    let expected: Vec<String> = (0..5).map(|n| format!("member{n}@example.jp")).collect();
    assert_eq!(recipients, expected);
    sink.assert_no_more().await;
}

async fn the_message_is_sealed_at_rest_bound_to_its_row_and_dropped_once_sent(mut t: MailApp) {
    let mut sink = t.mail_server_up().await;
    let realm = t.realm("kenpo-f", None).await;
    let due = t.app.clock.now() + Duration::minutes(1);
    t.enqueue_at(&realm, "a@example.jp", Locale::Ja, Mail::ResetPassword { link: LINK, minutes: 5 }, due)
        .await;
    t.enqueue_at(&realm, "b@example.jp", Locale::Ja, Mail::UsernameReminder { username: "kenpo-taro" }, due)
        .await;

    let pool = t.app.state.db.pool();
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT id, recipient, message FROM mail_outbox ORDER BY recipient")
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 2);
    for (_, _, message) in &rows {
        let message = message.as_deref().unwrap_or_default();
        assert!(message.starts_with("v1."), "sealed: {message}");
        for secret in ["k3y-0f-th1s-ma1l", "kenpo-taro", "Subject", "no-reply"] {
            assert!(!message.contains(secret), "{secret} readable at rest");
        }
    }
    // A sealed message copied into another row does not open there: that mail is given up,
    // not sent with the other one's content.
    let (reset_id, reminder_id) = (&rows[0].0, &rows[1].0);
    sqlx::query("UPDATE mail_outbox SET message = $1 WHERE id = $2")
        .bind(rows[0].2.as_deref())
        .bind(reminder_id)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(t.deliver_at(due).await, 1);

    let got = sink.next().await;
    assert_eq!(got.to, vec!["a@example.jp"]);
    sink.assert_no_more().await;
    let left: Vec<(String, Option<String>)> = sqlx::query_as("SELECT id, message FROM mail_outbox")
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(left.iter().all(|(_, message)| message.is_none()), "no message kept once sent or given up");
    let records = t.outbox(&realm).await;
    let reset = records.iter().find(|r| &r.id == reset_id);
    assert!(reset.is_some_and(|r| r.sent_at == Some(due) && r.recipient == "a@example.jp"), "{records:?}");
    let reminder = records.iter().find(|r| &r.id == reminder_id);
    assert!(
        reminder
            .is_some_and(|r| r.sent_at.is_none() && r.next_attempt_at.is_none() && r.last_error.is_some()),
        "given up at once, with its error kept: {records:?}"
    );
}
