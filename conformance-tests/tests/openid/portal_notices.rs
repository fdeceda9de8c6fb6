//! お知らせ and MYメール from the member's side, signed in through the IdP: a notice is shown
//! only in its window and only to its own kenpo's members; a member never reads another's
//! message, opening one lowers the unread count beside their name, and the kenpo's text is
//! never markup.

use crate::helpers::{Browser, Idp, Portal, log_in_at, on_every_backend};
use kenpo_portal::domain::{KenpoId, MemberId};
use kenpo_portal::flows::inbox::{self, Outgoing};
use kenpo_portal::flows::notices::{self, Draft, DraftFile};
use kenpo_portal::import::{ImportKind, ImportOptions, import_file};
use kenpo_portal::store::{Card, Db, InboxStore, KenpoStore};
use kenpo_portal::tenant::MailCategory;
use reqwest::StatusCode;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

on_every_backend!(
    a_notice_is_shown_only_in_its_window_and_only_to_its_kenpo,
    a_member_never_reads_another_members_message_and_reading_lowers_the_unread_count,
    a_member_deletes_their_own_message_and_no_other,
    the_daily_retention_job_purges_notices_long_expired_with_their_files,
);

const MEMBERS: &str =
    "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

async fn import_members(db: &Db, kenpo: &str, csv: &str) {
    let kenpo = KenpoId::parse(kenpo).unwrap_or_else(|| panic!("kenpo id {kenpo}"));
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(
        db,
        &kenpo,
        ImportKind::Members,
        format!("{MEMBERS}{csv}").as_bytes(),
        &options,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap_or_else(|e| panic!("members: {e} {e:?}"));
}

fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|e| panic!("{e}"))
}

/// Publishes a notice of `kenpo` shown from `from` (until `until`), as the kenpo's API would.
async fn publish(
    db: &Db,
    kenpo: &str,
    title: &str,
    body: &str,
    from: OffsetDateTime,
    until: Option<OffsetDateTime>,
    files: Option<Vec<DraftFile>>,
) -> String {
    let draft = Draft {
        category: "important".to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
        published_at: at(from),
        expires_at: until.map(at),
        attachments: files,
    };
    let notice = notices::create(db, kenpo, draft, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("publishing {title}: {e} {e:?}"));
    notice.id.to_string()
}

async fn a_notice_is_shown_only_in_its_window_and_only_to_its_kenpo(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let b = idp.add_second_kenpo(&portal).await;
    let db = &portal.state.db;
    let a = portal.state.kenpo_id.clone();
    import_members(db, &a, &format!("10,1001,00,本人,健保 太郎,,19790822,1,,,{}\n", idp.member.sub)).await;
    import_members(db, &b.kenpo.id, &format!("20,3003,00,本人,美井 太郎,,19790822,1,,,{}\n", b.member.sub))
        .await;
    let now = OffsetDateTime::now_utc();
    let (minute, hour) = (Duration::minutes(1), Duration::hours(1));
    let leaflet = DraftFile { file_name: "保険証のご案内.pdf".to_owned(), content: PDF.to_vec() };
    let shown = publish(
        db,
        &a,
        "保険証の切り替えについて",
        "<script>alert('x')</script>\n詳しくはhttps://kenpo.example.jp/news/1をご覧ください。",
        now - hour,
        Some(now + 25 * minute),
        Some(vec![leaflet]),
    )
    .await;
    let scheduled = publish(db, &a, "来月の健診のご案内", "予告", now + 10 * minute, None, None).await;
    let expired =
        publish(db, &a, "終了したキャンペーン", "終了", now - 3 * hour, Some(now - hour), None).await;
    let other_kenpo =
        publish(db, &b.kenpo.id, "ビー健保だけのお知らせ", "ビー", now - hour, None, None).await;

    let anonymous = Browser::new(&idp.issuer).get(&portal.at("/")).await;
    assert!(!anonymous.body.contains("保険証の切り替えについて"), "notices are for signed-in members");
    assert_eq!(Browser::new(&idp.issuer).get(&portal.at("/notices")).await.status, StatusCode::SEE_OTHER);

    let browser = idp.browser();
    let top = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/").await;
    assert!(top.body.contains("保険証の切り替えについて"), "the top page lists the latest: {}", top.body);
    let list = browser.get(&portal.at("/notices")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("保険証の切り替えについて"));
    for hidden in ["来月の健診のご案内", "終了したキャンペーン", "ビー健保だけのお知らせ"]
    {
        assert!(!list.body.contains(hidden), "{hidden} is not listed");
    }
    for id in [&scheduled, &expired, &other_kenpo, &"not-an-id".to_owned()] {
        let page = browser.get(&portal.at(&format!("/notices/{id}"))).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "notice {id}");
    }

    let notice = browser.get(&portal.at(&format!("/notices/{shown}"))).await;
    assert_eq!(notice.status, StatusCode::OK);
    assert!(!notice.body.contains("<script>alert"), "the kenpo's text is never markup");
    assert!(notice.body.contains("&lt;script&gt;"));
    assert_eq!(notice.attr("article a[rel~=noopener]", "href"), "https://kenpo.example.jp/news/1");
    let file = browser.get(&portal.at(&notice.attr(".downloads a", "href"))).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.content_type, "application/pdf", "the type the content showed");
    let filtered = browser.get(&portal.at("/notices?category=checkups")).await;
    assert!(!filtered.body.contains("保険証の切り替えについて"), "the category filter narrows the list");
    let bad = browser.get(&portal.at("/notices?category=%3Cx%3E&page=abc")).await;
    assert_eq!(bad.status, StatusCode::OK, "a bad filter is reported, never a failure");
    assert!(
        bad.body.contains("カテゴリの指定が正しくありません")
            && bad.body.contains("保険証の切り替えについて")
    );

    // A quarter of an hour on, the scheduled notice is out; another, and the first has expired.
    // (Steps shorter than the portal session's idle timeout.)
    portal.state.clock.advance(15 * 60);
    let later = browser.get(&portal.at("/notices")).await;
    assert!(later.body.contains("来月の健診のご案内"), "published when its time comes");
    portal.state.clock.advance(15 * 60);
    let expired_now = browser.get(&portal.at(&format!("/notices/{shown}"))).await;
    assert_eq!(expired_now.status, StatusCode::NOT_FOUND, "gone when it expires");

    // Kenpo B's member sees B's notice and none of A's.
    let at_b = Browser::new(&b.issuer);
    let page = log_in_at(&at_b, &b.url, &b.issuer, &b.member, "/notices").await;
    assert!(
        page.body.contains("ビー健保だけのお知らせ") && !page.body.contains("来月の健診のご案内"),
        "{}",
        page.body
    );
    let a_notice = at_b.get(&b.at(&format!("/notices/{scheduled}"))).await;
    assert_eq!(a_notice.status, StatusCode::NOT_FOUND, "another kenpo's notice is not found");
}

async fn a_member_never_reads_another_members_message_and_reading_lowers_the_unread_count(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let db = &portal.state.db;
    let a = portal.state.kenpo_id.clone();
    let csv = format!(
        "10,1001,00,本人,健保 太郎,,19790822,1,,,{}\n10,1001,01,家族,健保 花子,,20100401,2,,,\n\
         10,2002,00,本人,他人 次郎,,19800101,1,,,\n",
        idp.member.sub
    );
    import_members(db, &a, &csv).await;
    let kenpo = db.kenpo(&a).await.ok().flatten().unwrap_or_else(|| panic!("kenpo A"));
    let card = |number: &str, branch: &str| Card {
        symbol: "10".into(),
        number: number.into(),
        branch: branch.into(),
    };
    let now = OffsetDateTime::now_utc();
    let send = |subject: &str, body: &str, cards: Vec<Card>| Outgoing {
        subject: subject.to_owned(),
        body: body.to_owned(),
        cards,
        ..Outgoing::default()
    };
    let stranger =
        inbox::send(db, &kenpo, send("他人宛の通知", "他人の個人情報", vec![card("2002", "00")]), now)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    let own = inbox::send(
        db,
        &kenpo,
        send(
            "任意継続のご案内",
            "<img src=x onerror=alert(1)>\n\n手続きはお早めに。",
            vec![card("1001", "00")],
        ),
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    // The update mails' flow tells the dependant, who has no login: the household reads it.
    let hanako = kenpo_portal::store::MemberStore::member_by_subject(db, &a, &idp.member.sub)
        .await
        .ok()
        .flatten()
        .map(|m| m.household_id)
        .unwrap_or_else(|| panic!("the member"));
    let household = kenpo_portal::store::MemberStore::household(db, &hanako).await.unwrap_or_default();
    let dependant: Vec<MemberId> =
        household.iter().filter(|m| m.branch == "01").map(|m| m.id.clone()).collect();
    let delivered = inbox::deliver_system_message(db, &a, &dependant, MailCategory::MedicalExpenses, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(delivered, 1);

    let browser = idp.browser();
    let top = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/").await;
    assert_eq!(top.text("a.inbox-link"), "MYメール（未読 2件）", "the unread count beside the name");
    let list = browser.get(&portal.at("/inbox")).await;
    assert!(list.body.contains("任意継続のご案内") && list.body.contains("新しい医療費情報を公開しました"));
    assert!(!list.body.contains("他人宛の通知"), "never another member's message");

    let theirs = browser.get(&portal.at(&format!("/inbox/{}", stranger.message_id))).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "another member's message id is not found");
    assert!(!theirs.body.contains("他人の個人情報"));
    assert_eq!(browser.get(&portal.at("/inbox/1%27%20OR%201%3D1")).await.status, StatusCode::NOT_FOUND);

    let opened = browser.get(&portal.at(&format!("/inbox/{}", own.message_id))).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    assert!(!opened.body.contains("<img src=x"), "the kenpo's text is never markup");
    assert!(opened.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(opened.text("a.inbox-link"), "MYメール（未読 1件）", "opening marks it read");
    let again = browser.get(&portal.at("/")).await;
    assert_eq!(again.text("a.inbox-link"), "MYメール（未読 1件）");
    let en = browser.get(&portal.at("/inbox?lang=en")).await;
    assert!(
        en.body.contains("New medical expense information is available"),
        "the portal's words in English"
    );
}

async fn a_member_deletes_their_own_message_and_no_other(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let db = &portal.state.db;
    let a = portal.state.kenpo_id.clone();
    let csv = format!(
        "10,1001,00,本人,健保 太郎,,19790822,1,,,{}\n10,2002,00,本人,他人 次郎,,19800101,1,,,\n",
        idp.member.sub
    );
    import_members(db, &a, &csv).await;
    let kenpo = db.kenpo(&a).await.ok().flatten().unwrap_or_else(|| panic!("kenpo A"));
    let now = OffsetDateTime::now_utc();
    let send = |subject: &str, number: &str| Outgoing {
        subject: subject.to_owned(),
        body: "本文".to_owned(),
        cards: vec![Card { symbol: "10".into(), number: number.into(), branch: "00".into() }],
        ..Outgoing::default()
    };
    let sent = |out| async { inbox::send(db, &kenpo, out, now).await.unwrap_or_else(|e| panic!("{e:?}")) };
    let stranger = sent(send("他人宛の通知", "2002")).await;
    let own = sent(send("任意継続のご案内", "1001")).await;
    let kept = sent(send("健診のご案内", "1001")).await;
    let card = Card { symbol: "10".into(), number: "2002".into(), branch: "00".into() };
    let found = db.members_by_card(&a, &[card]).await.unwrap_or_else(|e| panic!("{e}"));
    let jiro = found.into_iter().next().map(|(_, id)| id).unwrap_or_else(|| panic!("jiro"));
    let settings = &kenpo.settings;

    let browser = idp.browser();
    let page =
        log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, &format!("/inbox/{}", own.message_id))
            .await;
    let form = page.form("form.message-delete");
    assert_eq!(page.text("form.message-delete button"), "このメッセージを削除");
    assert!(form.action.path().ends_with(&format!("/inbox/{}/delete", own.message_id)), "{}", form.action);

    // Without this session's token: refused, nothing deleted.
    let mut no_token = form.clone();
    no_token.hidden.retain(|(k, _)| k != "csrf");
    assert_eq!(browser.submit(&no_token, &[]).await.status, StatusCode::FORBIDDEN);
    let forged = browser.submit(&no_token, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get(&portal.at(&format!("/inbox/{}", own.message_id))).await.status, StatusCode::OK);

    // Another member's message id: not found, and theirs stays.
    let mut theirs = form.clone();
    theirs.action.set_path(&format!("/inbox/{}/delete", stranger.message_id));
    let refused = browser.submit(&theirs, &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(inbox::unread(db, &jiro, settings, now).await.ok(), Some(1), "jiro's message is untouched");

    let done = browser.submit(&form, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let list = browser.follow(&done).await;
    assert_eq!(list.text("p[role=status]"), "メッセージを削除しました。");
    assert!(!list.body.contains("任意継続のご案内") && list.body.contains("健診のご案内"), "{}", list.body);
    assert_eq!(list.text("a.inbox-link"), "MYメール（未読 1件）", "the deleted message no longer counts");
    assert_eq!(
        browser.get(&portal.at(&format!("/inbox/{}", own.message_id))).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(browser.submit(&form, &[]).await.status, StatusCode::NOT_FOUND, "deleted once");

    let en = browser.get(&portal.at(&format!("/inbox/{}?lang=en", kept.message_id))).await;
    assert_eq!(en.text("form.message-delete button"), "Delete this message");
    let done = browser.submit(&en.form("form.message-delete"), &[]).await;
    let list = browser.follow(&done).await;
    assert_eq!(list.text("p[role=status]"), "The message was deleted.");
    assert!(list.body.contains("There are no messages."), "{}", list.body);
}

async fn the_daily_retention_job_purges_notices_long_expired_with_their_files(idp: Idp) {
    use kenpo_portal::import::retention_job::purge_every_kenpo;
    use time::macros::datetime;
    let portal = idp.spawn_portal().await;
    let db = &portal.state.db;
    let a = portal.state.kenpo_id.clone();
    let file = || Some(vec![DraftFile { file_name: "古い案内.pdf".to_owned(), content: PDF.to_vec() }]);
    let published = datetime!(2023-04-01 09:00 +09:00);
    let old =
        publish(db, &a, "2年前に終了", "本文", published, Some(datetime!(2024-10-31 09:00 +09:00)), file())
            .await;
    let recent =
        publish(db, &a, "半年前に終了", "本文", published, Some(datetime!(2026-05-20 09:00 +09:00)), file())
            .await;
    let open = publish(db, &a, "期限なし", "本文", published, None, file()).await;
    let kenpo_id = a.as_str();
    let exists = |id: String| async move {
        let id = kenpo_portal::domain::NoticeId::parse(&id).unwrap_or_else(|| panic!("id"));
        kenpo_portal::store::NoticeStore::notice(db, kenpo_id, &id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    };
    // A fixed day in Tokyo: 24 months back is November 2024.
    let now = datetime!(2026-11-24 03:00 +09:00);
    purge_every_kenpo(&portal.state, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!exists(old.clone()).await, "expired more than 24 months ago (default): purged");
    assert!(exists(recent.clone()).await && exists(open.clone()).await);

    let kenpo = db.kenpo(&a).await.ok().flatten().unwrap_or_else(|| panic!("kenpo A"));
    let refused =
        kenpo_portal::flows::admin::change_settings(db, &kenpo, r#"{"notice_retention_months":0}"#, now)
            .await;
    assert!(refused.is_err(), "0 months is refused like the other retentions");
    kenpo_portal::flows::admin::change_settings(db, &kenpo, r#"{"notice_retention_months":3}"#, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    purge_every_kenpo(&portal.state, now).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!exists(recent).await, "the kenpo's shorter retention");
    assert!(exists(open).await, "a notice without an expiry is kept until deleted");
    let (files,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notice_attachments")
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(files, 1, "the purged notices' files went with them");
}

/// A notice with a file and a kenpo message to the suite's member (tied by the demo data), for
/// the accessibility check: their ids.
pub async fn seed_notice_and_message(portal: &Portal, idp: &Idp) -> (String, String) {
    let db = &portal.state.db;
    let a = portal.state.kenpo_id.clone();
    let now = OffsetDateTime::now_utc();
    let leaflet = DraftFile { file_name: "ご案内.pdf".to_owned(), content: PDF.to_vec() };
    let body = "健康保険証は12月2日以降、資格確認書に切り替わります。\n\n詳しくはhttps://kenpo.example.jp/news/1をご覧ください。";
    let notice = publish(
        db,
        &a,
        "保険証の切り替えについて",
        body,
        now - Duration::hours(1),
        None,
        Some(vec![leaflet]),
    )
    .await;
    let member = kenpo_portal::store::MemberStore::member_by_subject(db, &a, &idp.member.sub)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the demo member"));
    let kenpo = db.kenpo(&a).await.ok().flatten().unwrap_or_else(|| panic!("kenpo A"));
    let out = Outgoing {
        subject: "任意継続のご案内".to_owned(),
        body: "退職後も任意継続被保険者として加入を続けられます。".to_owned(),
        member_ids: vec![member.id.to_string()],
        ..Outgoing::default()
    };
    let sent = inbox::send(db, &kenpo, out, now).await.unwrap_or_else(|e| panic!("{e:?}"));
    (notice, sent.message_id.to_string())
}
