//! What the kenpo does to a member's account as a whole (the admin REST API will offer the same).

use super::FlowError;
use super::logout;
use super::tokens::Ctx;
use crate::domain::RequiredAction;
use crate::store::{User, UserStore};

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
