//! お知らせ and MYメール vocabulary: a notice's category, and the portal's own messages.

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

/// A MYメール message the portal sends by itself when the kenpo publishes new information, one
/// per category of the update mails (spec §2.11). Its subject and text are the catalogue's
/// (`inbox.system.<key>.subject` and `.body`), in the reader's language; like the mails, they
/// never carry medical content, only "new information is available".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemMessage {
    /// 資格確認書
    QualificationCertificate,
    /// 資格情報のお知らせ
    QualificationNotice,
    /// 医療費情報
    MedicalExpenses,
    /// 処方医薬品照会
    Prescriptions,
    /// 電子申請
    Applications,
    /// 健診結果
    Checkups,
    /// 支給決定通知
    Benefits,
}

impl SystemMessage {
    pub const ALL: [Self; 7] = [
        Self::QualificationCertificate,
        Self::QualificationNotice,
        Self::MedicalExpenses,
        Self::Prescriptions,
        Self::Applications,
        Self::Checkups,
        Self::Benefits,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::QualificationCertificate => "qualification_certificate",
            Self::QualificationNotice => "qualification_notice",
            Self::MedicalExpenses => "medical_expenses",
            Self::Prescriptions => "prescriptions",
            Self::Applications => "applications",
            Self::Checkups => "checkups",
            Self::Benefits => "benefits",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
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
        for k in SystemMessage::ALL {
            assert_eq!(SystemMessage::parse(k.as_str()), Some(k));
        }
        assert_eq!(NoticeCategory::parse("Important"), None);
    }
}
