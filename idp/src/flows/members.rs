//! What the kenpo does to a member's account as a whole (the admin REST API will offer the same).

use super::FlowError;
use super::logout;
use super::mail::{self, Mail};
use super::tokens::Ctx;
use crate::domain::RequiredAction;
use crate::i18n::Locale;
use crate::store::{CredentialStore, CredentialType, User, UserStore};

/// Turns the member's account off: the login refuses it with the contact-your-kenpo message
/// (Q6), and every session ends now, not at its next use. Returns how many sessions ended.
pub async fn disable(ctx: Ctx<'_>, user: &User) -> Result<usize, FlowError> {
    ctx.db.set_enabled(&ctx.realm.id, &user.id, false).await?;
    logout::end_all_sessions(ctx, &user.id).await
}

/// Turns the member's account on again.
pub async fn enable(ctx: Ctx<'_>, user: &User) -> Result<(), FlowError> {
    Ok(ctx.db.set_enabled(&ctx.realm.id, &user.id, true).await?)
}

/// Asks the member for `action` at their next login (Keycloak's "required user actions").
pub async fn require_action(ctx: Ctx<'_>, user: &mut User, action: RequiredAction) -> Result<(), FlowError> {
    user.require(action);
    Ok(ctx.db.save_member(user).await?)
}

/// What a reset of the member's second factors did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorsReset {
    /// Authenticator apps and passkeys deleted.
    pub removed: usize,
    pub sessions_ended: usize,
    /// Whether the member was told by mail (not without an address).
    pub mailed: bool,
}

/// A lost or replaced phone (3-8): deletes the member's authenticator apps and passkeys, so
/// the next login, after the password, sets the chosen method up again; ends every session
/// (the lost phone may hold one); and tells the member by mail, in case it was not them who
/// asked. A mailed code needs nothing reset: it follows the address. The caller wakes the
/// mail and back-channel deliverers.
pub async fn reset_second_factors(ctx: Ctx<'_>, user: &User) -> Result<FactorsReset, FlowError> {
    let mut removed = 0;
    for credential in ctx.db.credentials_of(&user.id).await? {
        let second_factor = matches!(
            credential.kind,
            CredentialType::Otp | CredentialType::Webauthn | CredentialType::WebauthnPasswordless
        );
        if second_factor && ctx.db.delete_credential(&user.id, &credential.id).await? {
            removed += 1;
        }
    }
    let sessions_ended = logout::end_all_sessions(ctx, &user.id).await?;
    let mailed = match &user.email {
        Some(email) => {
            let locale = user.locale.as_deref().and_then(Locale::parse).unwrap_or(Locale::Ja);
            let notice = Mail::SecondFactorsReset { display_name: &user.display_name };
            mail::enqueue(ctx.db, ctx.master, ctx.realm, ctx.mail_domain, email, locale, notice, ctx.now)
                .await?;
            true
        }
        None => false,
    };
    Ok(FactorsReset { removed, sessions_ended, mailed })
}
