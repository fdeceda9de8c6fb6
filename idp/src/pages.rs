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
            ("login.html", include_str!("../templates/login.html")),
            ("message.html", include_str!("../templates/message.html")),
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

/// The login form.
#[derive(Debug, Serialize)]
pub struct LoginPage<'a> {
    pub action: &'a str,
    pub csrf_token: &'a str,
    pub username: &'a str,
    /// A catalogue key.
    pub error: Option<&'static str>,
    pub portal_url: Option<&'a str>,
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
    fn every_page_renders_in_both_languages() -> Result<(), minijinja::Error> {
        let pages = Pages::new()?;
        for locale in [Locale::Ja, Locale::En] {
            let login = LoginPage {
                action: "/a",
                csrf_token: "c",
                username: "u",
                error: Some("login.invalid"),
                portal_url: Some("/"),
            };
            let html = pages.render("login.html", locale, "デモ", login)?;
            assert!(html.contains(&format!("lang=\"{}\"", locale.code())));
            for key in [
                "error.unknown_client",
                "error.invalid_redirect_uri",
                "error.missing_client",
                "error.expired",
                "error.unknown_realm",
                "error.server",
                "login.disabled",
                "login.actions_pending",
                "lockout.too_many_attempts",
            ] {
                pages.render(
                    "message.html",
                    locale,
                    "デモ",
                    MessagePage { title_key: "error.title", message_key: key, is_error: true },
                )?;
            }
            pages.render(
                "message.html",
                locale,
                "デモ",
                MessagePage { title_key: "logout.title", message_key: "logout.done", is_error: false },
            )?;
        }
        let login = LoginPage {
            action: "/a",
            csrf_token: "c",
            username: "<script>",
            error: Some("login.invalid"),
            portal_url: None,
        };
        let html = pages.render("login.html", Locale::Ja, "デモ", login)?;
        assert!(html.contains("無効なユーザIDまたはパスワードです。") && !html.contains("<script>"));
        Ok(())
    }
}
