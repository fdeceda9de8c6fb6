//! The SQL pool: PostgreSQL in production, a SQLite file in the embedded mode, behind sqlx's
//! `Any` driver so a service's stores run one SQL text on both. Schemas keep to the types both
//! share through `Any` (TEXT, BIGINT, 0/1 integer flags); placeholders are `$n`, which SQLite
//! also reads.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AnyPool, Executor};
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL must start with postgres://, postgresql:// or sqlite:")]
    UnsupportedUrl,
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pool and the backend it speaks to. On PostgreSQL, also a small native pool to the same
/// database for what `Any` cannot do (`COPY`, array binds); it connects on first use.
#[derive(Debug, Clone)]
pub struct SqlPool {
    pool: AnyPool,
    backend: Backend,
    postgres: Option<PgPool>,
}

/// The migrations a service carries for each backend.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub postgres: &'static Migrator,
    pub sqlite: &'static Migrator,
}

impl SqlPool {
    /// Connects, creating a SQLite file if it does not exist yet. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        install_default_drivers();
        let backend = Backend::from_url(url).ok_or(DbError::UnsupportedUrl)?;
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let (options, url) = match backend {
            Backend::Postgres => (options.max_connections(16), url.to_owned()),
            // WAL lets readers proceed while one connection writes. Foreign keys are on by
            // default in sqlx's SQLite driver and asked for again in case the URL turned them off.
            Backend::Sqlite => {
                let options = options.max_connections(8).after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                        Ok(())
                    })
                });
                let url = if url.contains("mode=") {
                    url.to_owned()
                } else {
                    format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
                };
                (options, url)
            }
        };
        let postgres = match backend {
            // Few connections: bulk writes (imports) are rare and each holds one for its whole
            // transaction. Their staging tables are temporary tables, which live in a backend's
            // local buffers: PostgreSQL's 8 MB default spills a 200,000-row claims file to disk
            // files and reads it back; 64 MB holds about 350,000 rows (allocated on use).
            Backend::Postgres => {
                let connect = url.parse::<PgConnectOptions>()?.options([("temp_buffers", "64MB")]);
                Some(
                    PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(Duration::from_secs(10))
                        .connect_lazy_with(connect),
                )
            }
            Backend::Sqlite => None,
        };
        Ok(Self { pool: options.connect(&url).await?, backend, postgres })
    }

    /// Applies the migrations for this backend.
    pub async fn migrate(&self, migrations: Migrations) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::Postgres => migrations.postgres,
            Backend::Sqlite => migrations.sqlite,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The native pool, on PostgreSQL only. Use it for what the `Any` driver lacks, not instead
    /// of [`SqlPool::pool`]: SQL that runs on both backends belongs on the `Any` pool.
    pub fn postgres(&self) -> Option<&PgPool> {
        self.postgres.as_ref()
    }

    /// Leases the due row `id` of a durable queue until `lease_until`, by moving its next attempt
    /// there. `table` has `id` and `next_attempt_at` (milliseconds; due when at or before `now`,
    /// done when NULL). Of several deliverers racing for the row (replicas, or a wake-up racing
    /// the timer), exactly one gets `true`.
    pub async fn claim_due(
        &self,
        table: &'static str,
        id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!("UPDATE {table} SET next_attempt_at = $1 WHERE id = $2 AND next_attempt_at <= $3");
        let claimed = sqlx::query(&sql)
            .bind(to_millis(lease_until))
            .bind(id)
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// A cheap round trip, for readiness probes.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(pg) = &self.postgres {
            pg.close().await;
        }
    }
}

/// The unique constraint an error violated: PostgreSQL's constraint name, or for SQLite (which
/// names columns or indexes, not constraints) its message. Both contain the column or index
/// name (`users_email_key`, `users.username`), which is what callers match.
pub fn unique_violation(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().map_or_else(|| db.message().to_owned(), str::to_owned))
        }
        _ => None,
    }
}

/// Timestamps are Unix epoch milliseconds (UTC) on both backends.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`to_millis`]; out-of-range values clamp rather than fail, as they only arise
/// from hand-edited rows.
pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Flags are 0/1 integers on both backends: sqlx's `Any` driver maps no boolean type for
/// SQLite.
pub fn flag(value: bool) -> i16 {
    i16::from(value)
}

pub fn is_set(value: i16) -> bool {
    value != 0
}
