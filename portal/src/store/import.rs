//! The writes of an import, inside one transaction ([`ImportTx`]): members resolved once into a
//! map, then one upsert per file keyed by the kenpo's natural keys ([`upsert`]).
//!
//! On PostgreSQL the whole transaction runs on a native connection from
//! `SqlPool::postgres`, because the rows go in through `COPY` ([`copy`]), which sqlx's `Any`
//! driver cannot do; on SQLite it runs on the `Any` pool. Every other statement here is one SQL
//! text and one piece of code for both, through [`on_conn!`].

mod copy;
#[cfg(test)]
mod tests;
mod upsert;

use super::{Db, StoreError};
use crate::domain::{HouseholdId, KenpoId, MemberId};
use crate::import::MemberKey;
use crate::import::benefits::BenefitLine;
use crate::import::claims::ClaimLine;
use crate::import::members::MemberLine;
use crate::import::prescriptions::PrescriptionLine;
use shared_runtime::db::{Backend, flag, to_millis};
use sqlx::{Any, Postgres, Row as _, Transaction};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use upsert::{Upsert, Val, bind_limit};

/// Rows a batch upsert inserted and updated; the rest of the batch was unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upserted {
    pub inserted: u64,
    pub updated: u64,
}

/// An import as recorded in `imports`: its id names the publication its update mails belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedImport {
    pub id: String,
    /// A file with the same digest was imported before.
    pub seen_before: bool,
}

/// A member as the database knows them, for resolving lines to member ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownMember {
    pub id: MemberId,
    pub subject: Option<String>,
}

/// One import's transaction. Dropped without [`ImportTx::commit`], it rolls back.
#[derive(Debug)]
pub struct ImportTx {
    tx: Tx,
    backend: Backend,
    now: i64,
}

/// The transaction on whichever driver the backend's bulk path needs.
#[derive(Debug)]
enum Tx {
    Any(Transaction<'static, Any>),
    Pg(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection: the same SQL and code,
/// type-checked once per driver.
macro_rules! on_conn {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            Tx::Any(tx) => {
                let $conn = &mut **tx;
                $body
            }
            Tx::Pg(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

// After the macro, which they use.
mod checkups;
mod qualification;
mod update_mails;

pub use qualification::ImportNotice;

pub use update_mails::{MailAudience, PublishedTable, Subscriber};

impl Db {
    /// Opens the import transaction of one of `kenpo`'s files. A kenpo's imports run one at a
    /// time (SQLite's write lock; on PostgreSQL a transaction-scoped advisory lock on the kenpo),
    /// and each stamps its rows with a time later than every earlier import of the kenpo, so
    /// the rows an import wrote are exactly those carrying its stamp (`mail_audience`), even for
    /// two imports within the same millisecond.
    pub async fn begin_import(&self, kenpo: &KenpoId, now: OffsetDateTime) -> Result<ImportTx, StoreError> {
        let mut tx = match self.postgres() {
            Some(pg) => {
                let mut tx = pg.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('kenpo-import:' || $1, 0))")
                    .bind(kenpo.as_str())
                    .execute(&mut *tx)
                    .await?;
                Tx::Pg(tx)
            }
            None => {
                let mut tx = self.pool().begin().await?;
                super::lock_for_writing(&mut tx, self.backend()).await?;
                Tx::Any(tx)
            }
        };
        const LAST: &str = "SELECT MAX(imported_at) FROM imports WHERE kenpo_id = $1";
        let last: Option<i64> = on_conn!(&mut tx, |conn| {
            sqlx::query_scalar(LAST).bind(kenpo.as_str()).fetch_one(&mut *conn).await?
        });
        let now = last.map_or(to_millis(now), |last| to_millis(now).max(last + 1));
        Ok(ImportTx { tx, backend: self.backend(), now })
    }
}

impl ImportTx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Any(tx) => tx.commit().await?,
            Tx::Pg(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.tx {
            Tx::Any(tx) => tx.rollback().await?,
            Tx::Pg(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Every member of the kenpo by card, in one query.
    pub async fn members(&mut self, kenpo: &KenpoId) -> Result<HashMap<MemberKey, KnownMember>, StoreError> {
        const SQL: &str = "SELECT m.id, h.symbol, h.number, m.branch, m.subject FROM members m \
                           JOIN households h ON h.id = m.household_id WHERE m.kenpo_id = $1";
        on_conn!(&mut self.tx, |conn| {
            let rows = sqlx::query(SQL).bind(kenpo.as_str()).fetch_all(&mut *conn).await?;
            let mut map = HashMap::with_capacity(rows.len());
            for row in rows {
                let key =
                    MemberKey { symbol: row.try_get(1)?, number: row.try_get(2)?, branch: row.try_get(3)? };
                map.insert(
                    key,
                    KnownMember { id: MemberId::from_db(row.try_get(0)?), subject: row.try_get(4)? },
                );
            }
            Ok(map)
        })
    }

    /// Creates the missing households and returns every household of the kenpo by 記号・番号.
    pub async fn households(
        &mut self,
        kenpo: &KenpoId,
        cards: &HashSet<(&str, &str)>,
    ) -> Result<HashMap<(String, String), HouseholdId>, StoreError> {
        let cards: Vec<&(&str, &str)> = cards.iter().collect();
        for chunk in cards.chunks(bind_limit(self.backend) / 5) {
            let mut sql =
                "INSERT INTO households (id, kenpo_id, symbol, number, created_at) VALUES ".to_owned();
            for i in 0..chunk.len() {
                let b = i * 5;
                sql.push_str(&format!(
                    "{}(${}, ${}, ${}, ${}, ${})",
                    if i == 0 { "" } else { ", " },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                ));
            }
            sql.push_str(" ON CONFLICT (kenpo_id, symbol, number) DO NOTHING");
            let now = self.now;
            on_conn!(&mut self.tx, |conn| {
                let mut query = sqlx::query(&sql);
                for (symbol, number) in chunk {
                    query = query
                        .bind(uuid::Uuid::new_v4().to_string())
                        .bind(kenpo.as_str())
                        .bind(*symbol)
                        .bind(*number)
                        .bind(now);
                }
                query.execute(&mut *conn).await?;
            });
        }
        const SQL: &str = "SELECT id, symbol, number FROM households WHERE kenpo_id = $1";
        on_conn!(&mut self.tx, |conn| {
            let rows = sqlx::query(SQL).bind(kenpo.as_str()).fetch_all(&mut *conn).await?;
            rows.into_iter()
                .map(|r| Ok(((r.try_get(1)?, r.try_get(2)?), HouseholdId::from_db(r.try_get(0)?))))
                .collect()
        })
    }

    pub async fn upsert_members(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&HouseholdId, &MemberLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "members",
            columns: &[
                "id",
                "kenpo_id",
                "household_id",
                "branch",
                "relation",
                "name",
                "name_kana",
                "birth_date",
                "sex",
                "subject",
                "acquired_on",
                "lost_on",
                "updated_at",
            ],
            key: "household_id, branch",
            stamp: "updated_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(household, m)| {
            vec![
                Val::Owned(MemberId::new().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(household.as_str()),
                Val::Text(&m.key.branch),
                Val::Text(m.relation.as_str()),
                Val::Text(&m.name),
                Val::Text(&m.name_kana),
                Val::Text(&m.birth_date),
                Val::Text(m.sex.as_str()),
                Val::OptText(m.subject.as_deref()),
                Val::OptText(m.acquired_on.as_deref()),
                Val::OptText(m.lost_on.as_deref()),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    pub async fn upsert_claims(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&MemberId, &ClaimLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "claims",
            columns: &[
                "id",
                "kenpo_id",
                "claim_no",
                "member_id",
                "service_month",
                "category",
                "institution",
                "days",
                "total_yen",
                "insurer_yen",
                "public_yen",
                "patient_yen",
                "meal_yen",
                "statutory_refund_yen",
                "additional_refund_yen",
                "reduced",
                "imported_at",
            ],
            key: "kenpo_id, claim_no",
            stamp: "imported_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(member, c)| {
            vec![
                Val::Owned(uuid::Uuid::new_v4().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(&c.claim_no),
                Val::Text(member.as_str()),
                Val::Owned(c.service_month.to_string()),
                Val::Text(c.category.as_str()),
                Val::OptText(c.institution.as_deref()),
                Val::Int(c.days),
                Val::Int(c.total_yen),
                Val::Int(c.insurer_yen),
                Val::Int(c.public_yen),
                Val::Int(c.patient_yen),
                Val::Int(c.meal_yen),
                Val::Int(c.statutory_refund_yen),
                Val::Int(c.additional_refund_yen),
                Val::Int(flag(c.reduced).into()),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    pub async fn upsert_benefits(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&MemberId, &BenefitLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "benefits",
            columns: &[
                "id",
                "kenpo_id",
                "notice_no",
                "member_id",
                "kind",
                "paid_month",
                "service_month",
                "period_from",
                "period_to",
                "days",
                "total_yen",
                "public_yen",
                "patient_yen",
                "insurer_yen",
                "amount_yen",
                "daily_amount_yen",
                "decided_on",
                "paid_on",
                "payee",
                "income_category",
                "many_times",
                "imported_at",
            ],
            key: "kenpo_id, notice_no",
            stamp: "imported_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(member, b)| {
            vec![
                Val::Owned(uuid::Uuid::new_v4().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(&b.notice_no),
                Val::Text(member.as_str()),
                Val::Text(b.kind.as_str()),
                Val::Owned(b.paid_month.to_string()),
                match b.service_month {
                    Some(m) => Val::Owned(m.to_string()),
                    None => Val::OptText(None),
                },
                Val::OptText(b.period_from.as_deref()),
                Val::OptText(b.period_to.as_deref()),
                Val::OptInt(b.days),
                Val::OptInt(b.total_yen),
                Val::OptInt(b.public_yen),
                Val::OptInt(b.patient_yen),
                Val::OptInt(b.insurer_yen),
                Val::Int(b.amount_yen),
                Val::OptInt(b.daily_amount_yen),
                Val::Text(&b.decided_on),
                Val::OptText(b.paid_on.as_deref()),
                Val::Text(b.payee.as_str()),
                Val::OptText(b.income_category.as_deref()),
                Val::Int(flag(b.many_times).into()),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    pub async fn upsert_prescriptions(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&MemberId, &PrescriptionLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "prescriptions",
            columns: &[
                "id",
                "kenpo_id",
                "claim_no",
                "line_no",
                "member_id",
                "dispensed_month",
                "pharmacy",
                "prescriber",
                "drug_name",
                "generic_name",
                "strength",
                "quantity",
                "days",
                "is_generic",
                "amount_yen",
                "imported_at",
            ],
            key: "kenpo_id, claim_no, line_no",
            stamp: "imported_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(member, p)| {
            vec![
                Val::Owned(uuid::Uuid::new_v4().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(&p.claim_no),
                Val::Int(p.line_no),
                Val::Text(member.as_str()),
                Val::Owned(p.dispensed_month.to_string()),
                Val::Text(&p.pharmacy),
                Val::OptText(p.prescriber.as_deref()),
                Val::Text(&p.drug_name),
                Val::OptText(p.generic_name.as_deref()),
                Val::Text(&p.strength),
                Val::Text(&p.quantity),
                Val::Int(p.days),
                Val::Int(flag(p.is_generic).into()),
                Val::Int(p.amount_yen),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    /// One mechanism for every table: `COPY` and one statement on PostgreSQL, batched
    /// multi-row upserts on SQLite.
    async fn upsert(&mut self, spec: &Upsert, rows: Vec<Vec<Val<'_>>>) -> Result<Upserted, StoreError> {
        match &mut self.tx {
            Tx::Pg(tx) => copy::upsert(tx, spec, &rows).await,
            Tx::Any(tx) => upsert::batched(tx, self.backend, spec, &rows).await,
        }
    }

    /// Records the file, with its id and whether a file with the same digest was imported before.
    pub async fn record_import(
        &mut self,
        kenpo: &KenpoId,
        kind: &str,
        file_name: &str,
        sha256: &str,
        rows: u64,
    ) -> Result<RecordedImport, StoreError> {
        let now = self.now;
        let id = uuid::Uuid::new_v4().to_string();
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        on_conn!(&mut self.tx, |conn| {
            let seen = sqlx::query(
                "SELECT 1 FROM imports WHERE kenpo_id = $1 AND kind = $2 AND sha256 = $3 LIMIT 1",
            )
            .bind(kenpo.as_str())
            .bind(kind)
            .bind(sha256)
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
            sqlx::query(
                "INSERT INTO imports (id, kenpo_id, kind, file_name, sha256, rows, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(kenpo.as_str())
            .bind(kind)
            .bind(file_name)
            .bind(sha256)
            .bind(rows)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(RecordedImport { id: id.clone(), seen_before: seen })
        })
    }
}

/// API tokens of the kenpo's systems; only their SHA-256 (hex) is stored.
impl Db {
    pub async fn add_import_token(
        &self,
        kenpo: &KenpoId,
        sha256: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO import_tokens (id, kenpo_id, token_sha256, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(kenpo.as_str())
        .bind(sha256)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Revokes every live token of the kenpo; returns how many.
    pub async fn revoke_import_tokens(
        &self,
        kenpo: &KenpoId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE import_tokens SET revoked_at = $2 WHERE kenpo_id = $1 AND revoked_at IS NULL",
        )
        .bind(kenpo.as_str())
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// The kenpo whose live token has this digest.
    pub async fn kenpo_of_import_token(&self, sha256: &str) -> Result<Option<KenpoId>, StoreError> {
        let row =
            sqlx::query("SELECT kenpo_id FROM import_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL")
                .bind(sha256)
                .fetch_optional(self.pool())
                .await?;
        Ok(match row {
            Some(r) => Some(KenpoId::from_db(r.try_get(0)?)),
            None => None,
        })
    }
}
