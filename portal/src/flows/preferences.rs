//! 通知設定 and non-disclosure (spec §2.11, §1 household disclosure): what a member may choose,
//! and checking what they sent. Only the categories the kenpo enables can be chosen; a
//! dependant who signs in with their own login may ask that the insured not see their data.

use crate::domain::Relation;
use crate::store::Member;
use crate::tenant::{MailCategory, Settings};

/// The settings page: each category the kenpo offers with the member's choice, and the
/// non-disclosure choice where the member has one to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub mails: Vec<(MailCategory, bool)>,
    /// `Some` only for a dependant with a login of their own.
    pub hidden_from_household: Option<bool>,
}

/// What the member asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub opt_ins: Vec<MailCategory>,
    pub hidden_from_household: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreferenceError {
    /// A category the kenpo does not offer, or no category at all: a forged or stale form.
    #[error("the category {0:?} cannot be chosen")]
    UnknownCategory(String),
}

pub fn view(settings: &Settings, member: &Member, stored_opt_ins: &[String]) -> Preferences {
    let mails =
        settings.mail_categories.iter().map(|&c| (c, stored_opt_ins.iter().any(|s| s == c.key()))).collect();
    Preferences { mails, hidden_from_household: may_hide(member).then_some(member.hidden_from_household) }
}

/// Checks the form's `mail` values (category keys) and the non-disclosure box. A member with no
/// non-disclosure choice keeps what they had.
pub fn decide(
    settings: &Settings,
    member: &Member,
    mails: &[&str],
    hide: bool,
) -> Result<Choice, PreferenceError> {
    let mut opt_ins = Vec::new();
    for key in mails {
        let category = MailCategory::parse(key)
            .filter(|c| settings.mails(*c))
            .ok_or_else(|| PreferenceError::UnknownCategory((*key).chars().take(40).collect()))?;
        if !opt_ins.contains(&category) {
            opt_ins.push(category);
        }
    }
    let hidden_from_household = if may_hide(member) { hide } else { member.hidden_from_household };
    Ok(Choice { opt_ins, hidden_from_household })
}

/// The insured always sees their own data; a dependant without a login is seen through the
/// insured's and has no page to choose on.
fn may_hide(member: &Member) -> bool {
    member.relation == Relation::Dependant && member.subject.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HouseholdId, MemberId, Sex};

    fn member(relation: Relation, subject: Option<&str>) -> Member {
        Member {
            id: MemberId::new(),
            kenpo_id: "k".to_owned(),
            household_id: HouseholdId::new(),
            symbol: "10".to_owned(),
            number: "1001".to_owned(),
            branch: "01".to_owned(),
            relation,
            name: "健保 花子".to_owned(),
            birth_date: "1982-04-01".to_owned(),
            sex: Sex::Female,
            subject: subject.map(str::to_owned),
            lost_on: None,
            hidden_from_household: false,
        }
    }

    fn kenpo_offering(categories: &[MailCategory]) -> Settings {
        Settings { mail_categories: categories.to_vec(), ..Settings::default() }
    }

    #[test]
    fn the_page_offers_only_what_the_kenpo_enables_with_the_members_choices() {
        let settings = kenpo_offering(&[MailCategory::MedicalExpenses, MailCategory::Checkups]);
        let stored = vec!["checkups".to_owned(), "benefits".to_owned()];
        let page = view(&settings, &member(Relation::Insured, Some("sub")), &stored);
        assert_eq!(page.mails, vec![(MailCategory::MedicalExpenses, false), (MailCategory::Checkups, true)]);
        assert_eq!(page.hidden_from_household, None, "the insured has no one to hide from");
    }

    #[test]
    fn a_category_the_kenpo_does_not_offer_is_refused() {
        let settings = kenpo_offering(&[MailCategory::MedicalExpenses]);
        let insured = member(Relation::Insured, Some("sub"));
        assert_eq!(
            decide(&settings, &insured, &["benefits"], false),
            Err(PreferenceError::UnknownCategory("benefits".to_owned()))
        );
        assert!(decide(&settings, &insured, &["<script>"], false).is_err());
        let choice = decide(&settings, &insured, &["medical_expenses", "medical_expenses"], false);
        assert_eq!(choice.map(|c| c.opt_ins), Ok(vec![MailCategory::MedicalExpenses]));
        assert_eq!(
            decide(&settings, &insured, &[], false).map(|c| c.opt_ins),
            Ok(vec![]),
            "all off is a choice"
        );
    }

    #[test]
    fn only_a_dependant_with_their_own_login_may_hide_from_the_household() {
        let settings = Settings::default();
        let own_login = member(Relation::Dependant, Some("sub-hanako"));
        assert_eq!(view(&settings, &own_login, &[]).hidden_from_household, Some(false));
        assert!(decide(&settings, &own_login, &[], true).is_ok_and(|c| c.hidden_from_household));
        let insured = member(Relation::Insured, Some("sub"));
        assert!(decide(&settings, &insured, &[], true).is_ok_and(|c| !c.hidden_from_household));
        let no_login = member(Relation::Dependant, None);
        assert_eq!(view(&settings, &no_login, &[]).hidden_from_household, None);
    }
}
