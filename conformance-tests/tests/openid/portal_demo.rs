//! The launcher's demo kenpo: a member signing in finds something on every page, the kenpo's
//! paperwork included, and a second start of the launcher adds nothing.

use crate::helpers::{Idp, log_in_at, on_every_backend};
use crate::portal::seed_demo;
use reqwest::StatusCode;

on_every_backend!(the_demo_member_finds_the_kenpos_paperwork_on_every_page);

async fn count(idp_portal: &crate::helpers::Portal, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(idp_portal.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"))
}

async fn the_demo_member_finds_the_kenpos_paperwork_on_every_page(idp: Idp) {
    let portal = idp.spawn_portal().await;
    seed_demo(&portal, &idp).await;
    let tables =
        ["notices", "inbox_messages", "qualification_notices", "qualification_certificates", "survey_sheets"];
    let mut first = Vec::new();
    for table in tables {
        first.push(count(&portal, table).await);
    }
    seed_demo(&portal, &idp).await;
    for (table, before) in tables.iter().zip(&first) {
        assert!(*before > 0, "the demo fills {table}");
        assert_eq!(count(&portal, table).await, *before, "a second start adds nothing to {table}");
    }

    let browser = idp.browser();
    let top = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/").await;
    assert!(top.body.contains("マイナ保険証の利用登録をお願いします"), "the latest notice on the top page");
    assert!(top.body.contains("被扶養者資格確認のお願い"), "the survey banner");
    // The kenpo's MYメール, and the portal's 「新しい…を公開しました」 for each import the member
    // sees (claims, benefits, prescriptions, two checkup files): all unread.
    let member = kenpo_portal::store::MemberStore::member_by_subject(
        &portal.state.db,
        &portal.state.kenpo_id,
        &idp.member.sub,
    )
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| panic!("the demo member"));
    let settings = kenpo_portal::tenant::Settings::default();
    let unread = kenpo_portal::flows::inbox::unread(
        &portal.state.db,
        &member.id,
        &settings,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unread, 6, "one kenpo message and five import announcements");
    assert!(top.body.contains(&format!("未読 {unread}件")), "the unread MYメール by the member's name");
    for (path, expected) in [
        ("/notices", "マイナ保険証の利用登録をお願いします"),
        ("/inbox", "特定保健指導のご案内"),
        ("/inbox", "新しい医療費情報を公開しました"),
        ("/qualification", "交付済み"),
        ("/survey", "未回答"),
    ] {
        let page = browser.get(&portal.at(path)).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(page.body.contains(expected), "{path} shows {expected}: {}", page.body);
        assert!(page.body.contains("健保 花子") || path == "/notices" || path == "/inbox", "{path}");
    }
}
