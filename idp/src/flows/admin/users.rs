//! Members through the admin API: what the manual sends members to their kenpo for (Q2 a
//! forgotten everything, Q5/Q6 a locked or disabled account, Q13 a changed name, 3-8 a lost
//! phone), on Keycloak's `/users` resource.

use super::repr::{
    BruteForceStatus, CredentialRepresentation, UserRepresentation, UserSessionRepresentation, attribute,
    millis,
};
use super::{AdminError, Caller, Resource, perform};
use crate::domain::{AdminRole, AuthMethod, BirthDate, Email, Relationship, RequiredAction, Username};
use crate::flows::brute_force::{self, Lock};
use crate::flows::hashing::HashPool;
use crate::flows::tokens::Ctx;
use crate::flows::{lockout, logout, members};
use crate::store::{
    CredentialStore, CredentialType, Match, NewCredential, NewUser, OperationType, SessionStore, User,
    UserQuery, UserSearchStore, UserStore, UserUpdate,
};
use secrecy::ExposeSecret;
use shared_crypto::password;
use std::collections::BTreeMap;

const USER: &str = "USER";

fn resource(path: impl Into<String>) -> Resource {
    Resource::new(USER, path)
}

/// Keycloak's search parameters as they arrive.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchParams {
    pub search: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub exact: Option<bool>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
    /// Keycloak's attribute query, `key:value` pairs separated by spaces; `birthdate` is read.
    pub q: Option<String>,
    pub first: Option<u32>,
    pub max: Option<u32>,
    pub brief_representation: Option<bool>,
}

impl SearchParams {
    /// Keycloak's rules: `search` is a prefix match, `*` at either end widens it, `"…"` is
    /// exact; the field filters are infix unless `exact=true`.
    fn query(&self) -> Result<UserQuery, AdminError> {
        let exact = self.exact.unwrap_or(false);
        let field = |raw: &Option<String>| {
            raw.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| if exact { Match::Exact(v.to_owned()) } else { Match::Contains(v.to_owned()) })
        };
        let search = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "*").map(|s| {
            if let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Match::Exact(inner.to_owned())
            } else if s.starts_with('*') {
                Match::Contains(s.trim_matches('*').to_owned())
            } else {
                Match::Prefix(s.trim_end_matches('*').to_owned())
            }
        });
        let name = match (&self.first_name, &self.last_name) {
            (Some(first), _) if !first.trim().is_empty() => field(&self.first_name),
            _ => field(&self.last_name),
        };
        let mut birthdate = None;
        for pair in self.q.as_deref().unwrap_or_default().split_whitespace() {
            match pair.split_once(':') {
                Some((attribute::BIRTHDATE, value)) => {
                    birthdate = Some(
                        BirthDate::parse_iso(value)
                            .or_else(|_| BirthDate::parse_compact(value))
                            .map_err(|e| AdminError::invalid(format!("q: {e}")))?,
                    );
                }
                _ => {
                    return Err(AdminError::invalid(format!(
                        "q: only {}:<date> is searchable",
                        attribute::BIRTHDATE
                    )));
                }
            }
        }
        Ok(UserQuery {
            search,
            username: field(&self.username),
            email: field(&self.email),
            name,
            birthdate,
            enabled: self.enabled,
            email_verified: self.email_verified,
        })
    }
}

async fn find(ctx: Ctx<'_>, id: &str) -> Result<User, AdminError> {
    ctx.db.user_by_id(&ctx.realm.id, id).await?.ok_or(AdminError::NotFound("User"))
}

async fn has_totp(ctx: Ctx<'_>, user: &User) -> Result<bool, AdminError> {
    Ok(ctx.db.credentials_of(&user.id).await?.iter().any(|c| c.kind == CredentialType::Otp))
}

/// `GET /users`: matching members, by user ID.
pub async fn search(
    ctx: Ctx<'_>,
    caller: &Caller,
    params: &SearchParams,
) -> Result<Vec<UserRepresentation>, AdminError> {
    let query = params.query()?;
    let (first, max) = super::page(params.first, params.max);
    let brief = params.brief_representation.unwrap_or(false);
    perform(ctx, caller, AdminRole::ViewUsers, OperationType::Read, resource("users"), None, async {
        let users = ctx.db.search_users(&ctx.realm.id, &query, first, max).await?;
        let mut out = Vec::with_capacity(users.len());
        for user in &users {
            out.push(UserRepresentation::of(user, has_totp(ctx, user).await?, brief));
        }
        Ok(out)
    })
    .await
}

/// `GET /users/count`, with the same filters.
pub async fn count(ctx: Ctx<'_>, caller: &Caller, params: &SearchParams) -> Result<u64, AdminError> {
    let query = params.query()?;
    perform(ctx, caller, AdminRole::ViewUsers, OperationType::Read, resource("users/count"), None, async {
        Ok(ctx.db.count_matching_users(&ctx.realm.id, &query).await?)
    })
    .await
}

/// `GET /users/{id}`.
pub async fn get(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<UserRepresentation, AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ViewUsers,
        OperationType::Read,
        resource(format!("users/{id}")),
        None,
        async {
            let user = find(ctx, id).await?;
            Ok(UserRepresentation::of(&user, has_totp(ctx, &user).await?, false))
        },
    )
    .await
}

/// What a representation says about the kenpo's member fields, read and checked.
struct Fields {
    email: Option<Option<Email>>,
    display_name: Option<String>,
    birthdate: Option<Option<BirthDate>>,
    relationship: Option<Option<Relationship>>,
    required_actions: Option<Vec<RequiredAction>>,
    temporary_id: Option<bool>,
    auth_method: Option<Option<AuthMethod>>,
    locale: Option<Option<String>>,
    issued_username: Option<Option<Username>>,
}

fn read_fields(rep: &UserRepresentation) -> Result<Fields, AdminError> {
    let email = rep
        .email
        .as_deref()
        .map(|e| {
            let e = e.trim();
            if e.is_empty() {
                Ok(None)
            } else {
                Email::parse(e).map(Some).map_err(|err| AdminError::invalid(format!("email: {err}")))
            }
        })
        .transpose()?;
    let optional = |name: &str| {
        rep.attributes
            .as_ref()
            .and_then(|a| a.get(name))
            .map(|v| v.first().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
    };
    let birthdate = optional(attribute::BIRTHDATE)
        .map(|v| v.map(|d| BirthDate::parse_iso(&d).or_else(|_| BirthDate::parse_compact(&d))).transpose())
        .transpose()
        .map_err(|e| AdminError::invalid(format!("attributes.birthdate: {e}")))?;
    let relationship = optional(attribute::RELATIONSHIP)
        .map(|v| {
            v.map(|r| {
                r.parse::<Relationship>().ok().or_else(|| Relationship::from_label(&r)).ok_or_else(|| {
                    AdminError::invalid("attributes.relationship: insured or dependant (本人 or 家族)")
                })
            })
            .transpose()
        })
        .transpose()?;
    let temporary_id = optional(attribute::TEMPORARY_ID)
        .flatten()
        .map(|v| v.parse::<bool>().map_err(|_| AdminError::invalid("attributes.temporaryId: true or false")))
        .transpose()?;
    let auth_method = optional(attribute::AUTH_METHOD)
        .map(|v| {
            v.map(|m| {
                AuthMethod::parse(&m)
                    .ok_or_else(|| AdminError::invalid("attributes.authMethod: webauthn, otp or email-otp"))
            })
            .transpose()
        })
        .transpose()?;
    let locale = optional(attribute::LOCALE)
        .map(|v| {
            v.map(|l| {
                if crate::i18n::Locale::parse(&l).is_some() {
                    Ok(l)
                } else {
                    Err(AdminError::invalid("attributes.locale: ja or en"))
                }
            })
            .transpose()
        })
        .transpose()?;
    let issued_username = optional(attribute::ISSUED_USERNAME)
        .map(|v| v.map(|u| Username::parse_issued(&u)).transpose())
        .transpose()
        .map_err(|e| AdminError::invalid(format!("attributes.issuedUsername: {e}")))?;
    let required_actions = rep
        .required_actions
        .as_ref()
        .map(|actions| {
            actions
                .iter()
                .map(|a| {
                    RequiredAction::from_alias(a)
                        .ok_or_else(|| AdminError::invalid(format!("requiredActions: unknown action {a}")))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(Fields {
        email,
        display_name: rep.display_name(),
        birthdate,
        relationship,
        required_actions,
        temporary_id,
        auth_method,
        locale,
        issued_username,
    })
}

/// The representation for an admin event: what was sent, without credentials.
fn logged(rep: &UserRepresentation) -> Option<String> {
    serde_json::to_string(rep).ok()
}

/// `POST /users`: a new member (or staff account). A `credentials` entry of type `password`
/// sets the first password, checked against the realm's policy; `temporary` (Keycloak's
/// default) makes the member change it at the first login. Returns the new id.
pub async fn create(
    ctx: Ctx<'_>,
    caller: &Caller,
    hashing: &HashPool,
    rep: &UserRepresentation,
) -> Result<String, AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ManageUsers,
        OperationType::Create,
        resource("users"),
        logged(rep),
        async {
            let username = rep
                .username
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .ok_or_else(|| AdminError::invalid("username is required"))?;
            let username = Username::parse_issued(username)
                .map_err(|e| AdminError::invalid(format!("username: {e}")))?;
            let fields = read_fields(rep)?;
            let password = match rep.credentials.as_deref().unwrap_or_default() {
                [] => None,
                [one] if one.kind.as_deref().is_none_or(|k| k == "password") => Some(one),
                _ => return Err(AdminError::invalid("credentials: only one password can be set on create")),
            };
            let mut required_actions = fields.required_actions.unwrap_or_default();
            let hash = match password {
                Some(credential) => {
                    let value = credential
                        .value
                        .as_ref()
                        .ok_or_else(|| AdminError::invalid("credentials: value is required"))?;
                    let hash = checked_hash(ctx, hashing, username.as_str(), value.expose_secret()).await?;
                    if credential.temporary.unwrap_or(true)
                        && !required_actions.contains(&RequiredAction::UpdatePassword)
                    {
                        required_actions.push(RequiredAction::UpdatePassword);
                        required_actions.sort();
                    }
                    Some(hash)
                }
                None => None,
            };
            let new = NewUser {
                username,
                issued_username: fields.issued_username.flatten(),
                email: fields.email.flatten(),
                email_verified: rep.email_verified.unwrap_or(false),
                display_name: fields.display_name.unwrap_or_default(),
                birthdate: fields.birthdate.flatten(),
                relationship: fields.relationship.flatten(),
                temporary_id: fields.temporary_id.unwrap_or(false),
                required_actions,
                locale: fields.locale.flatten(),
            };
            let user = ctx.db.create_user(&ctx.realm.id, new, ctx.now).await?;
            if let Some(hash) = hash {
                ctx.db.create_credential(&user.id, NewCredential::password(&hash), ctx.now).await?;
            }
            if rep.enabled == Some(false) {
                ctx.db.set_enabled(&ctx.realm.id, &user.id, false).await?;
            }
            if let Some(method) = fields.auth_method.flatten() {
                let mut user = user.clone();
                user.auth_method = Some(method);
                ctx.db.save_member(&user).await?;
            }
            Ok(user.id)
        },
    )
    .await
}

/// The realm's password policy (without the member's own-password check: an admin sets it),
/// then the hash, on the hashing threads.
async fn checked_hash(
    ctx: Ctx<'_>,
    hashing: &HashPool,
    username: &str,
    value: &str,
) -> Result<password::StoredPassword, AdminError> {
    ctx.realm
        .settings
        .password_policy
        .check(value, value, username)
        .map_err(|e| AdminError::invalid(format!("password: {e}")))?;
    let value = value.to_owned();
    Ok(hashing.run(move || password::hash_password(&value)).await?.map_err(crate::flows::FlowError::from)?)
}

/// `PUT /users/{id}`: changes what the representation names and leaves the rest. Turning the
/// account off ends its sessions, as `kenpo-idp user disable` does.
pub async fn update(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
    rep: &UserRepresentation,
) -> Result<usize, AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ManageUsers,
        OperationType::Update,
        resource(format!("users/{id}")),
        logged(rep),
        async {
            let mut user = find(ctx, id).await?;
            let fields = read_fields(rep)?;
            if let Some(username) = rep.username.as_deref().map(str::trim) {
                user.username = Username::parse_issued(username)
                    .map_err(|e| AdminError::invalid(format!("username: {e}")))?;
            }
            if let Some(email) = fields.email {
                if email != user.email {
                    user.email_verified = false;
                }
                user.email = email;
            }
            if let Some(verified) = rep.email_verified {
                user.email_verified = verified;
            }
            if let Some(actions) = fields.required_actions {
                user.required_actions = actions;
                user.required_actions.sort();
                user.required_actions.dedup();
            }
            if let Some(temporary) = fields.temporary_id {
                user.temporary_id = temporary;
            }
            if let Some(method) = fields.auth_method {
                user.auth_method = method;
            }
            if let Some(locale) = fields.locale {
                user.locale = locale;
            }
            if fields.issued_username.is_some() {
                return Err(AdminError::invalid(
                    "attributes.issuedUsername cannot change: it names the kenpo's record",
                ));
            }
            ctx.db.save_member(&user).await?;
            let update = UserUpdate {
                display_name: fields.display_name.unwrap_or_else(|| user.display_name.clone()),
                birthdate: fields.birthdate.unwrap_or(user.birthdate),
                relationship: fields.relationship.unwrap_or(user.relationship),
            };
            ctx.db.update_user(&ctx.realm.id, &user.id, &update).await?;
            let ended = match rep.enabled {
                Some(false) if user.enabled => members::disable(ctx, &user).await?,
                Some(true) if !user.enabled => {
                    members::enable(ctx, &user).await?;
                    0
                }
                _ => 0,
            };
            Ok(ended)
        },
    )
    .await
}

/// Kenpo addition `PUT /users/{id}/display-name` (Q13): the member's ユーザー名, which only the
/// kenpo changes. Body: `{"displayName": "…"}`.
pub async fn set_display_name(ctx: Ctx<'_>, caller: &Caller, id: &str, name: &str) -> Result<(), AdminError> {
    let name = name.trim();
    let body = serde_json::json!({ "displayName": name }).to_string();
    let path = format!("users/{id}/display-name");
    perform(ctx, caller, AdminRole::ManageUsers, OperationType::Update, resource(path), Some(body), async {
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AdminError::invalid("displayName: 1 to 100 characters"));
        }
        let user = find(ctx, id).await?;
        let update = UserUpdate {
            display_name: name.to_owned(),
            birthdate: user.birthdate,
            relationship: user.relationship,
        };
        Ok(ctx.db.update_user(&ctx.realm.id, &user.id, &update).await?)
    })
    .await
}

/// `DELETE /users/{id}`: the member's sessions end first (their clients are told), then the
/// member and everything of theirs is removed.
pub async fn delete(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<(), AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ManageUsers,
        OperationType::Delete,
        resource(format!("users/{id}")),
        None,
        async {
            let user = find(ctx, id).await?;
            logout::end_all_sessions(ctx, &user.id).await?;
            if !ctx.db.delete_user(&ctx.realm.id, &user.id).await? {
                return Err(AdminError::NotFound("User"));
            }
            Ok(())
        },
    )
    .await
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(search: &str) -> SearchParams {
        SearchParams { search: Some(search.to_owned()), ..SearchParams::default() }
    }

    #[test]
    fn search_follows_keycloaks_prefix_infix_and_exact_rules() {
        let read = |p: SearchParams| p.query().ok().and_then(|q| q.search);
        assert_eq!(read(params("yama")), Some(Match::Prefix("yama".to_owned())));
        assert_eq!(read(params("*yama*")), Some(Match::Contains("yama".to_owned())));
        assert_eq!(read(params("\"yamada01\"")), Some(Match::Exact("yamada01".to_owned())));
        assert_eq!(read(params("*")), None);
    }

    #[test]
    fn field_filters_are_infix_unless_exact() {
        let p = SearchParams { email: Some("example.jp".to_owned()), ..SearchParams::default() };
        assert_eq!(p.query().ok().and_then(|q| q.email), Some(Match::Contains("example.jp".to_owned())));
        let p = SearchParams {
            email: Some("a@example.jp".to_owned()),
            exact: Some(true),
            ..SearchParams::default()
        };
        assert_eq!(p.query().ok().and_then(|q| q.email), Some(Match::Exact("a@example.jp".to_owned())));
    }

    #[test]
    fn birthdate_is_searchable_by_q_and_other_attributes_are_refused() {
        let p = SearchParams { q: Some("birthdate:1979-08-22".to_owned()), ..SearchParams::default() };
        assert_eq!(
            p.query().ok().and_then(|q| q.birthdate).map(|d| d.to_string()).as_deref(),
            Some("1979-08-22")
        );
        let p = SearchParams { q: Some("birthdate:19790822".to_owned()), ..SearchParams::default() };
        assert!(p.query().is_ok());
        let p = SearchParams { q: Some("phone:1".to_owned()), ..SearchParams::default() };
        assert!(p.query().is_err());
    }
}
