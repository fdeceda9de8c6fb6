//! The qualification store on both backends: issues round-trip, one open application per person
//! whatever the pages checked, and a decision that lost a race writes nothing.

use super::*;
use crate::domain::KenpoId;
use crate::import::{ImportKind, ImportOptions, import_file};
use crate::store::test_db::on_both_backends;
use crate::store::{KenpoStore, NewKenpo};
use time::macros::date;

/// The IdP user the fixture's 本人 signs in as; the dependant has no login.
pub(crate) const TARO_SUBJECT: &str = "00000000-0000-4000-8000-000000000001";

/// A kenpo with one household: 本人 (acquired 2015-04-01, signs in) and a dependant.
pub(crate) async fn household(db: &Db) -> (String, MemberId, MemberId) {
    let kenpo = db
        .upsert_kenpo(
            NewKenpo {
                issuer: "https://idp.example.jp/realms/test".to_owned(),
                client_id: "portal".to_owned(),
                host: None,
                display_name: "テスト健保".to_owned(),
                client_secret_sealed: None,
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap_or_else(|e| panic!("kenpo: {e}"));
    let id = KenpoId::parse(&kenpo.id).unwrap_or_else(|| panic!("kenpo id"));
    let members = "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n\
                   1001,2345,00,本人,健保 太郎,ケンポ タロウ,19790822,1,2015-04-01,,00000000-0000-4000-8000-000000000001\n\
                   1001,2345,01,家族,健保 花子,ケンポ ハナコ,19810315,2,,,\n";
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(db, &id, ImportKind::Members, members.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("members: {e:?}"));
    let kenpo_id = kenpo.id.as_str();
    let holder = |branch| async move {
        db.card_holder(kenpo_id, ("1001", "2345", branch))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("member {branch}"))
    };
    let (taro, hanako) = (holder("00").await, holder("01").await);
    (kenpo.id.clone(), taro, hanako)
}

fn at() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn notices_round_trip_and_are_announced_once(db: Db) {
    let (kenpo, taro, hanako) = household(&db).await;
    assert_eq!(db.card_holder(&kenpo, ("1001", "2345", "09")).await.ok(), Some(None));
    let copay = Copay::new(20, Some(date!(2026 - 08 - 01)), Some(date!(2027 - 07 - 31)));
    let new = |member, issued_on, reason, copay| NewIssuedNotice {
        kenpo_id: &kenpo,
        member_id: member,
        issued_on,
        reason,
        copay,
        snapshot: None,
        at: at(),
    };
    let first = db
        .record_notice(new(&taro, date!(2024 - 12 - 02), NoticeReason::Enrolment, None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.acquired_on, Some(date!(2015 - 04 - 01)), "from the member file");
    db.record_notice(new(&taro, date!(2026 - 08 - 01), NoticeReason::CopayChange, copay))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.record_notice(new(&hanako, date!(2025 - 01 - 10), NoticeReason::NameChange, None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let notices = db.notices(std::slice::from_ref(&taro)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(notices.len(), 2);
    assert_eq!(notices[0].copay, copay, "newest first, 負担割合 with its dates");
    assert_eq!(notices[0].reason, NoticeReason::CopayChange);

    let pending = db.unannounced_notices(&kenpo).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pending.len(), 3);
    let ids: Vec<String> =
        pending.iter().filter(|u| u.member_id == taro).map(|u| u.notice_id.clone()).collect();
    assert_eq!(ids.len(), 2);
    db.mark_announced(&ids, at()).await.unwrap_or_else(|e| panic!("{e}"));
    let pending = db.unannounced_notices(&kenpo).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].member_id, hanako);
    assert_eq!(db.unannounced_notices("other-kenpo").await.map(|v| v.len()).ok(), Some(0));
}

async fn a_person_has_one_open_application_and_an_issue_records_the_card(db: Db) {
    let (kenpo, taro, hanako) = household(&db).await;
    let apply = |member| NewApplication {
        kenpo_id: &kenpo,
        member_id: member,
        applicant_id: &taro,
        reason: ApplicationReason::Lost,
        note: "駅で紛失",
        at: at(),
    };
    let first = db.open_application(apply(&hanako)).await.unwrap_or_else(|e| panic!("{e}"));
    let again = db.open_application(apply(&hanako)).await;
    assert!(matches!(again, Err(StoreError::ApplicationOpen)), "{again:?}");
    db.open_application(apply(&taro)).await.unwrap_or_else(|e| panic!("another person may: {e}"));

    let accepted = db
        .decide(&kenpo, &first.id, ApplicationStatus::Applied, Decided::Accepted, at())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(accepted.map(|a| a.status), Some(ApplicationStatus::Accepted));
    assert!(matches!(db.open_application(apply(&hanako)).await, Err(StoreError::ApplicationOpen)));

    // A decision from a status the application has left changes nothing, not even the card.
    let card = NewCertificate {
        kenpo_id: &kenpo,
        member_id: &hanako,
        issued_on: date!(2026 - 02 - 01),
        valid_until: date!(2031 - 01 - 31),
        copay: None,
        at: at(),
    };
    let stale = db
        .decide(&kenpo, &first.id, ApplicationStatus::Applied, Decided::Issued(card.clone()), at())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stale, None);
    assert_eq!(db.certificates(std::slice::from_ref(&hanako)).await.map(|c| c.len()).ok(), Some(0));

    let issued = db
        .decide(&kenpo, &first.id, ApplicationStatus::Accepted, Decided::Issued(card), at())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("issued"));
    let certificates = db.certificates(std::slice::from_ref(&hanako)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(certificates.len(), 1);
    assert_eq!(issued.certificate_id.as_deref(), Some(certificates[0].id.as_str()));
    assert_eq!(certificates[0].valid_until, date!(2031 - 01 - 31));
    // Closed: the person may apply again.
    db.open_application(apply(&hanako)).await.unwrap_or_else(|e| panic!("closed frees the person: {e}"));

    let listed = db
        .kenpo_applications(&kenpo, Some(ApplicationStatus::Applied))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut cards: Vec<(&str, &str)> =
        listed.iter().map(|(_, c)| (c.branch.as_str(), c.name.as_str())).collect();
    cards.sort_unstable();
    assert_eq!(cards, [("00", "健保 太郎"), ("01", "健保 花子")]);
    assert_eq!(db.kenpo_applications(&kenpo, None).await.map(|v| v.len()).ok(), Some(3));
    assert_eq!(db.application("other-kenpo", &first.id).await.ok(), Some(None), "per kenpo");

    let returned = db.return_certificate(&kenpo, &certificates[0].id, date!(2026 - 03 - 01)).await;
    assert_eq!(returned.ok(), Some(true));
    let twice = db.return_certificate(&kenpo, &certificates[0].id, date!(2026 - 03 - 02)).await;
    assert_eq!(twice.ok(), Some(false));
    let after = db.certificates(std::slice::from_ref(&hanako)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after[0].returned_on, Some(date!(2026 - 03 - 01)));
}

on_both_backends!(
    notices_round_trip_and_are_announced_once,
    a_person_has_one_open_application_and_an_issue_records_the_card,
);
