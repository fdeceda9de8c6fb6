//! Pages are minijinja templates compiled into the binary, rendered from typed contexts with
//! strict undefined handling: a missing catalogue key is an error, never a blank.

use crate::i18n::{self, Locale};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template("base.html", include_str!("../templates/base.html"))?;
        env.add_template("top.html", include_str!("../templates/top.html"))?;
        env.add_template("error.html", include_str!("../templates/error.html"))?;
        Ok(Self { env })
    }

    /// Renders `name` with what every page has (locale, catalogue, kenpo name) and `page`.
    pub fn render<P: Serialize>(
        &self,
        name: &str,
        locale: Locale,
        kenpo_name: &str,
        page: P,
    ) -> Result<String, minijinja::Error> {
        let common = Common {
            locale: locale.code(),
            other_locale: locale.other().code(),
            t: i18n::catalogue(locale),
            kenpo_name,
        };
        self.env.get_template(name)?.render(Page { common, page })
    }
}

/// What a template sees: the common fields and the page's own, side by side.
#[derive(Serialize)]
struct Page<'a, P> {
    #[serde(flatten)]
    common: Common<'a>,
    #[serde(flatten)]
    page: P,
}

#[derive(Serialize)]
struct Common<'a> {
    locale: &'static str,
    other_locale: &'static str,
    t: &'a i18n::Catalogue,
    kenpo_name: &'a str,
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
