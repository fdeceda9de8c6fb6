//! The door of the kenpo API: the kenpo's own systems call it with client_credentials tokens
//! from the kenpo's IdP realm, and each operation needs a role the portal granted that client.

use crate::helpers::{Idp, Portal, on_every_backend};
use base64::Engine;
use kenpo_portal::flows::kenpo_api::{self, ApiAuthError, ApiRole};
use kenpo_portal::store::ApiGrantStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_every_backend!(
    a_kenpo_system_is_known_by_its_idp_token_and_may_do_only_what_it_was_granted,
    tokens_not_signed_by_the_kenpos_realm_are_refused_with_401,
    a_token_for_another_audience_or_revoked_at_the_idp_is_refused_at_once,
);

/// `GET /api/kenpo/roles` with `bearer`: the status, the challenge and the JSON body.
async fn roles(idp: &Idp, portal: &Portal, bearer: Option<&str>) -> (StatusCode, String, Value) {
    let mut request = idp.http.get(portal.at("/api/kenpo/roles"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("GET /api/kenpo/roles: {e}"));
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.unwrap_or_else(|e| panic!("a JSON answer: {e}"));
    (status, challenge, body)
}

async fn a_kenpo_system_is_known_by_its_idp_token_and_may_do_only_what_it_was_granted(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let system = idp.kenpo_system(&portal, "kihan-system", &[ApiRole::ManageNotices]).await;
    let token = idp.system_token(&system).await;

    let (status, _, body) = roles(&idp, &portal, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client_id"], "kihan-system");
    assert_eq!(body["roles"], json!(["manage-notices"]));

    let (db, rps, now) = (&portal.state.db, &portal.state.rps, portal.state.clock.unix());
    let caller = kenpo_api::authorize(db, rps, &token, ApiRole::ManageNotices, now).await;
    let caller = caller.unwrap_or_else(|e| panic!("the granted role: {e}"));
    assert_eq!(caller.kenpo.id, portal.state.kenpo_id, "the token's realm picks the kenpo");
    assert!(matches!(
        kenpo_api::authorize(db, rps, &token, ApiRole::ManageSurveys, now).await,
        Err(ApiAuthError::Forbidden { role: ApiRole::ManageSurveys, .. })
    ));

    // Grants are read at every call: the same live token stops at once when its role goes.
    let revoked = db.revoke_api_role(&portal.state.kenpo_id, "kihan-system", "manage-notices").await;
    assert!(revoked.unwrap_or_else(|e| panic!("revoke: {e}")));
    assert!(matches!(
        kenpo_api::authorize(db, rps, &token, ApiRole::ManageNotices, now).await,
        Err(ApiAuthError::Forbidden { .. })
    ));
    let (_, _, body) = roles(&idp, &portal, Some(&token)).await;
    assert_eq!(body["roles"], json!([]), "a client with no role is known, and may do nothing");

    // An hour on, the token (minutes long) has expired.
    portal.state.clock.advance(3600);
    assert!(matches!(
        kenpo_api::authorize(db, rps, &token, ApiRole::ManageNotices, portal.state.clock.unix()).await,
        Err(ApiAuthError::Unauthenticated("expired"))
    ));
}

async fn tokens_not_signed_by_the_kenpos_realm_are_refused_with_401(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let system = idp.kenpo_system(&portal, "kihan-system", &[ApiRole::ManageNotices]).await;
    let token = idp.system_token(&system).await;
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else { panic!("a JWS: {token}") };
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let flipped = format!(
        "{}{}",
        &signature[..signature.len() - 2],
        if signature.ends_with("AA") { "BB" } else { "AA" }
    );
    let foreign =
        b64(json!({"iss": "https://evil.example/realms/x", "client_id": "kihan-system", "exp": i64::MAX}));
    let cases = [
        ("no token", None),
        ("garbage", Some("garbage".to_owned())),
        ("a forged signature", Some(format!("{header}.{payload}.{flipped}"))),
        ("alg none", Some(format!("{}.{payload}.", b64(json!({"alg": "none", "typ": "at+jwt"}))))),
        ("another issuer's claims", Some(format!("{header}.{foreign}.{signature}"))),
        ("the kenpo's claims re-signed by nobody", Some(format!("{header}.{payload}"))),
    ];
    for (what, bearer) in cases {
        let (status, challenge, body) = roles(&idp, &portal, bearer.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
        assert_eq!(body["error"], "invalid_token", "{what}");
        assert!(
            body["message_ja"].as_str().is_some_and(|m| m.contains("アクセストークン")),
            "{what}: {body}"
        );
        assert!(body.get("roles").is_none(), "{what}");
    }
}

/// RFC 9068 §4: a token whose `aud` does not name the portal is not for it, whoever signed it;
/// RFC 7662: the portal asks the IdP, so a token the IdP revoked stops at once, not at expiry.
async fn a_token_for_another_audience_or_revoked_at_the_idp_is_refused_at_once(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let elsewhere = idp
        .kenpo_system_for(
            &portal,
            "other-resource-user",
            &[ApiRole::ManageNotices],
            vec!["reports".to_owned()],
        )
        .await;
    let token = idp.system_token(&elsewhere).await;
    let (status, challenge, body) = roles(&idp, &portal, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let (db, rps, now) = (&portal.state.db, &portal.state.rps, portal.state.clock.unix());
    assert!(matches!(
        kenpo_api::authorize(db, rps, &token, ApiRole::ManageNotices, now).await,
        Err(ApiAuthError::Unauthenticated("the token is not for the portal (aud)"))
    ));

    let system = idp.kenpo_system(&portal, "kihan-system", &[ApiRole::ManageNotices]).await;
    let token = idp.system_token(&system).await;
    assert_eq!(roles(&idp, &portal, Some(&token)).await.0, StatusCode::OK);
    let revoked = idp
        .http
        .post(idp.endpoint("/protocol/openid-connect/revoke"))
        .basic_auth(&system.client.client_id, Some(&system.client.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap_or_else(|e| panic!("revoke: {e}"));
    assert_eq!(revoked.status(), StatusCode::OK);
    let (status, _, body) = roles(&idp, &portal, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked minutes before it would expire: {body}");
}
