//! Identifiers: realm names, client IDs and user IDs (ユーザID).

use serde::{Deserialize, Serialize};

/// Why a realm name or client ID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must be 1 to {max} characters")]
    Length { max: usize },
    #[error("may contain only {allowed}")]
    Characters { allowed: &'static str },
}

/// A realm's name: one kenpo, and the `{realm}` in `/realms/{realm}/...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RealmName(String);

impl RealmName {
    pub const MAX: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() || raw.len() > Self::MAX {
            return Err(NameError::Length { max: Self::MAX });
        }
        let ok = raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok {
            return Err(NameError::Characters {
                allowed: "lower-case letters, digits, '-' and '_', starting with a letter or digit",
            });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An OAuth client's `client_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub const MAX: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() || raw.len() > Self::MAX {
            return Err(NameError::Length { max: Self::MAX });
        }
        // RFC 6749 appendix A.1 allows any printable ASCII; we also refuse space and ':' so
        // the value is safe inside HTTP Basic credentials without escaping surprises.
        if !raw.chars().all(|c| c.is_ascii_graphic() && c != ':') {
            return Err(NameError::Characters { allowed: "printable ASCII without space or ':'" });
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a user ID was refused. Each maps to one message of the manual (2-1 step 8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("the user ID is empty")]
    Empty,
    #[error("the user ID must be {min} to {max} characters")]
    Length { min: usize, max: usize },
    #[error("the user ID contains a character that is not allowed: {0:?}")]
    Character(char),
}

/// A user ID (ユーザID). Stored lower case: the manual accepts upper case and keeps it lower.
///
/// Two rules exist. A member choosing their own ID (first login, profile) gets the manual's
/// 8–13 characters. An ID the kenpo issues (the 仮ID in the member list) only has to use the
/// same characters, since kenpo systems number their members in their own ways.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Half-width letters, digits and these symbols (manual 2-1 step 8).
    pub const ALLOWED_SYMBOLS: [char; 4] = ['-', '_', '.', '@'];
    pub const CHOSEN_MIN: usize = 8;
    pub const CHOSEN_MAX: usize = 13;
    pub const ISSUED_MAX: usize = 64;

    /// A user ID the member picks: 8–13 allowed characters.
    pub fn parse_chosen(raw: &str) -> Result<Self, UsernameError> {
        Self::parse_with(raw, Self::CHOSEN_MIN, Self::CHOSEN_MAX)
    }

    /// A user ID the kenpo issues: 1–64 allowed characters.
    pub fn parse_issued(raw: &str) -> Result<Self, UsernameError> {
        Self::parse_with(raw, 1, Self::ISSUED_MAX)
    }

    fn parse_with(raw: &str, min: usize, max: usize) -> Result<Self, UsernameError> {
        if raw.is_empty() {
            return Err(UsernameError::Empty);
        }
        if let Some(bad) = raw.chars().find(|c| !Self::is_allowed(*c)) {
            return Err(UsernameError::Character(bad));
        }
        // All allowed characters are ASCII, so bytes are characters here.
        if raw.len() < min || raw.len() > max {
            return Err(UsernameError::Length { min, max });
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    pub fn is_allowed(c: char) -> bool {
        c.is_ascii_alphanumeric() || Self::ALLOWED_SYMBOLS.contains(&c)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_conversions {
    ($($ty:ident => $parse:ident),* $(,)?) => {$(
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::$parse(&raw).map_err(|e| e.to_string())
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
pub(crate) use string_newtype_conversions;

string_newtype_conversions!(RealmName => parse, ClientId => parse, Username => parse_issued);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_user_id_is_stored_lower_case() {
        let id = Username::parse_chosen("Taro.Kenpo@1").map(|u| u.to_string());
        assert_eq!(id.as_deref(), Ok("taro.kenpo@1"));
    }

    #[test]
    fn chosen_user_id_length_is_8_to_13() {
        assert!(Username::parse_chosen("abcdefg").is_err());
        assert!(Username::parse_chosen("abcdefgh").is_ok());
        assert!(Username::parse_chosen("abcdefghijklm").is_ok());
        assert_eq!(Username::parse_chosen("abcdefghijklmn"), Err(UsernameError::Length { min: 8, max: 13 }));
    }

    #[test]
    fn user_id_refuses_full_width_and_other_symbols() {
        assert_eq!(Username::parse_chosen("ａｂｃdefghi"), Err(UsernameError::Character('ａ')));
        assert_eq!(Username::parse_chosen("abc+defghi"), Err(UsernameError::Character('+')));
        assert_eq!(Username::parse_issued(""), Err(UsernameError::Empty));
    }

    #[test]
    fn issued_user_id_may_be_short() {
        assert!(Username::parse_issued("K0001").is_ok());
    }

    #[test]
    fn realm_names_are_url_safe() {
        assert!(RealmName::parse("demo").is_ok());
        assert!(RealmName::parse("Demo").is_err());
        assert!(RealmName::parse("-demo").is_err());
        assert!(RealmName::parse("de mo").is_err());
    }

    #[test]
    fn client_ids_refuse_colon_and_space() {
        assert!(ClientId::parse("portal").is_ok());
        assert!(ClientId::parse("por:tal").is_err());
        assert!(ClientId::parse("por tal").is_err());
    }
}
