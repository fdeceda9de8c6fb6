//! Members through the admin API, on Keycloak's `/users` resource: create, read, change
//! (Q6 disable, Q13 a changed name) and delete. Searching is `user_search`; credentials,
//! sessions and locks are `user_access`.

use super::repr::{UserRepresentation, attribute};
use super::{AdminError, Caller, Resource, perform};
use crate::domain::{AdminRole, AuthMethod, BirthDate, Email, Relationship, RequiredAction, Username};
use crate::flows::hashing::HashPool;
use crate::flows::tokens::Ctx;
use crate::flows::{logout, members};
use crate::store::{
    CredentialStore, CredentialType, NewCredential, NewUser, OperationType, User, UserSearchStore, UserStore,
    UserUpdate,
};
use secrecy::ExposeSecret;
use shared_crypto::password;

const USER: &str = "USER";

pub(super) fn resource(path: impl Into<String>) -> Resource {
    Resource::new(USER, path)
}

pub(super) async fn find(ctx: Ctx<'_>, id: &str) -> Result<User, AdminError> {
    ctx.db.user_by_id(&ctx.realm.id, id).await?.ok_or(AdminError::NotFound("User"))
}

pub(super) async fn has_totp(ctx: Ctx<'_>, user: &User) -> Result<bool, AdminError> {
    Ok(ctx.db.credentials_of(&user.id).await?.iter().any(|c| c.kind == CredentialType::Otp))
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
pub(super) async fn checked_hash(
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
