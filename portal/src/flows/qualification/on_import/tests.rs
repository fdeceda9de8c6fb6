//! A member import issues 資格情報のお知らせ only when the kenpo asks for it: one on 加入, one on a
//! name change against what the last notice stated, none for the same file again, none for a
//! member the file marks as lost. On both backends.

use crate::domain::{KenpoId, MemberId, NoticeReason};
use crate::import::{ImportKind, ImportOptions, import_file};
use crate::store::qualification_fixtures::household;
use crate::store::test_db::on_both_backends;
use crate::store::{Db, IssuedNotice, KenpoStore, QualificationStore};
use time::OffsetDateTime;

const HEADER: &str =
    "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";
const TARO: &str =
    "1001,2345,00,本人,健保 太郎,ケンポ タロウ,19790822,1,2015-04-01,,00000000-0000-4000-8000-000000000001\n";
const HANAKO: &str = "1001,2345,01,家族,健保 花子,ケンポ ハナコ,19810315,2,,,\n";

async fn import(db: &Db, kenpo: &str, rows: &[&str]) {
    let csv = format!("{HEADER}{}", rows.concat());
    let id = KenpoId::parse(kenpo).unwrap_or_else(|| panic!("kenpo id"));
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(db, &id, ImportKind::Members, csv.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("members: {e:?}"));
}

async fn notices(db: &Db, kenpo: &str, branch: &str) -> (MemberId, Vec<IssuedNotice>) {
    let member = db.card_holder(kenpo, ("1001", "2345", branch)).await.ok().flatten();
    let member = member.unwrap_or_else(|| panic!("member {branch}"));
    let notices = db.notices(std::slice::from_ref(&member)).await.unwrap_or_else(|e| panic!("{e}"));
    (member, notices)
}

async fn a_member_import_issues_notices_on_enrolment_and_name_change_only_when_asked(db: Db) {
    // The fixture's import ran with the setting off: no notice.
    let (kenpo_id, _, _) = household(&db).await;
    assert!(notices(&db, &kenpo_id, "00").await.1.is_empty(), "off by default");
    let jiro = "1001,2345,02,家族,健保 次郎,ケンポ ジロウ,20100401,1,2026-04-01,,\n";
    import(&db, &kenpo_id, &[TARO, HANAKO, jiro]).await;
    assert!(notices(&db, &kenpo_id, "02").await.1.is_empty(), "still off: a new member gets none");

    let kenpo = db.kenpo(&kenpo_id).await.ok().flatten().unwrap_or_else(|| panic!("kenpo"));
    let settings = r#"{"qualification_notice_on_import":true,"insurer_number":"06123456"}"#;
    crate::flows::admin::change_settings(&db, &kenpo, settings, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // 加入: a new dependant gets one notice stating what the file says; one who is already lost
    // gets none; those already there get none.
    let saburo = "1001,2345,03,家族,健保 三郎,ケンポ サブロウ,20120401,1,2026-04-01,,\n";
    let lost = "1001,2345,04,家族,健保 四郎,ケンポ シロウ,20130401,1,2026-04-01,2026-05-01,\n";
    import(&db, &kenpo_id, &[TARO, HANAKO, jiro, saburo, lost]).await;
    let (_, issued) = notices(&db, &kenpo_id, "03").await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].reason, NoticeReason::Enrolment);
    let stated = issued[0].snapshot.clone().unwrap_or_else(|| panic!("a snapshot"));
    assert_eq!(
        (stated.name.as_str(), stated.branch.as_str(), stated.insurer_number.as_str(), stated.insured),
        ("健保 三郎", "03", "06123456", false)
    );
    assert_eq!(stated.acquired_on.as_deref(), Some("2026-04-01"));
    for branch in ["00", "01", "02", "04"] {
        assert!(notices(&db, &kenpo_id, branch).await.1.is_empty(), "{branch}: none");
    }

    // The same file again: nothing new.
    import(&db, &kenpo_id, &[TARO, HANAKO, jiro, saburo, lost]).await;
    assert_eq!(notices(&db, &kenpo_id, "03").await.1.len(), 1, "the same file issues nothing");

    // 三郎's name changes: a notice stating the new name. 花子's too, but nothing tells what
    // her last (paper) notice said: none.
    let renamed = "1001,2345,03,家族,山田 三郎,ヤマダ サブロウ,20120401,1,2026-04-01,,\n";
    let hanako = "1001,2345,01,家族,山田 花子,ヤマダ ハナコ,19810315,2,,,\n";
    import(&db, &kenpo_id, &[TARO, hanako, jiro, renamed, lost]).await;
    let (_, issued) = notices(&db, &kenpo_id, "03").await;
    assert_eq!(issued.len(), 2);
    let latest = &issued[0];
    assert_eq!(latest.reason, NoticeReason::NameChange);
    assert_eq!(latest.snapshot.as_ref().map(|s| s.name.as_str()), Some("山田 三郎"));
    assert!(notices(&db, &kenpo_id, "01").await.1.is_empty());

    // Issued in the import, announced like any other.
    let unannounced = db.unannounced_notices(&kenpo_id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unannounced.len(), 2);
}

on_both_backends!(a_member_import_issues_notices_on_enrolment_and_name_change_only_when_asked);
