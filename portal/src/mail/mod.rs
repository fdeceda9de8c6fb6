//! The portal's mail: update mails (`flows::update_mails`), written here from the category
//! alone, and sent through the transport shared with the IdP (`shared_runtime::mail::Mailer`:
//! SMTP, or `.eml` files in `<data_dir>/outbox`). An update mail tells that something new is on
//! the portal, where to log in, and how to stop such mails; nothing it is given could say more
//! (no names, institutions, amounts, drugs or dates of care), which is how it never does.

pub mod job;

use crate::i18n::{self, Locale};
use crate::tenant::MailCategory;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use shared_runtime::mail::{Address, MailError};
use time::OffsetDateTime;

/// The settings page (`http::preferences::SETTINGS`), where a member stops these mails.
const SETTINGS: &str = "/settings";

/// What a mail of the outbox tells of: news of a category the member opted in to (通知設定), or
/// a request to act that goes to whoever must act, opted in or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    News(MailCategory),
    /// 被扶養者資格確認: a sheet of the household is still to be handed in and its deadline is
    /// near (`flows::update_mails::reminders`).
    SurveyReminder,
}

impl Topic {
    const SURVEY_REMINDER: &'static str = "survey_reminder";

    /// As the outbox stores it (`update_mails.category`).
    pub fn key(self) -> &'static str {
        match self {
            Self::News(category) => category.key(),
            Self::SurveyReminder => Self::SURVEY_REMINDER,
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        match key {
            Self::SURVEY_REMINDER => Some(Self::SurveyReminder),
            _ => MailCategory::parse(key).map(Self::News),
        }
    }
}

/// The survey pages (`http::survey`), where a reminder leads.
const SURVEY: &str = "/survey";

/// What an update mail says: a topic, whose portal, and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateMail<'a> {
    pub topic: Topic,
    /// The kenpo's display name: the sender's name and the subject's 【】.
    pub kenpo_name: &'a str,
    /// The kenpo's portal, without a trailing slash.
    pub portal_url: &'a str,
}

/// The subject and the text of `mail` in `locale`.
pub fn render(mail: &UpdateMail<'_>, locale: Locale) -> Result<(String, String), MailError> {
    let catalogue = i18n::catalogue(locale);
    let text = |key: &str| {
        catalogue
            .get(key)
            .ok_or_else(|| MailError::Template(format!("no text {key}")))
            .map(|t| t.replace("{kenpo}", mail.kenpo_name))
    };
    let url = mail.portal_url.trim_end_matches('/');
    let lang = locale.code();
    let (subject, middle) = match mail.topic {
        Topic::News(category) => {
            let name = text(&format!("settings.mail.{}", category.key()))?;
            let subject = text(&format!("update_mail.subject.{}", category.key()))?;
            // A category that is a change rather than new data (電子申請, 資格確認書) says so.
            let news = text(&format!("update_mail.news.{}", category.key()))
                .or_else(|_| text("update_mail.news"))?;
            let middle = vec![
                news.replace("{category}", &name),
                text("update_mail.login")?,
                format!("{url}/?lang={lang}"),
                String::new(),
                text("update_mail.privacy")?,
                String::new(),
                text("update_mail.stop")?,
                format!("{url}{SETTINGS}?lang={lang}"),
                String::new(),
                "--".to_owned(),
                mail.kenpo_name.to_owned(),
                text("update_mail.footer")?,
            ];
            (subject, middle)
        }
        Topic::SurveyReminder => {
            let middle = vec![
                text("survey_reminder.due")?,
                text("survey_reminder.login")?,
                format!("{url}{SURVEY}?lang={lang}"),
                String::new(),
                text("survey_reminder.privacy")?,
                String::new(),
                "--".to_owned(),
                mail.kenpo_name.to_owned(),
                text("survey_reminder.footer")?,
            ];
            (text("survey_reminder.subject")?, middle)
        }
    };
    let mut body = vec![text("update_mail.greeting")?, String::new()];
    body.extend(middle);
    body.push(String::new());
    Ok((subject, body.join("\n")))
}

/// The message: plain text in UTF-8, from the kenpo's name at `from`, dated `date`, its
/// Message-ID made of `message_id` (unique) at the sender's domain.
pub fn compose(
    mail: &UpdateMail<'_>,
    locale: Locale,
    from: Address,
    to: Address,
    message_id: &str,
    date: OffsetDateTime,
) -> Result<Message, MailError> {
    let (subject, body) = render(mail, locale)?;
    let domain = from.domain().to_owned();
    Ok(Message::builder()
        .from(Mailbox::new(Some(mail.kenpo_name.to_owned()), from))
        .to(Mailbox::new(None, to))
        .subject(subject)
        .date(date.into())
        .message_id(Some(format!("<{message_id}@{domain}>")))
        .header(ContentType::TEXT_PLAIN)
        .body(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(category: MailCategory) -> UpdateMail<'static> {
        UpdateMail {
            topic: Topic::News(category),
            kenpo_name: "デモ健康保険組合加入者ページ",
            portal_url: "https://portal.example.jp",
        }
    }

    #[test]
    fn every_category_renders_in_both_languages_with_the_login_and_settings_links() {
        for locale in [Locale::Ja, Locale::En] {
            for category in MailCategory::ALL {
                let (subject, body) = render(&mail(category), locale)
                    .unwrap_or_else(|e| panic!("{category:?} {locale:?}: {e}"));
                assert!(
                    subject.contains("デモ健康保険組合加入者ページ") && !subject.contains('{'),
                    "{subject}"
                );
                assert!(
                    body.contains(&format!("https://portal.example.jp/?lang={}", locale.code())),
                    "{body}"
                );
                assert!(body.contains("https://portal.example.jp/settings"), "{body}");
                assert!(!body.contains('{'), "every placeholder filled: {body}");
            }
        }
    }

    #[test]
    fn the_subject_uses_the_specs_wording() {
        let (subject, body) =
            render(&mail(MailCategory::MedicalExpenses), Locale::Ja).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subject, "【デモ健康保険組合加入者ページ】新しい医療費情報を公開しました");
        assert!(body.contains("（医療費情報）") && body.contains("「個人設定・通知設定」"), "{body}");
    }

    #[test]
    fn an_application_mail_says_only_that_the_status_changed() {
        let (subject, body) =
            render(&mail(MailCategory::Applications), Locale::Ja).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subject, "【デモ健康保険組合加入者ページ】電子申請の状況を更新しました");
        assert!(body.contains("電子申請の状況を更新しました（電子申請）"), "{body}");
        assert!(!body.contains("新しい情報を公開しました"), "{body}");
    }

    #[test]
    fn a_survey_reminder_asks_to_log_in_and_offers_no_opt_out() {
        for locale in [Locale::Ja, Locale::En] {
            let reminder = UpdateMail { topic: Topic::SurveyReminder, ..mail(MailCategory::Benefits) };
            let (subject, body) = render(&reminder, locale).unwrap_or_else(|e| panic!("{locale:?}: {e}"));
            assert!(subject.contains("デモ健康保険組合加入者ページ") && !subject.contains('{'), "{subject}");
            assert!(
                body.contains(&format!("https://portal.example.jp/survey?lang={}", locale.code())),
                "{body}"
            );
            assert!(!body.contains("/settings"), "a request to act is not an opt-in mail: {body}");
            assert!(!body.contains('{'), "every placeholder filled: {body}");
        }
        let (subject, _) =
            render(&UpdateMail { topic: Topic::SurveyReminder, ..mail(MailCategory::Benefits) }, Locale::Ja)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subject, "【デモ健康保険組合加入者ページ】被扶養者資格確認のご提出期限が近づいています");
    }

    #[test]
    fn topics_are_stored_by_key_and_read_back() {
        let all = MailCategory::ALL.into_iter().map(Topic::News).chain([Topic::SurveyReminder]);
        for topic in all {
            assert_eq!(Topic::parse(topic.key()), Some(topic));
        }
        assert_eq!(Topic::parse("survey"), None);
    }

    #[test]
    fn a_message_is_plain_text_from_the_kenpo() {
        let from = Address::new("info", "kenpo.example.jp").unwrap_or_else(|e| panic!("{e}"));
        let to = Address::new("taro", "example.jp").unwrap_or_else(|e| panic!("{e}"));
        let date = time::macros::datetime!(2026-11-24 09:00 UTC);
        let message = compose(&mail(MailCategory::Benefits), Locale::En, from, to, "0193-abc", date)
            .unwrap_or_else(|e| panic!("{e}"));
        let formatted = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(formatted.contains("Content-Type: text/plain; charset=utf-8"), "{formatted}");
        assert!(formatted.contains("Message-ID: <0193-abc@kenpo.example.jp>"), "{formatted}");
        assert_eq!(
            message.envelope().from().map(ToString::to_string).as_deref(),
            Some("info@kenpo.example.jp")
        );
    }
}
