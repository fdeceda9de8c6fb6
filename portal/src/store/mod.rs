//! The portal's durable state, on PostgreSQL or SQLite through `shared_runtime::db`.

mod api_grants;
mod audit;
mod checkups;
mod files;
mod import;
mod inbox;
mod kenpos;
mod members;
mod notices;
mod preferences;
mod qualification;
mod records;
mod retention;
mod survey;
#[cfg(test)]
pub(crate) mod test_db;
mod update_mails;

pub use api_grants::ApiGrantStore;
pub use audit::{AuditStore, ReadRecord};
pub use checkups::{CheckupStore, NewCheckup, Stored};
pub use files::{FileError, FileStore, FsFileStore};
pub use import::ImportNotice;
pub use import::{ImportTx, KnownMember, MailAudience, PublishedTable, RecordedImport, Subscriber, Upserted};
pub use inbox::SentMessage;
pub use inbox::{Audience, Card, Content, InboxStore, Message};
pub use kenpos::{Kenpo, KenpoStore, NewKenpo};
pub use members::{Member, MemberStore};
pub use notices::{AttachmentInfo, Listed, NewAttachment, Notice, NoticeFields, NoticeStore};
pub use preferences::PreferenceStore;
/// Fixtures for the flows' tests: a kenpo with a household, on either backend.
#[cfg(test)]
pub(crate) use qualification::tests as qualification_fixtures;
pub use qualification::{
    Applicant, Application, Certificate, Decided, IssuedNotice, NewApplication, NewCertificate,
    NewIssuedNotice, QualificationStore, Unannounced,
};
pub use qualification::{
    CardPerson, NoticeSnapshot, QualificationNews, UnannouncedCertificate, UnannouncedDecision,
};
pub use records::{Benefit, CheckupRecord, Claim, HealthDataRead, Prescription, Reader, RecordStore};
pub use retention::PurgeReport;
pub use survey::{DocumentWrite, ReminderRow, Sheet, SheetChange, SheetFile, Survey, SurveyStore};
pub use update_mails::{DueUpdateMail, NewUpdateMail, UpdateMailRecord, UpdateMailStore};

pub use shared_runtime::db::Backend;
use shared_runtime::db::{DbError, Migrations, SqlPool};
use sqlx::migrate::Migrator;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/portal/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/portal/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another kenpo already uses this host")]
    HostTaken,
    #[error("the database holds a value this version cannot read ({0})")]
    Corrupt(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Connect(#[from] DbError),
    /// The person already has an application for a 資格確認書 the kenpo has not decided.
    #[error("an application for this person is already open")]
    ApplicationOpen,
}

/// The portal's database: the shared SQL pool (see `shared_runtime::db::SqlPool`, which it derefs to)
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

/// Takes SQLite's write lock at the start of a transaction that reads before it writes. A
/// deferred transaction that reads first cannot wait for the lock when another connection holds
/// it (SQLite answers "database is locked" at once to avoid a deadlock); taking it first lets the
/// busy timeout wait instead. A no-op on PostgreSQL, whose row locks need no such care.
pub(crate) async fn lock_for_writing(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
) -> Result<(), StoreError> {
    if backend == Backend::Sqlite {
        sqlx::query("DELETE FROM imports WHERE 0 = 1").execute(&mut **tx).await?;
    }
    Ok(())
}
