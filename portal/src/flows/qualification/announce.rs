//! Update mails and MYメール messages for the kenpo's 資格確認書 and its decisions on applications
//! (spec §2.11 categories `qualification_certificate` and `applications`), the way
//! `flows::update_mails::announce_new_notices` announces 資格情報のお知らせ:
//!
//! - a newly issued card (recorded by the kenpo, or issued on an application) is announced once,
//!   under the card's id, to the logins who handle that person's documents
//!   (`access::qualification_people`, the kenpo's `qualification_pdf` setting);
//! - each decision on an application (受付, 却下, 交付済み) is announced once, under
//!   `<application id>:<status>`, to the applicant and to those same logins.
//!
//! Mails go to those who opted in (通知設定) and logged in, when the kenpo sends the category;
//! the MYメール message to all of them. The mail is written from the category alone
//! (`mail::render`): it says that something changed, never what or for whom. Mails are queued
//! before the news is marked announced, so a round cut short queues again and the unique key
//! of `update_mails` keeps it to one mail each.

use super::QualificationError;
use crate::domain::{ApplicationStatus, HouseholdId, MemberId, japan_date};
use crate::flows::access;
use crate::flows::update_mails::{News, queue_news, tell_inboxes};
use crate::store::{InboxStore, Kenpo, MemberStore, QualificationNews, StoreError, UpdateMailStore};
use crate::tenant::MailCategory;
use time::{Date, OffsetDateTime};

/// The publication id of a decision.
pub fn decision_publication(application_id: &str, status: ApplicationStatus) -> String {
    format!("{application_id}:{}", status.as_str())
}

/// The logins of `household_id` who handle `person`'s documents today, plus `also` (the
/// applicant) when they sign in; the insured first.
async fn handlers(
    db: &impl MemberStore,
    kenpo: &Kenpo,
    household_id: &HouseholdId,
    person: &MemberId,
    also: Option<&MemberId>,
    today: &str,
) -> Result<Vec<MemberId>, StoreError> {
    let household = db.household(household_id).await?;
    let mut logins: Vec<_> = household
        .iter()
        .filter(|login| login.subject.is_some())
        .filter(|login| {
            Some(&login.id) == also
                || access::qualification_people(login, &household, &kenpo.settings, today)
                    .is_ok_and(|people| people.iter().any(|p| &p.id == person))
        })
        .collect();
    logins.sort_by_key(|m| (m.relation != crate::domain::Relation::Insured, m.id.clone()));
    Ok(logins.into_iter().map(|m| m.id.clone()).collect())
}

/// The kenpo's cards not announced yet, each with the logins to tell.
pub async fn new_certificates(
    db: &(impl QualificationNews + MemberStore),
    kenpo: &Kenpo,
    today: Date,
) -> Result<Vec<News>, QualificationError> {
    let today = today.to_string();
    let mut news = Vec::new();
    for card in db.unannounced_certificates(&kenpo.id).await? {
        let recipients = handlers(db, kenpo, &card.household_id, &card.member_id, None, &today).await?;
        news.push(News { publication: card.certificate_id, recipients });
    }
    Ok(news)
}

/// The kenpo's decisions not announced yet, each with the logins to tell: the applicant and
/// whoever handles the person's documents.
pub async fn new_decisions(
    db: &(impl QualificationNews + MemberStore),
    kenpo: &Kenpo,
    today: Date,
) -> Result<(Vec<News>, Vec<(String, ApplicationStatus)>), QualificationError> {
    let today = today.to_string();
    let mut news = Vec::new();
    let mut decisions = Vec::new();
    for d in db.unannounced_decisions(&kenpo.id).await? {
        let recipients =
            handlers(db, kenpo, &d.household_id, &d.member_id, Some(&d.applicant_id), &today).await?;
        news.push(News { publication: decision_publication(&d.application_id, d.status), recipients });
        decisions.push((d.application_id, d.status));
    }
    Ok((news, decisions))
}

/// Announces the kenpo's newly issued 資格確認書; returns how many mails were queued.
pub async fn announce_new_certificates(
    db: &(impl QualificationNews + MemberStore + UpdateMailStore + InboxStore),
    kenpo: &Kenpo,
    now: OffsetDateTime,
) -> Result<usize, QualificationError> {
    let news = new_certificates(db, kenpo, japan_date(now)).await?;
    if news.is_empty() {
        return Ok(0);
    }
    let category = MailCategory::QualificationCertificate;
    let queued = queue_news(db, kenpo, category, &news, now).await?;
    let ids: Vec<String> = news.iter().map(|n| n.publication.clone()).collect();
    db.mark_certificates_announced(&ids, now).await?;
    tell_inboxes(db, kenpo, category, &news, now).await;
    Ok(queued)
}

/// Announces the kenpo's new decisions on applications; returns how many mails were queued.
pub async fn announce_decisions(
    db: &(impl QualificationNews + MemberStore + UpdateMailStore + InboxStore),
    kenpo: &Kenpo,
    now: OffsetDateTime,
) -> Result<usize, QualificationError> {
    let (news, decisions) = new_decisions(db, kenpo, japan_date(now)).await?;
    if news.is_empty() {
        return Ok(0);
    }
    let category = MailCategory::Applications;
    let queued = queue_news(db, kenpo, category, &news, now).await?;
    db.mark_decisions_announced(&decisions, now).await?;
    tell_inboxes(db, kenpo, category, &news, now).await;
    Ok(queued)
}

#[cfg(test)]
mod tests;
