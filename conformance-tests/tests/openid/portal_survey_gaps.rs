//! 被扶養者資格確認 (spec §5), the edges: a sheet never handed in is decided 削除 through the API
//! once its deadline has passed (and not before), and the member sees it decided; an upload over
//! the limit is refused with a clear message and leaves nothing behind; nothing changes on a
//! sheet under review, in either language; the kenpo system's reads of a sheet and a document
//! are in the read audit under its client_id; and the menu of every page leads to the survey
//! while a sheet awaits the member.

use crate::helpers::{Idp, Portal, log_in_at, on_every_backend};
use crate::portal_survey::{Api, PNG, after, file_count, posting_to, seed, status_of};
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::flows::survey::{self, OpenSurvey, Scope};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row;
use time::{Date, Duration, OffsetDateTime};

on_every_backend!(
    a_sheet_never_handed_in_is_removed_only_after_its_deadline,
    an_oversized_upload_leaves_nothing_behind_and_a_closed_sheet_says_why,
);

/// Opens a survey over the seeded households' adult dependants with this base date and deadline;
/// returns its id.
async fn open_survey(portal: &Portal, title: &str, base_date: Date, deadline: Date) -> String {
    let spec = OpenSurvey {
        title: title.to_owned(),
        base_date,
        deadline,
        scope: Scope { min_age: Some(survey::DEFAULT_MIN_AGE), members: Vec::new() },
    };
    let (opened, _) =
        survey::open(&portal.state.db, &portal.state.kenpo_id, spec, "kenpo-test", OffsetDateTime::now_utc())
            .await
            .unwrap_or_else(|e| panic!("opening the survey: {e}"));
    opened.id
}

async fn sheet_in(portal: &Portal, survey_id: &str, member: &str) -> String {
    sqlx::query("SELECT id FROM survey_sheets WHERE survey_id = $1 AND member_id = $2")
        .bind(survey_id)
        .bind(member)
        .fetch_one(portal.state.db.pool())
        .await
        .map(|r| r.get::<String, _>("id"))
        .unwrap_or_else(|e| panic!("the sheet: {e}"))
}

const MENU_LINK: &str = r#"<li><a href="/survey?lang=ja">"#;

async fn a_sheet_never_handed_in_is_removed_only_after_its_deadline(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let seeded = seed(&portal, &idp, false).await;
    let today = portal.state.clock.today_in_japan();
    let lapsed_survey =
        open_survey(&portal, "2026年度 確認", today - Duration::days(60), today - Duration::days(1)).await;
    let open_today = open_survey(&portal, "追加確認", today - Duration::days(10), today).await;
    let lapsed = sheet_in(&portal, &lapsed_survey, &seeded.dependant).await;
    let due_today = sheet_in(&portal, &open_today, &seeded.dependant).await;
    let api = Api::new(&idp, &portal, &[ApiRole::ManageSurveys]).await;
    let decide = |sheet: &str| format!("/api/kenpo/sheets/{sheet}/decision");
    let removed = json!({"outcome": "removed"});

    // The deadline is today: the member may still answer, so no 削除 yet, and the error says why.
    let (status, early) = api.call(Method::POST, &decide(&due_today), Some(&removed)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{early}");
    assert_eq!(early["error"], "invalid_transition", "{early}");
    let message = early["message_ja"].as_str().unwrap_or_default();
    assert!(message.contains("提出期限") && message.contains(&today.to_string()), "{early}");
    assert_eq!(status_of(&portal, &due_today).await, "unanswered");
    // 認定継続 needs an answer, deadline or not.
    let (status, refused) =
        api.call(Method::POST, &decide(&lapsed), Some(&json!({"outcome": "continued"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(status_of(&portal, &lapsed).await, "unanswered");

    // The member sees the menu link while sheets await them, on any page.
    let browser = idp.browser();
    let settings = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/settings").await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    assert!(settings.body.contains(MENU_LINK), "{}", settings.body);

    // The day after the deadline without a reply: 削除.
    let (status, decided) = api.call(Method::POST, &decide(&lapsed), Some(&removed)).await;
    assert_eq!((status, &decided["status"]), (StatusCode::OK, &json!("removed")), "{decided}");
    assert!(decided["decided_at"].is_i64() && decided["submitted_at"].is_null(), "{decided}");
    let (status, _) = api.call(Method::POST, &decide(&lapsed), Some(&removed)).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");

    // The member's page shows it decided, and nothing on it can be changed any more.
    let page = browser.get(&portal.at(&format!("/survey/{lapsed}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("削除") && page.body.contains("提出期限までにご回答がなかった"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("survey-form") && !page.body.contains("upload-form"), "{}", page.body);
    let en = browser.get(&portal.at(&format!("/survey/{lapsed}?lang=en"))).await;
    assert!(en.body.contains("No answer came by the deadline"), "{}", en.body);
    let with_token = settings.form("form[action='/settings']");
    let form = posting_to(&with_token, &portal.at(&format!("/survey/{lapsed}")));
    let late =
        after(&browser, browser.submit(&form, &[("relationship", "child"), ("action", "save")]).await).await;
    assert!(late.body.contains("健康保険組合で処理が進んだため"), "{}", late.body);
    assert_eq!(status_of(&portal, &lapsed).await, "removed");
    let upload = posting_to(&with_token, &portal.at(&format!("/survey/{lapsed}/documents")));
    let refused = browser.submit_file(&upload, &[("kind", "other")], "file", "x.png", PNG).await;
    assert!(after(&browser, refused).await.body.contains("書類を変更できません"));
    assert_eq!(file_count(&portal, &lapsed).await, 0);

    // The sheet due today still awaits the member: the menu keeps the link until it is handed in
    // or decided.
    assert!(browser.get(&portal.at("/settings")).await.body.contains(MENU_LINK));
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/kenpo/sheets/{due_today}/send-back"),
            Some(&json!({"reason": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "an unanswered sheet is not sent back");
}

/// Files under the portal's file store, wherever they are.
fn stored_files(portal: &Portal) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum()
        })
    }
    count(&portal.state.config.data_dir.join("files"))
}

async fn an_oversized_upload_leaves_nothing_behind_and_a_closed_sheet_says_why(idp: Idp) {
    // 1 MB: the page says "1MB以下", and a test file over it stays small.
    const LIMIT: usize = 1024 * 1024;
    let portal = idp.spawn_portal_with(&[("KENPO_PORTAL_UPLOAD_MAX_BYTES", "1048576")]).await;
    let seeded = seed(&portal, &idp, false).await;
    let browser = idp.browser();
    let settings = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/settings").await;
    assert!(!settings.body.contains(MENU_LINK), "no survey yet: {}", settings.body);
    let today = portal.state.clock.today_in_japan();
    let survey_id = open_survey(&portal, "2026年度 確認", today, today + Duration::days(30)).await;
    let sheet = sheet_in(&portal, &survey_id, &seeded.dependant).await;
    let medical = browser.get(&portal.at("/medical-expenses")).await;
    assert!(medical.body.contains(MENU_LINK), "{}", medical.body);

    let page = browser.get(&portal.at(&format!("/survey/{sheet}"))).await;
    assert!(page.body.contains("1MB"), "the page names the limit");
    let form = page.form("form.upload-form");
    // Just over the limit, and over it by most of the form's allowance for its framing: both are
    // caught while the file streams in.
    for size in [LIMIT + 1, LIMIT + 60 * 1024] {
        let mut big = PNG.to_vec();
        big.resize(size, 0);
        let posted = browser.submit_file(&form, &[("kind", "other")], "file", "big.png", &big).await;
        let shown = after(&browser, posted).await;
        assert!(
            shown.body.contains("ファイルが大きすぎます。1MB以下のファイルを添付してください"),
            "{size}: {}",
            shown.body
        );
        assert_eq!(file_count(&portal, &sheet).await, 0, "{size}");
        assert_eq!(status_of(&portal, &sheet).await, "unanswered", "{size}: the sheet is unchanged");
        assert_eq!(stored_files(&portal), 0, "{size}: no bytes kept");
    }
    let mut big = PNG.to_vec();
    big.resize(LIMIT + 1, 0);
    let english = posting_to(&form, &portal.at(&format!("/survey/{sheet}/documents?lang=en")));
    let shown =
        after(&browser, browser.submit_file(&english, &[("kind", "other")], "file", "big.png", &big).await)
            .await;
    assert!(
        shown.body.contains("The file is too large. Please attach a file of 1 MB or less."),
        "{}",
        shown.body
    );

    // A document of the right size lands; the kenpo's system reads the sheet and downloads it,
    // and each read is in the audit under its client_id.
    let one =
        after(&browser, browser.submit_file(&form, &[("kind", "other")], "file", "ok.png", PNG).await).await;
    assert!(one.body.contains("書類を添付しました"), "{}", one.body);
    assert_eq!(stored_files(&portal), 1);
    let api = Api::new(&idp, &portal, &[ApiRole::ManageSurveys]).await;
    let (status, read) = api.call(Method::GET, &format!("/api/kenpo/sheets/{sheet}"), None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let document = read["documents"][0]["id"].as_str().unwrap_or_default().to_owned();
    let (status, bytes) = api.bytes(&format!("/api/kenpo/sheets/{sheet}/documents/{document}")).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, PNG));
    let reads = sqlx::query(
        "SELECT reader_kind, reader_id, subject_id, what, detail FROM health_data_reads \
         WHERE reader_kind = 'api_client' ORDER BY at, id",
    )
    .fetch_all(portal.state.db.pool())
    .await
    .unwrap_or_else(|e| panic!("reads: {e}"));
    let reads: Vec<(String, String, String, String)> = reads
        .iter()
        .map(|r| (r.get("reader_id"), r.get("subject_id"), r.get("what"), r.get("detail")))
        .collect();
    let expected = |what: &str, detail: &str| {
        ("kihan-system".to_owned(), seeded.dependant.clone(), what.to_owned(), detail.to_owned())
    };
    assert_eq!(reads, [expected("survey_sheet", &sheet), expected("survey_document", &document)]);

    // 審査中: an upload, a removal or a save no longer lands, and the member reads why (ja/en).
    let (status, _) = api.call(Method::POST, &format!("/api/kenpo/sheets/{sheet}/review"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "only a submitted sheet is reviewed");
    sqlx::query("UPDATE survey_sheets SET status = 'under_review' WHERE id = $1")
        .bind(&sheet)
        .execute(portal.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let late = browser.submit_file(&english, &[("kind", "other")], "file", "late.png", PNG).await;
    let late = after(&browser, late).await;
    assert!(
        late.body.contains("under review or decided, so its documents can no longer change"),
        "{}",
        late.body
    );
    let remove = posting_to(&form, &portal.at(&format!("/survey/{sheet}/documents/{document}/delete")));
    let removal = after(&browser, browser.submit(&remove, &[]).await).await;
    assert!(removal.body.contains("審査中または審査済みのため、書類を変更できません"), "{}", removal.body);
    let save = posting_to(&form, &portal.at(&format!("/survey/{sheet}?lang=en")));
    let saved =
        after(&browser, browser.submit(&save, &[("relationship", "child"), ("action", "save")]).await).await;
    assert!(saved.body.contains("moved this questionnaire on, so it was not saved"), "{}", saved.body);
    assert_eq!(file_count(&portal, &sheet).await, 1);
    assert_eq!(stored_files(&portal), 1, "nothing new stored, the kept document stays");
    assert_eq!(status_of(&portal, &sheet).await, "under_review");
    assert!(
        !browser.get(&portal.at("/settings")).await.body.contains(MENU_LINK),
        "nothing awaits the member"
    );
}
