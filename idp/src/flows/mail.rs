//! PLACEHOLDER until the durable outbox lands (branch mail-outbox): the agreed interface only.

use super::FlowError;
use crate::domain::Email;
use crate::i18n::Locale;
use crate::store::{Db, Realm};
use shared_crypto::MasterKey;
use time::OffsetDateTime;

pub enum Mail<'a> {
    VerifyEmail { link: &'a str, minutes: u32 },
    ResetPassword { link: &'a str, minutes: u32 },
    UsernameReminder { username: &'a str },
    FirstLoginDone { display_name: &'a str },
}

pub async fn enqueue(
    _db: &Db,
    _master: &MasterKey,
    _realm: &Realm,
    _to: &Email,
    _locale: Locale,
    _mail: Mail<'_>,
    _now: OffsetDateTime,
) -> Result<(), FlowError> {
    Ok(())
}
