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

on_every_backend!(
    the_kenpo_publishes_notices_and_sends_mail_through_its_api,
    the_kenpo_pages_its_notices_and_downloads_their_files_back,
    the_kenpo_lists_and_recalls_its_messages_and_members_no_longer_see_them,
);

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

/// `GET` a file with a token: status, content type, disposition and bytes.
async fn fetch(url: &str, token: &str) -> (StatusCode, String, String, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, kind, disposition) = (
        response.status(),
        header(reqwest::header::CONTENT_TYPE),
        header(reqwest::header::CONTENT_DISPOSITION),
    );
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    (status, kind, disposition, bytes.to_vec())
}

/// Kenpo A's members: 健保 太郎 (the suite's member, who signs in) and 他人 次郎.
async fn import_two_households(portal: &crate::helpers::Portal, idp: &Idp) {
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

async fn the_kenpo_pages_its_notices_and_downloads_their_files_back(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let b = idp.add_second_kenpo(&portal).await;
    let system = idp.kenpo_system(&portal, "kikan", &[ApiRole::ManageNotices]).await;
    let token = idp.system_token(&system).await;
    let notices = portal.at("/api/kenpo/notices");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    for (i, title) in ["一件目", "二件目", "三件目"].into_iter().enumerate() {
        let published = (now - Duration::hours(3 - i as i64)).format(&Rfc3339).unwrap_or_default();
        let notice = json!({
            "category": "other",
            "title": title,
            "body": "本文",
            "published_at": published,
            "attachments": [
                { "file_name": "ご案内 \"第1版\".pdf", "content_base64": b64(PDF) },
                { "file_name": "map.png", "content_base64": b64(png) },
            ],
        });
        let (status, created) = call(reqwest::Method::POST, &notices, Some(&token), Some(&notice)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["id"].as_str().unwrap_or_default().to_owned());
    }

    let (status, first) =
        call(reqwest::Method::GET, &format!("{notices}?per_page=2"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let listed = |page: &Value| -> Vec<String> {
        page["notices"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["id"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(listed(&first), [ids[2].clone(), ids[1].clone()], "newest first, two a page");
    assert_eq!(
        (first["total"].as_i64(), first["page"].as_i64(), first["per_page"].as_i64()),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(first["notices"][0]["attachments"].as_array().map(Vec::len), Some(2), "each with its files");
    let next = first["next"].as_str().unwrap_or_else(|| panic!("a next page: {first}")).to_owned();
    let (_, second) = call(reqwest::Method::GET, &portal.at(&next), Some(&token), None).await;
    assert_eq!(listed(&second), [ids[0].clone()]);
    assert!(second["next"].is_null(), "the last page links nowhere: {second}");
    let (_, default) = call(reqwest::Method::GET, &notices, Some(&token), None).await;
    assert_eq!((default["per_page"].as_i64(), listed(&default).len()), (Some(50), 3));
    for bad in ["per_page=101", "per_page=0", "page=0", "page=x"] {
        let (status, body) =
            call(reqwest::Method::GET, &format!("{notices}?{bad}"), Some(&token), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message_ja"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }

    let one = &first["notices"][1];
    let pdf_url = portal.at(one["attachments"][0]["url"].as_str().unwrap_or_default());
    let (status, kind, disposition, bytes) = fetch(&pdf_url, &token).await;
    assert_eq!(
        (status, kind.as_str(), bytes.as_slice()),
        (StatusCode::OK, "application/pdf", PDF),
        "{pdf_url}"
    );
    assert_eq!(
        disposition,
        "attachment; filename=\"______1__.pdf\"; \
         filename*=UTF-8''%E3%81%94%E6%A1%88%E5%86%85%20%22%E7%AC%AC1%E7%89%88%22.pdf",
        "an ASCII stand-in, and the Japanese name in RFC 5987"
    );
    let second_file = portal.at(&format!("/api/kenpo/notices/{}/attachments/2", ids[1]));
    let (status, kind, _, bytes) = fetch(&second_file, &token).await;
    assert_eq!(
        (status, kind.as_str(), bytes.as_slice()),
        (StatusCode::OK, "image/png", &png[..]),
        "by position"
    );
    for missing in [
        format!("/api/kenpo/notices/{}/attachments/3", ids[1]),
        format!("/api/kenpo/notices/{}/attachments/0", ids[1]),
        format!(
            "/api/kenpo/notices/{}/attachments/{}",
            ids[0],
            one["attachments"][0]["id"].as_str().unwrap_or_default()
        ),
        format!("/api/kenpo/notices/{}/attachments/x", ids[1]),
        "/api/kenpo/notices/x/attachments/1".to_owned(),
    ] {
        let (status, ..) = fetch(&portal.at(&missing), &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
    let (status, ..) = fetch(&pdf_url, "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Kenpo B's notice is not kenpo A's to list or download.
    let draft = kenpo_portal::flows::notices::Draft {
        category: "other".to_owned(),
        title: "ビー健保".to_owned(),
        body: "ビー".to_owned(),
        published_at: now.format(&Rfc3339).unwrap_or_default(),
        attachments: Some(vec![kenpo_portal::flows::notices::DraftFile {
            file_name: "b.pdf".to_owned(),
            content: PDF.to_vec(),
        }]),
        ..Default::default()
    };
    let theirs = kenpo_portal::flows::notices::create(&portal.state.db, &b.kenpo.id, draft, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, ..) =
        fetch(&portal.at(&format!("/api/kenpo/notices/{}/attachments/1", theirs.id)), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another kenpo's file");
    let (_, all) = call(reqwest::Method::GET, &notices, Some(&token), None).await;
    assert_eq!(all["total"], 3, "another kenpo's notice is not listed");
}

async fn the_kenpo_lists_and_recalls_its_messages_and_members_no_longer_see_them(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let b = idp.add_second_kenpo(&portal).await;
    import_two_households(&portal, &idp).await;
    let system = idp.kenpo_system(&portal, "kikan", &[ApiRole::ManageNotices]).await;
    let token = idp.system_token(&system).await;
    let outsider = idp.kenpo_system(&portal, "survey-only", &[ApiRole::ManageSurveys]).await;
    let outsider_token = idp.system_token(&outsider).await;
    let messages = portal.at("/api/kenpo/messages");
    let to_taro = json!({
        "subject": "任意継続のご案内",
        "body": "お手続きはお早めに。",
        "recipients": [{ "symbol": "10", "number": "1001", "branch": "00" }],
    });
    let (status, sent) = call(reqwest::Method::POST, &messages, Some(&token), Some(&to_taro)).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let own = sent["message_id"].as_str().unwrap_or_default().to_owned();
    assert!(uuid::Uuid::parse_str(&own).is_ok(), "the send answers the message's id: {sent}");
    let everyone = json!({ "subject": "年末年始の窓口について", "body": "休業します。", "to_all": true });
    let (_, sent) = call(reqwest::Method::POST, &messages, Some(&token), Some(&everyone)).await;
    let all = sent["message_id"].as_str().unwrap_or_default().to_owned();
    // The portal's own message is not the kenpo's to list or recall.
    let a = portal.state.kenpo_id.clone();
    let taro = kenpo_portal::store::MemberStore::member_by_subject(&portal.state.db, &a, &idp.member.sub)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("taro"));
    kenpo_portal::flows::inbox::deliver_system_message(
        &portal.state.db,
        &a,
        std::slice::from_ref(&taro.id),
        kenpo_portal::tenant::MailCategory::Checkups,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let (status, _) = call(reqwest::Method::GET, &messages, Some(&outsider_token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) =
        call(reqwest::Method::GET, &format!("{messages}?per_page=1"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 2, "the kenpo's two, not the portal's: {page}");
    assert_eq!(page["messages"][0]["message_id"], all.as_str(), "newest first");
    assert_eq!(
        (page["messages"][0]["recipients"].as_i64(), page["messages"][0]["read"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(page["next"], "/api/kenpo/messages?page=2&per_page=1");
    let (status, _) =
        call(reqwest::Method::GET, &format!("{messages}?per_page=500"), Some(&token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "above the maximum page size");

    let browser = idp.browser();
    let top = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/").await;
    assert_eq!(top.text("a.inbox-link"), "MYメール（未読 3件）");
    let opened = browser.get(&portal.at(&format!("/inbox/{all}"))).await;
    assert_eq!(opened.status, StatusCode::OK);
    let (_, page) = call(reqwest::Method::GET, &format!("{messages}?per_page=1"), Some(&token), None).await;
    assert_eq!(page["messages"][0]["read"], 1, "the read count follows: {page}");

    // Kenpo B's message and the portal's are not kenpo A's to recall; nothing changes.
    let kenpo_b = kenpo_portal::store::KenpoStore::kenpo(&portal.state.db, &b.kenpo.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("kenpo B"));
    let outgoing = kenpo_portal::flows::inbox::Outgoing {
        subject: "ビー健保".to_owned(),
        body: "ビー".to_owned(),
        to_all: true,
        ..Default::default()
    };
    let theirs =
        kenpo_portal::flows::inbox::send(&portal.state.db, &kenpo_b, outgoing, OffsetDateTime::now_utc())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    for id in [theirs.message_id.to_string(), "not-an-id".to_owned(), uuid::Uuid::new_v4().to_string()] {
        let (status, body) =
            call(reqwest::Method::DELETE, &format!("{messages}/{id}"), Some(&token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
        assert_eq!(body["error"], "not_found");
    }
    let (status, _) =
        call(reqwest::Method::DELETE, &format!("{messages}/{own}"), Some(&outsider_token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        browser.get(&portal.at("/")).await.text("a.inbox-link"),
        "MYメール（未読 2件）",
        "nothing recalled yet"
    );

    let (status, recalled) =
        call(reqwest::Method::DELETE, &format!("{messages}/{own}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{recalled}");
    assert_eq!(
        (recalled["message_id"].as_str(), recalled["removed_from"].as_i64()),
        (Some(own.as_str()), Some(1))
    );
    let gone = browser.get(&portal.at(&format!("/inbox/{own}"))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "the member no longer reads it");
    let list = browser.get(&portal.at("/inbox")).await;
    assert!(!list.body.contains("任意継続のご案内") && list.body.contains("年末年始の窓口について"));
    assert_eq!(list.text("a.inbox-link"), "MYメール（未読 1件）", "the unread count drops");
    let (status, _) = call(reqwest::Method::DELETE, &format!("{messages}/{own}"), Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "once");
    let (status, recalled) =
        call(reqwest::Method::DELETE, &format!("{messages}/{all}"), Some(&token), None).await;
    assert_eq!(
        (status, recalled["removed_from"].as_i64()),
        (StatusCode::OK, Some(2)),
        "read or not, from both inboxes"
    );
    let (_, page) = call(reqwest::Method::GET, &messages, Some(&token), None).await;
    assert_eq!((page["total"].as_i64(), page["next"].is_null()), (Some(0), true), "{page}");
}
