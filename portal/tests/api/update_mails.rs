//! Update mails through the import API and the `.eml` outbox (no SMTP URL configured): a
//! checkup or claims file with something new queues one mail per opted-in login, a dry run
//! queues none, and the background deliverer writes each mail into `<data_dir>/outbox`.

use crate::admin::portal_command;
use crate::helpers::{TestApp, on_every_backend};
use kenpo_portal::domain::{KenpoId, NoticeReason};
use kenpo_portal::flows::{inbox, qualification, update_mails};
use kenpo_portal::import::{ImportKind, ImportOptions, import_file, new_api_token};
use kenpo_portal::mail::job::{announce_now, deliver_now, spawn_update_mail_delivery};
use kenpo_portal::store::{KenpoStore, MemberStore, PreferenceStore, UpdateMailStore};

on_every_backend!(
    a_checkup_posted_to_the_api_queues_a_mail_a_dry_run_none_and_the_outbox_folder_gets_it,
    a_new_qualification_notice_is_mailed_once_to_the_login_who_may_download_it,
    a_mail_still_waiting_when_the_member_opts_out_is_withdrawn,
    a_pending_mail_outlives_the_trails_retention,
);

const SUBJECT: &str = "7f0c1c2e-2a4b-4c1e-9d55-0b6f1e2d3c4a";
const MEMBERS: &str = "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n\
1001,2345,00,本人,健保 太郎,,19790822,1,,,7f0c1c2e-2a4b-4c1e-9d55-0b6f1e2d3c4a\n\
1001,2345,01,家族,健保 花子,,19810315,2,,,\n";
const CLAIMS: &str = "claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced\n\
R2,1001,2345,01,2025-04,柔整,中央整骨院,3,4500,3150,0,1350,,,,\n";

/// The hand-written 2025 exam, for 健保 太郎 (card 1001-2345, born 1979-08-22).
fn checkup_xml() -> String {
    include_str!("../fixtures/checkup/h0000000001202504150001.xml")
        .replace("extension=\"ケンポ１\"", "extension=\"1001\"")
        .replace("extension=\"4321\"", "extension=\"2345\"")
        .replace("19721020", "19790822")
}

async fn import(app: &TestApp, kenpo: &KenpoId, kind: ImportKind, csv: &str, dry_run: bool) -> u64 {
    let options = ImportOptions { file_name: format!("{kind}.csv"), dry_run, ..ImportOptions::default() };
    let report =
        import_file(&app.state.db, kenpo, kind, csv.as_bytes(), &options, time::OffsetDateTime::now_utc())
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e} {e:?}"));
    report.update_mails
}

async fn a_checkup_posted_to_the_api_queues_a_mail_a_dry_run_none_and_the_outbox_folder_gets_it(
    app: TestApp,
) {
    // Arrange: the insured logged in once (in English) and asked for checkup and 医療費 mails.
    let db = &app.state.db;
    let kenpo = db.kenpo_by_issuer(&app.state.config.idp_issuer).await.ok().flatten();
    let kenpo = kenpo.and_then(|k| KenpoId::parse(&k.id)).unwrap_or_else(|| panic!("the configured kenpo"));
    import(&app, &kenpo, ImportKind::Members, MEMBERS, false).await;
    let insured = db.member_by_subject(kenpo.as_str(), SUBJECT).await.ok().flatten();
    let insured = insured.unwrap_or_else(|| panic!("the insured"));
    db.record_login(&insured.id, Some("taro@example.jp"), "en", 0).await.unwrap_or_else(|e| panic!("{e}"));
    db.save_preferences(&insured.id, &["checkups", "medical_expenses"], false, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token =
        new_api_token(db, &kenpo, time::OffsetDateTime::now_utc()).await.unwrap_or_else(|e| panic!("{e}"));

    // Act: a dry run of the dependant's claim, then the checkup through the API, then the claim.
    assert_eq!(import(&app, &kenpo, ImportKind::Claims, CLAIMS, true).await, 0, "a dry run queues nothing");
    let response = app
        .http
        .post(app.url("/api/import/checkups?file_name=h0001.xml"))
        .header("content-type", "application/xml")
        .bearer_auth(&token)
        .body(checkup_xml())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST: {e}"));
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(body["update_mails"].as_u64(), Some(1), "{body}");
    assert_eq!(import(&app, &kenpo, ImportKind::Claims, CLAIMS, false).await, 1, "the dependant's claim");

    // Assert: two mails, one per category, written as .eml files in English.
    let queued = db.kenpo_update_mails(kenpo.as_str(), 10).await.unwrap_or_else(|e| panic!("{e}"));
    let mut categories: Vec<_> = queued.iter().map(|m| m.category.as_str()).collect();
    categories.sort_unstable();
    assert_eq!(categories, ["checkups", "medical_expenses"]);
    // The background job of `serve` (woken by the API's import) writes them out.
    let job = spawn_update_mail_delivery(app.state.clone());
    let outbox = app.state.config.data_dir.join("outbox");
    let read_outbox = || -> Vec<String> {
        std::fs::read_dir(&outbox)
            .map(|dir| dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
            .unwrap_or_default()
    };
    let mut mails = read_outbox();
    for _ in 0..100 {
        if mails.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        mails = read_outbox();
    }
    job.abort();
    mails.sort();
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        let parsed = shared_runtime::smtp_sink::ParsedMail::parse(mail);
        assert_eq!(parsed.header("To"), Some("taro@example.jp"), "{mail}");
        assert!(parsed.header("From").is_some_and(|f| f.ends_with("<info@localhost>")), "{mail}");
        let subject = parsed.header("Subject").unwrap_or_default();
        assert!(
            subject.contains("New health checkup results") || subject.contains("New medical expense"),
            "{subject}"
        );
        let text = parsed.part("text/plain").unwrap_or_default();
        assert!(text.contains("Settings and notifications"), "in the login's language: {text}");
        for secret in ["中央整骨院", "4500", "健保", "花子", "2025-04"] {
            assert!(!text.contains(secret), "the mail shows {secret}: {text}");
        }
    }
    assert_eq!(deliver_now(&app.state).await.unwrap_or_else(|e| panic!("{e}")), 0, "sent once");
}

async fn a_new_qualification_notice_is_mailed_once_to_the_login_who_may_download_it(app: TestApp) {
    // Arrange: the insured logged in and asked for 資格情報のお知らせ mails; the kenpo issues
    // one to the dependant, whose documents the insured handles.
    let db = &app.state.db;
    let kenpo = db.kenpo_by_issuer(&app.state.config.idp_issuer).await.ok().flatten();
    let kenpo = kenpo.and_then(|k| KenpoId::parse(&k.id)).unwrap_or_else(|| panic!("the configured kenpo"));
    import(&app, &kenpo, ImportKind::Members, MEMBERS, false).await;
    let insured = db.member_by_subject(kenpo.as_str(), SUBJECT).await.ok().flatten();
    let insured = insured.unwrap_or_else(|| panic!("the insured"));
    db.record_login(&insured.id, Some("taro@example.jp"), "ja", 0).await.unwrap_or_else(|e| panic!("{e}"));
    db.save_preferences(&insured.id, &["qualification_notice"], false, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = time::OffsetDateTime::now_utc();
    let card = qualification::CardNumber { symbol: "1001", number: "2345", branch: "01" };
    qualification::record_notice(db, kenpo.as_str(), card, now.date(), NoticeReason::Enrolment, None, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Act and assert: one mail, queued once however many rounds run, sent once.
    assert_eq!(announce_now(&app.state).await, 1);
    assert_eq!(announce_now(&app.state).await, 0, "announced once");
    assert_eq!(deliver_now(&app.state).await.unwrap_or_else(|e| panic!("{e}")), 1);
    let outbox = app.state.config.data_dir.join("outbox");
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap_or_else(|e| panic!("{}: {e}", outbox.display()))
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .collect();
    assert_eq!(mails.len(), 1);
    let parsed = shared_runtime::smtp_sink::ParsedMail::parse(&mails[0]);
    assert_eq!(
        parsed.header("Subject"),
        Some("【テスト健康保険組合加入者ページ】新しい資格情報のお知らせを公開しました")
    );
    let text = parsed.part("text/plain").unwrap_or_default();
    assert!(!text.contains("花子") && !text.contains("2345"), "nothing of the notice itself: {text}");
    let settings = kenpo_portal::tenant::Settings::default();
    let unread = inbox::unread(db, &insured.id, &settings, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unread, 1, "and the portal's MYメール message");
}

/// The insured logged in and asked for 医療費 mails, and a claims file queued one for them.
async fn one_mail_queued(app: &TestApp) -> (KenpoId, kenpo_portal::store::Member) {
    let db = &app.state.db;
    let kenpo = db.kenpo_by_issuer(&app.state.config.idp_issuer).await.ok().flatten();
    let kenpo = kenpo.and_then(|k| KenpoId::parse(&k.id)).unwrap_or_else(|| panic!("the configured kenpo"));
    import(app, &kenpo, ImportKind::Members, MEMBERS, false).await;
    let insured = db.member_by_subject(kenpo.as_str(), SUBJECT).await.ok().flatten();
    let insured = insured.unwrap_or_else(|| panic!("the insured"));
    db.record_login(&insured.id, Some("taro@example.jp"), "ja", 0).await.unwrap_or_else(|e| panic!("{e}"));
    db.save_preferences(&insured.id, &["medical_expenses"], false, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(import(app, &kenpo, ImportKind::Claims, CLAIMS, false).await, 1);
    (kenpo, insured)
}

async fn a_mail_still_waiting_when_the_member_opts_out_is_withdrawn(app: TestApp) {
    let db = &app.state.db;
    let (kenpo, insured) = one_mail_queued(&app).await;

    db.save_preferences(&insured.id, &[], false, 0).await.unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(deliver_now(&app.state).await.unwrap_or_else(|e| panic!("{e}")), 0);
    let rows = db.kenpo_update_mails(kenpo.as_str(), 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].last_error.as_deref(), Some(kenpo_portal::flows::update_mails::WITHDRAWN));
    assert!(rows[0].sent_at.is_none() && rows[0].next_attempt_at.is_none(), "never tried again");
    assert!(!app.state.config.data_dir.join("outbox").exists(), "nothing was written");

    // The kenpo's operator sees how it went, and which member it was for; never what the news was.
    let issuer = app.state.config.idp_issuer.clone();
    let (code, out, err) = portal_command(&app, &["update-mails", "--kenpo", &issuer], "");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "a heading and the mail: {out}");
    assert!(lines[1].starts_with("withdrawn\tmedical_expenses\ttaro@example.jp\t"), "{out}");
    assert!(lines[1].contains(insured.id.as_str()), "{out}");
    let (code, json, err) = portal_command(&app, &["update-mails", "--kenpo", &issuer, "--json"], "");
    assert_eq!(code, 0, "{err}");
    let trail: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(trail[0]["state"], "withdrawn", "{trail}");
    assert!(!json.contains("中央整骨院") && !json.contains("4500"), "{json}");
    let (code, _, err) =
        portal_command(&app, &["update-mails", "--kenpo", "https://nowhere.example/realms/x"], "");
    assert_eq!(code, 2, "an unknown kenpo is a usage error: {err}");

    // The trail is kept as long as MYメール messages (24 months by default), then deleted.
    let kenpos = db.kenpos().await.unwrap_or_else(|e| panic!("{e}"));
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(update_mails::purge(db, &kenpos, now).await.unwrap_or_else(|e| panic!("{e}")), 0, "kept");
    let later = now + time::Duration::days(25 * 31);
    assert_eq!(update_mails::purge(db, &kenpos, later).await.unwrap_or_else(|e| panic!("{e}")), 1);
    assert!(db.kenpo_update_mails(kenpo.as_str(), 10).await.unwrap_or_else(|e| panic!("{e}")).is_empty());
}

async fn a_pending_mail_outlives_the_trails_retention(app: TestApp) {
    // A mail still waiting for its next attempt is not the trail yet: the purge leaves it.
    let db = &app.state.db;
    let (kenpo, _) = one_mail_queued(&app).await;
    let kenpos = db.kenpos().await.unwrap_or_else(|e| panic!("{e}"));
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(25 * 31);
    assert_eq!(update_mails::purge(db, &kenpos, later).await.unwrap_or_else(|e| panic!("{e}")), 0);
    assert_eq!(db.kenpo_update_mails(kenpo.as_str(), 10).await.map(|m| m.len()).ok(), Some(1));
}
