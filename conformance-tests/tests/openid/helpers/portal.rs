//! The member portal beside the suite's IdP: a real `kenpo-portal` on port 0 over its own fresh
//! database (and Redis on the PostgreSQL run), registered at the IdP as a confidential client
//! with PKCE, its callback, its top page after logout and its back-channel logout URL.

use super::Idp;
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::store::GrantType;
use kenpo_portal::app::{App, AppState};
use kenpo_portal::config::Config;
use secrecy::SecretString;
use shared_crypto::keys::Algorithm;
use shared_runtime::testing::TestDatabase;

#[derive(Debug)]
pub struct Portal {
    /// `http://127.0.0.1:{port}`.
    pub url: String,
    pub state: AppState,
    _data_dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

impl Portal {
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Idp {
    pub fn on_postgres(&self) -> bool {
        self._database.is_some()
    }

    /// Starts a portal for the suite's realm and registers it at the IdP as client `portal`.
    pub async fn spawn_portal(&self) -> Portal {
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let secret = shared_crypto::random::token();
        let mut env = vec![
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
        let config = Config::load(None, env).unwrap_or_else(|e| panic!("portal configuration: {e}"));
        let app = App::build(config).await.unwrap_or_else(|e| panic!("the portal did not start: {e}"));
        let url = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        tokio::spawn(app.run_until(std::future::pending()));

        let spec = ClientSpec {
            client_id: "portal".to_owned(),
            name: Some("加入者ポータル".to_owned()),
            confidential: true,
            secret: Some(SecretString::from(secret)),
            redirect_uris: vec![format!("{url}/auth/callback")],
            post_logout_redirect_uris: vec![format!("{url}/")],
            backchannel_logout_uri: Some(format!("{url}/auth/backchannel-logout")),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            pkce_required: true,
            signing_alg: Algorithm::ES256,
            jwks: None,
            rotate_refresh_tokens: true,
        };
        clients::create(&self.state.db, &self.state.master_key, &self.realm, spec, self.now())
            .await
            .unwrap_or_else(|e| panic!("registering the portal: {e}"));
        Portal { url, state, _data_dir: data_dir, _database: database }
    }
}
