//! Who sees whose data. Decided on the server for every request from the signed-in member and
//! their household as stored, never from anything the browser sends: a member id in a URL or
//! form only narrows the list this returns, and an id outside it is "not found".

use crate::domain::{MemberId, Relation};
use crate::store::Member;
use crate::tenant::{QualificationPdf, Service, Settings};

/// Why a signed-in member sees nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 資格喪失 and the kenpo does not keep access after it.
    EligibilityLost,
    /// The kenpo does not offer this service.
    ServiceOff,
}

/// The people whose data of `service` the `viewer` may see, the viewer first.
///
/// - Everyone sees their own data.
/// - The insured person sees the dependants' too when the kenpo shows household data, except a
///   dependant who asked not to be shown (implied consent, spec §1).
/// - A dependant signed in with their own account sees only their own.
/// - Checkups of dependants are shown only when the kenpo allows it.
pub fn visible_people<'a>(
    viewer: &'a Member,
    household: &'a [Member],
    settings: &Settings,
    service: Service,
    today: &str,
) -> Result<Vec<&'a Member>, Refusal> {
    if !settings.offers(service) {
        return Err(Refusal::ServiceOff);
    }
    if !settings.keep_access_after_loss && viewer.lost_on.as_deref().is_some_and(|lost| lost <= today) {
        return Err(Refusal::EligibilityLost);
    }
    let checkups_hidden = service == Service::Checkups && !settings.dependants_checkups;
    if checkups_hidden && viewer.relation == Relation::Dependant {
        return Ok(Vec::new());
    }
    let mut people = vec![viewer];
    if viewer.relation == Relation::Insured && settings.household_visible && !checkups_hidden {
        people.extend(household.iter().filter(|m| {
            m.id != viewer.id
                && m.household_id == viewer.household_id
                && m.relation == Relation::Dependant
                && !m.hidden_from_household
        }));
    }
    Ok(people)
}

/// The people whose 資格情報のお知らせ and 資格確認書 the `viewer` handles, the viewer first:
/// downloads the notice, sees the card's status, applies for a card.
///
/// These are the kenpo's paperwork for the household, which it has always sent to the insured,
/// not health data: the household-disclosure opt-out and `household_visible` (both about medical
/// data) do not narrow them; the kenpo's `qualification_pdf` setting does. Nobody whose
/// eligibility has ended is listed: their documents are void (spec §6: returned on loss).
pub fn qualification_people<'a>(
    viewer: &'a Member,
    household: &'a [Member],
    settings: &Settings,
    today: &str,
) -> Result<Vec<&'a Member>, Refusal> {
    if !settings.offers(Service::Qualification) {
        return Err(Refusal::ServiceOff);
    }
    let lost = |m: &Member| m.lost_on.as_deref().is_some_and(|lost| lost <= today);
    if !settings.keep_access_after_loss && lost(viewer) {
        return Err(Refusal::EligibilityLost);
    }
    let insured = viewer.relation == Relation::Insured;
    let own = match settings.qualification_pdf {
        QualificationPdf::InsuredOnly => insured,
        QualificationPdf::InsuredForHousehold | QualificationPdf::OwnOnly => true,
    };
    let household_too = insured && settings.qualification_pdf != QualificationPdf::OwnOnly;
    let mut people = Vec::new();
    if own {
        people.push(viewer);
    }
    if household_too {
        people.extend(household.iter().filter(|m| {
            m.id != viewer.id && m.household_id == viewer.household_id && m.relation == Relation::Dependant
        }));
    }
    people.retain(|m| !lost(m));
    Ok(people)
}

/// Narrows `people` to the one the request asked for. `None` asked → everyone; an id not in
/// the list (another household's, a hidden dependant's, garbage) → `None`, which the page shows
/// as not found, never as someone else's data.
pub fn narrow<'a>(people: &[&'a Member], asked: Option<&str>) -> Option<Vec<&'a Member>> {
    match asked.filter(|s| !s.is_empty()) {
        None => Some(people.to_vec()),
        Some(raw) => {
            let id = MemberId::parse(raw)?;
            people.iter().find(|m| m.id == id).map(|m| vec![*m])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HouseholdId, Sex};

    fn member(relation: Relation, household: &HouseholdId, branch: &str) -> Member {
        Member {
            id: MemberId::new(),
            kenpo_id: "k".into(),
            household_id: household.clone(),
            symbol: "1".into(),
            number: "2".into(),
            branch: branch.into(),
            relation,
            name: format!("member {branch}"),
            birth_date: "1980-01-01".into(),
            sex: Sex::Female,
            subject: None,
            lost_on: None,
            hidden_from_household: false,
        }
    }

    fn family() -> Vec<Member> {
        let h = HouseholdId::new();
        vec![
            member(Relation::Insured, &h, "00"),
            member(Relation::Dependant, &h, "01"),
            member(Relation::Dependant, &h, "02"),
        ]
    }

    #[test]
    fn the_insured_sees_the_household_but_not_a_dependant_who_opted_out() -> Result<(), Refusal> {
        let mut family = family();
        family[2].hidden_from_household = true;
        let seen = visible_people(
            &family[0],
            &family,
            &Settings::default(),
            Service::MedicalExpenses,
            "2026-01-01",
        )?;
        let ids: Vec<_> = seen.iter().map(|m| m.branch.as_str()).collect();
        assert_eq!(ids, ["00", "01"]);
        Ok(())
    }

    #[test]
    fn a_dependant_sees_only_their_own() -> Result<(), Refusal> {
        let family = family();
        let seen = visible_people(
            &family[1],
            &family,
            &Settings::default(),
            Service::MedicalExpenses,
            "2026-01-01",
        )?;
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].id, family[1].id);
        Ok(())
    }

    #[test]
    fn another_households_member_in_the_list_is_never_shown() -> Result<(), Refusal> {
        let mut family = family();
        family.push(member(Relation::Dependant, &HouseholdId::new(), "01"));
        let seen =
            visible_people(&family[0], &family, &Settings::default(), Service::Benefits, "2026-01-01")?;
        assert_eq!(seen.len(), 3);
        assert!(narrow(&seen, Some(family[3].id.as_str())).is_none());
        assert!(narrow(&seen, Some("' OR 1=1 --")).is_none());
        assert_eq!(narrow(&seen, Some(family[1].id.as_str())).map(|v| v.len()), Some(1));
        Ok(())
    }

    #[test]
    fn kenpo_settings_narrow_what_is_seen() {
        let family = family();
        let no_household = Settings { household_visible: false, ..Settings::default() };
        let seen = visible_people(&family[0], &family, &no_household, Service::MedicalExpenses, "2026-01-01");
        assert_eq!(seen.map(|v| v.len()), Ok(1));

        let no_dependant_checkups = Settings { dependants_checkups: false, ..Settings::default() };
        let insured =
            visible_people(&family[0], &family, &no_dependant_checkups, Service::Checkups, "2026-01-01");
        assert_eq!(insured.map(|v| v.len()), Ok(1));
        let dependant =
            visible_people(&family[1], &family, &no_dependant_checkups, Service::Checkups, "2026-01-01");
        assert_eq!(dependant.map(|v| v.len()), Ok(0));

        let off = Settings { services: vec![Service::Benefits], ..Settings::default() };
        assert_eq!(
            visible_people(&family[0], &family, &off, Service::Checkups, "2026-01-01"),
            Err(Refusal::ServiceOff)
        );
    }

    #[test]
    fn qualification_documents_follow_the_kenpos_setting_not_the_medical_opt_out() -> Result<(), Refusal> {
        let mut family = family();
        family[2].hidden_from_household = true;
        family.push(member(Relation::Dependant, &HouseholdId::new(), "01"));
        let branches = |v: Vec<&Member>| v.iter().map(|m| m.branch.clone()).collect::<Vec<_>>();
        let today = "2026-01-01";

        let default = Settings::default();
        let insured = qualification_people(&family[0], &family, &default, today)?;
        assert_eq!(branches(insured), ["00", "01", "02"], "the household, never another one");
        let dependant = qualification_people(&family[1], &family, &default, today)?;
        assert_eq!(branches(dependant), ["01"]);

        let insured_only =
            Settings { qualification_pdf: QualificationPdf::InsuredOnly, ..Settings::default() };
        assert_eq!(qualification_people(&family[0], &family, &insured_only, today)?.len(), 3);
        assert!(qualification_people(&family[1], &family, &insured_only, today)?.is_empty());

        let own = Settings { qualification_pdf: QualificationPdf::OwnOnly, ..Settings::default() };
        assert_eq!(branches(qualification_people(&family[0], &family, &own, today)?), ["00"]);
        assert_eq!(branches(qualification_people(&family[2], &family, &own, today)?), ["02"]);
        Ok(())
    }

    #[test]
    fn nobody_who_lost_eligibility_has_qualification_documents() -> Result<(), Refusal> {
        let mut family = family();
        family[1].lost_on = Some("2025-12-31".into());
        let seen = qualification_people(&family[0], &family, &Settings::default(), "2026-01-01")?;
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|m| m.id != family[1].id));
        let off = Settings { services: vec![Service::Benefits], ..Settings::default() };
        assert_eq!(qualification_people(&family[0], &family, &off, "2026-01-01"), Err(Refusal::ServiceOff));
        Ok(())
    }

    #[test]
    fn lost_eligibility_ends_access_only_where_the_kenpo_says_so() {
        let mut family = family();
        family[0].lost_on = Some("2025-12-31".into());
        let keep =
            visible_people(&family[0], &family, &Settings::default(), Service::MedicalExpenses, "2026-01-01");
        assert!(keep.is_ok());
        let strict = Settings { keep_access_after_loss: false, ..Settings::default() };
        let refused = visible_people(&family[0], &family, &strict, Service::MedicalExpenses, "2026-01-01");
        assert_eq!(refused, Err(Refusal::EligibilityLost));
        let before = visible_people(&family[0], &family, &strict, Service::MedicalExpenses, "2025-12-30");
        assert!(before.is_ok());
    }
}
