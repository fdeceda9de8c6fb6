//! The portal's pages (see `shared_runtime::pages` for how they render).

use crate::i18n::{self, Locale};
use crate::session::PortalSession;
use crate::store::{Kenpo, Member};
use serde::Serialize;

/// The portal's pages.
#[derive(Debug)]
pub struct Templates(shared_runtime::pages::Templates);

impl Templates {
    pub fn new() -> Result<Self, minijinja::Error> {
        Ok(Self(shared_runtime::pages::Templates::new(&PAGES)?))
    }

    /// Renders `name` for `locale`, with the header and menu (`chrome`) beside the page's own
    /// fields.
    pub fn render<P: Serialize>(
        &self,
        name: &str,
        locale: Locale,
        chrome: &Chrome,
        page: P,
    ) -> Result<String, minijinja::Error> {
        self.0.render(name, locale, i18n::catalogue(locale), WithChrome { chrome, page })
    }
}

/// Every page, compiled in.
const PAGES: [(&str, &str); 23] = [
    ("base.html", include_str!("../templates/base.html")),
    ("top.html", include_str!("../templates/top.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("logout.html", include_str!("../templates/logout.html")),
    ("guide.html", include_str!("../templates/guide.html")),
    ("faq.html", include_str!("../templates/faq.html")),
    ("medical.html", include_str!("../templates/medical.html")),
    ("person_filter.html", include_str!("../templates/person_filter.html")),
    ("checkups.html", include_str!("../templates/checkups.html")),
    ("prescriptions.html", include_str!("../templates/prescriptions.html")),
    ("benefits.html", include_str!("../templates/benefits.html")),
    ("etax.html", include_str!("../templates/etax.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("notices.html", include_str!("../templates/notices.html")),
    ("notices_one.html", include_str!("../templates/notices_one.html")),
    ("notices_body.html", include_str!("../templates/notices_body.html")),
    ("notices_pager.html", include_str!("../templates/notices_pager.html")),
    ("inbox.html", include_str!("../templates/inbox.html")),
    ("inbox_message.html", include_str!("../templates/inbox_message.html")),
    ("qualification.html", include_str!("../templates/qualification.html")),
    ("survey.html", include_str!("../templates/survey.html")),
    ("survey_sheet.html", include_str!("../templates/survey_sheet.html")),
    ("survey_banner.html", include_str!("../templates/survey_banner.html")),
];

#[derive(Serialize)]
struct WithChrome<'a, P> {
    #[serde(flatten)]
    chrome: &'a Chrome,
    #[serde(flatten)]
    page: P,
}

/// The frame of every page: the kenpo, and for a signed-in member their name (top right, which
/// leads to logout, manual 2-2), the menu and the form token.
#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    pub kenpo_name: String,
    pub member_name: Option<String>,
    pub csrf: Option<String>,
    /// The IdP's account pages: プロフィール変更 and ログイン方法変更.
    pub account_url: String,
    pub signing_in_url: String,
    pub services: Vec<ServiceLink>,
    /// The signed-in member's unread MYメール, shown beside their name.
    pub unread_messages: Option<i64>,
    /// The signed-in member has a 被扶養者資格確認 sheet to hand in: the menu links to `/survey`.
    pub survey_open: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceLink {
    pub key: &'static str,
    pub path: &'static str,
}

impl Chrome {
    /// The account pages are the kenpo's realm's at the IdP.
    pub fn new(kenpo: &Kenpo, signed_in: Option<(&Member, &PortalSession)>) -> Self {
        let issuer = &kenpo.issuer;
        Self {
            kenpo_name: kenpo.display_name.clone(),
            member_name: signed_in.map(|(m, _)| m.name.clone()),
            csrf: signed_in.map(|(_, s)| s.csrf.clone()),
            account_url: format!("{issuer}/account"),
            signing_in_url: format!("{issuer}/account/signing-in"),
            services: kenpo
                .settings
                .services
                .iter()
                .map(|s| ServiceLink { key: s.key(), path: s.path() })
                .collect(),
            unread_messages: None,
            survey_open: false,
        }
    }

    /// With the member's unread MYメール count.
    pub fn with_unread(mut self, unread: Option<i64>) -> Self {
        self.unread_messages = unread;
        self
    }

    /// With whether the member has a survey sheet to hand in.
    pub fn with_survey_open(mut self, open: bool) -> Self {
        self.survey_open = open;
        self
    }

    /// For pages shown when nothing else can be loaded (the error page).
    pub fn bare(kenpo_name: &str) -> Self {
        Self {
            kenpo_name: kenpo_name.to_owned(),
            member_name: None,
            csrf: None,
            account_url: String::new(),
            signing_in_url: String::new(),
            services: Vec::new(),
            unread_messages: None,
            survey_open: false,
        }
    }
}

/// The top page's own context.
#[derive(Debug, Serialize)]
pub struct TopPage {
    pub refresh_day: u8,
    /// The newest お知らせ, for a signed-in member.
    pub notices: Vec<NoticeLine>,
    /// 被扶養者資格確認 sheets the member still has to hand in.
    pub survey_banner: Option<crate::flows::survey::Banner>,
}

/// A notice in a list: its link, title, category key and publication date (Japan time).
#[derive(Debug, Clone, Serialize)]
pub struct NoticeLine {
    pub id: String,
    pub title: String,
    pub category: &'static str,
    pub published_on: String,
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
    fn the_frame_renders_in_both_languages_and_a_missing_key_fails() -> Result<(), minijinja::Error> {
        let templates = Templates::new()?;
        let chrome = Chrome::bare("テスト健保");
        for locale in [Locale::Ja, Locale::En] {
            let top = templates.render(
                "top.html",
                locale,
                &chrome,
                TopPage { refresh_day: 10, notices: Vec::new(), survey_banner: None },
            )?;
            assert!(top.contains(&format!("<html lang=\"{}\">", locale.code())));
            let page = ErrorPage { title_key: "error.server.title", body_key: "error.server.body" };
            templates.render("error.html", locale, &chrome, page)?;
        }
        let top = templates.render(
            "top.html",
            Locale::Ja,
            &chrome,
            TopPage { refresh_day: 10, notices: Vec::new(), survey_banner: None },
        )?;
        assert!(top.contains(">ログイン</a>"), "the manual's 「ログイン」");
        let page = ErrorPage { title_key: "no.such.key", body_key: "error.server.body" };
        assert!(templates.render("error.html", Locale::Ja, &chrome, page).is_err());
        Ok(())
    }

    /// Every literal key a page asks for (`t["…"]`, `t['…']`) is in both catalogues: a page whose
    /// key is missing would otherwise fail only when someone opens it.
    #[test]
    fn every_key_the_pages_name_is_in_both_catalogues() {
        let mut missing = Vec::new();
        for (name, source) in PAGES {
            for quote in ['"', '\''] {
                let open = format!("t[{quote}");
                for (at, _) in source.match_indices(&open) {
                    let rest = &source[at + open.len()..];
                    let Some(end) = rest.find(quote) else { continue };
                    // `t["service." ~ s.key]` builds its key: checked where the keys are listed.
                    if !rest[end + 1..].starts_with(']') {
                        continue;
                    }
                    let key = &rest[..end];
                    for locale in [Locale::Ja, Locale::En] {
                        if !i18n::catalogue(locale).contains_key(key) {
                            missing.push(format!("{name}: {key} ({})", locale.code()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys missing from the catalogues: {missing:#?}");
    }
}
