//! Writing 特定健診 exams: one row per CDA document, keyed by the document's id so a file sent
//! twice is one exam. The writes run in the import's transaction ([`ImportTx`]), like the CSV
//! files'.

use super::{Db, ImportTx, StoreError};
use std::future::Future;

/// An exam to store, already matched to a member.
#[derive(Debug, Clone)]
pub struct NewCheckup<'a> {
    pub kenpo_id: &'a str,
    pub document_id: &'a str,
    pub member_id: &'a str,
    pub exam_date: &'a str,
    pub institution: &'a str,
    pub document: &'a str,
}

/// Whether a document was new, replaced an earlier version, or was the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Inserted,
    Updated,
    Unchanged,
}

pub trait CheckupStore {
    /// The member whose card (記号・番号) and birth date the document names; with the 枝番
    /// when the document gives one.
    fn member_for_card(
        &self,
        kenpo_id: &str,
        symbol: Option<&str>,
        number: &str,
        branch: Option<&str>,
        birth_date: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

impl CheckupStore for Db {
    async fn member_for_card(
        &self,
        kenpo_id: &str,
        symbol: Option<&str>,
        number: &str,
        branch: Option<&str>,
        birth_date: &str,
    ) -> Result<Option<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT m.id FROM members m JOIN households h ON h.id = m.household_id \
             WHERE m.kenpo_id = $1 AND h.number = $2 AND ($3 = '' OR h.symbol = $3) \
             AND ($4 = '' OR m.branch = $4) AND m.birth_date = $5",
        )
        .bind(kenpo_id)
        .bind(number)
        .bind(symbol.unwrap_or_default())
        .bind(branch.unwrap_or_default())
        .bind(birth_date)
        .fetch_all(self.pool())
        .await?;
        // Twins on one card without a 枝番 cannot be told apart: better no match than a wrong one.
        Ok(if rows.len() == 1 { rows.into_iter().next().map(|r| r.0) } else { None })
    }
}

impl ImportTx {
    /// Stores every exam of one file in the import's transaction, so the file is written (and
    /// recorded in `imports`) all or nothing, and a dry run rolls it back with the rest.
    pub async fn store_checkups(&mut self, checkups: &[NewCheckup<'_>]) -> Result<Vec<Stored>, StoreError> {
        let (tx, now) = self.parts();
        let mut stored = Vec::with_capacity(checkups.len());
        for c in checkups {
            let existing: Option<(String, String)> =
                sqlx::query_as("SELECT id, document FROM checkups WHERE kenpo_id = $1 AND document_id = $2")
                    .bind(c.kenpo_id)
                    .bind(c.document_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let outcome = match existing {
                Some((_, document)) if document == c.document => Stored::Unchanged,
                Some((id, _)) => {
                    sqlx::query(
                        "UPDATE checkups SET member_id = $1, exam_date = $2, institution = $3, document = $4, \
                         imported_at = $5 WHERE id = $6",
                    )
                    .bind(c.member_id)
                    .bind(c.exam_date)
                    .bind(c.institution)
                    .bind(c.document)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    Stored::Updated
                }
                None => {
                    sqlx::query(
                        "INSERT INTO checkups (id, kenpo_id, document_id, member_id, exam_date, institution, \
                         document, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(c.kenpo_id)
                    .bind(c.document_id)
                    .bind(c.member_id)
                    .bind(c.exam_date)
                    .bind(c.institution)
                    .bind(c.document)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    Stored::Inserted
                }
            };
            stored.push(outcome);
        }
        Ok(stored)
    }
}
