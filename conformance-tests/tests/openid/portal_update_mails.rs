//! Update mails (issue 8 items 6 and 8): an import of new 医療費 data mails, through the real SMTP
//! listener, exactly the household's login who opted in and has logged in — once, however many
//! of the household's rows are new, saying nothing of them — and nobody else; the same file
//! again mails nobody; a mail server that is down gets the mail once it is back. MYメール gets the
//! portal's message for every login who would see the new data, once.
//!
//! Survey reminders (issue 8 item 3): before a 被扶養者資格確認 deadline, the insured of each
//! household with sheets still to hand in gets one mail at each of the kenpo's reminder points,
//! opted in to mails or not, naming nobody; one still waiting once the deadline has passed is
//! withdrawn.

use crate::helpers::{Idp, SmtpSink, log_in_at, on_every_backend};
use kenpo_portal::domain::KenpoId;
use kenpo_portal::flows::update_mails::reminders::HANDED_IN;
use kenpo_portal::flows::{inbox, survey};
use kenpo_portal::import::{ImportKind, ImportOptions, ImportReport, import_file};
use kenpo_portal::mail::job::{announce_now, deliver_now};
use kenpo_portal::store::{Db, MemberStore, PreferenceStore, UpdateMailStore};
use reqwest::StatusCode;
use shared_runtime::smtp_sink::DownServer;

on_every_backend!(
    an_import_mails_only_the_opted_in_member_who_logged_in_once_and_retries_a_down_server,
    survey_reminders_reach_the_insured_who_must_act_once_at_each_point
);

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

/// The suite's portal, sending its mail to `smtp_url` from `info@conformance.example.jp`.
async fn mailing_portal(idp: &Idp, smtp_url: &str) -> crate::helpers::Portal {
    idp.spawn_portal_with(&[
        ("KENPO_PORTAL_SMTP_URL", smtp_url),
        ("KENPO_PORTAL_MAIL_DOMAIN", "conformance.example.jp"),
    ])
    .await
}

async fn member(db: &Db, kenpo: &str, subject: &str) -> kenpo_portal::store::Member {
    db.member_by_subject(kenpo, subject)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("member {subject}"))
}

async fn an_import_mails_only_the_opted_in_member_who_logged_in_once_and_retries_a_down_server(idp: Idp) {
    // Arrange: the portal's mail server is down (it hangs up on every connection).
    let down = DownServer::start().await;
    let portal = mailing_portal(&idp, &down.url()).await;
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
    let mut sink = down.back_up().await;
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

const DAY: i64 = 24 * 60 * 60;

async fn survey_reminders_reach_the_insured_who_must_act_once_at_each_point(idp: Idp) {
    // Arrange: three households with a grown dependant each. 10-1001 is the suite's member, who
    // logged in and opted in to no mail at all; 20-2002's insured never logged in; 30-3003's
    // insured logged in, in English.
    let mut sink = SmtpSink::start().await;
    let portal = mailing_portal(&idp, &sink.url()).await;
    let db = &portal.state.db;
    let kenpo = portal.state.kenpo_id.clone();
    let sub = idp.member.sub.clone();
    import(
        db,
        &kenpo,
        ImportKind::Members,
        &format!(
            "{MEMBERS}10,1001,00,本人,健保 太郎,,19790822,1,,,{sub}\n10,1001,01,家族,健保 花子,,19810315,2,,,\n\
             20,2002,00,本人,未登 次郎,,19800101,1,,,{NEVER}\n20,2002,01,家族,未登 春子,,19820101,2,,,\n\
             30,3003,00,本人,英語 三郎,,19800101,1,,,{OPTED_OUT}\n30,3003,01,家族,英語 秋子,,19820101,2,,,\n"
        ),
    )
    .await;
    let suite = member(db, &kenpo, &sub).await;
    db.record_login(&suite.id, Some(&idp.member.email), "ja", 0).await.unwrap_or_else(|e| panic!("{e}"));
    let english = member(db, &kenpo, OPTED_OUT).await;
    db.record_login(&english.id, Some("saburo@example.jp"), "en", 0).await.unwrap_or_else(|e| panic!("{e}"));
    let today = portal.state.clock.today_in_japan();
    let deadline = today + time::Duration::days(10);
    let spec = survey::OpenSurvey {
        title: "2026年度 被扶養者資格確認".to_owned(),
        base_date: today,
        deadline,
        scope: survey::Scope { min_age: Some(18), members: vec![] },
    };
    let (_, sheets) = survey::open(db, &kenpo, spec, "test", portal.state.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sheets, 3);

    // Ten days before the deadline nothing is due (the default points are 7 days and 1 day before).
    assert_eq!(announce_now(&portal.state).await, 0, "too early");

    // A week before: one mail to each insured who logged in; none to the one who never did.
    portal.state.clock.advance(3 * DAY);
    assert_eq!(announce_now(&portal.state).await, 2);
    assert_eq!(announce_now(&portal.state).await, 0, "once a point");
    assert_eq!(deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("{e}")), 2);
    let mut mails = vec![sink.next().await, sink.next().await];
    sink.assert_no_more().await;
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    let addresses: Vec<_> = mails.iter().map(|m| m.to.clone()).collect();
    let mut expected = vec![vec![idp.member.email.clone()], vec!["saburo@example.jp".to_owned()]];
    expected.sort();
    assert_eq!(addresses, expected);
    for mail in &mails {
        let parsed = mail.parsed();
        let subject = parsed.header("Subject").unwrap_or_default().to_owned();
        let text =
            parsed.part("text/plain").unwrap_or_else(|| panic!("a text part: {}", mail.data)).to_owned();
        let english = mail.to == vec!["saburo@example.jp".to_owned()];
        if english {
            assert!(subject.contains("annual check"), "{subject}");
            assert!(text.contains(&format!("{}/survey?lang=en", portal.url)), "{text}");
        } else {
            assert_eq!(
                subject,
                "【コンフォーマンス健康保険組合加入者ページ】被扶養者資格確認のご提出期限が近づいています"
            );
            assert!(text.contains(&format!("{}/survey?lang=ja", portal.url)), "{text}");
        }
        for name in ["花子", "秋子", "太郎", "三郎", "健保", "英語"] {
            assert!(!mail.data.contains(name), "the reminder names {name}: {text}");
        }
        assert!(!text.contains("/settings"), "not an opt-in mail: {text}");
    }

    // Nothing more until the day before.
    portal.state.clock.advance(5 * DAY);
    assert_eq!(announce_now(&portal.state).await, 0, "between the points");
    portal.state.clock.advance(DAY);
    assert_eq!(announce_now(&portal.state).await, 2, "the day before");

    // Those reminders wait (say the mail server was busy) until the deadline has passed: they
    // are withdrawn, not sent.
    portal.state.clock.advance(2 * DAY);
    assert_eq!(deliver_now(&portal.state).await.unwrap_or_else(|e| panic!("{e}")), 0);
    sink.assert_no_more().await;
    let trail = db.kenpo_update_mails(&kenpo, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(trail.len(), 4, "{trail:?}");
    let withdrawn: Vec<_> = trail.iter().filter(|m| m.last_error.as_deref() == Some(HANDED_IN)).collect();
    assert_eq!(withdrawn.len(), 2, "{trail:?}");
    assert!(withdrawn.iter().all(|m| m.sent_at.is_none() && m.next_attempt_at.is_none()));
    assert!(trail.iter().all(|m| m.category == "survey_reminder"));
}
