//! The IdP's messages in Japanese (the default, the manual's exact wording) and English.

use shared_runtime::i18n::parse_catalogue;
pub use shared_runtime::i18n::{Catalogue, Locale};
use std::sync::LazyLock;

static JA: LazyLock<Catalogue> = LazyLock::new(|| parse_catalogue(include_str!("ja.toml")));
static EN: LazyLock<Catalogue> = LazyLock::new(|| parse_catalogue(include_str!("en.toml")));

pub fn catalogue(locale: Locale) -> &'static Catalogue {
    match locale {
        Locale::Ja => &JA,
        Locale::En => &EN,
    }
}

/// The language of a login page: `ui_locales` (space-separated, in order of preference), then
/// `Accept-Language`, then Japanese.
pub fn for_request(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
    let chosen = ui_locales.and_then(|list| list.split(' ').find_map(Locale::parse));
    Locale::negotiate(chosen.map(Locale::code), accept_language)
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
    }

    #[test]
    fn the_manuals_wording_is_used() {
        assert_eq!(JA["login.invalid"], "無効なユーザIDまたはパスワードです。");
        assert_eq!(JA["login.remember_me"], "ログイン状態の保存");
        assert_eq!(JA["login.back_to_portal"], "ポータルに戻る");
        assert!(JA["login.locked"].ends_with("ご加入の健保組合までお問い合わせください。"));
    }

    #[test]
    fn ui_locales_come_before_the_browser() {
        assert_eq!(for_request(Some("fr en"), Some("ja")), Locale::En);
        assert_eq!(for_request(Some("fr"), Some("en-US")), Locale::En);
        assert_eq!(for_request(None, None), Locale::Ja);
    }
}
