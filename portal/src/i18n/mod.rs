//! Every user-facing string, in Japanese (the default, the manual's wording) and English.
//! Catalogues are compiled in; a test proves both hold the same keys, and pages render with
//! strict undefined handling, so a missing key fails a test instead of showing a blank.

use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Locale {
    #[serde(rename = "ja")]
    Ja,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Ja => Self::En,
            Self::En => Self::Ja,
        }
    }

    fn parse(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The page language: an explicit choice (`?lang=`), else the browser's first supported
    /// language by `Accept-Language` weight, else Japanese.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Self {
        if let Some(locale) = explicit.and_then(Self::parse) {
            return locale;
        }
        let mut offered: Vec<(f32, Self)> = accept_language
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let locale = Self::parse(parts.next()?)?;
                let weight = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (weight > 0.0).then_some((weight, locale))
            })
            .collect();
        offered.sort_by(|a, b| b.0.total_cmp(&a.0));
        offered.first().map_or(Self::Ja, |(_, l)| *l)
    }
}

pub type Catalogue = BTreeMap<String, String>;

fn load(source: &str) -> Catalogue {
    // The catalogues are compiled in and checked by tests; an unreadable one is a build defect.
    toml::from_str(source).unwrap_or_default()
}

static JA: LazyLock<Catalogue> = LazyLock::new(|| load(include_str!("ja.toml")));
static EN: LazyLock<Catalogue> = LazyLock::new(|| load(include_str!("en.toml")));

pub fn catalogue(locale: Locale) -> &'static Catalogue {
    match locale {
        Locale::Ja => &JA,
        Locale::En => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_hold_the_same_keys() {
        let ja: Vec<_> = JA.keys().collect();
        let en: Vec<_> = EN.keys().collect();
        assert!(!ja.is_empty(), "the Japanese catalogue must parse");
        assert_eq!(ja, en, "every key in both languages");
        assert!(JA.values().chain(EN.values()).all(|v| !v.trim().is_empty()));
    }

    #[test]
    fn japanese_is_the_default_and_accept_language_weights_count() {
        assert_eq!(Locale::negotiate(None, None), Locale::Ja);
        assert_eq!(Locale::negotiate(None, Some("fr-FR, en;q=0.8, ja;q=0.5")), Locale::En);
        assert_eq!(Locale::negotiate(None, Some("en;q=0.3, ja-JP")), Locale::Ja);
        assert_eq!(Locale::negotiate(None, Some("en;q=0")), Locale::Ja);
        assert_eq!(Locale::negotiate(Some("en"), Some("ja")), Locale::En);
        assert_eq!(Locale::negotiate(Some("xx"), Some("en-US")), Locale::En);
    }
}
