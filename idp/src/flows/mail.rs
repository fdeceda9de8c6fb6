//! Mail to members through a durable outbox: a mail is written and sealed when a flow asks for
//! it, and sent by the deliverer (see `app.rs`), which retries with backoff. So a reset link
//! asked for while the mail server is down still arrives once it is back, and two replicas never
//! send the same mail twice (each send is claimed first).
//!
//! Callers: `flows::mail::enqueue(..)`, then `state.mail_outbox.notify_one()` to send it now.

use super::{FlowError, retry};
use crate::domain::Email;
use crate::i18n::Locale;
use crate::mail::{Addressing, Mailer, compose};
use crate::store::{Db, OutboxStore, QueuedMail, Realm};
use lettre::Address;
use lettre::address::Envelope;
use shared_crypto::MasterKey;
use time::{Duration, OffsetDateTime};

pub use crate::mail::Mail;

/// How long a claimed mail is held by its deliverer before another may send it: longer than a
/// send can take (see `mail::SMTP_TIMEOUT`), so only a deliverer that died mid-send is overtaken.
pub const LEASE: Duration = Duration::minutes(2);

/// How many mails one round of [`deliver_due`] takes on.
const BATCH: u32 = 100;

/// Binds a sealed message to its row: a sealed message copied into another row does not open.
fn aad(id: &str) -> Vec<u8> {
    format!("mail_outbox:{id}").into_bytes()
}

/// Writes `mail` to `to` in `locale` and queues it, sealed, due at once. The sender is the
/// realm's display name at `no-reply@` (or `webmaster@`, see [`Mail::sender`]) of the realm's
/// mail domain, or else of `default_domain` (the `mail_domain` setting).
#[expect(clippy::too_many_arguments, reason = "the inputs of one decision; a struct would only rename them")]
pub async fn enqueue(
    db: &Db,
    master: &MasterKey,
    realm: &Realm,
    default_domain: &str,
    to: &Email,
    locale: Locale,
    mail: Mail<'_>,
    now: OffsetDateTime,
) -> Result<(), FlowError> {
    if let Some(link) = mail.link() {
        let url = url::Url::parse(link).map_err(|e| FlowError::invalid("link", e))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(FlowError::invalid("link", "not an http(s) URL"));
        }
    }
    let domain = realm.settings.mail_domain.as_deref().unwrap_or(default_domain);
    let from = Address::new(mail.sender(), domain).map_err(|e| FlowError::invalid("mail_domain", e))?;
    let recipient: Address = to.as_str().parse().map_err(|e| FlowError::invalid("email", e))?;
    let id = uuid::Uuid::now_v7().to_string();
    let addressing = Addressing {
        realm_name: &realm.display_name,
        from: from.clone(),
        to: recipient.clone(),
        message_id: &id,
    };
    let message = compose::compose(mail, locale, &addressing, now)?;
    let queued = QueuedMail {
        sealed_message: master.seal(&message.formatted(), &aad(&id)),
        id,
        realm_id: realm.id.clone(),
        kind: mail.kind(),
        sender: from.to_string(),
        recipient: recipient.to_string(),
        attempts: 0,
        next_attempt_at: now,
    };
    db.enqueue_mail(&queued, now).await?;
    Ok(())
}

/// Sends what is due; returns how many were sent. A mail that fails is tried again after
/// [`retry::backoff`]; one the server refuses for good, or that cannot be read, is given up at
/// once. Either way the row keeps the last error.
pub async fn deliver_due(
    db: &Db,
    master: &MasterKey,
    mailer: &Mailer,
    now: OffsetDateTime,
) -> Result<usize, FlowError> {
    let mut sent = 0;
    for mail in db.due_mails(now, BATCH).await? {
        if !db.claim_mail(&mail.id, now, now + LEASE).await? {
            continue;
        }
        match send(master, mailer, &mail).await {
            Ok(()) => {
                db.mail_sent(&mail.id, now).await?;
                sent += 1;
            }
            Err(Failure { error, permanent }) => {
                let attempts = mail.attempts + 1;
                let next = if permanent { None } else { retry::next_attempt(attempts, now) };
                tracing::warn!(
                    mail = %mail.id,
                    kind = mail.kind.as_str(),
                    attempts,
                    given_up = next.is_none(),
                    %error,
                    "mail not sent"
                );
                db.mail_failed(&mail.id, &error, next).await?;
            }
        }
    }
    Ok(sent)
}

/// Why a send failed, and whether trying again could help.
struct Failure {
    error: String,
    permanent: bool,
}

impl Failure {
    fn permanent(error: impl ToString) -> Self {
        Self { error: error.to_string(), permanent: true }
    }
}

async fn send(master: &MasterKey, mailer: &Mailer, mail: &QueuedMail) -> Result<(), Failure> {
    let message = master.open(&mail.sealed_message, &aad(&mail.id)).map_err(Failure::permanent)?;
    let from: Address = mail.sender.parse().map_err(Failure::permanent)?;
    let to: Address = mail.recipient.parse().map_err(Failure::permanent)?;
    let envelope = Envelope::new(Some(from), vec![to]).map_err(Failure::permanent)?;
    mailer
        .send_raw(&envelope, &message)
        .await
        .map_err(|e| Failure { permanent: e.is_permanent(), error: e.to_string() })
}
