//! What the kenpo knows of a member: birth date, relationship, and the steps still owed at login.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::Date;
use time::macros::format_description;

/// A birth date, entered as the manual's `YYYYMMDD` (入力例:19790822).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BirthDate(Date);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the birth date must be 8 digits, YYYYMMDD, and a real date")]
pub struct BirthDateError;

impl BirthDate {
    /// `YYYYMMDD`, as members type it and kenpo files carry it.
    pub fn parse_compact(raw: &str) -> Result<Self, BirthDateError> {
        let raw = raw.trim();
        if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BirthDateError);
        }
        Date::parse(raw, format_description!("[year][month][day]")).map(Self).map_err(|_| BirthDateError)
    }

    /// ISO 8601 `YYYY-MM-DD`, how the database and OIDC's `birthdate` claim hold it.
    pub fn parse_iso(raw: &str) -> Result<Self, BirthDateError> {
        Date::parse(raw, format_description!("[year]-[month]-[day]")).map(Self).map_err(|_| BirthDateError)
    }

    pub fn date(&self) -> Date {
        self.0
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }
}

impl TryFrom<String> for BirthDate {
    type Error = BirthDateError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse_iso(&raw)
    }
}

impl From<BirthDate> for String {
    fn from(d: BirthDate) -> String {
        d.to_string()
    }
}

/// 被保険者 (the insured, 本人) or 被扶養者 (a dependant, 家族).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Insured,
    Dependant,
}

impl Relationship {
    /// The member list's `relationship` column: 本人 or 家族.
    pub fn from_label(raw: &str) -> Option<Self> {
        match raw.trim() {
            "本人" => Some(Self::Insured),
            "家族" => Some(Self::Dependant),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insured => "insured",
            Self::Dependant => "dependant",
        }
    }
}

impl FromStr for Relationship {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "insured" => Ok(Self::Insured),
            "dependant" => Ok(Self::Dependant),
            _ => Err(()),
        }
    }
}

/// A step the member must complete before a login finishes. Keycloak's aliases where Keycloak
/// has the action, so its admin tools read ours; the variant order is the manual's first-login
/// order (2-1 steps 4–10), which the required-action engine follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RequiredAction {
    /// 生年月日の入力
    #[serde(rename = "VERIFY_BIRTHDATE")]
    VerifyBirthdate,
    /// 利用規約への同意
    #[serde(rename = "TERMS_AND_CONDITIONS")]
    TermsAndConditions,
    /// メールアドレスの更新
    #[serde(rename = "UPDATE_EMAIL")]
    UpdateEmail,
    /// メール認証
    #[serde(rename = "VERIFY_EMAIL")]
    VerifyEmail,
    /// ユーザIDの設定・認証方法の選択
    #[serde(rename = "UPDATE_USER_ID")]
    UpdateUserId,
    /// パスワードの変更
    #[serde(rename = "UPDATE_PASSWORD")]
    UpdatePassword,
    /// OTP app setup
    #[serde(rename = "CONFIGURE_TOTP")]
    ConfigureTotp,
    /// Passkey setup
    #[serde(rename = "webauthn-register")]
    WebauthnRegister,
}

impl RequiredAction {
    pub const ALL: [Self; 8] = [
        Self::VerifyBirthdate,
        Self::TermsAndConditions,
        Self::UpdateEmail,
        Self::VerifyEmail,
        Self::UpdateUserId,
        Self::UpdatePassword,
        Self::ConfigureTotp,
        Self::WebauthnRegister,
    ];

    /// Keycloak's alias, as in `?execution=` and the admin API.
    pub fn alias(self) -> &'static str {
        match self {
            Self::VerifyBirthdate => "VERIFY_BIRTHDATE",
            Self::TermsAndConditions => "TERMS_AND_CONDITIONS",
            Self::UpdateEmail => "UPDATE_EMAIL",
            Self::VerifyEmail => "VERIFY_EMAIL",
            Self::UpdateUserId => "UPDATE_USER_ID",
            Self::UpdatePassword => "UPDATE_PASSWORD",
            Self::ConfigureTotp => "CONFIGURE_TOTP",
            Self::WebauthnRegister => "webauthn-register",
        }
    }

    pub fn from_alias(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.alias() == raw)
    }

    /// What a member imported with a 仮ID owes on first login, in the manual's order.
    pub const FIRST_LOGIN: [Self; 6] = [
        Self::VerifyBirthdate,
        Self::TermsAndConditions,
        Self::UpdateEmail,
        Self::VerifyEmail,
        Self::UpdateUserId,
        Self::UpdatePassword,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_date_parses_the_manuals_example() {
        let d = BirthDate::parse_compact("19790822").map(|d| d.to_string());
        assert_eq!(d.as_deref(), Ok("1979-08-22"));
    }

    #[test]
    fn birth_date_refuses_impossible_dates_and_other_shapes() {
        for bad in ["19790230", "1979-08-22", "1979082", "197908221", "abcdefgh", ""] {
            assert!(BirthDate::parse_compact(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relationship_labels_are_the_kenpo_files() {
        assert_eq!(Relationship::from_label("本人"), Some(Relationship::Insured));
        assert_eq!(Relationship::from_label("家族"), Some(Relationship::Dependant));
        assert_eq!(Relationship::from_label("配偶者"), None);
    }

    #[test]
    fn first_login_actions_are_in_the_manuals_order() {
        let mut sorted = RequiredAction::FIRST_LOGIN;
        sorted.sort();
        assert_eq!(sorted, RequiredAction::FIRST_LOGIN);
    }

    #[test]
    fn aliases_match_the_serialised_names() {
        for action in RequiredAction::ALL {
            let json = serde_json::to_string(&action).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", action.alias()));
            assert_eq!(RequiredAction::from_alias(action.alias()), Some(action));
        }
    }

    #[test]
    fn required_actions_use_keycloak_aliases() {
        let json = serde_json::to_string(&RequiredAction::FIRST_LOGIN).unwrap_or_default();
        assert_eq!(
            json,
            r#"["VERIFY_BIRTHDATE","TERMS_AND_CONDITIONS","UPDATE_EMAIL","VERIFY_EMAIL","UPDATE_USER_ID","UPDATE_PASSWORD"]"#
        );
    }
}
