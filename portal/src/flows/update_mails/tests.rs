//! Who hears of a publication: the pure decision, over households built in memory.

use super::*;
use crate::domain::{HouseholdId, Sex};
use crate::store::{Member, Subscriber};

fn member(household: &HouseholdId, branch: &str, relation: Relation, subject: Option<&str>) -> Member {
    Member {
        id: MemberId::new(),
        kenpo_id: "k".to_owned(),
        household_id: household.clone(),
        symbol: "10".to_owned(),
        number: "1001".to_owned(),
        branch: branch.to_owned(),
        relation,
        name: format!("member {branch}"),
        birth_date: "1980-01-01".to_owned(),
        sex: Sex::Female,
        subject: subject.map(str::to_owned),
        lost_on: None,
        hidden_from_household: false,
    }
}

fn subscriber(m: &Member, locale: Option<&str>) -> Subscriber {
    Subscriber {
        member_id: m.id.clone(),
        email: format!("{}@example.jp", m.branch),
        locale: locale.map(str::to_owned),
    }
}

/// A household: the insured (signs in), a dependant without a login, a dependant with one.
fn family() -> Vec<Member> {
    let h = HouseholdId::new();
    vec![
        member(&h, "00", Relation::Insured, Some("sub-taro")),
        member(&h, "01", Relation::Dependant, None),
        member(&h, "02", Relation::Dependant, Some("sub-hanako")),
    ]
}

const TODAY: &str = "2026-11-24";

fn emails(chosen: &[Recipient<'_>]) -> Vec<String> {
    chosen.iter().map(|r| r.email.to_owned()).collect()
}

#[test]
fn the_insured_hears_of_a_dependants_new_data_once_and_in_their_language() {
    let family = family();
    let audience = MailAudience {
        touched: vec![family[1].id.clone(), family[0].id.clone()],
        subscribers: vec![subscriber(&family[0], Some("en"))],
        households: family.clone(),
    };
    let chosen = recipients(&Settings::default(), MailCategory::MedicalExpenses, &audience, TODAY);
    assert_eq!(emails(&chosen), ["00@example.jp"], "one mail, however many of the household's rows are new");
    assert_eq!(chosen[0].locale, Locale::En);
}

#[test]
fn no_opt_in_or_no_login_means_no_mail() {
    let family = family();
    let audience =
        MailAudience { touched: vec![family[0].id.clone()], subscribers: vec![], households: family };
    assert!(recipients(&Settings::default(), MailCategory::MedicalExpenses, &audience, TODAY).is_empty());
}

#[test]
fn a_dependant_hidden_from_the_household_does_not_trigger_a_mail_to_the_insured() {
    let mut family = family();
    family[2].hidden_from_household = true;
    let audience = MailAudience {
        touched: vec![family[2].id.clone()],
        subscribers: vec![subscriber(&family[0], None), subscriber(&family[2], None)],
        households: family.clone(),
    };
    let chosen = recipients(&Settings::default(), MailCategory::MedicalExpenses, &audience, TODAY);
    assert_eq!(emails(&chosen), ["02@example.jp"], "only the dependant, about their own data");
    assert_eq!(chosen[0].locale, Locale::Ja, "Japanese when the language is not known");
}

#[test]
fn a_dependant_with_a_login_does_not_hear_of_the_insureds_data() {
    let family = family();
    let audience = MailAudience {
        touched: vec![family[0].id.clone()],
        subscribers: vec![subscriber(&family[0], None), subscriber(&family[2], None)],
        households: family.clone(),
    };
    let chosen = recipients(&Settings::default(), MailCategory::Benefits, &audience, TODAY);
    assert_eq!(emails(&chosen), ["00@example.jp"]);
}

#[test]
fn nothing_new_or_a_category_the_kenpo_does_not_send_means_no_mail() {
    let family = family();
    let everyone = vec![subscriber(&family[0], None), subscriber(&family[2], None)];
    let nothing_new =
        MailAudience { touched: vec![], subscribers: everyone.clone(), households: family.clone() };
    assert!(recipients(&Settings::default(), MailCategory::MedicalExpenses, &nothing_new, TODAY).is_empty());
    let audience =
        MailAudience { touched: vec![family[0].id.clone()], subscribers: everyone, households: family };
    let quiet = Settings { mail_categories: vec![MailCategory::Checkups], ..Settings::default() };
    assert!(recipients(&quiet, MailCategory::MedicalExpenses, &audience, TODAY).is_empty());
    let no_page = Settings { services: vec![Service::Benefits], ..Settings::default() };
    assert!(
        recipients(&no_page, MailCategory::MedicalExpenses, &audience, TODAY).is_empty(),
        "no mail about a page the kenpo does not offer"
    );
}

#[test]
fn another_household_never_hears_of_it() {
    let ours = family();
    let theirs = family();
    let mut households = ours.clone();
    households.extend(theirs.iter().cloned());
    let audience = MailAudience {
        touched: vec![ours[1].id.clone()],
        subscribers: vec![subscriber(&ours[0], None), subscriber(&theirs[0], None)],
        households,
    };
    let chosen = recipients(&Settings::default(), MailCategory::MedicalExpenses, &audience, TODAY);
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0].member, &ours[0].id);
}

#[test]
fn a_member_who_lost_access_hears_nothing() {
    let mut family = family();
    family[0].lost_on = Some("2026-10-31".to_owned());
    let audience = MailAudience {
        touched: vec![family[0].id.clone()],
        subscribers: vec![subscriber(&family[0], None)],
        households: family,
    };
    let strict = Settings { keep_access_after_loss: false, ..Settings::default() };
    assert!(recipients(&strict, MailCategory::MedicalExpenses, &audience, TODAY).is_empty());
    assert_eq!(recipients(&Settings::default(), MailCategory::MedicalExpenses, &audience, TODAY).len(), 1);
}

#[test]
fn each_import_kind_announces_its_category() {
    assert_eq!(publication_of(ImportKind::Members), None);
    assert_eq!(
        publication_of(ImportKind::Claims),
        Some((MailCategory::MedicalExpenses, PublishedTable::Claims))
    );
    assert_eq!(
        publication_of(ImportKind::Benefits),
        Some((MailCategory::Benefits, PublishedTable::Benefits))
    );
}

#[test]
fn the_sender_is_the_kenpos_info_address_and_the_link_its_host() {
    let outgoing = Outgoing {
        mail_domain: "kenpo.example.jp",
        public_url: "https://portal.example.jp",
        configured_kenpo: "a",
    };
    let mut kenpo = Kenpo {
        id: "a".to_owned(),
        issuer: "https://idp.example.jp/realms/a".to_owned(),
        client_id: "portal".to_owned(),
        host: Some("portal.example.jp".to_owned()),
        display_name: "エー健康保険組合".to_owned(),
        settings: Settings::default(),
        client_secret_sealed: None,
    };
    assert_eq!(outgoing.sender(&kenpo).map(|a| a.to_string()), Ok("info@kenpo.example.jp".to_owned()));
    assert_eq!(outgoing.portal_url(&kenpo), "https://portal.example.jp");
    kenpo.settings.mail_from = "info@a-kenpo.example.jp".to_owned();
    kenpo.id = "b".to_owned();
    kenpo.host = Some("b.example.jp".to_owned());
    assert_eq!(outgoing.sender(&kenpo).map(|a| a.to_string()), Ok("info@a-kenpo.example.jp".to_owned()));
    assert_eq!(outgoing.portal_url(&kenpo), "https://b.example.jp");
}

#[test]
fn every_login_who_would_see_the_new_data_finds_it_in_myメール_opted_in_or_not() {
    let mut family = family();
    family[2].hidden_from_household = true;
    let audience = MailAudience {
        touched: vec![family[1].id.clone(), family[2].id.clone()],
        subscribers: vec![],
        households: family.clone(),
    };
    let quiet = Settings { mail_categories: vec![], ..Settings::default() };
    let seen: Vec<_> = viewers(&quiet, MailCategory::MedicalExpenses, &audience, TODAY)
        .into_iter()
        .map(|m| m.branch.as_str())
        .collect();
    assert_eq!(seen, ["00", "02"], "the insured for 01, the hidden dependant for their own");
    assert!(recipients(&quiet, MailCategory::MedicalExpenses, &audience, TODAY).is_empty(), "but no mail");
}
