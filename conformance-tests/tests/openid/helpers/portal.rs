//! The member portal beside the suite's IdP: a real `kenpo-portal` on port 0 over its own fresh
//! database (and Redis on the PostgreSQL run), registered at the IdP as a confidential client
//! with PKCE, its callback, its top page after logout and its back-channel logout URL.

use super::{Browser, Idp, Member, Page, create_member};
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::realms::{self, RealmSpec};
use kenpo_idp::store::GrantType;
use kenpo_portal::app::{App, AppState};
use kenpo_portal::config::Config;
use kenpo_portal::flows::admin::{self, Registration};
use kenpo_portal::store::Kenpo;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use shared_crypto::MasterKey;
use shared_crypto::keys::Algorithm;
use shared_runtime::testing::TestDatabase;

#[derive(Debug)]
pub struct Portal {
    /// `http://127.0.0.1:{port}`.
    pub url: String,
    pub state: AppState,
    /// The portal's master key, which seals other kenpos' client secrets.
    pub master_key: MasterKey,
    _data_dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

impl Portal {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// A second kenpo served by the same portal: its own realm, member and client at the IdP, and
/// its own host at the portal (`localhost:{port}`, beside the first kenpo's `127.0.0.1:{port}`).
#[derive(Debug)]
pub struct SecondKenpo {
    pub kenpo: Kenpo,
    /// `http://localhost:{port}`.
    pub url: String,
    pub issuer: String,
    pub member: Member,
}

impl SecondKenpo {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// The portal's client at a realm: confidential, PKCE, code and refresh, back-channel logout.
fn portal_client(client_id: &str, secret: &str, url: &str) -> ClientSpec {
    ClientSpec {
        client_id: client_id.to_owned(),
        name: Some("加入者ポータル".to_owned()),
        confidential: true,
        secret: Some(SecretString::from(secret.to_owned())),
        redirect_uris: vec![format!("{url}/auth/callback")],
        post_logout_redirect_uris: vec![format!("{url}/")],
        backchannel_logout_uri: Some(format!("{url}/auth/backchannel-logout")),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        pkce_required: true,
        signing_alg: Algorithm::ES256,
        jwks: None,
        rotate_refresh_tokens: true,
        audiences: vec![],
    }
}

/// Portal 「ログイン」 at `base` → the realm's login page → credentials → callback → back on
/// `path`, signed in.
pub async fn log_in_at(browser: &Browser, base: &str, issuer: &str, member: &Member, path: &str) -> Page {
    let start = browser.get(&format!("{base}/auth/login?return_to={path}")).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "the portal sends the browser to the IdP");
    let authorize = start.redirect_target();
    assert!(authorize.as_str().starts_with(issuer), "to the kenpo's realm {issuer}: {authorize}");
    let params: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(params.get("code_challenge_method").map(String::as_str), Some("S256"), "PKCE");
    assert!(params.get("nonce").is_some_and(|n| n.len() >= 22), "a nonce");
    let login_page = browser.follow(&start).await;
    let form = login_page.login_form();
    let callback = browser.submit_login(&form, &member.username, &member.password).await;
    let target = callback.redirect_target();
    assert!(target.as_str().starts_with(&format!("{base}/auth/callback")), "back to the portal: {target}");
    let landed = browser.follow(&callback).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    assert_eq!(landed.redirect_target().path(), path);
    browser.follow(&landed).await
}

impl Idp {
    pub fn on_postgres(&self) -> bool {
        self._database.is_some()
    }

    /// Starts a portal for the suite's realm and registers it at the IdP as client `portal`.
    pub async fn spawn_portal(&self) -> Portal {
        self.spawn_portal_with(&[]).await
    }

    /// [`Idp::spawn_portal`] with more `KENPO_PORTAL_*` settings (an SMTP URL, a mail domain).
    pub async fn spawn_portal_with(&self, settings: &[(&str, &str)]) -> Portal {
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let secret = shared_crypto::random::token();
        let master_key = MasterKey::generate();
        let mut env = vec![
            ("KENPO_PORTAL_MASTER_KEY".to_owned(), master_key.to_base64().expose_secret().to_owned()),
            ("KENPO_PORTAL_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("KENPO_PORTAL_DATA_DIR".to_owned(), data_dir.path().display().to_string()),
            ("KENPO_PORTAL_IDP_ISSUER".to_owned(), self.issuer.clone()),
            ("KENPO_PORTAL_CLIENT_ID".to_owned(), "portal".to_owned()),
            ("KENPO_PORTAL_CLIENT_SECRET".to_owned(), secret.clone()),
            ("KENPO_PORTAL_KENPO_NAME".to_owned(), "コンフォーマンス健康保険組合加入者ページ".to_owned()),
        ];
        let database = if self.on_postgres() {
            let db = TestDatabase::create().await.unwrap_or_else(|| panic!("a PostgreSQL database"));
            env.push(("KENPO_PORTAL_DATABASE_URL".to_owned(), db.url.clone()));
            if let Some(url) = shared_runtime::testing::redis_url() {
                env.push(("KENPO_PORTAL_REDIS_URL".to_owned(), url));
            }
            Some(db)
        } else {
            None
        };
        env.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let config = Config::load(None, env).unwrap_or_else(|e| panic!("portal configuration: {e}"));
        let app = App::build(config).await.unwrap_or_else(|e| panic!("the portal did not start: {e}"));
        let url = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        tokio::spawn(app.run_until(std::future::pending()));

        let spec = portal_client("portal", &secret, &url);
        clients::create(&self.state.db, &self.state.master_key, &self.realm, spec, self.now())
            .await
            .unwrap_or_else(|e| panic!("registering the portal: {e}"));
        Portal { url, state, master_key, _data_dir: data_dir, _database: database }
    }

    /// A second kenpo at the same portal: realm `kenpo-b` with its own member, the portal's
    /// client `portal-b` there, and the kenpo registered at the portal as an operator would
    /// (`kenpo-portal kenpo add`), its secret sealed.
    pub async fn add_second_kenpo(&self, portal: &Portal) -> SecondKenpo {
        let now = self.now();
        let spec =
            RealmSpec {
                name: "kenpo-b".to_owned(), display_name: "ビー健康保険組合".to_owned(), host: None
            };
        let realm = realms::create(&self.state.db, &self.state.master_key, spec, now)
            .await
            .unwrap_or_else(|e| panic!("creating realm kenpo-b: {e}"));
        let member = create_member(&self.state, &realm, now).await;
        let issuer = self.issuer.replace("/realms/conformance", "/realms/kenpo-b");
        let host = portal.url.replace("http://127.0.0.1:", "localhost:");
        let url = format!("http://{host}");
        let secret = shared_crypto::random::token();
        clients::create(
            &self.state.db,
            &self.state.master_key,
            &realm,
            portal_client("portal-b", &secret, &url),
            now,
        )
        .await
        .unwrap_or_else(|e| panic!("registering portal-b: {e}"));
        let registration = Registration {
            issuer: issuer.clone(),
            client_id: "portal-b".to_owned(),
            client_secret: SecretString::from(secret),
            host,
            display_name: "ビー健康保険組合加入者ページ".to_owned(),
        };
        let kenpo = admin::register_kenpo(
            &portal.state.db,
            &portal.master_key,
            registration,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap_or_else(|e| panic!("registering kenpo B at the portal: {e}"));
        SecondKenpo { kenpo, url, issuer, member }
    }
}
