//! Mail leaves over SMTP when a server is configured, and into the outbox folder otherwise.

use crate::smtp::SmtpSink;
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
