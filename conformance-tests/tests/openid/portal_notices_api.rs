//! The kenpo's side of お知らせ and MYメール: its system, holding `manage-notices`, publishes,
//! replaces and deletes a notice and sends MYメール through the kenpo API with an IdP token; the
//! member sees the result. Files are checked by content (an executable named `.pdf` is
//! refused), and every fault comes back in both languages.

use crate::helpers::{Idp, log_in_at, on_every_backend};
use base64::Engine as _;
use kenpo_portal::domain::KenpoId;
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::import::{ImportKind, ImportOptions, import_file};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

on_every_backend!(the_kenpo_publishes_notices_and_sends_mail_through_its_api);

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0\0\0\0\0\0\0";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn call(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["code"].as_str().map(str::to_owned))
        .collect()
}

async fn the_kenpo_publishes_notices_and_sends_mail_through_its_api(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let a = KenpoId::parse(&portal.state.kenpo_id).unwrap_or_else(|| panic!("kenpo id"));
    let members = format!(
        "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n\
         10,1001,00,本人,健保 太郎,,19790822,1,,,{}\n10,2002,00,本人,他人 次郎,,19800101,1,,,\n",
        idp.member.sub
    );
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(
        &portal.state.db,
        &a,
        ImportKind::Members,
        members.as_bytes(),
        &options,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap_or_else(|e| panic!("members: {e}"));
    let system = idp.kenpo_system(&portal, "kikan", &[ApiRole::ManageNotices]).await;
    let token = idp.system_token(&system).await;
    let outsider = idp.kenpo_system(&portal, "survey-only", &[ApiRole::ManageSurveys]).await;
    let outsider_token = idp.system_token(&outsider).await;
    let notices = portal.at("/api/kenpo/notices");
    let published = (OffsetDateTime::now_utc() - Duration::hours(1)).format(&Rfc3339).unwrap_or_default();

    let good = json!({
        "category": "health_insurance",
        "title": "保険証の切り替えについて",
        "body": "12月2日以降は資格確認書をお使いください。",
        "published_at": published,
        "attachments": [{ "file_name": "ご案内.pdf", "content_base64": b64(PDF) }],
    });
    let (status, _) = call(reqwest::Method::POST, &notices, None, Some(&good)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(reqwest::Method::POST, &notices, Some(&outsider_token), Some(&good)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let bad = json!({
        "category": "urgent",
        "title": "x",
        "body": "y",
        "published_at": published,
        "attachments": [{ "file_name": "form.pdf", "content_base64": b64(EXE) }],
    });
    let (status, body) = call(reqwest::Method::POST, &notices, Some(&token), Some(&bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(codes(&body), ["bad_category", "attachment_type"], "{body}");
    assert!(body["errors"][1]["message_ja"].as_str().is_some_and(|m| m.contains("form.pdf")), "{body}");

    let (status, created) = call(reqwest::Method::POST, &notices, Some(&token), Some(&good)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(created["attachments"][0]["media_type"], "application/pdf");
    let (_, listed) = call(reqwest::Method::GET, &notices, Some(&token), None).await;
    assert_eq!(listed["notices"][0]["id"], id.as_str());

    // Replaced without `attachments`: the file stays.
    let one = format!("{notices}/{id}");
    let mut changed = good.clone();
    changed["title"] = json!("【更新】保険証の切り替えについて");
    if let Some(o) = changed.as_object_mut() {
        o.remove("attachments");
    }
    let (status, replaced) = call(reqwest::Method::PUT, &one, Some(&token), Some(&changed)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["attachments"].as_array().map(Vec::len), Some(1), "{replaced}");

    let messages = portal.at("/api/kenpo/messages");
    let to_taro = json!({
        "subject": "任意継続のご案内",
        "body": "お手続きはお早めに。",
        "recipients": [{ "symbol": "10", "number": "1001", "branch": "00" }],
    });
    let (status, sent) = call(reqwest::Method::POST, &messages, Some(&token), Some(&to_taro)).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["delivered"], 1);
    let unknown = json!({ "subject": "s", "body": "b", "recipients": [{ "symbol": "99", "number": "9", "branch": "00" }] });
    let (status, body) = call(reqwest::Method::POST, &messages, Some(&token), Some(&unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(codes(&body), ["unknown_card"]);
    let everyone =
        json!({ "subject": "年末年始の窓口について", "body": "12月29日から休業します。", "to_all": true });
    let (status, sent) = call(reqwest::Method::POST, &messages, Some(&token), Some(&everyone)).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["delivered"], 2, "both households");

    let browser = idp.browser();
    let page = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, &format!("/notices/{id}")).await;
    assert!(
        page.body.contains("【更新】保険証の切り替えについて") && page.body.contains("ご案内.pdf"),
        "{}",
        page.body
    );
    assert_eq!(page.text("a.inbox-link"), "MYメール（未読 2件）");

    let (status, _) = call(reqwest::Method::DELETE, &one, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(browser.get(&portal.at(&format!("/notices/{id}"))).await.status, StatusCode::NOT_FOUND);
    let (status, body) = call(reqwest::Method::GET, &one, Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}
