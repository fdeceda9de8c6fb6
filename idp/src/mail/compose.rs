//! Writing the IdP's mails: multipart/alternative, a text part and an HTML part from the
//! templates in `templates/mail/` (one pair per kind and language), the subject from the
//! catalogue. Every link is in the text part in full: plain-text mail clients show no button
//! (manual 2-1 step 7).

use super::MailError;
use crate::i18n::{self, Locale};
use crate::store::MailKind;
use lettre::Address;
use lettre::message::{Mailbox, Message, MultiPart};
use serde::Serialize;
use shared_runtime::pages::Templates;
use std::sync::LazyLock;
use time::OffsetDateTime;

/// A mail to a member, with what its template shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Mail<'a> {
    /// no-reply@: 「メールアドレスの確認」 link (2-1 step 7). Multipart: the text part carries the
    /// full URL (the manual notes plain-text clients miss the button).
    VerifyEmail { link: &'a str, minutes: u32 },
    /// no-reply@: 「パスワードをリセット」 link, valid `minutes` (3-3).
    ResetPassword { link: &'a str, minutes: u32 },
    /// no-reply@: the member's user ID (3-4).
    UsernameReminder { username: &'a str },
    /// webmaster@: the first-login notice (Q19), sent when a member finishes first login.
    FirstLoginDone { display_name: &'a str },
    /// no-reply@: a one-time password for the second factor (OTPメール認証, 2-4-5), valid
    /// `minutes`. The code is in the text part as well as the HTML part.
    LoginCode { code: &'a str, minutes: u32 },
    /// no-reply@: the kenpo reset the member's second factors (a lost phone, 3-8); the next
    /// login sets them up again.
    SecondFactorsReset { display_name: &'a str },
}

impl Mail<'_> {
    pub fn kind(&self) -> MailKind {
        match self {
            Self::VerifyEmail { .. } => MailKind::VerifyEmail,
            Self::ResetPassword { .. } => MailKind::ResetPassword,
            Self::UsernameReminder { .. } => MailKind::UsernameReminder,
            Self::FirstLoginDone { .. } => MailKind::FirstLoginDone,
            Self::LoginCode { .. } => MailKind::LoginCode,
            Self::SecondFactorsReset { .. } => MailKind::SecondFactorsReset,
        }
    }

    /// The sender's local part (FAQ Q19): mail a member asked for comes from `no-reply@`, the
    /// first-login notice from `webmaster@`.
    pub fn sender(&self) -> &'static str {
        match self {
            Self::FirstLoginDone { .. } => "webmaster",
            Self::VerifyEmail { .. }
            | Self::ResetPassword { .. }
            | Self::UsernameReminder { .. }
            | Self::LoginCode { .. }
            | Self::SecondFactorsReset { .. } => "no-reply",
        }
    }

    /// The link the mail carries, if any.
    pub fn link(&self) -> Option<&str> {
        match self {
            Self::VerifyEmail { link, .. } | Self::ResetPassword { link, .. } => Some(link),
            Self::UsernameReminder { .. }
            | Self::FirstLoginDone { .. }
            | Self::LoginCode { .. }
            | Self::SecondFactorsReset { .. } => None,
        }
    }

    /// What the text part must show for the mail to be of use: its link, or its code.
    fn essential(&self) -> Option<&str> {
        match self {
            Self::LoginCode { code, .. } => Some(code),
            _ => self.link(),
        }
    }

    /// The template name and catalogue section: `verify_email`, …
    fn name(&self) -> &'static str {
        match self {
            Self::VerifyEmail { .. } => "verify_email",
            Self::ResetPassword { .. } => "reset_password",
            Self::UsernameReminder { .. } => "username_reminder",
            Self::FirstLoginDone { .. } => "first_login_done",
            Self::LoginCode { .. } => "login_code",
            Self::SecondFactorsReset { .. } => "second_factors_reset",
        }
    }
}

/// Who a mail is from and to, and what identifies it.
#[derive(Debug, Clone)]
pub struct Addressing<'a> {
    /// The realm's display name, shown as the sender's name and in the mail.
    pub realm_name: &'a str,
    pub from: Address,
    pub to: Address,
    /// Unique; becomes the Message-ID `<message_id@sender domain>`.
    pub message_id: &'a str,
}

macro_rules! mail_templates {
    ($($name:literal),* $(,)?) => {
        &[
            ("mail/base.html", include_str!("../../templates/mail/base.html")),
            $(
                (concat!("mail/", $name, ".ja.txt"), include_str!(concat!("../../templates/mail/", $name, ".ja.txt"))),
                (concat!("mail/", $name, ".ja.html"), include_str!(concat!("../../templates/mail/", $name, ".ja.html"))),
                (concat!("mail/", $name, ".en.txt"), include_str!(concat!("../../templates/mail/", $name, ".en.txt"))),
                (concat!("mail/", $name, ".en.html"), include_str!(concat!("../../templates/mail/", $name, ".en.html"))),
            )*
        ]
    };
}

/// Compiled once; a template that does not compile fails every mail (and the tests).
static TEMPLATES: LazyLock<Result<Templates, String>> = LazyLock::new(|| {
    Templates::new(mail_templates!(
        "verify_email",
        "reset_password",
        "username_reminder",
        "first_login_done",
        "login_code",
        "second_factors_reset"
    ))
    .map_err(|e| format!("{e:#}"))
});

/// What every mail template sees besides `locale` and the catalogue `t`.
#[derive(Serialize)]
struct Context<'a> {
    realm_name: &'a str,
    subject: &'a str,
    #[serde(flatten)]
    mail: Mail<'a>,
}

/// Writes `mail` in `locale`, dated `date`.
pub fn compose(
    mail: Mail<'_>,
    locale: Locale,
    addressing: &Addressing<'_>,
    date: OffsetDateTime,
) -> Result<Message, MailError> {
    let (subject, text, html) = render(mail, locale, addressing.realm_name)?;
    Ok(Message::builder()
        .from(Mailbox::new(Some(addressing.realm_name.to_owned()), addressing.from.clone()))
        .to(Mailbox::new(None, addressing.to.clone()))
        .subject(subject)
        .date(date.into())
        .message_id(Some(format!("<{}@{}>", addressing.message_id, addressing.from.domain())))
        .multipart(MultiPart::alternative_plain_html(text, html))?)
}

/// The subject, text part and HTML part of `mail`.
fn render(mail: Mail<'_>, locale: Locale, realm_name: &str) -> Result<(String, String, String), MailError> {
    let templates = TEMPLATES.as_ref().map_err(|e| MailError::Template(e.clone()))?;
    let catalogue = i18n::catalogue(locale);
    let key = format!("mail.{}.subject", mail.name());
    let subject = catalogue.get(&key).ok_or_else(|| MailError::Template(format!("no text {key}")))?;
    let context = Context { realm_name, subject, mail };
    let render = |ext: &str| {
        let name = format!("mail/{}.{}.{ext}", mail.name(), locale.code());
        templates
            .render(&name, locale, catalogue, &context)
            .map_err(|e| MailError::Template(format!("{e:#}")))
    };
    let text = render("txt")?;
    if let Some(essential) = mail.essential()
        && !text.contains(essential)
    {
        return Err(MailError::Template(format!("the text part of {} lacks its link or code", mail.name())));
    }
    Ok((subject.clone(), text, render("html")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str =
        "https://idp.example.jp/realms/demo/login-actions/action-token?key=abc&client_id=portal";

    fn every_mail() -> [Mail<'static>; 6] {
        [
            Mail::VerifyEmail { link: LINK, minutes: 720 },
            Mail::ResetPassword { link: LINK, minutes: 5 },
            Mail::UsernameReminder { username: "kenpo-taro" },
            Mail::FirstLoginDone { display_name: "健保 太郎" },
            Mail::LoginCode { code: "042917", minutes: 5 },
            Mail::SecondFactorsReset { display_name: "健保 太郎" },
        ]
    }

    #[test]
    fn every_mail_renders_in_both_languages_with_its_facts_in_the_text_part() {
        for locale in [Locale::Ja, Locale::En] {
            for mail in every_mail() {
                let (subject, text, html) = render(mail, locale, "デモ健康保険組合加入者ページ")
                    .unwrap_or_else(|e| panic!("{mail:?} in {locale:?}: {e}"));
                assert!(!subject.is_empty());
                assert!(text.contains("デモ健康保険組合加入者ページ"), "{text}");
                assert!(html.contains(&format!("lang=\"{}\"", locale.code())), "{html}");
                let fact = match mail {
                    Mail::VerifyEmail { .. } | Mail::ResetPassword { .. } => LINK,
                    Mail::UsernameReminder { username } => username,
                    Mail::FirstLoginDone { display_name } | Mail::SecondFactorsReset { display_name } => {
                        display_name
                    }
                    Mail::LoginCode { code, .. } => code,
                };
                assert!(text.contains(fact), "{mail:?} in {locale:?}: {text}");
                if mail.link().is_some() {
                    assert!(unescape(&html).contains(LINK), "the HTML shows the URL too: {html}");
                    assert!(!text.contains("&amp;"), "the text part is not HTML-escaped");
                }
            }
        }
    }

    /// What a mail client reads in an HTML attribute or text (minijinja also escapes `/`).
    fn unescape(html: &str) -> String {
        html.replace("&#x2f;", "/").replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
    }

    #[test]
    fn the_manuals_wording_is_used() {
        let (subject, _, html) =
            render(every_mail()[0], Locale::Ja, "デモ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subject, "メールアドレスの確認");
        assert!(html.contains("メールアドレスの確認</a>"), "{html}");
        let (_, text, html) = render(every_mail()[1], Locale::Ja, "デモ").unwrap_or_else(|e| panic!("{e}"));
        assert!(html.contains("パスワードをリセット</a>"), "{html}");
        assert!(text.contains("5分"), "{text}");
        let (subject, text, html) =
            render(every_mail()[4], Locale::Ja, "デモ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subject, "ワンタイムパスワードのお知らせ");
        assert!(text.contains("5分") && text.contains("「再送信」"), "{text}");
        assert!(html.contains("042917"), "{html}");
    }

    #[test]
    fn markup_in_names_is_escaped_in_html() {
        let mail = Mail::FirstLoginDone { display_name: "<b>太郎</b>" };
        let (_, text, html) = render(mail, Locale::Ja, "A&B").unwrap_or_else(|e| panic!("{e}"));
        assert!(html.contains("&lt;b&gt;太郎") && html.contains("A&amp;B") && !html.contains("<b>"));
        assert!(text.contains("<b>太郎</b>"));
    }

    #[test]
    fn a_message_is_multipart_alternative_from_the_realm() {
        let addressing = Addressing {
            realm_name: "デモ健康保険組合加入者ページ",
            from: Address::new("no-reply", "localhost").unwrap_or_else(|e| panic!("{e}")),
            to: Address::new("taro", "example.jp").unwrap_or_else(|e| panic!("{e}")),
            message_id: "0193-abc",
        };
        let date = time::macros::datetime!(2026-11-24 09:00 UTC);
        let message =
            compose(every_mail()[0], Locale::Ja, &addressing, date).unwrap_or_else(|e| panic!("{e}"));
        let formatted = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(formatted.contains("multipart/alternative"), "{formatted}");
        assert!(formatted.contains("Message-ID: <0193-abc@localhost>"), "{formatted}");
        assert!(formatted.contains("Date: Tue, 24 Nov 2026 09:00:00 +0000"), "{formatted}");
        assert_eq!(message.envelope().from().map(ToString::to_string).as_deref(), Some("no-reply@localhost"));
    }
}
