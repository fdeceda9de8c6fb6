//! Without being logged in (3-3, 3-4): 「パスワードを忘れた方はこちら」 and
//! 「ユーザIDを忘れた方はこちら」, with the mail read from a real SMTP listener.

use crate::helpers::*;
use kenpo_idp::store::EventType;
use reqwest::StatusCode;

on_every_backend!(
    login_page_links_to_both_recovery_flows_and_back_to_the_portal,
    forgot_password_mails_a_link_that_sets_a_new_password_once,
    forgot_password_never_reveals_whether_the_user_id_exists,
    reset_link_is_valid_five_minutes,
    newer_reset_link_voids_the_older_and_a_refused_password_keeps_it,
    password_reset_ends_the_members_sessions,
    forgot_user_id_mails_the_user_id_when_birth_date_and_email_match,
    forgot_user_id_checks_its_inputs,
    recovery_is_rate_limited_per_address_and_per_account,
);

const SENT: &str = "詳細な手順を記載したメールをすぐに受信してください。";

async fn forgot_password(j: &mut Journey<'_>, username: &str) {
    j.page = j.browser.get(j.page.link("#kc-forgot-password").as_str()).await;
    j.on("パスワードを忘れた方はこちら");
    j.submit("form#kc-reset-password-form", &[("username", username)]).await;
}

async fn login_page_links_to_both_recovery_flows_and_back_to_the_portal(idp: Idp) {
    let j = Journey::open(&idp).await;
    let page = &j.page;
    assert!(
        page.body.contains("パスワードを忘れた方はこちら")
            && page.body.contains("ユーザIDを忘れた方はこちら")
    );
    assert!(page.body.contains("ポータルに戻る"));
    let forgot = j.browser.get(page.link("#kc-forgot-password").as_str()).await;
    assert!(
        forgot.body.contains("ユーザIDを入力してください。新しいパスワードの設定方法をご案内いたします。")
    );
    let username = j.browser.get(page.link("#kc-forgot-username").as_str()).await;
    assert!(
        username.body.contains("生年月日、メールアドレスを入力してください。ユーザIDをご案内いたします。")
    );
    assert!(username.body.contains("入力例:19790822") && username.body.contains("←ログインに戻る"));
}

async fn forgot_password_mails_a_link_that_sets_a_new_password_once(idp: Idp) {
    let mut j = Journey::open(&idp).await;
    forgot_password(&mut j, &idp.member.username).await;
    // Back on the login page of the same tab, with the manual's message.
    assert!(j.page.body.contains(SENT), "{}", j.page.body);
    j.page.login_form();
    let mail = idp.next_mail().await;
    assert_eq!(mail.to, [idp.member.email.as_str()]);
    assert_eq!(mail.from, "no-reply@conformance.example.jp");
    let link = link_in(&mail, "action-token?key=");
    // Opening the link (as a mail scanner would) does not use it.
    let other = idp.browser();
    other.get(&link).await;
    let form_page = other.get(&link).await;
    assert_eq!(form_page.status, StatusCode::OK);
    let form = form_page.form("form#kc-passwd-update-form");
    let done =
        other.submit(&form, &[("password-new", "Brand-New-77"), ("password-confirm", "Brand-New-77")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("パスワードを更新しました。"));
    // Used once only.
    let again =
        other.submit(&form, &[("password-new", "Other-New-77"), ("password-confirm", "Other-New-77")]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("このリンクは無効か、有効期限が切れています。"));
    // The old password is gone, the new one works.
    let old = Journey::log_in(&idp, &idp.member.username, &idp.member.password).await;
    assert!(old.page.body.contains("無効なユーザIDまたはパスワードです。"));
    Journey::log_in(&idp, &idp.member.username, "Brand-New-77").await.reached_client();
    assert_eq!(idp.events(EventType::SendResetPassword).await.len(), 1);
    assert_eq!(idp.events(EventType::ResetPassword).await.len(), 1);
}

async fn forgot_password_never_reveals_whether_the_user_id_exists(idp: Idp) {
    let mut known = Journey::open(&idp).await;
    forgot_password(&mut known, &idp.member.username).await;
    idp.next_mail().await;
    let mut unknown = Journey::open(&idp).await;
    forgot_password(&mut unknown, "nobody-here1").await;
    assert_eq!(known.page.status, unknown.page.status);
    assert_eq!(known.page.heading(), unknown.page.heading());
    assert_eq!(known.page.errors(), unknown.page.errors());
    assert!(known.page.body.contains(SENT));
    assert!(unknown.page.body.contains(SENT));
    idp.assert_no_mail().await;
    // Only the event log knows.
    let errors = idp.events(EventType::SendResetPasswordError).await;
    assert_eq!(errors.first().and_then(|e| e.error.as_deref()), Some("user_not_found"));
}

async fn reset_link_is_valid_five_minutes(idp: Idp) {
    let mut j = Journey::open(&idp).await;
    forgot_password(&mut j, &idp.member.username).await;
    let link = link_in(&idp.next_mail().await, "action-token?key=");
    idp.advance(time::Duration::minutes(4) + time::Duration::seconds(59));
    assert_eq!(idp.browser().get(&link).await.status, StatusCode::OK, "still valid at 4:59");
    idp.advance(time::Duration::seconds(2));
    let late = idp.browser().get(&link).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "void after 5 minutes");
    assert!(late.body.contains("このリンクは無効か、有効期限が切れています。"));
}

async fn newer_reset_link_voids_the_older_and_a_refused_password_keeps_it(idp: Idp) {
    let mut j = Journey::open(&idp).await;
    forgot_password(&mut j, &idp.member.username).await;
    let first = link_in(&idp.next_mail().await, "action-token?key=");
    let mut j = Journey::open(&idp).await;
    forgot_password(&mut j, &idp.member.username).await;
    let second = link_in(&idp.next_mail().await, "action-token?key=");
    let browser = idp.browser();
    assert_eq!(browser.get(&first).await.status, StatusCode::BAD_REQUEST, "voided by the newer link");
    let page = browser.get(&second).await;
    let form = page.form("form#kc-passwd-update-form");
    let refused = browser.submit(&form, &[("password-new", "short"), ("password-confirm", "short")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.errors(), ["パスワードの文字数が正しくありません。"]);
    let done = browser
        .submit(&form, &[("password-new", "Second-Try-88"), ("password-confirm", "Second-Try-88")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "the link survived the refused password");
}

async fn password_reset_ends_the_members_sessions(idp: Idp) {
    let browser = idp.browser();
    idp.code_flow(&browser, &idp.auth_request()).await;
    let mut j = Journey::open(&idp).await;
    forgot_password(&mut j, &idp.member.username).await;
    let link = link_in(&idp.next_mail().await, "action-token?key=");
    let other = idp.browser();
    let form = other.get(&link).await.form("form#kc-passwd-update-form");
    other.submit(&form, &[("password-new", "Brand-New-77"), ("password-confirm", "Brand-New-77")]).await;
    // Whoever held a session with the old password must log in again.
    let page = browser.authorize(&idp.auth_request().set("prompt", "none")).await;
    assert_eq!(
        page.redirect_target()
            .query_pairs()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.into_owned())
            .as_deref(),
        Some("login_required")
    );
}

async fn forgot_user_id_mails_the_user_id_when_birth_date_and_email_match(idp: Idp) {
    let mut j = Journey::open(&idp).await;
    j.page = j.browser.get(j.page.link("#kc-forgot-username").as_str()).await;
    j.on("ユーザIDを忘れた方はこちら");
    j.submit("form#kc-forgot-username-form", &[("birthdate", "19790822"), ("email", "TARO@example.jp")])
        .await;
    assert!(j.page.body.contains("以下のメールアドレスにメールを送信しました。"), "{}", j.page.body);
    assert!(j.page.body.contains("TARO@example.jp"));
    assert!(j.page.body.contains("メールに記載されているユーザIDでログインしてください。"));
    let mail = idp.next_mail().await;
    assert_eq!(mail.from, "no-reply@conformance.example.jp");
    let text = mail.parsed();
    assert!(
        text.part("text/plain").is_some_and(|t| t.contains(&idp.member.username)),
        "the mail gives the user ID"
    );
    // A wrong birth date gives the same page and no mail.
    let mut j = Journey::open(&idp).await;
    j.page = j.browser.get(j.page.link("#kc-forgot-username").as_str()).await;
    j.submit("form#kc-forgot-username-form", &[("birthdate", "19790823"), ("email", "taro@example.jp")])
        .await;
    assert!(j.page.body.contains("以下のメールアドレスにメールを送信しました。"));
    idp.assert_no_mail().await;
}

async fn forgot_user_id_checks_its_inputs(idp: Idp) {
    let mut j = Journey::open(&idp).await;
    j.page = j.browser.get(j.page.link("#kc-forgot-username").as_str()).await;
    let form = "form#kc-forgot-username-form";
    j.submit(form, &[("birthdate", ""), ("email", "")]).await;
    j.refused_with(&["生年月日を入力してください。", "メールアドレスを入力してください。"]);
    j.submit(form, &[("birthdate", "1979/08/22"), ("email", "taro.@example.jp")]).await;
    j.refused_with(&[
        "生年月日は半角数字8桁（例:19790822）で入力してください。",
        "無効なメールアドレスです。入力したメールアドレスに誤りがないかご確認ください。",
    ]);
    assert_eq!(j.page.input_value("birthdate").as_deref(), Some("1979/08/22"), "what was typed stays");
}

async fn recovery_is_rate_limited_per_address_and_per_account(idp: Idp) {
    // Per account: three mails in fifteen minutes, however often the form is sent.
    for _ in 0..4 {
        let mut j = Journey::open(&idp).await;
        forgot_password(&mut j, &idp.member.username).await;
        assert!(j.page.body.contains(SENT));
    }
    for _ in 0..3 {
        idp.next_mail().await;
    }
    idp.assert_no_mail().await;
    // Per address: the eleventh request from one address in the window is refused outright.
    let mut last = StatusCode::OK;
    for i in 0..7 {
        let mut j = Journey::open(&idp).await;
        j.page = j.browser.get(j.page.link("#kc-forgot-password").as_str()).await;
        let form = j.page.form("form#kc-reset-password-form");
        let page = j.browser.submit(&form, &[("username", &format!("someone{i:04}"))]).await;
        last = page.status;
        if i < 6 {
            assert_eq!(page.status, StatusCode::SEE_OTHER, "request {}", i + 5);
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}
