//! Durable state. One trait per aggregate ([`RealmStore`], [`ClientStore`], [`UserStore`],
//! [`CredentialStore`], [`SessionStore`], [`EventStore`], [`KeyStore`], [`OutboxStore`], …),
//! [`CredentialStore`], [`SessionStore`], [`EventStore`], [`KeyStore`], [`LoginFailureStore`]),
//! implemented for both backends by [`Db`].
//!
//! Both backends run the same SQL text through sqlx's `Any` driver (see `shared_runtime::db`);
//! the one real difference, how each reports a unique violation, is settled in [`meaning_of`].
//! Nothing outside this module knows which backend it runs on.

mod action_tokens;
mod admin;
mod backchannel;
mod clients;
mod credentials;
mod events;
mod filter;
mod grants;
mod keys;
mod login_failures;
mod migration;
mod outbox;
mod realms;
mod sessions;
mod terms;
mod user_search;
mod users;

pub use action_tokens::{ActionKind, ActionToken, ActionTokenStore, NewActionToken};
pub use admin::{AdminEvent, AdminEventQuery, AdminStore, NewAdminEvent, OperationType};
pub use backchannel::{BackchannelStore, Delivery};
pub use clients::{Client, ClientStore, GrantType, NewClient};
pub use credentials::{Credential, CredentialStore, CredentialType, NewCredential, OtpData};
pub use events::{Event, EventQuery, EventStore, EventType, NewEvent};
pub use grants::{Grant, GrantAuth, GrantStore, RefreshUse};
pub use keys::{KeyStatus, KeyStore, StoredKey};
pub use login_failures::{DeviceFailures, LoginFailure, LoginFailureStore};
pub use migration::{MigratedMember, Migration, MigrationStore};
pub use outbox::{MailKind, MailRecord, OutboxStore, QueuedMail};
pub use realms::{BruteForcePolicy, NewRealm, Realm, RealmSettings, RealmStore};
pub use sessions::{NewUserSession, SessionStore, UserSession};
pub use terms::{Terms, TermsStore};
pub use user_search::{Match, UserQuery, UserSearchStore};
pub use users::{NewUser, User, UserStore, UserUpdate};

pub use shared_runtime::db::Backend;
use shared_runtime::db::{DbError, Migrations, SqlPool, unique_violation};
pub(crate) use shared_runtime::db::{flag, is_set};
use sqlx::migrate::Migrator;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/idp/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/idp/sqlite");

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
    #[error("this WebAuthn credential id is already registered")]
    WebauthnCredentialTaken,
    #[error("the member already has a password")]
    PasswordExists,
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}: other writers kept changing the row; gave up")]
    Contended(&'static str),
    #[error("a stored value could not be read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Connect(#[from] DbError),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

/// The IdP's database: the shared SQL pool (see `shared_runtime::db::SqlPool`, which it derefs to)
/// with this service's migrations. Stores implement their traits on it.
#[derive(Debug, Clone)]
pub struct Db(SqlPool);

impl Db {
    /// Connects, creating a SQLite file if it does not exist yet. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self(SqlPool::connect(url).await?))
    }

    /// Applies the migrations this binary carries for the backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrations = Migrations { postgres: &POSTGRES_MIGRATIONS, sqlite: &SQLITE_MIGRATIONS };
        Ok(self.0.migrate(migrations).await?)
    }
}

impl std::ops::Deref for Db {
    type Target = SqlPool;
    fn deref(&self) -> &SqlPool {
        &self.0
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

/// JSON columns: encode, and decode with the column named in the error.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn from_json<T: serde::de::DeserializeOwned>(column: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::corrupt(format!("{column}: {e}")))
}
