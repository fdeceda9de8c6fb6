//! Publishing the terms of use (3-9): a new version makes every member accept it at their next
//! full login, before any code is issued (see `flows::required_actions::pending`).

use super::FlowError;
use crate::store::{Realm, Terms, TermsStore};
use time::OffsetDateTime;

/// The longest terms text accepted, per language.
const MAX_CHARS: usize = 100_000;

/// Publishes `body_ja` (and its English translation) as the realm's next version.
pub async fn publish(
    store: &impl TermsStore,
    realm: &Realm,
    body_ja: &str,
    body_en: &str,
    now: OffsetDateTime,
) -> Result<Terms, FlowError> {
    for (field, body) in [("terms (ja)", body_ja), ("terms (en)", body_en)] {
        if body.trim().is_empty() {
            return Err(FlowError::invalid(field, "is empty"));
        }
        if body.chars().count() > MAX_CHARS {
            return Err(FlowError::invalid(field, format!("is longer than {MAX_CHARS} characters")));
        }
    }
    Ok(store.publish_terms(&realm.id, body_ja.trim(), body_en.trim(), now).await?)
}
