//! The harness: a real IdP on port 0 over a fresh database, for each test, on each backend, with
//! one realm, one confidential client and one member made through the library (the suite's
//! "static client registration"). Everything after that goes over HTTP, as the OpenID
//! Foundation's suite would drive it.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (see `shared_runtime::testing`): without it a
//! developer's run skips the PostgreSQL variants; under CI it must be there.

mod authenticator;
mod browser;
mod checks;
pub mod chromium;
mod journey;
mod kenpo_system;
mod portal;

pub use authenticator::AuthenticatorApp;
pub use browser::{AuthRequest, Browser, LoginForm, Page};
pub use checks::{
    ClientAuth, Flow, IdToken, assert_error_page, assert_error_redirect, assert_invalid_token,
    assert_logged_out_page, assert_post_logout_redirect, assert_token_error, expect_tokens, expect_userinfo,
    jwt_claims, s256, str_array, unsecured_jwt,
};
pub use journey::{Journey, link_in};
pub use portal::{Portal, log_in_at};

use kenpo_idp::app::{App, AppState};
use kenpo_idp::clock::{Clock, FixedClock};
use kenpo_idp::config::Config;
use kenpo_idp::domain::{BirthDate, Email, Username};
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::realms::{self, RealmSpec};
use kenpo_idp::store::{CredentialStore, GrantType, NewUser, Realm, UserStore};
use secrecy::SecretString;
use shared_crypto::keys::Algorithm;
pub use shared_runtime::smtp_sink::{Received, SmtpSink};
pub use shared_runtime::testing::Backend;
use shared_runtime::testing::TestDatabase;
use std::sync::Arc;
use time::OffsetDateTime;

/// The realm every test runs in: `{address}/realms/conformance`.
pub const REALM: &str = "conformance";

/// A registered relying party, with what it registered.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub client_id: String,
    pub secret: String,
    pub redirect_uri: String,
    pub post_logout_redirect_uri: String,
    pub alg: Algorithm,
}

/// The member who logs in, and the claims the IdP should release about them.
#[derive(Debug, Clone)]
pub struct Member {
    /// The user's id: the `sub` every token must carry.
    pub sub: String,
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub email: String,
    pub birthdate: String,
    pub locale: String,
}

/// A running IdP and what a test needs to drive it.
#[derive(Debug)]
pub struct Idp {
    /// `{address}/realms/conformance`.
    pub issuer: String,
    pub state: AppState,
    /// The server's clock: tests move it instead of sleeping (max-age, code reuse after 30 s).
    pub clock: FixedClock,
    /// For back-channel calls (token, userinfo, discovery): no cookies, no redirects followed.
    pub http: reqwest::Client,
    /// The suite's main client (ES256, the realm's default algorithm).
    pub client: TestClient,
    pub member: Member,
    pub realm: Realm,
    /// The real SMTP listener the IdP sends its mail to (see [`Idp::next_mail`]).
    mail: tokio::sync::Mutex<SmtpSink>,
    _data_dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Idp {
    /// `{issuer}{path}`, for example `idp.endpoint("/protocol/openid-connect/token")`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// A fresh browser: an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.issuer)
    }

    /// The suite's default request for the main client: code, `openid`, a fresh state and nonce.
    pub fn auth_request(&self) -> AuthRequest {
        AuthRequest::for_client(&self.client)
    }

    /// The next mail the IdP sends; fails the test if none arrives within ten seconds.
    pub async fn next_mail(&self) -> Received {
        self.mail.lock().await.next().await
    }

    /// Asserts no mail arrives for half a second.
    pub async fn assert_no_mail(&self) {
        let got = self.mail.lock().await.try_next(std::time::Duration::from_millis(500)).await;
        assert!(got.is_none(), "unexpected mail: {got:?}");
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Registers another confidential client, the way an operator would (not over HTTP).
    pub async fn register_client(
        &self,
        client_id: &str,
        alg: Algorithm,
        backchannel_logout_uri: Option<String>,
    ) -> TestClient {
        let client = TestClient {
            client_id: client_id.to_owned(),
            secret: shared_crypto::random::token(),
            redirect_uri: format!("https://rp.example.test/{client_id}/callback"),
            post_logout_redirect_uri: format!("https://rp.example.test/{client_id}/post_logout_redirect"),
            alg,
        };
        let spec = ClientSpec {
            client_id: client.client_id.clone(),
            name: Some(format!("conformance RP {client_id}")),
            confidential: true,
            secret: Some(SecretString::from(client.secret.clone())),
            redirect_uris: vec![client.redirect_uri.clone()],
            post_logout_redirect_uris: vec![client.post_logout_redirect_uri.clone()],
            backchannel_logout_uri,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            // The basic plan sends PKCE only in its PKCE module.
            pkce_required: false,
            signing_alg: alg,
            jwks: None,
            rotate_refresh_tokens: true,
            audiences: vec![],
        };
        let state = &self.state;
        clients::create(&state.db, &state.master_key, &self.realm, spec, self.now())
            .await
            .unwrap_or_else(|e| panic!("registering client {client_id}: {e}"));
        client
    }
}

fn test_config(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    smtp_url: &str,
    by_name: bool,
) -> Config {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut env = Vec::new();
    if by_name {
        // The public URL must name the port before the server binds it: take a free one.
        let free = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
        let port = free.unwrap_or_else(|e| panic!("a free port: {e}")).port();
        listen = format!("127.0.0.1:{port}");
        env.push(("KENPO_IDP_PUBLIC_URL".to_owned(), format!("http://localhost:{port}")));
    }
    env.extend([
        ("KENPO_IDP_LISTEN".to_owned(), listen),
        ("KENPO_IDP_DATA_DIR".to_owned(), data_dir.display().to_string()),
        ("KENPO_IDP_SMTP_URL".to_owned(), smtp_url.to_owned()),
        ("KENPO_IDP_MAIL_DOMAIN".to_owned(), "conformance.example.jp".to_owned()),
    ]);
    if let Some(url) = database_url {
        env.push(("KENPO_IDP_DATABASE_URL".to_owned(), url.to_owned()));
        env.push((
            "KENPO_IDP_MASTER_KEY".to_owned(),
            "dGVzdC1tYXN0ZXIta2V5LW9mLXRoaXJ0eS10d28tYnk=".to_owned(),
        ));
    }
    Config::load(None, env).unwrap_or_else(|e| panic!("test configuration: {e}"))
}

/// Starts an IdP on a fresh database of `backend` with the suite's realm, client and member.
/// Returns `None` (after saying why) when a developer has no PostgreSQL; panics under CI.
pub async fn spawn_idp(backend: Backend) -> Option<Idp> {
    spawn(backend, false).await
}

/// [`spawn_idp`], with the IdP reached as `localhost`: passkeys need a domain name (WebAuthn
/// refuses an IP address), so only there does the realm offer them.
pub async fn spawn_idp_by_name(backend: Backend) -> Option<Idp> {
    spawn(backend, true).await
}

async fn spawn(backend: Backend, by_name: bool) -> Option<Idp> {
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDatabase::create().await?),
    };
    let mail = SmtpSink::start().await;
    let database_url = database.as_ref().map(|d| d.url.as_str());
    let config = test_config(data_dir.path(), database_url, &mail.url(), by_name);
    // Real time, to the second, so that cookie lifetimes and token times look sane to anyone;
    // from there on the clock moves only when a test moves it.
    let start = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|e| panic!("clock: {e}"));
    let clock = FixedClock::at(start);
    let app = App::build_with_clock(config, Arc::new(clock.clone()))
        .await
        .unwrap_or_else(|e| panic!("the IdP did not start: {e}"));
    let address = app.state().config.public_url.clone();
    let state = app.state().clone();
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stop.await;
    }));

    let now = clock.now();
    let realm = realms::create(
        &state.db,
        &state.master_key,
        RealmSpec {
            name: REALM.to_owned(),
            display_name: "コンフォーマンス健康保険組合".to_owned(),
            host: None,
        },
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("creating the realm: {e}"));
    let member = create_member(&state, &realm, now).await;
    let mut idp = Idp {
        issuer: format!("{address}/realms/{REALM}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("http client: {e}")),
        client: TestClient {
            client_id: String::new(),
            secret: String::new(),
            redirect_uri: String::new(),
            post_logout_redirect_uri: String::new(),
            alg: Algorithm::ES256,
        },
        state,
        clock,
        member,
        realm,
        mail: tokio::sync::Mutex::new(mail),
        _data_dir: data_dir,
        _database: database,
        _shutdown: shutdown,
    };
    idp.client = idp.register_client("conformance-rp", Algorithm::ES256, None).await;
    Some(idp)
}

pub(crate) async fn create_member(state: &AppState, realm: &Realm, now: OffsetDateTime) -> Member {
    let username = Username::parse_chosen("taro1234").unwrap_or_else(|e| panic!("username: {e}"));
    let email = Email::parse("taro@example.jp").unwrap_or_else(|e| panic!("email: {e}"));
    let birthdate = BirthDate::parse_iso("1979-08-22").unwrap_or_else(|e| panic!("birthdate: {e}"));
    let user = state
        .db
        .create_user(
            &realm.id,
            NewUser {
                username,
                issued_username: None,
                email: Some(email),
                email_verified: true,
                display_name: "健保 太郎".to_owned(),
                birthdate: Some(birthdate),
                relationship: None,
                temporary_id: false,
                required_actions: vec![],
                locale: Some("ja".to_owned()),
            },
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("creating the member: {e}"));
    let password = "Correct-horse-1";
    let hash = shared_crypto::password::hash_password(password).unwrap_or_else(|e| panic!("hashing: {e}"));
    state.db.set_password(&user.id, &hash, now).await.unwrap_or_else(|e| panic!("setting the password: {e}"));
    Member {
        sub: user.id,
        username: "taro1234".to_owned(),
        password: password.to_owned(),
        display_name: "健保 太郎".to_owned(),
        email: "taro@example.jp".to_owned(),
        birthdate: "1979-08-22".to_owned(),
        locale: "ja".to_owned(),
    }
}

/// Runs each listed test on SQLite and on PostgreSQL, each on a fresh database (see
/// `shared_runtime::on_every_backend!`).
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        shared_runtime::on_every_backend!(crate::helpers::spawn_idp; $($test),*);
    };
}
pub(crate) use on_every_backend;
