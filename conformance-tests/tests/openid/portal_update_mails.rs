//! Update mails (issue 8 items 6 and 8): an import of new 医療費 data mails, through the real SMTP
//! listener, exactly the household's login who opted in and has logged in — once, however many
//! of the household's rows are new, saying nothing of them — and nobody else; the same file
//! again mails nobody; a mail server that is down gets the mail once it is back. MYメール gets the
//! portal's message for every login who would see the new data, once.

use crate::helpers::{Idp, SmtpSink, log_in_at, on_every_backend};
use kenpo_portal::domain::KenpoId;
use kenpo_portal::flows::inbox;
use kenpo_portal::import::{ImportKind, ImportOptions, ImportReport, import_file};
use kenpo_portal::mail::job::deliver_now;
use kenpo_portal::store::{Db, MemberStore, PreferenceStore, UpdateMailStore};
use reqwest::StatusCode;
use shared_runtime::smtp_sink::unused_port;

on_every_backend!(an_import_mails_only_the_opted_in_member_who_logged_in_once_and_retries_a_down_server);

/// IdP subjects of members the test never signs in as.
const NEVER: &str = "0b7d7a52-6a0e-4f43-9a8e-2f1c3c1d0a01";
const OPTED_OUT: &str = "0b7d7a52-6a0e-4f43-9a8e-2f1c3c1d0a02";

const MEMBERS: &str =
    "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";
const CLAIMS: &str = "claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced\n";

async fn import(db: &Db, kenpo: &str, kind: ImportKind, csv: &str) -> ImportReport {
    let kenpo = KenpoId::parse(kenpo).unwrap_or_else(|| panic!("kenpo id {kenpo}"));
    let options = ImportOptions { file_name: format!("{kind}.csv"), ..ImportOptions::default() };
    import_file(db, &kenpo, kind, csv.as_bytes(), &options, time::OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{kind}: {e} {e:?}"))
}

async fn member(db: &Db, kenpo: &str, subject: &str) -> kenpo_portal::store::Member {
    db.member_by_subject(kenpo, subject)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("member {subject}"))
}

async fn an_import_mails_only_the_opted_in_member_who_logged_in_once_and_retries_a_down_server(idp: Idp) {
    // Arrange: the portal's mail server is down (nothing listens on its port yet).
    let smtp_port = unused_port().await;
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let portal = idp
        .spawn_portal_with(&[
            ("KENPO_PORTAL_SMTP_URL", smtp_url.as_str()),
            ("KENPO_PORTAL_MAIL_DOMAIN", "conformance.example.jp"),
        ])
        .await;
    let db = &portal.state.db;
    let kenpo = portal.state.kenpo_id.clone();
    // Household 10-1001: the suite's member and a dependant; 20-2002 never logged in but opted
    // in; 30-3003 logged in but chose no mails.
    let sub = idp.member.sub.clone();
    import(
        db,
        &kenpo,
        ImportKind::Members,
        &format!(
            "{MEMBERS}10,1001,00,本人,健保 太郎,,19790822,1,,,{sub}\n10,1001,01,家族,健保 花子,,19810315,2,,,\n\
             20,2002,00,本人,未登 次郎,,19800101,1,,,{NEVER}\n\
             30,3003,00,本人,不要 三郎,,19800101,1,,,{OPTED_OUT}\n"
        ),
    )
    .await;
    let never = member(db, &kenpo, NEVER).await;
    db.save_preferences(&never.id, &["medical_expenses"], false, 0).await.unwrap_or_else(|e| panic!("{e}"));
    let opted_out = member(db, &kenpo, OPTED_OUT).await;
    db.record_login(&opted_out.id, Some("saburo@example.jp"), "ja", 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The suite's member logs in and asks for 医療費情報 mails on 通知設定.
    let browser = idp.browser();
    let page = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let saved = browser.submit(&page.form("form[action='/settings']"), &[("mail", "medical_expenses")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // Act: claims for all three households, two of them for the first household.
    let month = kenpo_portal::domain::Month::of(time::OffsetDateTime::now_utc().date()).minus(2);
    let claims = format!(
        "{CLAIMS}A1,10,1001,00,{month},外来,エー内科医院,1,12340,8638,0,3702,,,,\n\
         A2,10,1001,01,{month},外来,ビー小児科,2,56780,39746,0,17034,,,,\n\
         B1,20,2002,00,{month},外来,シー医院,1,10000,7000,0,3000,,,,\n\
         C1,30,3003,00,{month},外来,ディー医院,1,10000,7000,0,3000,,,,\n"
    );
    let report = import(db, &kenpo, ImportKind::Claims, &claims).await;
    assert_eq!((report.inserted, report.update_mails), (4, 1), "one mail queued: {report:?}");

    // The server is down: the attempt fails, is kept, and waits for its backoff.
    let sent = deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("delivery: {e}"));
    assert_eq!(sent, 0);
    let queued = db.kenpo_update_mails(&kenpo, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].recipient, idp.member.email);
    assert_eq!(queued[0].attempts, 1);
    assert!(queued[0].last_error.is_some() && queued[0].next_attempt_at.is_some(), "{queued:?}");
    assert!(queued[0].sent_at.is_none());

    // The server is back; the retry waits for its time, then goes out.
    let mut sink = SmtpSink::start_on(smtp_port).await;
    assert_eq!(
        deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("{e}")),
        0,
        "not before the backoff"
    );
    portal.state.clock.advance(11);
    assert_eq!(deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("{e}")), 1);

    // Assert: exactly one mail, to the member who opted in and logged in, with nothing medical.
    let mail = sink.next().await;
    assert_eq!(mail.from, "info@conformance.example.jp");
    assert_eq!(mail.to, vec![idp.member.email.clone()]);
    let parsed = mail.parsed();
    assert_eq!(
        parsed.header("Subject"),
        Some("【コンフォーマンス健康保険組合加入者ページ】新しい医療費情報を公開しました")
    );
    let text = parsed.part("text/plain").unwrap_or_else(|| panic!("a text part: {}", mail.data));
    assert!(text.contains(&format!("{}/?lang=ja", portal.url)), "the link to log in: {text}");
    assert!(text.contains(&format!("{}/settings", portal.url)), "how to stop them: {text}");
    assert!(text.contains("医療費情報"), "{text}");
    for secret in ["エー内科医院", "ビー小児科", "12340", "12,340", "56780", "健保", "花子"] {
        assert!(!text.contains(secret) && !mail.data.contains(secret), "the mail shows {secret}: {text}");
    }
    assert!(!text.contains(&month.to_string()), "no month of care: {text}");
    sink.assert_no_more().await;
    let sent = db.kenpo_update_mails(&kenpo, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        sent[0].sent_at.is_some() && sent[0].next_attempt_at.is_none() && sent[0].attempts == 2,
        "{sent:?}"
    );

    // MYメール holds the portal's message for every household login who would see the new data,
    // mailed or not (a member who has not logged in yet reads it when they do).
    let settings = kenpo_portal::tenant::Settings::default();
    let now = time::OffsetDateTime::now_utc();
    let suite = member(db, &kenpo, &idp.member.sub).await;
    for (who, id) in
        [("the suite's member", &suite.id), ("never logged in", &never.id), ("opted out", &opted_out.id)]
    {
        let unread = inbox::unread(db, id, &settings, now).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(unread, 1, "{who}");
    }

    // The same file again publishes nothing new: no mail.
    let again = import(db, &kenpo, ImportKind::Claims, &claims).await;
    assert_eq!((again.inserted, again.updated, again.update_mails), (0, 0, 0), "{again:?}");
    portal.state.clock.advance(3600);
    assert_eq!(deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("{e}")), 0);
    sink.assert_no_more().await;
    assert_eq!(db.kenpo_update_mails(&kenpo, 10).await.map(|m| m.len()).ok(), Some(1));
    let unread = inbox::unread(db, &suite.id, &settings, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unread, 1, "no second MYメール message either");
}
