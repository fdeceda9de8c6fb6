//! 個人設定・通知設定: a member chooses the update mails they want, among those the kenpo sends;
//! their login leaves the verified address those mails would go to.

use crate::helpers::{Idp, log_in_at, on_every_backend};
use kenpo_portal::flows::admin;
use reqwest::StatusCode;
use sqlx::Row;

on_every_backend!(notification_settings_keep_the_members_choice_among_what_the_kenpo_enables);

async fn notification_settings_keep_the_members_choice_among_what_the_kenpo_enables(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let db = &portal.state.db;
    let kenpo = admin::kenpo_by_issuer(db, &idp.issuer).await.unwrap_or_else(|e| panic!("kenpo: {e}"));
    let now = time::OffsetDateTime::now_utc();
    admin::change_settings(db, &kenpo, r#"{"mail_categories": ["medical_expenses", "benefits"]}"#, now)
        .await
        .unwrap_or_else(|e| panic!("settings: {e}"));
    let pool = db.pool();
    sqlx::query("INSERT INTO households (id, kenpo_id, symbol, number, created_at) VALUES ('h1', $1, '10', '1001', 0)")
        .bind(&kenpo.id)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("household: {e}"));
    sqlx::query(
        "INSERT INTO members (id, kenpo_id, household_id, branch, relation, name, birth_date, sex, subject, updated_at) \
         VALUES ('m1', $1, 'h1', '00', 'insured', '健保 太郎', '1979-08-22', 'male', $2, 0)",
    )
    .bind(&kenpo.id)
    .bind(&idp.member.sub)
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("member: {e}"));

    let browser = idp.browser();
    let page = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("医療費情報") && page.body.contains("支給決定通知"), "{}", page.body);
    assert!(page.body.contains(r#"value="benefits""#));
    assert!(!page.body.contains(r#"value="checkups""#), "a category the kenpo does not send is not offered");
    assert!(!page.body.contains("checked"), "nothing is chosen for the member");
    assert!(!page.body.contains("被保険者にわたしの情報を表示しない"), "the insured has no one to hide from");

    let login = sqlx::query("SELECT email FROM member_logins WHERE member_id = 'm1'")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("the login is noted: {e}"));
    assert_eq!(login.get::<Option<String>, _>("email").as_deref(), Some(idp.member.email.as_str()));

    let form = page.form("form[action='/settings']");
    let saved = browser.submit(&form, &[("mail", "benefits")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = browser.follow(&saved).await;
    assert!(shown.body.contains("設定を保存しました。"));
    assert!(shown.body.contains(r#"value="benefits" checked"#), "{}", shown.body);
    assert!(!shown.body.contains(r#"value="medical_expenses" checked"#));

    // A category the kenpo does not send (a stale or forged form) changes nothing.
    let forged = browser.submit(&shown.form("form[action='/settings']"), &[("mail", "checkups")]).await;
    assert_eq!(forged.status, StatusCode::OK);
    assert!(forged.body.contains("保存しませんでした"), "{}", forged.body);
    let without_token = browser.submit(&shown.form("form[action='/settings']"), &[("csrf", "forged")]).await;
    assert_eq!(without_token.status, StatusCode::FORBIDDEN);
    let stored: Vec<String> = sqlx::query_scalar("SELECT category FROM mail_opt_ins WHERE member_id = 'm1'")
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("opt-ins: {e}"));
    assert_eq!(stored, ["benefits"]);

    // Everything off is a choice too.
    let off = browser.submit(&shown.form("form[action='/settings']"), &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_opt_ins WHERE member_id = 'm1'")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("opt-ins: {e}"));
    assert_eq!(stored, 0);
}
