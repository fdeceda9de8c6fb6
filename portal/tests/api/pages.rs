//! What a member's browser gets before logging in.

use crate::helpers::{TestApp, on_every_backend};
use kenpo_portal::store::{KenpoStore, NewKenpo};

on_every_backend!(
    top_page_is_japanese_by_default_with_the_kenpo_name_and_login,
    language_follows_the_choice_then_accept_language,
    every_page_carries_the_security_headers,
    unknown_paths_get_a_localized_404_never_a_500,
    the_kenpo_is_chosen_by_host,
    readiness_reports_up,
    migrating_twice_is_harmless,
);

async fn get(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app.http.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap_or_default())
}

async fn top_page_is_japanese_by_default_with_the_kenpo_name_and_login(app: TestApp) {
    let (status, headers, body) = get(&app, "/", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(body.contains("<html lang=\"ja\">"), "{body}");
    assert!(body.contains("テスト健康保険組合加入者ページ"));
    assert!(body.contains(">ログイン</a>"), "the manual's 「ログイン」");
    assert!(body.contains("医療費照会"));
}

async fn language_follows_the_choice_then_accept_language(app: TestApp) {
    let (_, _, body) = get(&app, "/", &[("accept-language", "en-US,en;q=0.9,ja;q=0.5")]).await;
    assert!(body.contains("<html lang=\"en\">") && body.contains(">Log in</a>"), "{body}");
    let (_, _, body) = get(&app, "/?lang=ja", &[("accept-language", "en-US")]).await;
    assert!(body.contains("<html lang=\"ja\">"));
    let (_, _, body) = get(&app, "/?lang=en", &[]).await;
    assert!(body.contains("Medical expenses"));
}

async fn every_page_carries_the_security_headers(app: TestApp) {
    for path in ["/", "/static/portal.css", "/no/such/page"] {
        let (_, headers, _) = get(&app, path, &[]).await;
        let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers.get("referrer-policy").map(|v| v.as_bytes()), Some(&b"no-referrer"[..]), "{path}");
        assert_eq!(headers.get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]));
    }
}

async fn unknown_paths_get_a_localized_404_never_a_500(app: TestApp) {
    let (status, _, body) = get(&app, "/no/such/page", &[]).await;
    assert_eq!(status, 404);
    assert!(body.contains("ページが見つかりません"), "{body}");
    let (status, _, body) = get(&app, "/no/such/page?lang=en", &[]).await;
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"));
    // Whatever a member can type into the address bar is answered, and nothing is reflected raw.
    for path in ["/%FF%FE", "/?lang=%3Cscript%3E", "/?lang=", "/?lang=en&lang=ja", "/../../etc/passwd"] {
        let (status, _, body) = get(&app, path, &[]).await;
        assert!(status == 200 || status == 404 || status == 400, "{path}: {status}");
        assert!(!body.contains("<script>"), "{path}");
    }
}

async fn the_kenpo_is_chosen_by_host(app: TestApp) {
    let other = NewKenpo {
        issuer: "https://idp.example.jp/realms/other".to_owned(),
        client_id: "portal".to_owned(),
        host: Some("www.other.portal.example.jp".to_owned()),
        display_name: "その他健康保険組合加入者ページ".to_owned(),
        client_secret_sealed: None,
    };
    assert!(app.state.db.upsert_kenpo(other, time::OffsetDateTime::now_utc()).await.is_ok());
    let (_, _, body) = get(&app, "/", &[("host", "WWW.other.portal.example.jp")]).await;
    assert!(body.contains("その他健康保険組合加入者ページ"), "{body}");
    let (_, _, body) = get(&app, "/", &[]).await;
    assert!(body.contains("テスト健康保険組合加入者ページ"));
}

async fn readiness_reports_up(app: TestApp) {
    let (status, _, body) = get(&app, "/health/ready", &[]).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = get(&app, "/health/live", &[]).await;
    assert_eq!(status, 200);
}

async fn migrating_twice_is_harmless(app: TestApp) {
    assert!(app.state.db.migrate().await.is_ok());
    let kenpo = app.state.db.kenpo_by_issuer(&app.state.config.idp_issuer).await.ok().flatten();
    assert_eq!(kenpo.map(|k| k.display_name).as_deref(), Some("テスト健康保険組合加入者ページ"));
}
