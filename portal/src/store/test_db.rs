//! A fresh database for a unit test, on either backend, and `on_both_backends!`, which runs a
//! test `async fn(Db)` once on SQLite and once on PostgreSQL (skipped without one, unless CI).

use super::Db;
use shared_runtime::testing::TestDatabase;

pub(crate) async fn sqlite() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("portal.db").display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
    (dir, db)
}

pub(crate) async fn postgres() -> Option<(TestDatabase, Db)> {
    let database = TestDatabase::create().await?;
    let db = Db::connect(&database.url).await.unwrap_or_else(|e| panic!("{e}"));
    db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
    Some((database, db))
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $test() {
                let (_dir, db) = $crate::store::test_db::sqlite().await;
                super::$test(db.clone()).await;
                db.close().await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $test() {
                let Some((_database, db)) = $crate::store::test_db::postgres().await else { return };
                super::$test(db.clone()).await;
                db.close().await;
            })*
        }
    };
}
pub(crate) use on_both_backends;
