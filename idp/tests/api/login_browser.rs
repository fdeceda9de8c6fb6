//! Driving the real login form: a kenpo with a client and two members, and browsers with their
//! own cookie jars that fetch the form and post it, as a person's browser would.

use crate::helpers::TestApp;
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::Username;
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::realms;
use kenpo_idp::store::{
    BruteForcePolicy, CredentialStore, GrantType, NewUser, Realm, RealmSettings, RealmStore, UserStore,
};
use reqwest::StatusCode;
use reqwest::cookie::{CookieStore, Jar};
use scraper::{Html, Selector};
use secrecy::SecretString;
use shared_crypto::keys::Algorithm;
use std::sync::Arc;

pub const REALM: &str = "lockout";
const CLIENT_ID: &str = "portal";
const REDIRECT_URI: &str = "https://rp.example.test/callback";
pub const INVALID: &str = "無効なユーザIDまたはパスワードです。";
pub const LOCKED: &str = "アカウントがロックされています。ご加入の健保組合までお問い合わせください。";
pub const TOO_MANY: &str = "このネットワークからのログインの失敗が多いため";

/// A member who can log in.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub username: &'static str,
    pub password: &'static str,
}

/// A running IdP with one realm (whose brute-force policy the test chose), one client and two
/// members.
pub struct Kenpo {
    pub app: TestApp,
    pub realm: Realm,
    pub taro: Member,
    pub hanako: Member,
}

impl Kenpo {
    /// Sets the realm up before any request, so no cache holds the default policy.
    pub async fn new(app: TestApp, policy: BruteForcePolicy) -> Self {
        let state = &app.state;
        let now = app.clock.now();
        let spec = realms::RealmSpec {
            name: REALM.to_owned(),
            display_name: "ロックアウト健康保険組合".to_owned(),
            host: None,
        };
        let mut realm = realms::create(&state.db, &state.master_key, spec, now)
            .await
            .unwrap_or_else(|e| panic!("create realm: {e}"));
        realm.settings = RealmSettings { brute_force: policy, ..realm.settings };
        state
            .db
            .update_realm_settings(&realm.id, &realm.settings)
            .await
            .unwrap_or_else(|e| panic!("realm settings: {e}"));
        let client = ClientSpec {
            client_id: CLIENT_ID.to_owned(),
            name: None,
            confidential: true,
            secret: Some(SecretString::from(shared_crypto::random::token())),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::AuthorizationCode],
            pkce_required: false,
            signing_alg: Algorithm::ES256,
            jwks: None,
            rotate_refresh_tokens: true,
            audiences: vec![],
        };
        clients::create(&state.db, &state.master_key, &realm, client, now)
            .await
            .unwrap_or_else(|e| panic!("create client: {e}"));
        let taro = member(&app, &realm, "taro1234", "Correct-horse-1").await;
        let hanako = member(&app, &realm, "hanako12", "Correct-horse-2").await;
        Self { app, realm, taro, hanako }
    }

    /// Moves the server's clock.
    pub fn advance(&self, by: time::Duration) {
        self.app.clock.advance(by);
    }

    fn realm_url(&self) -> reqwest::Url {
        let url = self.app.url(&format!("/realms/{REALM}/"));
        reqwest::Url::parse(&url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }
}

async fn member(app: &TestApp, realm: &Realm, username: &'static str, password: &'static str) -> Member {
    let new = NewUser {
        username: Username::parse_chosen(username).unwrap_or_else(|e| panic!("{e}")),
        issued_username: None,
        email: None,
        email_verified: false,
        display_name: "健保 太郎".to_owned(),
        birthdate: None,
        relationship: None,
        temporary_id: false,
        required_actions: vec![],
        locale: None,
    };
    let now = app.clock.now();
    let user = app.state.db.create_user(&realm.id, new, now).await.unwrap_or_else(|e| panic!("member: {e}"));
    let hash = shared_crypto::password::hash_password(password).unwrap_or_else(|e| panic!("hash: {e}"));
    app.state.db.set_password(&user.id, &hash, now).await.unwrap_or_else(|e| panic!("password: {e}"));
    Member { id: user.id, username, password }
}

/// What the member saw after posting the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Sent back to the client with a code.
    Code,
    /// The form again with 「無効なユーザIDまたはパスワードです。」.
    Invalid,
    /// The form again with the locked message.
    Locked,
    /// The 429 page.
    TooMany,
    Other(u16, String),
}

/// One response to the login form.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Reply {
    pub fn seen(&self) -> Seen {
        let code = self
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with(&format!("{REDIRECT_URI}?")) && l.contains("code="));
        match self.status {
            StatusCode::SEE_OTHER if code => Seen::Code,
            StatusCode::OK if self.body.contains(LOCKED) && !self.body.contains(INVALID) => Seen::Locked,
            StatusCode::OK if self.body.contains(INVALID) && !self.body.contains(LOCKED) => Seen::Invalid,
            StatusCode::TOO_MANY_REQUESTS if self.body.contains(TOO_MANY) => Seen::TooMany,
            other => Seen::Other(other.as_u16(), self.body.chars().take(400).collect()),
        }
    }

    /// The page without what differs between any two renderings of the form: the echoed user
    /// ID, the action (its tab id) and the CSRF token.
    pub fn page_without(&self, username: &str) -> String {
        let html = Html::parse_document(&self.body);
        let mut page = html.html();
        for (css, name) in [("form#kc-form-login", "action"), ("input[name=csrf_token]", "value")] {
            let selector = Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e:?}"));
            if let Some(value) = html.select(&selector).next().and_then(|e| e.value().attr(name)) {
                // The tab id also appears in the page's links (recovery, language).
                if let Some(tab) = value.split("tab_id=").nth(1).and_then(|t| t.split('&').next()) {
                    page = page.replace(tab, "");
                }
                page = page.replace(value, "");
            }
        }
        page.replace(&format!("value=\"{username}\""), "value=\"\"")
    }

    /// The `Set-Cookie` header for `name`, if the reply set it.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies.iter().find(|c| c.starts_with(&format!("{name}="))).map(String::as_str)
    }
}

/// A browser: its own cookie jar, no redirects followed.
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    pub fn new() -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("browser: {e}"));
        Self { http, jar }
    }

    /// A fresh browser that holds one cookie for the realm's path.
    pub fn holding(kenpo: &Kenpo, name: &str, value: &str) -> Self {
        let browser = Self::new();
        browser.jar.add_cookie_str(&format!("{name}={value}; Path=/realms/{REALM}/"), &kenpo.realm_url());
        browser
    }

    /// The value of a cookie this browser holds for the realm.
    pub fn cookie(&self, kenpo: &Kenpo, name: &str) -> Option<String> {
        let header = self.jar.cookies(&kenpo.realm_url())?;
        let header = header.to_str().ok()?.to_owned();
        header.split("; ").find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// Opens the login page for the client and posts the form.
    pub async fn log_in(&self, kenpo: &Kenpo, username: &str, password: &str) -> Reply {
        let (action, csrf) = self.login_form(kenpo).await;
        self.post_login(&action, &csrf, username, password).await
    }

    /// The login page's form action and CSRF token.
    pub async fn login_form(&self, kenpo: &Kenpo) -> (String, String) {
        let auth = kenpo.app.url(&format!("/realms/{REALM}/protocol/openid-connect/auth"));
        let query = [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("state", "s-1"),
            ("nonce", "n-1"),
            // The form even when an earlier test step left a session.
            ("prompt", "login"),
        ];
        let page =
            self.http.get(&auth).query(&query).send().await.unwrap_or_else(|e| panic!("GET {auth}: {e}"));
        assert_eq!(page.status(), StatusCode::OK);
        let body = page.text().await.unwrap_or_else(|e| panic!("login page: {e}"));
        let html = Html::parse_document(&body);
        let select = |css: &str| Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e:?}"));
        let attr = |css: &str, name: &str| {
            html.select(&select(css))
                .next()
                .and_then(|e| e.value().attr(name))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no {css} {name} in the login page:\n{body}"))
        };
        let action = attr("form#kc-form-login", "action");
        (kenpo.app.url(&action), attr("input[name=csrf_token]", "value"))
    }

    /// Posts a login form fetched earlier.
    pub async fn post_login(&self, action: &str, csrf: &str, username: &str, password: &str) -> Reply {
        self.post_form(action, &[("csrf_token", csrf), ("username", username), ("password", password)]).await
    }

    /// Posts `fields` to `action` (a full URL), as the browser submits any form of the login.
    pub async fn post_form(&self, action: &str, fields: &[(&str, &str)]) -> Reply {
        let response =
            self.http.post(action).form(fields).send().await.unwrap_or_else(|e| panic!("POST {action}: {e}"));
        Reply::of(response).await
    }

    /// Follows a redirect of the login (`location`, absolute or a path of the app).
    pub async fn get(&self, kenpo: &Kenpo, location: &str) -> Reply {
        let url = if location.starts_with('/') { kenpo.app.url(location) } else { location.to_owned() };
        let response = self.http.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        Reply::of(response).await
    }
}

impl Reply {
    async fn of(response: reqwest::Response) -> Self {
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let location = header(reqwest::header::LOCATION);
        let set_cookies = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let status = response.status();
        let body = response.text().await.unwrap_or_else(|e| panic!("login reply: {e}"));
        Reply { status, location, set_cookies, body }
    }
}
