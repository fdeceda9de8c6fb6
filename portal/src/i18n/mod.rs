//! Every user-facing string, in Japanese (the default, the manual's wording) and English.
//! Catalogues are compiled in; a test proves both hold the same keys, and pages render with
//! strict undefined handling, so a missing key fails a test instead of showing a blank.

use std::sync::LazyLock;

pub use shared_runtime::i18n::Locale;

pub use shared_runtime::i18n::Catalogue;
use shared_runtime::i18n::parse_catalogue as load;

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
}
