//! Changing a signed-in member's address (3-5, Keycloak's `UPDATE_EMAIL` with verification):
//! the new address gets a 「メールアドレスの確認」 link and replaces the old one only when the
//! link is followed. A typo therefore never takes the member's mail (and mailed codes) away,
//! and nobody can move an account onto an address they do not hold.

use super::FlowError;
use super::action_tokens;
use super::required_actions::{FieldError, email_errors, mail_verification_link};
use super::tokens::Ctx;
use crate::domain::{Email, RequiredAction};
use crate::i18n::Locale;
use crate::store::{ActionKind, StoreError, User, UserStore};

/// What the member's request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// The address the member already has: nothing to do.
    Unchanged,
    /// A link went to the new address; the old one stays until it is followed.
    LinkSent(Email),
}

/// Mails a confirmation link to the new address, after the manual's checks (the same table
/// as the first login's step, 2-1 step 6).
pub async fn request(
    ctx: &Ctx<'_>,
    user: &User,
    raw: &str,
    locale: Locale,
) -> Result<Result<Requested, Vec<FieldError>>, FlowError> {
    let email = match Email::parse(raw) {
        Ok(email) => email,
        Err(e) => return Ok(Err(email_errors(e))),
    };
    if user.email.as_ref().is_some_and(|current| current.key() == email.key()) {
        return Ok(Ok(Requested::Unchanged));
    }
    if ctx.db.user_by_email(&ctx.realm.id, &email).await?.is_some_and(|other| other.id != user.id) {
        return Ok(Err(vec![FieldError::new("email", "email.taken")]));
    }
    mail_verification_link(ctx, user, ActionKind::UpdateEmail, &email, locale).await?;
    Ok(Ok(Requested::LinkSent(email)))
}

/// What following a change link came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Followed {
    /// The address is replaced (and verified): the member and the address they had before.
    Changed { user: Box<User>, previous: Option<Email> },
    /// Another account took the address meanwhile.
    Taken,
    /// Used, expired, voided by a newer one, or not a change link.
    Invalid,
}

/// Follows a change link: the address it was sent to becomes the member's, verified.
pub async fn follow(ctx: &Ctx<'_>, key: &str) -> Result<Followed, FlowError> {
    let Some(token) = action_tokens::redeem(ctx.db, ctx.realm, ActionKind::UpdateEmail, key, ctx.now).await?
    else {
        return Ok(Followed::Invalid);
    };
    let Some(mut user) = ctx.db.user_by_id(&ctx.realm.id, &token.user_id).await? else {
        return Ok(Followed::Invalid);
    };
    let Some(email) = token.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
        return Ok(Followed::Invalid);
    };
    let previous = user.email.replace(email);
    user.email_verified = true;
    user.complete(RequiredAction::VerifyEmail);
    user.complete(RequiredAction::UpdateEmail);
    match ctx.db.save_member(&user).await {
        Ok(()) => Ok(Followed::Changed { user: Box::new(user), previous }),
        Err(StoreError::EmailTaken) => Ok(Followed::Taken),
        Err(e) => Err(e.into()),
    }
}
