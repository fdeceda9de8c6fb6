//! Mailed links: a random token in the URL, its SHA-256 in the database (see
//! `store::action_tokens`). Nothing in the link says whose it is.

use super::FlowError;
use crate::store::{ActionKind, ActionToken, ActionTokenStore, NewActionToken, Realm};
use sha2::{Digest, Sha256};
use shared_crypto::random;
use time::{Duration, OffsetDateTime};

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The link a member follows, `{issuer}/login-actions/action-token?key=…`.
pub fn link(issuer: &str, token: &str) -> String {
    format!("{issuer}/login-actions/action-token?key={token}")
}

/// Issues a token (voiding the member's older ones of the kind) and returns it.
pub async fn issue(
    store: &impl ActionTokenStore,
    realm: &Realm,
    user_id: &str,
    kind: ActionKind,
    email: Option<&str>,
    valid_for: Duration,
    now: OffsetDateTime,
) -> Result<String, FlowError> {
    let token = random::token();
    let token_hash = hash(&token);
    let new = NewActionToken {
        realm_id: &realm.id,
        user_id,
        kind,
        token_hash: &token_hash,
        email,
        expires_at: now + valid_for,
    };
    store.issue_action_token(new, now).await?;
    Ok(token)
}

/// The live token behind `key`, without using it (showing the reset form).
pub async fn peek(
    store: &impl ActionTokenStore,
    realm: &Realm,
    kind: ActionKind,
    key: &str,
    now: OffsetDateTime,
) -> Result<Option<ActionToken>, FlowError> {
    if key.is_empty() || key.len() > 128 {
        return Ok(None);
    }
    Ok(store.live_action_token(&realm.id, kind, &hash(key), now).await?)
}

/// Uses the token behind `key`: once only.
pub async fn redeem(
    store: &impl ActionTokenStore,
    realm: &Realm,
    kind: ActionKind,
    key: &str,
    now: OffsetDateTime,
) -> Result<Option<ActionToken>, FlowError> {
    if key.is_empty() || key.len() > 128 {
        return Ok(None);
    }
    Ok(store.use_action_token(&realm.id, kind, &hash(key), now).await?)
}
