//! Sending mail, for both services: over SMTP in production, into `<data_dir>/outbox` as `.eml`
//! files otherwise, so the embedded mode works on a laptop with no mail server and a developer
//! can open what was sent. What each service mails, and its durable outbox, stay in the service;
//! the outbox hands the stored (or composed) bytes to [`Mailer::send_raw`].
//!
//! [`retry`] is the backoff both services' outboxes wait by between attempts.

use lettre::address::Envelope;
use lettre::message::Message;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

pub use lettre::Address;
pub use lettre::address::AddressError;

/// How long the SMTP client waits for the server at each step (connect, each reply). A mail
/// session is a handful of steps, so a send ends well within an outbox's lease.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP URL is not valid: {0}")]
    Url(lettre::transport::smtp::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot write to the outbox: {0}")]
    Outbox(#[from] std::io::Error),
    #[error("mail address: {0}")]
    Address(#[from] AddressError),
    #[error("mail message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("mail template: {0}")]
    Template(String),
}

impl MailError {
    /// Whether trying again cannot help: the server refused for good (5xx), or the mail itself
    /// is unusable. Connection failures and 4xx replies are worth retrying.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Smtp(e) => e.is_permanent(),
            Self::Address(_) | Self::Message(_) | Self::Template(_) => true,
            Self::Url(_) | Self::Outbox(_) => false,
        }
    }
}

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The transport holds the credentials of the SMTP URL.
        match self {
            Self::Smtp(_) => f.write_str("Mailer::Smtp"),
            Self::Outbox(dir) => f.debug_tuple("Mailer::Outbox").field(dir).finish(),
        }
    }
}

impl Mailer {
    /// SMTP when a URL is given (`smtp://`, `smtps://`, `?tls=required` for STARTTLS), else the
    /// outbox folder under `data_dir`.
    pub fn new(smtp_url: Option<&SecretString>, data_dir: &Path) -> Result<Self, MailError> {
        match smtp_url {
            Some(url) => Ok(Self::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(MailError::Url)?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            )),
            None => Ok(Self::Outbox(data_dir.join("outbox"))),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        self.send_raw(message.envelope(), &message.formatted()).await
    }

    /// Sends an already formatted RFC 5322 message to the envelope's recipients (in the outbox
    /// folder, the envelope is not kept: the file is the message as a recipient gets it).
    pub async fn send_raw(&self, envelope: &Envelope, message: &[u8]) -> Result<(), MailError> {
        match self {
            Self::Smtp(transport) => {
                transport.send_raw(envelope, message).await?;
            }
            Self::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos();
                let path = dir.join(format!("{stamp}-{}.eml", uuid::Uuid::new_v4()));
                tokio::fs::write(path, message).await?;
            }
        }
        Ok(())
    }
}

/// Retrying durable deliveries (mail, back-channel logouts): how long to wait after a failure,
/// and when to stop trying.
pub mod retry {
    use time::{Duration, OffsetDateTime};

    /// After this many failures a delivery is not tried again; its row keeps the last error for
    /// an operator to look at.
    pub const MAX_ATTEMPTS: i32 = 12;

    /// The wait after `attempts` failures: 5 s, 10 s, 20 s, … capped at an hour.
    pub fn backoff(attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
        Duration::seconds((5_i64 << exponent).min(3600))
    }

    /// When to try again after the `attempts`-th failure at `now`, or `None` to give up.
    pub fn next_attempt(attempts: i32, now: OffsetDateTime) -> Option<OffsetDateTime> {
        (attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts))
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use time::macros::datetime;

        #[test]
        fn backoff_doubles_then_caps_at_an_hour() {
            assert_eq!(backoff(0), Duration::seconds(5));
            assert_eq!(backoff(1), Duration::seconds(10));
            assert_eq!(backoff(3), Duration::seconds(40));
            assert_eq!(backoff(9), Duration::seconds(2560));
            assert_eq!(backoff(10), Duration::hours(1));
            assert_eq!(backoff(12), Duration::hours(1));
            assert_eq!(backoff(i32::MAX), Duration::hours(1), "no overflow however many");
            assert_eq!(backoff(-1), Duration::seconds(5));
        }

        #[test]
        fn gives_up_after_the_last_attempt() {
            let now = datetime!(2026-11-24 09:00 UTC);
            assert_eq!(next_attempt(1, now), Some(now + Duration::seconds(10)));
            assert_eq!(next_attempt(MAX_ATTEMPTS - 1, now), Some(now + Duration::hours(1)));
            assert_eq!(next_attempt(MAX_ATTEMPTS, now), None);
        }
    }
}
