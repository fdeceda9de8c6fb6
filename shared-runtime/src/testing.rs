//! Integration-test support. PostgreSQL and Redis are chosen by `TEST_DATABASE_URL` and
//! `TEST_REDIS_URL`. Without them a developer's run skips those variants with a note; under CI
//! (`CI` set) a missing or unreachable service fails the run instead, so CI can never pass
//! without exercising them.

/// Whether this run is CI's.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Says why a service-backed variant cannot run: a failure under CI, a skip note elsewhere.
///
/// # Panics
/// Under CI, always: that is its purpose.
pub fn unavailable(what: &str, why: &str) {
    assert!(!in_ci(), "{what} is required under CI but {why}");
    eprintln!("note: skipping the {what} variant: {why}");
}

/// The Redis URL for tests, or `None` (skip) outside CI.
pub fn redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            unavailable("Redis", "TEST_REDIS_URL is not set");
            None
        }
    }
}

/// A PostgreSQL database made for one test and dropped after it.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates a fresh database on the `TEST_DATABASE_URL` server, or returns `None` outside
    /// CI when there is none.
    ///
    /// # Panics
    /// When the server refuses to create the database, or under CI when there is no server.
    pub async fn create() -> Option<Self> {
        let admin_url = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                unavailable("PostgreSQL", "TEST_DATABASE_URL is not set");
                return None;
            }
        };
        let name = format!("kenpo_test_{}", uuid::Uuid::new_v4().simple());
        let admin = match sqlx::postgres::PgPool::connect(&admin_url).await {
            Ok(pool) => pool,
            Err(e) => {
                unavailable("PostgreSQL", &format!("{admin_url} is unreachable: {e}"));
                return None;
            }
        };
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await {
            panic!("CREATE DATABASE {name}: {e}");
        }
        admin.close().await;
        let mut url = match url::Url::parse(&admin_url) {
            Ok(url) => url,
            Err(e) => panic!("TEST_DATABASE_URL is not a URL: {e}"),
        };
        url.set_path(&format!("/{name}"));
        Some(Self { url: url.to_string(), admin_url, name })
    }
}

impl Drop for TestDatabase {
    /// Drops the database on a thread of its own: `Drop` cannot await, and the test's runtime
    /// may already be shutting down.
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = sqlx::postgres::PgPool::connect(&admin_url).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(&sql).execute(&admin).await.ok()?;
                admin.close().await;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: could not drop test database {}", self.name);
        }
    }
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn(App)` on SQLite and on PostgreSQL: it emits `mod sqlite` and
/// `mod postgres`, each holding one `#[tokio::test]` per name, which calls `$spawn(backend)`
/// (an `async fn(Backend) -> Option<App>` that makes a fresh database, or `None` to skip) and
/// then the test body in the invoking module.
#[macro_export]
macro_rules! on_every_backend {
    ($spawn:path; $($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(app) = $spawn($crate::testing::Backend::Sqlite).await {
                        super::$test(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(app) = $spawn($crate::testing::Backend::Postgres).await {
                        super::$test(app).await;
                    }
                }
            )*
        }
    };
}
