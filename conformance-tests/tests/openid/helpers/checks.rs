//! The checks every module shares, after the suite's conditions: the authorization response
//! (`state`, `iss`), the token response, ID token validation (signature against the JWKS, then
//! the claims), UserInfo, and the error shapes (redirects, error pages, RFC 6749 §5.2 bodies,
//! RFC 6750 §3 challenges).

use super::browser::{AuthRequest, Browser, Callback, Page, excerpt};
use super::{Idp, TestClient};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256, Sha512};
use shared_crypto::jws::{self, Header};
use shared_crypto::keys::{Algorithm, JwkSet};

const TOKEN: &str = "/protocol/openid-connect/token";
const USERINFO: &str = "/protocol/openid-connect/userinfo";
const CERTS: &str = "/protocol/openid-connect/certs";

/// The skew the suite allows on `iat` and `auth_time` ("5 minute allowable skew for testing").
const SKEW_SECONDS: i64 = 300;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`, the plan's default.
    Basic,
    /// `client_secret_post`.
    Post,
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl TokenResponse {
    pub fn id_token(&self) -> &str {
        self.id_token.as_deref().unwrap_or_else(|| panic!("the token response has no id_token"))
    }
}

/// An ID token whose signature and standard claims were checked.
#[derive(Debug, Clone)]
pub struct IdToken {
    pub raw: String,
    pub header: Header,
    pub claims: Map<String, Value>,
}

impl IdToken {
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The `amr` claim's values, in order.
    pub fn amr(&self) -> Vec<&str> {
        let values = self.claims.get("amr").and_then(Value::as_array);
        values.map(|v| v.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
    }

    pub fn sub(&self) -> &str {
        self.str_claim("sub").unwrap_or_default()
    }

    pub fn sid(&self) -> &str {
        self.str_claim("sid").unwrap_or_default()
    }

    pub fn auth_time(&self) -> i64 {
        self.claims.get("auth_time").and_then(Value::as_i64).unwrap_or_else(|| panic!("no auth_time"))
    }
}

/// A completed code flow: the tokens and the checked ID token.
#[derive(Debug, Clone)]
pub struct Flow {
    pub tokens: TokenResponse,
    pub id_token: IdToken,
}

impl Idp {
    /// A JSON metadata document under the issuer (`/.well-known/…`), which must be served as
    /// `application/json` with 200.
    pub async fn metadata(&self, path: &str) -> Value {
        let response =
            self.http.get(self.endpoint(path)).send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_json(&response);
        response.json().await.unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
    }

    pub async fn discovery(&self) -> Value {
        self.metadata("/.well-known/openid-configuration").await
    }

    pub async fn jwks(&self) -> JwkSet {
        let response =
            self.http.get(self.endpoint(CERTS)).send().await.unwrap_or_else(|e| panic!("JWKS: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "JWKS");
        response.json().await.unwrap_or_else(|e| panic!("JWKS is not a JWK set: {e}"))
    }

    /// Authorization request → login page → the member's credentials → the callback.
    pub async fn sign_in(&self, browser: &Browser, request: &AuthRequest) -> Callback {
        let page = browser.authorize(request).await;
        self.log_in_on(browser, &page, request).await
    }

    /// Fills in the login form `page` shows and returns the callback it leads to.
    pub async fn log_in_on(&self, browser: &Browser, page: &Page, request: &AuthRequest) -> Callback {
        let form = page.login_form();
        let after = browser.submit_login(&form, &self.member.username, &self.member.password).await;
        self.check_callback(&after, request)
    }

    /// A request the SSO session answers straight away, with no page in between.
    pub async fn silent(&self, browser: &Browser, request: &AuthRequest) -> Callback {
        let page = browser.authorize(request).await;
        assert!(page.find_login_form().is_none(), "the IdP asked to log in again despite the session");
        self.check_callback(&page, request)
    }

    /// A successful authorization response: a code, the request's `state`, and `iss` (RFC 9207).
    pub fn check_callback(&self, page: &Page, request: &AuthRequest) -> Callback {
        self.check_callback_url(page.redirect_target(), request)
    }

    /// [`Idp::check_callback`] for the address a real browser landed at.
    pub fn check_callback_url(&self, url: url::Url, request: &AuthRequest) -> Callback {
        let callback = Callback::from_url(url, request.param("redirect_uri"));
        assert_eq!(
            callback.get("error"),
            None,
            "authorization failed: {:?}",
            callback.get("error_description")
        );
        assert!(!callback.code().is_empty(), "an empty code");
        assert_eq!(callback.get("state"), request.get("state"), "state must come back unchanged");
        assert_eq!(callback.get("iss"), Some(self.issuer.as_str()), "iss (RFC 9207)");
        callback
    }

    /// A token request with the client's credentials added the `auth` way.
    pub async fn token_request(
        &self,
        client: &TestClient,
        auth: ClientAuth,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let request = self.http.post(self.endpoint(TOKEN));
        let request = match auth {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
                let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                request.basic_auth(encode(&client.client_id), Some(encode(&client.secret)))
            }
            ClientAuth::Post => {
                fields.push(("client_id", &client.client_id));
                fields.push(("client_secret", &client.secret));
                request
            }
        };
        request.form(&fields).send().await.unwrap_or_else(|e| panic!("token request: {e}"))
    }

    /// `grant_type=authorization_code` for `code`, with a PKCE verifier when given.
    pub async fn exchange(
        &self,
        client: &TestClient,
        auth: ClientAuth,
        code: &str,
        verifier: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        self.token_request(client, auth, &form).await
    }

    /// `grant_type=refresh_token`, asking for the scope the suite asks for (RFC 6749 §6).
    pub async fn refresh(&self, client: &TestClient, refresh_token: &str) -> reqwest::Response {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("scope", "openid")];
        self.token_request(client, ClientAuth::Basic, &form).await
    }

    /// Exchanges the callback's code and validates what comes back.
    pub async fn redeem(
        &self,
        client: &TestClient,
        callback: &Callback,
        request: &AuthRequest,
        auth: ClientAuth,
    ) -> Flow {
        let response = self.exchange(client, auth, callback.code(), None).await;
        let tokens = expect_tokens(response).await;
        let id_token = self
            .check_id_token(client, tokens.id_token(), request.get("nonce"), Some(&tokens.access_token))
            .await;
        Flow { tokens, id_token }
    }

    /// The suite's happy path for the main client: sign in, then redeem with client_secret_basic.
    pub async fn code_flow(&self, browser: &Browser, request: &AuthRequest) -> Flow {
        let callback = self.sign_in(browser, request).await;
        self.redeem(&self.client, &callback, request, ClientAuth::Basic).await
    }

    /// OIDC Core §3.1.3.7: [`Idp::verify_id_token`], and the request's `nonce` (absent exactly
    /// when none was sent).
    pub async fn check_id_token(
        &self,
        client: &TestClient,
        raw: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> IdToken {
        let token = self.verify_id_token(client, raw, access_token).await;
        assert_eq!(token.str_claim("nonce"), nonce, "ID token nonce (absent exactly when none was sent)");
        token
    }

    /// The signature against the realm's JWKS with the client's algorithm and a `kid`, then
    /// `iss`, `aud`, `azp`, `exp`, `iat`, `auth_time`, `at_hash` (for `access_token`), and the
    /// claims the contract promises (`acr`, `amr`, `sid`).
    pub async fn verify_id_token(
        &self,
        client: &TestClient,
        raw: &str,
        access_token: Option<&str>,
    ) -> IdToken {
        let jwks = self.jwks().await;
        let verified = jws::verify(raw, &jwks, &[client.alg])
            .unwrap_or_else(|e| panic!("ID token signature ({} expected): {e}", client.alg));
        let kid = verified.header.kid.as_deref().unwrap_or_else(|| panic!("the ID token header has no kid"));
        assert!(jwks.keys.iter().any(|k| k.kid.as_deref() == Some(kid)), "kid {kid} is not in the JWKS");
        let claims: Map<String, Value> =
            serde_json::from_slice(&verified.payload).unwrap_or_else(|e| panic!("ID token claims: {e}"));
        let token = IdToken { raw: raw.to_owned(), header: verified.header, claims };
        let now = self.now().unix_timestamp();
        let number = |name: &str| {
            token
                .claims
                .get(name)
                .and_then(Value::as_i64)
                .unwrap_or_else(|| panic!("ID token {name} is not a number"))
        };
        assert_eq!(token.str_claim("iss"), Some(self.issuer.as_str()), "ID token iss");
        let sub = token.sub();
        assert!(!sub.is_empty() && sub.len() <= 255, "ID token sub {sub:?}");
        check_audience(&token.claims, &client.client_id);
        let (exp, iat, auth_time) = (number("exp"), number("iat"), number("auth_time"));
        assert!(exp > now, "the ID token expired at {exp} (now {now})");
        assert!(iat <= now + SKEW_SECONDS && exp > iat, "ID token iat {iat}, exp {exp}, now {now}");
        assert!(auth_time <= iat + SKEW_SECONDS, "auth_time {auth_time} after iat {iat}");
        assert!(token.str_claim("acr").is_some_and(|a| !a.is_empty()), "ID token acr");
        let amr = token.claims.get("amr").and_then(Value::as_array);
        assert!(
            amr.is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)),
            "ID token amr: {amr:?}"
        );
        assert!(!token.sid().is_empty(), "ID token sid (required for back-channel logout)");
        if let Some(access_token) = access_token {
            let expected = half_hash(client.alg, access_token);
            assert_eq!(token.str_claim("at_hash"), Some(expected.as_str()), "ID token at_hash");
        }
        token
    }

    /// The access token is a JWT (RFC 9068): `typ` `at+jwt`, signed by a key of the JWKS, our `iss`.
    pub async fn check_access_token(&self, access_token: &str) {
        let jwks = self.jwks().await;
        let verified =
            jws::verify(access_token, &jwks, &[Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA])
                .unwrap_or_else(|e| panic!("access token signature: {e}"));
        let typ = verified.header.typ.as_deref().unwrap_or_default().to_ascii_lowercase();
        assert!(typ == "at+jwt" || typ == "application/at+jwt", "access token typ {typ:?}");
        let claims: Map<String, Value> =
            serde_json::from_slice(&verified.payload).unwrap_or_else(|e| panic!("access token claims: {e}"));
        assert_eq!(claims.get("iss").and_then(Value::as_str), Some(self.issuer.as_str()), "access token iss");
    }

    /// `GET` UserInfo with the bearer token in the header.
    pub async fn userinfo(&self, access_token: &str) -> reqwest::Response {
        let request = self.http.get(self.endpoint(USERINFO)).bearer_auth(access_token);
        request.send().await.unwrap_or_else(|e| panic!("userinfo: {e}"))
    }

    /// `POST` UserInfo: the token in the header (`form` empty) or in the body (RFC 6750 §2.2).
    pub async fn userinfo_post(&self, bearer: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.post(self.endpoint(USERINFO)).form(form);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap_or_else(|e| panic!("userinfo: {e}"))
    }

    /// The session is gone: `prompt=none` now gets `login_required`.
    pub async fn assert_logged_out(&self, browser: &Browser, client: &TestClient) {
        let request = AuthRequest::for_client(client).set("prompt", "none");
        let page = browser.authorize(&request).await;
        assert_error_redirect(&page, &request, &self.issuer, &["login_required"]);
    }
}

fn check_audience(claims: &Map<String, Value>, client_id: &str) {
    match claims.get("aud") {
        Some(Value::String(aud)) => assert_eq!(aud, client_id, "ID token aud"),
        Some(Value::Array(auds)) => {
            assert!(auds.iter().any(|a| a.as_str() == Some(client_id)), "ID token aud {auds:?}");
            if auds.len() > 1 {
                let azp = claims.get("azp").and_then(Value::as_str);
                assert_eq!(azp, Some(client_id), "azp must name the client when aud has several values");
            }
        }
        other => panic!("ID token aud {other:?}"),
    }
    if let Some(azp) = claims.get("azp") {
        assert_eq!(azp.as_str(), Some(client_id), "ID token azp");
    }
}

/// `at_hash`: the left half of the hash the signing algorithm uses (SHA-512 for Ed25519).
fn half_hash(alg: Algorithm, token: &str) -> String {
    let digest = match alg {
        Algorithm::ES256 | Algorithm::RS256 => Sha256::digest(token.as_bytes()).to_vec(),
        Algorithm::EdDSA => Sha512::digest(token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

fn assert_json(response: &reqwest::Response) {
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{} answered {content_type:?}", response.url());
}

/// RFC 6749 §5.1: 200, JSON, `Cache-Control: no-store`, a Bearer token with a lifetime.
pub async fn expect_tokens(response: reqwest::Response) -> TokenResponse {
    let status = response.status();
    if status != StatusCode::OK {
        let body = response.text().await.unwrap_or_default();
        panic!("the token endpoint answered {status}: {}", excerpt(&body));
    }
    assert_json(&response);
    let cache = response.headers().get(CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(cache.contains("no-store"), "token responses must not be cached (Cache-Control {cache:?})");
    let tokens: TokenResponse = response.json().await.unwrap_or_else(|e| panic!("token response: {e}"));
    assert!(tokens.token_type.eq_ignore_ascii_case("bearer"), "token_type {:?}", tokens.token_type);
    assert!(tokens.expires_in > 0, "expires_in {}", tokens.expires_in);
    assert!(!tokens.access_token.is_empty(), "an empty access token");
    tokens
}

/// RFC 6749 §5.2: the status and the `error` code in a JSON body.
pub async fn assert_token_error(response: reqwest::Response, status: StatusCode, error: &str) {
    assert_eq!(response.status(), status, "token endpoint status (expected {error})");
    assert_json(&response);
    let body: Value = response.json().await.unwrap_or_else(|e| panic!("error body: {e}"));
    assert_eq!(body.get("error").and_then(Value::as_str), Some(error), "token endpoint error in {body}");
}

/// A successful UserInfo response for `sub`, with well-typed standard claims.
pub async fn expect_userinfo(response: reqwest::Response, sub: &str) -> Map<String, Value> {
    let status = response.status();
    if status != StatusCode::OK {
        let body = response.text().await.unwrap_or_default();
        panic!("UserInfo answered {status}: {}", excerpt(&body));
    }
    assert_json(&response);
    let claims: Map<String, Value> = response.json().await.unwrap_or_else(|e| panic!("UserInfo body: {e}"));
    assert_eq!(
        claims.get("sub").and_then(Value::as_str),
        Some(sub),
        "UserInfo sub must match the ID token's"
    );
    assert_standard_claim_types(&claims);
    claims
}

/// RFC 6750 §3: 401 with `WWW-Authenticate: Bearer …error="invalid_token"`.
pub fn assert_invalid_token(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "a bad or revoked token must be refused");
    let challenge =
        response.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "WWW-Authenticate {challenge:?}");
    assert!(challenge.contains(r#"error="invalid_token""#), "WWW-Authenticate {challenge:?}");
}

/// OIDC Core §5.1: each standard claim present has its type (the suite's
/// ValidateUserInfoStandardClaims and EnsureUserInfoBirthDateValid).
pub fn assert_standard_claim_types(claims: &Map<String, Value>) {
    for (name, value) in claims {
        let ok = match name.as_str() {
            "sub" | "name" | "given_name" | "family_name" | "middle_name" | "nickname"
            | "preferred_username" | "profile" | "picture" | "website" | "email" | "gender" | "zoneinfo"
            | "locale" | "phone_number" => value.is_string(),
            "email_verified" | "phone_number_verified" => value.is_boolean(),
            "address" => value.is_object(),
            "updated_at" => value.is_i64(),
            "birthdate" => value.as_str().is_some_and(is_birthdate),
            _ => true,
        };
        assert!(ok, "claim {name} has the wrong type or format: {value}");
    }
}

/// `YYYY-MM-DD`, `0000-MM-DD` or `YYYY` (OIDC Core §5.1).
fn is_birthdate(raw: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match raw.split('-').collect::<Vec<_>>().as_slice() {
        [y] => digits(y, 4),
        [y, m, d] => digits(y, 4) && digits(m, 2) && digits(d, 2),
        _ => false,
    }
}

/// An error sent back to the client: a 302/303 to the request's redirect URI with one of
/// `errors`, the request's `state` and our `iss`, and no code.
pub fn assert_error_redirect(page: &Page, request: &AuthRequest, issuer: &str, errors: &[&str]) {
    let callback = Callback::from_page(page, request.param("redirect_uri"));
    let error = callback.get("error").unwrap_or_else(|| panic!("expected an error, got {}", callback.url));
    assert!(errors.contains(&error), "error {error:?}, expected one of {errors:?}");
    assert_eq!(callback.get("code"), None, "an error response must not carry a code");
    assert_eq!(callback.get("state"), request.get("state"), "state must come back with the error");
    assert_eq!(callback.get("iss"), Some(issuer), "iss (RFC 9207) on the error response");
}

/// What the suite's screenshot would show when the client cannot be trusted with a redirect:
/// an HTML error page, 400, and no `Location` at all.
pub fn assert_error_page(page: &Page) {
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "error page status; body:\n{}", excerpt(&page.body));
    assert_eq!(page.location, None, "an error page must not redirect");
    assert!(page.is_html(), "the error page is for a person: HTML, not {:?}", page.content_type);
}

/// The logged-out page: 200 HTML, no redirect.
pub fn assert_logged_out_page(page: &Page) {
    assert_eq!(page.location, None, "the IdP must not redirect here");
    assert_eq!(page.status, StatusCode::OK, "logged-out page status; body:\n{}", excerpt(&page.body));
    assert!(page.is_html(), "the logged-out page is HTML, not {:?}", page.content_type);
}

/// A redirect to the registered post-logout URI with exactly `state` (or nothing) added.
pub fn assert_post_logout_redirect(page: &Page, post_logout_redirect_uri: &str, state: Option<&str>) {
    let callback = Callback::from_page(page, post_logout_redirect_uri);
    assert_eq!(callback.get("state"), state, "post-logout state");
    let expected: Vec<&str> = state.map(|_| "state").into_iter().collect();
    assert_eq!(callback.param_names(), expected, "unexpected parameters in {}", callback.url);
}

/// A metadata member that must be an array of strings.
pub fn str_array(metadata: &Value, name: &str) -> Vec<String> {
    let values =
        metadata.get(name).and_then(Value::as_array).unwrap_or_else(|| panic!("{name} is not an array"));
    values
        .iter()
        .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| panic!("{name} holds a non-string: {v}")))
        .collect()
}

/// An unsecured JWS (`alg: none`, empty signature), as the suite builds request objects and
/// tampered ID token hints.
pub fn unsecured_jwt(header: &Value, claims: &Value) -> String {
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", encode(header), encode(claims))
}

/// The claims of a JWT, read without checking anything (to copy them into a forged one).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_else(|| panic!("not a JWT"));
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_else(|e| panic!("JWT payload: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT claims: {e}"))
}

/// The PKCE S256 challenge for `verifier` (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
