//! The admin REST API's harness and its doors: who may call what. Every refusal is a 401 or
//! 403 that carries no member data, and is itself an admin event.

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::{Kenpo, REALM};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::{AdminRole, Principal};
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::realms;
use kenpo_idp::store::{AdminStore, BruteForcePolicy, GrantType, UserStore as _};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use shared_crypto::keys::Algorithm;

on_every_backend!(
    refusals_are_401_or_403_and_never_carry_data,
    a_role_revoked_or_an_account_disabled_stops_at_the_next_call,
    roles_are_granted_by_the_operators_command,
);

/// A kenpo with three service accounts: `ops-admin` (realm-admin), `ops-viewer` (view-users)
/// and `ops-none` (no role).
pub struct Admin {
    pub kenpo: Kenpo,
    secrets: Vec<(&'static str, String)>,
}

/// One answer of the API.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub async fn service_account(app: &TestApp, realm: &kenpo_idp::store::Realm, client_id: &str) -> String {
    let spec = ClientSpec {
        client_id: client_id.to_owned(),
        name: None,
        confidential: true,
        secret: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::ClientCredentials],
        pkce_required: false,
        signing_alg: Algorithm::ES256,
        jwks: None,
        rotate_refresh_tokens: false,
        audiences: vec![],
    };
    let (_, secret) = clients::create(&app.state.db, &app.state.master_key, realm, spec, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{client_id}: {e}"));
    secret.map(|s| s.expose_secret().to_owned()).unwrap_or_default()
}

impl Admin {
    pub async fn new(app: TestApp) -> Self {
        let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
        let mut secrets = Vec::new();
        for (client, role) in [
            ("ops-admin", Some(AdminRole::RealmAdmin)),
            ("ops-viewer", Some(AdminRole::ViewUsers)),
            ("ops-none", None),
        ] {
            let secret = service_account(&kenpo.app, &kenpo.realm, client).await;
            if let Some(role) = role {
                let who = Principal::ServiceAccount(client.to_owned());
                kenpo
                    .app
                    .state
                    .db
                    .grant_role(&kenpo.realm.id, &who, role)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            secrets.push((client, secret));
        }
        Self { kenpo, secrets }
    }

    pub fn app(&self) -> &TestApp {
        &self.kenpo.app
    }

    /// A client_credentials token of one of the service accounts, from the token endpoint.
    pub async fn token(&self, client: &str) -> String {
        let secret = self.secrets.iter().find(|(c, _)| *c == client).map(|(_, s)| s.clone());
        token_of(self.app(), REALM, client, &secret.unwrap_or_default()).await
    }

    /// `method path` with the token (none when `None`) and a JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        call(self.app(), method, path, token, body).await
    }
}

pub async fn token_of(app: &TestApp, realm: &str, client: &str, secret: &str) -> String {
    let url = app.url(&format!("/realms/{realm}/protocol/openid-connect/token"));
    let response = app
        .http
        .post(&url)
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_else(|e| panic!("token answer: {e}"));
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap_or_default().to_owned()
}

pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let url = app.url(path);
    let mut request = app.http.request(method.clone(), &url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.text().await.unwrap_or_default();
    Answer { status, location, body }
}

fn users_path() -> String {
    format!("/admin/realms/{REALM}/users")
}

async fn refusals_are_401_or_403_and_never_carry_data(app: TestApp) {
    let admin = Admin::new(app).await;
    let taro = admin.kenpo.taro.clone();
    let user_path = format!("{}/{}", users_path(), taro.id);
    let viewer = admin.token("ops-viewer").await;
    let nobody = admin.token("ops-none").await;

    // Another realm's token, from a client of the same name and role there.
    let now = admin.app().clock.now();
    let spec =
        realms::RealmSpec { name: "other".to_owned(), display_name: "他健保".to_owned(), host: None };
    let other = realms::create(&admin.app().state.db, &admin.app().state.master_key, spec, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let secret = service_account(admin.app(), &other, "ops-admin").await;
    let who = Principal::ServiceAccount("ops-admin".to_owned());
    admin
        .app()
        .state
        .db
        .grant_role(&other.id, &who, AdminRole::RealmAdmin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let foreign = token_of(admin.app(), "other", "ops-admin", &secret).await;
    let forged = format!("{}x", &viewer[..viewer.len() - 1]);

    for (token, why) in [
        (None, "no token"),
        (Some("not-a-jwt"), "garbage"),
        (Some(forged.as_str()), "bad signature"),
        (Some(foreign.as_str()), "another realm's token"),
    ] {
        let answer = admin.call(Method::GET, &user_path, token, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{why}: {}", answer.body);
        assert!(!answer.body.contains("taro1234"), "{why}: {}", answer.body);
    }
    let no_token = admin.call(Method::GET, &user_path, None, None).await;
    assert_eq!(no_token.json()["error"], "HTTP 401 Unauthorized");

    // The viewer reads but does not change; the role-less account does neither.
    let read = admin.call(Method::GET, &user_path, Some(&viewer), None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.json()["username"], "taro1234");
    let change = admin
        .call(Method::PUT, &user_path, Some(&viewer), Some(serde_json::json!({ "enabled": false })))
        .await;
    assert_eq!(change.status, StatusCode::FORBIDDEN, "{}", change.body);
    let events = admin.call(Method::GET, &format!("/admin/realms/{REALM}/events"), Some(&viewer), None).await;
    assert_eq!(events.status, StatusCode::FORBIDDEN);
    for (method, path) in [
        (Method::GET, user_path.clone()),
        (Method::GET, users_path()),
        (Method::GET, format!("/admin/realms/{REALM}/clients")),
    ] {
        let answer = admin.call(method.clone(), &path, Some(&nobody), None).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}: {}", answer.body);
        assert!(!answer.body.contains("taro1234") && !answer.body.contains("portal"), "{}", answer.body);
    }
    let still = admin.app().state.db.user_by_id(&admin.kenpo.realm.id, &taro.id).await.ok().flatten();
    assert!(still.is_some_and(|u| u.enabled), "the refused change changed nothing");

    // The token expires with the realm's access-token lifespan (5 minutes).
    admin.kenpo.advance(time::Duration::minutes(6));
    let expired = admin.call(Method::GET, &user_path, Some(&viewer), None).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);

    // Each refusal of a known caller is an admin event with its error.
    let admin_token = admin.token("ops-admin").await;
    let path = format!("/admin/realms/{REALM}/admin-events?authClient=ops-viewer&operationTypes=UPDATE");
    let refused = admin.call(Method::GET, &path, Some(&admin_token), None).await.json();
    let refused = refused.as_array().cloned().unwrap_or_default();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["error"], "forbidden");
    assert_eq!(refused[0]["resourcePath"], format!("users/{}", taro.id));
    assert_eq!(refused[0]["authDetails"]["clientId"], "ops-viewer");
}

async fn a_role_revoked_or_an_account_disabled_stops_at_the_next_call(app: TestApp) {
    let admin = Admin::new(app).await;
    let viewer = admin.token("ops-viewer").await;
    let path = users_path();
    assert_eq!(admin.call(Method::GET, &path, Some(&viewer), None).await.status, StatusCode::OK);

    let who = Principal::ServiceAccount("ops-viewer".to_owned());
    let revoked = admin.app().state.db.revoke_role(&admin.kenpo.realm.id, &who, AdminRole::ViewUsers).await;
    assert_eq!(revoked.ok(), Some(true));
    // The same token, still within its lifetime: the role is read at each call.
    assert_eq!(admin.call(Method::GET, &path, Some(&viewer), None).await.status, StatusCode::FORBIDDEN);

    // A client deleted through the API: its tokens stop at once.
    let admin_token = admin.token("ops-admin").await;
    let listed = admin
        .call(
            Method::GET,
            &format!("/admin/realms/{REALM}/clients?clientId=ops-viewer"),
            Some(&admin_token),
            None,
        )
        .await;
    let id = listed.json()[0]["id"].as_str().unwrap_or_default().to_owned();
    let gone = admin
        .call(Method::DELETE, &format!("/admin/realms/{REALM}/clients/{id}"), Some(&admin_token), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    assert_eq!(admin.call(Method::GET, &path, Some(&viewer), None).await.status, StatusCode::UNAUTHORIZED);
}

async fn roles_are_granted_by_the_operators_command(app: TestApp) {
    let admin = Admin::new(app).await;
    let run = |args: &[&str]| {
        let output = admin.app().cli(args);
        let said =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), said)
    };
    let (ok, said) = run(&["admin", "grant-role", "--realm", REALM, "--client", "ops-none", "view-events"]);
    assert!(ok && said.contains("client ops-none's service account holds view-events"), "{said}");
    let (ok, said) = run(&["admin", "grant-role", "--realm", REALM, "--user", "hanako12", "manage-users"]);
    assert!(ok, "{said}");
    let (ok, said) = run(&["admin", "roles", "--realm", REALM, "--user", "hanako12"]);
    assert!(ok && said.contains("manage-users"), "{said}");
    let (bad_role, said_role) =
        run(&["admin", "grant-role", "--realm", REALM, "--client", "ops-none", "god"]);
    assert!(!bad_role && said_role.contains("unknown role \"god\""), "{said_role}");
    // A client without client_credentials has no service account to hold a role.
    let (no_account, said_portal) =
        run(&["admin", "grant-role", "--realm", REALM, "--client", "portal", "view-users"]);
    assert!(!no_account && said_portal.contains("no service account"), "{said_portal}");

    let token = admin.token("ops-none").await;
    let events = admin.call(Method::GET, &format!("/admin/realms/{REALM}/events"), Some(&token), None).await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    let users = admin.call(Method::GET, &users_path(), Some(&token), None).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN, "view-events holds no view-users");
}
