//! Every hosted page, in real headless Chromium on a 375 px phone: axe-core finds no serious or
//! critical violation (WCAG 2.2 A/AA and axe's best practices), and nothing scrolls sideways.
//! Pages are checked as the member meets them, error states included, by typing and tapping.

use crate::helpers::chromium::{Chromium, PHONE_WIDTH, Tab};
use crate::helpers::*;
use url::Url;

on_every_backend!(
    the_first_login_journey_passes_on_a_phone,
    login_and_recovery_pages_pass_on_a_phone,
    the_account_pages_pass_on_a_phone,
);

const TEMP: &str = "Temp-Pass-0001";

/// The authorization URL of a fresh request of the suite's client.
fn authorize_url(idp: &Idp) -> String {
    let request = idp.auth_request();
    let mut url =
        Url::parse(&idp.endpoint("/protocol/openid-connect/auth")).unwrap_or_else(|e| panic!("{e}"));
    url.query_pairs_mut().extend_pairs(request.params());
    url.into()
}

/// Fills the form `form` (radio buttons are tapped) and taps its first submit button.
async fn submit(tab: &Tab, form: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let radio = format!("{form} input[type=radio][name=\"{name}\"][value=\"{value}\"]");
        let is_radio: bool = tab.eval(&format!("!!document.querySelector({})", json(&radio))).await;
        if is_radio {
            tab.eval::<bool>(&format!("(document.querySelector({}).checked = true)", json(&radio))).await;
        } else {
            tab.fill(&format!("{form} [name=\"{name}\"]"), value).await;
        }
    }
    tab.click(&format!("{form} [type=submit]")).await;
}

fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Checks a page that refused the input: it shows `message` among its errors, and passes.
async fn refused(tab: &Tab, name: &str, message: &str) {
    let errors = tab.errors().await;
    assert!(errors.iter().any(|e| e.contains(message)), "{name}: expected 「{message}」, got {errors:?}");
    tab.check_page(name).await;
}

async fn on(tab: &Tab, heading: &str) {
    assert_eq!(tab.heading().await, heading, "on {}:\n{}", tab.url().await, tab.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_and_width_checks_can_fail() {
    let Some(chromium) = Chromium::launch().await else { return };
    let tab = chromium.tab().await;
    let page = |html: &str| {
        use base64::Engine as _;
        format!(
            "data:text/html;charset=utf-8;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(html)
        )
    };
    let phone = "<!doctype html><html lang=en><meta name=viewport content='width=device-width, initial-scale=1'><title>t</title>";

    tab.goto(&page(&format!("{phone}<main><div style='width:600px'>wide</div></main>"))).await;
    let wide = tab.widths().await;
    tab.goto(&page("<!doctype html><html lang=en><title>t</title><main>no viewport</main>")).await;
    let desktop = tab.widths().await;
    tab.goto(&page(&format!("{phone}<main><img src='x.png'><input type=text></main>"))).await;
    let violations = tab.accessibility_violations().await;

    assert!(wide.content > f64::from(PHONE_WIDTH), "{wide:?}");
    assert!(desktop.viewport > f64::from(PHONE_WIDTH), "without width=device-width: {desktop:?}");
    // check_page itself refuses a bad page, and passes one that is fine.
    tab.goto(&page(&format!("{phone}<main><h1>bad</h1><img src='x.png'></main>"))).await;
    let refused =
        futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(tab.check_page("a bad page"))).await;
    assert!(refused.is_err(), "check_page passed a page with an unlabelled image");
    tab.goto(&page(&format!("{phone}<main><h1>fine</h1><p>fits</p></main>"))).await;
    tab.check_page("a fine page").await;
    let blocking: Vec<_> = violations.iter().filter(|v| v.is_blocking()).map(|v| v.id.as_str()).collect();
    assert!(blocking.contains(&"image-alt") && blocking.contains(&"label"), "{violations:#?}");
    chromium.close().await;
}

async fn the_first_login_journey_passes_on_a_phone(idp: Idp) {
    let Some(chromium) = Chromium::launch().await else { return };
    idp.publish_terms("第1条 この規約は、加入者ページの利用条件を定めます。", "Article 1 ...").await;
    idp.import_members(&[&format!("k00000001,{TEMP},健保 太郎,19790822,taro.old@example.jp,本人")]).await;
    let tab = chromium.tab().await;
    tab.stub_origin("https://rp.example.test").await;

    tab.goto(&authorize_url(&idp)).await;
    tab.check_page("login").await;
    submit(&tab, "form#kc-form-login", &[("username", "k00000001"), ("password", "wrong-pass-1")]).await;
    let text = tab.text().await;
    assert!(text.contains("無効なユーザIDまたはパスワードです。"), "{}: {text}", tab.url().await);
    tab.check_page("login, wrong password").await;
    submit(&tab, "form#kc-form-login", &[("username", "k00000001"), ("password", TEMP)]).await;

    on(&tab, "生年月日の入力").await;
    tab.check_page("birth date").await;
    submit(&tab, "form#kc-birthdate-form", &[("birthdate", "1979-08-22")]).await;
    refused(&tab, "birth date, wrong format", "生年月日は半角数字8桁（例:19790822）で入力してください。")
        .await;
    submit(&tab, "form#kc-birthdate-form", &[("birthdate", "19790822")]).await;

    on(&tab, "利用規約への同意").await;
    tab.check_page("terms").await;
    submit(&tab, "form#kc-terms-form", &[]).await;

    on(&tab, "メールアドレスの更新").await;
    tab.check_page("email").await;
    submit(&tab, "form#kc-update-email-form", &[("email", "taro.@example.jp")]).await;
    refused(&tab, "email, invalid", "無効なメールアドレスです。").await;
    submit(&tab, "form#kc-update-email-form", &[("email", "taro.new@example.jp")]).await;

    on(&tab, "メール認証").await;
    tab.check_page("verify email").await;
    let link = link_in(&idp.next_mail().await, "/login-actions/action-token?key=");
    let mail_app = chromium.tab().await;
    mail_app.goto(&link).await;
    assert!(mail_app.text().await.contains("メールアドレスを確認しました。"));
    mail_app.check_page("email verified").await;
    tab.goto(&tab.url().await).await;

    on(&tab, "ユーザIDの設定・認証方法の選択").await;
    tab.check_page("user ID").await;
    tab.eval::<bool>("(document.querySelector('details').open = true)").await;
    tab.check_page("user ID, disallowed characters shown").await;
    submit(&tab, "form#kc-user-id-form", &[("username", "taro!"), ("authMethod", "otp")]).await;
    refused(&tab, "user ID, refused", "ユーザIDに利用できない文字「!」が含まれています。").await;
    submit(&tab, "form#kc-user-id-form", &[("username", "Taro-Kenpo01"), ("authMethod", "otp")]).await;

    on(&tab, "パスワードの変更").await;
    tab.check_page("password").await;
    let mismatch = [("password-new", "New-Pass-2026!"), ("password-confirm", "New-Pass-2027!")];
    submit(&tab, "form#kc-passwd-update-form", &mismatch).await;
    refused(&tab, "password, refused", "パスワードが一致していません。").await;
    let good = [("password-new", "New-Pass-2026!"), ("password-confirm", "New-Pass-2026!")];
    submit(&tab, "form#kc-passwd-update-form", &good).await;

    // The chosen method's setup. The browser shows the QR code, and the app scans the very PNG
    // the page carries.
    on(&tab, "ワンタイムパスワードの設定").await;
    tab.check_page("app setup").await;
    let shown: u32 = tab.eval("document.querySelector('img#kc-totp-qr').naturalWidth").await;
    assert!(shown >= 100, "the QR code renders ({shown} px)");
    let src: String = tab.eval("document.querySelector('img#kc-totp-qr').src").await;
    let png = src.strip_prefix("data:image/png;base64,").unwrap_or_else(|| panic!("not a PNG: {src:.40}"));
    let app = AuthenticatorApp::scan_png(&base64_decode(png));
    tab.eval::<bool>("(document.querySelector('details#kc-totp-manual').open = true)").await;
    tab.check_page("app setup, key shown").await;
    let wrong = if app.code_at(idp.now()) == "000000" { "111111" } else { "000000" };
    submit(&tab, "form#kc-totp-settings-form", &[("totp", wrong), ("userLabel", "iPhone")]).await;
    refused(&tab, "app setup, refused", "認証コードが異なります").await;
    let code = app.code_at(idp.now());
    submit(&tab, "form#kc-totp-settings-form", &[("totp", &code), ("userLabel", "iPhone")]).await;
    let landed = tab.url().await;
    assert!(landed.contains("code="), "{landed}");

    // The next login asks for the app's code.
    idp.advance(time::Duration::seconds(30));
    tab.goto(&format!("{}&prompt=login", authorize_url(&idp))).await;
    submit(&tab, "form#kc-form-login", &[("username", "taro-kenpo01"), ("password", "New-Pass-2026!")]).await;
    on(&tab, "ワンタイムパスワード").await;
    tab.check_page("app code").await;
    submit(&tab, "form#kc-otp-login-form", &[("otp", wrong)]).await;
    refused(&tab, "app code, refused", "ワンタイムパスワードが正しくありません").await;
    submit(&tab, "form#kc-otp-login-form", &[("otp", &app.code_at(idp.now()))]).await;

    let landed = tab.url().await;
    assert!(
        landed.starts_with(&format!("{}?", idp.client.redirect_uri)) && landed.contains("code="),
        "{landed}"
    );
    chromium.close().await;
}

async fn login_and_recovery_pages_pass_on_a_phone(idp: Idp) {
    let Some(chromium) = Chromium::launch().await else { return };
    let tab = chromium.tab().await;
    let login = authorize_url(&idp);

    tab.goto(&login).await;
    tab.click("#kc-forgot-password").await;
    on(&tab, "パスワードを忘れた方はこちら").await;
    tab.check_page("forgot password").await;
    submit(&tab, "form#kc-reset-password-form", &[("username", "")]).await;
    refused(&tab, "forgot password, empty", "ユーザIDを入力してください。").await;
    submit(&tab, "form#kc-reset-password-form", &[("username", &idp.member.username)]).await;
    assert!(tab.text().await.contains("詳細な手順を記載したメールをすぐに受信してください。"));
    tab.check_page("login, reset mail sent").await;

    let link = link_in(&idp.next_mail().await, "/login-actions/action-token?key=");
    tab.goto(&link).await;
    tab.check_page("reset password").await;
    submit(&tab, "form#kc-passwd-update-form", &[("password-new", "short"), ("password-confirm", "short")])
        .await;
    refused(&tab, "reset password, refused", "パスワードの文字数が正しくありません。").await;
    let good = [("password-new", "Brand-New-77"), ("password-confirm", "Brand-New-77")];
    submit(&tab, "form#kc-passwd-update-form", &good).await;
    assert!(tab.text().await.contains("パスワードを更新しました。"));
    tab.check_page("password reset").await;
    tab.goto(&link).await;
    refused(&tab, "link used", "このリンクは無効か、有効期限が切れています。").await;

    tab.goto(&login).await;
    tab.click("#kc-forgot-username").await;
    on(&tab, "ユーザIDを忘れた方はこちら").await;
    tab.check_page("forgot user ID").await;
    submit(&tab, "form#kc-forgot-username-form", &[("birthdate", ""), ("email", "")]).await;
    refused(&tab, "forgot user ID, empty", "生年月日を入力してください。").await;
    submit(&tab, "form#kc-forgot-username-form", &[("birthdate", "19790822"), ("email", "taro@example.jp")])
        .await;
    assert!(tab.text().await.contains("以下のメールアドレスにメールを送信しました。"));
    tab.check_page("user ID mail sent").await;

    // An error page: a client the realm does not know.
    tab.goto(&idp.endpoint("/protocol/openid-connect/auth?client_id=nobody&response_type=code&scope=openid"))
        .await;
    refused(&tab, "error page", "ログインを依頼したアプリが登録されていません。").await;
    // The English pages (last: the choice is remembered).
    tab.goto(&format!("{login}&ui_locales=en")).await;
    assert_eq!(tab.eval::<String>("document.documentElement.lang").await, "en");
    tab.check_page("login, English").await;
    chromium.close().await;
}

/// プロフィール変更 (and its refusal), ログイン方法変更 with a device, the sessions page, the
/// delete confirmation and the password update page.
async fn the_account_pages_pass_on_a_phone(idp: Idp) {
    let Some(chromium) = Chromium::launch().await else { return };
    let seed = kenpo_idp::domain::totp::TotpSeed::new(*b"kenpo-a11y-app-seed1");
    {
        let member = idp.user(&idp.member.username).await;
        let ctx = idp.state.ctx(&idp.realm, &idp.issuer);
        let code = kenpo_idp::domain::totp::code_at(&seed, &idp.realm.settings.otp_policy, idp.now());
        kenpo_idp::flows::mfa::totp::finish_setup(&ctx, &member, &seed, &code, "My iPhone")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let tab = chromium.tab().await;
    tab.goto(&idp.endpoint("/account")).await;
    submit(
        &tab,
        "form#kc-form-login",
        &[("username", &idp.member.username), ("password", &idp.member.password)],
    )
    .await;
    on(&tab, "プロフィール").await;
    tab.check_page("account profile").await;
    submit(&tab, "form#account-profile-form", &[("username", "ab")]).await;
    refused(&tab, "account profile, refused", "ユーザIDは8文字以上、13文字以内で入力してください。").await;

    tab.goto(&idp.endpoint("/account/signing-in")).await;
    on(&tab, "ログイン方法変更").await;
    tab.check_page("account signing in").await;
    tab.goto(&idp.endpoint("/account/device-activity")).await;
    tab.check_page("account device activity").await;

    tab.goto(&idp.endpoint("/account/signing-in")).await;
    tab.click("#devices-otp a.delete").await;
    on(&tab, "スマートデバイス削除確認").await;
    tab.check_page("delete confirmation").await;
    tab.click("form#kc-delete-credential-form button[name=cancel-aia]").await;
    on(&tab, "ログイン方法変更").await;
    tab.click("#account-password-update").await;
    tab.check_page("password update from the account").await;
    chromium.close().await;
}

fn base64_decode(encoded: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_else(|e| panic!("{e}"))
}
