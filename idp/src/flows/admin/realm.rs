//! The realm itself through the admin API: read and change its settings (Keycloak's
//! `GET/PUT /admin/realms/{realm}`), and the kenpo's new terms of use.

use super::repr::RealmRepresentation;
use super::{AdminError, Caller, Resource, perform};
use crate::domain::AdminRole;
use crate::flows::terms;
use crate::flows::tokens::Ctx;
use crate::store::{OperationType, RealmSettings, RealmStore};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `GET /admin/realms/{realm}`.
pub async fn get(ctx: Ctx<'_>, caller: &Caller) -> Result<RealmRepresentation, AdminError> {
    perform(ctx, caller, AdminRole::ViewRealm, OperationType::Read, Resource::new("REALM", ""), None, async {
        Ok(RealmRepresentation::of(ctx.realm))
    })
    .await
}

/// Keycloak's top-level names for the settings we share, and where each lives in ours.
const KEYCLOAK_NAMES: [(&str, &[&str]); 13] = [
    ("accessTokenLifespan", &["accessTokenSeconds"]),
    ("ssoSessionIdleTimeout", &["ssoSessionIdleSeconds"]),
    ("ssoSessionMaxLifespan", &["ssoSessionMaxSeconds"]),
    ("ssoSessionIdleTimeoutRememberMe", &["rememberMeIdleSeconds"]),
    ("ssoSessionMaxLifespanRememberMe", &["rememberMeMaxSeconds"]),
    ("bruteForceProtected", &["bruteForce", "enabled"]),
    ("failureFactor", &["bruteForce", "failureFactor"]),
    ("waitIncrementSeconds", &["bruteForce", "waitIncrementSeconds"]),
    ("maxFailureWaitSeconds", &["bruteForce", "maxFailureWaitSeconds"]),
    ("maxDeltaTimeSeconds", &["bruteForce", "maxDeltaTimeSeconds"]),
    ("quickLoginCheckMilliSeconds", &["bruteForce", "quickLoginCheckMilliseconds"]),
    ("minimumQuickLoginWaitSeconds", &["bruteForce", "minimumQuickLoginWaitSeconds"]),
    ("maxTemporaryLockouts", &["bruteForce", "maxTemporaryLockouts"]),
];

/// Merges `patch` into `target`, objects key by key.
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

/// The settings a `PUT` asks for: Keycloak's top-level fields, then `attributes` (our settings
/// by their own names). Fields not named stay as they are; `realm` and `displayName` cannot
/// change here.
fn settings_after(
    realm: &crate::store::Realm,
    body: &Map<String, Value>,
) -> Result<RealmSettings, AdminError> {
    for fixed in ["realm", "displayName", "id"] {
        let current = match fixed {
            "realm" => realm.name.as_str().to_owned(),
            "displayName" => realm.display_name.clone(),
            _ => realm.id.clone(),
        };
        if body.get(fixed).and_then(Value::as_str).is_some_and(|v| v != current) {
            return Err(AdminError::invalid(format!("{fixed} cannot be changed through the admin API")));
        }
    }
    let mut settings =
        serde_json::to_value(&realm.settings).map_err(|e| AdminError::invalid(e.to_string()))?;
    for (keycloak, ours) in KEYCLOAK_NAMES {
        if let Some(value) = body.get(keycloak) {
            let mut patch = value.clone();
            for key in ours.iter().rev() {
                patch = Value::Object(Map::from_iter([((*key).to_owned(), patch)]));
            }
            merge(&mut settings, patch);
        }
    }
    if body.get("permanentLockout") == Some(&Value::Bool(false)) {
        merge(&mut settings, serde_json::json!({ "bruteForce": { "maxTemporaryLockouts": 0 } }));
    }
    if let Some(locale) = body.get("defaultLocale") {
        merge(&mut settings, serde_json::json!({ "defaultLocale": locale }));
    }
    if let Some(attributes) = body.get("attributes") {
        merge(&mut settings, attributes.clone());
    }
    let settings: RealmSettings =
        serde_json::from_value(settings).map_err(|e| AdminError::invalid(format!("settings: {e}")))?;
    check(&settings)?;
    Ok(settings)
}

/// Settings that would break logins are refused.
fn check(s: &RealmSettings) -> Result<(), AdminError> {
    let positive = [
        ("accessTokenLifespan", s.access_token_seconds),
        ("ssoSessionIdleTimeout", s.sso_session_idle_seconds),
        ("ssoSessionMaxLifespan", s.sso_session_max_seconds),
        ("ssoSessionIdleTimeoutRememberMe", s.remember_me_idle_seconds),
        ("ssoSessionMaxLifespanRememberMe", s.remember_me_max_seconds),
        ("failureFactor", s.brute_force.failure_factor),
        ("verifyEmailLinkSeconds", s.verify_email_link_seconds),
    ];
    if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(AdminError::invalid(format!("{name} must be above 0")));
    }
    if s.sso_session_idle_seconds > s.sso_session_max_seconds {
        return Err(AdminError::invalid("ssoSessionIdleTimeout cannot exceed ssoSessionMaxLifespan"));
    }
    if crate::i18n::Locale::parse(&s.default_locale).is_none() {
        return Err(AdminError::invalid("defaultLocale: ja or en"));
    }
    let (min, max) = (s.password_policy.min_length, s.password_policy.max_length);
    if min < crate::domain::PasswordPolicy::MIN || max > crate::domain::PasswordPolicy::MAX || min > max {
        return Err(AdminError::invalid("passwordPolicy: lengths must stay within 8..=64, min ≤ max"));
    }
    if s.auth_methods.is_empty() {
        return Err(AdminError::invalid("authMethods: at least one"));
    }
    Ok(())
}

/// `PUT /admin/realms/{realm}`: returns the realm as it is now.
pub async fn update(
    ctx: Ctx<'_>,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<RealmRepresentation, AdminError> {
    let shown = serde_json::to_string(body).ok();
    perform(
        ctx,
        caller,
        AdminRole::ManageRealm,
        OperationType::Update,
        Resource::new("REALM", ""),
        shown,
        async {
            let settings = settings_after(ctx.realm, body)?;
            ctx.db.update_realm_settings(&ctx.realm.id, &settings).await?;
            ctx.lookups.forget_realm(ctx.realm.name.as_str());
            let mut realm = ctx.realm.clone();
            realm.settings = settings;
            Ok(RealmRepresentation::of(&realm))
        },
    )
    .await
}

/// Kenpo addition `POST /admin/realms/{realm}/terms`: a new version of the terms of use, which
/// every member accepts at their next login (3-9).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewTerms {
    pub ja: String,
    pub en: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublishedTerms {
    pub version: i64,
    #[serde(rename = "publishedAt")]
    pub published_at: i64,
}

pub async fn publish_terms(
    ctx: Ctx<'_>,
    caller: &Caller,
    new: &NewTerms,
) -> Result<PublishedTerms, AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ManageRealm,
        OperationType::Create,
        Resource::new("REALM", "terms"),
        None,
        async {
            let published = terms::publish(ctx.db, ctx.realm, &new.ja, &new.en, ctx.now)
                .await
                .map_err(super::bad_input)?;
            Ok(PublishedTerms {
                version: published.version,
                published_at: super::repr::millis(published.published_at),
            })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Realm;

    fn realm() -> Realm {
        Realm {
            id: "r".to_owned(),
            name: crate::domain::RealmName::parse("demo").unwrap_or_else(|e| panic!("{e}")),
            display_name: "デモ".to_owned(),
            host: None,
            enabled: true,
            settings: RealmSettings::default(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn body(json: Value) -> Map<String, Value> {
        json.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn keycloak_names_and_attributes_both_change_settings() {
        let after = settings_after(
            &realm(),
            &body(serde_json::json!({
                "failureFactor": 3,
                "accessTokenLifespan": 120,
                "attributes": { "reauthenticationWindowSeconds": 60 }
            })),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(after.brute_force.failure_factor, 3);
        assert_eq!(after.access_token_seconds, 120);
        assert_eq!(after.reauthentication_window_seconds, 60);
        assert_eq!(
            after.brute_force.wait_increment_seconds,
            RealmSettings::default().brute_force.wait_increment_seconds
        );
    }

    #[test]
    fn breaking_or_fixed_values_are_refused() {
        for bad in [
            serde_json::json!({ "failureFactor": 0 }),
            serde_json::json!({ "accessTokenLifespan": "soon" }),
            serde_json::json!({ "realm": "other" }),
            serde_json::json!({ "defaultLocale": "fr" }),
            serde_json::json!({ "attributes": { "passwordPolicy": { "minLength": 4, "maxLength": 64 } } }),
        ] {
            assert!(settings_after(&realm(), &body(bad.clone())).is_err(), "{bad}");
        }
    }
}
