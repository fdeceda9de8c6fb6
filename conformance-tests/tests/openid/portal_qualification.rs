//! 資格情報のお知らせ・資格確認書 end to end (spec §6): the member sees their household's
//! documents only, downloads a notice whose text carries the card and the insurer, applies for a
//! 資格確認書 once (a second open application is refused with the reason), and the kenpo finds
//! the application to review. Another household's member id, in a URL or a form, is not found.

use crate::helpers::{Browser, Idp, Portal, log_in_at, on_every_backend};
use kenpo_portal::domain::{ApplicationStatus, KenpoId, NoticeReason};
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::flows::qualification::{self, CardNumber};
use kenpo_portal::import::{ImportKind, ImportOptions, import_file};
use kenpo_portal::store::{KenpoStore, QualificationStore};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use time::OffsetDateTime;
use time::macros::date;

on_every_backend!(
    a_member_handles_the_households_qualification_documents_and_no_one_elses,
    a_reissue_application_reaches_the_kenpo_and_a_second_open_one_is_refused,
    the_kenpo_reviews_applications_and_records_issues_through_its_api,
);

const MEMBERS: &str =
    "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";

/// Ids of the member's dependant and of another household's insured person.
struct Seeded {
    hanako: String,
    stranger: String,
}

/// The suite's member is 健保 太郎 (10-1001-00) with dependant 健保 花子; 他人 次郎 is another
/// household. Each has a notice; 太郎 has a 資格確認書. The kenpo's 保険者番号 is set.
async fn seed(portal: &Portal, idp: &Idp) -> Seeded {
    let db = &portal.state.db;
    let kenpo_id = portal.state.kenpo_id.clone();
    let kenpo = db.kenpo(&kenpo_id).await.ok().flatten().unwrap_or_else(|| panic!("the portal's kenpo"));
    let now = OffsetDateTime::now_utc();
    kenpo_portal::flows::admin::change_settings(db, &kenpo, r#"{"insurer_number":"06123456"}"#, now)
        .await
        .unwrap_or_else(|e| panic!("settings: {e}"));
    let sub = &idp.member.sub;
    let csv = format!(
        "{MEMBERS}10,1001,00,本人,健保 太郎,,19790822,1,2015-04-01,,{sub}\n\
         10,1001,01,家族,健保 花子,,19810315,2,2016-06-01,,\n\
         10,2002,00,本人,他人 次郎,,19700101,1,2010-04-01,,\n"
    );
    let id = KenpoId::parse(&kenpo_id).unwrap_or_else(|| panic!("kenpo id"));
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(db, &id, ImportKind::Members, csv.as_bytes(), &options, now)
        .await
        .unwrap_or_else(|e| panic!("members: {e} {e:?}"));
    let mut ids = Vec::new();
    for (number, branch) in [("1001", "00"), ("1001", "01"), ("2002", "00")] {
        let card = CardNumber { symbol: "10", number, branch };
        let notice = qualification::record_notice(
            db,
            &kenpo_id,
            card,
            date!(2025 - 12 - 02),
            NoticeReason::Enrolment,
            None,
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("notice {number}-{branch}: {e}"));
        ids.push(notice.member_id.to_string());
    }
    let taro = CardNumber { symbol: "10", number: "1001", branch: "00" };
    qualification::record_certificate(
        db,
        &kenpo_id,
        taro,
        date!(2025 - 12 - 02),
        date!(2030 - 11 - 30),
        None,
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("certificate: {e}"));
    Seeded { hanako: ids[1].clone(), stranger: ids[2].clone() }
}

async fn log_in(idp: &Idp, portal: &Portal, browser: &Browser, path: &str) -> crate::helpers::Page {
    log_in_at(browser, &portal.url, &idp.issuer, &idp.member, path).await
}

/// The text of every page of a PDF, whitespace removed.
fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).unwrap_or_else(|e| panic!("not a readable PDF: {e}"));
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages)
        .unwrap_or_else(|e| panic!("extracting the text: {e}"))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

async fn a_member_handles_the_households_qualification_documents_and_no_one_elses(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let seeded = seed(&portal, &idp).await;
    let browser = idp.browser();

    let page = log_in(&idp, &portal, &browser, "/qualification").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("健保 太郎") && page.body.contains("健保 花子"), "the household");
    assert!(!page.body.contains("他人 次郎"), "never another household");
    assert!(page.body.contains("交付済み") && page.body.contains("未交付"), "each card's status");
    assert!(page.body.contains("記号 10　番号 1001　枝番 01"), "the card numbers");
    let top = browser.get(&portal.at("/")).await;
    assert_eq!(
        top.attr("a.service-qualification", "href"),
        "/qualification?lang=ja",
        "an icon on the top page"
    );

    let pdf_url = portal.at(&format!("/qualification/notice/{}.pdf", seeded.hanako));
    let (status, content_type, bytes) = browser.download(&pdf_url).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type, "application/pdf");
    let text = pdf_text(&bytes);
    for expected in [
        "資格情報のお知らせ",
        "氏名健保花子",
        "記号・番号・枝番記号10番号1001枝番01",
        "保険者番号06123456",
        "被扶養者",
    ] {
        assert!(text.contains(expected), "missing {expected} in {text}");
    }

    for other in [seeded.stranger.as_str(), "not-a-uuid", "' OR 1=1 --"] {
        let (status, _, _) =
            browser.download(&portal.at(&format!("/qualification/notice/{other}.pdf"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}: not found, never someone else's notice");
    }

    let reads: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM health_data_reads WHERE what = 'qualification_notice_pdf' AND subject_id = $1",
    )
    .bind(&seeded.hanako)
    .fetch_one(portal.state.db.pool())
    .await
    .map(|r| r.get::<i64, _>("n"))
    .unwrap_or_else(|e| panic!("reads: {e}"));
    assert_eq!(reads, 1, "the download is recorded");

    // Ten minutes later the download asks the IdP for a fresh authentication.
    portal.state.clock.advance(11 * 60);
    let stale = browser.get(&pdf_url).await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    assert!(stale.redirect_target().as_str().contains("fresh=1"));
}

async fn a_reissue_application_reaches_the_kenpo_and_a_second_open_one_is_refused(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let seeded = seed(&portal, &idp).await;
    let browser = idp.browser();
    let page = log_in(&idp, &portal, &browser, "/qualification").await;
    let form = page.form("form.qualification-form");

    let applied = browser
        .submit(&form, &[("person", &seeded.hanako), ("reason", "lost"), ("note", "通勤中に紛失しました")])
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let shown = browser.follow(&applied).await;
    assert!(shown.body.contains("申請を受け付けました"), "{}", shown.body);
    assert!(shown.body.contains("申請中") && shown.body.contains("紛失"));

    let applications = portal
        .state
        .db
        .kenpo_applications(&portal.state.kenpo_id, Some(ApplicationStatus::Applied))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applications.len(), 1, "the kenpo sees the application");
    let (application, card) = &applications[0];
    assert_eq!((card.number.as_str(), card.branch.as_str(), card.name.as_str()), ("1001", "01", "健保 花子"));
    assert_eq!(application.note, "通勤中に紛失しました");

    let form = shown.form("form.qualification-form");
    let again = browser
        .submit(&form, &[("person", &seeded.hanako), ("reason", "damaged"), ("note", "もう一度")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("この方の資格確認書の申請はすでに受け付けています"), "{}", again.body);
    assert!(again.body.contains("もう一度</textarea>"), "what was typed is kept");

    let no_reason = browser.submit(&form, &[("person", &seeded.hanako), ("note", "理由なし")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.body.contains("申請理由を選択してください。"));
    assert!(no_reason.body.contains("理由なし</textarea>"));

    let stranger = browser.submit(&form, &[("person", &seeded.stranger), ("reason", "lost")]).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "another household's member in the form");
    let forged =
        browser.submit(&form, &[("csrf", "forged"), ("person", &seeded.hanako), ("reason", "lost")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "a form without the session's token");

    let open = portal.state.db.kenpo_applications(&portal.state.kenpo_id, None).await.map(|v| v.len()).ok();
    assert_eq!(open, Some(1), "nothing else was written");
}

/// A kenpo API call with `token`: the status and the JSON answer (`null` when there is none).
async fn call(
    idp: &Idp,
    portal: &Portal,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = match body {
        Some(body) => idp.http.post(portal.at(path)).json(&body),
        None => idp.http.get(portal.at(path)),
    };
    let response = request.bearer_auth(token).send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn the_kenpo_reviews_applications_and_records_issues_through_its_api(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let seeded = seed(&portal, &idp).await;
    let browser = idp.browser();
    let page = log_in(&idp, &portal, &browser, "/qualification").await;
    let form = page.form("form.qualification-form");
    let applied = browser.submit(&form, &[("person", &seeded.hanako), ("reason", "needs_helper")]).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);

    let system = idp.kenpo_system(&portal, "kihan-shikaku", &[ApiRole::ManageQualification]).await;
    let token = idp.system_token(&system).await;
    let notices_only = idp.kenpo_system(&portal, "kihan-oshirase", &[ApiRole::ManageNotices]).await;
    let other_token = idp.system_token(&notices_only).await;
    const LIST: &str = "/api/kenpo/qualification/applications";

    let (status, _) = call(&idp, &portal, &other_token, LIST, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the role is needed");
    let (status, body) = call(&idp, &portal, &token, &format!("{LIST}?status=bogus"), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    let (status, body) = call(&idp, &portal, &token, &format!("{LIST}?status=applied"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["applications"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["reason"], "needs_helper");
    assert_eq!(
        listed[0]["member"],
        json!({"symbol": "10", "number": "1001", "branch": "01", "name": "健保 花子"})
    );
    let id = listed[0]["id"].as_str().unwrap_or_default().to_owned();
    let decision = format!("{LIST}/{id}/decision");

    let too_long = json!({"decision": "issued", "issued_on": "2026-02-01", "valid_until": "2040-01-01"});
    let (status, body) = call(&idp, &portal, &token, &decision, Some(too_long)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_validity")),
        "{body}"
    );
    assert!(body["message_ja"].as_str().is_some_and(|m| m.contains("5年")));
    let (status, body) = call(&idp, &portal, &token, &decision, Some(json!({"decision": "accept"}))).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("accepted")), "{body}");
    let (status, body) = call(&idp, &portal, &token, &decision, Some(json!({"decision": "accept"}))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition")),
        "{body}"
    );
    let (status, body) = call(&idp, &portal, &token, &decision, Some(json!({"decision": "nope"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let issued = json!({"decision": "issued", "issued_on": "2026-02-01", "valid_until": "2030-11-30"});
    let (status, body) = call(&idp, &portal, &token, &decision, Some(issued)).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("issued")), "{body}");
    let certificate = body["certificate_id"].as_str().unwrap_or_default().to_owned();
    assert!(!certificate.is_empty(), "{body}");
    let (status, body) = call(
        &idp,
        &portal,
        &token,
        "/api/kenpo/qualification/applications/none/decision",
        Some(json!({"decision": "accept"})),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    let page = browser.get(&portal.at("/qualification")).await;
    assert!(
        page.body.contains("2030-11-30") && page.body.contains("要配慮者で介助者が必要"),
        "{}",
        page.body
    );

    // A notice the kenpo issued reaches the page, and the login that handles it is to be told.
    let notice = json!({"symbol": "10", "number": "1001", "branch": "01", "issued_on": "2026-02-10", "reason": "name_change"});
    let (status, body) = call(&idp, &portal, &token, "/api/kenpo/qualification/notices", Some(notice)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["member_id"].as_str(), Some(seeded.hanako.as_str()));
    let unknown = json!({"symbol": "10", "number": "9999", "branch": "00", "issued_on": "2026-02-10", "reason": "other"});
    let (status, _) = call(&idp, &portal, &token, "/api/kenpo/qualification/notices", Some(unknown)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let kenpo =
        portal.state.db.kenpo(&portal.state.kenpo_id).await.ok().flatten().unwrap_or_else(|| panic!("kenpo"));
    let news = qualification::new_issues(&portal.state.db, &kenpo, date!(2026 - 02 - 10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let for_hanako: Vec<_> = news.iter().filter(|a| a.member_id.as_str() == seeded.hanako).collect();
    assert!(!for_hanako.is_empty());
    assert!(for_hanako.iter().all(|a| a.recipients.iter().map(|m| m.name.as_str()).eq(["健保 太郎"])));
    let page = browser.get(&portal.at("/qualification")).await;
    assert!(page.body.contains("2026-02-10"), "the newest notice is the one offered");

    let returned = format!("/api/kenpo/qualification/certificates/{certificate}/return");
    let (status, _) =
        call(&idp, &portal, &token, &returned, Some(json!({"returned_on": "2026-03-01"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        call(&idp, &portal, &token, &returned, Some(json!({"returned_on": "2026-03-02"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "returned once");
}
