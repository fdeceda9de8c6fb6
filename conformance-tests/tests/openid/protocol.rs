//! The OAuth rules no OpenID certification module checks, named after the RFC (or FAPI clause)
//! that sets them: client authentication failures, refused grants, code lifetime, refresh-token
//! replay, introspection, revocation, private_key_jwt and the PKCE downgrade.

use crate::helpers::*;
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::store::{ClientStore, GrantType};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use shared_crypto::jws;
use shared_crypto::keys::{Algorithm, JwkSet, SigningKey};
use time::Duration;

on_every_backend!(
    rfc6749_wrong_client_secret_is_401_invalid_client_with_a_basic_challenge,
    rfc6749_password_grant_and_implicit_flow_are_refused,
    rfc6749_client_credentials_gives_an_access_token_and_nothing_more,
    fapi2_code_older_than_60_seconds_is_refused,
    rfc9700_replayed_refresh_token_revokes_the_whole_grant,
    rfc7662_introspection_follows_revocation,
    rfc7009_a_client_cannot_revoke_another_clients_tokens,
    rfc7523_private_key_jwt_assertion_is_accepted_once,
    rfc9700_code_verifier_without_a_challenge_is_refused,
    backchannel_logout_is_retried_until_the_client_answers,
    rfc7009_a_revoked_client_credentials_token_is_inactive,
    refresh_token_of_a_client_without_rotation_stays_valid,
    rfc9068_an_audience_may_introspect_the_tokens_meant_for_it,
);

const INTROSPECT: &str = "/protocol/openid-connect/token/introspect";
const REVOKE: &str = "/protocol/openid-connect/revoke";

/// Registers a confidential client with `grants`, a known secret and optional keys.
async fn client_with(idp: &Idp, client_id: &str, grants: Vec<GrantType>, jwks: Option<JwkSet>) -> TestClient {
    register(idp, client_id, grants, jwks, true).await
}

async fn register(
    idp: &Idp,
    client_id: &str,
    grants: Vec<GrantType>,
    jwks: Option<JwkSet>,
    rotate_refresh_tokens: bool,
) -> TestClient {
    let secret = shared_crypto::random::token();
    let redirect_uri = format!("https://rp.example.test/{client_id}/callback");
    let spec = ClientSpec {
        client_id: client_id.to_owned(),
        name: None,
        confidential: true,
        secret: Some(SecretString::from(secret.clone())),
        redirect_uris: vec![redirect_uri.clone()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: grants,
        pkce_required: false,
        signing_alg: Algorithm::ES256,
        jwks,
        rotate_refresh_tokens,
        audiences: vec![],
    };
    clients::create(&idp.state.db, &idp.state.master_key, &idp.realm, spec, idp.now())
        .await
        .unwrap_or_else(|e| panic!("registering {client_id}: {e}"));
    TestClient {
        client_id: client_id.to_owned(),
        secret,
        redirect_uri,
        post_logout_redirect_uri: String::new(),
        alg: Algorithm::ES256,
    }
}

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn introspect(idp: &Idp, token: &str) -> Value {
    let client = &idp.client;
    let response = idp
        .http
        .post(idp.endpoint(INTROSPECT))
        .basic_auth(&client.client_id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("introspection: {e}"));
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn revoke(idp: &Idp, client: &TestClient, token: &str) -> StatusCode {
    idp.http
        .post(idp.endpoint(REVOKE))
        .basic_auth(&client.client_id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("revocation: {e}"))
        .status()
}

async fn rfc6749_wrong_client_secret_is_401_invalid_client_with_a_basic_challenge(idp: Idp) {
    let mut wrong = idp.client.clone();
    wrong.secret = "not-the-secret".to_owned();

    let response =
        idp.token_request(&wrong, ClientAuth::Basic, &[("grant_type", "client_credentials")]).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge =
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(challenge.starts_with("Basic"), "{challenge:?}");
    let (_, body) = json(response).await;
    assert_eq!(body["error"], "invalid_client");
}

async fn rfc6749_password_grant_and_implicit_flow_are_refused(idp: Idp) {
    let form = [("grant_type", "password"), ("username", "taro1234"), ("password", "Correct-horse-1")];
    let response = idp.token_request(&idp.client, ClientAuth::Basic, &form).await;
    let (status, body) = json(response).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));

    let implicit = idp.auth_request().set("response_type", "token");
    let page = idp.browser().authorize(&implicit).await;
    assert_error_redirect(&page, &implicit, &idp.issuer, &["unsupported_response_type"]);
}

async fn rfc6749_client_credentials_gives_an_access_token_and_nothing_more(idp: Idp) {
    let service = client_with(&idp, "batch-service", vec![GrantType::ClientCredentials], None).await;

    let response =
        idp.token_request(&service, ClientAuth::Basic, &[("grant_type", "client_credentials")]).await;

    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["refresh_token"].is_null() && body["id_token"].is_null(), "{body}");
    let access = body["access_token"].as_str().unwrap_or_default();
    let claims = jwt_claims(access);
    assert_eq!(claims["client_id"], "batch-service");
    assert_eq!(claims["sub"], "service-account-batch-service");
    // The main client may not use this grant.
    let refused =
        idp.token_request(&idp.client, ClientAuth::Basic, &[("grant_type", "client_credentials")]).await;
    assert_eq!(json(refused).await.1["error"], "unauthorized_client");
}

async fn fapi2_code_older_than_60_seconds_is_refused(idp: Idp) {
    let request = idp.auth_request();
    let callback = idp.sign_in(&idp.browser(), &request).await;

    idp.advance(Duration::seconds(61));
    let response = idp.exchange(&idp.client, ClientAuth::Basic, callback.code(), None).await;

    let (status, body) = json(response).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
}

async fn rfc9700_replayed_refresh_token_revokes_the_whole_grant(idp: Idp) {
    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;
    let first = flow.tokens.refresh_token.clone().unwrap_or_default();
    let rotated = expect_tokens(idp.refresh(&idp.client, &first).await).await;
    let second = rotated.refresh_token.clone().unwrap_or_default();
    assert_ne!(first, second, "rotation hands out a new refresh token");

    // An attacker replays the first one.
    let replay = idp.refresh(&idp.client, &first).await;
    assert_eq!(json(replay).await.1["error"], "invalid_grant");

    // The whole grant is gone: the legitimate newest token and both access tokens too.
    assert_eq!(json(idp.refresh(&idp.client, &second).await).await.1["error"], "invalid_grant");
    assert_invalid_token(&idp.userinfo(&flow.tokens.access_token).await);
    assert_invalid_token(&idp.userinfo(&rotated.access_token).await);
}

async fn rfc7662_introspection_follows_revocation(idp: Idp) {
    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;
    let access = &flow.tokens.access_token;
    let refresh = flow.tokens.refresh_token.clone().unwrap_or_default();

    let active = introspect(&idp, access).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["sub"], idp.member.sub.as_str());
    assert_eq!(active["client_id"], idp.client.client_id.as_str());
    assert!(active.get("grant").is_none(), "internal claims stay inside");
    assert_eq!(introspect(&idp, &refresh).await["active"], true);

    assert_eq!(revoke(&idp, &idp.client, &refresh).await, StatusCode::OK);

    assert_eq!(introspect(&idp, access).await, serde_json::json!({"active": false}));
    assert_eq!(introspect(&idp, &refresh).await, serde_json::json!({"active": false}));
    assert_eq!(introspect(&idp, "garbage").await, serde_json::json!({"active": false}));
    assert_invalid_token(&idp.userinfo(access).await);
}

async fn rfc7009_a_client_cannot_revoke_another_clients_tokens(idp: Idp) {
    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;
    let other = client_with(&idp, "other-rp", vec![GrantType::AuthorizationCode], None).await;

    // RFC 7009 §2.2: the answer is 200 either way, and nothing happens.
    assert_eq!(revoke(&idp, &other, &flow.tokens.access_token).await, StatusCode::OK);

    let still = idp.userinfo(&flow.tokens.access_token).await;
    assert_eq!(still.status(), StatusCode::OK);
}

async fn rfc7523_private_key_jwt_assertion_is_accepted_once(idp: Idp) {
    let key = SigningKey::generate(Algorithm::ES256).unwrap_or_else(|e| panic!("{e}"));
    let jwks = JwkSet { keys: vec![key.public_jwk()] };
    client_with(&idp, "jwt-client", vec![GrantType::ClientCredentials], Some(jwks)).await;
    let now = idp.now().unix_timestamp();
    let claims = serde_json::json!({
        "iss": "jwt-client", "sub": "jwt-client", "aud": idp.issuer, "jti": "assertion-1",
        "iat": now, "exp": now + 60,
    });
    let assertion = jws::sign(&key, Some("JWT"), claims.to_string().as_bytes());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", assertion.as_str()),
    ];
    let send = || idp.http.post(idp.endpoint("/protocol/openid-connect/token")).form(&form).send();

    let first = send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.status(), StatusCode::OK, "{}", first.text().await.unwrap_or_default());
    let replay = send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED, "a jti is accepted once");

    // Signed by a key the client never registered.
    let stranger = SigningKey::generate(Algorithm::ES256).unwrap_or_else(|e| panic!("{e}"));
    let mut claims = claims;
    claims["jti"] = "assertion-2".into();
    let forged = jws::sign(&stranger, Some("JWT"), claims.to_string().as_bytes());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", forged.as_str()),
    ];
    let forged = idp.http.post(idp.endpoint("/protocol/openid-connect/token")).form(&form).send().await;
    assert_eq!(forged.map(|r| r.status()).ok(), Some(StatusCode::UNAUTHORIZED));
}

async fn rfc9700_code_verifier_without_a_challenge_is_refused(idp: Idp) {
    let request = idp.auth_request();
    let callback = idp.sign_in(&idp.browser(), &request).await;

    let response = idp.exchange(&idp.client, ClientAuth::Basic, callback.code(), Some(&"v".repeat(43))).await;

    assert_eq!(json(response).await.1["error"], "invalid_grant");
}

/// Back-Channel Logout from a durable queue: a client that is down at logout time still gets
/// the logout token once it answers again.
async fn backchannel_logout_is_retried_until_the_client_answers(idp: Idp) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let (seen, kept) = (calls.clone(), tokens.clone());
    // Down for the first attempt, up afterwards.
    let endpoint = move |body: String| {
        let (seen, kept) = (seen.clone(), kept.clone());
        async move {
            kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(body);
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            }
        }
    };
    let router = axum::Router::new().route("/bcl", axum::routing::post(endpoint));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client =
        idp.register_client("flaky-rp", Algorithm::ES256, Some(format!("http://127.0.0.1:{port}/bcl"))).await;
    let browser = idp.browser();
    let request = AuthRequest::for_client(&client);
    let callback = idp.sign_in(&browser, &request).await;
    idp.redeem(&client, &callback, &request, ClientAuth::Basic).await;

    browser.logout(&[]).await;
    let wait_for = |n: usize| {
        let calls = calls.clone();
        async move {
            for _ in 0..100 {
                if calls.load(Ordering::SeqCst) >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("the client was called fewer than {n} times");
        }
    };
    wait_for(1).await;
    // Nothing more happens before the backoff has passed on the server's clock.
    let early = kenpo_idp::flows::backchannel::deliver_due(&idp.state.db, &idp.state.http, idp.now()).await;
    assert_eq!(early.ok(), Some(0), "not due yet");

    // Past the backoff (and any deliverer's lease), the next round sends it again.
    idp.advance(Duration::seconds(31));
    let _ = kenpo_idp::flows::backchannel::deliver_due(&idp.state.db, &idp.state.http, idp.now()).await;
    wait_for(2).await;
    let bodies = tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    assert_eq!(bodies[0], bodies[1], "the same logout token, retried");
    assert!(bodies[0].starts_with("logout_token="));
}

/// A client's own token has no grant row behind it; revoking it must still take effect.
async fn rfc7009_a_revoked_client_credentials_token_is_inactive(idp: Idp) {
    let service = client_with(&idp, "batch-service", vec![GrantType::ClientCredentials], None).await;
    let response =
        idp.token_request(&service, ClientAuth::Basic, &[("grant_type", "client_credentials")]).await;
    let (_, body) = json(response).await;
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    let introspect_as = |client: &TestClient| {
        let (id, secret) = (client.client_id.clone(), client.secret.clone());
        let request =
            idp.http.post(idp.endpoint(INTROSPECT)).basic_auth(id, Some(secret)).form(&[("token", &token)]);
        async move { json(request.send().await.unwrap_or_else(|e| panic!("{e}"))).await.1 }
    };
    assert_eq!(introspect_as(&service).await["active"], true);
    assert_eq!(introspect_as(&idp.client).await["active"], false, "another client sees nothing");

    assert_eq!(revoke(&idp, &service, &token).await, StatusCode::OK);

    assert_eq!(introspect_as(&service).await, serde_json::json!({"active": false}));
}

/// `--no-refresh-rotation`: the same refresh token works again, and no new one is handed out.
async fn refresh_token_of_a_client_without_rotation_stays_valid(idp: Idp) {
    let client =
        register(&idp, "steady-rp", vec![GrantType::AuthorizationCode, GrantType::RefreshToken], None, false)
            .await;
    let request = AuthRequest::for_client(&client);
    let callback = idp.sign_in(&idp.browser(), &request).await;
    let flow = idp.redeem(&client, &callback, &request, ClientAuth::Basic).await;
    let refresh = flow.tokens.refresh_token.clone().unwrap_or_default();

    for _ in 0..2 {
        let again = expect_tokens(idp.refresh(&client, &refresh).await).await;
        assert!(again.refresh_token.is_none(), "no rotation, no new refresh token");
        assert_eq!(idp.userinfo(&again.access_token).await.status(), StatusCode::OK);
    }
}

/// RFC 9068 §3 and RFC 7662 §4: a client whose audience mapper names a resource server gets
/// tokens whose `aud` names it too, and that resource server (here the suite's RP) may ask
/// whether such a token is still active; a revocation shows there at once. Others see nothing.
async fn rfc9068_an_audience_may_introspect_the_tokens_meant_for_it(idp: Idp) {
    let secret = shared_crypto::random::token();
    let spec = ClientSpec {
        client_id: "kenpo-batch".to_owned(),
        name: None,
        confidential: true,
        secret: Some(SecretString::from(secret.clone())),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::ClientCredentials],
        pkce_required: false,
        signing_alg: Algorithm::ES256,
        jwks: None,
        rotate_refresh_tokens: false,
        audiences: vec![idp.client.client_id.clone(), " ".to_owned()],
    };
    let refused =
        clients::create(&idp.state.db, &idp.state.master_key, &idp.realm, spec.clone(), idp.now()).await;
    assert!(refused.is_err(), "an empty audience is refused");
    let spec = ClientSpec { audiences: vec![idp.client.client_id.clone()], ..spec };
    clients::create(&idp.state.db, &idp.state.master_key, &idp.realm, spec, idp.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let batch = TestClient { client_id: "kenpo-batch".to_owned(), secret, ..idp.client.clone() };
    let response =
        idp.token_request(&batch, ClientAuth::Basic, &[("grant_type", "client_credentials")]).await;
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    let claims = jwt_claims(&token);
    assert_eq!(claims["aud"], serde_json::json!(["kenpo-batch", idp.client.client_id]), "{claims}");

    let stranger = client_with(&idp, "stranger", vec![GrantType::AuthorizationCode], None).await;
    let introspect_as = |client: &TestClient| {
        let (id, secret) = (client.client_id.clone(), client.secret.clone());
        let request =
            idp.http.post(idp.endpoint(INTROSPECT)).basic_auth(id, Some(secret)).form(&[("token", &token)]);
        async move { json(request.send().await.unwrap_or_else(|e| panic!("{e}"))).await.1 }
    };
    let seen = introspect_as(&idp.client).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["client_id"], "kenpo-batch");
    assert_eq!(introspect_as(&stranger).await, serde_json::json!({"active": false}), "not its audience");

    // A member's token is its own client's business alone, whatever its aud says.
    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;
    let member_token = flow.tokens.access_token.clone();
    let as_batch = idp
        .http
        .post(idp.endpoint(INTROSPECT))
        .basic_auth("kenpo-batch", Some(&batch.secret))
        .form(&[("token", member_token.as_str())])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json(as_batch).await.1, serde_json::json!({"active": false}));

    // Taking the audience away shows the tokens already issued no more.
    let db = &idp.state.db;
    let id = kenpo_idp::domain::ClientId::parse("kenpo-batch").unwrap_or_else(|e| panic!("{e}"));
    let mut registered = db
        .client_by_client_id(&idp.realm.id, &id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("kenpo-batch"));
    registered.audiences.clear();
    db.update_client(&registered).await.unwrap_or_else(|e| panic!("{e}"));
    idp.state.lookups.forget_client(&idp.realm.id, "kenpo-batch");
    assert_eq!(
        introspect_as(&idp.client).await,
        serde_json::json!({"active": false}),
        "no longer its audience"
    );
    registered.audiences = vec![idp.client.client_id.clone()];
    db.update_client(&registered).await.unwrap_or_else(|e| panic!("{e}"));
    idp.state.lookups.forget_client(&idp.realm.id, "kenpo-batch");
    assert_eq!(introspect_as(&idp.client).await["active"], true);

    assert_eq!(revoke(&idp, &batch, &token).await, StatusCode::OK);
    assert_eq!(introspect_as(&idp.client).await, serde_json::json!({"active": false}));
}
