//! The self-service account pages (`shared/spec/idp-flows.md`, "Self-service after login";
//! manual 3-1 … 3-7), over HTTP only: a member reaches them through the realm's
//! `account-console` login, adds an authenticator app from プロフィール変更's 認証方法, deletes it
//! after re-authentication on the confirmation page that names it, and updates the password
//! with 「全てのデバイスからサインアウトする」.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

on_every_backend!(
    a_member_adds_an_app_from_the_profile_and_deletes_it_after_reauthentication,
    a_password_update_can_sign_out_every_other_device,
    an_email_change_is_verified_at_the_new_address_before_it_replaces_the_old,
);

const NEW_PASSWORD: &str = "Kenpo-New-Pass-2026!";

/// Follows the IdP's redirects (the account pages, the authorization endpoint, the login
/// pages and back) until a page is shown.
async fn settle(browser: &Browser, idp: &Idp, mut page: Page) -> Page {
    for _ in 0..10 {
        let within =
            page.status == StatusCode::SEE_OTHER && page.redirect_target().as_str().starts_with(&idp.issuer);
        if !within {
            break;
        }
        page = browser.follow(&page).await;
    }
    page
}

async fn open(browser: &Browser, idp: &Idp, url: &str) -> Page {
    let page = browser.get(url).await;
    settle(browser, idp, page).await
}

async fn submit(browser: &Browser, idp: &Idp, page: &Page, css: &str, fields: &[(&str, &str)]) -> Page {
    let form = page.form(css);
    let answered = browser.submit(&form, fields).await;
    settle(browser, idp, answered).await
}

fn heading(page: &Page) -> String {
    page.heading()
}

/// A browser signed in to the account pages at `path`.
async fn signed_in(idp: &Idp, path: &str) -> (Browser, Page) {
    let browser = idp.browser();
    let login = open(&browser, idp, &idp.endpoint(&format!("/account{path}"))).await;
    assert!(login.find_login_form().is_some(), "a login first:\n{}", login.body);
    let member = &idp.member;
    let page = submit(
        &browser,
        idp,
        &login,
        "form#kc-form-login",
        &[("username", &member.username), ("password", &member.password)],
    )
    .await;
    (browser, page)
}

async fn a_member_adds_an_app_from_the_profile_and_deletes_it_after_reauthentication(idp: Idp) {
    let (browser, profile) = signed_in(&idp, "").await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert_eq!(heading(&profile), "プロフィール");
    for label in [
        "言語",
        "ユーザID",
        "メールアドレス",
        "Eメール変更",
        "ユーザー名",
        "仮IDフラグ",
        "認証方法",
        "変更",
        "戻る",
    ] {
        assert!(profile.body.contains(label), "「{label}」 on プロフィール変更");
    }
    assert_eq!(
        profile.text("#account-display-name").lines().next().map(str::trim),
        Some(idp.member.display_name.as_str())
    );

    // 認証方法: the app, with none registered, leads into its setup (Q18).
    let setup = submit(
        &browser,
        &idp,
        &profile,
        "form#account-profile-form",
        &[("username", &idp.member.username), ("locale", "ja"), ("authMethod", "otp")],
    )
    .await;
    assert_eq!(heading(&setup), "ワンタイムパスワードの設定", "{}", setup.body);
    let app = AuthenticatorApp::scan(&setup);
    let code = app.code_at(idp.now());
    let listed = submit(
        &browser,
        &idp,
        &setup,
        "form#kc-totp-settings-form",
        &[("totp", &code), ("userLabel", "My iPhone")],
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(listed.body.contains("プロフィールを変更しました。") || listed.url.path().ends_with("/account"));

    // ログイン方法変更 lists it under 認証アプリ with 「削除」.
    let signing_in = open(&browser, &idp, &idp.endpoint("/account/signing-in")).await;
    assert_eq!(heading(&signing_in), "ログイン方法変更");
    for label in ["基本認証", "パスワード", "作成日", "更新", "二要素認証", "認証アプリ", "設定"]
    {
        assert!(signing_in.body.contains(label), "「{label}」 on ログイン方法変更");
    }
    assert_eq!(signing_in.text("#devices-otp .device-name"), "My iPhone");

    // Later, outside the re-authentication window: password and app code, then the device named.
    idp.advance(Duration::minutes(10));
    let reauth = open(&browser, &idp, signing_in.link("#devices-otp a.delete").as_str()).await;
    assert!(reauth.body.contains("続行するには再度認証してください。"), "{}", reauth.body);
    let code_page = submit(
        &browser,
        &idp,
        &reauth,
        "form#kc-form-login",
        &[("username", &idp.member.username), ("password", &idp.member.password)],
    )
    .await;
    assert_eq!(heading(&code_page), "ワンタイムパスワード");
    let code = app.code_at(idp.now());
    let confirm = submit(&browser, &idp, &code_page, "form#kc-otp-login-form", &[("otp", &code)]).await;
    assert_eq!(heading(&confirm), "スマートデバイス削除確認", "{}", confirm.body);
    assert_eq!(confirm.text("#delete-label"), "My iPhone");
    assert_eq!(confirm.text("#delete-kind"), "認証アプリ");
    assert_eq!(confirm.text("form#kc-delete-credential-form button[name=accept]"), "削除する");
    assert_eq!(confirm.text("form#kc-delete-credential-form button[name=cancel-aia]"), "戻る");

    let after =
        submit(&browser, &idp, &confirm, "form#kc-delete-credential-form", &[("accept", "true")]).await;
    assert_eq!(heading(&after), "ログイン方法変更", "{}", after.body);
    assert!(after.body.contains("スマートデバイスを削除しました。"));
    assert!(after.text("#devices-otp").contains("登録されているデバイスはありません。"));
    let removed = idp.events(kenpo_idp::store::EventType::RemoveCredential).await;
    assert_eq!(removed.len(), 1);
    // It was the only app of the member's method: the next login sets one up again (3-8).
    let mut next = Journey::log_in(&idp, &idp.member.username, &idp.member.password).await;
    next.on("ワンタイムパスワードの設定");
    next.set_up_app("New iPhone").await;
    next.reached_client();
}

async fn a_password_update_can_sign_out_every_other_device(idp: Idp) {
    // The member's phone is signed in to the portal too.
    let mut phone = Journey::log_in(&idp, &idp.member.username, &idp.member.password).await;
    phone.reached_client();
    let (browser, signing_in) = signed_in(&idp, "/signing-in").await;
    let created_before = signing_in.text("#account-password-created");
    idp.advance(Duration::minutes(3));

    let update = open(&browser, &idp, signing_in.link("#account-password-update").as_str()).await;
    assert!(update.body.contains("全てのデバイスからサインアウトする"), "{}", update.body);
    let after = submit(
        &browser,
        &idp,
        &update,
        "form#kc-passwd-update-form",
        &[("password-new", NEW_PASSWORD), ("password-confirm", NEW_PASSWORD), ("logout-sessions", "on")],
    )
    .await;

    assert_eq!(heading(&after), "ログイン方法変更", "{}", after.body);
    assert!(after.body.contains("パスワードを更新しました。"));
    let created_after = after.text("#account-password-created");
    assert_ne!(created_after, created_before, "the 作成日 shown is the new one");
    // The phone's session is over: its next authorization request asks for a login again.
    phone.request = idp.auth_request().set("prompt", "none");
    let again = phone.browser.authorize(&phone.request).await;
    assert_error_redirect(&again, &phone.request, &idp.issuer, &["login_required"]);
    // This browser stays signed in, and the new password is the one that works.
    let still = browser.get(&idp.endpoint("/account/device-activity")).await;
    assert_eq!(still.status, StatusCode::OK);
    let fresh = Journey::log_in(&idp, &idp.member.username, NEW_PASSWORD).await;
    fresh.reached_client();
}

async fn an_email_change_is_verified_at_the_new_address_before_it_replaces_the_old(idp: Idp) {
    const NEW: &str = "taro.new@example.jp";
    let (browser, profile) = signed_in(&idp, "").await;
    let old = idp.user(&idp.member.username).await.email.map(|e| e.to_string());

    let change = open(&browser, &idp, profile.link("#account-email-change").as_str()).await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.body);
    let sent = submit(&browser, &idp, &change, "form#kc-update-email-form", &[("email", NEW)]).await;
    assert_eq!(heading(&sent), "プロフィール", "{}", sent.body);
    assert!(sent.body.contains("確認メールを送信しました。"), "{}", sent.body);
    let before = idp.user(&idp.member.username).await;
    assert_eq!(before.email.map(|e| e.to_string()), old, "the old address stays until the link is followed");

    let mail = idp.next_mail().await;
    assert_eq!(mail.to, [NEW]);
    let link = link_in(&mail, "/login-actions/action-token?key=");
    let followed = browser.get(&link).await;
    assert!(followed.body.contains("メールアドレスを変更しました。"), "{}", followed.body);
    let after = idp.user(&idp.member.username).await;
    assert_eq!(after.email.map(|e| e.to_string()).as_deref(), Some(NEW));
    assert!(after.email_verified);
    assert_eq!(idp.events(kenpo_idp::store::EventType::UpdateEmail).await.len(), 1);
    // A link works once.
    let again = browser.get(&link).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}
