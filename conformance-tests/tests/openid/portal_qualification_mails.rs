//! Update mails for 資格確認書 and 電子申請 (spec §2.11), through the real SMTP listener: the
//! kenpo decides the insured's applications through its API and issues a card; the insured, who
//! opted in, gets exactly one mail per decision and one per card, saying only that something
//! changed (no reason, no name); another member who did not opt in to those categories gets no
//! mail but the MYメール message. Further rounds send nothing again.

use crate::helpers::{Idp, Portal, SmtpSink, log_in_at, on_every_backend};
use kenpo_portal::domain::KenpoId;
use kenpo_portal::flows::inbox;
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::import::{ImportKind, ImportOptions, import_file};
use kenpo_portal::mail::job::{announce_now, deliver_now};
use kenpo_portal::store::{Member, MemberStore, PreferenceStore};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

on_every_backend!(each_decision_and_each_card_mails_the_opted_in_member_once_and_no_one_else);

const MEMBERS: &str =
    "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";
/// The IdP subject of a member who logged in but wants only 医療費 mails.
const OTHER: &str = "0b7d7a52-6a0e-4f43-9a8e-2f1c3c1d0a03";
const APPLICATIONS: &str = "/api/kenpo/qualification/applications";
const REJECTION: &str = "本人確認書類の写しが不鮮明です";

async fn call(idp: &Idp, portal: &Portal, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = idp
        .http
        .post(portal.at(path))
        .json(&body)
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn member(portal: &Portal, subject: &str) -> Member {
    let db = &portal.state.db;
    db.member_by_subject(&portal.state.kenpo_id, subject)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("member {subject}"))
}

/// The kenpo's open applications: (id, 枝番 and number of whom it is for).
async fn open_applications(idp: &Idp, portal: &Portal, token: &str) -> Vec<(String, String)> {
    let response = idp
        .http
        .get(portal.at(&format!("{APPLICATIONS}?status=applied")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["applications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let card = format!(
                "{}-{}",
                a["member"]["number"].as_str().unwrap_or(""),
                a["member"]["branch"].as_str().unwrap_or("")
            );
            (card, a["id"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn each_decision_and_each_card_mails_the_opted_in_member_once_and_no_one_else(idp: Idp) {
    // Arrange: the suite's member 健保 太郎 (10-1001-00) with dependant 健保 花子, and 他人 次郎
    // (10-2002-00), who logged in but wants only 医療費 mails.
    let mut sink = SmtpSink::start().await;
    let smtp_url = sink.url();
    let portal = idp
        .spawn_portal_with(&[
            ("KENPO_PORTAL_SMTP_URL", smtp_url.as_str()),
            ("KENPO_PORTAL_MAIL_DOMAIN", "conformance.example.jp"),
        ])
        .await;
    let db = &portal.state.db;
    let sub = &idp.member.sub;
    let csv = format!(
        "{MEMBERS}10,1001,00,本人,健保 太郎,,19790822,1,2015-04-01,,{sub}\n\
         10,1001,01,家族,健保 花子,,19810315,2,2016-06-01,,\n\
         10,2002,00,本人,他人 次郎,,19700101,1,2010-04-01,,{OTHER}\n"
    );
    let kenpo = KenpoId::parse(&portal.state.kenpo_id).unwrap_or_else(|| panic!("kenpo id"));
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(db, &kenpo, ImportKind::Members, csv.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("members: {e} {e:?}"));
    let other = member(&portal, OTHER).await;
    db.record_login(&other.id, Some("jiro@example.jp"), "ja", 0).await.unwrap_or_else(|e| panic!("{e}"));
    db.save_preferences(&other.id, &["medical_expenses"], false, 0).await.unwrap_or_else(|e| panic!("{e}"));
    let other_people = [&other];
    let input = kenpo_portal::flows::qualification::ApplicationInput {
        person: other.id.as_str(),
        reason: "lost",
        note: "",
    };
    kenpo_portal::flows::qualification::apply(db, &other, &other_people, input, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The suite's member asks for 資格確認書 and 電子申請 mails, then applies for a card for
    // himself and one for 花子.
    let browser = idp.browser();
    let page = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let saved = browser
        .submit(
            &page.form("form[action='/settings']"),
            &[("mail", "qualification_certificate"), ("mail", "applications")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let taro = member(&portal, sub).await;
    let family = db.household(&taro.household_id).await.unwrap_or_else(|e| panic!("{e}"));
    let hanako = family.iter().find(|m| m.id != taro.id).unwrap_or_else(|| panic!("hanako"));
    let page = browser.get(&portal.at("/qualification")).await;
    for (person, reason) in [(taro.id.as_str(), "damaged"), (hanako.id.as_str(), "lost")] {
        let form = page.form("form.qualification-form");
        let applied = browser.submit(&form, &[("person", person), ("reason", reason)]).await;
        assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    }

    // Act: the kenpo rejects 太郎's with a reason, accepts and then issues 花子's, and accepts
    // 次郎's.
    let system = idp.kenpo_system(&portal, "kihan-shikaku", &[ApiRole::ManageQualification]).await;
    let token = idp.system_token(&system).await;
    let open = open_applications(&idp, &portal, &token).await;
    let id_of = |card: &str| {
        open.iter()
            .find(|(c, _)| c == card)
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| panic!("{card}: {open:?}"))
    };
    let decision = |id: String| format!("{APPLICATIONS}/{id}/decision");
    let decisions = [
        (id_of("1001-00"), json!({"decision": "reject", "reason": REJECTION}), "rejected"),
        (id_of("1001-01"), json!({"decision": "accept"}), "accepted"),
        (
            id_of("1001-01"),
            json!({"decision": "issued", "issued_on": "2026-02-01", "valid_until": "2030-11-30"}),
            "issued",
        ),
        (id_of("2002-00"), json!({"decision": "accept"}), "accepted"),
    ];
    for (id, body, status) in decisions {
        let (code, answer) = call(&idp, &portal, &token, &decision(id), body).await;
        assert_eq!((code, answer["status"].as_str()), (StatusCode::OK, Some(status)), "{answer}");
    }
    let queued = announce_now(&portal.state).await;
    let sent = deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("{e}"));

    // Assert: 太郎 gets three 電子申請 mails (one per decision) and one 資格確認書 mail; 次郎 none.
    assert_eq!((queued, sent), (4, 4));
    let mut subjects = Vec::new();
    for _ in 0..4 {
        let mail = sink.next().await;
        assert_eq!(mail.to, vec![idp.member.email.clone()], "only the opted-in member");
        let parsed = mail.parsed();
        subjects.push(parsed.header("Subject").unwrap_or_default().to_owned());
        let text = parsed.part("text/plain").unwrap_or_else(|| panic!("a text part: {}", mail.data));
        for secret in [REJECTION, "不鮮明", "健保", "花子", "太郎", "2030-11-30"] {
            assert!(!text.contains(secret) && !mail.data.contains(secret), "the mail shows {secret}: {text}");
        }
    }
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "【コンフォーマンス健康保険組合加入者ページ】資格確認書の情報を更新しました",
            "【コンフォーマンス健康保険組合加入者ページ】電子申請の状況を更新しました",
            "【コンフォーマンス健康保険組合加入者ページ】電子申請の状況を更新しました",
            "【コンフォーマンス健康保険組合加入者ページ】電子申請の状況を更新しました",
        ]
    );
    sink.assert_no_more().await;

    // Nothing again, however many rounds run.
    portal.state.clock.advance(3600);
    assert_eq!(announce_now(&portal.state).await, 0);
    assert_eq!(deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("{e}")), 0);
    sink.assert_no_more().await;

    // MYメール: 太郎 has a message per decision and per card; 次郎, not mailed, has his one.
    let settings = kenpo_portal::tenant::Settings::default();
    let now = portal.state.clock.now();
    let unread = inbox::unread(db, &taro.id, &settings, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unread, 4);
    let unread = inbox::unread(db, &other.id, &settings, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unread, 1);
}
