//! `oidcc-basic-certification-test-plan` ("Basic OP"): `response_type=code`,
//! `client_secret_basic`, the default response mode, a static client. Every flow's ID token goes
//! through the shared validation (signature via the JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`,
//! `at_hash`, …) and every callback through the `state` and `iss` checks.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use shared_crypto::keys::Algorithm;
use time::Duration;

/// A code flow with `request`, then UserInfo with its access token.
async fn userinfo_after(idp: &Idp, request: &AuthRequest) -> (Flow, Map<String, Value>) {
    let flow = idp.code_flow(&idp.browser(), request).await;
    let response = idp.userinfo(&flow.tokens.access_token).await;
    let claims = expect_userinfo(response, flow.id_token.sub()).await;
    (flow, claims)
}

fn assert_profile_claims(idp: &Idp, claims: &Map<String, Value>) {
    let member = &idp.member;
    for (name, expected) in [
        ("name", &member.display_name),
        ("preferred_username", &member.username),
        ("birthdate", &member.birthdate),
        ("locale", &member.locale),
    ] {
        assert_eq!(claims.get(name).and_then(Value::as_str), Some(expected.as_str()), "profile claim {name}");
    }
}

fn assert_email_claims(idp: &Idp, claims: &Map<String, Value>) {
    assert_eq!(claims.get("email").and_then(Value::as_str), Some(idp.member.email.as_str()), "email");
    assert_eq!(claims.get("email_verified"), Some(&Value::Bool(true)), "email_verified");
}

/// oidcc-server: the happy path with nonce, state and client_secret_basic.
async fn oidcc_server(idp: Idp) {
    let request = idp.auth_request();

    let flow = idp.code_flow(&idp.browser(), &request).await;

    assert_eq!(flow.id_token.sub(), idp.member.sub, "sub is the member's id");
    let scope = flow.tokens.scope.as_deref().unwrap_or_default();
    assert!(scope.split(' ').any(|s| s == "openid"), "granted scope {scope:?}");
    assert!(flow.tokens.refresh_token.is_some(), "the contract issues a refresh token");
    idp.check_access_token(&flow.tokens.access_token).await;
}

/// oidcc-response-type-missing: no `response_type` is sent back as an error.
async fn oidcc_response_type_missing(idp: Idp) {
    let request = idp.auth_request().without("response_type");

    let page = idp.browser().authorize(&request).await;

    assert_error_redirect(&page, &request, &idp.issuer, &["invalid_request", "unsupported_response_type"]);
}

/// oidcc-idtoken-signature: a client registered for RS256 (the OIDC default alg) gets an RS256
/// ID token with a `kid` found in the JWKS. (The realm's own default, ES256, is what every
/// other module's main client checks.)
async fn oidcc_idtoken_signature(idp: Idp) {
    let client = idp.register_client("rp-rs256", Algorithm::RS256, None).await;
    let request = AuthRequest::for_client(&client);

    let callback = idp.sign_in(&idp.browser(), &request).await;
    let flow = idp.redeem(&client, &callback, &request, ClientAuth::Basic).await;

    assert_eq!(flow.id_token.header.alg, Algorithm::RS256);
    assert!(flow.id_token.header.kid.is_some(), "the ID token must carry a kid");
}

/// oidcc-idtoken-unsigned: the suite skips it when discovery does not offer `none`, which it must
/// never do here; what is left to check is that a real flow's ID token is signed with an
/// advertised algorithm.
async fn oidcc_idtoken_unsigned(idp: Idp) {
    let discovery = idp.discovery().await;

    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;

    let algs = str_array(&discovery, "id_token_signing_alg_values_supported");
    assert!(!algs.iter().any(|a| a.eq_ignore_ascii_case("none")), "alg none is offered: {algs:?}");
    assert!(algs.iter().any(|a| a == flow.id_token.header.alg.as_str()), "{algs:?}");
}

/// oidcc-userinfo-get
async fn oidcc_userinfo_get(idp: Idp) {
    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;

    let response = idp.userinfo(&flow.tokens.access_token).await;

    expect_userinfo(response, flow.id_token.sub()).await;
}

/// oidcc-userinfo-post-header
async fn oidcc_userinfo_post_header(idp: Idp) {
    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;

    let response = idp.userinfo_post(Some(&flow.tokens.access_token), &[]).await;

    expect_userinfo(response, flow.id_token.sub()).await;
}

/// oidcc-userinfo-post-body: the token in the form body (RFC 6750 §2.2) is optional; the suite
/// warns if it is refused. Either it works, or it is refused as RFC 6750 §3 says.
async fn oidcc_userinfo_post_body(idp: Idp) {
    let flow = idp.code_flow(&idp.browser(), &idp.auth_request()).await;

    let response = idp.userinfo_post(None, &[("access_token", &flow.tokens.access_token)]).await;

    if response.status() == StatusCode::OK {
        expect_userinfo(response, flow.id_token.sub()).await;
    } else {
        assert!(
            matches!(response.status(), StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED),
            "a refusal is 400 or 401, not {}",
            response.status()
        );
        assert!(response.headers().contains_key(reqwest::header::WWW_AUTHENTICATE), "a refusal says why");
    }
}

/// oidcc-ensure-request-without-nonce-succeeds-for-code-flow: and the ID token has no nonce.
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow(idp: Idp) {
    let request = idp.auth_request().without("nonce");

    let flow = idp.code_flow(&idp.browser(), &request).await;

    assert_eq!(flow.id_token.str_claim("nonce"), None);
}

/// oidcc-scope-profile: UserInfo returns the profile claims; the ID token carries `name`.
async fn oidcc_scope_profile(idp: Idp) {
    let request = idp.auth_request().set("scope", "openid profile");

    let (flow, claims) = userinfo_after(&idp, &request).await;

    assert_profile_claims(&idp, &claims);
    assert_eq!(flow.id_token.str_claim("name"), Some(idp.member.display_name.as_str()), "ID token name");
}

/// oidcc-scope-email
async fn oidcc_scope_email(idp: Idp) {
    let request = idp.auth_request().set("scope", "openid email");

    let (_, claims) = userinfo_after(&idp, &request).await;

    assert_email_claims(&idp, &claims);
}

/// oidcc-scope-address: members have no address on file, so the suite's check is a warning;
/// the scope (advertised) must still be accepted and UserInfo must answer.
async fn oidcc_scope_address(idp: Idp) {
    let request = idp.auth_request().set("scope", "openid address");

    let (_, claims) = userinfo_after(&idp, &request).await;

    assert!(claims.get("address").is_none_or(Value::is_object), "address is a JSON object");
}

/// oidcc-scope-phone: as for address, members have no phone number on file.
async fn oidcc_scope_phone(idp: Idp) {
    let request = idp.auth_request().set("scope", "openid phone");

    let (_, claims) = userinfo_after(&idp, &request).await;

    assert!(claims.get("phone_number").is_none_or(Value::is_string), "phone_number is a string");
}

/// oidcc-scope-all
async fn oidcc_scope_all(idp: Idp) {
    let request = idp.auth_request().set("scope", "openid profile email address phone");

    let (_, claims) = userinfo_after(&idp, &request).await;

    assert_profile_claims(&idp, &claims);
    assert_email_claims(&idp, &claims);
}

/// oidcc-alternate-happy-flow: scope-email with the scope values and the query reversed.
async fn oidcc_alternate_happy_flow(idp: Idp) {
    let request = idp.auth_request().set("scope", "email openid").reversed();

    let (_, claims) = userinfo_after(&idp, &request).await;

    assert_email_claims(&idp, &claims);
}

/// oidcc-display-page
async fn oidcc_display_page(idp: Idp) {
    let request = idp.auth_request().set("display", "page");

    idp.code_flow(&idp.browser(), &request).await;
}

/// oidcc-display-popup
async fn oidcc_display_popup(idp: Idp) {
    let request = idp.auth_request().set("display", "popup");

    idp.code_flow(&idp.browser(), &request).await;
}

/// oidcc-prompt-login: with a live session, `prompt=login` shows the login page again (the
/// screenshot), and the second `auth_time` is later than the first.
async fn oidcc_prompt_login(idp: Idp) {
    let browser = idp.browser();
    let first = idp.code_flow(&browser, &idp.auth_request()).await;
    idp.advance(Duration::seconds(2));
    let request = idp.auth_request().set("prompt", "login");

    let page = browser.authorize(&request).await;
    let callback = idp.log_in_on(&browser, &page, &request).await;
    let second = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;

    assert_eq!(second.id_token.sub(), first.id_token.sub());
    assert!(second.id_token.auth_time() > first.id_token.auth_time(), "prompt=login must re-authenticate");
}

/// oidcc-prompt-none-not-logged-in
async fn oidcc_prompt_none_not_logged_in(idp: Idp) {
    let request = idp.auth_request().set("prompt", "none");

    let page = idp.browser().authorize(&request).await;

    assert_error_redirect(&page, &request, &idp.issuer, &["login_required"]);
}

/// oidcc-prompt-none-logged-in: silent, same `sub` and `auth_time`.
async fn oidcc_prompt_none_logged_in(idp: Idp) {
    let browser = idp.browser();
    let first = idp.code_flow(&browser, &idp.auth_request()).await;
    let request = idp.auth_request().set("prompt", "none");

    let callback = idp.silent(&browser, &request).await;
    let second = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;

    assert_eq!(second.id_token.sub(), first.id_token.sub());
    assert_eq!(second.id_token.auth_time(), first.id_token.auth_time());
}

/// oidcc-max-age-1: 2 s after logging in, `max_age=1` shows the login page (the screenshot);
/// the new `auth_time` is later and recent.
async fn oidcc_max_age_1(idp: Idp) {
    let browser = idp.browser();
    let first = idp.code_flow(&browser, &idp.auth_request()).await;
    idp.advance(Duration::seconds(2));
    let request = idp.auth_request().set("max_age", "1");

    let page = browser.authorize(&request).await;
    let callback = idp.log_in_on(&browser, &page, &request).await;
    let second = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;

    assert!(second.id_token.auth_time() > first.id_token.auth_time(), "max_age=1 must re-authenticate");
    assert!(second.id_token.auth_time() >= idp.now().unix_timestamp() - 1, "auth_time is recent");
}

/// oidcc-max-age-10000: no new login; `sub` and `auth_time` unchanged.
async fn oidcc_max_age_10000(idp: Idp) {
    let browser = idp.browser();
    let first = idp.code_flow(&browser, &idp.auth_request()).await;
    idp.advance(Duration::seconds(2));
    let request = idp.auth_request().set("max_age", "10000");

    let callback = idp.silent(&browser, &request).await;
    let second = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;

    assert_eq!(second.id_token.sub(), first.id_token.sub());
    assert_eq!(second.id_token.auth_time(), first.id_token.auth_time());
}

/// oidcc-ensure-request-with-unknown-parameter-succeeds (RFC 6749 §3.1).
async fn oidcc_ensure_request_with_unknown_parameter_succeeds(idp: Idp) {
    let request = idp.auth_request().set("extra_parameter", "ignore me");

    idp.code_flow(&idp.browser(), &request).await;
}

/// oidcc-id-token-hint: `prompt=none` with the first ID token as hint returns silently.
async fn oidcc_id_token_hint(idp: Idp) {
    let browser = idp.browser();
    let first = idp.code_flow(&browser, &idp.auth_request()).await;
    let request = idp.auth_request().set("prompt", "none").set("id_token_hint", &first.id_token.raw);

    let callback = idp.silent(&browser, &request).await;
    let second = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;

    assert_eq!(second.id_token.sub(), first.id_token.sub());
    assert_eq!(second.id_token.auth_time(), first.id_token.auth_time());
}

/// oidcc-login-hint
async fn oidcc_login_hint(idp: Idp) {
    let request = idp.auth_request().set("login_hint", &idp.member.username);

    idp.code_flow(&idp.browser(), &request).await;
}

/// oidcc-ui-locales: `ui_locales=en` gives the English login page (Japanese is the default).
async fn oidcc_ui_locales(idp: Idp) {
    let browser = idp.browser();
    let request = idp.auth_request().set("ui_locales", "en");

    let default_page = idp.browser().authorize(&idp.auth_request()).await;
    let page = browser.authorize(&request).await;
    let callback = idp.log_in_on(&browser, &page, &request).await;

    assert_eq!(default_page.html_lang().as_deref(), Some("ja"), "the login page is Japanese by default");
    let lang = page.html_lang().unwrap_or_default();
    assert!(lang == "en" || lang.starts_with("en-"), "ui_locales=en gave lang {lang:?}");
    idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;
}

/// oidcc-claims-locales
async fn oidcc_claims_locales(idp: Idp) {
    let request = idp.auth_request().set("claims_locales", "ja");

    idp.code_flow(&idp.browser(), &request).await;
}

/// oidcc-ensure-request-with-acr-values-succeeds: and the ID token has an `acr`.
async fn oidcc_ensure_request_with_acr_values_succeeds(idp: Idp) {
    let request = idp.auth_request().set("acr_values", "1 2");

    let flow = idp.code_flow(&idp.browser(), &request).await;

    assert!(flow.id_token.str_claim("acr").is_some(), "an acr claim is expected");
}

/// oidcc-codereuse: a code works once.
async fn oidcc_codereuse(idp: Idp) {
    let callback = idp.sign_in(&idp.browser(), &idp.auth_request()).await;
    expect_tokens(idp.exchange(&idp.client, ClientAuth::Basic, callback.code(), None).await).await;

    let reused = idp.exchange(&idp.client, ClientAuth::Basic, callback.code(), None).await;

    assert_token_error(reused, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// oidcc-codereuse-30seconds: reuse 30 s later must fail, and revokes the first access token.
async fn oidcc_codereuse_30seconds(idp: Idp) {
    let request = idp.auth_request();
    let callback = idp.sign_in(&idp.browser(), &request).await;
    let first = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;
    let tokens = first.tokens;
    expect_userinfo(idp.userinfo(&tokens.access_token).await, first.id_token.sub()).await;
    idp.advance(Duration::seconds(30));

    let reused = idp.exchange(&idp.client, ClientAuth::Basic, callback.code(), None).await;
    let userinfo = idp.userinfo(&tokens.access_token).await;

    assert_token_error(reused, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_invalid_token(&userinfo);
}

/// oidcc-ensure-registered-redirect-uri: an unregistered redirect URI (here one that merely
/// extends the registered one) gets the error page, never a redirect.
async fn oidcc_ensure_registered_redirect_uri(idp: Idp) {
    let unregistered = format!("{}/{}", idp.client.redirect_uri, shared_crypto::random::token());
    let request = idp.auth_request().set("redirect_uri", &unregistered);

    let page = idp.browser().authorize(&request).await;

    assert_error_page(&page);
}

/// oidcc-ensure-post-request-succeeds
async fn oidcc_ensure_post_request_succeeds(idp: Idp) {
    let browser = idp.browser();
    let request = idp.auth_request();

    let page = browser.authorize_post(&request).await;
    let callback = idp.log_in_on(&browser, &page, &request).await;

    idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;
}

/// oidcc-server-client-secret-post
async fn oidcc_server_client_secret_post(idp: Idp) {
    let request = idp.auth_request();

    let callback = idp.sign_in(&idp.browser(), &request).await;
    let flow = idp.redeem(&idp.client, &callback, &request, ClientAuth::Post).await;

    assert_eq!(flow.id_token.sub(), idp.member.sub);
}

/// The suite's request object: the request's parameters as claims, plus `iss` and `aud`,
/// unsigned.
fn unsigned_request_object(idp: &Idp, request: &AuthRequest) -> String {
    let mut claims: Map<String, Value> =
        request.params().iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    claims.insert("iss".to_owned(), Value::String(idp.client.client_id.clone()));
    claims.insert("aud".to_owned(), Value::String(idp.issuer.clone()));
    unsecured_jwt(&json!({"alg": "none"}), &Value::Object(claims))
}

/// oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: discovery says
/// `request_uri` is not supported, so it is rejected as such.
async fn oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(idp: Idp) {
    let request = idp.auth_request().set("request_uri", "https://rp.example.test/requests/1.jwt");

    let page = idp.browser().authorize(&request).await;

    assert_error_redirect(&page, &request, &idp.issuer, &["request_uri_not_supported"]);
}

/// oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported
async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(idp: Idp) {
    let plain = idp.auth_request();
    let request = plain.clone().set("request", &unsigned_request_object(&idp, &plain));

    let page = idp.browser().authorize(&request).await;

    assert_error_redirect(&page, &request, &idp.issuer, &["request_not_supported"]);
}

/// oidcc-claims-essential: `name` asked for as essential in UserInfo, with scope `openid` only.
async fn oidcc_claims_essential(idp: Idp) {
    let claims = json!({"userinfo": {"name": {"essential": true}}}).to_string();
    let request = idp.auth_request().set("claims", &claims);

    let (_, userinfo) = userinfo_after(&idp, &request).await;

    assert_eq!(userinfo.get("name").and_then(Value::as_str), Some(idp.member.display_name.as_str()));
}

/// oidcc-ensure-request-object-with-redirect-uri: the request object holds the registered
/// redirect URI, the query an unregistered one. Request objects are not supported, so the query
/// is all there is: the error page, and never a redirect to the unregistered URI.
async fn oidcc_ensure_request_object_with_redirect_uri(idp: Idp) {
    let plain = idp.auth_request();
    let object = unsigned_request_object(&idp, &plain);
    let invalid = format!("{}/invalid", idp.client.redirect_uri);
    let request = plain.set("redirect_uri", &invalid).set("request", &object);

    let page = idp.browser().authorize(&request).await;

    assert_error_page(&page);
}

/// oidcc-refresh-token: refreshing works for the client it was issued to, keeps the ID token's
/// identity (OIDC Core §12.2), and a refresh token of another client is refused.
async fn oidcc_refresh_token(idp: Idp) {
    let browser = idp.browser();
    let first = idp.code_flow(&browser, &idp.auth_request()).await;
    let refresh_token = first.tokens.refresh_token.clone().unwrap_or_else(|| panic!("no refresh token"));
    assert!(refresh_token.bytes().all(|b| (0x20..=0x7e).contains(&b)), "RFC 6749 A.17 characters");
    let other = idp.register_client("conformance-rp-2", Algorithm::ES256, None).await;
    let other_request = AuthRequest::for_client(&other);
    let other_callback = idp.silent(&browser, &other_request).await;
    let other_flow = idp.redeem(&other, &other_callback, &other_request, ClientAuth::Basic).await;
    let other_refresh = other_flow.tokens.refresh_token.unwrap_or_else(|| panic!("no refresh token"));
    idp.advance(Duration::seconds(1));

    let refreshed = idp.refresh(&idp.client, &refresh_token).await;
    let cross_client = idp.refresh(&idp.client, &other_refresh).await;

    let tokens = expect_tokens(refreshed).await;
    expect_userinfo(idp.userinfo(&tokens.access_token).await, first.id_token.sub()).await;
    if let Some(raw) = &tokens.id_token {
        let renewed = idp.verify_id_token(&idp.client, raw, Some(&tokens.access_token)).await;
        for claim in ["iss", "sub", "aud", "auth_time", "azp"] {
            assert_eq!(
                renewed.claims.get(claim),
                first.id_token.claims.get(claim),
                "refreshed ID token {claim}"
            );
        }
        assert_ne!(
            renewed.claims.get("iat"),
            first.id_token.claims.get("iat"),
            "a refreshed ID token is new"
        );
    }
    assert_token_error(cross_client, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// oidcc-ensure-request-with-valid-pkce-succeeds
async fn oidcc_ensure_request_with_valid_pkce_succeeds(idp: Idp) {
    let verifier = shared_crypto::random::token();
    let request =
        idp.auth_request().set("code_challenge", &s256(&verifier)).set("code_challenge_method", "S256");

    let callback = idp.sign_in(&idp.browser(), &request).await;
    let response = idp.exchange(&idp.client, ClientAuth::Basic, callback.code(), Some(&verifier)).await;

    let tokens = expect_tokens(response).await;
    idp.check_id_token(&idp.client, tokens.id_token(), request.get("nonce"), Some(&tokens.access_token))
        .await;
}

on_every_backend!(
    oidcc_server,
    oidcc_response_type_missing,
    oidcc_idtoken_signature,
    oidcc_idtoken_unsigned,
    oidcc_userinfo_get,
    oidcc_userinfo_post_header,
    oidcc_userinfo_post_body,
    oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
    oidcc_scope_profile,
    oidcc_scope_email,
    oidcc_scope_address,
    oidcc_scope_phone,
    oidcc_scope_all,
    oidcc_alternate_happy_flow,
    oidcc_display_page,
    oidcc_display_popup,
    oidcc_prompt_login,
    oidcc_prompt_none_not_logged_in,
    oidcc_prompt_none_logged_in,
    oidcc_max_age_1,
    oidcc_max_age_10000,
    oidcc_ensure_request_with_unknown_parameter_succeeds,
    oidcc_id_token_hint,
    oidcc_login_hint,
    oidcc_ui_locales,
    oidcc_claims_locales,
    oidcc_ensure_request_with_acr_values_succeeds,
    oidcc_codereuse,
    oidcc_codereuse_30seconds,
    oidcc_ensure_registered_redirect_uri,
    oidcc_ensure_post_request_succeeds,
    oidcc_server_client_secret_post,
    oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported,
    oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
    oidcc_claims_essential,
    oidcc_ensure_request_object_with_redirect_uri,
    oidcc_refresh_token,
    oidcc_ensure_request_with_valid_pkce_succeeds,
);
