//! `oidcc-rp-initiated-logout-certification-test-plan` ("RP-Initiated OP"): each module logs the
//! member in, then sends the browser to the end-session endpoint. The IdP may redirect to the
//! post-logout URI only for a valid `id_token_hint` of ours and an exactly registered URI; in
//! every other case it ends the session and shows the logged-out page (the suite's
//! screenshot). Every module then checks the session is over with `prompt=none`.

use crate::helpers::*;
use serde_json::{Value, json};
use shared_crypto::keys::{Algorithm, SigningKey};

/// A logged-in browser and the ID token of its login.
async fn logged_in(idp: &Idp) -> (Browser, Flow) {
    let browser = idp.browser();
    let flow = idp.code_flow(&browser, &idp.auth_request()).await;
    (browser, flow)
}

/// The suite uses a long `state` to check the OP does not corrupt it.
fn long_state() -> String {
    let mut state = String::new();
    while state.len() < 128 {
        state.push_str(&shared_crypto::random::token());
    }
    state.truncate(128);
    state
}

/// oidcc-rp-initiated-logout-discovery-endpoint-verification
async fn oidcc_rp_initiated_logout_discovery_endpoint_verification(idp: Idp) {
    let discovery = idp.discovery().await;

    let end_session = discovery.get("end_session_endpoint").and_then(Value::as_str);

    assert_eq!(end_session, Some(idp.endpoint("/protocol/openid-connect/logout").as_str()));
}

/// oidcc-rp-initiated-logout: back to the registered URI with `state`; the session is over.
async fn oidcc_rp_initiated_logout(idp: Idp) {
    let (browser, flow) = logged_in(&idp).await;
    let state = long_state();
    let uri = idp.client.post_logout_redirect_uri.clone();

    let page = browser
        .logout(&[
            ("id_token_hint", &flow.id_token.raw),
            ("post_logout_redirect_uri", &uri),
            ("state", &state),
        ])
        .await;

    assert_post_logout_redirect(&page, &uri, Some(&state));
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an unregistered URI is never
/// redirected to.
async fn oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(idp: Idp) {
    let (browser, flow) = logged_in(&idp).await;
    let unregistered = "https://rp.example.test/conformance-rp/not_registered";

    let page = browser
        .logout(&[
            ("id_token_hint", &flow.id_token.raw),
            ("post_logout_redirect_uri", unregistered),
            ("state", &long_state()),
        ])
        .await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-modified-id-token-hint: the hint turned into `alg: none`.
async fn oidcc_rp_initiated_logout_modified_id_token_hint(idp: Idp) {
    let (browser, flow) = logged_in(&idp).await;
    let modified = unsecured_jwt(&json!({"alg": "none", "typ": "JWT"}), &jwt_claims(&flow.id_token.raw));

    let page = browser
        .logout(&[
            ("id_token_hint", &modified),
            ("post_logout_redirect_uri", &idp.client.post_logout_redirect_uri),
            ("state", &long_state()),
        ])
        .await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-no-id-token-hint: without a hint the URI cannot be trusted.
async fn oidcc_rp_initiated_logout_no_id_token_hint(idp: Idp) {
    let (browser, _) = logged_in(&idp).await;

    let page = browser
        .logout(&[
            ("post_logout_redirect_uri", &idp.client.post_logout_redirect_uri),
            ("state", &long_state()),
        ])
        .await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-no-params: logs out and shows the logged-out page.
async fn oidcc_rp_initiated_logout_no_params(idp: Idp) {
    let (browser, _) = logged_in(&idp).await;

    let page = browser.logout(&[]).await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-no-post-logout-redirect-uri
async fn oidcc_rp_initiated_logout_no_post_logout_redirect_uri(idp: Idp) {
    let (browser, flow) = logged_in(&idp).await;

    let page = browser.logout(&[("id_token_hint", &flow.id_token.raw), ("state", &long_state())]).await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-no-state: redirects with no parameters at all.
async fn oidcc_rp_initiated_logout_no_state(idp: Idp) {
    let (browser, flow) = logged_in(&idp).await;
    let uri = idp.client.post_logout_redirect_uri.clone();

    let page =
        browser.logout(&[("id_token_hint", &flow.id_token.raw), ("post_logout_redirect_uri", &uri)]).await;

    assert_post_logout_redirect(&page, &uri, None);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-only-state
async fn oidcc_rp_initiated_logout_only_state(idp: Idp) {
    let (browser, _) = logged_in(&idp).await;

    let page = browser.logout(&[("state", &long_state())]).await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: `?foo=bar` makes it
/// another, unregistered URI (exact matching).
async fn oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(idp: Idp) {
    let (browser, flow) = logged_in(&idp).await;
    let with_query = format!("{}?foo=bar", idp.client.post_logout_redirect_uri);

    let page = browser
        .logout(&[
            ("id_token_hint", &flow.id_token.raw),
            ("post_logout_redirect_uri", &with_query),
            ("state", &long_state()),
        ])
        .await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

/// oidcc-rp-initiated-logout-bad-id-token-hint: the same claims, signed by a key of the suite's
/// (not in our JWKS).
async fn oidcc_rp_initiated_logout_bad_id_token_hint(idp: Idp) {
    let (browser, flow) = logged_in(&idp).await;
    let foreign = SigningKey::generate(Algorithm::ES256).unwrap_or_else(|e| panic!("key: {e}"));
    let claims = jwt_claims(&flow.id_token.raw).to_string();
    let forged = shared_crypto::jws::sign(&foreign, Some("JWT"), claims.as_bytes());

    let page = browser
        .logout(&[
            ("id_token_hint", &forged),
            ("post_logout_redirect_uri", &idp.client.post_logout_redirect_uri),
            ("state", &long_state()),
        ])
        .await;

    assert_logged_out_page(&page);
    idp.assert_logged_out(&browser, &idp.client).await;
}

on_every_backend!(
    oidcc_rp_initiated_logout_discovery_endpoint_verification,
    oidcc_rp_initiated_logout,
    oidcc_rp_initiated_logout_bad_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_modified_id_token_hint,
    oidcc_rp_initiated_logout_no_id_token_hint,
    oidcc_rp_initiated_logout_no_params,
    oidcc_rp_initiated_logout_no_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_no_state,
    oidcc_rp_initiated_logout_only_state,
    oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri,
    oidcc_rp_initiated_logout_bad_id_token_hint,
);
