//! 被扶養者資格確認 reminders (spec §5, issue 8 item 3): before a survey's deadline, the insured
//! of each household with sheets still to hand in is asked by mail to log in and answer. Unlike
//! the update mails this is a request to act, not news: it goes to whoever must act, opted in to
//! mails or not, at the reminder points the kenpo sets (`survey_reminder_days`, each once), and
//! only to an insured who has logged in (the portal has no other address). It says nothing of
//! who the sheets are for (`mail::render`).
//!
//! The sheets' reminder points are marked after the mails are queued: a round cut short queues
//! again, and the outbox's unique key (one mail per household and day) keeps it to one. A mail
//! still waiting when the household has handed everything in is withdrawn, not sent
//! ([`still_stands`]).

use crate::domain::{MemberId, japan_date};
use crate::flows::survey;
use crate::mail::Topic;
use crate::store::{
    Db, DueUpdateMail, Kenpo, NewUpdateMail, StoreError, Subscriber, SurveyStore, UpdateMailStore,
};
use std::collections::HashMap;
use time::{Date, OffsetDateTime};

/// The last error of a reminder not sent because nothing is left to hand in.
pub const HANDED_IN: &str = "withdrawn: nothing left to hand in";

/// The outbox's publication of a reminder: one per household and day.
fn publication(household: &str, today: Date) -> String {
    format!("survey-reminder:{household}:{today}")
}

/// Queues the reminders of `kenpo` due at `now` and marks them sent; returns how many mails were
/// queued (households whose insured never logged in are marked too, and get none).
pub async fn queue_due(db: &Db, kenpo: &Kenpo, now: OffsetDateTime) -> Result<usize, StoreError> {
    let today = japan_date(now);
    let due = survey::due_reminders(db, &kenpo.id, today, &kenpo.settings.survey_reminder_days).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let insured: Vec<_> = due.iter().map(|r| r.insured_id.clone()).collect();
    let addresses: HashMap<MemberId, Subscriber> =
        db.login_addresses(&insured).await?.into_iter().map(|a| (a.member_id.clone(), a)).collect();
    let mut queued = 0;
    for reminder in &due {
        let Some(to) = addresses.get(&reminder.insured_id) else { continue };
        let publication = publication(reminder.household_id.as_str(), today);
        let mail = NewUpdateMail {
            kenpo_id: &kenpo.id,
            publication: &publication,
            category: Topic::SurveyReminder.key(),
            member: &reminder.insured_id,
            recipient: &to.email,
            locale: to.locale.as_deref().filter(|l| *l == "en").unwrap_or("ja"),
        };
        if db.queue_update_mail(mail, now).await? {
            queued += 1;
        }
    }
    survey::mark_reminded(db, &due, today).await?;
    Ok(queued)
}

/// Whether a queued reminder is still to be sent at `now`: the household still has a sheet to
/// hand in before its deadline.
pub async fn still_stands(db: &Db, due: &DueUpdateMail, now: OffsetDateTime) -> Result<bool, StoreError> {
    db.still_to_hand_in(&due.member_id, &japan_date(now).to_string()).await
}
