//! よくある質問: categories → questions → answers. The portal carries the manual's FAQ
//! (section 5) in both languages; a kenpo may replace it with its own document of the same
//! shape, per language (`kenpo-portal faq set`).

use crate::i18n::Locale;
use crate::store::{KenpoStore, StoreError};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::LazyLock;

/// A kenpo's FAQ document is refused above this size: it is read at every FAQ page.
pub const MAX_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub title: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub question: String,
    /// Paragraphs.
    pub answer: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    category: Vec<Category>,
}

/// Why a kenpo's FAQ document was refused; the place is 1-based, as a reader counts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaqError {
    #[error("the document is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("not a FAQ document: {0}")]
    Toml(String),
    #[error("the document has no question")]
    Empty,
    #[error("category {category}: the title is empty")]
    NoTitle { category: usize },
    #[error("category {category}, question {item}: the question or its answer is empty")]
    EmptyItem { category: usize, item: usize },
}

/// Parses and checks a FAQ document (TOML: `[[category]]` with a `title`, then
/// `[[category.items]]` with a `question` and `answer`, a list of paragraphs).
pub fn parse(source: &str) -> Result<Vec<Category>, FaqError> {
    if source.len() > MAX_BYTES {
        return Err(FaqError::TooLarge);
    }
    let file: File = toml::from_str(source).map_err(|e| FaqError::Toml(e.message().to_owned()))?;
    if file.category.iter().all(|c| c.items.is_empty()) {
        return Err(FaqError::Empty);
    }
    for (c, category) in file.category.iter().enumerate() {
        if category.title.trim().is_empty() {
            return Err(FaqError::NoTitle { category: c + 1 });
        }
        for (i, item) in category.items.iter().enumerate() {
            if item.question.trim().is_empty() || item.answer.iter().all(|p| p.trim().is_empty()) {
                return Err(FaqError::EmptyItem { category: c + 1, item: i + 1 });
            }
        }
    }
    Ok(file.category)
}

fn builtin_parse(source: &str) -> Vec<Category> {
    parse(source).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the portal's own FAQ is unreadable");
        Vec::new()
    })
}

static JA: LazyLock<Vec<Category>> = LazyLock::new(|| builtin_parse(include_str!("faq/ja.toml")));
static EN: LazyLock<Vec<Category>> = LazyLock::new(|| builtin_parse(include_str!("faq/en.toml")));

/// The portal's own FAQ (the manual's).
pub fn builtin(locale: Locale) -> &'static [Category] {
    match locale {
        Locale::Ja => &JA,
        Locale::En => &EN,
    }
}

/// The portal's own FAQ as a document, for a kenpo to start its own from.
pub fn builtin_source(locale: Locale) -> &'static str {
    match locale {
        Locale::Ja => include_str!("faq/ja.toml"),
        Locale::En => include_str!("faq/en.toml"),
    }
}

/// The FAQ a kenpo's members read in `locale`: the kenpo's own in that language, else its own in
/// Japanese (its answers are about its own rules, which the portal's cannot know), else the
/// portal's.
pub async fn for_kenpo(
    db: &impl KenpoStore,
    kenpo_id: &str,
    locale: Locale,
) -> Result<Cow<'static, [Category]>, StoreError> {
    let mut document = db.kenpo_faq(kenpo_id, locale.code()).await?;
    if document.is_none() && locale != Locale::Ja {
        document = db.kenpo_faq(kenpo_id, Locale::Ja.code()).await?;
    }
    Ok(match document.map(|d| parse(&d)) {
        Some(Ok(categories)) => Cow::Owned(categories),
        Some(Err(e)) => {
            // Checked when written; a document this version cannot read falls back.
            tracing::error!(kenpo = kenpo_id, error = %e, "kenpo FAQ unreadable; showing the portal's");
            Cow::Borrowed(builtin(locale))
        }
        None => Cow::Borrowed(builtin(locale)),
    })
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

    #[test]
    fn a_kenpo_document_is_checked_and_placed_errors_count_from_one() {
        let good = "[[category]]\ntitle = \"届出\"\n[[category.items]]\nquestion = \"住所が変わった\"\nanswer = [\"事業主経由で届け出てください。\"]\n";
        assert_eq!(parse(good).map(|c| c[0].items[0].question.clone()), Ok("住所が変わった".to_owned()));
        let no_answer = good.replace("[\"事業主経由で届け出てください。\"]", "[\" \"]");
        assert_eq!(parse(&no_answer), Err(FaqError::EmptyItem { category: 1, item: 1 }));
        assert_eq!(parse(&good.replace("届出", "")), Err(FaqError::NoTitle { category: 1 }));
        assert_eq!(parse("[[category]]\ntitle = \"x\"\nitems = []\n"), Err(FaqError::Empty));
        assert!(matches!(parse("[[category]]\ntitel = \"x\"\n"), Err(FaqError::Toml(_))));
        assert!(matches!(parse("not toml ["), Err(FaqError::Toml(_))));
        assert_eq!(parse(&"#".repeat(MAX_BYTES + 1)), Err(FaqError::TooLarge));
        assert_eq!(parse(builtin_source(Locale::En)).map(|c| c.len()), Ok(EN.len()));
    }
}
