//! The portal's pages (see `shared_runtime::pages` for how they render).

use crate::i18n::{self, Locale};
use serde::Serialize;

/// The portal's pages.
#[derive(Debug)]
pub struct Templates(shared_runtime::pages::Templates);

impl Templates {
    pub fn new() -> Result<Self, minijinja::Error> {
        Ok(Self(shared_runtime::pages::Templates::new(&[
            ("base.html", include_str!("../templates/base.html")),
            ("top.html", include_str!("../templates/top.html")),
            ("error.html", include_str!("../templates/error.html")),
        ])?))
    }

    /// Renders `name` for `locale`, with the kenpo's name beside the page's own fields.
    pub fn render<P: Serialize>(
        &self,
        name: &str,
        locale: Locale,
        kenpo_name: &str,
        page: P,
    ) -> Result<String, minijinja::Error> {
        self.0.render(name, locale, i18n::catalogue(locale), WithKenpo { kenpo_name, page })
    }
}

#[derive(Serialize)]
struct WithKenpo<'a, P> {
    kenpo_name: &'a str,
    #[serde(flatten)]
    page: P,
}

/// The top page's own context.
#[derive(Debug, Serialize)]
pub struct TopPage {
    pub services: &'static [&'static str],
}

/// An error page's context: catalogue keys of its title and text.
#[derive(Debug, Serialize)]
pub struct ErrorPage {
    pub title_key: &'static str,
    pub body_key: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_in_both_languages() -> Result<(), minijinja::Error> {
        let templates = Templates::new()?;
        for locale in [Locale::Ja, Locale::En] {
            let top = templates.render(
                "top.html",
                locale,
                "テスト健保",
                TopPage { services: crate::http::SERVICES },
            )?;
            assert!(top.contains(&format!("<html lang=\"{}\">", locale.code())));
            for key in ["error.not_found", "error.server"] {
                let page = ErrorPage {
                    title_key: if key == "error.not_found" {
                        "error.not_found.title"
                    } else {
                        "error.server.title"
                    },
                    body_key: if key == "error.not_found" {
                        "error.not_found.body"
                    } else {
                        "error.server.body"
                    },
                };
                templates.render("error.html", locale, "テスト健保", page)?;
            }
        }
        let top = templates.render(
            "top.html",
            Locale::Ja,
            "テスト健保",
            TopPage { services: crate::http::SERVICES },
        )?;
        assert!(top.contains(">ログイン</a>"), "the manual's 「ログイン」");
        Ok(())
    }

    #[test]
    fn a_missing_key_fails_rather_than_rendering_blank() -> Result<(), minijinja::Error> {
        let templates = Templates::new()?;
        let page = ErrorPage { title_key: "no.such.key", body_key: "error.server.body" };
        assert!(templates.render("error.html", Locale::Ja, "x", page).is_err());
        Ok(())
    }
}
