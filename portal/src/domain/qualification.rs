//! The vocabulary of 資格情報のお知らせ and 資格確認書 (spec §6): why a notice was issued, why a
//! member applies for a card, where an application stands, and the 一部負担割合 of members aged
//! 70–74.

use serde::{Deserialize, Serialize};
use time::Date;

/// Text enums stored and sent as snake_case words, with every value listed once.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

words!(
    /// Why a 資格情報のお知らせ was issued (spec §6: 加入・記号番号/氏名/負担割合変更 etc.).
    NoticeReason {
        /// 資格取得 (加入)
        Enrolment = "enrolment",
        /// 記号・番号・枝番の変更 (転籍 etc.)
        CardChange = "card_change",
        /// 氏名の変更
        NameChange = "name_change",
        /// 負担割合の変更 (70–74歳)
        CopayChange = "copay_change",
        /// 再交付
        Reissue = "reissue",
        Other = "other",
    }
);

words!(
    /// Why a member applies for a (re)issued 資格確認書 (spec §6: by application).
    ApplicationReason {
        /// 紛失
        Lost = "lost",
        /// 破損・汚損
        Damaged = "damaged",
        /// 要配慮者で介助者が必要
        NeedsHelper = "needs_helper",
    }
);

words!(
    /// Where an application stands: 申請中 → 受付 → 交付済み, or 却下.
    ApplicationStatus {
        /// 申請中
        Applied = "applied",
        /// 受付
        Accepted = "accepted",
        /// 却下
        Rejected = "rejected",
        /// 交付済み
        Issued = "issued",
    }
);

impl ApplicationStatus {
    /// Still waiting for the kenpo: a person has at most one such application.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Applied | Self::Accepted)
    }
}

/// 一部負担割合 (70–74歳: 2割 or 3割; 高齢受給者証 is part of the documents since 2024-12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copay {
    /// 10, 20 or 30.
    pub percent: u8,
    /// 発効日
    pub from: Option<Date>,
    /// 有効期限
    pub until: Option<Date>,
}

impl Copay {
    pub fn new(percent: u8, from: Option<Date>, until: Option<Date>) -> Option<Self> {
        let dates_in_order = match (from, until) {
            (Some(f), Some(u)) => f <= u,
            _ => true,
        };
        (matches!(percent, 10 | 20 | 30) && dates_in_order).then_some(Self { percent, from, until })
    }

    /// `2割`
    pub fn tenths(self) -> u8 {
        self.percent / 10
    }
}

/// `YYYY-MM-DD`, as stored and as the kenpo sends it.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn words_round_trip_and_unknown_words_are_refused() {
        for r in NoticeReason::ALL {
            assert_eq!(NoticeReason::parse(r.as_str()), Some(*r));
        }
        for s in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ApplicationReason::parse("needs_helper"), Some(ApplicationReason::NeedsHelper));
        assert_eq!(ApplicationReason::parse("Lost"), None);
        assert!(ApplicationStatus::Accepted.is_open() && !ApplicationStatus::Rejected.is_open());
    }

    #[test]
    fn a_copay_is_one_two_or_three_tenths_with_dates_in_order() {
        assert_eq!(Copay::new(20, None, None).map(Copay::tenths), Some(2));
        assert!(Copay::new(25, None, None).is_none());
        assert!(Copay::new(30, Some(date!(2026 - 08 - 01)), Some(date!(2026 - 07 - 31))).is_none());
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-02-28"), Some(date!(2026 - 02 - 28)));
    }
}
