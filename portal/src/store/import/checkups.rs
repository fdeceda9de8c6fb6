//! 特定健診 documents written in an import's transaction, so a file is stored (and recorded in
//! `imports`) all or nothing, and a dry run rolls it back with the rest.

use super::{ImportTx, Tx};
use crate::store::{NewCheckup, StoreError, Stored};

impl ImportTx {
    pub async fn store_checkups(&mut self, checkups: &[NewCheckup<'_>]) -> Result<Vec<Stored>, StoreError> {
        let now = self.now;
        let mut stored = Vec::with_capacity(checkups.len());
        for c in checkups {
            let outcome: Stored = on_conn!(&mut self.tx, |conn| {
                let existing: Option<(String, String)> = sqlx::query_as(
                    "SELECT id, document FROM checkups WHERE kenpo_id = $1 AND document_id = $2",
                )
                .bind(c.kenpo_id)
                .bind(c.document_id)
                .fetch_optional(&mut *conn)
                .await?;
                match existing {
                    Some((_, document)) if document == c.document => Stored::Unchanged,
                    Some((id, _)) => {
                        sqlx::query(
                            "UPDATE checkups SET member_id = $1, exam_date = $2, institution = $3, \
                             document = $4, imported_at = $5 WHERE id = $6",
                        )
                        .bind(c.member_id)
                        .bind(c.exam_date)
                        .bind(c.institution)
                        .bind(c.document)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                        Stored::Updated
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO checkups (id, kenpo_id, document_id, member_id, exam_date, \
                             institution, document, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(uuid::Uuid::new_v4().to_string())
                        .bind(c.kenpo_id)
                        .bind(c.document_id)
                        .bind(c.member_id)
                        .bind(c.exam_date)
                        .bind(c.institution)
                        .bind(c.document)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                        Stored::Inserted
                    }
                }
            });
            stored.push(outcome);
        }
        Ok(stored)
    }
}
