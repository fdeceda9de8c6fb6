//! The portal's durable state, on PostgreSQL or SQLite through `shared_runtime::db`.

mod kenpos;

pub use kenpos::{Kenpo, KenpoStore, NewKenpo};

pub use shared_runtime::db::Backend;
use shared_runtime::db::{DbError, Migrations, SqlPool};
use sqlx::AnyPool;
use sqlx::migrate::Migrator;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/portal/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/portal/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another kenpo already uses this host")]
    HostTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Connect(#[from] DbError),
}

/// The portal's database.
#[derive(Debug, Clone)]
pub struct Db {
    sql: SqlPool,
}

impl Db {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self { sql: SqlPool::connect(url).await? })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrations = Migrations { postgres: &POSTGRES_MIGRATIONS, sqlite: &SQLITE_MIGRATIONS };
        Ok(self.sql.migrate(migrations).await?)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.sql.ping().await?)
    }

    pub async fn close(&self) {
        self.sql.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        self.sql.pool()
    }
}
