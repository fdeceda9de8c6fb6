//! よくある質問: categories → questions → answers, seeded from the manual's FAQ (section 5) in
//! both languages, compiled in. (A kenpo's own file of the same shape is not supported yet.)

use crate::i18n::Locale;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Category {
    pub title: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub question: String,
    /// Paragraphs.
    pub answer: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct File {
    category: Vec<Category>,
}

fn parse(source: &str) -> Vec<Category> {
    match toml::from_str::<File>(source) {
        Ok(f) => f.category,
        Err(e) => {
            tracing::error!(error = %e, "FAQ file unreadable");
            Vec::new()
        }
    }
}

static JA: LazyLock<Vec<Category>> = LazyLock::new(|| parse(include_str!("faq/ja.toml")));
static EN: LazyLock<Vec<Category>> = LazyLock::new(|| parse(include_str!("faq/en.toml")));

pub fn for_locale(locale: Locale) -> &'static [Category] {
    match locale {
        Locale::Ja => &JA,
        Locale::En => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_hold_the_same_questions() {
        assert!(!JA.is_empty());
        assert_eq!(JA.len(), EN.len());
        for (ja, en) in JA.iter().zip(EN.iter()) {
            assert_eq!(ja.items.len(), en.items.len(), "{}", ja.title);
            assert!(
                ja.items
                    .iter()
                    .chain(en.items.iter())
                    .all(|i| !i.question.is_empty() && !i.answer.is_empty())
            );
        }
        let q8 = JA
            .iter()
            .flat_map(|c| &c.items)
            .any(|i| i.question.contains("無効なユーザIDまたはパスワードです。"));
        assert!(q8, "the manual's Q8 is there word for word");
    }
}
