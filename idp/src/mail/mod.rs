//! Sending mail: the transport ([`Mailer`]: SMTP in production, `.eml` files into
//! `<data_dir>/outbox` otherwise) is `shared_runtime::mail`, shared with the portal, and
//! re-exported here so the IdP's call sites name it as before. What the IdP mails is written
//! by [`compose`] and queued durably by `flows::mail`, which hands the stored bytes to
//! [`Mailer::send_raw`].

pub mod compose;

pub use compose::{Addressing, Mail};

pub use shared_runtime::mail::{MailError, Mailer, SMTP_TIMEOUT};
