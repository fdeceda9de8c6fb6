//! The hosted login page as the manual describes it (2-1, Q8) and as a browser must be able to
//! trust it: one message for a wrong user ID or password, the session cookie's attributes,
//! 「ログイン状態の保存」, the form bound to the browser, no code for a member who still owes
//! first-login steps, and the locked account's message (Q5, Q6).

use crate::helpers::*;
use kenpo_idp::domain::{RequiredAction, Username};
use kenpo_idp::store::{CredentialStore, NewUser, UserStore};
use reqwest::StatusCode;
use scraper::{ElementRef, Html, Selector};

on_every_backend!(
    wrong_password_shows_the_manuals_message_then_the_right_one_succeeds,
    unknown_user_gets_the_same_message_as_a_wrong_password,
    login_form_has_the_manuals_labels_button_and_remember_me_checkbox,
    session_cookie_is_httponly_lax_and_scoped_to_the_realm,
    remember_me_makes_the_session_cookie_outlive_the_browser,
    remember_me_keeps_the_session_past_the_normal_idle_and_maximum_times,
    login_form_posted_from_another_browser_is_refused,
    member_owing_first_login_steps_gets_no_code,
    sso_session_ends_after_the_realms_idle_time,
    repeated_wrong_passwords_lock_with_the_manuals_contact_message,
);

const INVALID: &str = "無効なユーザIDまたはパスワードです。";
const LOCKED: &str = "アカウントがロックされています。ご加入の健保組合までお問い合わせください。";

fn session_cookie(page: &Page) -> String {
    page.set_cookies
        .iter()
        .find(|c| c.starts_with("KENPO_SESSION="))
        .cloned()
        .unwrap_or_else(|| panic!("no session cookie in {:?}", page.set_cookies))
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css:?}: {e}"))
}

fn text_of(element: ElementRef<'_>) -> String {
    element.text().collect::<String>().trim().to_owned()
}

/// The text of the one submit button of the form `form` selects: what the member clicks, not
/// an intro sentence that happens to quote it.
pub(crate) fn button_text(page: &Page, form: &str) -> String {
    let html = Html::parse_document(&page.body);
    let css = format!("{form} button[type=submit], {form} input[type=submit]");
    let buttons: Vec<ElementRef<'_>> = html.select(&selector(&css)).collect();
    assert_eq!(buttons.len(), 1, "one submit button in {form} on {}:\n{}", page.url, page.body);
    let button = buttons[0];
    match button.value().attr("value").filter(|_| button.value().name() == "input") {
        Some(value) => value.trim().to_owned(),
        None => text_of(button),
    }
}

/// The text of the `<label for="{id}">`, which must exist.
fn label_for(html: &Html, id: &str) -> String {
    let label = html.select(&selector(&format!("label[for=\"{id}\"]"))).next();
    label.map(text_of).unwrap_or_else(|| panic!("no label for #{id}"))
}

async fn login_form_has_the_manuals_labels_button_and_remember_me_checkbox(idp: Idp) {
    let page = idp.browser().authorize(&idp.auth_request()).await;

    page.login_form();
    let html = Html::parse_document(&page.body);
    let input = |css: &str| {
        let found = html.select(&selector(&format!("form#kc-form-login {css}"))).next();
        found.unwrap_or_else(|| panic!("no {css} in the login form:\n{}", page.body))
    };

    // Each field carries the manual's label, tied to it by `for`/`id` (a screen reader reads
    // the label on the field, and clicking the label focuses it).
    assert_eq!(input("input#username").value().attr("name"), Some("username"));
    assert_eq!(label_for(&html, "username"), "ユーザID");
    let password = input("input#password");
    assert_eq!(
        (password.value().attr("name"), password.value().attr("type")),
        (Some("password"), Some("password"))
    );
    assert_eq!(label_for(&html, "password"), "パスワード");
    // 「ログイン状態の保存」: a checkbox posted as Keycloak's `rememberMe`, off unless ticked.
    let remember = input("input#rememberMe");
    assert_eq!(remember.value().attr("name"), Some("rememberMe"));
    assert_eq!(remember.value().attr("type"), Some("checkbox"));
    assert_eq!(remember.value().attr("checked"), None, "remember me is the member's choice");
    assert_eq!(label_for(&html, "rememberMe"), "ログイン状態の保存");
    assert_eq!(button_text(&page, "form#kc-form-login"), "ログイン");
}

async fn wrong_password_shows_the_manuals_message_then_the_right_one_succeeds(idp: Idp) {
    let browser = idp.browser();
    let request = idp.auth_request();
    let page = browser.authorize(&request).await;

    let again = browser.submit_login(&page.login_form(), &idp.member.username, "Wrong-horse-1").await;

    assert_eq!(again.location, None, "a failed login never redirects");
    assert!(again.body.contains(INVALID), "{}", again.body);
    assert!(again.body.contains("value=\"taro1234\""), "the user ID stays filled in");
    // The form shown again still works.
    idp.log_in_on(&browser, &again, &request).await;
}

async fn unknown_user_gets_the_same_message_as_a_wrong_password(idp: Idp) {
    let browser = idp.browser();
    let page = browser.authorize(&idp.auth_request()).await;
    let wrong_password =
        browser.submit_login(&page.login_form(), &idp.member.username, "Wrong-horse-1").await;
    let page = browser.authorize(&idp.auth_request()).await;
    let unknown = browser.submit_login(&page.login_form(), "nobody123", "Wrong-horse-1").await;

    assert_eq!(unknown.status, wrong_password.status);
    assert!(unknown.body.contains(INVALID));
}

async fn session_cookie_is_httponly_lax_and_scoped_to_the_realm(idp: Idp) {
    let browser = idp.browser();
    let page = browser.authorize(&idp.auth_request()).await;

    let after = browser.submit_login(&page.login_form(), &idp.member.username, &idp.member.password).await;

    let cookie = session_cookie(&after).to_ascii_lowercase();
    assert!(cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("samesite=lax"), "{cookie}");
    assert!(cookie.contains(&format!("path=/realms/{REALM}/")), "{cookie}");
    assert!(!cookie.contains("max-age") && !cookie.contains("expires"), "a browser-session cookie: {cookie}");
}

async fn remember_me_makes_the_session_cookie_outlive_the_browser(idp: Idp) {
    let browser = idp.browser();
    let page = browser.authorize(&idp.auth_request()).await;

    let after = browser
        .submit_login_with(
            &page.login_form(),
            &idp.member.username,
            &idp.member.password,
            &[("rememberMe", "on")],
        )
        .await;

    let cookie = session_cookie(&after).to_ascii_lowercase();
    assert!(cookie.contains("max-age="), "「ログイン状態の保存」 keeps the session: {cookie}");
}

async fn remember_me_keeps_the_session_past_the_normal_idle_and_maximum_times(idp: Idp) {
    let settings = &idp.realm.settings;
    let seconds = |s: u32| time::Duration::seconds(i64::from(s));
    let (idle, max) = (seconds(settings.sso_session_idle_seconds), seconds(settings.sso_session_max_seconds));
    let remembered_idle = seconds(settings.remember_me_idle_seconds);
    // Keycloak's defaults: 30 minutes and 10 hours, 30 days with 「ログイン状態の保存」.
    assert!(remembered_idle > max && seconds(settings.remember_me_max_seconds) > max, "{settings:?}");
    let (remembered, ordinary) = (idp.browser(), idp.browser());
    for (browser, extra) in [(&remembered, &[("rememberMe", "on")][..]), (&ordinary, &[][..])] {
        let request = idp.auth_request();
        let page = browser.authorize(&request).await;
        let form = page.login_form();
        let after = browser.submit_login_with(&form, &idp.member.username, &idp.member.password, extra).await;
        idp.check_callback(&after, &request);
    }
    let silent = idp.auth_request().set("prompt", "none");

    // The ordinary session is kept busy, never idle as long as `idle`, until past `max`.
    let step = idle - time::Duration::minutes(1);
    let mut elapsed = time::Duration::ZERO;
    while elapsed + step <= max {
        idp.advance(step);
        elapsed += step;
        idp.silent(&ordinary, &silent).await;
    }
    let quiet = max - elapsed + time::Duration::minutes(1);
    assert!(quiet < idle, "the last quiet spell is shorter than the idle time: only `max` can end it");
    idp.advance(quiet);

    // Busy or not, the ordinary session ended at the realm's maximum...
    let page = ordinary.authorize(&silent).await;
    assert_error_redirect(&page, &silent, &idp.issuer, &["login_required"]);
    // ...while the remembered one, idle all that time (far past `idle`, past `max` since its
    // login), still answers without a login page.
    idp.silent(&remembered, &silent).await;
    // It is long-lived, not endless: a quiet spell longer than its own idle time ends it too.
    idp.advance(remembered_idle + time::Duration::seconds(1));
    let page = remembered.authorize(&silent).await;
    assert_error_redirect(&page, &silent, &idp.issuer, &["login_required"]);
}

async fn login_form_posted_from_another_browser_is_refused(idp: Idp) {
    let page = idp.browser().authorize(&idp.auth_request()).await;
    let form = page.login_form();

    // Another browser (no KENPO_AUTH cookie) posts the same form, hidden fields and all: the
    // shape of a login CSRF.
    let attacker = idp.browser();
    let after = attacker.submit_login(&form, &idp.member.username, &idp.member.password).await;

    assert_eq!(after.status, StatusCode::BAD_REQUEST);
    assert_eq!(after.location, None);
    assert!(after.set_cookies.iter().all(|c| !c.starts_with("KENPO_SESSION=")));
}

async fn member_owing_first_login_steps_gets_no_code(idp: Idp) {
    let username = Username::parse_issued("k0000009").unwrap_or_else(|e| panic!("{e}"));
    let new = NewUser {
        username,
        issued_username: None,
        email: None,
        email_verified: false,
        display_name: "健保 九郎".to_owned(),
        birthdate: None,
        relationship: None,
        temporary_id: true,
        required_actions: RequiredAction::FIRST_LOGIN.to_vec(),
        locale: None,
    };
    let user =
        idp.state.db.create_user(&idp.realm.id, new, idp.now()).await.unwrap_or_else(|e| panic!("{e}"));
    let hash = shared_crypto::password::hash_password("Tmp-pass-09").unwrap_or_else(|e| panic!("{e}"));
    idp.state.db.set_password(&user.id, &hash, idp.now()).await.unwrap_or_else(|e| panic!("{e}"));
    let browser = idp.browser();
    let page = browser.authorize(&idp.auth_request()).await;

    let after = browser.submit_login(&page.login_form(), "k0000009", "Tmp-pass-09").await;

    // The member is taken to their next step, never to the client.
    let next = after.redirect_target();
    assert!(next.path().ends_with("/login-actions/required-action"), "{next}");
    assert!(next.as_str().starts_with(&idp.issuer), "no code until the first-login steps are done");
    assert!(after.set_cookies.iter().all(|c| !c.starts_with("KENPO_SESSION=")), "no session yet");
}

async fn sso_session_ends_after_the_realms_idle_time(idp: Idp) {
    let browser = idp.browser();
    idp.code_flow(&browser, &idp.auth_request()).await;
    let silent = idp.auth_request().set("prompt", "none");

    // Used within the idle time (30 minutes by default), the session answers silently...
    idp.advance(time::Duration::minutes(29));
    idp.silent(&browser, &silent).await;
    // ...and each use restarts the idle time; 31 quiet minutes end it.
    idp.advance(time::Duration::minutes(31));
    let page = browser.authorize(&silent).await;
    assert_error_redirect(&page, &silent, &idp.issuer, &["login_required"]);
}

async fn repeated_wrong_passwords_lock_with_the_manuals_contact_message(idp: Idp) {
    let browser = idp.browser();
    let mut page = browser.authorize(&idp.auth_request()).await;
    for _ in 0..5 {
        // Apart by more than the quick-login check: the realm's failure count (5) decides.
        idp.advance(time::Duration::seconds(2));
        page = browser.submit_login(&page.login_form(), &idp.member.username, "Wrong-horse-1").await;
        assert!(page.body.contains(INVALID), "{}", page.body);
    }

    let locked = browser.submit_login(&page.login_form(), &idp.member.username, &idp.member.password).await;

    assert_eq!(locked.location, None, "the right password gets no code while locked");
    assert!(locked.body.contains(LOCKED) && !locked.body.contains(INVALID), "{}", locked.body);
    assert!(locked.find_login_form().is_some(), "the form stays, as after a wrong password");
}
