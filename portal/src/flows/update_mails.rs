//! Update mails (spec §1, issue 8 item 6): when an import publishes new data, the household's
//! login hears of it by mail, if they opted in to the category (通知設定), the kenpo offers that
//! category, and they have logged in at least once (so the portal holds an address the IdP
//! verified). At most one mail per category per publication; nothing new, no mail. The mail says
//! only that something new is there (see `mail::compose`): it is written from the category, and
//! never sees a row of the data.
//!
//! The steps, all here: [`publish`] decides the recipients and queues their mails inside the
//! import's transaction, with the portal's MYメール message for everyone who would see the new
//! data; [`announce_new_notices`] does the same for newly issued 資格情報のお知らせ;
//! [`deliver_due`] sends what is due (background job `mail::job`), with retries and backoff like
//! the IdP's outbox.

use super::{access, inbox, qualification};
use crate::domain::{MemberId, Relation};
use crate::i18n::Locale;
use crate::import::ImportKind;
use crate::mail::{self, Topic, UpdateMail};
use crate::store::{
    Db, DueUpdateMail, ImportTx, InboxStore, Kenpo, KenpoStore, MailAudience, Member, NewUpdateMail,
    PublishedTable, StoreError, Subscriber, UpdateMailStore,
};
use crate::tenant::{MailCategory, Service, Settings};
use shared_runtime::mail::retry;
use shared_runtime::mail::{Address, Mailer};
use std::collections::{HashMap, HashSet};
use time::{Duration, OffsetDateTime};

/// How long a claimed mail is held by its deliverer before another may send it: longer than a
/// send can take (`shared_runtime::mail::SMTP_TIMEOUT` per step).
pub const LEASE: Duration = Duration::minutes(2);

/// The last error of a mail not sent because the member opted out (or left no address) while
/// it waited. (A reminder with nothing left to hand in: [`reminders::HANDED_IN`].)
pub const WITHDRAWN: &str = "withdrawn: no longer opted in";

/// How many mails one round of [`deliver_due`] takes on.
const BATCH: u32 = 100;

/// What an import of `kind` announces, and the table its new rows are in. Member files
/// announce nothing.
pub fn publication_of(kind: ImportKind) -> Option<(MailCategory, PublishedTable)> {
    match kind {
        ImportKind::Members => None,
        ImportKind::Claims => Some((MailCategory::MedicalExpenses, PublishedTable::Claims)),
        ImportKind::Benefits => Some((MailCategory::Benefits, PublishedTable::Benefits)),
        ImportKind::Prescriptions => Some((MailCategory::Prescriptions, PublishedTable::Prescriptions)),
    }
}

/// The page whose data a category announces, for who may see whose (`flows::access`).
fn service_of(category: MailCategory) -> Option<Service> {
    match category {
        MailCategory::MedicalExpenses => Some(Service::MedicalExpenses),
        MailCategory::Benefits => Some(Service::Benefits),
        MailCategory::Prescriptions => Some(Service::Prescriptions),
        MailCategory::Checkups => Some(Service::Checkups),
        MailCategory::QualificationCertificate
        | MailCategory::QualificationNotice
        | MailCategory::Applications => None,
    }
}

/// One mail to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient<'a> {
    pub member: &'a MemberId,
    pub email: &'a str,
    pub locale: Locale,
}

/// The logins (members who sign in) who would see some of the new data of `category` on its
/// page, today (`YYYY-MM-DD`, Japan): their own, or a dependant's the insured sees (never a
/// dependant's who chose not to be shown, nor another household's). The insured first.
pub fn viewers<'a>(
    settings: &Settings,
    category: MailCategory,
    audience: &'a MailAudience,
    today: &str,
) -> Vec<&'a Member> {
    let Some(service) = service_of(category) else { return Vec::new() };
    let touched: HashSet<&MemberId> = audience.touched.iter().collect();
    let mut chosen = Vec::new();
    for login in audience.households.iter().filter(|m| m.subject.is_some()) {
        let household: Vec<_> =
            audience.households.iter().filter(|m| m.household_id == login.household_id).cloned().collect();
        let Ok(visible) = access::visible_people(login, &household, settings, service, today) else {
            continue;
        };
        if visible.iter().any(|m| touched.contains(&m.id)) {
            chosen.push(login);
        }
    }
    // The queue's order does not depend on the query's.
    chosen.sort_by_key(|m| (m.relation != Relation::Insured, m.id.clone()));
    chosen
}

/// Who is mailed about a publication of `category`: each of its [`viewers`] who opted in, with
/// the address and language of their latest login, if the kenpo sends the category at all. One
/// each.
pub fn recipients<'a>(
    settings: &Settings,
    category: MailCategory,
    audience: &'a MailAudience,
    today: &str,
) -> Vec<Recipient<'a>> {
    if !settings.mails(category) {
        return Vec::new();
    }
    let subscribed: HashMap<&MemberId, _> = audience.subscribers.iter().map(|s| (&s.member_id, s)).collect();
    viewers(settings, category, audience, today)
        .into_iter()
        .filter_map(|login| {
            let subscriber = *subscribed.get(&login.id)?;
            Some(Recipient {
                member: &login.id,
                email: &subscriber.email,
                locale: subscriber.locale.as_deref().and_then(Locale::parse).unwrap_or(Locale::Ja),
            })
        })
        .collect()
}

/// What a publication announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Update mails queued (none again for the same publication).
    pub mails: usize,
    /// Everyone who would see the new data ([`viewers`]), each of whom got the portal's
    /// MYメール message of the category.
    pub viewers: Vec<MemberId>,
}

/// Announces a publication, inside the import's transaction `tx`: the `table`'s rows this
/// import inserted or changed, announced as `category`, under the import's id. The update mails
/// are queued for those who opted in, and the portal's MYメール message
/// (「新しい医療費情報を公開しました」…) goes to every viewer, opted in or not: with the data, or
/// not at all.
pub async fn publish(
    tx: &mut ImportTx,
    kenpo: &Kenpo,
    category: MailCategory,
    table: PublishedTable,
    publication: &str,
    now: OffsetDateTime,
) -> Result<Published, StoreError> {
    let audience = tx.mail_audience(&kenpo.id, table, category.key()).await?;
    let today = crate::domain::japan_date(now).to_string();
    let mut mails = 0;
    for r in recipients(&kenpo.settings, category, &audience, &today) {
        if tx
            .queue_update_mail(&kenpo.id, publication, category.key(), r.member, r.email, r.locale.code())
            .await?
        {
            mails += 1;
        }
    }
    let viewers: Vec<MemberId> =
        viewers(&kenpo.settings, category, &audience, &today).into_iter().map(|m| m.id.clone()).collect();
    tx.deliver_system_message(&kenpo.id, category.key(), &viewers).await?;
    Ok(Published { mails, viewers })
}

/// One piece of news outside an import (a 資格情報のお知らせ, a 資格確認書, a decision on an
/// application) and the logins to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    /// The update mail's publication id: the notice's or card's id, or
    /// `<application id>:<status>`.
    pub publication: String,
    /// The logins (members with a subject), the insured first.
    pub recipients: Vec<MemberId>,
}

/// Queues one mail of `category` per piece of news to each recipient who opted in, if the kenpo
/// sends the category; returns how many were queued (none again for the same news).
pub async fn queue_news(
    db: &impl UpdateMailStore,
    kenpo: &Kenpo,
    category: MailCategory,
    news: &[News],
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    if !kenpo.settings.mails(category) {
        return Ok(0);
    }
    let mut queued = 0;
    for item in news {
        for s in db.mail_subscribers(&item.recipients, category.key()).await? {
            let locale = s.locale.as_deref().and_then(Locale::parse).unwrap_or(Locale::Ja);
            let mail = NewUpdateMail {
                kenpo_id: &kenpo.id,
                publication: &item.publication,
                category: category.key(),
                member: &s.member_id,
                recipient: &s.email,
                locale: locale.code(),
            };
            if db.queue_update_mail(mail, now).await? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// After the news was marked announced: the portal's MYメール message of `category` to every
/// recipient, opted in to mails or not. A failure is logged; the mails are already queued.
pub async fn tell_inboxes(
    db: &impl InboxStore,
    kenpo: &Kenpo,
    category: MailCategory,
    news: &[News],
    now: OffsetDateTime,
) {
    for item in news {
        if let Err(e) = inbox::deliver_system_message(db, &kenpo.id, &item.recipients, category, now).await {
            tracing::error!(error = %e, kenpo = %kenpo.id, category = category.key(), "MYメール message not delivered");
        }
    }
}

/// 資格情報のお知らせ issued since the last round (`flows::qualification::new_issues`): one
/// update mail of category `qualification_notice` per notice to each login who may download it
/// and opted in, then each notice marked announced, then the portal's MYメール message to those
/// logins. Run by the delivery job. Returns how many mails were queued.
pub async fn announce_new_notices(
    db: &Db,
    kenpo: &Kenpo,
    now: OffsetDateTime,
) -> Result<usize, qualification::QualificationError> {
    let category = qualification::MAIL_CATEGORY;
    let issued = qualification::new_issues(db, kenpo, crate::domain::japan_date(now)).await?;
    if issued.is_empty() {
        return Ok(0);
    }
    let news: Vec<News> = issued
        .iter()
        .map(|a| News {
            publication: a.notice_id.clone(),
            recipients: a.recipients.iter().map(|m| m.id.clone()).collect(),
        })
        .collect();
    let queued = queue_news(db, kenpo, category, &news, now).await?;
    // Queued before marked: a round cut short queues again next time, and the unique key keeps
    // it to one mail each.
    qualification::mark_announced(db, &issued, now).await?;
    tell_inboxes(db, kenpo, category, &news, now).await;
    Ok(queued)
}

/// Where update mails come from and lead to.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// `KENPO_PORTAL_MAIL_DOMAIN`: kenpos that set no `mail_from` send from `info@` it.
    pub mail_domain: &'a str,
    /// The portal's URL (`KENPO_PORTAL_PUBLIC_URL`), the configured kenpo's.
    pub public_url: &'a str,
    /// The configured kenpo; the others are reached at their own host.
    pub configured_kenpo: &'a str,
}

impl Outgoing<'_> {
    /// The kenpo's sender: its `mail_from` setting, else `info@<mail domain>`.
    pub fn sender(&self, kenpo: &Kenpo) -> Result<Address, String> {
        match kenpo.settings.mail_from.trim() {
            "" => Address::new("info", self.mail_domain).map_err(|e| e.to_string()),
            from => from.parse().map_err(|e: shared_runtime::mail::AddressError| e.to_string()),
        }
    }

    /// The kenpo's portal: the configured URL, or the same scheme at the kenpo's own host.
    pub fn portal_url(&self, kenpo: &Kenpo) -> String {
        match &kenpo.host {
            Some(host) if kenpo.id != self.configured_kenpo => {
                let scheme = self.public_url.split_once("://").map_or("https", |(s, _)| s);
                format!("{scheme}://{host}")
            }
            _ => self.public_url.trim_end_matches('/').to_owned(),
        }
    }
}

/// Sends what is due; returns how many were sent. A mail whose member no longer wants it is
/// withdrawn ([`WITHDRAWN`]), not sent. A mail that fails is tried again after
/// [`retry::backoff`]; one the server refuses for good, or that cannot be written, is given up
/// at once. Either way the row keeps the last error.
pub async fn deliver_due(
    db: &Db,
    mailer: &Mailer,
    outgoing: Outgoing<'_>,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let mut kenpos: HashMap<String, Option<Kenpo>> = HashMap::new();
    let mut sent = 0;
    for due in db.due_update_mails(now, BATCH).await? {
        if !db.claim_update_mail(&due.id, now, now + LEASE).await? {
            continue;
        }
        if !kenpos.contains_key(&due.kenpo_id) {
            kenpos.insert(due.kenpo_id.clone(), db.kenpo(&due.kenpo_id).await?);
        }
        let kenpo = kenpos.get(&due.kenpo_id).and_then(Option::as_ref);
        let current = match still_wanted(db, kenpo, &due, now).await? {
            Ok(current) => current,
            Err(withdrawn) => {
                db.update_mail_failed(&due.id, withdrawn, None).await?;
                continue;
            }
        };
        match send(mailer, outgoing, kenpo, &due, &current.email, now).await {
            Ok(()) => {
                db.update_mail_sent(&due.id, &current.email, now).await?;
                sent += 1;
            }
            Err(Failure { error, permanent }) => {
                let attempts = due.attempts + 1;
                let next = if permanent { None } else { retry::next_attempt(attempts, now) };
                tracing::warn!(mail = %due.id, attempts, given_up = next.is_none(), %error, "update mail not sent");
                db.update_mail_failed(&due.id, &error, next).await?;
            }
        }
    }
    Ok(sent)
}

/// Whether a due mail is still to be sent, and to which address: news only while the member
/// still wants it, a reminder only while something is left to hand in; either to the address of
/// the member's latest login. Else why it is withdrawn (an opt-out, or a kenpo that stopped the
/// category, while the mail waited).
async fn still_wanted(
    db: &Db,
    kenpo: Option<&Kenpo>,
    due: &DueUpdateMail,
    now: OffsetDateTime,
) -> Result<Result<Subscriber, &'static str>, StoreError> {
    let member = std::slice::from_ref(&due.member_id);
    let current = match (kenpo, Topic::parse(&due.category)) {
        (Some(kenpo), Some(Topic::News(category))) if kenpo.settings.mails(category) => {
            db.mail_subscribers(member, &due.category).await?.pop()
        }
        // A kenpo that stopped its reminders stops those still waiting too.
        (Some(kenpo), Some(Topic::SurveyReminder)) if !kenpo.settings.survey_reminder_days.is_empty() => {
            if !reminders::still_stands(db, due, now).await? {
                return Ok(Err(reminders::HANDED_IN));
            }
            db.login_addresses(member).await?.pop()
        }
        _ => None,
    };
    Ok(current.ok_or(WITHDRAWN))
}

/// For the retention job: deletes every kenpo's finished update mails (the trail of who was told
/// what kind of news) queued before its MYメール retention (`inbox_retention_months`), the
/// period the messages themselves are kept. Pending mails stay. Returns how many it deleted.
pub async fn purge(db: &Db, kenpos: &[Kenpo], now: OffsetDateTime) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for kenpo in kenpos {
        deleted += db.purge_update_mails_before(&kenpo.id, inbox::kept_since(now, &kenpo.settings)).await?;
    }
    Ok(deleted)
}

/// Where a mail of the trail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    Pending,
    Sent,
    /// Not sent: the member opted out, or nothing was left to act on, while it waited.
    Withdrawn,
    /// Not sent: refused for good, or out of attempts.
    GivenUp,
}

/// One mail of the kenpo's trail (`kenpo-portal update-mails`): what kind of news went to whom,
/// when, and how it went. Never what the news was.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrailEntry {
    pub publication: String,
    pub member_id: String,
    /// `mail::Topic::key`.
    pub topic: String,
    pub recipient: String,
    pub state: MailState,
    pub attempts: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// The kenpo's latest `limit` update mails, newest first.
pub async fn trail(db: &Db, kenpo_id: &str, limit: u32) -> Result<Vec<TrailEntry>, StoreError> {
    let withdrawn = |e: &Option<String>| e.as_deref().is_some_and(|e| e.starts_with("withdrawn"));
    Ok(db
        .kenpo_update_mails(kenpo_id, limit)
        .await?
        .into_iter()
        .map(|m| TrailEntry {
            state: match (m.sent_at, m.next_attempt_at) {
                (Some(_), _) => MailState::Sent,
                (None, Some(_)) => MailState::Pending,
                (None, None) if withdrawn(&m.last_error) => MailState::Withdrawn,
                (None, None) => MailState::GivenUp,
            },
            publication: m.publication_id,
            member_id: m.member_id,
            topic: m.category,
            recipient: m.recipient,
            attempts: m.attempts,
            sent_at: m.sent_at,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
        })
        .collect())
}

/// Why a send failed, and whether trying again could help.
struct Failure {
    error: String,
    permanent: bool,
}

impl Failure {
    fn permanent(error: impl ToString) -> Self {
        Self { error: error.to_string(), permanent: true }
    }
}

async fn send(
    mailer: &Mailer,
    outgoing: Outgoing<'_>,
    kenpo: Option<&Kenpo>,
    due: &DueUpdateMail,
    recipient: &str,
    now: OffsetDateTime,
) -> Result<(), Failure> {
    let kenpo = kenpo.ok_or_else(|| Failure::permanent("the kenpo is gone"))?;
    let topic = Topic::parse(&due.category)
        .ok_or_else(|| Failure::permanent(format!("unknown category {:?}", due.category)))?;
    let from = outgoing.sender(kenpo).map_err(Failure::permanent)?;
    let to: Address = recipient.parse().map_err(Failure::permanent)?;
    let portal_url = outgoing.portal_url(kenpo);
    let locale = Locale::parse(&due.locale).unwrap_or(Locale::Ja);
    let update = UpdateMail { topic, kenpo_name: &kenpo.display_name, portal_url: &portal_url };
    let message = mail::compose(&update, locale, from, to, &due.id, now).map_err(Failure::permanent)?;
    mailer.send(message).await.map_err(|e| Failure { permanent: e.is_permanent(), error: e.to_string() })
}

pub mod reminders;
#[cfg(test)]
mod tests;
