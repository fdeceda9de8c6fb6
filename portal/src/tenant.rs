//! A kenpo's settings (spec "Decisions that hold across features"): which edition and services
//! its members get, how long data is kept, and who in a household sees what. Stored as one JSON
//! document per kenpo; every field has the default the spec names, so a kenpo that set nothing
//! still gets a sensible portal.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edition {
    /// スタンダード版
    Standard,
    /// リッチ版: adds year-over-year checkup charts and explanations.
    Rich,
}

/// A service with an icon on the top page, in the manual's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    MedicalExpenses,
    Benefits,
    Prescriptions,
    Etax,
    Checkups,
    /// 資格情報のお知らせ / 資格確認書 (spec §6).
    Qualification,
}

impl Service {
    pub const ALL: [Self; 6] = [
        Self::MedicalExpenses,
        Self::Benefits,
        Self::Prescriptions,
        Self::Etax,
        Self::Checkups,
        Self::Qualification,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::MedicalExpenses => "medical_expenses",
            Self::Benefits => "benefits",
            Self::Prescriptions => "prescriptions",
            Self::Etax => "etax",
            Self::Checkups => "checkups",
            Self::Qualification => "qualification",
        }
    }

    /// The page the icon leads to.
    pub fn path(self) -> &'static str {
        match self {
            Self::MedicalExpenses => "/medical-expenses",
            Self::Benefits => "/benefits",
            Self::Prescriptions => "/prescriptions",
            Self::Etax => "/etax",
            Self::Checkups => "/checkups",
            Self::Qualification => "/qualification",
        }
    }

    /// Whether the data is health data (要配慮個人情報), whose every read is recorded.
    pub fn is_health_data(self) -> bool {
        true
    }
}

/// What an update mail announces (spec §2.11 通知設定): a member opts in per category, among
/// those the kenpo enables. The mail says only that something new is there, never what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailCategory {
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

impl MailCategory {
    pub const ALL: [Self; 7] = [
        Self::QualificationCertificate,
        Self::QualificationNotice,
        Self::MedicalExpenses,
        Self::Prescriptions,
        Self::Applications,
        Self::Checkups,
        Self::Benefits,
    ];

    pub fn key(self) -> &'static str {
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

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub edition: Edition,
    /// The services the top page and menu offer, in this order.
    pub services: Vec<Service>,
    /// Months of data kept and shown; older data is deleted by the retention job (spec §1: 2 years).
    pub retention_months: u32,
    /// Whether a member who lost eligibility (資格喪失) still signs in to read their data.
    pub keep_access_after_loss: bool,
    /// Whether the insured person sees the household's data (implied consent; each dependant may
    /// opt out).
    pub household_visible: bool,
    /// Whether dependants' checkup results are shown at all (some kenpo show only the insured's).
    pub dependants_checkups: bool,
    /// The day of the month new data is published (shown to members).
    pub refresh_day: u8,
    /// The organisation name printed on notices (保険者等の名称); the display name when empty.
    pub insurer_name: String,
    /// The update mails members may opt in to (通知設定), in this order.
    pub mail_categories: Vec<MailCategory>,
    /// The address update mails come from (the kenpo's `info@`); empty: `info@` the portal's
    /// `KENPO_PORTAL_MAIL_DOMAIN`.
    pub mail_from: String,
    /// Months a MYメール message is kept after it was sent; older ones are deleted by the
    /// retention job and no longer shown.
    pub inbox_retention_months: u32,
    /// 保険者番号 printed on 資格情報のお知らせ (8 digits for a kenpo); none printed when empty.
    pub insurer_number: String,
    /// Whose 資格情報のお知らせ and 資格確認書 a login handles (spec §6: some kenpo let only the
    /// 被保険者 download the dependants' notices).
    pub qualification_pdf: QualificationPdf,
    /// Months an expired お知らせ is kept (for the kenpo's API) after its `expires_at`; then the
    /// retention job deletes it with its files. A notice without an expiry is kept until deleted.
    pub notice_retention_months: u32,
    /// Whether a member import issues 資格情報のお知らせ itself (spec §6: on 加入 and on a change
    /// of 氏名 or 記号番号; `flows::qualification::on_import`). Off: the kenpo records each notice
    /// through its API.
    pub qualification_notice_on_import: bool,
    /// 被扶養者資格確認: how many days before a survey's deadline the insured of a household
    /// with sheets still to hand in is reminded by mail, once at each (0: on the deadline day);
    /// empty: never.
    pub survey_reminder_days: Vec<u16>,
}

/// Who downloads whose 資格情報のお知らせ and applies for whose 資格確認書.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualificationPdf {
    /// The insured handles the household's; a dependant with their own login, their own.
    #[default]
    InsuredForHousehold,
    /// Only the insured's login handles them, the dependants' included.
    InsuredOnly,
    /// Everyone handles only their own.
    #[serde(rename = "self")]
    OwnOnly,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            edition: Edition::Standard,
            services: Service::ALL.to_vec(),
            retention_months: 24,
            keep_access_after_loss: true,
            household_visible: true,
            dependants_checkups: true,
            refresh_day: 10,
            insurer_name: String::new(),
            mail_categories: MailCategory::ALL.to_vec(),
            inbox_retention_months: 24,
            insurer_number: String::new(),
            qualification_pdf: QualificationPdf::default(),
            qualification_notice_on_import: false,
            mail_from: String::new(),
            notice_retention_months: 24,
            survey_reminder_days: vec![7, 1],
        }
    }
}

/// At most this many reminders per survey, each at most this many days before its deadline.
const MAX_REMINDERS: usize = 5;
const MAX_REMINDER_DAYS: u16 = 60;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("kenpo settings: {0}")]
    Json(#[from] serde_json::Error),
    #[error("kenpo settings: retention_months must be between 1 and 120")]
    Retention,
    #[error("kenpo settings: refresh_day must be between 1 and 28")]
    RefreshDay,
    #[error("kenpo settings: inbox_retention_months must be between 1 and 120")]
    InboxRetention,
    #[error("kenpo settings: insurer_number must be 6 or 8 digits")]
    InsurerNumber,
    #[error("kenpo settings: mail_from must be a mail address (info@example.jp)")]
    MailFrom,
    #[error("kenpo settings: notice_retention_months must be between 1 and 120")]
    NoticeRetention,
    #[error(
        "kenpo settings: survey_reminder_days takes at most {MAX_REMINDERS} days, each from 0 to {MAX_REMINDER_DAYS}"
    )]
    SurveyReminderDays,
}

impl Settings {
    /// Parses and checks settings a kenpo supplies.
    pub fn parse(json: &str) -> Result<Self, SettingsError> {
        let settings: Self = serde_json::from_str(json)?;
        if !(1..=120).contains(&settings.retention_months) {
            return Err(SettingsError::Retention);
        }
        if !(1..=28).contains(&settings.refresh_day) {
            return Err(SettingsError::RefreshDay);
        }
        if !(1..=120).contains(&settings.inbox_retention_months) {
            return Err(SettingsError::InboxRetention);
        }
        let number = &settings.insurer_number;
        if !number.is_empty()
            && (!matches!(number.len(), 6 | 8) || !number.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SettingsError::InsurerNumber);
        }
        if !(1..=120).contains(&settings.notice_retention_months) {
            return Err(SettingsError::NoticeRetention);
        }
        let from = settings.mail_from.trim();
        if !from.is_empty() && from.parse::<shared_runtime::mail::Address>().is_err() {
            return Err(SettingsError::MailFrom);
        }
        if settings.survey_reminder_days.len() > MAX_REMINDERS
            || settings.survey_reminder_days.iter().any(|&d| d > MAX_REMINDER_DAYS)
        {
            return Err(SettingsError::SurveyReminderDays);
        }
        Ok(settings)
    }

    pub fn offers(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    pub fn mails(&self, category: MailCategory) -> bool {
        self.mail_categories.contains(&category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_document_means_the_spec_defaults() -> Result<(), SettingsError> {
        let s = Settings::parse("{}")?;
        assert_eq!(s.retention_months, 24);
        assert_eq!(s.inbox_retention_months, 24);
        assert_eq!(s.notice_retention_months, 24);
        assert!(s.household_visible);
        assert_eq!(s.mail_categories, MailCategory::ALL);
        assert_eq!(s.services, Service::ALL);
        assert_eq!(s.qualification_pdf, QualificationPdf::InsuredForHousehold);
        Ok(())
    }

    #[test]
    fn bad_values_and_unknown_fields_are_refused() {
        assert!(matches!(Settings::parse(r#"{"retention_months":0}"#), Err(SettingsError::Retention)));
        assert!(matches!(Settings::parse(r#"{"refresh_day":31}"#), Err(SettingsError::RefreshDay)));
        assert!(matches!(
            Settings::parse(r#"{"inbox_retention_months":0}"#),
            Err(SettingsError::InboxRetention)
        ));
        assert!(matches!(
            Settings::parse(r#"{"notice_retention_months":0}"#),
            Err(SettingsError::NoticeRetention)
        ));
        assert!(matches!(
            Settings::parse(r#"{"notice_retention_months":121}"#),
            Err(SettingsError::NoticeRetention)
        ));
        assert_eq!(
            Settings::parse(r#"{"notice_retention_months":6}"#).ok().map(|s| s.notice_retention_months),
            Some(6)
        );
        assert!(Settings::parse(r#"{"retention":24}"#).is_err());
        assert!(Settings::parse(r#"{"edition":"gold"}"#).is_err());
        assert!(matches!(
            Settings::parse(r#"{"insurer_number":"0612345"}"#),
            Err(SettingsError::InsurerNumber)
        ));
        let own = Settings::parse(r#"{"insurer_number":"06123456","qualification_pdf":"self"}"#);
        assert_eq!(own.ok().map(|s| s.qualification_pdf), Some(QualificationPdf::OwnOnly));
        assert!(matches!(
            Settings::parse(r#"{"mail_from":"info at example"}"#),
            Err(SettingsError::MailFrom)
        ));
        assert!(Settings::parse(r#"{"mail_from":"info@kenpo.example.jp"}"#).is_ok());
        assert!(matches!(
            Settings::parse(r#"{"survey_reminder_days":[61]}"#),
            Err(SettingsError::SurveyReminderDays)
        ));
        assert!(matches!(
            Settings::parse(r#"{"survey_reminder_days":[1,2,3,4,5,6]}"#),
            Err(SettingsError::SurveyReminderDays)
        ));
        let never = Settings::parse(r#"{"survey_reminder_days":[]}"#);
        assert_eq!(never.ok().map(|s| s.survey_reminder_days), Some(vec![]));
    }
}
