//! Without being logged in (3-3, 3-4): 「パスワードを忘れた方はこちら」 mails a reset link valid
//! five minutes; 「ユーザIDを忘れた方はこちら」 mails the user ID to the registered address when
//! the birth date matches. Neither tells the person typing whether an account exists: the page
//! says the same thing either way, and the work behind it is done after the answer.
//!
//! Both are rate-limited per address (IP) and per account, in fixed windows.

use super::FlowError;
use super::action_tokens;
use super::hashing::HashPool;
use super::mail::{self, Mail};
use super::required_actions::{self, FieldError};
use super::tokens::Ctx;
use crate::domain::{BirthDate, Email, Username};
use crate::ephemeral::EphemeralStore;
use crate::i18n::Locale;
use crate::store::{ActionKind, User, UserStore};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use time::Duration;

/// 「パスワードをリセット」リンクの有効時間は5分です (3-3 step 5).
pub const RESET_LINK_LIFETIME: Duration = Duration::minutes(5);
const WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Requests from one address per window, across accounts.
pub const PER_ADDRESS: u64 = 10;
/// Mails to one account per window: a member who asks twice gets two, a flood gets three.
pub const PER_ACCOUNT: u64 = 3;

/// Counts a request from `ip`; `false` once the address is over its limit.
pub async fn address_allowed(ctx: &Ctx<'_>, what: &str, ip: IpAddr) -> Result<bool, FlowError> {
    let count = ctx.ephemeral.incr(&format!("recovery:{what}:{}:ip:{ip}", ctx.realm.id), WINDOW).await?;
    Ok(count <= PER_ADDRESS)
}

async fn account_allowed(ctx: &Ctx<'_>, what: &str, account: &str) -> Result<bool, FlowError> {
    let digest = hex::encode(Sha256::digest(account.to_lowercase().as_bytes()));
    let count =
        ctx.ephemeral.incr(&format!("recovery:{what}:{}:account:{digest}", ctx.realm.id), WINDOW).await?;
    Ok(count <= PER_ACCOUNT)
}

/// What a reset request did, for the event log (the member sees the same page either way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetRequest {
    Sent {
        user_id: String,
    },
    /// No such member, or nowhere to mail: the error code of the event.
    NotSent {
        user_id: Option<String>,
        reason: &'static str,
    },
}

/// Finds the member by user ID (or the 仮ID) and mails a reset link, voiding older links.
pub async fn request_reset(
    ctx: &Ctx<'_>,
    raw_username: &str,
    locale: Locale,
) -> Result<ResetRequest, FlowError> {
    let user = find_by_id(ctx, raw_username).await?;
    let Some(user) = user.filter(|u| u.enabled) else {
        return Ok(ResetRequest::NotSent { user_id: None, reason: "user_not_found" });
    };
    let Some(email) = &user.email else {
        return Ok(ResetRequest::NotSent { user_id: Some(user.id), reason: "invalid_email" });
    };
    if !account_allowed(ctx, "reset", user.id.as_str()).await? {
        return Ok(ResetRequest::NotSent { user_id: Some(user.id), reason: "too_many_requests" });
    }
    let locale = user.locale.as_deref().and_then(Locale::parse).unwrap_or(locale);
    mail_reset_link(ctx, &user, email, RESET_LINK_LIFETIME, locale).await?;
    Ok(ResetRequest::Sent { user_id: user.id })
}

/// Mails the member a 「パスワードをリセット」 link valid for `lifetime`, voiding older links
/// (the forgot-password page: 5 minutes; the kenpo's execute-actions mail: its own lifespan).
pub async fn mail_reset_link(
    ctx: &Ctx<'_>,
    user: &User,
    email: &crate::domain::Email,
    lifetime: time::Duration,
    locale: Locale,
) -> Result<(), FlowError> {
    let token = action_tokens::issue(
        ctx.db,
        ctx.realm,
        &user.id,
        ActionKind::ResetCredentials,
        None,
        lifetime,
        ctx.now,
    )
    .await?;
    let link = action_tokens::link(ctx.issuer, &token);
    let minutes = u32::try_from(lifetime.whole_minutes()).unwrap_or(u32::MAX);
    mail::enqueue(
        ctx.db,
        ctx.master,
        ctx.realm,
        ctx.mail_domain,
        email,
        locale,
        Mail::ResetPassword { link: &link, minutes },
        ctx.now,
    )
    .await?;
    Ok(())
}

async fn find_by_id(ctx: &Ctx<'_>, raw: &str) -> Result<Option<User>, FlowError> {
    let Ok(name) = Username::parse_issued(raw.trim()) else { return Ok(None) };
    Ok(ctx.db.user_by_id_or_issued(&ctx.realm.id, &name).await?)
}

/// The member a reset link stands for, while it is live (the form is shown, nothing used).
pub async fn reset_link_member(ctx: &Ctx<'_>, key: &str) -> Result<Option<User>, FlowError> {
    let Some(token) =
        action_tokens::peek(ctx.db, ctx.realm, ActionKind::ResetCredentials, key, ctx.now).await?
    else {
        return Ok(None);
    };
    Ok(ctx.db.user_by_id(&ctx.realm.id, &token.user_id).await?.filter(|u| u.enabled))
}

/// What following a reset link with a new password did.
#[derive(Debug)]
pub enum Reset {
    Done(Box<User>),
    Refused(Vec<FieldError>),
    /// Used, expired, voided by a newer link, or never issued.
    LinkInvalid,
}

/// Sets the new password from a reset link. The password is checked before the link is used,
/// so a refused password leaves the link working; the link is then used once, atomically.
pub async fn reset_password(
    ctx: &Ctx<'_>,
    hashing: &HashPool,
    key: &str,
    new: String,
    confirmation: &str,
) -> Result<Reset, FlowError> {
    let Some(mut user) = reset_link_member(ctx, key).await? else { return Ok(Reset::LinkInvalid) };
    let new = match required_actions::check_new_password(ctx, hashing, &user, new, confirmation).await? {
        Ok(new) => new,
        Err(errors) => return Ok(Reset::Refused(errors)),
    };
    if action_tokens::redeem(ctx.db, ctx.realm, ActionKind::ResetCredentials, key, ctx.now).await?.is_none() {
        return Ok(Reset::LinkInvalid);
    }
    required_actions::store_password(ctx, hashing, &mut user, new).await?;
    Ok(Reset::Done(Box::new(user)))
}

/// The forgot-user-ID form's refusals (empty or malformed inputs), before anything is looked up.
pub fn check_username_request(
    raw_birthdate: &str,
    raw_email: &str,
) -> Result<(BirthDate, Email), Vec<FieldError>> {
    let mut errors = Vec::new();
    let birthdate = match BirthDate::parse_compact(raw_birthdate) {
        Ok(d) => Some(d),
        Err(_) if raw_birthdate.trim().is_empty() => {
            errors.push(FieldError::new("birthdate", "birthdate.empty"));
            None
        }
        Err(_) => {
            errors.push(FieldError::new("birthdate", "birthdate.format"));
            None
        }
    };
    let email = Email::parse(raw_email).map_err(|e| errors.extend(required_actions::email_errors(e))).ok();
    match (birthdate, email) {
        (Some(b), Some(e)) if errors.is_empty() => Ok((b, e)),
        _ => Err(errors),
    }
}

/// Mails the user ID to `email` when a member of the realm has that address and birth date.
/// Returns the member it went to, for the event log.
pub async fn request_username(
    ctx: &Ctx<'_>,
    birthdate: BirthDate,
    email: &Email,
    locale: Locale,
) -> Result<Option<String>, FlowError> {
    if !account_allowed(ctx, "username", &email.key()).await? {
        return Ok(None);
    }
    let Some(user) = ctx.db.user_by_email(&ctx.realm.id, email).await? else { return Ok(None) };
    if !user.enabled || user.birthdate != Some(birthdate) {
        return Ok(None);
    }
    let locale = user.locale.as_deref().and_then(Locale::parse).unwrap_or(locale);
    let mail = Mail::UsernameReminder { username: user.username.as_str() };
    mail::enqueue(ctx.db, ctx.master, ctx.realm, ctx.mail_domain, email, locale, mail, ctx.now).await?;
    Ok(Some(user.id))
}
