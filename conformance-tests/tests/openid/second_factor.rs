//! The second factor (`shared/spec/idp-flows.md`, "Second factor"; manual 2-4, 3-6, Q10, Q11)
//! driven over HTTP: the authenticator app's setup page with a QR code the tests decode from its
//! PNG, the code after the password, several devices chosen by name, and the `acr`/`amr` the
//! client is told.

use crate::helpers::*;
use kenpo_idp::domain::{AuthMethod, RequiredAction};
use kenpo_idp::store::EventType;
use reqwest::StatusCode;
use time::Duration;

on_every_backend!(
    the_setup_page_shows_the_manuals_texts_and_a_scannable_qr_code,
    the_next_login_asks_for_the_apps_code_and_never_takes_one_twice,
    a_member_with_two_apps_picks_the_device_by_name,
    wrong_app_codes_lock_the_member_like_wrong_passwords,
    prompt_login_asks_for_the_second_factor_again,
    a_mailed_code_logs_in_once_and_lives_five_minutes,
    resend_waits_a_minute_and_the_new_code_replaces_the_old,
    a_first_login_with_mailed_codes_ends_with_a_code,
    acr_values_can_demand_a_second_factor,
    after_the_kenpo_resets_a_lost_phone_the_next_login_sets_the_app_up_again,
    a_change_the_client_asks_for_comes_after_a_recent_authentication,
);

const SETUP_FORM: &str = "form#kc-totp-settings-form";
const CODE_FORM: &str = "form#kc-otp-login-form";
const MAIL_FORM: &str = "form#kc-email-otp-form";
const RESEND_FORM: &str = "form#kc-email-otp-resend-form";

/// The suite's member chooses the authenticator app (as on the user ID page, or after the
/// kenpo reset a lost phone) and so owes its setup at the next login.
async fn choose_the_app(idp: &Idp) {
    let mut member = idp.user(&idp.member.username).await;
    member.auth_method = Some(AuthMethod::Otp);
    idp.save(&member).await;
}

async fn log_in(idp: &Idp) -> Journey<'_> {
    Journey::log_in(idp, &idp.member.username, &idp.member.password).await
}

/// The member logs in once and sets the app up as `label`.
async fn member_with_app(idp: &Idp, label: &str) -> AuthenticatorApp {
    choose_the_app(idp).await;
    let mut j = log_in(idp).await;
    let app = j.set_up_app(label).await;
    j.reached_client();
    app
}

/// A code that is not the one `app` shows now.
fn wrong_code(app: &AuthenticatorApp, idp: &Idp) -> String {
    if app.code_at(idp.now()) == "000000" { "111111".to_owned() } else { "000000".to_owned() }
}

async fn the_setup_page_shows_the_manuals_texts_and_a_scannable_qr_code(idp: Idp) {
    choose_the_app(&idp).await;
    let mut j = log_in(&idp).await;
    j.on("ワンタイムパスワードの設定");
    for text in [
        "アカウントを有効にするにはワンタイムパスワードのセットアップが必要です。",
        "Google Authenticator",
        "Microsoft Authenticator",
        "FreeOTP",
        "スキャンできませんか?",
        "OTPデバイスの管理に役立つデバイス名を指定します。",
        "全てのデバイスからサインアウトする",
    ] {
        assert!(j.page.body.contains(text), "「{text}」 on the setup page");
    }
    assert_eq!(crate::login_page::button_text(&j.page, SETUP_FORM), "実行");
    // The QR code decodes to the otpauth URI, labelled with the realm's name and the user ID.
    let app = AuthenticatorApp::scan(&j.page);
    let uri = url::Url::parse(&app.uri).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(uri.scheme(), "otpauth");
    assert_eq!(uri.host_str(), Some("totp"));
    let label = percent_decode(uri.path());
    assert_eq!(label, format!("/{}:{}", idp.realm.display_name, idp.member.username));
    let query: std::collections::HashMap<_, _> = uri.query_pairs().into_owned().collect();
    assert_eq!(query.get("issuer").map(String::as_str), Some(idp.realm.display_name.as_str()));
    // 「スキャンできませんか?」 reveals the same key, in lower case groups for reading.
    let key = j.page.text("#kc-totp-secret-key");
    assert_eq!(key, key.to_lowercase());
    assert_eq!(key.replace(' ', "").to_uppercase(), query["secret"]);
    // The QR code is also a .png file to save (the Edge extension scans a file).
    let download = j.page.attr("a#kc-totp-qr-download", "href");
    assert_eq!(download, j.page.attr("img#kc-totp-qr", "src"));
    assert!(j.page.attr("a#kc-totp-qr-download", "download").ends_with(".png"));
    // A reload shows the same code the member may already have scanned.
    j.reload().await;
    assert_eq!(AuthenticatorApp::scan(&j.page).uri, app.uri);

    // A wrong code (Q10), then a missing device name; the typed name comes back.
    j.submit(SETUP_FORM, &[("totp", &wrong_code(&app, &idp)), ("userLabel", "iPhone")]).await;
    j.refused_with(&["認証コードが異なります"]);
    assert_eq!(j.page.input_value("userLabel").as_deref(), Some("iPhone"));
    assert_eq!(AuthenticatorApp::scan(&j.page).uri, app.uri, "still the same key");
    j.submit(SETUP_FORM, &[("totp", &app.code_at(idp.now())), ("userLabel", " ")]).await;
    j.refused_with(&["デバイス名を入力してください。"]);

    j.submit(SETUP_FORM, &[("totp", &app.code_at(idp.now())), ("userLabel", "iPhone")]).await;
    let callback = j.reached_client();
    let flow = idp.redeem(&idp.client, &callback, &j.request, ClientAuth::Basic).await;
    assert_eq!(flow.id_token.str_claim("acr"), Some("2"));
    assert_eq!(flow.id_token.amr(), ["pwd", "otp", "mfa"]);
    assert_eq!(idp.events(EventType::UpdateTotp).await.len(), 1);
    assert!(!idp.user(&idp.member.username).await.owes(RequiredAction::ConfigureTotp));
}

async fn the_next_login_asks_for_the_apps_code_and_never_takes_one_twice(idp: Idp) {
    let app = member_with_app(&idp, "iPhone").await;
    // The setup code's step is spent: the same code does not log in.
    let mut j = log_in(&idp).await;
    j.on("ワンタイムパスワード");
    j.submit(CODE_FORM, &[("otp", &app.code_at(idp.now()))]).await;
    j.refused_with(&["ワンタイムパスワードが正しくありません"]);

    idp.advance(Duration::seconds(30));
    let mut j = log_in(&idp).await;
    j.on("ワンタイムパスワード");
    assert!(j.page.radios("selectedCredentialId").is_empty(), "one device: no chooser");
    j.submit(CODE_FORM, &[("otp", "")]).await;
    j.refused_with(&["ワンタイムパスワードを入力してください。"]);
    j.submit(CODE_FORM, &[("otp", &wrong_code(&app, &idp))]).await;
    j.refused_with(&["ワンタイムパスワードが正しくありません"]);
    // Nothing after the password is reachable before the code: the steps' page leads back.
    let steps = j.page.url.as_str().replace("/login-actions/authenticate", "/login-actions/required-action");
    let detour = j.browser.get(&steps).await;
    assert_eq!(detour.status, StatusCode::SEE_OTHER);
    assert!(detour.location.as_deref().is_some_and(|l| l.contains("/login-actions/authenticate")));
    j.enter_app_code(&app).await;
    let callback = j.reached_client();
    let flow = idp.redeem(&idp.client, &callback, &j.request, ClientAuth::Basic).await;
    assert_eq!(flow.id_token.str_claim("acr"), Some("2"));
    assert_eq!(flow.id_token.amr(), ["pwd", "otp", "mfa"]);

    // One step of clock drift: a phone 30 s behind still gets in.
    idp.advance(Duration::seconds(60));
    let mut j = log_in(&idp).await;
    j.submit(CODE_FORM, &[("otp", &app.code_at(idp.now() - Duration::seconds(30)))]).await;
    j.reached_client();
    // But two steps behind is too far.
    idp.advance(Duration::seconds(90));
    let mut j = log_in(&idp).await;
    j.submit(CODE_FORM, &[("otp", &app.code_at(idp.now() - Duration::seconds(60)))]).await;
    j.refused_with(&["ワンタイムパスワードが正しくありません"]);
}

async fn a_member_with_two_apps_picks_the_device_by_name(idp: Idp) {
    let iphone = member_with_app(&idp, "iPhone").await;
    // The kenpo asks for another app (a new phone while the old one still works).
    let mut member = idp.user(&idp.member.username).await;
    member.require(RequiredAction::ConfigureTotp);
    idp.save(&member).await;
    idp.advance(Duration::seconds(30));
    let mut j = log_in(&idp).await;
    j.enter_app_code(&iphone).await;
    j.on("ワンタイムパスワードの設定");
    let pixel = AuthenticatorApp::scan(&j.page);
    assert_ne!(pixel.uri, iphone.uri, "a new key for the new device");
    j.submit(SETUP_FORM, &[("totp", &pixel.code_at(idp.now())), ("userLabel", "iPhone")]).await;
    j.refused_with(&["このデバイス名は既に使われています。別のデバイス名を入力してください。"]);
    j.submit(SETUP_FORM, &[("totp", &pixel.code_at(idp.now())), ("userLabel", "Pixel")]).await;
    j.reached_client();

    // Next time the member picks the device by the name they gave it (3-6 step 10).
    idp.advance(Duration::seconds(30));
    let mut j = log_in(&idp).await;
    j.on("ワンタイムパスワード");
    let devices = j.page.radios("selectedCredentialId");
    let names: Vec<&str> = devices.iter().map(|(_, label, _)| label.as_str()).collect();
    assert_eq!(names, ["iPhone", "Pixel"]);
    let pixel_id = devices[1].0.clone();
    // The iPhone's code is not the Pixel's.
    j.submit(CODE_FORM, &[("selectedCredentialId", &pixel_id), ("otp", &iphone.code_at(idp.now()))]).await;
    j.refused_with(&["ワンタイムパスワードが正しくありません"]);
    let checked: Vec<bool> = j.page.radios("selectedCredentialId").iter().map(|(_, _, on)| *on).collect();
    assert_eq!(checked, [false, true], "the chosen device stays chosen");
    j.submit(CODE_FORM, &[("selectedCredentialId", &pixel_id), ("otp", &pixel.code_at(idp.now()))]).await;
    j.reached_client();
}

async fn wrong_app_codes_lock_the_member_like_wrong_passwords(idp: Idp) {
    let app = member_with_app(&idp, "iPhone").await;
    idp.advance(Duration::seconds(30));
    let mut j = log_in(&idp).await;
    // Keycloak's default policy: the fifth failure locks the member for a while.
    for _ in 1..=4 {
        idp.advance(Duration::seconds(2)); // slower than a script (the quick-login check)
        j.submit(CODE_FORM, &[("otp", &wrong_code(&app, &idp))]).await;
        j.refused_with(&["ワンタイムパスワードが正しくありません"]);
    }
    idp.advance(Duration::seconds(2));
    j.submit(CODE_FORM, &[("otp", &wrong_code(&app, &idp))]).await;
    assert_eq!(j.page.status, StatusCode::FORBIDDEN);
    assert!(
        j.page.body.contains("アカウントがロックされています。ご加入の健保組合までお問い合わせください。")
    );
    // From this browser the lock holds for the password too.
    let page = j.browser.authorize(&idp.auth_request()).await;
    let page = j.browser.submit_login(&page.login_form(), &idp.member.username, &idp.member.password).await;
    assert!(page.body.contains("アカウントがロックされています。"), "{}", page.body);
}

async fn prompt_login_asks_for_the_second_factor_again(idp: Idp) {
    let app = member_with_app(&idp, "iPhone").await;
    idp.advance(Duration::seconds(30));
    let mut j = log_in(&idp).await;
    j.enter_app_code(&app).await;
    let first = idp.redeem(&idp.client, &j.reached_client(), &j.request, ClientAuth::Basic).await;
    // Within the SSO session a client asks for a fresh login (re-authentication before a
    // sensitive change): the password and the app's code again, in the same session.
    idp.advance(Duration::seconds(60));
    let request = idp.auth_request().set("prompt", "login");
    let page = j.browser.authorize(&request).await;
    let page = j
        .browser
        .submit_and_follow(
            &page.form("form#kc-form-login"),
            &[("username", &idp.member.username), ("password", &idp.member.password)],
        )
        .await;
    assert_eq!(page.heading(), "ワンタイムパスワード");
    let page = j.browser.submit_and_follow(&page.form(CODE_FORM), &[("otp", &app.code_at(idp.now()))]).await;
    let callback = idp.check_callback(&page, &request);
    let again = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;
    assert_eq!(again.id_token.sid(), first.id_token.sid(), "the same SSO session");
    assert_eq!(again.id_token.auth_time(), first.id_token.auth_time() + 60);
    assert_eq!(again.id_token.amr(), ["pwd", "otp", "mfa"]);
}

/// The suite's member (taro@example.jp, verified) chooses mailed codes.
async fn choose_mailed_codes(idp: &Idp) {
    let mut member = idp.user(&idp.member.username).await;
    member.auth_method = Some(AuthMethod::EmailOtp);
    idp.save(&member).await;
}

/// The code in a mail from `no-reply@`: the one run of six digits in its text part.
fn mailed_code(mail: &Received) -> String {
    assert!(mail.from.starts_with("no-reply@"), "from {}", mail.from);
    let parsed = mail.parsed();
    let text = parsed.part("text/plain").unwrap_or_else(|| panic!("no text part:\n{}", mail.data));
    let runs: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).filter(|run| run.len() == 6).collect();
    assert_eq!(runs.len(), 1, "one code in {text}");
    runs[0].to_owned()
}

fn other_than(code: &str) -> String {
    if code == "000000" { "111111".to_owned() } else { "000000".to_owned() }
}

async fn a_mailed_code_logs_in_once_and_lives_five_minutes(idp: Idp) {
    choose_mailed_codes(&idp).await;
    let mut j = log_in(&idp).await;
    j.on("OTPメール認証");
    assert!(j.page.body.contains("taro@example.jp"));
    assert!(j.page.body.contains("有効期限は5分です。"));
    let code = mailed_code(&idp.next_mail().await);
    j.submit(MAIL_FORM, &[("otp", &other_than(&code))]).await;
    j.refused_with(&["ワンタイムパスワードが正しくありません"]);
    // A reload sends nothing more.
    j.reload().await;
    j.on("OTPメール認証");
    idp.assert_no_mail().await;
    j.submit(MAIL_FORM, &[("otp", &code)]).await;
    let flow = idp.redeem(&idp.client, &j.reached_client(), &j.request, ClientAuth::Basic).await;
    assert_eq!(flow.id_token.str_claim("acr"), Some("2"));
    assert_eq!(flow.id_token.amr(), ["pwd", "otp", "mfa"]);

    // The next login mails a new code, which is dead after five minutes.
    idp.advance(Duration::seconds(60));
    let mut j = log_in(&idp).await;
    let code = mailed_code(&idp.next_mail().await);
    idp.advance(Duration::minutes(5));
    j.submit(MAIL_FORM, &[("otp", &code)]).await;
    j.refused_with(&[
        "ワンタイムパスワードの有効期限が切れました。「再送信」で新しいワンタイムパスワードを受け取ってください。",
    ]);
}

async fn resend_waits_a_minute_and_the_new_code_replaces_the_old(idp: Idp) {
    choose_mailed_codes(&idp).await;
    let mut j = log_in(&idp).await;
    let first = mailed_code(&idp.next_mail().await);
    // 「再送信」 right away: nothing is sent, and the page says to wait.
    idp.advance(Duration::seconds(20));
    j.submit(RESEND_FORM, &[]).await;
    assert!(j.page.body.contains("再送信は40秒ほど時間をおいてからお試しください。"), "{}", j.page.body);
    idp.assert_no_mail().await;
    idp.advance(Duration::seconds(40));
    j.submit(RESEND_FORM, &[]).await;
    assert!(j.page.body.contains("新しいワンタイムパスワードを送信しました。"));
    let second = mailed_code(&idp.next_mail().await);
    if first != second {
        j.submit(MAIL_FORM, &[("otp", &first)]).await;
        j.refused_with(&["ワンタイムパスワードが正しくありません"]);
    }
    j.submit(MAIL_FORM, &[("otp", &second)]).await;
    j.reached_client();
}

async fn a_first_login_with_mailed_codes_ends_with_a_code(idp: Idp) {
    crate::first_login_rules::import_taro_verified(&idp).await;
    let mut j = crate::first_login::walk_to(&idp, "ユーザIDの設定・認証方法の選択").await;
    j.submit("form#kc-user-id-form", &[("username", "taro-kenpo01"), ("authMethod", "email-otp")]).await;
    j.on("パスワードの変更");
    let password = [("password-new", "New-Pass-2026!"), ("password-confirm", "New-Pass-2026!")];
    j.submit("form#kc-passwd-update-form", &password).await;
    // The manual's (5): the code mailed to the registered address completes the first login.
    j.on("OTPメール認証");
    let mut mail = idp.next_mail().await;
    if !mail.from.starts_with("no-reply@") {
        mail = idp.next_mail().await; // the first-login notice from webmaster@ may come first
    }
    j.submit(MAIL_FORM, &[("otp", &mailed_code(&mail))]).await;
    let flow = idp.redeem(&idp.client, &j.reached_client(), &j.request, ClientAuth::Basic).await;
    assert_eq!(flow.id_token.amr(), ["pwd", "otp", "mfa"]);
}

async fn acr_values_can_demand_a_second_factor(idp: Idp) {
    // A member with no method signs in with the password alone: acr 1.
    let browser = idp.browser();
    let plain = idp.code_flow(&browser, &idp.auth_request()).await;
    assert_eq!(plain.id_token.str_claim("acr"), Some("1"));
    assert_eq!(plain.id_token.amr(), ["pwd"]);
    let metadata = idp.discovery().await;
    assert_eq!(str_array(&metadata, "acr_values_supported"), ["1", "2"]);
    // A client that needs two factors is not answered from that session: the member logs in
    // again and, having no method, sets up the app in this login.
    let request = idp.auth_request().set("acr_values", "2");
    let page = browser.authorize(&request).await;
    let page = browser.submit_login(&page.login_form(), &idp.member.username, &idp.member.password).await;
    let page = browser.follow(&page).await;
    assert_eq!(page.heading(), "ワンタイムパスワードの設定");
    let app = AuthenticatorApp::scan(&page);
    let page = browser
        .submit_and_follow(
            &page.form(SETUP_FORM),
            &[("totp", &app.code_at(idp.now())), ("userLabel", "iPhone")],
        )
        .await;
    let callback = idp.check_callback(&page, &request);
    let flow = idp.redeem(&idp.client, &callback, &request, ClientAuth::Basic).await;
    assert_eq!(flow.id_token.str_claim("acr"), Some("2"));
    assert_eq!(idp.user(&idp.member.username).await.auth_method, Some(AuthMethod::Otp));
    // Now the session has two factors and answers such a client without a login.
    let page = browser.authorize(&request).await;
    idp.check_callback(&page, &request);
}

async fn after_the_kenpo_resets_a_lost_phone_the_next_login_sets_the_app_up_again(idp: Idp) {
    let old_phone = member_with_app(&idp, "iPhone").await;
    idp.advance(Duration::seconds(30));
    let mut j = log_in(&idp).await;
    j.enter_app_code(&old_phone).await;
    j.reached_client();

    // 3-8: the member lost the phone; the kenpo resets their second factors.
    let member = idp.user(&idp.member.username).await;
    let ctx = idp.state.ctx(&idp.realm, &idp.issuer);
    let reset =
        kenpo_idp::flows::members::reset_second_factors(ctx, &member).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((reset.removed, reset.sessions_ended, reset.mailed), (1, 2, true));
    idp.state.mail_outbox.notify_one();
    let notice = idp.next_mail().await;
    assert!(notice.from.starts_with("no-reply@"));
    let parsed = notice.parsed();
    assert!(parsed.part("text/plain").is_some_and(|t| t.contains("次回ログイン時")), "{}", notice.data);
    // The lost phone's session is over, and its codes open nothing.
    let silent = idp.auth_request().set("prompt", "none");
    let page = j.browser.authorize(&silent).await;
    assert_error_redirect(&page, &silent, &idp.issuer, &["login_required"]);
    // The next login, after the password, sets an app up again, with a new key.
    idp.advance(Duration::seconds(30));
    let mut j = Journey::log_in(&idp, &idp.member.username, &idp.member.password).await;
    let new_phone = j.set_up_app("Pixel").await;
    assert_ne!(new_phone.uri, old_phone.uri);
    j.reached_client();
}

async fn a_change_the_client_asks_for_comes_after_a_recent_authentication(idp: Idp) {
    let iphone = member_with_app(&idp, "iPhone").await;
    idp.advance(Duration::seconds(30));
    let mut j = log_in(&idp).await;
    j.enter_app_code(&iphone).await;
    j.reached_client();

    // Within the realm's window (5 minutes) the portal's 「設定」 goes straight to the setup
    // (Keycloak's application-initiated action, kc_action).
    idp.advance(Duration::seconds(60));
    let add_device = idp.auth_request().set("kc_action", "CONFIGURE_TOTP");
    let page = j.browser.authorize(&add_device).await;
    assert_eq!(page.heading(), "ワンタイムパスワードの設定", "{}", page.body);
    let pixel = AuthenticatorApp::scan(&page);
    let fields = [("totp", pixel.code_at(idp.now())), ("userLabel", "Pixel".to_owned())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = j.browser.submit_and_follow(&page.form(SETUP_FORM), &fields).await;
    let callback = idp.check_callback(&page, &add_device);
    assert_eq!(callback.get("kc_action_status"), Some("success"));

    // Later than the window, the member first proves it is them: 「続行するには再度認証して
    // ください。」, the user ID filled in, the password, then the second factor.
    idp.advance(Duration::minutes(6));
    let change_password = idp.auth_request().set("kc_action", "UPDATE_PASSWORD");
    let page = j.browser.authorize(&change_password).await;
    assert!(page.body.contains("続行するには再度認証してください。"), "{}", page.body);
    assert_eq!(page.input_value("username").as_deref(), Some(idp.member.username.as_str()));
    let page = j
        .browser
        .submit_and_follow(
            &page.form("form#kc-form-login"),
            &[("username", &idp.member.username), ("password", &idp.member.password)],
        )
        .await;
    assert_eq!(page.heading(), "ワンタイムパスワード");
    let code = pixel.code_at(idp.now());
    let pixel_id = page.radios("selectedCredentialId")[1].0.clone();
    let page = j
        .browser
        .submit_and_follow(&page.form(CODE_FORM), &[("selectedCredentialId", &pixel_id), ("otp", &code)])
        .await;
    assert_eq!(page.heading(), "パスワードの変更", "{}", page.body);
    let page = j
        .browser
        .submit_and_follow(
            &page.form("form#kc-passwd-update-form"),
            &[("password-new", "Renewed-Pass-77"), ("password-confirm", "Renewed-Pass-77")],
        )
        .await;
    let callback = idp.check_callback(&page, &change_password);
    assert_eq!(callback.get("kc_action_status"), Some("success"));
    // An action a client may not ask for is ignored: the session answers as usual.
    let odd = idp.auth_request().set("kc_action", "VERIFY_BIRTHDATE");
    let page = j.browser.authorize(&odd).await;
    assert_eq!(idp.check_callback(&page, &odd).get("kc_action_status"), None);
}

fn percent_decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", raw.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
