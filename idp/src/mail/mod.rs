//! Sending mail: over SMTP in production, into `<data_dir>/outbox` as `.eml` files otherwise, so
//! the embedded mode works on a laptop with no mail server and a developer can open what was sent.

use lettre::message::Message;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP URL is not valid: {0}")]
    Url(lettre::transport::smtp::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot write to the outbox: {0}")]
    Outbox(#[from] std::io::Error),
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
                    .build(),
            )),
            None => Ok(Self::Outbox(data_dir.join("outbox"))),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match self {
            Self::Smtp(transport) => {
                transport.send(message).await?;
            }
            Self::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos();
                let path = dir.join(format!("{stamp}-{}.eml", uuid::Uuid::new_v4()));
                tokio::fs::write(path, message.formatted()).await?;
            }
        }
        Ok(())
    }
}
