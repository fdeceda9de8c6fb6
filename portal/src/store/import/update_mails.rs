//! Update mails queued in an import's own transaction (decided by `flows::update_mails`): who
//! might hear of the rows this import wrote, then a queue row for each one the flow picks. In
//! the same transaction as the data, so the data and its announcement commit together.

use super::{ImportTx, Tx};
use crate::domain::{MemberId, MessageId};
use crate::store::inbox::{CHUNK, INSERT_MESSAGE, deliveries_to_members};
use crate::store::members::{MemberRow, SELECT};
use crate::store::{Member, StoreError};

/// The tables an import publishes member data into: a row inserted or changed by this import
/// carries the import's stamp in `imported_at` (unchanged rows keep theirs), which is how the
/// audience finds the new rows without the upsert reporting them one by one. No two imports of
/// a kenpo share a stamp (`Db::begin_import`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishedTable {
    Claims,
    Benefits,
    Prescriptions,
    Checkups,
}

impl PublishedTable {
    fn name(self) -> &'static str {
        match self {
            Self::Claims => "claims",
            Self::Benefits => "benefits",
            Self::Prescriptions => "prescriptions",
            Self::Checkups => "checkups",
        }
    }
}

/// A login who asked for the category's mails, with the address and language of their latest
/// login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub member_id: MemberId,
    pub email: String,
    pub locale: Option<String>,
}

/// Everything the flow needs to decide who hears of a publication, and nothing more: whose
/// data is new (ids only, never the rows), the households they belong to, and those of their
/// members who opted in to `category` and have a verified address.
#[derive(Debug, Clone, Default)]
pub struct MailAudience {
    pub touched: Vec<MemberId>,
    pub households: Vec<Member>,
    pub subscribers: Vec<Subscriber>,
}

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    member_id: String,
    email: String,
    locale: Option<String>,
}

impl ImportTx {
    /// Who may hear of the rows of `table` this import inserted or changed, for `category`
    /// (`MailCategory::key`).
    pub async fn mail_audience(
        &mut self,
        kenpo: &str,
        table: PublishedTable,
        category: &str,
    ) -> Result<MailAudience, StoreError> {
        let now = self.now;
        let table = table.name();
        let touched_sql =
            format!("SELECT DISTINCT member_id FROM {table} WHERE kenpo_id = $1 AND imported_at = $2");
        let touched: Vec<String> = on_conn!(&mut self.tx, |conn| {
            sqlx::query_scalar(&touched_sql).bind(kenpo).bind(now).fetch_all(&mut *conn).await?
        });
        if touched.is_empty() {
            return Ok(MailAudience::default());
        }
        let households = format!(
            "SELECT x.household_id FROM members x WHERE x.id IN \
             (SELECT d.member_id FROM {table} d WHERE d.kenpo_id = $1 AND d.imported_at = $2)"
        );
        let members_sql = format!("{SELECT} WHERE m.household_id IN ({households})");
        let rows: Vec<MemberRow> = on_conn!(&mut self.tx, |conn| {
            sqlx::query_as(&members_sql).bind(kenpo).bind(now).fetch_all(&mut *conn).await?
        });
        let subscribers_sql = format!(
            "SELECT l.member_id, l.email, l.locale FROM member_logins l \
             JOIN mail_opt_ins o ON o.member_id = l.member_id AND o.category = $3 \
             JOIN members m ON m.id = l.member_id \
             WHERE l.email IS NOT NULL AND m.subject IS NOT NULL AND m.household_id IN ({households})"
        );
        let subscribers: Vec<SubscriberRow> = on_conn!(&mut self.tx, |conn| {
            sqlx::query_as(&subscribers_sql)
                .bind(kenpo)
                .bind(now)
                .bind(category)
                .fetch_all(&mut *conn)
                .await?
        });
        Ok(MailAudience {
            touched: touched.into_iter().map(MemberId::from_db).collect(),
            households: rows.into_iter().map(Member::try_from).collect::<Result<_, _>>()?,
            subscribers: subscribers
                .into_iter()
                .map(|r| Subscriber {
                    member_id: MemberId::from_db(r.member_id),
                    email: r.email,
                    locale: r.locale,
                })
                .collect(),
        })
    }

    /// Queues one update mail of `category` for `member` about `publication`, due now; a mail
    /// already queued for the same three is left as it is. Returns whether one was queued.
    pub async fn queue_update_mail(
        &mut self,
        kenpo: &str,
        publication: &str,
        category: &str,
        member: &MemberId,
        recipient: &str,
        locale: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now;
        let done = on_conn!(&mut self.tx, |conn| {
            sqlx::query(
                "INSERT INTO update_mails (id, kenpo_id, publication_id, member_id, category, locale, \
                 recipient, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8) \
                 ON CONFLICT (publication_id, member_id, category) DO NOTHING",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(kenpo)
            .bind(publication)
            .bind(member.as_str())
            .bind(category)
            .bind(locale)
            .bind(recipient)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// The portal's MYメール message of `category` (`MailCategory::key`) in the inboxes of
    /// `members`, in the import's transaction, so the data and the message are published
    /// together or not at all. Returns how many inboxes it reached.
    pub async fn deliver_system_message(
        &mut self,
        kenpo: &str,
        category: &str,
        members: &[MemberId],
    ) -> Result<u64, StoreError> {
        if members.is_empty() {
            return Ok(0);
        }
        let now = self.now;
        let id = MessageId::new();
        on_conn!(&mut self.tx, |conn| {
            sqlx::query(INSERT_MESSAGE)
                .bind(id.as_str())
                .bind(kenpo)
                .bind("system")
                .bind(Some(category))
                .bind("")
                .bind("")
                .bind(now)
                .execute(&mut *conn)
                .await?;
        });
        let mut delivered = 0;
        for chunk in members.chunks(CHUNK) {
            let sql = deliveries_to_members(chunk.len());
            delivered += on_conn!(&mut self.tx, |conn| {
                let mut query = sqlx::query(&sql).bind(id.as_str()).bind(kenpo);
                for m in chunk {
                    query = query.bind(m.as_str());
                }
                query.execute(&mut *conn).await?.rows_affected()
            });
        }
        Ok(delivered)
    }
}
