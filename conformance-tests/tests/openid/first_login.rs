//! The manual's first login (2-1 steps 4–10) and every rule and message of its steps
//! (`shared/spec/idp-flows.md`, "First login: required actions"), driven over HTTP with the
//! mail read from a real SMTP listener. The user ID and password rules are in
//! `first_login_rules`.

use crate::helpers::*;
use crate::login_page::button_text;
use kenpo_idp::domain::{AuthMethod, RequiredAction};
use kenpo_idp::store::{EventType, RealmStore};
use reqwest::StatusCode;

on_every_backend!(
    first_login_journey_from_a_kenpo_list_to_the_client,
    a_member_who_stops_halfway_resumes_at_the_right_step,
    birth_date_rules_and_messages,
    email_update_error_table,
    email_update_keeps_a_verified_address_without_a_new_mail,
    verification_link_is_single_use_expires_and_can_be_resent,
    an_admin_assigned_action_runs_at_the_next_login,
    a_realm_may_switch_an_action_off,
    an_sso_session_still_owes_its_steps_before_a_code,
);

const TERMS_V1: &str = "第1条 この規約は、加入者ページの利用条件を定めます。\n\n第2条 加入者は、ユーザIDとパスワードを適切に管理します。";
/// The temporary password the kenpo's list gives taro (仮ID k00000001).
pub(crate) const TEMP: &str = "Temp-Pass-0001";

pub(crate) async fn import_taro(idp: &Idp) {
    idp.import_members(&[&format!("k00000001,{TEMP},健保 太郎,19790822,taro.old@example.jp,本人")]).await;
}

/// A page's heading, its form, and what the member fills in.
type Step<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

/// Logs taro in with his 仮ID and walks up to (not including) `stop`; past the user ID step,
/// he has chosen `taro-kenpo01` and the OTP app.
pub(crate) async fn walk_to<'a>(idp: &'a Idp, stop: &str) -> Journey<'a> {
    let mut j = Journey::log_in(idp, "k00000001", TEMP).await;
    let steps: [Step; 4] = [
        ("生年月日の入力", "form#kc-birthdate-form", vec![("birthdate", "19790822")]),
        ("利用規約への同意", "form#kc-terms-form", vec![]),
        ("メールアドレスの更新", "form#kc-update-email-form", vec![("email", "taro.old@example.jp")]),
        (
            "ユーザIDの設定・認証方法の選択",
            "form#kc-user-id-form",
            vec![("username", "taro-kenpo01"), ("authMethod", "otp")],
        ),
    ];
    for (heading, form, fields) in steps {
        if heading == stop {
            return j;
        }
        // Steps the member does not owe (no terms published, say) are not shown.
        if j.page.heading() != heading {
            continue;
        }
        j.on(heading);
        j.submit(form, &fields).await;
    }
    j
}

async fn first_login_journey_from_a_kenpo_list_to_the_client(idp: Idp) {
    idp.publish_terms(TERMS_V1, "Article 1 ...").await;
    import_taro(&idp).await;
    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;

    // 4. 生年月日の入力
    j.on("生年月日の入力");
    assert!(j.page.body.contains("初回ログイン時、本人確認のために生年月日での認証を実施します。"));
    j.submit("form#kc-birthdate-form", &[("birthdate", "19790822")]).await;
    // 5. 利用規約への同意
    j.on("利用規約への同意");
    assert!(j.page.body.contains("第2条 加入者は、ユーザIDとパスワードを適切に管理します。"));
    assert_eq!(button_text(&j.page, "form#kc-terms-form"), "同意する");
    j.submit("form#kc-terms-form", &[]).await;
    // 6. メールアドレスの更新: the current address is shown; the member changes it.
    j.on("メールアドレスの更新");
    assert!(j.page.body.contains("taro.old@example.jp"));
    assert_eq!(button_text(&j.page, "form#kc-update-email-form"), "実行");
    j.submit("form#kc-update-email-form", &[("email", "Taro.New@example.jp")]).await;
    // 7. メール認証: the link arrives by mail, multipart, from no-reply@.
    j.on("メール認証");
    assert!(j.page.body.contains("Taro.New@example.jp"));
    let mail = idp.next_mail().await;
    assert_eq!(mail.to, ["Taro.New@example.jp"]);
    assert_eq!(mail.from, "no-reply@conformance.example.jp");
    assert!(mail.data.contains("multipart/alternative"), "text and HTML parts");
    let link = link_in(&mail, "/login-actions/action-token?key=");
    // 8. Reloading before clicking changes nothing; the link opens in the mail app's browser.
    j.reload().await;
    j.on("メール認証");
    let elsewhere = idp.browser().get(&link).await;
    assert_eq!(elsewhere.status, StatusCode::OK);
    assert!(elsewhere.body.contains("メールアドレスを確認しました。"), "{}", elsewhere.body);
    // Back in the first browser, a reload moves on.
    j.reload().await;
    // 9. ユーザIDの設定・認証方法の選択: upper case accepted, stored lower case.
    j.on("ユーザIDの設定・認証方法の選択");
    assert!(j.page.body.contains("利用不可文字一覧を見る"));
    assert_eq!(button_text(&j.page, "form#kc-user-id-form"), "実行");
    j.submit("form#kc-user-id-form", &[("username", "Taro-Kenpo01"), ("authMethod", "otp")]).await;
    // 10. パスワードの変更
    j.on("パスワードの変更");
    assert_eq!(button_text(&j.page, "form#kc-passwd-update-form"), "送信");
    j.submit(
        "form#kc-passwd-update-form",
        &[("password-new", "New-Pass-2026!"), ("password-confirm", "New-Pass-2026!")],
    )
    .await;
    // 11. ワンタイムパスワードの設定: the chosen method's setup; the app scans the QR code.
    let app = j.set_up_app("iPhone").await;
    // 12. ログイン完了: the client gets its code, and the ID token says two factors were used.
    let callback = j.reached_client();
    let flow = idp.redeem(&idp.client, &callback, &j.request, ClientAuth::Basic).await;
    assert_eq!(flow.id_token.str_claim("acr"), Some("2"));
    assert_eq!(flow.id_token.amr(), ["pwd", "otp", "mfa"]);

    let taro = idp.user("taro-kenpo01").await;
    assert_eq!(taro.username.as_str(), "taro-kenpo01");
    assert!(!taro.temporary_id, "the 仮ID flag clears with the member's own ID and password");
    assert_eq!(taro.email.as_ref().map(|e| e.as_str()), Some("Taro.New@example.jp"));
    assert!(taro.email_verified);
    assert_eq!(taro.auth_method, Some(AuthMethod::Otp));
    assert_eq!(taro.terms_accepted_version, Some(1));
    assert!(taro.required_actions.is_empty());
    // The first-login notice comes from webmaster@ (Q19).
    let notice = idp.next_mail().await;
    assert_eq!(notice.from, "webmaster@conformance.example.jp");
    // Every step is an event, with Keycloak's names, and no secret in any of them.
    for kind in [
        EventType::CustomRequiredAction,
        EventType::UpdateEmail,
        EventType::SendVerifyEmail,
        EventType::VerifyEmail,
        EventType::UpdateProfile,
        EventType::UpdatePassword,
        EventType::Login,
    ] {
        let events = idp.events(kind).await;
        assert!(events.iter().any(|e| e.user_id.as_deref() == Some(taro.id.as_str())), "{kind:?} recorded");
        for event in events {
            let details = format!("{:?}", event.details);
            assert!(
                !details.contains("New-Pass-2026!") && !details.contains(TEMP) && !details.contains("key=")
            );
        }
    }

    // 3-9: a new terms version is asked once more at the next full login, before any code.
    // Full authentication comes first: the password, then the app's code (3-6).
    idp.publish_terms("第1条 改定後の規約です。", "Article 1, revised.").await;
    idp.advance(time::Duration::seconds(30));
    let mut again = Journey::log_in(&idp, "taro-kenpo01", "New-Pass-2026!").await;
    again.enter_app_code(&app).await;
    again.on("利用規約への同意");
    assert!(again.page.body.contains("改定後の規約です。"));
    again.submit("form#kc-terms-form", &[]).await;
    again.reached_client();
    assert_eq!(idp.user("taro-kenpo01").await.terms_accepted_version, Some(2));
    // And only once.
    idp.advance(time::Duration::seconds(30));
    let mut third = Journey::log_in(&idp, "taro-kenpo01", "New-Pass-2026!").await;
    third.enter_app_code(&app).await;
    third.reached_client();
}

async fn a_member_who_stops_halfway_resumes_at_the_right_step(idp: Idp) {
    idp.publish_terms(TERMS_V1, "Article 1 ...").await;
    import_taro(&idp).await;
    // Birth date and terms, then the browser is closed.
    walk_to(&idp, "メールアドレスの更新").await.on("メールアドレスの更新");
    // The next login, in a new browser, starts where the member left off.
    let j = Journey::log_in(&idp, "k00000001", TEMP).await;
    j.on("メールアドレスの更新");
}

async fn birth_date_rules_and_messages(idp: Idp) {
    import_taro(&idp).await;
    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;
    j.on("生年月日の入力");
    j.submit("form#kc-birthdate-form", &[("birthdate", "")]).await;
    j.refused_with(&["生年月日を入力してください。"]);
    j.submit("form#kc-birthdate-form", &[("birthdate", "1979-08-22")]).await;
    j.refused_with(&["生年月日は半角数字8桁（例:19790822）で入力してください。"]);
    // The typed value comes back, tied to the message for screen readers.
    assert_eq!(j.page.input_value("birthdate").as_deref(), Some("1979-08-22"));
    assert!(j.page.body.contains("aria-describedby=\"birthdate-hint birthdate-error-1\""));
    // Wrong dates count on the member's lockout record: the realm's policy (Keycloak's
    // default, 5 failures) locks it, and a new login with the right password does not clear it.
    for attempt in 1..=4 {
        idp.advance(time::Duration::seconds(2)); // slower than a script (the quick-login check)
        j.submit("form#kc-birthdate-form", &[("birthdate", "19790823")]).await;
        j.refused_with(&["生年月日が正しくありません。"]);
        assert_eq!(idp.events(EventType::CustomRequiredActionError).await.len(), attempt);
    }
    idp.advance(time::Duration::seconds(2));
    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;
    j.on("生年月日の入力");
    j.submit("form#kc-birthdate-form", &[("birthdate", "19790823")]).await;
    assert_eq!(j.page.status, StatusCode::FORBIDDEN);
    assert!(
        j.page.body.contains("アカウントがロックされています。ご加入の健保組合までお問い合わせください。")
    );
    assert_eq!(idp.events(EventType::UserDisabledByTemporaryLockout).await.len(), 1);
    // While locked even the right date is refused, and nothing was granted.
    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;
    j.submit("form#kc-birthdate-form", &[("birthdate", "19790822")]).await;
    assert_eq!(j.page.status, StatusCode::FORBIDDEN);
    assert!(idp.user("k00000001").await.owes(RequiredAction::VerifyBirthdate));
    // Once the temporary lock has passed, the right date goes through.
    idp.advance(time::Duration::minutes(16));
    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;
    j.submit("form#kc-birthdate-form", &[("birthdate", "19790822")]).await;
    assert!(!idp.user("k00000001").await.owes(RequiredAction::VerifyBirthdate));
}

async fn email_update_error_table(idp: Idp) {
    import_taro(&idp).await;
    let mut j = walk_to(&idp, "メールアドレスの更新").await;
    j.on("メールアドレスの更新");
    let form = "form#kc-update-email-form";
    // No. 1: empty.
    j.submit(form, &[("email", "")]).await;
    j.refused_with(&["メールアドレスを入力してください。"]);
    // No. 2: another account's address (case does not matter).
    j.submit(form, &[("email", "TARO@example.jp")]).await;
    j.refused_with(&[
        "他のアカウントで設定されているメールアドレスです。別のメールアドレスを入力してください。",
    ]);
    // No. 3: a symbol that may not be used, or a dot right before @.
    for bad in ["taro?@example.jp", "taro.@example.jp"] {
        j.submit(form, &[("email", bad)]).await;
        j.refused_with(&["無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。"]);
    }
    // No. 4, shown together with No. 3: 256 characters or more, even when nothing else is
    // wrong with the address.
    let too_long = address_of_length(256);
    j.submit(form, &[("email", &too_long)]).await;
    j.refused_with(&[
        "無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。",
        "設定可能なメールアドレスの最大文字数は255文字です。",
    ]);
    assert_eq!(
        idp.user("k00000001").await.email.map(|e| e.to_string()).as_deref(),
        Some("taro.old@example.jp")
    );
    // 255 characters is the maximum, not past it: accepted, and the verification mail goes there.
    let longest = address_of_length(255);
    j.submit(form, &[("email", &longest)]).await;
    j.on("メール認証");
    assert_eq!(idp.user("k00000001").await.email.map(|e| e.to_string()), Some(longest.clone()));
    assert_eq!(idp.next_mail().await.to, [longest]);
}

/// A well-formed address of exactly `length` characters: `taro@` and a domain of 63-character
/// labels (the most a label may have), so its length is the only thing that can be wrong.
fn address_of_length(length: usize) -> String {
    let label = |c: &str| c.repeat(63);
    let last = "d".repeat(length - "taro@".len() - 3 * 64 - ".jp".len());
    let address = format!("taro@{}.{}.{}.{last}.jp", label("a"), label("b"), label("c"));
    assert_eq!(address.chars().count(), length);
    address
}

async fn email_update_keeps_a_verified_address_without_a_new_mail(idp: Idp) {
    import_taro(&idp).await;
    let mut taro = idp.user("k00000001").await;
    taro.email_verified = true;
    taro.complete(RequiredAction::VerifyEmail);
    idp.save(&taro).await;
    let mut j = walk_to(&idp, "メールアドレスの更新").await;
    // 「メールアドレスの変更は必須ではありません」: the same address goes straight on.
    j.submit("form#kc-update-email-form", &[("email", "taro.old@example.jp")]).await;
    j.on("ユーザIDの設定・認証方法の選択");
    idp.assert_no_mail().await;
}

async fn verification_link_is_single_use_expires_and_can_be_resent(idp: Idp) {
    import_taro(&idp).await;
    let mut j = walk_to(&idp, "メールアドレスの更新").await;
    j.submit("form#kc-update-email-form", &[("email", "taro.new@example.jp")]).await;
    j.on("メール認証");
    let first = link_in(&idp.next_mail().await, "action-token?key=");
    // 「再送信」 sends a new link and voids the first.
    j.submit("form#kc-verify-email-form", &[]).await;
    assert!(j.page.body.contains("確認のメールを再送信しました。"), "{}", j.page.body);
    let second = link_in(&idp.next_mail().await, "action-token?key=");
    assert_ne!(first, second);
    // Asking again within a minute sends nothing.
    j.submit("form#kc-verify-email-form", &[]).await;
    assert!(j.page.body.contains("再送信は1分ほど時間をおいてから"));
    idp.assert_no_mail().await;
    let other = idp.browser();
    assert_eq!(other.get(&first).await.status, StatusCode::BAD_REQUEST, "a voided link");
    // Links expire (12 hours by default).
    idp.advance(time::Duration::hours(12) + time::Duration::seconds(1));
    let expired = other.get(&second).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(expired.body.contains("このリンクは無効か、有効期限が切れています。"));
    // A fresh link works once.
    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;
    j.on("メール認証");
    let third = link_in(&idp.next_mail().await, "action-token?key=");
    assert_eq!(other.get(&third).await.status, StatusCode::OK);
    assert_eq!(other.get(&third).await.status, StatusCode::BAD_REQUEST, "used once only");
    j.reload().await;
    j.on("ユーザIDの設定・認証方法の選択");
}

async fn an_admin_assigned_action_runs_at_the_next_login(idp: Idp) {
    let mut taro = idp.user(&idp.member.username).await;
    taro.require(RequiredAction::UpdatePassword);
    idp.save(&taro).await;
    let mut j = Journey::log_in(&idp, &idp.member.username, &idp.member.password).await;
    j.on("パスワードの変更");
    j.submit(
        "form#kc-passwd-update-form",
        &[("password-new", "Fresh-Pass-99"), ("password-confirm", "Fresh-Pass-99")],
    )
    .await;
    j.reached_client();
    Journey::log_in(&idp, &idp.member.username, "Fresh-Pass-99").await.reached_client();
}

async fn a_realm_may_switch_an_action_off(idp: Idp) {
    import_taro(&idp).await;
    let mut settings = idp.realm.settings.clone();
    settings.required_actions.retain(|a| *a != RequiredAction::VerifyBirthdate);
    idp.state.db.update_realm_settings(&idp.realm.id, &settings).await.unwrap_or_else(|e| panic!("{e}"));
    idp.state.lookups.forget_realm(idp.realm.name.as_str());
    let j = Journey::log_in(&idp, "k00000001", TEMP).await;
    // No terms are published in this realm, so after the birth date comes the email.
    j.on("メールアドレスの更新");
    assert!(idp.user("k00000001").await.owes(RequiredAction::VerifyBirthdate), "skipped, not forgotten");
}

async fn an_sso_session_still_owes_its_steps_before_a_code(idp: Idp) {
    let browser = idp.browser();
    idp.code_flow(&browser, &idp.auth_request()).await;
    idp.publish_terms(TERMS_V1, "Article 1 ...").await;
    // prompt=none cannot show the terms: the client hears so.
    let silent = idp.auth_request().set("prompt", "none");
    let page = browser.authorize(&silent).await;
    assert_error_redirect(&page, &silent, &idp.issuer, &["interaction_required"]);
    // An ordinary request shows them, then issues the code within the same session.
    let request = idp.auth_request();
    let page = browser.authorize(&request).await;
    assert_eq!(page.heading(), "利用規約への同意", "{}", page.body);
    let after = browser.submit_and_follow(&page.form("form#kc-terms-form"), &[]).await;
    idp.check_callback(&after, &request);
}
