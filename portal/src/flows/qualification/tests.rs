use super::*;
use crate::domain::{HouseholdId, Sex};
use crate::store::qualification_fixtures::{TARO_SUBJECT, household};
use crate::store::test_db::on_both_backends;
use crate::store::{Db, KenpoStore};
use time::macros::date;

fn member(relation: Relation, branch: &str) -> Member {
    Member {
        id: MemberId::new(),
        kenpo_id: "k".into(),
        household_id: HouseholdId::new(),
        symbol: "10".into(),
        number: "1001".into(),
        branch: branch.into(),
        relation,
        name: format!("member {branch}"),
        birth_date: "1980-01-01".into(),
        sex: Sex::Male,
        subject: None,
        lost_on: None,
        hidden_from_household: false,
    }
}

fn certificate(valid_until: Date, returned_on: Option<Date>) -> Certificate {
    Certificate {
        id: "c".into(),
        member_id: MemberId::new(),
        issued_on: date!(2025 - 12 - 02),
        valid_until,
        copay: None,
        returned_on,
    }
}

#[test]
fn a_cards_status_follows_its_dates() {
    let today = date!(2026 - 01 - 10);
    assert_eq!(certificate_status(None, today), CertificateStatus::NotIssued);
    let valid = certificate(date!(2030 - 11 - 30), None);
    assert_eq!(certificate_status(Some(&valid), today), CertificateStatus::Issued);
    let last_day = certificate(today, None);
    assert_eq!(
        certificate_status(Some(&last_day), today),
        CertificateStatus::Issued,
        "valid through its last day"
    );
    let expired = certificate(date!(2026 - 01 - 09), None);
    assert_eq!(certificate_status(Some(&expired), today), CertificateStatus::Expired);
    let returned = certificate(date!(2030 - 11 - 30), Some(date!(2026 - 01 - 01)));
    assert_eq!(certificate_status(Some(&returned), today), CertificateStatus::Returned);
}

fn input<'a>(person: &'a str, reason: &'a str, note: &'a str) -> ApplicationInput<'a> {
    ApplicationInput { person, reason, note }
}

#[test]
fn the_form_names_someone_the_member_handles_a_reason_and_a_short_note() {
    let (insured, dependant, stranger) = (
        member(Relation::Insured, "00"),
        member(Relation::Dependant, "01"),
        member(Relation::Dependant, "01"),
    );
    let people = [&insured, &dependant];
    let ok = check_application(input(dependant.id.as_str(), "damaged", "  割れました "), &people);
    let (person, reason, note) = ok.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (person.id.clone(), reason, note.as_str()),
        (dependant.id.clone(), ApplicationReason::Damaged, "割れました")
    );

    let form = |r: Result<_, QualificationError>| match r {
        Err(QualificationError::Form(e)) => Some(e),
        _ => None,
    };
    assert_eq!(form(check_application(input("", "lost", ""), &people)), Some(FormError::NoPerson));
    assert_eq!(
        form(check_application(input(insured.id.as_str(), "", ""), &people)),
        Some(FormError::NoReason)
    );
    assert_eq!(
        form(check_application(input(insured.id.as_str(), "stolen", ""), &people)),
        Some(FormError::NoReason)
    );
    let long = "あ".repeat(NOTE_MAX_CHARS + 1);
    assert_eq!(
        form(check_application(input(insured.id.as_str(), "lost", &long), &people)),
        Some(FormError::NoteTooLong)
    );
    for outsider in [stranger.id.as_str(), "' OR 1=1 --"] {
        assert!(
            matches!(
                check_application(input(outsider, "lost", ""), &people),
                Err(QualificationError::NotFound)
            ),
            "{outsider}: not found, never someone else's card"
        );
    }
}

#[test]
fn applications_move_forward_only() {
    use ApplicationStatus::{Accepted, Applied, Issued, Rejected};
    let issue =
        Decision::Issue { issued_on: date!(2026 - 02 - 01), valid_until: date!(2031 - 01 - 31), copay: None };
    let reject = Decision::Reject { reason: "x".into() };
    assert_eq!(next_status(Applied, &Decision::Accept).ok(), Some(Accepted));
    assert_eq!(next_status(Applied, &issue).ok(), Some(Issued));
    assert_eq!(next_status(Accepted, &issue).ok(), Some(Issued));
    assert_eq!(next_status(Accepted, &reject).ok(), Some(Rejected));
    for (from, decision) in
        [(Accepted, &Decision::Accept), (Rejected, &issue), (Issued, &reject), (Issued, &Decision::Accept)]
    {
        assert!(
            matches!(next_status(from, decision), Err(QualificationError::Transition { .. })),
            "{from:?}"
        );
    }
}

#[test]
fn a_card_is_valid_for_at_most_five_years() {
    assert!(check_validity(date!(2026 - 02 - 01), date!(2031 - 02 - 01)).is_ok());
    assert!(check_validity(date!(2026 - 02 - 01), date!(2031 - 02 - 02)).is_err());
    assert!(check_validity(date!(2026 - 02 - 01), date!(2026 - 01 - 31)).is_err());
    assert!(check_validity(date!(2028 - 02 - 29), date!(2033 - 02 - 28)).is_ok(), "from a leap day");
}

#[test]
fn each_person_gets_their_latest_documents() {
    let (a, b) = (member(Relation::Insured, "00"), member(Relation::Dependant, "01"));
    let mut old = certificate(date!(2025 - 01 - 01), None);
    old.member_id = a.id.clone();
    let mut new = old.clone();
    new.valid_until = date!(2030 - 01 - 01);
    let certificates = [new, old];
    let listed = documents(&[&a, &b], &[], &certificates, &[], date!(2026 - 01 - 01));
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].status, CertificateStatus::Issued, "the newest card decides");
    assert_eq!(listed[1].status, CertificateStatus::NotIssued);
    assert!(listed[1].notice.is_none() && listed[1].application.is_none());
}

#[test]
fn a_notice_is_printed_as_issued_and_an_old_one_from_the_member_as_they_stand() {
    let kenpo = Kenpo {
        id: "k".into(),
        issuer: "https://idp.example.jp/realms/k".into(),
        client_id: "portal".into(),
        host: None,
        display_name: "テスト健保".into(),
        settings: crate::tenant::Settings::default(),
        client_secret_sealed: None,
    };
    let mut now_named = member(Relation::Dependant, "01");
    now_named.name = "山田 花子".into();
    let snapshot = NoticeSnapshot {
        insurer_name: "旧名称健保".into(),
        insurer_number: "06123456".into(),
        name: "健保 花子".into(),
        birth_date: "1981-03-15".into(),
        symbol: "10".into(),
        number: "1001".into(),
        branch: "01".into(),
        insured: false,
        acquired_on: Some("2016-06-01".into()),
    };
    let notice = IssuedNotice {
        id: "n".into(),
        member_id: now_named.id.clone(),
        issued_on: date!(2025 - 12 - 02),
        reason: NoticeReason::Enrolment,
        copay: None,
        acquired_on: Some(date!(2020 - 01 - 01)),
        snapshot: Some(snapshot),
    };
    let issued = notice_document(&kenpo, &now_named, &notice).unwrap_or_else(|| panic!("a document"));
    assert_eq!(
        (issued.name.as_str(), issued.insurer_name.as_str(), issued.insurer_number.as_str()),
        ("健保 花子", "旧名称健保", "06123456")
    );
    assert_eq!((issued.birth_date, issued.acquired_on), (date!(1981 - 03 - 15), Some(date!(2016 - 06 - 01))));

    let old = IssuedNotice { snapshot: None, ..notice };
    let drawn = notice_document(&kenpo, &now_named, &old).unwrap_or_else(|| panic!("a document"));
    assert_eq!((drawn.name.as_str(), drawn.insurer_name.as_str()), ("山田 花子", "テスト健保"));
    assert_eq!(drawn.acquired_on, Some(date!(2020 - 01 - 01)), "the member file's, as before");
}

async fn signed_in_household(db: &Db) -> (Kenpo, Vec<Member>) {
    let (kenpo_id, _, _) = household(db).await;
    let kenpo =
        db.kenpo(&kenpo_id).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("kenpo"));
    let taro = db.member_by_subject(&kenpo_id, TARO_SUBJECT).await.unwrap_or_else(|e| panic!("{e}"));
    let taro = taro.unwrap_or_else(|| panic!("taro"));
    let members = db.household(&taro.household_id).await.unwrap_or_else(|e| panic!("{e}"));
    (kenpo, members)
}

async fn an_application_is_reviewed_and_a_second_open_one_is_refused(db: Db) {
    let (kenpo, family) = signed_in_household(&db).await;
    let (taro, hanako) = (&family[0], &family[1]);
    let people: Vec<&Member> = family.iter().collect();
    let now = OffsetDateTime::now_utc();
    let input = ApplicationInput { person: hanako.id.as_str(), reason: "lost", note: "" };

    let applied = apply(&db, taro, &people, input, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((applied.status, &applied.applicant_id), (ApplicationStatus::Applied, &taro.id));
    assert!(matches!(apply(&db, taro, &people, input, now).await, Err(QualificationError::AlreadyOpen)));

    let blank = decide(&db, &kenpo.id, &applied.id, Decision::Reject { reason: " ".into() }, now).await;
    assert!(matches!(blank, Err(QualificationError::Invalid(Invalid::Rejection))));
    let too_long =
        Decision::Issue { issued_on: date!(2026 - 02 - 01), valid_until: date!(2032 - 02 - 01), copay: None };
    assert!(matches!(
        decide(&db, &kenpo.id, &applied.id, too_long, now).await,
        Err(QualificationError::Invalid(Invalid::Validity))
    ));
    assert!(matches!(
        decide(&db, "another-kenpo", &applied.id, Decision::Accept, now).await,
        Err(QualificationError::NotFound)
    ));

    decide(&db, &kenpo.id, &applied.id, Decision::Accept, now).await.unwrap_or_else(|e| panic!("{e}"));
    let issue =
        Decision::Issue { issued_on: date!(2026 - 02 - 01), valid_until: date!(2030 - 11 - 30), copay: None };
    let issued = decide(&db, &kenpo.id, &applied.id, issue, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(issued.status, ApplicationStatus::Issued);
    let cards = db.certificates(std::slice::from_ref(&hanako.id)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(certificate_status(cards.first(), date!(2026 - 02 - 01)), CertificateStatus::Issued);
    assert!(matches!(
        decide(&db, &kenpo.id, &applied.id, Decision::Accept, now).await,
        Err(QualificationError::Transition { .. })
    ));
}

async fn a_new_notice_is_announced_to_the_logins_that_may_download_it_once(db: Db) {
    let (kenpo, family) = signed_in_household(&db).await;
    let now = OffsetDateTime::now_utc();
    let card = CardNumber { symbol: "1001", number: "2345", branch: "01" };
    let notice =
        record_notice(&db, &kenpo.id, card, date!(2026 - 01 - 05), NoticeReason::Enrolment, None, now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let stated = notice.snapshot.as_ref().map(|s| (s.name.as_str(), s.branch.as_str(), s.insured));
    assert_eq!(stated, Some(("健保 花子", "01", false)), "what the notice states, kept as issued");
    let unknown = CardNumber { symbol: "1001", number: "2345", branch: "07" };
    assert!(matches!(
        record_notice(&db, &kenpo.id, unknown, date!(2026 - 01 - 05), NoticeReason::Other, None, now).await,
        Err(QualificationError::NotFound)
    ));

    let news = new_issues(&db, &kenpo, date!(2026 - 01 - 05)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(news.len(), 1);
    assert_eq!(news[0].notice_id, notice.id);
    assert_eq!(news[0].member_id, family[1].id, "the dependant's notice");
    let to: Vec<&str> = news[0].recipients.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(to, ["健保 太郎"], "the insured, who signs in and handles the household's documents");

    mark_announced(&db, &news, now).await.unwrap_or_else(|e| panic!("{e}"));
    let again = new_issues(&db, &kenpo, date!(2026 - 01 - 06)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(again.is_empty(), "announced once");
}

on_both_backends!(
    an_application_is_reviewed_and_a_second_open_one_is_refused,
    a_new_notice_is_announced_to_the_logins_that_may_download_it_once,
);
