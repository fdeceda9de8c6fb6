//! The IdP's pages: login, errors, logged out. Rendered through `shared_runtime::pages` with the
//! realm's display name on every page.

use crate::i18n::{self, Locale};
use serde::Serialize;

#[derive(Debug)]
pub struct Pages(shared_runtime::pages::Templates);

impl Pages {
    pub fn new() -> Result<Self, minijinja::Error> {
        Ok(Self(shared_runtime::pages::Templates::new(&[
            ("base.html", include_str!("../templates/base.html")),
            ("forms.html", include_str!("../templates/forms.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("message.html", include_str!("../templates/message.html")),
            ("birthdate.html", include_str!("../templates/birthdate.html")),
            ("terms.html", include_str!("../templates/terms.html")),
            ("update_email.html", include_str!("../templates/update_email.html")),
            ("verify_email.html", include_str!("../templates/verify_email.html")),
            ("user_id.html", include_str!("../templates/user_id.html")),
            ("update_password.html", include_str!("../templates/update_password.html")),
            ("forgot_password.html", include_str!("../templates/forgot_password.html")),
            ("forgot_username.html", include_str!("../templates/forgot_username.html")),
            ("totp_setup.html", include_str!("../templates/totp_setup.html")),
            ("totp_login.html", include_str!("../templates/totp_login.html")),
            ("email_otp.html", include_str!("../templates/email_otp.html")),
            ("passkey_register.html", include_str!("../templates/passkey_register.html")),
            ("passkey_login.html", include_str!("../templates/passkey_login.html")),
            ("account_nav.html", include_str!("../templates/account_nav.html")),
            ("account_profile.html", include_str!("../templates/account_profile.html")),
            ("account_signing_in.html", include_str!("../templates/account_signing_in.html")),
            ("account_device_activity.html", include_str!("../templates/account_device_activity.html")),
            ("account_delete_credential.html", include_str!("../templates/account_delete_credential.html")),
        ])?))
    }

    pub fn render<P: Serialize>(
        &self,
        name: &str,
        locale: Locale,
        realm_name: &str,
        page: P,
    ) -> Result<String, minijinja::Error> {
        self.0.render(name, locale, i18n::catalogue(locale), WithRealm { realm_name, page })
    }
}

#[derive(Serialize)]
struct WithRealm<'a, P> {
    realm_name: &'a str,
    #[serde(flatten)]
    page: P,
}

/// A page with a title and one message (errors, logged out).
#[derive(Debug, Serialize)]
pub struct MessagePage {
    pub title_key: &'static str,
    pub message_key: &'static str,
    pub is_error: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_pages_render_in_both_languages() -> Result<(), minijinja::Error> {
        let pages = Pages::new()?;
        for locale in [Locale::Ja, Locale::En] {
            for key in [
                "error.unknown_client",
                "error.invalid_redirect_uri",
                "error.missing_client",
                "error.expired",
                "error.unknown_realm",
                "error.server",
                "login.disabled",
                "login.locked",
                "recovery.too_many",
                "link.invalid",
                "verify.done",
                "reset.done",
                "lockout.too_many_attempts",
            ] {
                let html = pages.render(
                    "message.html",
                    locale,
                    "デモ",
                    MessagePage { title_key: "error.title", message_key: key, is_error: true },
                )?;
                assert!(html.contains(&format!("lang=\"{}\"", locale.code())));
            }
        }
        Ok(())
    }
}
