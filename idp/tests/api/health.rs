//! The HTTP edge of the foundation: probes, realm info, JWKS, errors, graceful stop.

use crate::helpers::{TestApp, on_every_backend};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::flows::realms;
use serde_json::Value;

on_every_backend!(
    readiness_reports_database_and_ephemeral_store_up,
    realm_info_and_jwks_are_published_per_realm,
    unknown_realm_is_a_json_404_not_a_500,
    stopping_lets_the_server_finish_and_close,
);

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.http.get(app.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn readiness_reports_database_and_ephemeral_store_up(app: TestApp) {
    let (status, body) = get_json(&app, "/health/live").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("UP")));
    let (status, body) = get_json(&app, "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"][0], serde_json::json!({"name": "database", "status": "UP"}));
    assert_eq!(body["checks"][1]["status"], "UP");
}

async fn realm_info_and_jwks_are_published_per_realm(app: TestApp) {
    let spec =
        realms::RealmSpec { name: "kenpo".to_owned(), display_name: "テスト".to_owned(), host: None };
    assert!(realms::create(&app.state.db, &app.state.master_key, spec, app.clock.now()).await.is_ok());
    let (status, info) = get_json(&app, "/realms/kenpo").await;
    assert_eq!(status, 200);
    assert_eq!(info["realm"], "kenpo");
    assert_eq!(info["token-service"], format!("{}/realms/kenpo/protocol/openid-connect", app.address));

    let (status, jwks) = get_json(&app, "/realms/kenpo/protocol/openid-connect/certs").await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(
        (keys[0]["kty"].as_str(), keys[0]["crv"].as_str(), keys[0]["alg"].as_str()),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(keys[0]["kid"].is_string());
    assert!(keys[0].get("d").is_none(), "never the private part");
}

async fn unknown_realm_is_a_json_404_not_a_500(app: TestApp) {
    for path in ["/realms/nobody", "/realms/Not%20A%20Realm", "/realms/nobody/protocol/openid-connect/certs"]
    {
        let (status, body) = get_json(&app, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error_description"], "Realm does not exist");
    }
}

async fn stopping_lets_the_server_finish_and_close(app: TestApp) {
    let url = app.url("/health/live");
    let http = app.http.clone();
    assert!(http.get(&url).send().await.is_ok());
    let stopped = app.stop().await;
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(http.get(&url).send().await.is_err(), "nothing listens after a stop");
}

#[tokio::test]
async fn hsts_is_sent_only_when_the_idp_is_reached_over_https() {
    let Some(plain) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else { return };
    let response = plain.http.get(plain.url("/health/live")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(response.headers().get("strict-transport-security").is_none());
    let Some(https) = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        &[("KENPO_IDP_PUBLIC_URL", "https://idp.example.jp")],
    )
    .await
    else {
        return;
    };
    let response = https.http.get(https.url("/health/live")).send().await.unwrap_or_else(|e| panic!("{e}"));
    let hsts = response.headers().get("strict-transport-security").and_then(|v| v.to_str().ok());
    assert_eq!(hsts, Some("max-age=63072000; includeSubDomains"));
}
