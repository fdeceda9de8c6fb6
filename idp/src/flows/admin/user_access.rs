//! What gets a member into their account, through the admin API: credentials (a lost phone,
//! 3-8), passwords (Q2), the links of execute-actions-email, sessions, and locks (Q5, Q6).

use super::repr::{BruteForceStatus, CredentialRepresentation, UserSessionRepresentation, millis};
use super::users::{checked_hash, find, resource};
use super::{AdminError, Caller, Resource, perform};
use crate::domain::{AdminRole, RequiredAction};
use crate::flows::brute_force::{self, Lock};
use crate::flows::hashing::HashPool;
use crate::flows::tokens::Ctx;
use crate::flows::{lockout, logout, members};
use crate::store::{CredentialStore, OperationType, SessionStore, UserStore};
use secrecy::ExposeSecret;
use std::collections::BTreeMap;

/// `GET /users/{id}/credentials`: what proves who the member is, never its secret.
pub async fn credentials(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
) -> Result<Vec<CredentialRepresentation>, AdminError> {
    let path = format!("users/{id}/credentials");
    perform(ctx, caller, AdminRole::ViewUsers, OperationType::Read, resource(path), None, async {
        let user = find(ctx, id).await?;
        Ok(ctx.db.credentials_of(&user.id).await?.iter().map(CredentialRepresentation::of).collect())
    })
    .await
}

/// `DELETE /users/{id}/credentials/{credentialId}`: one device of a lost phone (3-8); the next
/// login sets the chosen method up again when nothing is left for it.
pub async fn delete_credential(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
    credential_id: &str,
) -> Result<(), AdminError> {
    let path = format!("users/{id}/credentials/{credential_id}");
    perform(ctx, caller, AdminRole::ManageUsers, OperationType::Delete, resource(path), None, async {
        let user = find(ctx, id).await?;
        if !ctx.db.delete_credential(&user.id, credential_id).await? {
            return Err(AdminError::NotFound("Credential"));
        }
        Ok(())
    })
    .await
}

/// Kenpo addition `POST /users/{id}/reset-second-factors` (3-8): every authenticator app and
/// passkey deleted, every session ended, the member told by mail.
pub async fn reset_second_factors(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
) -> Result<members::FactorsReset, AdminError> {
    let path = format!("users/{id}/reset-second-factors");
    perform(ctx, caller, AdminRole::ManageUsers, OperationType::Action, resource(path), None, async {
        let user = find(ctx, id).await?;
        Ok(members::reset_second_factors(ctx, &user).await?)
    })
    .await
}

/// `PUT /users/{id}/reset-password`: a `CredentialRepresentation` with `value` and
/// `temporary` (Keycloak's default: true, the member changes it at the next login).
pub async fn reset_password(
    ctx: Ctx<'_>,
    caller: &Caller,
    hashing: &HashPool,
    id: &str,
    rep: &CredentialRepresentation,
) -> Result<(), AdminError> {
    let path = format!("users/{id}/reset-password");
    let shown =
        serde_json::json!({ "type": "password", "temporary": rep.temporary.unwrap_or(true) }).to_string();
    perform(ctx, caller, AdminRole::ManageUsers, OperationType::Action, resource(path), Some(shown), async {
        if rep.kind.as_deref().is_some_and(|k| k != "password") {
            return Err(AdminError::invalid("type: only password can be reset"));
        }
        let value = rep.value.as_ref().ok_or_else(|| AdminError::invalid("value is required"))?;
        let mut user = find(ctx, id).await?;
        let hash = checked_hash(ctx, hashing, user.username.as_str(), value.expose_secret()).await?;
        ctx.db.set_password(&user.id, &hash, ctx.now).await?;
        if rep.temporary.unwrap_or(true) {
            user.require(RequiredAction::UpdatePassword);
        } else {
            user.complete(RequiredAction::UpdatePassword);
        }
        Ok(ctx.db.save_member(&user).await?)
    })
    .await
}

/// Keycloak's default `lifespan` of an execute-actions link: 12 hours.
pub const ACTIONS_LINK_SECONDS: u32 = 12 * 60 * 60;

/// What `execute-actions-email` mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionsMailed {
    pub reset_link: bool,
    pub verification_link: bool,
}

/// `PUT /users/{id}/execute-actions-email?lifespan=`: the member owes `actions` at the next
/// login, and is mailed what lets them act without a password they may have lost: a
/// 「パスワードをリセット」 link for `UPDATE_PASSWORD` (valid `lifespan` seconds), a
/// 「メールアドレスの確認」 link for `VERIFY_EMAIL`. Other actions wait for the login.
pub async fn execute_actions_email(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
    actions: &[String],
    lifespan: Option<u32>,
) -> Result<ActionsMailed, AdminError> {
    let path = format!("users/{id}/execute-actions-email");
    let shown = serde_json::to_string(actions).ok();
    perform(ctx, caller, AdminRole::ManageUsers, OperationType::Action, resource(path), shown, async {
        let actions = actions
            .iter()
            .map(|a| {
                RequiredAction::from_alias(a)
                    .ok_or_else(|| AdminError::invalid(format!("unknown action {a}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if actions.is_empty() {
            return Err(AdminError::invalid("at least one action"));
        }
        let seconds = lifespan.unwrap_or(ACTIONS_LINK_SECONDS);
        if !(60..=7 * 24 * 60 * 60).contains(&seconds) {
            return Err(AdminError::invalid("lifespan: 60 seconds to 7 days"));
        }
        let mut user = find(ctx, id).await?;
        if !user.enabled {
            return Err(AdminError::invalid("User is disabled"));
        }
        let email = user.email.clone().ok_or_else(|| AdminError::invalid("User email missing"))?;
        for action in &actions {
            user.require(*action);
        }
        ctx.db.save_member(&user).await?;
        let locale =
            user.locale.as_deref().and_then(crate::i18n::Locale::parse).unwrap_or(crate::i18n::Locale::Ja);
        let reset_link = actions.contains(&RequiredAction::UpdatePassword);
        if reset_link {
            let lifetime = time::Duration::seconds(i64::from(seconds));
            crate::flows::recovery::mail_reset_link(&ctx, &user, &email, lifetime, locale).await?;
        }
        let verification_link = actions.contains(&RequiredAction::VerifyEmail)
            && crate::flows::required_actions::send_verification(&ctx, &user, locale).await?;
        Ok(ActionsMailed { reset_link, verification_link })
    })
    .await
}

/// `POST /users/{id}/logout`: every session of the member ends; their clients are told.
pub async fn logout(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<usize, AdminError> {
    let path = format!("users/{id}/logout");
    perform(ctx, caller, AdminRole::ManageUsers, OperationType::Action, resource(path), None, async {
        let user = find(ctx, id).await?;
        Ok(logout::end_all_sessions(ctx, &user.id).await?)
    })
    .await
}

/// `GET /users/{id}/sessions`: the member's live SSO sessions.
pub async fn sessions(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
) -> Result<Vec<UserSessionRepresentation>, AdminError> {
    let path = format!("users/{id}/sessions");
    perform(
        ctx,
        caller,
        AdminRole::ViewUsers,
        OperationType::Read,
        Resource::new("USER_SESSION", path),
        None,
        async {
            let user = find(ctx, id).await?;
            let mut out = Vec::new();
            for session in ctx.db.sessions_of(&user.id).await? {
                let (idle, max) = crate::flows::sessions::lifetimes(ctx.realm, session.remember_me);
                if ctx.now - session.last_seen_at > idle || ctx.now - session.started_at > max {
                    continue;
                }
                let mut clients = BTreeMap::new();
                for client_id in ctx.db.session_clients(&session.id).await? {
                    let internal =
                        ctx.lookups.client(ctx.db, &ctx.realm.id, &client_id).await?.map(|c| c.id.clone());
                    clients.insert(internal.unwrap_or_else(|| client_id.clone()), client_id);
                }
                out.push(UserSessionRepresentation::of(&session, &user, clients));
            }
            Ok(out)
        },
    )
    .await
}

/// `GET /attack-detection/brute-force/users/{id}`: Keycloak's summary over the member's
/// records (every browser), with the kenpo's permanent lock.
pub async fn brute_force(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<BruteForceStatus, AdminError> {
    let path = format!("attack-detection/brute-force/users/{id}");
    perform(ctx, caller, AdminRole::ViewUsers, OperationType::Read, resource(path), None, async {
        let user = find(ctx, id).await?;
        let records = lockout::status(ctx.db, ctx.realm, &user.id).await?;
        let mut status = BruteForceStatus {
            num_failures: 0,
            disabled: false,
            last_ip_failure: None,
            last_failure: 0,
            permanently_locked: false,
            locked_until: None,
        };
        for record in &records {
            let failure = &record.failure;
            status.num_failures += u64::from(failure.num_failures);
            if let Some(at) = failure.last_failure_at.filter(|at| millis(*at) > status.last_failure) {
                status.last_failure = millis(at);
                status.last_ip_failure = failure.last_ip.clone();
            }
            match brute_force::lock_of(failure, ctx.now) {
                Some(Lock::Permanent) => {
                    status.disabled = true;
                    status.permanently_locked = true;
                }
                Some(Lock::Temporary { until }) => {
                    status.disabled = true;
                    status.locked_until =
                        Some(status.locked_until.map_or(millis(until), |t| t.max(millis(until))));
                }
                None => {}
            }
        }
        Ok(status)
    })
    .await
}

/// `DELETE /attack-detection/brute-force/users/{id}`: the kenpo's unlock (Q5, Q6).
pub async fn unlock(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<(), AdminError> {
    let path = format!("attack-detection/brute-force/users/{id}");
    perform(ctx, caller, AdminRole::ManageUsers, OperationType::Delete, resource(path), None, async {
        let user = find(ctx, id).await?;
        lockout::unlock(ctx.db, ctx.realm, &user.id).await?;
        Ok(())
    })
    .await
}
