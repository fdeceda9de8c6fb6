//! Page language: Japanese by default (the manual's wording), English complete. Each service
//! keeps its own catalogues; this decides which one a request gets.

use std::collections::BTreeMap;

/// A service's messages in one language: key → text.
pub type Catalogue = BTreeMap<String, String>;

/// Parses a compiled-in TOML catalogue. Each service's tests prove its catalogues parse and
/// hold the same keys, so an empty result here means a failing test, not a blank page.
pub fn parse_catalogue(source: &str) -> Catalogue {
    toml::from_str(source).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Ja,
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

    pub fn parse(code: &str) -> Option<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
