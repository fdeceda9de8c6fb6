//! The notice store on both backends: the kenpo's list is paged with each notice's files, and
//! the retention job purges, with their files, only notices that expired longer ago than the
//! kenpo's `notice_retention_months`, at a fixed time.

use super::*;
use crate::flows::notices::purge;
use crate::store::test_db::on_both_backends;
use crate::store::{Kenpo, KenpoStore, NewKenpo};
use crate::tenant::Settings;
use time::OffsetDateTime;
use time::macros::datetime;

on_both_backends!(
    the_kenpos_list_is_paged_with_each_notices_files,
    expired_notices_are_purged_after_the_retention
);

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";

async fn kenpo(db: &Db, realm: &str) -> Kenpo {
    db.upsert_kenpo(
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
    .unwrap_or_else(|e| panic!("kenpo: {e}"))
}

fn ms(t: OffsetDateTime) -> i64 {
    shared_runtime::db::to_millis(t)
}

/// Publishes a notice from `published` until `expires`, with a file when `file` is given.
async fn notice(
    db: &Db,
    kenpo: &Kenpo,
    title: &str,
    published: OffsetDateTime,
    expires: Option<OffsetDateTime>,
    file: Option<&str>,
) -> NoticeId {
    let fields = NoticeFields {
        category: NoticeCategory::Important,
        title: title.to_owned(),
        body: "本文".to_owned(),
        published_at: ms(published),
        expires_at: expires.map(ms),
    };
    let files: Vec<NewAttachment> = file
        .into_iter()
        .map(|name| NewAttachment {
            file_name: name.to_owned(),
            media_type: "application/pdf".to_owned(),
            content: PDF.to_vec(),
        })
        .collect();
    db.insert_notice(&kenpo.id, &fields, &files, ms(published))
        .await
        .unwrap_or_else(|e| panic!("{title}: {e}"))
}

async fn the_kenpos_list_is_paged_with_each_notices_files(db: Db) {
    let (a, b) = (kenpo(&db, "a").await, kenpo(&db, "b").await);
    let day = time::Duration::days(1);
    let start = datetime!(2026-11-01 09:00 +09:00);
    let first = notice(&db, &a, "一件目", start, None, Some("一件目.pdf")).await;
    let second = notice(&db, &a, "二件目", start + day, Some(start + 2 * day), None).await;
    let third = notice(&db, &a, "三件目", start + 2 * day, None, Some("三件目.pdf")).await;
    notice(&db, &b, "ビー健保", start, None, Some("b.pdf")).await;

    let page = db.kenpo_notices(&a.id, 0, 2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.total, 3, "the kenpo's own, expired too");
    let ids: Vec<_> = page.items.iter().map(|n| &n.id).collect();
    assert_eq!(ids, [&third, &second], "newest first");
    let files: Vec<_> = page
        .items
        .iter()
        .map(|n| n.attachments.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>())
        .collect();
    assert_eq!(files, [vec!["三件目.pdf"], vec![]], "each notice with its own files only");
    let rest = db.kenpo_notices(&a.id, 2, 2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rest.items.iter().map(|n| &n.id).collect::<Vec<_>>(), [&first]);
    assert_eq!(rest.items[0].attachments.len(), 1);
    let past = db.kenpo_notices(&a.id, 4, 2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((past.total, past.items.len()), (3, 0));
}

async fn expired_notices_are_purged_after_the_retention(db: Db) {
    let (mut a, b) = (kenpo(&db, "a").await, kenpo(&db, "b").await);
    let published = datetime!(2024-01-10 09:00 +09:00);
    // 24 months back from November 2026 is November 2024: what expired before it goes.
    let gone =
        notice(&db, &a, "期限切れ", published, Some(datetime!(2024-10-31 23:59 +09:00)), Some("古い.pdf"))
            .await;
    let kept = notice(&db, &a, "保存中", published, Some(datetime!(2024-11-01 00:00 +09:00)), None).await;
    let open = notice(&db, &a, "期限なし", published, None, Some("常設.pdf")).await;
    let other = notice(&db, &b, "ビー健保", published, Some(datetime!(2024-01-31 00:00 +09:00)), None).await;
    let gone_file = db.notice(&a.id, &gone).await.ok().flatten().map(|n| n.attachments[0].id.clone());
    let gone_file = gone_file.unwrap_or_else(|| panic!("the file"));
    let now = datetime!(2026-11-24 10:00 +09:00);

    a.settings = Settings { notice_retention_months: 36, ..Settings::default() };
    assert_eq!(purge(&db, std::slice::from_ref(&a), now).await.ok(), Some(0), "36 months keep them all");
    a.settings = Settings::default();
    assert_eq!(purge(&db, std::slice::from_ref(&a), now).await.ok(), Some(1));
    assert_eq!(db.notice(&a.id, &gone).await.ok(), Some(None));
    assert_eq!(db.attachment(&a.id, &gone, &gone_file).await.ok(), Some(None), "its file went with it");
    let (files,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notice_attachments WHERE notice_id = $1")
        .bind(gone.as_str())
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(files, 0);
    for (kenpo, id) in [(&a, &kept), (&a, &open), (&b, &other)] {
        assert!(db.notice(&kenpo.id, id).await.ok().flatten().is_some(), "{id:?} is kept");
    }
    assert_eq!(purge(&db, std::slice::from_ref(&a), now).await.ok(), Some(0), "once");
}
