//! 被扶養者資格確認 (spec §5) end to end: the kenpo opens a survey, the insured member signed in
//! through the IdP answers for the dependant, has an executable renamed `.pdf` refused, uploads
//! the documents and submits; the kenpo sends it back, the member replaces a document and
//! submits again, the kenpo reviews and decides through its API (IdP client_credentials tokens,
//! role manage-surveys). Another household's sheets and documents are
//! never reachable, and a dependant signed in with their own login cannot fill the sheet.

use crate::helpers::{Browser, Idp, LoginForm, Page, Portal, log_in_at, on_every_backend};
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::flows::survey::{self, OpenSurvey, Scope};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

on_every_backend!(
    a_dependants_survey_runs_from_opening_to_decision,
    a_dependant_signing_in_with_their_own_login_cannot_fill_the_sheet,
);

/// A tiny PNG, a PDF, and an ELF executable (what a renamed `.pdf` might hide).
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
const ELF: &[u8] = b"\x7FELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3E\0\x01\0\0\0\x78\0\x40\0\0\0\0\0";

pub(crate) struct Seeded {
    pub(crate) dependant: String,
    pub(crate) stranger_dependant: String,
}

/// Household 1001: 健保 太郎 (insured) + 健保 花子 (dependant, adult) + 健保 一郎 (a child, out of
/// scope by age). Household 2002: 他人 次郎 + 他人 三郎 (adult dependant). `login` says who of
/// household 1001 signs in as the suite's IdP member.
pub(crate) async fn seed(portal: &Portal, idp: &Idp, dependant_logs_in: bool) -> Seeded {
    let pool = portal.state.db.pool();
    let kenpo = portal.state.kenpo_id.clone();
    let id = || uuid::Uuid::new_v4().to_string();
    let (home, other) = (id(), id());
    for (household, number) in [(&home, "1001"), (&other, "2002")] {
        sqlx::query(
            "INSERT INTO households (id, kenpo_id, symbol, number, created_at) VALUES ($1, $2, '10', $3, 0)",
        )
        .bind(household)
        .bind(&kenpo)
        .bind(number)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("household: {e}"));
    }
    let (taro, hanako, ichiro, jiro, saburo) = (id(), id(), id(), id(), id());
    let sub = Some(idp.member.sub.clone());
    let (taro_sub, hanako_sub) = if dependant_logs_in { (None, sub) } else { (sub, None) };
    let members = [
        (&taro, &home, "00", "insured", "健保 太郎", "1975-05-05", taro_sub),
        (&hanako, &home, "01", "dependant", "健保 花子", "2004-04-01", hanako_sub),
        (&ichiro, &home, "02", "dependant", "健保 一郎", "2016-01-01", None),
        (&jiro, &other, "00", "insured", "他人 次郎", "1970-01-01", None),
        (&saburo, &other, "01", "dependant", "他人 三郎", "2000-01-01", None),
    ];
    for (member, household, branch, relation, name, birth, subject) in members {
        sqlx::query(
            "INSERT INTO members (id, kenpo_id, household_id, branch, relation, name, birth_date, sex, subject, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'female', $8, 0)",
        )
        .bind(member)
        .bind(&kenpo)
        .bind(household)
        .bind(branch)
        .bind(relation)
        .bind(name)
        .bind(birth)
        .bind(subject)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("member: {e}"));
    }
    Seeded { dependant: hanako, stranger_dependant: saburo }
}

/// The kenpo opens this year's survey: dependants 18 or older on the base date, deadline in 30 days.
async fn open_survey(portal: &Portal) -> usize {
    let today = portal.state.clock.today_in_japan();
    let spec = OpenSurvey {
        title: "2026年度 被扶養者資格確認".to_owned(),
        base_date: today,
        deadline: today + Duration::days(30),
        scope: Scope { min_age: Some(survey::DEFAULT_MIN_AGE), members: Vec::new() },
    };
    let (_, sheets) =
        survey::open(&portal.state.db, &portal.state.kenpo_id, spec, "kenpo-test", OffsetDateTime::now_utc())
            .await
            .unwrap_or_else(|e| panic!("opening the survey: {e}"));
    sheets
}

async fn sheet_of(portal: &Portal, member: &str) -> String {
    sqlx::query("SELECT id FROM survey_sheets WHERE member_id = $1")
        .bind(member)
        .fetch_one(portal.state.db.pool())
        .await
        .map(|r| r.get::<String, _>("id"))
        .unwrap_or_else(|e| panic!("sheet of {member}: {e}"))
}

pub(crate) async fn status_of(portal: &Portal, sheet: &str) -> String {
    sqlx::query("SELECT status FROM survey_sheets WHERE id = $1")
        .bind(sheet)
        .fetch_one(portal.state.db.pool())
        .await
        .map(|r| r.get::<String, _>("status"))
        .unwrap_or_else(|e| panic!("status: {e}"))
}

pub(crate) async fn file_count(portal: &Portal, sheet: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM survey_files WHERE sheet_id = $1")
        .bind(sheet)
        .fetch_one(portal.state.db.pool())
        .await
        .map(|r| r.get::<i64, _>("n"))
        .unwrap_or_else(|e| panic!("files: {e}"))
}

/// Follows the redirect a POST answers with (POST-redirect-GET) and returns the page.
pub(crate) async fn after(browser: &Browser, posted: Page) -> Page {
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    browser.follow(&posted).await
}

async fn upload(browser: &Browser, page: &Page, kind: &str, name: &str, content: &[u8]) -> Page {
    let form = page.form("form.upload-form");
    after(browser, browser.submit_file(&form, &[("kind", kind)], "file", name, content).await).await
}

const ANSWERS: [(&str, &str); 8] = [
    ("relationship", "child"),
    ("living", "together"),
    ("occupation", "part_time"),
    ("has_income", "yes"),
    ("income_kinds", "salary"),
    ("annual_income", "1,000,000"),
    ("other_insurance", "no"),
    ("planned_change", "none"),
];

async fn a_dependants_survey_runs_from_opening_to_decision(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let seeded = seed(&portal, &idp, false).await;
    let today = portal.state.clock.today_in_japan();
    let api = Api::new(&idp, &portal, &[ApiRole::ManageSurveys]).await;

    // The kenpo opens the survey through its API; a client without the role may not.
    let body = json!({
        "title": "2026年度 被扶養者資格確認",
        "base_date": today.to_string(),
        "deadline": (today + Duration::days(30)).to_string(),
    });
    let notices_only = Api::new_as(&idp, &portal, "notices-system", &[ApiRole::ManageNotices]).await;
    let (status, refused) = notices_only.call(Method::POST, "/api/kenpo/surveys", Some(&body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, bad) = api
        .call(
            Method::POST,
            "/api/kenpo/surveys",
            Some(&json!({"title": "x", "base_date": "6/1", "deadline": "2026-09-30"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad["message_ja"].as_str().is_some_and(|m| m.contains("YYYY-MM-DD")));
    let (status, opened) = api.call(Method::POST, "/api/kenpo/surveys", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    assert_eq!(opened["sheets"], 2, "花子 and 三郎; the child is too young: {opened}");
    assert_eq!(opened["survey"]["min_age"], 18);
    let survey_id = opened["survey"]["id"].as_str().unwrap_or_default().to_owned();
    let sheet = sheet_of(&portal, &seeded.dependant).await;
    let strangers = sheet_of(&portal, &seeded.stranger_dependant).await;
    let (_, unanswered) = api
        .call(Method::GET, &format!("/api/kenpo/surveys/{survey_id}/sheets?status=unanswered"), None)
        .await;
    assert_eq!(unanswered.as_array().map(Vec::len), Some(2), "{unanswered}");
    let kenpo = portal.state.kenpo_id.clone();
    let db = &portal.state.db;

    // Reminders: one per household still to answer, once a day.
    let due = survey::due_reminders(db, &kenpo, today, &[30]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(due.len(), 2, "{due:?}");
    survey::mark_reminded(db, &due, today).await.unwrap_or_else(|e| panic!("{e}"));
    let again = survey::due_reminders(db, &kenpo, today, &[30]).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(again.is_empty(), "reminded today already: {again:?}");

    let browser = idp.browser();
    let list = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/survey").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("健保 花子") && list.body.contains("未回答"), "{}", list.body);
    assert!(!list.body.contains("他人 三郎") && !list.body.contains("健保 一郎"));
    let top = browser.get(&portal.at("/")).await;
    assert!(top.body.contains("被扶養者資格確認のお願い"), "the top page asks for the sheet: {}", top.body);
    let page = browser.get(list.link(&format!("a[href^='/survey/{sheet}']")).as_str()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("130万円未満"), "the §5 limits as guidance");

    // A partial save keeps what was typed; 未回答 → 入力中.
    let form = page.form("form.survey-form");
    let saved =
        after(&browser, browser.submit(&form, &[("relationship", "child"), ("action", "save")]).await).await;
    assert!(saved.body.contains("一時保存しました"), "{}", saved.body);
    assert_eq!(status_of(&portal, &sheet).await, "in_progress");
    assert!(saved.body.contains(r#"value="child" checked"#), "the saved answer is shown again");

    // Submitting too early names each missing answer, keeps the input and submits nothing.
    let early = browser
        .submit(
            &saved.form("form.survey-form"),
            &[("relationship", "child"), ("annual_income", "12万"), ("action", "submit")],
        )
        .await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        early.body.contains("回答してください") && early.body.contains("金額は半角または全角の数字"),
        "{}",
        early.body
    );
    assert!(early.body.contains(r#"value="12万""#), "the input is kept");
    assert_eq!(status_of(&portal, &sheet).await, "in_progress");

    let mut answers = ANSWERS.to_vec();
    answers.push(("action", "save"));
    let filled = after(&browser, browser.submit(&early.form("form.survey-form"), &answers).await).await;
    assert!(filled.body.contains("源泉徴収票または給与明細"), "salary calls for a payslip");

    // An executable renamed .pdf is refused by its content, with a clear message.
    let refused = upload(&browser, &filled, "income_certificate", "kazei.pdf", ELF).await;
    assert!(refused.body.contains("ファイルの中身がこれらの形式ではありません"), "{}", refused.body);
    assert_eq!(file_count(&portal, &sheet).await, 0);

    let one = upload(&browser, &refused, "income_certificate", "課税証明書.png", PNG).await;
    assert!(one.body.contains("書類を添付しました") && one.body.contains("課税証明書.png"));
    let unsubmitted = browser
        .submit(&one.form("form.survey-form"), &[ANSWERS.as_slice(), &[("action", "submit")]].concat())
        .await;
    assert_eq!(unsubmitted.status, StatusCode::UNPROCESSABLE_ENTITY, "the payslip is missing");
    assert!(unsubmitted.body.contains("書類を添付してください"));
    let two = upload(&browser, &one, "salary_proof", "kyuyo.pdf", PDF).await;
    let submitted = browser
        .submit(&two.form("form.survey-form"), &[ANSWERS.as_slice(), &[("action", "submit")]].concat())
        .await;
    let submitted = after(&browser, submitted).await;
    assert!(submitted.body.contains("調査票を提出しました"), "{}", submitted.body);
    assert_eq!(status_of(&portal, &sheet).await, "submitted");
    assert!(submitted.body.contains("提出済みの回答です") && !submitted.body.contains("survey-form"));

    // After 提出 the answers are read-only, even to a hand-made form; documents still change.
    let csrf = submitted.form("form.upload-form");
    let tampered = browser
        .submit(
            &posting_to(&csrf, &portal.at(&format!("/survey/{sheet}"))),
            &[("relationship", "spouse"), ("action", "save")],
        )
        .await;
    assert!(after(&browser, tampered).await.body.contains("回答は変更できません"));
    let (_, stored) = api.call(Method::GET, &format!("/api/kenpo/sheets/{sheet}"), None).await;
    assert_eq!(stored["answers"]["relationship"], "child", "{stored}");
    assert_eq!(stored["amounts"]["annual_income_yen"], 1_000_000);
    assert_eq!(stored["status"], "submitted");

    // Our own document reads back; another household's sheet and its documents are not found.
    let file_link = submitted.link("a[href*='/documents/']");
    let download = browser.get(file_link.as_str()).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(
        download.content_type.starts_with("image/png")
            || download.content_type.starts_with("application/pdf")
    );
    for path in [
        format!("/survey/{strangers}"),
        format!("/survey/{strangers}{}", file_link.path().trim_start_matches(&format!("/survey/{sheet}"))),
        "/survey/not-a-uuid".to_owned(),
    ] {
        let page = browser.get(&portal.at(&path)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("他人 三郎"));
    }
    let into_theirs = browser
        .submit_file(
            &posting_to(&csrf, &portal.at(&format!("/survey/{strangers}/documents"))),
            &[("kind", "other")],
            "file",
            "x.png",
            PNG,
        )
        .await;
    assert_eq!(into_theirs.status, StatusCode::NOT_FOUND, "{}", into_theirs.body);
    assert_eq!(file_count(&portal, &strangers).await, 0);
    let save_theirs = browser
        .submit(
            &posting_to(&csrf, &portal.at(&format!("/survey/{strangers}"))),
            &[("relationship", "spouse"), ("action", "save")],
        )
        .await;
    assert_eq!(save_theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&portal, &strangers).await, "unanswered");

    // The kenpo sends it back: the member sees why, replaces the payslip and submits again.
    let reason = json!({"reason": "給与明細が読み取れません。撮り直してください。"});
    let (status, sent_back) =
        api.call(Method::POST, &format!("/api/kenpo/sheets/{sheet}/send-back"), Some(&reason)).await;
    assert_eq!((status, &sent_back["status"]), (StatusCode::OK, &json!("returned")), "{sent_back}");
    let returned = browser.get(&portal.at(&format!("/survey/{sheet}"))).await;
    assert!(returned.body.contains("給与明細が読み取れません") && returned.body.contains("差し戻し"));
    assert!(returned.body.contains("survey-form"), "editable again");
    let (_, listed) = api.call(Method::GET, &format!("/api/kenpo/sheets/{sheet}"), None).await;
    let documents = listed["documents"].as_array().cloned().unwrap_or_default();
    let payslip = documents.iter().find(|d| d["kind"] == "salary_proof").and_then(|d| d["id"].as_str());
    let payslip = payslip.unwrap_or_else(|| panic!("the payslip is stored: {listed}")).to_owned();
    let delete = returned.form(&format!("form[action='/survey/{sheet}/documents/{payslip}/delete']"));
    let removed = after(&browser, browser.submit(&delete, &[]).await).await;
    assert!(removed.body.contains("書類を削除しました"));
    let replaced = upload(&browser, &removed, "salary_proof", "kyuyo2.pdf", PDF).await;
    let resubmitted = browser
        .submit(&replaced.form("form.survey-form"), &[ANSWERS.as_slice(), &[("action", "submit")]].concat())
        .await;
    assert!(after(&browser, resubmitted).await.body.contains("調査票を提出しました"));
    assert_eq!(status_of(&portal, &sheet).await, "submitted");
    let (_, again) = api.call(Method::GET, &format!("/api/kenpo/sheets/{sheet}"), None).await;
    assert_eq!(again["return_reason"], Value::Null, "answered by the resubmission");
    let documents = again["documents"].as_array().cloned().unwrap_or_default();
    assert_eq!(documents.len(), 2, "{again}");
    assert_eq!(documents[1]["content_type"], "application/pdf");
    let (status, bytes) = api
        .bytes(&format!(
            "/api/kenpo/sheets/{sheet}/documents/{}",
            documents[1]["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(
        (status, bytes.as_slice()),
        (StatusCode::OK, PDF),
        "the kenpo downloads what the member uploaded"
    );
    let (status, _) = api
        .bytes(&format!(
            "/api/kenpo/sheets/{strangers}/documents/{}",
            documents[1]["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a document only under its own sheet");
    let (status, _) =
        api.call(Method::GET, &format!("/api/kenpo/sheets/{}", uuid::Uuid::new_v4()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, early) =
        api.call(Method::POST, &format!("/api/kenpo/sheets/{strangers}/review"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "an unanswered sheet cannot be reviewed: {early}");

    // 審査中: nothing changes on the member's side any more; then 認定継続.
    let (status, _) = api.call(Method::POST, &format!("/api/kenpo/sheets/{sheet}/review"), None).await;
    assert_eq!(status, StatusCode::OK);
    let reviewing = browser.get(&portal.at(&format!("/survey/{sheet}"))).await;
    assert!(reviewing.body.contains("審査中") && !reviewing.body.contains("upload-form"));
    let late = browser
        .submit_file(
            &posting_to(&csrf, &portal.at(&format!("/survey/{sheet}/documents"))),
            &[("kind", "other")],
            "file",
            "x.png",
            PNG,
        )
        .await;
    assert!(after(&browser, late).await.body.contains("書類を変更できません"));
    let decision = |outcome: &str| json!({ "outcome": outcome });
    let path = format!("/api/kenpo/sheets/{sheet}/decision");
    let (status, decided) = api.call(Method::POST, &path, Some(&decision("continued"))).await;
    assert_eq!((status, &decided["status"]), (StatusCode::OK, &json!("continued")), "{decided}");
    assert!(browser.get(&portal.at("/survey")).await.body.contains("認定継続"));
    let (status, _) = api.call(Method::POST, &path, Some(&decision("removed"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");
    let (_, decided) =
        api.call(Method::GET, &format!("/api/kenpo/surveys/{survey_id}/sheets?status=continued"), None).await;
    assert_eq!(decided.as_array().map(Vec::len), Some(1));

    let reads: i64 = sqlx::query("SELECT COUNT(*) AS n FROM health_data_reads WHERE what = 'survey_sheet'")
        .fetch_one(db.pool())
        .await
        .map(|r| r.get::<i64, _>("n"))
        .unwrap_or_else(|e| panic!("reads: {e}"));
    assert!(reads >= 1, "reading a sheet is recorded");
}

/// A form posting to `action` with the session's token taken from `page_form`: what a member
/// could craft by hand.
pub(crate) fn posting_to(page_form: &LoginForm, action: &str) -> LoginForm {
    let mut form = page_form.clone();
    form.action = url::Url::parse(action).unwrap_or_else(|e| panic!("{action}: {e}"));
    form
}

async fn a_dependant_signing_in_with_their_own_login_cannot_fill_the_sheet(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let seeded = seed(&portal, &idp, true).await;
    open_survey(&portal).await;
    let sheet = sheet_of(&portal, &seeded.dependant).await;
    let browser = idp.browser();
    let list = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/survey").await;
    assert!(list.body.contains("被保険者ご本人がログインして"), "{}", list.body);
    assert!(!list.body.contains(&sheet));
    let top = browser.get(&portal.at("/")).await;
    assert!(!top.body.contains("被扶養者資格確認のお願い"), "no banner for whom cannot answer");
    let page = browser.get(&portal.at(&format!("/survey/{sheet}"))).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "their own sheet is the insured's to answer");
    let logout = browser.get(&portal.at("/auth/logout")).await;
    let form =
        posting_to(&logout.form("form[action='/auth/logout']"), &portal.at(&format!("/survey/{sheet}")));
    let posted = browser.submit(&form, &[("relationship", "child"), ("action", "save")]).await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&portal, &sheet).await, "unanswered");
}

/// One of the kenpo's systems calling the survey API with its client_credentials token.
pub(crate) struct Api<'a> {
    idp: &'a Idp,
    portal: &'a Portal,
    token: String,
}

impl<'a> Api<'a> {
    pub(crate) async fn new(idp: &'a Idp, portal: &'a Portal, roles: &[ApiRole]) -> Self {
        Self::new_as(idp, portal, "kihan-system", roles).await
    }

    async fn new_as(idp: &'a Idp, portal: &'a Portal, client_id: &str, roles: &[ApiRole]) -> Self {
        let system = idp.kenpo_system(portal, client_id, roles).await;
        let token = idp.system_token(&system).await;
        Self { idp, portal, token }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.idp.http.request(method, self.portal.at(path)).bearer_auth(&self.token)
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn bytes(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let response = self.request(Method::GET, path).send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status();
        (status, response.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
    }
}

/// For the accessibility pass: a survey over the launcher's demo household, whose 健保 花子 is
/// an adult dependant; returns her sheet's id.
pub async fn open_demo_survey(portal: &Portal) -> String {
    assert!(open_survey(portal).await >= 1, "the demo household has an adult dependant");
    sqlx::query(
        "SELECT s.id FROM survey_sheets s JOIN members m ON m.id = s.member_id WHERE m.name = '健保 花子'",
    )
    .fetch_one(portal.state.db.pool())
    .await
    .map(|r| r.get::<String, _>("id"))
    .unwrap_or_else(|e| panic!("the demo sheet: {e}"))
}
