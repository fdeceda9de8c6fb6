//! The inbox store on both backends: a member deletes only their own message, and then no longer
//! sees it anywhere; the kenpo lists what it wrote with its counts and recalls it from every
//! inbox, never another kenpo's message nor the portal's.

use super::*;
use crate::domain::KenpoId;
use crate::import::{ImportKind, ImportOptions, import_file};
use crate::store::test_db::on_both_backends;
use crate::store::{KenpoStore, NewKenpo};
use time::OffsetDateTime;

on_both_backends!(a_member_deletes_only_their_own_message, the_kenpo_lists_and_recalls_only_its_own_messages);

/// A kenpo of `realm` with two households whose insured sign in: their member ids.
async fn kenpo_with_two_logins(db: &Db, realm: &str) -> (String, MemberId, MemberId) {
    let kenpo = db
        .upsert_kenpo(
            NewKenpo {
                issuer: format!("https://idp.example.jp/realms/{realm}"),
                client_id: "portal".to_owned(),
                host: None,
                display_name: format!("{realm}健保"),
                client_secret_sealed: None,
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap_or_else(|e| panic!("kenpo: {e}"));
    let id = KenpoId::parse(&kenpo.id).unwrap_or_else(|| panic!("kenpo id"));
    let members = format!(
        "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n\
         10,1001,00,本人,健保 太郎,,19790822,1,,,{}\n\
         10,2002,00,本人,他人 次郎,,19800101,1,,,{}\n",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4()
    );
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(db, &id, ImportKind::Members, members.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("members: {e:?}"));
    let card = |number: &str| Card { symbol: "10".into(), number: number.into(), branch: "00".into() };
    let found = db.members_by_card(&kenpo.id, &[card("1001"), card("2002")]).await.unwrap_or_default();
    let holder = |number: &str| {
        found
            .iter()
            .find(|(c, _)| c.number == number)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("member {number}"))
    };
    (kenpo.id.clone(), holder("1001"), holder("2002"))
}

fn kenpo_message(subject: &str) -> Content {
    Content::Kenpo { subject: subject.to_owned(), body: "本文".to_owned() }
}

const SENT: i64 = 1_795_446_000_000;

async fn a_member_deletes_only_their_own_message(db: Db) {
    let (kenpo, taro, jiro) = kenpo_with_two_logins(&db, "a").await;
    let (both, _) = db
        .deliver(&kenpo, &kenpo_message("年末年始"), Audience::All, SENT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (own, _) = db
        .deliver(&kenpo, &kenpo_message("任意継続"), Audience::Members(std::slice::from_ref(&taro)), SENT + 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let unread = |m: MemberId| {
        let db = db.clone();
        async move { db.unread_count(&m, 0).await.unwrap_or(-1) }
    };
    assert_eq!(unread(taro.clone()).await, 2);

    let later = SENT + 60_000;
    let theirs = db.delete_delivery(&jiro, &own, 0, later).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!theirs, "another member's message is not theirs to delete");
    assert_eq!(unread(taro.clone()).await, 2, "and nothing changed");
    let kept = db.delete_delivery(&taro, &own, SENT + 2, later).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!kept, "a message no longer kept is not found either");

    assert!(db.delete_delivery(&taro, &both, 0, later).await.unwrap_or_else(|e| panic!("{e}")));
    assert!(!db.delete_delivery(&taro, &both, 0, later).await.unwrap_or_else(|e| panic!("{e}")), "once");
    assert_eq!(unread(taro.clone()).await, 1, "the deleted message no longer counts");
    let listed = db.inbox(&taro, 0, 0, 20).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((listed.total, listed.items.len()), (1, 1));
    assert_eq!(listed.items[0].id, own);
    assert_eq!(db.inbox_message(&taro, &both, 0).await.ok(), Some(None), "its page is gone");
    assert_eq!(unread(jiro.clone()).await, 1, "the other inbox keeps its copy");
    assert!(db.inbox_message(&jiro, &both, 0).await.ok().flatten().is_some());
}

async fn the_kenpo_lists_and_recalls_only_its_own_messages(db: Db) {
    let (kenpo, taro, jiro) = kenpo_with_two_logins(&db, "a").await;
    let (other_kenpo, other_taro, _) = kenpo_with_two_logins(&db, "b").await;
    let (older, _) = db
        .deliver(&kenpo, &kenpo_message("先月のご案内"), Audience::All, SENT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (newer, reached) = db
        .deliver(&kenpo, &kenpo_message("年末年始"), Audience::All, SENT + 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reached, 2);
    let system = Content::System(crate::tenant::MailCategory::Checkups);
    let (portal_s, _) = db
        .deliver(&kenpo, &system, Audience::Members(std::slice::from_ref(&taro)), SENT + 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (elsewhere, _) = db
        .deliver(&other_kenpo, &kenpo_message("ビー健保"), Audience::All, SENT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.mark_read(&jiro, &newer, SENT + 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(db.delete_delivery(&jiro, &newer, 0, SENT + 20).await.unwrap_or_else(|e| panic!("{e}")));

    let page = db.sent_messages(&kenpo, 0, 1).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 2, "the kenpo's own two, not the portal's nor the other kenpo's");
    let first = &page.items[0];
    assert_eq!((&first.id, first.subject.as_str(), first.sent_at), (&newer, "年末年始", SENT + 1));
    assert_eq!((first.recipients, first.read), (2, 1), "a member's deletion leaves the counts");
    let second = db.sent_messages(&kenpo, 1, 1).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.items.iter().map(|m| &m.id).collect::<Vec<_>>(), [&older]);

    let recall = |kenpo: String, id: MessageId| {
        let db = db.clone();
        async move { db.recall_message(&kenpo, &id).await.unwrap_or_else(|e| panic!("{e}")) }
    };
    assert_eq!(
        recall(other_kenpo.clone(), newer.clone()).await,
        None,
        "another kenpo's message is not found"
    );
    assert_eq!(recall(kenpo.clone(), elsewhere.clone()).await, None);
    assert_eq!(
        recall(kenpo.clone(), portal_s.clone()).await,
        None,
        "the portal's messages are not the kenpo's"
    );
    assert_eq!(db.unread_count(&taro, 0).await.ok(), Some(3), "nothing changed");
    assert_eq!(
        recall(kenpo.clone(), newer.clone()).await,
        Some(1),
        "taro's inbox still held it; jiro deleted it"
    );
    assert_eq!(recall(kenpo.clone(), newer.clone()).await, None, "once");
    assert_eq!(db.unread_count(&taro, 0).await.ok(), Some(2));
    assert_eq!(db.inbox_message(&taro, &newer, 0).await.ok(), Some(None));
    assert_eq!(db.sent_messages(&kenpo, 0, 10).await.map(|l| l.total).ok(), Some(1));
    assert_eq!(db.unread_count(&other_taro, 0).await.ok(), Some(1), "the other kenpo's inbox is untouched");
}
