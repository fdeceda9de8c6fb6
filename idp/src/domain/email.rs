//! Email addresses, with the manual's rules (2-1 step 6, 3-5).

use serde::{Deserialize, Serialize};

/// Why an address was refused. The manual shows #3 and #4 together for an over-long address,
/// so [`EmailError::TooLong`] says both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is not valid")]
    Invalid,
    #[error("the email address is not valid and longer than {} characters", Email::MAX)]
    TooLong,
}

/// A syntactically valid email address, as the member typed it (case kept). Uniqueness in a
/// realm ignores case; see [`Email::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// 「設定可能なメールアドレスの最大文字数は255文字です。」
    pub const MAX: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(EmailError::Empty);
        }
        if raw.chars().count() > Self::MAX {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = raw.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if valid_local(local) && valid_domain(domain) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(EmailError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness: the whole address lower-cased. Mail providers treat the
    /// local part case-insensitively in practice, and two accounts differing only in case would
    /// receive each other's reset mail.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// The dot-atom of RFC 5322 §3.4.1 without `?`, which the manual names as invalid; no quoted
/// strings, no leading, trailing or doubled dots (so no dot right before `@`).
fn valid_local(local: &str) -> bool {
    const SYMBOLS: &str = "!#$%&'*+/=^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && local.split('.').all(|atom| {
            !atom.is_empty() && atom.chars().all(|c| c.is_ascii_alphanumeric() || SYMBOLS.contains(c))
        })
}

/// A host name with at least two labels (mail to a bare host never reaches a member).
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
}

super::names::string_newtype_conversions!(Email => parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["taro@example.jp", "Taro.Kenpo+portal@mail.example.co.jp", "a_b-c@x-y.example.com"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_question_mark_and_dot_before_at() {
        assert_eq!(Email::parse("taro?@example.jp"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("taro.@example.jp"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("taro..kenpo@example.jp"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("taro@localhost"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("taro@@example.jp"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("taroexample.jp"), Err(EmailError::Invalid));
    }

    #[test]
    fn empty_and_too_long_have_their_own_errors() {
        assert_eq!(Email::parse("  "), Err(EmailError::Empty));
        let long = format!("{}@example.jp", "a".repeat(244));
        assert_eq!(long.len(), 255);
        assert!(Email::parse(&long).is_err(), "local part over 64 is invalid");
        let long = format!("taro@{}.jp", "a".repeat(250));
        assert_eq!(long.len(), 258);
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    /// A well-formed address of `length` characters: `taro@` and labels of at most 63, so only
    /// its length can be wrong.
    fn address_of_length(length: usize) -> String {
        let label = |c: &str| c.repeat(63);
        let last = "d".repeat(length - "taro@".len() - 3 * 64 - ".jp".len());
        format!("taro@{}.{}.{}.{last}.jp", label("a"), label("b"), label("c"))
    }

    #[test]
    fn an_address_of_255_characters_is_accepted_and_256_refused() {
        let longest = address_of_length(Email::MAX);
        assert_eq!(longest.chars().count(), 255);
        assert_eq!(Email::parse(&longest).map(|e| e.as_str().chars().count()), Ok(255));
        let too_long = address_of_length(Email::MAX + 1);
        assert_eq!(too_long.chars().count(), 256);
        assert_eq!(Email::parse(&too_long), Err(EmailError::TooLong));
    }

    #[test]
    fn uniqueness_key_ignores_case() {
        let a = Email::parse("Taro@Example.JP").map(|e| e.key());
        assert_eq!(a.as_deref(), Ok("taro@example.jp"));
    }
}
