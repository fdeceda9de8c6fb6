//! Durable state. One trait per aggregate ([`RealmStore`], [`ClientStore`], [`UserStore`],
//! [`CredentialStore`], [`SessionStore`], [`EventStore`], [`KeyStore`]), implemented for both
//! backends by [`Db`].
//!
//! Both backends run the same SQL text through sqlx's `Any` driver: the schemas keep to types
//! both share (TEXT, BIGINT, BOOLEAN), placeholders are `$n`, which SQLite also reads, and the
//! one real difference — how each reports a unique violation — is settled in
//! [`unique_violation`]. Nothing outside this module knows which backend it runs on.

mod clients;
mod credentials;
mod events;
mod keys;
mod realms;
mod sessions;
mod users;

pub use clients::{Client, ClientStore, GrantType, NewClient};
pub use credentials::{Credential, CredentialStore, CredentialType, NewCredential};
pub use events::{Event, EventQuery, EventStore, EventType, NewEvent};
pub use keys::{KeyStatus, KeyStore, StoredKey};
pub use realms::{BruteForcePolicy, NewRealm, Realm, RealmSettings, RealmStore};
pub use sessions::{NewUserSession, SessionStore, UserSession};
pub use users::{NewUser, User, UserStore, UserUpdate};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use std::time::Duration;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/idp/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/idp/sqlite");

/// Which database the [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// Store errors, with unique constraints already turned into what they mean.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a realm with this name already exists")]
    RealmNameTaken,
    #[error("another realm already uses this host")]
    RealmHostTaken,
    #[error("a client with this client_id already exists in the realm")]
    ClientIdTaken,
    #[error("the user ID is already taken in the realm")]
    UsernameTaken,
    #[error("the email address is used by another account of the realm")]
    EmailTaken,
    #[error("the realm already has a member with this issued (temporary) ID")]
    IssuedUsernameTaken,
    #[error("the member already has a credential with this label")]
    CredentialLabelTaken,
    #[error("the member already has a password")]
    PasswordExists,
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the database URL must start with postgres://, postgresql:// or sqlite:")]
    UnsupportedUrl,
    #[error("a stored value could not be read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

/// The database: a pool and the backend it speaks to.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects, creating a SQLite file if it does not exist yet. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Postgres => 16,
                Backend::Sqlite => 8,
            })
            .acquire_timeout(Duration::from_secs(10));
        let options = match backend {
            Backend::Postgres => options,
            // WAL lets readers proceed while one connection writes; foreign keys are on by
            // default in sqlx's SQLite driver, and asked for again in case the URL turned them off.
            Backend::Sqlite => options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let pool = options.connect(&url).await?;
        Ok(Self { pool, backend })
    }

    /// Applies the migrations this binary carries for the backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            Backend::Sqlite => &SQLITE_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for the readiness probe.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The name of the unique constraint an error violated, or for SQLite (which reports columns or
/// index names, not constraint names) its message. Callers match on the column or index name,
/// which appears in both forms: `users_email_key` / `users.username`.
fn unique_violation(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().map_or_else(|| db.message().to_owned(), str::to_owned))
        }
        _ => None,
    }
}

/// Turns a unique violation into the first meaning whose needle the constraint text contains.
/// A unique-constraint needle and the error it means.
type Meaning = (&'static str, fn() -> StoreError);

fn meaning_of(err: sqlx::Error, meanings: &[Meaning]) -> StoreError {
    if let Some(constraint) = unique_violation(&err) {
        for (needle, meaning) in meanings {
            if constraint.contains(needle) {
                return meaning();
            }
        }
    }
    StoreError::Database(err)
}

/// Flags are 0/1 integers on both backends (sqlx's Any driver maps no boolean type for SQLite).
fn flag(value: bool) -> i16 {
    i16::from(value)
}

fn is_set(value: i16) -> bool {
    value != 0
}

/// JSON columns: encode, and decode with the column named in the error.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn from_json<T: serde::de::DeserializeOwned>(column: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::corrupt(format!("{column}: {e}")))
}
