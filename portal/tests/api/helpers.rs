//! The harness: a real portal on port 0 over a fresh database, for each test, on each backend.

use kenpo_portal::app::{App, AppState};
use kenpo_portal::config::Config;
pub use shared_runtime::testing::Backend;
use shared_runtime::testing::TestDatabase;

/// The master key of every test portal (32 bytes, base64): other kenpos' secrets open with it.
pub const TEST_MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LW9mLWtlbnBvLXBvcnRhbCE=";

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub http: reqwest::Client,
    _data_dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDatabase::create().await?),
    };
    let mut env = vec![
        ("KENPO_PORTAL_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("KENPO_PORTAL_DATA_DIR".to_owned(), data_dir.path().display().to_string()),
        ("KENPO_PORTAL_CLIENT_SECRET".to_owned(), "test-secret".to_owned()),
        ("KENPO_PORTAL_KENPO_NAME".to_owned(), "テスト健康保険組合加入者ページ".to_owned()),
        ("KENPO_PORTAL_MASTER_KEY".to_owned(), TEST_MASTER_KEY.to_owned()),
    ];
    if let Some(db) = &database {
        env.push(("KENPO_PORTAL_DATABASE_URL".to_owned(), db.url.clone()));
    }
    if backend == Backend::Postgres
        && let Some(url) = shared_runtime::testing::redis_url()
    {
        env.push(("KENPO_PORTAL_REDIS_URL".to_owned(), url));
    }
    let config = Config::load(None, env).unwrap_or_else(|e| panic!("test configuration: {e}"));
    let app = App::build(config).await.unwrap_or_else(|e| panic!("the portal did not start: {e}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    Some(TestApp {
        address,
        state,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("http client: {e}")),
        _data_dir: data_dir,
        _database: database,
    })
}

/// Runs each listed test on SQLite and on PostgreSQL, each on a fresh database (see
/// `shared_runtime::on_every_backend!`).
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        shared_runtime::on_every_backend!(crate::helpers::spawn_app; $($test),*);
    };
}
pub(crate) use on_every_backend;
