//! A sheet's life: 未回答 → 入力中 → 提出済み → 差し戻し → 審査中 → 認定継続 / 削除 (spec §5),
//! who puts a dependant in scope when the kenpo opens a survey, and which households are due a
//! reminder before the deadline. Pure: dates and members come in, decisions go out.

use crate::domain::{MemberId, Relation};
use crate::store::Member;
use serde::{Deserialize, Serialize};
use time::{Date, Duration};

/// Where a sheet is. The member moves it up to 提出済み; the kenpo moves it on from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 未回答: opened, nothing saved yet.
    Unanswered,
    /// 入力中: answers or documents saved, not submitted.
    InProgress,
    /// 提出済み: submitted once; answers are read-only, documents may still change.
    Submitted,
    /// 差し戻し: the kenpo sent it back with a reason; the member edits and submits again.
    Returned,
    /// 審査中: the kenpo is deciding; nothing changes on the member's side.
    UnderReview,
    /// 認定継続: still a dependant.
    Continued,
    /// 削除: no longer a dependant (被扶養者削除).
    Removed,
}

impl Status {
    pub const ALL: [Self; 7] = [
        Self::Unanswered,
        Self::InProgress,
        Self::Submitted,
        Self::Returned,
        Self::UnderReview,
        Self::Continued,
        Self::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unanswered => "unanswered",
            Self::InProgress => "in_progress",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::UnderReview => "under_review",
            Self::Continued => "continued",
            Self::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// The member may still edit the answers.
    pub fn answers_editable(self) -> bool {
        self.next(Event::Save).is_ok()
    }

    /// The member may still add or remove documents.
    pub fn documents_editable(self) -> bool {
        self.next(Event::ChangeDocuments).is_ok()
    }

    /// The member has yet to hand it in (what reminders are for).
    pub fn awaits_member(self) -> bool {
        matches!(self, Self::Unanswered | Self::InProgress | Self::Returned)
    }

    /// The status after `event`, or why it cannot happen now.
    pub fn next(self, event: Event) -> Result<Self, IllegalTransition> {
        use Status::*;
        let to = match (self, event) {
            // The member's side.
            (Unanswered | InProgress, Event::Save | Event::ChangeDocuments) => Some(InProgress),
            // A sheet sent back stays 差し戻し (with its reason shown) until it is submitted again.
            (Returned, Event::Save | Event::ChangeDocuments) => Some(Returned),
            // "After 提出, uploads can still be added/removed; form edits need 差し戻し" (§5).
            (Submitted, Event::ChangeDocuments) => Some(Submitted),
            (InProgress | Returned, Event::Submit) => Some(Submitted),
            // The kenpo's side.
            (Submitted | UnderReview, Event::SendBack) => Some(Returned),
            (Submitted, Event::Review) => Some(UnderReview),
            (UnderReview, Event::Decide(Outcome::Continued)) => Some(Continued),
            (UnderReview, Event::Decide(Outcome::Removed)) => Some(Removed),
            // No reply by the deadline: 資格喪失 (§5). Whether the deadline has passed is
            // [`lapse`]'s to say.
            (Unanswered | InProgress | Returned, Event::Lapse) => Some(Removed),
            _ => None,
        };
        to.ok_or(IllegalTransition { from: self, event })
    }
}

/// The kenpo's decision on a sheet under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Continued,
    Removed,
}

/// What happens to a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The member saves answers (partial is fine).
    Save,
    /// The member adds or removes a document.
    ChangeDocuments,
    /// The member submits (once; again only after 差し戻し).
    Submit,
    /// The kenpo sends it back with a reason.
    SendBack,
    /// The kenpo starts reviewing.
    Review,
    Decide(Outcome),
    /// The kenpo removes a dependant whose sheet was never handed in by the deadline (§5:
    /// "non-reply by deadline → 資格喪失").
    Lapse,
}

/// What the kenpo's decision `outcome` on a sheet that is `status` comes to `today` (Japan
/// time): a sheet handed in is decided as such; 削除 of a sheet never handed in (未回答, 入力中,
/// 差し戻し) is a [`Event::Lapse`], and only once `deadline` has passed: until the end of the
/// deadline day the member may still answer.
pub fn decision(status: Status, outcome: Outcome, deadline: Date, today: Date) -> Result<Event, EarlyLapse> {
    if outcome == Outcome::Removed && status.awaits_member() {
        if today > deadline {
            return Ok(Event::Lapse);
        }
        return Err(EarlyLapse { deadline });
    }
    Ok(Event::Decide(outcome))
}

/// 削除 for want of a reply was asked for on or before the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sheet not handed in may be removed only after its deadline {deadline}")]
pub struct EarlyLapse {
    pub deadline: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sheet that is {from:?} cannot take {event:?}")]
pub struct IllegalTransition {
    pub from: Status,
    pub event: Event,
}

/// Age in whole years on `on` (a birthday on 29 February counts from 1 March in other years,
/// as 年齢計算ニ関スル法律 has it one day earlier; the difference never moves a survey's scope by
/// more than that day).
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

/// Who the kenpo asks about.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Dependants this old or older on the base date (§5: "≥19 (or ≥22, by kenpo)").
    pub min_age: Option<u8>,
    /// Dependants named by the kenpo, in addition.
    pub members: Vec<MemberId>,
}

/// The dependants of `kenpo_members` a survey with `scope` and `base_date` asks about: still
/// dependants on the base date (not lost before it), old enough or named. Insured members and
/// unreadable birth dates are never in scope.
pub fn in_scope<'a>(kenpo_members: &'a [Member], scope: &Scope, base_date: Date) -> Vec<&'a Member> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    kenpo_members
        .iter()
        .filter(|m| m.relation == Relation::Dependant)
        .filter(|m| m.lost_on.as_deref().is_none_or(|lost| lost > base_date.to_string().as_str()))
        .filter(|m| {
            let named = scope.members.contains(&m.id);
            let old_enough = scope.min_age.is_some_and(|min| {
                Date::parse(&m.birth_date, &format).is_ok_and(|b| age_on(b, base_date) >= i32::from(min))
            });
            named || old_enough
        })
        .collect()
}

/// A sheet as the reminder job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderCandidate {
    pub status: Status,
    pub deadline: Date,
    pub reminded_on: Option<Date>,
}

/// Whether a sheet's household is due a reminder `today`: the member has yet to hand it in, the
/// deadline is today or later, and a reminder point (the deadline less one of `days_before`) has
/// come that no reminder answered yet. So each point reminds once, and a survey opened late
/// reminds once for all the points already past, not once for each.
pub fn reminder_due(sheet: &ReminderCandidate, today: Date, days_before: &[u16]) -> bool {
    if !sheet.status.awaits_member() || sheet.deadline < today {
        return false;
    }
    let latest_point = days_before
        .iter()
        .map(|&days| sheet.deadline.saturating_sub(Duration::days(i64::from(days))))
        .filter(|point| *point <= today)
        .max();
    latest_point.is_some_and(|point| sheet.reminded_on.is_none_or(|reminded| reminded < point))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HouseholdId, Sex};
    use time::macros::date;

    const ALL_EVENTS: [Event; 8] = [
        Event::Save,
        Event::ChangeDocuments,
        Event::Submit,
        Event::SendBack,
        Event::Review,
        Event::Decide(Outcome::Continued),
        Event::Decide(Outcome::Removed),
        Event::Lapse,
    ];

    /// The whole table: every pair not listed here is refused.
    fn allowed() -> Vec<(Status, Event, Status)> {
        use Status::*;
        vec![
            (Unanswered, Event::Save, InProgress),
            (Unanswered, Event::ChangeDocuments, InProgress),
            (InProgress, Event::Save, InProgress),
            (InProgress, Event::ChangeDocuments, InProgress),
            (InProgress, Event::Submit, Submitted),
            (Submitted, Event::ChangeDocuments, Submitted),
            (Submitted, Event::SendBack, Returned),
            (Submitted, Event::Review, UnderReview),
            (Returned, Event::Save, Returned),
            (Returned, Event::ChangeDocuments, Returned),
            (Returned, Event::Submit, Submitted),
            (UnderReview, Event::SendBack, Returned),
            (UnderReview, Event::Decide(Outcome::Continued), Continued),
            (UnderReview, Event::Decide(Outcome::Removed), Removed),
            (Unanswered, Event::Lapse, Removed),
            (InProgress, Event::Lapse, Removed),
            (Returned, Event::Lapse, Removed),
        ]
    }

    #[test]
    fn every_allowed_transition_goes_where_the_spec_says() {
        for (from, event, to) in allowed() {
            assert_eq!(from.next(event), Ok(to), "{from:?} + {event:?}");
        }
    }

    #[test]
    fn every_other_transition_is_illegal() {
        let allowed = allowed();
        let mut refused = 0;
        for from in Status::ALL {
            for event in ALL_EVENTS {
                if allowed.iter().any(|(f, e, _)| *f == from && *e == event) {
                    continue;
                }
                assert_eq!(from.next(event), Err(IllegalTransition { from, event }), "{from:?} + {event:?}");
                refused += 1;
            }
        }
        assert_eq!(refused, Status::ALL.len() * ALL_EVENTS.len() - allowed.len());
    }

    #[test]
    fn submitted_answers_are_read_only_but_documents_may_change() {
        assert!(!Status::Submitted.answers_editable());
        assert!(Status::Submitted.documents_editable());
        assert!(Status::Returned.answers_editable());
        for decided in [Status::UnderReview, Status::Continued, Status::Removed] {
            assert!(!decided.answers_editable() && !decided.documents_editable(), "{decided:?}");
        }
        assert!(Status::Submitted.next(Event::Submit).is_err(), "submitted once");
    }

    #[test]
    fn a_sheet_never_handed_in_is_removed_only_after_the_deadline() {
        let deadline = date!(2026 - 09 - 30);
        let removed = Outcome::Removed;
        for status in [Status::Unanswered, Status::InProgress, Status::Returned] {
            assert_eq!(
                decision(status, removed, deadline, date!(2026 - 10 - 01)),
                Ok(Event::Lapse),
                "{status:?} the day after"
            );
            assert_eq!(
                decision(status, removed, deadline, deadline),
                Err(EarlyLapse { deadline }),
                "{status:?} on the deadline day the member may still answer"
            );
            assert_eq!(
                decision(status, removed, deadline, date!(2026 - 07 - 01)),
                Err(EarlyLapse { deadline })
            );
            // 認定継続 needs the answers: it stays an illegal transition, whatever the date.
            let continued = decision(status, Outcome::Continued, deadline, date!(2026 - 10 - 01));
            assert_eq!(continued, Ok(Event::Decide(Outcome::Continued)));
            assert!(status.next(Event::Decide(Outcome::Continued)).is_err(), "{status:?}");
        }
        // A sheet handed in is decided on its answers, before or after the deadline.
        assert_eq!(
            decision(Status::UnderReview, removed, deadline, date!(2026 - 07 - 01)),
            Ok(Event::Decide(removed))
        );
        assert_eq!(
            decision(Status::Submitted, removed, deadline, date!(2026 - 10 - 01)),
            Ok(Event::Decide(removed))
        );
        assert!(Status::Submitted.next(Event::Decide(removed)).is_err(), "review first");
        assert!(Status::Submitted.next(Event::Lapse).is_err(), "a reply came");
        let lapsed = Status::Unanswered.next(Event::Lapse);
        assert!(lapsed.is_ok_and(|s| !s.answers_editable() && !s.documents_editable()));
    }

    #[test]
    fn statuses_read_back_from_their_names() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("提出済み"), None);
    }

    fn dependant(birth: &str, lost_on: Option<&str>) -> Member {
        Member {
            id: MemberId::new(),
            kenpo_id: "k".into(),
            household_id: HouseholdId::new(),
            symbol: "1".into(),
            number: "2".into(),
            branch: "01".into(),
            relation: Relation::Dependant,
            name: birth.into(),
            birth_date: birth.into(),
            sex: Sex::Female,
            subject: None,
            lost_on: lost_on.map(Into::into),
            hidden_from_household: false,
        }
    }

    #[test]
    fn scope_is_the_dependants_old_enough_on_the_base_date_plus_those_named() {
        let base = date!(2026 - 06 - 01);
        let mut members = vec![
            dependant("2007-06-01", None),               // 19 on the base date
            dependant("2007-06-02", None),               // 18 until the next day
            dependant("2015-01-01", None),               // a child, named below
            dependant("1990-01-01", Some("2026-05-31")), // lost before the base date
            dependant("not a date", None),
        ];
        let mut insured = dependant("1970-01-01", None);
        insured.relation = Relation::Insured;
        members.push(insured);
        let scope = Scope { min_age: Some(19), members: vec![members[2].id.clone()] };
        let picked: Vec<_> = in_scope(&members, &scope, base).iter().map(|m| m.name.as_str()).collect();
        assert_eq!(picked, ["2007-06-01", "2015-01-01"]);
        let list_only = Scope { min_age: None, members: vec![members[5].id.clone()] };
        assert!(in_scope(&members, &list_only, base).is_empty(), "the insured is never asked about");
    }

    #[test]
    fn ages_turn_on_the_birthday() {
        assert_eq!(age_on(date!(2000 - 03 - 15), date!(2019 - 03 - 14)), 18);
        assert_eq!(age_on(date!(2000 - 03 - 15), date!(2019 - 03 - 15)), 19);
        assert_eq!(age_on(date!(2000 - 12 - 31), date!(2019 - 01 - 01)), 18);
    }

    #[test]
    fn reminders_go_to_unsubmitted_sheets_once_at_each_point_before_the_deadline() {
        let deadline = date!(2026 - 09 - 30);
        let sheet = |status, reminded_on| ReminderCandidate { status, deadline, reminded_on };
        let due = |s: &ReminderCandidate, today| reminder_due(s, today, &[7, 1]);
        let unanswered = sheet(Status::Unanswered, None);
        assert!(!due(&unanswered, date!(2026 - 09 - 22)), "not yet a week before");
        assert!(due(&unanswered, date!(2026 - 09 - 23)), "a week before");
        assert!(due(&sheet(Status::InProgress, None), date!(2026 - 09 - 25)));
        assert!(due(&sheet(Status::Returned, None), date!(2026 - 09 - 30)), "on the deadline day");
        let reminded = sheet(Status::Unanswered, Some(date!(2026 - 09 - 23)));
        assert!(!due(&reminded, date!(2026 - 09 - 23)), "once a point");
        assert!(!due(&reminded, date!(2026 - 09 - 28)), "nothing new until the day before");
        assert!(due(&reminded, date!(2026 - 09 - 29)), "the day before");
        let late = sheet(Status::Unanswered, Some(date!(2026 - 09 - 29)));
        assert!(!due(&late, date!(2026 - 09 - 30)), "both points answered");
        assert!(!due(&sheet(Status::Submitted, None), date!(2026 - 09 - 29)), "handed in");
        assert!(!due(&sheet(Status::UnderReview, None), date!(2026 - 09 - 29)));
        assert!(!due(&unanswered, date!(2026 - 10 - 01)), "past the deadline");
        assert!(!reminder_due(&unanswered, date!(2026 - 09 - 29), &[]), "the kenpo sends none");
        assert!(reminder_due(&unanswered, date!(2026 - 09 - 30), &[0]), "0: on the day");
    }
}
