//! Mail leaves over SMTP when a server is configured, and into the outbox folder otherwise.

use crate::helpers::{TestApp, on_every_backend};
use crate::smtp::{ParsedMail, SmtpSink};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::Email;
use kenpo_idp::flows::mail::{self, Mail};
use kenpo_idp::flows::realms;
use kenpo_idp::i18n::Locale;
use kenpo_idp::mail::Mailer;
use lettre::message::{Message, header::ContentType};
use secrecy::SecretString;
use std::time::Duration;

fn message() -> Message {
    Message::builder()
        .from("デモ健康保険組合 <no-reply@demo.example.jp>".parse().unwrap_or_else(|e| panic!("{e}")))
        .to("taro@demo.example.jp".parse().unwrap_or_else(|e| panic!("{e}")))
        .subject("メールアドレスの確認")
        .header(ContentType::TEXT_PLAIN)
        .body("https://idp.example.jp/verify?key=abc".to_owned())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn mail_reaches_a_real_smtp_listener() {
    let mut sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mailer =
        Mailer::new(Some(&SecretString::from(sink.url())), dir.path()).unwrap_or_else(|e| panic!("{e}"));
    mailer.send(message()).await.unwrap_or_else(|e| panic!("send: {e}"));
    let got = tokio::time::timeout(Duration::from_secs(10), sink.received.recv()).await.ok().flatten();
    let got = got.unwrap_or_else(|| panic!("the listener received nothing"));
    assert_eq!(got.from, "no-reply@demo.example.jp");
    assert_eq!(got.to, vec!["taro@demo.example.jp"]);
    // Non-ASCII subjects travel RFC 2047-encoded.
    assert!(got.data.contains("Subject: =?utf-8?b?"), "{}", got.data);
    assert!(got.data.contains("https://idp.example.jp/verify?key=abc"));
    assert!(!dir.path().join("outbox").exists(), "nothing falls back to the outbox");
}

#[tokio::test]
async fn without_smtp_mail_lands_in_the_outbox_folder() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mailer = Mailer::new(None, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    mailer.send(message()).await.unwrap_or_else(|e| panic!("send: {e}"));
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap_or_else(|e| panic!("outbox: {e}"))
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(files[0].path()).unwrap_or_default();
    assert!(
        eml.contains("To: taro@demo.example.jp") && eml.contains("https://idp.example.jp/verify?key=abc")
    );
}

#[tokio::test]
async fn an_unusable_smtp_url_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert!(Mailer::new(Some(&SecretString::from("ftp://nowhere".to_owned())), dir.path()).is_err());
}

on_every_backend!(without_smtp_queued_mail_is_written_to_the_outbox_folder);

/// The embedded mode: the deliverer writes queued mail as `.eml` files a developer can open.
async fn without_smtp_queued_mail_is_written_to_the_outbox_folder(app: TestApp) {
    let state = &app.state;
    let spec = realms::RealmSpec { name: "demo".to_owned(), display_name: "デモ".to_owned(), host: None };
    let realm = realms::create(&state.db, &state.master_key, spec, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("realm: {e}"));
    let to = Email::parse("taro@example.jp").unwrap_or_else(|e| panic!("{e}"));
    let link = "https://idp.example.jp/verify?key=abc";
    let verify = Mail::VerifyEmail { link, minutes: 30 };
    mail::enqueue(
        &state.db,
        &state.master_key,
        &realm,
        &state.config.mail_domain,
        &to,
        Locale::En,
        verify,
        app.clock.now(),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));

    state.mail_outbox.notify_one();

    let outbox = state.config.data_dir.join("outbox");
    let mut files = Vec::new();
    for _ in 0..100 {
        files = std::fs::read_dir(&outbox).map(|d| d.filter_map(Result::ok).collect()).unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(files.len(), 1, "one .eml in {}", outbox.display());
    let eml = ParsedMail::parse(&std::fs::read_to_string(files[0].path()).unwrap_or_default());
    assert_eq!(eml.header("From"), Some("デモ <no-reply@localhost>"), "the default mail domain");
    assert_eq!(eml.header("Subject"), Some("Confirm your email address"));
    assert!(eml.part("text/plain").is_some_and(|text| text.contains(link)));
    assert!(eml.part("text/html").is_some_and(|html| html.contains("Confirm email address</a>")));
}
