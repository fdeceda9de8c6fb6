//! A member's own choices (通知設定, non-disclosure to the household) and what their logins
//! told us (the verified address update mails go to).

use super::{Db, StoreError};
use crate::domain::MemberId;
use std::future::Future;

pub trait PreferenceStore {
    /// The categories (`MailCategory::key`) the member opted in to, as stored.
    fn mail_opt_ins(&self, member: &MemberId)
    -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Replaces the member's opt-ins and non-disclosure choice, together.
    fn save_preferences(
        &self,
        member: &MemberId,
        opt_ins: &[&str],
        hidden_from_household: bool,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Notes a login, with the verified address the ID token carried (`None` keeps none).
    fn record_login(
        &self,
        member: &MemberId,
        email: Option<&str>,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl PreferenceStore for Db {
    async fn mail_opt_ins(&self, member: &MemberId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT category FROM mail_opt_ins WHERE member_id = $1 ORDER BY category")
            .bind(member.as_str())
            .fetch_all(self.pool())
            .await?)
    }

    async fn save_preferences(
        &self,
        member: &MemberId,
        opt_ins: &[&str],
        hidden_from_household: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM mail_opt_ins WHERE member_id = $1")
            .bind(member.as_str())
            .execute(&mut *tx)
            .await?;
        for category in opt_ins {
            sqlx::query("INSERT INTO mail_opt_ins (member_id, category, created_at) VALUES ($1, $2, $3)")
                .bind(member.as_str())
                .bind(*category)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE members SET hidden_from_household = $1 WHERE id = $2")
            .bind(i32::from(hidden_from_household))
            .bind(member.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_login(
        &self,
        member: &MemberId,
        email: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO member_logins (member_id, email, first_login_at, last_login_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (member_id) DO UPDATE SET email = EXCLUDED.email, last_login_at = EXCLUDED.last_login_at",
        )
        .bind(member.as_str())
        .bind(email)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
