//! The password policy (2-1 step 10, FAQ Q7, 3-2): 8–64 half-width letters, digits and the
//! manual's symbols; never the user ID, never the current password. A realm may narrow the
//! lengths (the manual leaves the maximum to each kenpo).

use serde::{Deserialize, Serialize};

/// The symbols the manual allows, one per item: ! " # $ % & ' ( ) * ~ ` { + } < > ? _ ^ \ @ [ ; : ] , . / -
/// (the manual prints the backslash as ¥). Space, `=` and `|` are not among them.
pub const PASSWORD_SYMBOLS: &str = "!\"#$%&'()*~`{+}<>?_^\\@[;:],./-";

/// A realm's bounds on password length, inside the manual's 8–64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: PasswordPolicy::MIN, max_length: PasswordPolicy::MAX }
    }
}

/// Why a new password was refused: each is one message on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error("the password is shorter than the minimum")]
    TooShort,
    #[error("the password is longer than the maximum")]
    TooLong,
    #[error("the password contains a character that is not allowed")]
    Character,
    #[error("the password is the same as the user ID")]
    SameAsUsername,
    #[error("the two passwords differ")]
    Mismatch,
}

impl PasswordPolicy {
    pub const MIN: usize = 8;
    pub const MAX: usize = 64;

    /// The realm's bounds, held inside the manual's.
    pub fn bounds(&self) -> (usize, usize) {
        let min = self.min_length.clamp(Self::MIN, Self::MAX);
        (min, self.max_length.clamp(min, Self::MAX))
    }

    /// Checks a new password and its confirmation. "Not the current password" needs the stored
    /// hash and is the flow's to check.
    pub fn check(&self, candidate: &str, confirmation: &str, username: &str) -> Result<(), PasswordError> {
        let (min, max) = self.bounds();
        if candidate.is_empty() {
            return Err(PasswordError::Empty);
        }
        if !candidate.chars().all(is_allowed) {
            return Err(PasswordError::Character);
        }
        // Every allowed character is ASCII, so bytes are characters here.
        if candidate.len() < min {
            return Err(PasswordError::TooShort);
        }
        if candidate.len() > max {
            return Err(PasswordError::TooLong);
        }
        if candidate.eq_ignore_ascii_case(username) {
            return Err(PasswordError::SameAsUsername);
        }
        if candidate != confirmation {
            return Err(PasswordError::Mismatch);
        }
        Ok(())
    }
}

pub fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || PASSWORD_SYMBOLS.contains(c)
}

/// 認証方法: the second factor a member chose (2-1 step 9, Q18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthMethod {
    /// 生体認証 (passkey)
    #[serde(rename = "webauthn")]
    Webauthn,
    /// ワンタイムパスワード (OTP) アプリ認証
    #[serde(rename = "otp")]
    Otp,
    /// ワンタイムパスワード (OTP) メール認証
    #[serde(rename = "email-otp")]
    EmailOtp,
}

impl AuthMethod {
    pub const ALL: [Self; 3] = [Self::Webauthn, Self::Otp, Self::EmailOtp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webauthn => "webauthn",
            Self::Otp => "otp",
            Self::EmailOtp => "email-otp",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<(), PasswordError> {
        PasswordPolicy::default().check(p, p, "taro.kenpo")
    }

    #[test]
    fn lengths_are_8_to_64() {
        assert_eq!(check("abc12345"), Ok(()));
        assert_eq!(check("abc1234"), Err(PasswordError::TooShort));
        assert_eq!(check(&"a".repeat(64)), Ok(()));
        assert_eq!(check(&"a".repeat(65)), Err(PasswordError::TooLong));
    }

    #[test]
    fn every_symbol_of_the_manual_is_allowed_and_nothing_else() {
        for symbol in PASSWORD_SYMBOLS.chars() {
            assert_eq!(check(&format!("abcd123{symbol}")), Ok(()), "{symbol}");
        }
        for refused in [' ', '=', '|', 'あ', 'ａ', '¥'] {
            assert_eq!(check(&format!("abcd123{refused}")), Err(PasswordError::Character), "{refused}");
        }
        assert_eq!(PASSWORD_SYMBOLS.chars().count(), 30);
    }

    #[test]
    fn not_the_user_id_and_the_confirmation_must_match() {
        assert_eq!(check("Taro.Kenpo"), Err(PasswordError::SameAsUsername));
        assert_eq!(
            PasswordPolicy::default().check("abc12345", "abc12346", "u"),
            Err(PasswordError::Mismatch)
        );
        assert_eq!(check(""), Err(PasswordError::Empty));
    }

    #[test]
    fn a_realm_may_narrow_but_not_widen() {
        let narrow = PasswordPolicy { min_length: 12, max_length: 32 };
        assert_eq!(narrow.check("abc123456789", "abc123456789", "u"), Ok(()));
        assert_eq!(narrow.check("abc12345678", "abc12345678", "u"), Err(PasswordError::TooShort));
        assert_eq!(PasswordPolicy { min_length: 4, max_length: 100 }.bounds(), (8, 64));
    }

    #[test]
    fn methods_use_the_stored_names() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.as_str()), Some(m));
        }
    }
}
