//! The harness: a real server on port 0 over a fresh database, for each test, on each backend.
//! PostgreSQL and Redis come from `TEST_DATABASE_URL` and `TEST_REDIS_URL`; under CI they must
//! be there (see `shared_runtime::testing`).

use kenpo_idp::app::{App, AppState};
use kenpo_idp::clock::FixedClock;
use kenpo_idp::config::Config;
pub use shared_runtime::testing::{Backend, TestDatabase, redis_url, unavailable};
use std::sync::Arc;
use time::macros::datetime;

/// A running server and what a test needs to drive it.
pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub clock: FixedClock,
    pub http: reqwest::Client,
    _data_dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Runs the `kenpo-idp` command line on this app's data (its database and master key), as
    /// an operator would beside the running server.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kenpo-idp"));
        command.args(args).env("KENPO_IDP_DATA_DIR", self._data_dir.path());
        if let Some(database) = &self._database {
            command.env("KENPO_IDP_DATABASE_URL", &database.url).env("KENPO_IDP_MASTER_KEY", TEST_MASTER_KEY);
        }
        command.output().unwrap_or_else(|e| panic!("kenpo-idp {args:?}: {e}"))
    }

    /// Stops the server the way SIGTERM does and waits for it to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => server.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

/// The master key a server on PostgreSQL is given in tests.
const TEST_MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LW9mLXRoaXJ0eS10d28tYnk=";

/// The configuration of a test app: embedded everything in a temporary directory, plus
/// whatever `extra` environment the test adds.
pub fn test_config(data_dir: &std::path::Path, database_url: Option<&str>, extra: &[(&str, &str)]) -> Config {
    let mut env = vec![
        ("KENPO_IDP_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("KENPO_IDP_DATA_DIR".to_owned(), data_dir.display().to_string()),
    ];
    if let Some(url) = database_url {
        env.push(("KENPO_IDP_DATABASE_URL".to_owned(), url.to_owned()));
        // A server on PostgreSQL needs its master key given; tests give a fixed one.
        env.push(("KENPO_IDP_MASTER_KEY".to_owned(), TEST_MASTER_KEY.to_owned()));
    }
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    match Config::load(None, env) {
        Ok(config) => config,
        Err(e) => panic!("test configuration: {e}"),
    }
}

/// Starts a server on a fresh database of `backend`. Returns `None` (after saying why) when a
/// developer has no PostgreSQL configured; panics under CI.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDatabase::create().await?),
    };
    let config = test_config(data_dir.path(), database.as_ref().map(|d| d.url.as_str()), extra);
    let clock = FixedClock::at(datetime!(2026-11-24 09:00 UTC));
    let app = App::build_with_clock(config, Arc::new(clock.clone()))
        .await
        .unwrap_or_else(|e| panic!("the app did not start: {e}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Some(TestApp {
        address,
        state,
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("http client: {e}")),
        _data_dir: data_dir,
        _database: database,
        shutdown: Some(tx),
        server: Some(server),
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
