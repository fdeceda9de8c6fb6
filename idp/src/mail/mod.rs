//! Sending mail: over SMTP in production, into `<data_dir>/outbox` as `.eml` files otherwise, so
//! the embedded mode works on a laptop with no mail server and a developer can open what was sent.
//! What the IdP mails is written by [`compose`] and queued durably by `flows::mail`, which hands
//! the stored bytes to [`Mailer::send_raw`].

pub mod compose;

pub use compose::{Addressing, Mail};

use lettre::address::{AddressError, Envelope};
use lettre::message::Message;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// How long the SMTP client waits for the server at each step (connect, each reply). A mail
/// session is a handful of steps, so a send ends well within `flows::mail::LEASE`.
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
