//! MYメール (spec §2.10): each member's inbox of messages from the kenpo and from the portal.
//!
//! Whose inbox: the member a login signs in as (the IdP `sub` tied to a member row). The spec's
//! usual account is the household's, the insured's, shared by the dependants (§1); a dependant
//! with a login of their own has their own inbox. A message addressed to a dependant without a
//! login goes to the household's inbox, the insured's, since that is where they read.
//!
//! A member reads only their own inbox: a message is looked up by their own member id and the
//! message id together, so another member's message is not found. Opening a message marks it
//! read. Messages older than the kenpo's `inbox_retention_months` are not shown, and the
//! retention job deletes them.
//!
//! A member may delete a message of theirs ([`remove`]): it leaves their inbox but stays counted
//! in the kenpo's list of what it sent ([`sent`]). The kenpo may recall a message it wrote
//! ([`recall`]): it leaves every inbox, read or not. The portal's own messages are neither
//! listed nor recalled through the kenpo's API.

use crate::domain::{MemberId, MessageId};
use crate::import::retention_job::retention_cutoff;
use crate::store::{Audience, Card, Content, InboxStore, Kenpo, Listed, Message, SentMessage, StoreError};
use crate::tenant::{MailCategory, Settings};
use std::collections::HashSet;
use time::OffsetDateTime;
use time::macros::offset;

/// Messages per page of `/inbox`.
pub const PAGE_SIZE: i64 = 20;
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 20_000;
/// Recipients one request may list (beyond that, send to everyone or in parts).
pub const MAX_RECIPIENTS: usize = 10_000;

/// The first instant kept: midnight (Japan time) starting the first month kept, as the health
/// data's retention counts months.
pub fn kept_since(now: OffsetDateTime, settings: &Settings) -> i64 {
    month_start_back(now, settings.inbox_retention_months)
}

/// Midnight (Japan time) starting the month `months` before the month of `now`, in epoch
/// milliseconds: where a retention of whole months begins.
pub fn month_start_back(now: OffsetDateTime, months: u32) -> i64 {
    let month = retention_cutoff(now, months);
    let first = time::Date::from_calendar_date(
        month.year(),
        time::Month::try_from(month.month()).unwrap_or(time::Month::January),
        1,
    )
    .unwrap_or(time::Date::MIN);
    shared_runtime::db::to_millis(first.midnight().assume_offset(offset!(+9)))
}

/// Page `page` of the member's inbox.
pub async fn page(
    db: &impl InboxStore,
    member: &MemberId,
    settings: &Settings,
    page: i64,
    now: OffsetDateTime,
) -> Result<Listed<Message>, StoreError> {
    db.inbox(member, kept_since(now, settings), (page - 1) * PAGE_SIZE, PAGE_SIZE).await
}

/// The member's message `id`, marked read; `None` when it is not theirs (or no longer kept).
pub async fn open(
    db: &impl InboxStore,
    member: &MemberId,
    id: &MessageId,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<Option<Message>, StoreError> {
    let Some(message) = db.inbox_message(member, id, kept_since(now, settings)).await? else {
        return Ok(None);
    };
    if message.read_at.is_none() {
        db.mark_read(member, id, shared_runtime::db::to_millis(now)).await?;
    }
    Ok(Some(message))
}

/// Deletes the member's message `id` from their MYメール; `false` when they have no such
/// message (another member's, or no longer kept), and then nothing changed.
pub async fn remove(
    db: &impl InboxStore,
    member: &MemberId,
    id: &MessageId,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    db.delete_delivery(member, id, kept_since(now, settings), shared_runtime::db::to_millis(now)).await
}

/// Page `page` (from 1) of the messages the kenpo wrote, with how many inboxes each reached
/// and how many of them opened it.
pub async fn sent(
    db: &impl InboxStore,
    kenpo_id: &str,
    page: i64,
    per_page: i64,
) -> Result<Listed<SentMessage>, StoreError> {
    db.sent_messages(kenpo_id, (page - 1) * per_page, per_page).await
}

/// The kenpo takes back a message it wrote: gone from every inbox it reached, read or not.
/// `None` when the kenpo wrote no such message (another kenpo's, or the portal's); else how
/// many inboxes still held it.
pub async fn recall(db: &impl InboxStore, kenpo_id: &str, id: &MessageId) -> Result<Option<u64>, StoreError> {
    db.recall_message(kenpo_id, id).await
}

/// The member's unread messages, for the header.
pub async fn unread(
    db: &impl InboxStore,
    member: &MemberId,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    db.unread_count(member, kept_since(now, settings)).await
}

/// Puts the portal's message of `category` in the inboxes of `members` (of the kenpo `kenpo_id`;
/// others are ignored): one message, delivered once to each inbox however many of the household
/// it names. For the update mails' flow: when an import publishes new data, the members it
/// concerns find 「新しい医療費情報を公開しました」 and the like in MYメール. Returns how many
/// inboxes it reached.
pub async fn deliver_system_message(
    db: &impl InboxStore,
    kenpo_id: &str,
    members: &[MemberId],
    category: MailCategory,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    if members.is_empty() {
        return Ok(0);
    }
    let content = Content::System(category);
    let (_, delivered) = db
        .deliver(kenpo_id, &content, Audience::Members(members), shared_runtime::db::to_millis(now))
        .await?;
    Ok(delivered)
}

/// A message the kenpo sends, unchecked (the API's JSON).
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub subject: String,
    pub body: String,
    /// Every member of the kenpo; then the lists must be empty.
    pub to_all: bool,
    /// Member ids as the portal gave them out.
    pub member_ids: Vec<String>,
    pub cards: Vec<Card>,
}

/// What is wrong with an outgoing message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutgoingError {
    #[error("the subject is empty or longer than {MAX_SUBJECT_CHARS} characters")]
    Subject,
    #[error("the body is empty or longer than {MAX_BODY_CHARS} characters")]
    Body,
    #[error("give either to_all or recipients, not both and not neither")]
    Recipients,
    #[error("more than {MAX_RECIPIENTS} recipients")]
    TooManyRecipients,
    #[error("no member of this kenpo has the id {0:?}")]
    UnknownMember(String),
    #[error("no member of this kenpo has the card {0}")]
    UnknownCard(String),
}

impl OutgoingError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Subject => "bad_subject",
            Self::Body => "bad_body",
            Self::Recipients => "bad_recipients",
            Self::TooManyRecipients => "too_many_recipients",
            Self::UnknownMember(_) => "unknown_member",
            Self::UnknownCard(_) => "unknown_card",
        }
    }

    pub fn message_ja(&self) -> String {
        match self {
            Self::Subject => format!("件名を1〜{MAX_SUBJECT_CHARS}文字で入力してください"),
            Self::Body => format!("本文を1〜{MAX_BODY_CHARS}文字で入力してください"),
            Self::Recipients => "to_all か recipients のどちらか一方を指定してください".to_owned(),
            Self::TooManyRecipients => format!("宛先は{MAX_RECIPIENTS}件までです"),
            Self::UnknownMember(id) => format!("加入者ID「{id}」の加入者はいません"),
            Self::UnknownCard(card) => format!("記号・番号・枝番「{card}」の加入者はいません"),
        }
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message_id: MessageId,
    /// Inboxes reached.
    pub delivered: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the message is not valid")]
    Invalid(Vec<OutgoingError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn card_text(c: &Card) -> String {
    format!("{}-{}-{}", c.symbol, c.number, c.branch)
}

/// Sends the kenpo's message: all or nothing, every unknown recipient reported.
pub async fn send(
    db: &impl InboxStore,
    kenpo: &Kenpo,
    out: Outgoing,
    now: OffsetDateTime,
) -> Result<Sent, SendError> {
    let mut errors = Vec::new();
    let subject = out.subject.trim().to_owned();
    if subject.is_empty()
        || subject.chars().count() > MAX_SUBJECT_CHARS
        || subject.chars().any(char::is_control)
    {
        errors.push(OutgoingError::Subject);
    }
    let body = out.body.trim().to_owned();
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        errors.push(OutgoingError::Body);
    }
    let listed = out.member_ids.len() + out.cards.len();
    if out.to_all == (listed > 0) {
        errors.push(OutgoingError::Recipients);
    }
    if listed > MAX_RECIPIENTS {
        errors.push(OutgoingError::TooManyRecipients);
    }
    if !errors.is_empty() {
        return Err(SendError::Invalid(errors));
    }
    let mut members = Vec::new();
    if !out.to_all {
        let mut asked = Vec::new();
        for raw in &out.member_ids {
            match MemberId::parse(raw.trim()) {
                Some(id) => asked.push(id),
                None => errors.push(OutgoingError::UnknownMember(raw.clone())),
            }
        }
        let known: HashSet<MemberId> = db.kenpo_members(&kenpo.id, &asked).await?.into_iter().collect();
        for id in asked {
            if known.contains(&id) {
                members.push(id);
            } else {
                errors.push(OutgoingError::UnknownMember(id.to_string()));
            }
        }
        let cards: Vec<Card> = out
            .cards
            .iter()
            .map(|c| Card {
                symbol: c.symbol.trim().to_owned(),
                number: c.number.trim().to_owned(),
                branch: c.branch.trim().to_owned(),
            })
            .collect();
        let found = db.members_by_card(&kenpo.id, &cards).await?;
        for card in &cards {
            match found.iter().find(|(c, _)| c == card) {
                Some((_, id)) => members.push(id.clone()),
                None => errors.push(OutgoingError::UnknownCard(card_text(card))),
            }
        }
        if !errors.is_empty() {
            return Err(SendError::Invalid(errors));
        }
    }
    let audience = if out.to_all { Audience::All } else { Audience::Members(&members) };
    let content = Content::Kenpo { subject, body };
    let (message_id, delivered) =
        db.deliver(&kenpo.id, &content, audience, shared_runtime::db::to_millis(now)).await?;
    Ok(Sent { message_id, delivered })
}

/// For the retention job: deletes every kenpo's messages older than its
/// `inbox_retention_months`. Returns how many messages it deleted.
pub async fn purge(db: &impl InboxStore, kenpos: &[Kenpo], now: OffsetDateTime) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for kenpo in kenpos {
        deleted += db.purge_messages_before(&kenpo.id, kept_since(now, &kenpo.settings)).await?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use time::macros::datetime;

    /// An inbox store in memory: deliveries by member, for the flow's rules.
    #[derive(Default)]
    struct Memory {
        /// (kenpo, member id, has a login, household insured)
        members: Vec<(String, MemberId, bool, MemberId)>,
        delivered: Mutex<Vec<(MemberId, Message)>>,
    }

    impl InboxStore for Memory {
        async fn deliver(
            &self,
            kenpo_id: &str,
            content: &Content,
            audience: Audience<'_>,
            sent_at: i64,
        ) -> Result<(MessageId, u64), StoreError> {
            let id = MessageId::new();
            let mut inboxes: Vec<MemberId> = self
                .members
                .iter()
                .filter(|(k, m, login, insured)| {
                    k == kenpo_id
                        && match audience {
                            Audience::All => *login || m == insured,
                            Audience::Members(ids) => ids.contains(m),
                        }
                })
                .map(|(_, m, login, insured)| if *login { m.clone() } else { insured.clone() })
                .collect();
            inboxes.sort();
            inboxes.dedup();
            let mut delivered = self.delivered.lock().map_err(|_| StoreError::Corrupt("lock"))?;
            for inbox in &inboxes {
                let message = Message { id: id.clone(), content: content.clone(), sent_at, read_at: None };
                delivered.push((inbox.clone(), message));
            }
            Ok((id, inboxes.len() as u64))
        }
        async fn kenpo_members(&self, kenpo_id: &str, ids: &[MemberId]) -> Result<Vec<MemberId>, StoreError> {
            Ok(self
                .members
                .iter()
                .filter(|(k, m, ..)| k == kenpo_id && ids.contains(m))
                .map(|t| t.1.clone())
                .collect())
        }
        async fn members_by_card(&self, _: &str, _: &[Card]) -> Result<Vec<(Card, MemberId)>, StoreError> {
            Ok(Vec::new())
        }
        async fn inbox(
            &self,
            member: &MemberId,
            since: i64,
            _: i64,
            _: i64,
        ) -> Result<Listed<Message>, StoreError> {
            let delivered = self.delivered.lock().map_err(|_| StoreError::Corrupt("lock"))?;
            let items: Vec<_> = delivered
                .iter()
                .filter(|(m, msg)| m == member && msg.sent_at >= since)
                .map(|t| t.1.clone())
                .collect();
            Ok(Listed { total: items.len() as i64, items })
        }
        async fn inbox_message(
            &self,
            member: &MemberId,
            id: &MessageId,
            since: i64,
        ) -> Result<Option<Message>, StoreError> {
            Ok(self.inbox(member, since, 0, 100).await?.items.into_iter().find(|m| &m.id == id))
        }
        async fn mark_read(&self, member: &MemberId, id: &MessageId, now: i64) -> Result<(), StoreError> {
            let mut delivered = self.delivered.lock().map_err(|_| StoreError::Corrupt("lock"))?;
            for (m, msg) in delivered.iter_mut() {
                if m == member && &msg.id == id && msg.read_at.is_none() {
                    msg.read_at = Some(now);
                }
            }
            Ok(())
        }
        async fn unread_count(&self, member: &MemberId, since: i64) -> Result<i64, StoreError> {
            Ok(self.inbox(member, since, 0, 100).await?.items.iter().filter(|m| m.read_at.is_none()).count()
                as i64)
        }
        async fn purge_messages_before(&self, _: &str, before: i64) -> Result<u64, StoreError> {
            let mut delivered = self.delivered.lock().map_err(|_| StoreError::Corrupt("lock"))?;
            let n = delivered.len();
            delivered.retain(|(_, m)| m.sent_at >= before);
            Ok((n - delivered.len()) as u64)
        }
        async fn delete_delivery(
            &self,
            member: &MemberId,
            id: &MessageId,
            since: i64,
            _: i64,
        ) -> Result<bool, StoreError> {
            let mut delivered = self.delivered.lock().map_err(|_| StoreError::Corrupt("lock"))?;
            let n = delivered.len();
            delivered.retain(|(m, msg)| !(m == member && &msg.id == id && msg.sent_at >= since));
            Ok(delivered.len() < n)
        }
        async fn sent_messages(&self, _: &str, _: i64, _: i64) -> Result<Listed<SentMessage>, StoreError> {
            Ok(Listed { items: Vec::new(), total: 0 })
        }
        async fn recall_message(&self, _: &str, id: &MessageId) -> Result<Option<u64>, StoreError> {
            let mut delivered = self.delivered.lock().map_err(|_| StoreError::Corrupt("lock"))?;
            let n = delivered.len();
            delivered.retain(|(_, msg)| &msg.id != id);
            Ok((delivered.len() < n).then_some((n - delivered.len()) as u64))
        }
    }

    fn kenpo(id: &str) -> Kenpo {
        Kenpo {
            id: id.into(),
            issuer: format!("https://idp/realms/{id}"),
            client_id: "portal".into(),
            host: None,
            display_name: id.into(),
            settings: Settings::default(),
            client_secret_sealed: None,
        }
    }

    /// Kenpo `a`: an insured with a login and a dependant without; another household's insured.
    fn store() -> (Memory, [MemberId; 3]) {
        let (insured, dependant, stranger) = (MemberId::new(), MemberId::new(), MemberId::new());
        let members = vec![
            ("a".to_owned(), insured.clone(), true, insured.clone()),
            ("a".to_owned(), dependant.clone(), false, insured.clone()),
            ("a".to_owned(), stranger.clone(), true, stranger.clone()),
        ];
        (Memory { members, ..Memory::default() }, [insured, dependant, stranger])
    }

    #[tokio::test]
    async fn a_member_opens_only_their_own_messages_and_opening_marks_read() -> Result<(), SendError> {
        let (db, [insured, _, stranger]) = store();
        let now = datetime!(2026-11-24 10:00 +09:00);
        let out = Outgoing {
            subject: "ご案内".into(),
            body: "本文".into(),
            member_ids: vec![insured.to_string()],
            ..Outgoing::default()
        };
        let sent = send(&db, &kenpo("a"), out, now).await?;
        assert_eq!(sent.delivered, 1);
        let settings = Settings::default();
        assert_eq!(unread(&db, &insured, &settings, now).await?, 1);
        assert!(open(&db, &stranger, &sent.message_id, &settings, now).await?.is_none(), "not theirs");
        assert!(open(&db, &insured, &sent.message_id, &settings, now).await?.is_some());
        assert_eq!(unread(&db, &insured, &settings, now).await?, 0, "opened, so read");
        Ok(())
    }

    #[tokio::test]
    async fn a_dependant_without_a_login_reads_through_the_household_once() -> Result<(), StoreError> {
        let (db, [insured, dependant, stranger]) = store();
        let now = datetime!(2026-11-24 10:00 +09:00);
        let both = [insured.clone(), dependant.clone()];
        let delivered = deliver_system_message(&db, "a", &both, MailCategory::MedicalExpenses, now).await?;
        assert_eq!(delivered, 1, "one inbox for the household");
        let settings = Settings::default();
        assert_eq!(unread(&db, &insured, &settings, now).await?, 1);
        assert_eq!(unread(&db, &stranger, &settings, now).await?, 0);
        let elsewhere = deliver_system_message(&db, "b", &both, MailCategory::Checkups, now).await?;
        assert_eq!(elsewhere, 0, "another kenpo's ids reach no one");
        Ok(())
    }

    #[tokio::test]
    async fn unknown_recipients_stop_the_whole_send() -> Result<(), StoreError> {
        let (db, [insured, ..]) = store();
        let out = Outgoing {
            subject: "件名".into(),
            body: "本文".into(),
            member_ids: vec![insured.to_string(), MemberId::new().to_string(), "x".into()],
            cards: vec![Card { symbol: "1".into(), number: "2".into(), branch: "00".into() }],
            ..Outgoing::default()
        };
        let Err(SendError::Invalid(errors)) = send(&db, &kenpo("a"), out, OffsetDateTime::UNIX_EPOCH).await
        else {
            panic!("refused")
        };
        let codes: Vec<_> = errors.iter().map(OutgoingError::code).collect();
        assert_eq!(codes, ["unknown_member", "unknown_member", "unknown_card"]);
        assert!(errors.iter().all(|e| !e.message_ja().is_empty()));
        let delivered = db.delivered.lock().map(|d| d.len()).unwrap_or(usize::MAX);
        assert_eq!(delivered, 0, "nothing was sent");
        let neither = Outgoing { subject: "s".into(), body: "b".into(), ..Outgoing::default() };
        let refused = send(&db, &kenpo("a"), neither, OffsetDateTime::UNIX_EPOCH).await;
        assert!(matches!(refused, Err(SendError::Invalid(e)) if e == [OutgoingError::Recipients]));
        Ok(())
    }

    #[tokio::test]
    async fn messages_past_the_retention_are_hidden_then_purged() -> Result<(), StoreError> {
        let (db, [insured, ..]) = store();
        let sent = datetime!(2024-10-31 23:00 +09:00);
        deliver_system_message(&db, "a", std::slice::from_ref(&insured), MailCategory::Benefits, sent)
            .await?;
        let settings = Settings::default();
        let within = datetime!(2026-10-15 12:00 +09:00);
        assert_eq!(unread(&db, &insured, &settings, within).await?, 1, "24 months: October 2024 is kept");
        let later = datetime!(2026-11-01 00:00 +09:00);
        assert_eq!(
            kept_since(later, &settings),
            shared_runtime::db::to_millis(datetime!(2024-11-01 00:00 +09:00))
        );
        assert_eq!(unread(&db, &insured, &settings, later).await?, 0, "hidden once past the retention");
        assert_eq!(purge(&db, &[kenpo("a")], later).await?, 1);
        assert_eq!(purge(&db, &[kenpo("a")], later).await?, 0);
        Ok(())
    }
}
