//! The import's writes on both backends, with values that COPY's text format must escape.

use super::*;
use crate::domain::{Category, Month};
use crate::import::{ImportKind, ImportOptions, import_file};
use crate::store::test_db::on_both_backends;
use crate::store::{KenpoStore, NewKenpo};
use sqlx::Row as _;

/// Institution names that a careless COPY encoding would turn into other columns, other rows,
/// NULL or the end of the data.
const NASTY: [&str; 8] = [
    "tab\there",
    "new\nline and cr\r\n",
    "back\\slash\\",
    "\\N",
    "\\.",
    "",
    "\"quoted\", 'single'; -- さくら薬局 🏥",
    "\u{7}\u{1b}[0m control",
];

async fn kenpo_with_a_member(db: &Db) -> KenpoId {
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
    let kenpo = KenpoId::parse(&kenpo.id).unwrap_or_else(|| panic!("kenpo id"));
    let members = "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n\
                   1001,2345,00,本人,健保 太郎,ケンポ タロウ,19790822,1,,,\n";
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(db, &kenpo, ImportKind::Members, members.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("members: {e:?}"));
    kenpo
}

fn claim(i: usize, institution: Option<&str>, total_yen: i64) -> ClaimLine {
    ClaimLine {
        line: u64::try_from(i).unwrap_or(0) + 2,
        claim_no: format!("R{i}"),
        member: MemberKey { symbol: "1001".to_owned(), number: "2345".to_owned(), branch: "00".to_owned() },
        service_month: Month::new(2025, 4).unwrap_or_else(|| panic!("month")),
        category: Category::Outpatient,
        institution: institution.map(str::to_owned),
        days: 1,
        total_yen,
        insurer_yen: total_yen,
        public_yen: 0,
        patient_yen: 0,
        meal_yen: 0,
        statutory_refund_yen: 0,
        additional_refund_yen: 0,
        reduced: false,
    }
}

async fn upsert(db: &Db, kenpo: &KenpoId, lines: &[ClaimLine]) -> Upserted {
    let mut tx = db.begin_import(kenpo, OffsetDateTime::now_utc()).await.unwrap_or_else(|e| panic!("{e}"));
    let known = tx.members(kenpo).await.unwrap_or_else(|e| panic!("{e}"));
    let member = &known.values().next().unwrap_or_else(|| panic!("the member")).id;
    let rows: Vec<(&MemberId, &ClaimLine)> = lines.iter().map(|c| (member, c)).collect();
    let written = tx.upsert_claims(kenpo, &rows).await.unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    written
}

async fn institutions(db: &Db) -> Vec<(String, Option<String>)> {
    let rows = sqlx::query("SELECT claim_no, institution FROM claims ORDER BY claim_no")
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rows.iter().map(|r| (r.try_get(0).unwrap_or_default(), r.try_get(1).unwrap_or_default())).collect()
}

/// Inserts, re-upserts unchanged, changes one row: counts and values read back exactly.
async fn nasty_values_round_trip_and_count_exactly(db: Db) {
    let kenpo = kenpo_with_a_member(&db).await;
    let mut lines: Vec<ClaimLine> = NASTY.iter().enumerate().map(|(i, n)| claim(i, Some(n), 100)).collect();
    lines.push(claim(NASTY.len(), None, 100));

    assert_eq!(upsert(&db, &kenpo, &lines).await, Upserted { inserted: 9, updated: 0 });
    let mut expected: Vec<(String, Option<String>)> =
        lines.iter().map(|c| (c.claim_no.clone(), c.institution.clone())).collect();
    expected.sort();
    assert_eq!(institutions(&db).await, expected);

    assert_eq!(upsert(&db, &kenpo, &lines).await, Upserted::default(), "unchanged rows stay unchanged");

    lines[3].total_yen = 200;
    lines[3].insurer_yen = 200;
    lines.push(claim(NASTY.len() + 1, Some("\\N"), 100));
    assert_eq!(upsert(&db, &kenpo, &lines).await, Upserted { inserted: 1, updated: 1 });
}

async fn a_dropped_import_writes_nothing(db: Db) {
    let kenpo = kenpo_with_a_member(&db).await;
    {
        let mut tx =
            db.begin_import(&kenpo, OffsetDateTime::now_utc()).await.unwrap_or_else(|e| panic!("{e}"));
        let known = tx.members(&kenpo).await.unwrap_or_else(|e| panic!("{e}"));
        let member = &known.values().next().unwrap_or_else(|| panic!("the member")).id;
        let line = claim(1, Some("x"), 100);
        tx.upsert_claims(&kenpo, &[(member, &line)]).await.unwrap_or_else(|e| panic!("{e}"));
        tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(institutions(&db).await, []);
    // The staging table went with the transaction: the next import can make it again.
    assert_eq!(upsert(&db, &kenpo, &[claim(1, Some("x"), 100)]).await.inserted, 1);
}

/// Two imports given the same instant: the second's stamp is later, so each finds exactly the
/// rows it wrote (whom its update mails are for), not the other's.
async fn imports_in_the_same_millisecond_tell_their_rows_apart(db: Db) {
    let kenpo = kenpo_with_a_member(&db).await;
    let now = OffsetDateTime::now_utc();
    let mut touched = Vec::new();
    for i in 0..2 {
        let mut tx = db.begin_import(&kenpo, now).await.unwrap_or_else(|e| panic!("{e}"));
        let known = tx.members(&kenpo).await.unwrap_or_else(|e| panic!("{e}"));
        let member = &known.values().next().unwrap_or_else(|| panic!("the member")).id;
        let line = claim(i, Some("x"), 100);
        tx.upsert_claims(&kenpo, &[(member, &line)]).await.unwrap_or_else(|e| panic!("{e}"));
        tx.record_import(&kenpo, "claims", "claims.csv", &format!("sha-{i}"), 1)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let audience = tx
            .mail_audience(kenpo.as_str(), PublishedTable::Claims, "medical_expenses")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        touched.push(audience.touched.len());
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let stamps: Vec<i64> = sqlx::query_scalar("SELECT imported_at FROM claims ORDER BY claim_no")
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stamps.len(), 2);
    assert!(stamps[0] < stamps[1], "{stamps:?}");
    assert_eq!(touched, [1, 1]);
    let second = sqlx::query("SELECT 1 FROM claims WHERE imported_at = $1")
        .bind(stamps[1])
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.len(), 1, "the second import's stamp marks its own row only");
}

/// The portal's MYメール message of a publication is written in the import's transaction: a
/// rolled-back import leaves none, a committed one leaves exactly one, delivered once.
async fn the_imports_inbox_message_goes_with_its_data(db: Db) {
    let kenpo = kenpo_with_a_member(&db).await;
    let messages = |db: Db| async move {
        let rows =
            sqlx::query("SELECT 1 FROM inbox_messages m JOIN inbox_deliveries d ON d.message_id = m.id")
                .fetch_all(db.pool())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        rows.len()
    };
    for commit in [false, true] {
        let mut tx =
            db.begin_import(&kenpo, OffsetDateTime::now_utc()).await.unwrap_or_else(|e| panic!("{e}"));
        let known = tx.members(&kenpo).await.unwrap_or_else(|e| panic!("{e}"));
        let member = known.values().next().unwrap_or_else(|| panic!("the member")).id.clone();
        let reached = tx
            .deliver_system_message(kenpo.as_str(), "medical_expenses", &[member.clone(), member])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reached, 1, "one inbox, however often it is named");
        if commit {
            tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        } else {
            tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(messages(db.clone()).await, 0, "rolled back with the import");
        }
    }
    assert_eq!(messages(db.clone()).await, 1);
}

on_both_backends!(
    nasty_values_round_trip_and_count_exactly,
    a_dropped_import_writes_nothing,
    imports_in_the_same_millisecond_tell_their_rows_apart,
    the_imports_inbox_message_goes_with_its_data
);
