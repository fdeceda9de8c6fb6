//! `oidcc-backchannel-rp-initiated-logout-certification-test-plan` ("Back-Channel OP"): the RP
//! here is real enough to be called: a tiny HTTP receiver on loopback, registered as the
//! client's `backchannel_logout_uri`, hands each request it gets to the test.

use crate::helpers::*;
use axum::http::HeaderMap;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::routing::post;
use serde_json::{Map, Value};
use shared_crypto::keys::Algorithm;
use tokio::sync::{mpsc, oneshot};

const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// One request the RP's back-channel endpoint received.
#[derive(Debug)]
struct Delivery {
    content_type: String,
    form: Vec<(String, String)>,
}

/// The RP's back-channel logout endpoint; it stops when dropped.
#[derive(Debug)]
struct Receiver {
    url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("receiver bind: {e}"));
        let port = listener.local_addr().unwrap_or_else(|e| panic!("receiver address: {e}")).port();
        let (sender, deliveries) = mpsc::unbounded_channel();
        let endpoint = move |headers: HeaderMap, body: String| {
            let sender = sender.clone();
            async move {
                let content_type =
                    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let form = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let _ = sender.send(Delivery { content_type, form });
                // OIDC Back-Channel Logout §2.8: 200, not cached.
                [(CACHE_CONTROL, "no-store")]
            }
        };
        let router = axum::Router::new().route("/backchannel_logout", post(endpoint));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { url: format!("http://127.0.0.1:{port}/backchannel_logout"), deliveries, _stop: stop }
    }

    /// The next delivery; the IdP may send it after answering the browser, so allow it a moment.
    async fn next(&mut self) -> Delivery {
        let waited = tokio::time::timeout(std::time::Duration::from_secs(10), self.deliveries.recv()).await;
        waited.ok().flatten().unwrap_or_else(|| panic!("no back-channel logout request arrived within 10 s"))
    }
}

/// OIDC Back-Channel Logout §2.4 and the suite's ValidateLogoutTokenClaims, CheckLogoutTokenNoNonce,
/// CheckLogoutTokenHasSubOrSid and CheckIdTokenSidMatchesLogoutToken / SubMatches.
fn assert_logout_token_claims(
    idp: &Idp,
    claims: &Map<String, Value>,
    client: &TestClient,
    id_token: &IdToken,
) {
    assert_eq!(claims.get("iss").and_then(Value::as_str), Some(idp.issuer.as_str()), "logout token iss");
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == client.client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client.client_id.as_str())),
        _ => false,
    };
    assert!(aud_ok, "logout token aud {:?}", claims.get("aud"));
    let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or_else(|| panic!("logout token iat"));
    assert!(iat <= idp.now().unix_timestamp() + 300, "logout token issued in the future: {iat}");
    assert!(claims.get("jti").and_then(Value::as_str).is_some_and(|j| !j.is_empty()), "logout token jti");
    let events =
        claims.get("events").and_then(Value::as_object).unwrap_or_else(|| panic!("events is not an object"));
    assert_eq!(events.len(), 1, "events holds exactly one entry: {events:?}");
    assert_eq!(events.get(LOGOUT_EVENT), Some(&Value::Object(Map::new())), "the back-channel logout event");
    assert!(claims.get("nonce").is_none(), "a logout token must not carry a nonce");
    assert_eq!(
        claims.get("sid").and_then(Value::as_str),
        Some(id_token.sid()),
        "logout token sid is the ID token's"
    );
    if let Some(sub) = claims.get("sub") {
        assert_eq!(sub.as_str(), Some(id_token.sub()), "logout token sub is the ID token's");
    }
}

/// oidcc-backchannel-logout-discovery-endpoint-verification
async fn oidcc_backchannel_logout_discovery_endpoint_verification(idp: Idp) {
    let discovery = idp.discovery().await;

    let flag = |name: &str| discovery.get(name).and_then(Value::as_bool);

    assert_eq!(flag("backchannel_logout_supported"), Some(true));
    assert_eq!(flag("backchannel_logout_session_supported"), Some(true), "sid is required for certification");
    let end_session = discovery.get("end_session_endpoint").and_then(Value::as_str);
    assert_eq!(end_session, Some(idp.endpoint("/protocol/openid-connect/logout").as_str()));
}

/// oidcc-backchannel-rp-initiated-logout: the IdP posts a valid logout token to the RP,
/// redirects the browser to the post-logout URI, and the session is over.
async fn oidcc_backchannel_rp_initiated_logout(idp: Idp) {
    let mut receiver = Receiver::start().await;
    let client = idp.register_client("rp-backchannel", Algorithm::ES256, Some(receiver.url.clone())).await;
    let browser = idp.browser();
    let request = AuthRequest::for_client(&client);
    let callback = idp.sign_in(&browser, &request).await;
    let flow = idp.redeem(&client, &callback, &request, ClientAuth::Basic).await;
    let state = shared_crypto::random::token();

    let page = browser
        .logout(&[
            ("id_token_hint", &flow.id_token.raw),
            ("post_logout_redirect_uri", &client.post_logout_redirect_uri),
            ("state", &state),
        ])
        .await;
    let delivery = receiver.next().await;

    assert_post_logout_redirect(&page, &client.post_logout_redirect_uri, Some(&state));
    assert!(
        delivery.content_type.starts_with("application/x-www-form-urlencoded"),
        "{:?}",
        delivery.content_type
    );
    let names: Vec<&str> = delivery.form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["logout_token"], "the back-channel request carries the logout token only");
    let jwks = idp.jwks().await;
    let verified = shared_crypto::jws::verify(
        &delivery.form[0].1,
        &jwks,
        &[Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA],
    )
    .unwrap_or_else(|e| panic!("logout token signature: {e}"));
    let claims: Map<String, Value> =
        serde_json::from_slice(&verified.payload).unwrap_or_else(|e| panic!("logout token claims: {e}"));
    assert_logout_token_claims(&idp, &claims, &client, &flow.id_token);
    idp.assert_logged_out(&browser, &client).await;
}

on_every_backend!(
    oidcc_backchannel_logout_discovery_endpoint_verification,
    oidcc_backchannel_rp_initiated_logout
);
