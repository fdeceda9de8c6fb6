//! Announcing cards and decisions on both backends: each card and each decision once, to the
//! opted-in logins who handle the person's documents (and the applicant), however many rounds
//! run; a login that did not opt in is not mailed but finds the MYメール message.

use super::*;
use crate::domain::ApplicationStatus;
use crate::flows::inbox;
use crate::flows::qualification::{
    ApplicationInput, CardNumber, Decision, apply, decide, record_certificate,
};
use crate::store::qualification_fixtures::{TARO_SUBJECT, household};
use crate::store::test_db::on_both_backends;
use crate::store::{Db, KenpoStore, Member, PreferenceStore};
use crate::tenant::Settings;
use time::macros::date;

async fn opted_in_household(db: &Db, categories: &[&str]) -> (Kenpo, Member, Member) {
    let (kenpo_id, _, _) = household(db).await;
    let kenpo = db.kenpo(&kenpo_id).await.ok().flatten().unwrap_or_else(|| panic!("kenpo"));
    let taro = db.member_by_subject(&kenpo_id, TARO_SUBJECT).await.ok().flatten();
    let taro = taro.unwrap_or_else(|| panic!("taro"));
    db.record_login(&taro.id, Some("taro@example.jp"), "ja", 0).await.unwrap_or_else(|e| panic!("{e}"));
    db.save_preferences(&taro.id, categories, false, 0).await.unwrap_or_else(|e| panic!("{e}"));
    let family = db.household(&taro.household_id).await.unwrap_or_else(|e| panic!("{e}"));
    let hanako = family.into_iter().find(|m| m.id != taro.id).unwrap_or_else(|| panic!("hanako"));
    (kenpo, taro, hanako)
}

async fn mails(db: &Db, kenpo: &Kenpo) -> Vec<(String, String, String)> {
    let mut all: Vec<_> = db
        .kenpo_update_mails(&kenpo.id, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|m| (m.category, m.publication_id, m.member_id))
        .collect();
    all.sort();
    all
}

async fn a_card_and_each_decision_are_announced_once_to_the_insured(db: Db) {
    let (kenpo, taro, hanako) = opted_in_household(&db, &["qualification_certificate", "applications"]).await;
    let now = OffsetDateTime::now_utc();

    // The kenpo records a card for the dependant: one mail, to the insured who handles it.
    let card = CardNumber { symbol: "1001", number: "2345", branch: "01" };
    let recorded =
        record_certificate(&db, &kenpo.id, card, date!(2026 - 01 - 05), date!(2030 - 11 - 30), None, now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(announce_new_certificates(&db, &kenpo, now).await.ok(), Some(1));
    assert_eq!(announce_new_certificates(&db, &kenpo, now).await.ok(), Some(0), "once");
    assert_eq!(
        mails(&db, &kenpo).await,
        [("qualification_certificate".to_owned(), recorded.id.clone(), taro.id.to_string())]
    );

    // The insured applies for the dependant; the kenpo accepts, then issues: one mail per
    // decision, and the card issued on the application is announced as a card too.
    let people = [&taro, &hanako];
    let input = ApplicationInput { person: hanako.id.as_str(), reason: "lost", note: "" };
    let applied = apply(&db, &taro, &people, input, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(announce_decisions(&db, &kenpo, now).await.ok(), Some(0), "applying is no decision");
    decide(&db, &kenpo.id, &applied.id, Decision::Accept, now).await.unwrap_or_else(|e| panic!("{e}"));
    let issue =
        Decision::Issue { issued_on: date!(2026 - 02 - 01), valid_until: date!(2030 - 11 - 30), copay: None };
    let issued = decide(&db, &kenpo.id, &applied.id, issue, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(announce_decisions(&db, &kenpo, now).await.ok(), Some(2), "accepted and issued");
    assert_eq!(announce_decisions(&db, &kenpo, now).await.ok(), Some(0), "once each");
    assert_eq!(announce_new_certificates(&db, &kenpo, now).await.ok(), Some(1), "the issued card");
    let card = issued.certificate_id.unwrap_or_else(|| panic!("a card"));
    let expected = vec![
        (
            "applications".to_owned(),
            decision_publication(&applied.id, ApplicationStatus::Accepted),
            taro.id.to_string(),
        ),
        (
            "applications".to_owned(),
            decision_publication(&applied.id, ApplicationStatus::Issued),
            taro.id.to_string(),
        ),
        ("qualification_certificate".to_owned(), card, taro.id.to_string()),
        ("qualification_certificate".to_owned(), recorded.id, taro.id.to_string()),
    ];
    let mut expected = expected;
    expected.sort();
    assert_eq!(mails(&db, &kenpo).await, expected);

    // MYメール: one message per card and per decision, nothing for the dependant without a login.
    let settings = Settings::default();
    let unread = inbox::unread(&db, &taro.id, &settings, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unread, 4);
}

async fn a_login_that_did_not_opt_in_gets_the_message_but_no_mail(db: Db) {
    let (kenpo, taro, hanako) = opted_in_household(&db, &["medical_expenses"]).await;
    let now = OffsetDateTime::now_utc();
    let people = [&taro, &hanako];
    let input = ApplicationInput { person: taro.id.as_str(), reason: "damaged", note: "" };
    let applied = apply(&db, &taro, &people, input, now).await.unwrap_or_else(|e| panic!("{e}"));
    let reject = Decision::Reject { reason: "確認できませんでした".into() };
    decide(&db, &kenpo.id, &applied.id, reject, now).await.unwrap_or_else(|e| panic!("{e}"));
    let (news, _) = new_decisions(&db, &kenpo, now.date()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(news.len(), 1);
    assert_eq!(news[0].recipients, std::slice::from_ref(&taro.id), "the applicant");
    assert_eq!(announce_decisions(&db, &kenpo, now).await.ok(), Some(0), "not opted in: no mail");
    assert!(mails(&db, &kenpo).await.is_empty());
    let unread =
        inbox::unread(&db, &taro.id, &Settings::default(), now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unread, 1, "the MYメール message all the same");
    assert!(new_decisions(&db, &kenpo, now.date()).await.map(|(n, _)| n.is_empty()).unwrap_or(false));
}

on_both_backends!(
    a_card_and_each_decision_are_announced_once_to_the_insured,
    a_login_that_did_not_opt_in_gets_the_message_but_no_mail,
);
