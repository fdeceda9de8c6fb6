//! The portal's vocabulary, parsed once at the edge (CSV import, URLs, forms) so that flows and
//! stores never see an unchecked string: months, categories, relations, ids.

mod benefit;
mod month;
mod notice;
mod qualification;

pub use benefit::{BenefitKind, Payee};
pub use month::{Month, MonthError};
pub use notice::NoticeCategory;
pub use qualification::{ApplicationReason, ApplicationStatus, Copay, NoticeReason, parse_date};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Japan's time: the kenpo's days, months, deadlines and retention turn at midnight here.
pub const JST: time::UtcOffset = time::macros::offset!(+9);

/// The day it is in Japan at `now`.
pub fn japan_date(now: time::OffsetDateTime) -> time::Date {
    now.to_offset(JST).date()
}

/// Identifiers are UUIDs minted by the portal; the kenpo's own keys (記号・番号・枝番, claim and
/// notice numbers) live beside them.
macro_rules! id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The portal's id of ", $what, ".")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// An id read back from the database or the portal's own URLs; `None` unless it is a
            /// UUID, so a tampered URL never reaches a query.
            pub fn parse(s: &str) -> Option<Self> {
                uuid::Uuid::parse_str(s).ok().map(|u| Self(u.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// From the database, where only ids we minted are stored.
            pub(crate) fn from_db(s: String) -> Self {
                Self(s)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id!(KenpoId, "a kenpo (tenant)");
id!(HouseholdId, "an insured person's household");
id!(MemberId, "a member (被保険者 or 被扶養者)");
id!(NoticeId, "a notice (お知らせ)");
id!(AttachmentId, "a notice's attached file");
id!(MessageId, "a MYメール message");

/// 被保険者 or 被扶養者.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Insured,
    Dependant,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insured => "insured",
            Self::Dependant => "dependant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "insured" => Some(Self::Insured),
            "dependant" => Some(Self::Dependant),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "male" => Some(Self::Male),
            "female" => Some(Self::Female),
            _ => None,
        }
    }
}

/// 診療区分: a レセプト is split by it even for the same institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 入院
    Inpatient,
    /// 外来 (入院外)
    Outpatient,
    /// 歯科
    Dental,
    /// 調剤 (薬局)
    Pharmacy,
    /// 訪問看護
    VisitingNursing,
    /// 柔整 (接骨院): no institution name is given, so notices print it blank.
    Judo,
}

impl Category {
    pub const ALL: [Self; 6] =
        [Self::Inpatient, Self::Outpatient, Self::Dental, Self::Pharmacy, Self::VisitingNursing, Self::Judo];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inpatient => "inpatient",
            Self::Outpatient => "outpatient",
            Self::Dental => "dental",
            Self::Pharmacy => "pharmacy",
            Self::VisitingNursing => "visiting_nursing",
            Self::Judo => "judo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Medicine bought (医薬品購入) rather than care received (診療・治療), in the NTA's
    /// 医療費集計フォーム: 調剤 alone.
    pub fn is_medicine(self) -> bool {
        self == Self::Pharmacy
    }
}
