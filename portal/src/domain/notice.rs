//! お知らせ vocabulary: a notice's category.

use serde::{Deserialize, Serialize};

/// A notice's category, each with a label in the catalogues (`notices.category.<key>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeCategory {
    /// 重要
    Important,
    /// 健康保険
    HealthInsurance,
    /// 健診
    Checkups,
    /// その他
    Other,
}

impl NoticeCategory {
    pub const ALL: [Self; 4] = [Self::Important, Self::HealthInsurance, Self::Checkups, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Important => "important",
            Self::HealthInsurance => "health_insurance",
            Self::Checkups => "checkups",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_back_as_itself() {
        for c in NoticeCategory::ALL {
            assert_eq!(NoticeCategory::parse(c.as_str()), Some(c));
        }
        assert_eq!(NoticeCategory::parse("Important"), None);
    }
}
