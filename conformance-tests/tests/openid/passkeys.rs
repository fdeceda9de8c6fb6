//! Passkeys (`shared/spec/idp-flows.md`, "Second factor" → Passkey, and the login page's
//! 「パスキーでログイン」; manual 2-3, Q16, Q21) in real headless Chromium with a CDP virtual
//! authenticator: 「セキュリティキーの登録」 after the password, the passkey as the second factor,
//! passwordless sign-in, a refused label and a failed prompt. The IdP is reached as `localhost`,
//! since WebAuthn needs a domain name; over an IP address the realm offers no passkeys at all.
//!
//! The browser tests run on SQLite: what they store (a passkey, its counter) goes through the
//! store paths `idp/tests/api/passkey.rs` covers on both backends.

use crate::helpers::chromium::{Chromium, Tab};
use crate::helpers::*;
use kenpo_idp::domain::{AuthMethod, RequiredAction};
use kenpo_idp::store::EventType;
use url::Url;

on_every_backend!(an_idp_reached_by_an_ip_address_offers_no_passkeys);

const LOGIN_FORM: &str = "form#kc-form-login";
const SIGN_IN_FORM: &str = "form#kc-passkey-login-form";
const REGISTER_FORM: &str = "form#kc-register-form";
const FACTOR_FORM: &str = "form#kc-webauthn-login-form";
const REGISTER_PAGE: &str = "セキュリティキーの登録";
const FACTOR_PAGE: &str = "パスキーで認証";
const RP: &str = "https://rp.example.test";

/// The suite's member chooses 生体認証 (as on the user ID page), so the next login owes its setup.
async fn choose_passkeys(idp: &Idp) {
    let mut member = idp.user(&idp.member.username).await;
    member.auth_method = Some(AuthMethod::Webauthn);
    idp.save(&member).await;
}

/// Chromium at the IdP's login page for a fresh request (`prompt=login`: the member has an
/// SSO session from the test's earlier logins).
async fn goto_login(idp: &Idp, tab: &Tab) -> AuthRequest {
    let request = idp.auth_request().set("prompt", "login");
    let mut url =
        Url::parse(&idp.endpoint("/protocol/openid-connect/auth")).unwrap_or_else(|e| panic!("{e}"));
    url.query_pairs_mut().extend_pairs(request.params());
    tab.goto(url.as_str()).await;
    request
}

/// [`goto_login`], asserting the login page stays.
async fn open_login(idp: &Idp, tab: &Tab) -> AuthRequest {
    let request = goto_login(idp, tab).await;
    on(tab, "ログイン").await;
    request
}

/// Waits until the tab is at the client (the script posts after the page loaded).
async fn arrive_at_client(tab: &Tab) {
    for _ in 0..200 {
        if tab.url().await.starts_with(RP) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never reached the client: {}\n{}", tab.url().await, tab.text().await);
}

async fn on(tab: &Tab, heading: &str) {
    assert_eq!(tab.heading().await, heading, "on {}:\n{}", tab.url().await, tab.text().await);
}

async fn password(idp: &Idp, tab: &Tab) {
    tab.fill(&format!("{LOGIN_FORM} [name=username]"), &idp.member.username).await;
    tab.fill(&format!("{LOGIN_FORM} [name=password]"), &idp.member.password).await;
    tab.click(&format!("{LOGIN_FORM} [type=submit]")).await;
}

/// The label field filled, then the form's button: the prompt, and the answer posted.
async fn register(tab: &Tab, label: &str) {
    tab.fill(&format!("{REGISTER_FORM} [name=userLabel]"), label).await;
    tab.click(&format!("{REGISTER_FORM} [type=submit]")).await;
}

/// The tab landed at the client: its code redeemed, the ID token's `acr` and `amr`.
async fn at_client(idp: &Idp, tab: &Tab, request: &AuthRequest) -> (String, Vec<String>) {
    let landed = Url::parse(&tab.url().await).unwrap_or_else(|e| panic!("{e}"));
    assert!(landed.as_str().starts_with(RP), "not at the client: {landed}\n{}", tab.text().await);
    let callback = idp.check_callback_url(landed, request);
    let flow = idp.redeem(&idp.client, &callback, request, ClientAuth::Basic).await;
    let acr = flow.id_token.str_claim("acr").unwrap_or_default().to_owned();
    (acr, flow.id_token.amr().into_iter().map(str::to_owned).collect())
}

/// A passkey proves a key (bound to the device, or synced) and the member verified by it.
fn assert_passkey_proof(amr: &[String]) {
    let has = |v: &str| amr.iter().any(|a| a == v);
    assert!(has("hwk") || has("swk"), "{amr:?}");
    assert!(has("user") && has("mfa"), "{amr:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_registers_a_passkey_then_signs_in_with_it_both_ways() {
    let Some(idp) = spawn_idp_by_name(Backend::Sqlite).await else { return };
    let Some(chromium) = Chromium::launch().await else { return };
    choose_passkeys(&idp).await;
    let tab = chromium.tab().await;
    tab.stub_origin(RP).await;
    let phone = tab.add_virtual_authenticator().await;

    // The login page offers 「パスキーでログイン」, and passkeys in the user ID's autofill.
    let request = open_login(&idp, &tab).await;
    assert_eq!(tab.text_of(&format!("{SIGN_IN_FORM} button")).await, "パスキーでログイン");
    let autocomplete: String = tab.eval("document.querySelector('#username').autocomplete").await;
    assert_eq!(autocomplete, "username webauthn");
    tab.check_page("login, passkeys offered").await;

    // The password, then 「セキュリティキーの登録」 (2-3).
    password(&idp, &tab).await;
    on(&tab, REGISTER_PAGE).await;
    assert_eq!(tab.text_of(&format!("{REGISTER_FORM} [type=submit]")).await, "登録");
    tab.check_page("passkey registration").await;

    // The biometric prompt fails (Q16): nothing is registered.
    tab.set_user_verified(&phone, false).await;
    register(&tab, "iPhone").await;
    on(&tab, REGISTER_PAGE).await;
    refused(&tab, "passkey registration, prompt failed", "セキュリティキーの登録が無効です").await;
    assert!(tab.credentials(&phone).await.is_empty(), "the failed prompt made no passkey");

    // It passes: registered, and the login reaches the client with two factors.
    tab.set_user_verified(&phone, true).await;
    register(&tab, "iPhone").await;
    let (acr, amr) = at_client(&idp, &tab, &request).await;
    assert_eq!(acr, "2");
    assert!(amr.iter().any(|a| a == "pwd"), "{amr:?}");
    assert_passkey_proof(&amr);
    let on_device = tab.credentials(&phone).await;
    assert_eq!(on_device.len(), 1);
    assert!(on_device[0].is_resident_credential, "discoverable, for 「パスキーでログイン」");
    let member = idp.user(&idp.member.username).await;
    assert!(!member.owes(RequiredAction::WebauthnRegister));
    let events = idp.events(EventType::CustomRequiredAction).await;
    let registered = events
        .iter()
        .find(|e| e.details.get("custom_required_action").map(String::as_str) == Some("webauthn-register"));
    assert!(registered.is_some_and(|e| e.user_id.as_deref() == Some(&idp.member.sub)), "{events:?}");

    // Where the browser offers passkeys in the user ID's autofill, picking it signs in.
    let request = goto_login(&idp, &tab).await;
    arrive_at_client(&tab).await;
    let (acr, amr) = at_client(&idp, &tab, &request).await;
    assert_eq!(acr, "2");
    assert!(!amr.iter().any(|a| a == "pwd"), "no password was asked: {amr:?}");
    assert_passkey_proof(&amr);

    // The next login, in a browser without that autofill: the password, then the passkey.
    tab.without_conditional_mediation().await;
    let request = open_login(&idp, &tab).await;
    password(&idp, &tab).await;
    on(&tab, FACTOR_PAGE).await;
    tab.check_page("passkey as the second factor").await;
    tab.click(&format!("{FACTOR_FORM} [type=submit]")).await;
    let (acr, amr) = at_client(&idp, &tab, &request).await;
    assert_eq!(acr, "2");
    assert!(amr.iter().any(|a| a == "pwd"), "{amr:?}");
    assert_passkey_proof(&amr);

    // 「パスキーでログイン」: no user ID, no password.
    let request = open_login(&idp, &tab).await;
    tab.click(&format!("{SIGN_IN_FORM} [type=submit]")).await;
    let (acr, amr) = at_client(&idp, &tab, &request).await;
    assert_eq!(acr, "2");
    assert!(!amr.iter().any(|a| a == "pwd"), "no password was asked: {amr:?}");
    assert_passkey_proof(&amr);
    assert_eq!(tab.credentials(&phone).await[0].sign_count, on_device[0].sign_count + 3);
    chromium.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_devices_passkey_needs_a_label_of_its_own() {
    let Some(idp) = spawn_idp_by_name(Backend::Sqlite).await else { return };
    let Some(chromium) = Chromium::launch().await else { return };
    choose_passkeys(&idp).await;
    let tab = chromium.tab().await;
    tab.stub_origin(RP).await;
    tab.without_conditional_mediation().await;
    let phone = tab.add_virtual_authenticator().await;
    let request = open_login(&idp, &tab).await;
    password(&idp, &tab).await;
    register(&tab, "iPhone").await;
    at_client(&idp, &tab, &request).await;

    // The kenpo asks for another passkey; the member registers it from a second device.
    let mut member = idp.user(&idp.member.username).await;
    member.require(RequiredAction::WebauthnRegister);
    idp.save(&member).await;
    open_login(&idp, &tab).await;
    password(&idp, &tab).await;
    tab.click(&format!("{FACTOR_FORM} [type=submit]")).await;
    on(&tab, REGISTER_PAGE).await;
    tab.remove_virtual_authenticator(&phone).await;
    let tablet = tab.add_virtual_authenticator().await;
    register(&tab, "iPhone").await;
    refused(&tab, "passkey registration, label taken", "このパスキーの名前は既に使われています。").await;
    // Only the label was refused: the answer waits in the form, so no second prompt is needed.
    assert_eq!(tab.text_of(&format!("{REGISTER_FORM} [type=submit]")).await, "OK");
    register(&tab, " ").await;
    refused(&tab, "passkey registration, label empty", "パスキーの名前を入力してください。").await;
    register(&tab, "iPad").await;
    assert!(tab.url().await.starts_with(RP), "{}", tab.text().await);
    assert_eq!(tab.credentials(&tablet).await.len(), 1, "one prompt, one passkey");
    chromium.close().await;
}

/// Checks a page that refused the input: it shows `message` among its errors, and passes.
async fn refused(tab: &Tab, name: &str, message: &str) {
    let errors = tab.errors().await;
    assert!(errors.iter().any(|e| e.contains(message)), "{name}: expected 「{message}」, got {errors:?}");
    tab.check_page(name).await;
}

/// Development reaches the IdP by an IP address, where WebAuthn cannot work: no
/// 「パスキーでログイン」, no 生体認証 to choose, and a member who chose it signs in with the
/// password alone rather than being stuck on a page no browser can answer.
async fn an_idp_reached_by_an_ip_address_offers_no_passkeys(idp: Idp) {
    let j = Journey::open(&idp).await;
    assert!(!j.page.body.contains("kc-passkey-login-form"));
    assert!(!j.page.body.contains("webauthn"), "no passkey autofill either");
    choose_passkeys(&idp).await;
    let j = Journey::log_in(&idp, &idp.member.username, &idp.member.password).await;
    let callback = j.reached_client();
    let flow = idp.redeem(&idp.client, &callback, &j.request, ClientAuth::Basic).await;
    assert_eq!(flow.id_token.amr(), ["pwd"]);
}
