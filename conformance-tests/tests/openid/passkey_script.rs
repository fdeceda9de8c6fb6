//! The passkey script (`/resources/webauthn.js`) in real Chromium with a CDP virtual
//! authenticator, against the passkey flows: registration, the second factor and passwordless
//! sign-in, each answer verified by the server. The pages that embed a challenge come with the
//! second-factor journey; here a bare page of the IdP's origin holds the script's contract (the
//! challenge block, the form, the hidden field) and catches the form's submission.

use crate::helpers::chromium::{Chromium, Tab};
use crate::helpers::*;
use kenpo_idp::flows::lockout::IdentityCheck;
use kenpo_idp::flows::mfa::passkey::{self, Setup, SignIn};
use kenpo_idp::store::UserStore;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};

const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Puts a form of `kind` with `challenge` on the tab's page, loads the script, submits the form
/// and returns what the script would have posted in the hidden field.
async fn answer(tab: &Tab, kind: &str, challenge: &Value) -> String {
    let challenge = serde_json::to_string(&challenge.to_string()).unwrap_or_default();
    let setup = format!(
        r#"new Promise((loaded, failed) => {{
             document.body.innerHTML = '<form data-webauthn="{kind}" method="post">'
               + '<input type="hidden" name="webauthn"><button type="submit">OK</button></form>'
               + '<script type="application/json" id="webauthn-challenge"></script>';
             document.getElementById('webauthn-challenge').textContent = {challenge};
             HTMLFormElement.prototype.submit = function () {{ window.__posted = this.elements.webauthn.value; }};
             // Posted already (an autofill request answered): the page stays for the test.
             document.addEventListener('submit', e => window.__posted && e.preventDefault(), true);
             const script = document.createElement('script');
             script.src = '/resources/webauthn.js';
             script.onload = () => loaded(true);
             script.onerror = () => failed('webauthn.js did not load');
             document.body.appendChild(script);
           }})"#
    );
    assert!(tab.eval::<bool>(&setup).await);
    tab.eval::<bool>("(document.querySelector('button').click(), true)").await;
    // Bounded: the virtual authenticator answers at once; a script that never posts fails here.
    tab.eval(
        "new Promise((posted, failed) => {
           const start = Date.now();
           (function poll() {
             if (window.__posted) return posted(window.__posted);
             if (Date.now() - start > 20000) return failed('the script posted nothing');
             setTimeout(poll, 20);
           })();
         })",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_registers_and_uses_a_passkey_with_a_virtual_authenticator() {
    let Some(idp) = spawn_idp(Backend::Sqlite).await else { return };
    let Some(chromium) = Chromium::launch().await else { return };
    // Passkeys need a domain name: the same server, reached as localhost.
    let origin = idp.issuer.split("/realms/").next().unwrap_or_default().replace("127.0.0.1", "localhost");
    let issuer = format!("{origin}/realms/{REALM}");
    let ctx = idp.state.ctx(&idp.realm, &issuer);
    let user = idp.state.db.user_by_id(&idp.realm.id, &idp.member.sub).await.ok().flatten();
    let user = user.unwrap_or_else(|| panic!("no member"));
    let tab = chromium.tab().await;
    let authenticator = tab.add_virtual_authenticator().await;
    tab.goto(&format!("{origin}/health/live")).await;

    let (options, ceremony) =
        passkey::start_registration(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));
    let created = answer(&tab, "register", &options).await;
    let registered = passkey::finish_registration(&ctx, &user, &ceremony, &created, "Chromium").await;
    let on_device = tab.credentials(&authenticator).await;

    // A fresh page for each ceremony: a script loaded for an earlier one would still listen.
    tab.goto(&format!("{origin}/health/live")).await;
    let (options, ceremony) =
        passkey::start_second_factor(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));
    let asserted = answer(&tab, "authenticate", &options).await;
    let second = passkey::check_second_factor(&ctx, &user, &ceremony, &asserted, None, IP).await;

    tab.goto(&format!("{origin}/health/live")).await;
    let (options, ceremony) = passkey::start_sign_in(&ctx).unwrap_or_else(|e| panic!("{e}"));
    let discovered = answer(&tab, "sign-in", &options).await;
    let signed_in = passkey::finish_sign_in(&ctx, &ceremony, &discovered, None, IP).await;

    assert!(matches!(registered, Ok(Setup::Registered(_))), "{registered:?}\n{created}");
    assert_eq!(on_device.len(), 1);
    assert!(on_device[0].is_resident_credential, "discoverable, for passwordless sign-in");
    assert_eq!(on_device[0].rp_id.as_deref(), Some("localhost"));
    assert!(matches!(second, Ok(IdentityCheck::Passed)), "{second:?}\n{asserted}");
    assert!(matches!(&signed_in, Ok(SignIn::Passed(u)) if u.id == user.id), "{signed_in:?}\n{discovered}");
    let after = tab.credentials(&authenticator).await;
    // At least the two uses the server accepted; the sign-in page's autofill request may have
    // been answered too before the button aborted it.
    assert!(after[0].sign_count >= on_device[0].sign_count + 2, "each use counted on the device");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_prompt_posts_an_error_marker_the_server_refuses() {
    let Some(idp) = spawn_idp(Backend::Sqlite).await else { return };
    let Some(chromium) = Chromium::launch().await else { return };
    let origin = idp.issuer.split("/realms/").next().unwrap_or_default().replace("127.0.0.1", "localhost");
    let issuer = format!("{origin}/realms/{REALM}");
    let ctx = idp.state.ctx(&idp.realm, &issuer);
    let tab = chromium.tab().await;
    // An authenticator holding no passkey for the site: the browser refuses, as when the
    // member cancels the prompt.
    tab.add_virtual_authenticator().await;
    tab.goto(&format!("{origin}/health/live")).await;

    let (options, ceremony) = passkey::start_sign_in(&ctx).unwrap_or_else(|e| panic!("{e}"));
    let posted = answer(&tab, "sign-in", &options).await;
    let refused = passkey::finish_sign_in(&ctx, &ceremony, &posted, None, IP).await;

    let marker: Value = serde_json::from_str(&posted).unwrap_or_else(|e| panic!("{e}: {posted}"));
    assert!(marker["error"].is_string(), "{posted}");
    assert!(matches!(refused, Ok(SignIn::Refused)), "{refused:?}");
}
