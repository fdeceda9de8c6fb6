//! Without being logged in (3-3, 3-4): 「パスワードを忘れた方はこちら」 and
//! 「ユーザIDを忘れた方はこちら」, with the mail read from a real SMTP listener.

use crate::helpers::*;
use crate::login_page::button_text;
use kenpo_idp::store::EventType;
use reqwest::StatusCode;
use scraper::{Html, Selector};

on_every_backend!(
    login_page_links_to_both_recovery_flows_and_back_to_the_portal,
    forgot_password_mails_a_link_that_sets_a_new_password_once,
    forgot_password_never_reveals_whether_the_user_id_exists,
    reset_link_is_valid_five_minutes,
    newer_reset_link_voids_the_older_and_a_refused_password_keeps_it,
    reset_screen_applies_the_whole_password_policy,
    password_reset_ends_the_members_sessions,
    forgot_user_id_mails_the_user_id_when_birth_date_and_email_match,
    forgot_user_id_checks_its_inputs,
    forgot_user_id_never_reveals_whether_an_account_has_the_address,
    recovery_is_rate_limited_per_address_and_per_account,
    forgot_user_id_is_rate_limited_per_address_and_per_account,
);

const SENT: &str = "詳細な手順を記載したメールをすぐに受信してください。";
const USERNAME_SENT: &str = "以下のメールアドレスにメールを送信しました。";
const TOO_MANY: &str = "短時間に多くの申請がありました。しばらく時間をおいてから、もう一度お試しください。";
const LINK_INVALID: &str = "このリンクは無効か、有効期限が切れています。";

/// Opens 「ユーザIDを忘れた方はこちら」 from the login page.
async fn open_forgot_user_id(j: &mut Journey<'_>) {
    j.page = j.browser.get(j.page.link("#kc-forgot-username").as_str()).await;
    j.on("ユーザIDを忘れた方はこちら");
}

async fn forgot_user_id(j: &mut Journey<'_>, birthdate: &str, email: &str) {
    open_forgot_user_id(j).await;
    j.submit("form#kc-forgot-username-form", &[("birthdate", birthdate), ("email", email)]).await;
}

/// The text of the login page's notice (a recovery flow's message), if it shows one.
fn notice(page: &Page) -> Option<String> {
    let html = Html::parse_document(&page.body);
    let css = Selector::parse(".notice").unwrap_or_else(|e| panic!("selector: {e}"));
    html.select(&css).next().map(|n| n.text().collect::<Vec<_>>().join(" "))
}

/// The 429 page of a recovery flow: the manual-style message, no redirect.
fn assert_too_many(page: &Page) {
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert_eq!(page.location, None);
    assert_eq!(page.errors(), [TOO_MANY]);
}

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
    // 「ポータルに戻る」 leads to the site of the client that asked for the login: the origin
    // of its registered redirect URI (https://rp.example.test/conformance-rp/callback).
    let html = Html::parse_document(&page.body);
    let links = Selector::parse("a").unwrap_or_else(|e| panic!("selector: {e}"));
    let portal: Vec<_> = html
        .select(&links)
        .filter(|a| a.text().collect::<String>().trim() == "ポータルに戻る")
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert_eq!(portal, ["https://rp.example.test/"], "{}", page.body);
    let forgot = j.browser.get(page.link("#kc-forgot-password").as_str()).await;
    assert!(
        forgot.body.contains("ユーザIDを入力してください。新しいパスワードの設定方法をご案内いたします。")
    );
    assert_eq!(button_text(&forgot, "form#kc-reset-password-form"), "実行");
    let username = j.browser.get(page.link("#kc-forgot-username").as_str()).await;
    assert!(
        username.body.contains("生年月日、メールアドレスを入力してください。ユーザIDをご案内いたします。")
    );
    assert!(username.body.contains("入力例:19790822") && username.body.contains("←ログインに戻る"));
    assert_eq!(button_text(&username, "form#kc-forgot-username-form"), "実行");
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
    assert!(again.body.contains(LINK_INVALID));
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
    assert!(late.body.contains(LINK_INVALID));
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

async fn reset_screen_applies_the_whole_password_policy(idp: Idp) {
    let mut j = Journey::open(&idp).await;
    forgot_password(&mut j, &idp.member.username).await;
    let link = link_in(&idp.next_mail().await, "action-token?key=");
    let browser = idp.browser();
    let page = browser.get(&link).await;
    let form = page.form("form#kc-passwd-update-form");
    let current = idp.member.password.as_str();
    // The member's user ID is taro1234; their current password Correct-horse-1.
    let cases: [(&str, &str, &str); 7] = [
        ("", "", "パスワードを入力してください。"),
        ("Abc-123", "Abc-123", "パスワードの文字数が正しくありません。"),
        ("Abc 12345", "Abc 12345", "パスワードに利用できない文字が含まれています。"),
        ("Abc=12345", "Abc=12345", "パスワードに利用できない文字が含まれています。"),
        ("TARO1234", "TARO1234", "ユーザIDと同じパスワードは設定できません。"),
        (current, current, "現在のパスワードとは異なるパスワードを入力してください。"),
        ("Brand-New-77", "Brand-New-78", "パスワードが一致していません。"),
    ];

    for (new, confirm, message) in cases {
        let refused = browser.submit(&form, &[("password-new", new), ("password-confirm", confirm)]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{new:?}: {}", refused.body);
        assert_eq!(refused.errors(), [message], "{new:?}");
    }

    // None of them used the link or changed the password.
    Journey::log_in(&idp, &idp.member.username, current).await.reached_client();
    let done = browser
        .submit(&form, &[("password-new", "Brand-New-77"), ("password-confirm", "Brand-New-77")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("パスワードを更新しました。"));
    Journey::log_in(&idp, &idp.member.username, "Brand-New-77").await.reached_client();
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
    assert!(j.page.body.contains(USERNAME_SENT), "{}", j.page.body);
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
    assert!(j.page.body.contains(USERNAME_SENT));
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

async fn forgot_user_id_never_reveals_whether_an_account_has_the_address(idp: Idp) {
    let mut known = Journey::open(&idp).await;
    forgot_user_id(&mut known, "19790822", "Taro@example.jp").await;
    let mail = idp.next_mail().await;
    assert_eq!(mail.to, ["Taro@example.jp"], "the member's own address gets their user ID");

    let mut unknown = Journey::open(&idp).await;
    forgot_user_id(&mut unknown, "19790822", "Nobody@example.jp").await;

    assert_eq!(known.page.status, unknown.page.status);
    assert_eq!(known.page.heading(), unknown.page.heading());
    assert_eq!(known.page.errors(), unknown.page.errors());
    let (known_notice, unknown_notice) = (notice(&known.page), notice(&unknown.page));
    // Both name the address that was typed, and say nothing else that differs.
    let shown = |notice: &Option<String>, address: &str| {
        let text = notice.clone().unwrap_or_else(|| panic!("no notice"));
        assert!(text.contains(USERNAME_SENT) && text.contains(address), "{text}");
        text.replace(address, "<address>")
    };
    assert_eq!(shown(&known_notice, "Taro@example.jp"), shown(&unknown_notice, "Nobody@example.jp"));
    // Only the event log knows; once it does, the lookup is over and no mail can follow.
    let errors = idp.wait_for_events(EventType::SendUsernameReminderError, 1).await;
    assert_eq!(errors.iter().map(|e| e.error.as_deref()).collect::<Vec<_>>(), [Some("user_not_found")]);
    idp.assert_no_mail().await;
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
    let mut j = Journey::open(&idp).await;
    j.page = j.browser.get(j.page.link("#kc-forgot-password").as_str()).await;
    let refused =
        j.browser.submit(&j.page.form("form#kc-reset-password-form"), &[("username", "taro1234")]).await;
    assert_too_many(&refused);
    idp.assert_no_mail().await;
}

async fn forgot_user_id_is_rate_limited_per_address_and_per_account(idp: Idp) {
    // Per account (the registered address, whatever its case): three mails in fifteen minutes,
    // however often the form is sent, and the page never says so.
    for address in ["taro@example.jp", "TARO@example.jp", "Taro@Example.jp", "taro@example.jp"] {
        let mut j = Journey::open(&idp).await;
        forgot_user_id(&mut j, "19790822", address).await;
        assert!(notice(&j.page).is_some_and(|n| n.contains(USERNAME_SENT) && n.contains(address)));
    }
    for _ in 0..3 {
        idp.next_mail().await;
    }
    idp.assert_no_mail().await;
    // Per address: the eleventh request from one address in the window is refused outright,
    // with the manual-style message and no mail.
    for i in 0..7 {
        let mut j = Journey::open(&idp).await;
        open_forgot_user_id(&mut j).await;
        let form = j.page.form("form#kc-forgot-username-form");
        let email = format!("someone{i:04}@example.jp");
        let page = j.browser.submit(&form, &[("birthdate", "19790822"), ("email", &email)]).await;
        if i < 6 {
            assert_eq!(page.status, StatusCode::SEE_OTHER, "request {}", i + 5);
        } else {
            assert_too_many(&page);
        }
    }
    let mut j = Journey::open(&idp).await;
    open_forgot_user_id(&mut j).await;
    let form = j.page.form("form#kc-forgot-username-form");
    let refused = j.browser.submit(&form, &[("birthdate", "19790822"), ("email", "taro@example.jp")]).await;
    assert_too_many(&refused);
    idp.assert_no_mail().await;
}
