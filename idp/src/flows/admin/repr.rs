//! Keycloak's JSON shapes for the admin API (`org.keycloak.representations.idm`), so its admin
//! clients read and write ours. Fields Keycloak has and a kenpo member has no use for are left
//! out; what only a kenpo has travels as `attributes`, as Keycloak carries custom data.

use crate::store::{AdminEvent, Client, Credential, Event, GrantType, Realm, User, UserSession};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Keycloak's user attributes: each a list of strings.
pub type Attributes = BTreeMap<String, Vec<String>>;

/// The kenpo's member fields, under these attribute names.
pub mod attribute {
    pub const BIRTHDATE: &str = "birthdate";
    pub const RELATIONSHIP: &str = "relationship";
    pub const ISSUED_USERNAME: &str = "issuedUsername";
    pub const TEMPORARY_ID: &str = "temporaryId";
    pub const AUTH_METHOD: &str = "authMethod";
    pub const LOCALE: &str = "locale";
    pub const TERMS_ACCEPTED: &str = "termsAcceptedVersion";
}

/// `UserRepresentation`. The member's ユーザー名 is `firstName` (Japanese names are kept whole;
/// a `lastName` sent in is put in front, family name first).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_actions: Option<Vec<String>>,
    /// Only on create: the initial password (`type: password`).
    #[serde(default, skip_serializing)]
    pub credentials: Option<Vec<CredentialRepresentation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<BTreeMap<String, bool>>,
}

impl UserRepresentation {
    /// What an admin reads. `brief` leaves out attributes and owed actions (Keycloak's
    /// `briefRepresentation`).
    pub fn of(user: &User, has_totp: bool, brief: bool) -> Self {
        let mut attributes = Attributes::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                attributes.insert(name.to_owned(), vec![value]);
            }
        };
        put(attribute::BIRTHDATE, user.birthdate.map(|d| d.to_string()));
        put(attribute::RELATIONSHIP, user.relationship.map(|r| r.as_str().to_owned()));
        put(attribute::ISSUED_USERNAME, user.issued_username.as_ref().map(|u| u.as_str().to_owned()));
        put(attribute::TEMPORARY_ID, Some(user.temporary_id.to_string()));
        put(attribute::AUTH_METHOD, user.auth_method.map(|m| m.as_str().to_owned()));
        put(attribute::LOCALE, user.locale.clone());
        put(attribute::TERMS_ACCEPTED, user.terms_accepted_version.map(|v| v.to_string()));
        Self {
            id: Some(user.id.clone()),
            created_timestamp: Some(millis(user.created_at)),
            username: Some(user.username.as_str().to_owned()),
            enabled: Some(user.enabled),
            totp: Some(has_totp),
            email_verified: Some(user.email_verified),
            first_name: Some(user.display_name.clone()),
            last_name: None,
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            attributes: (!brief).then_some(attributes),
            required_actions: (!brief)
                .then(|| user.required_actions.iter().map(|a| a.alias().to_owned()).collect()),
            credentials: None,
            not_before: Some(0),
            access: Some(BTreeMap::from([
                ("manageGroupMembership".to_owned(), false),
                ("view".to_owned(), true),
                ("mapRoles".to_owned(), false),
                ("impersonate".to_owned(), false),
                ("manage".to_owned(), true),
            ])),
        }
    }

    /// The name as one string: `lastName firstName` when both are sent, as a Japanese name reads.
    pub fn display_name(&self) -> Option<String> {
        let parts: Vec<&str> = [self.last_name.as_deref(), self.first_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// A single-valued attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.as_ref()?.get(name)?.first().map(String::as_str)
    }
}

/// `CredentialRepresentation`. Secrets are never read out: `secretData` is not sent, and
/// `value` is only ever received (reset-password, create).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_data: Option<String>,
    #[serde(default, skip_serializing)]
    pub value: Option<secrecy::SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary: Option<bool>,
}

impl CredentialRepresentation {
    pub fn of(credential: &Credential) -> Self {
        Self {
            id: Some(credential.id.clone()),
            kind: Some(credential.kind.as_str().to_owned()),
            user_label: credential.user_label.clone(),
            created_date: Some(millis(credential.created_at)),
            // Passkey data is webauthn-rs state (public key, counter): public, but of no use to
            // an admin tool; Keycloak sends its own shape there. Only the OTP parameters go out.
            credential_data: matches!(credential.kind, crate::store::CredentialType::Otp)
                .then(|| credential.credential_data.clone()),
            value: None,
            temporary: None,
        }
    }
}

/// `UserSessionRepresentation`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSessionRepresentation {
    pub id: String,
    pub username: String,
    pub user_id: String,
    pub ip_address: Option<String>,
    pub start: i64,
    pub last_access: i64,
    pub remember_me: bool,
    /// Keycloak's map of client UUID to client ID.
    pub clients: BTreeMap<String, String>,
    /// Kenpo addition: the browser, so staff can tell a member which device is which.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl UserSessionRepresentation {
    pub fn of(session: &UserSession, user: &User, clients: BTreeMap<String, String>) -> Self {
        Self {
            id: session.id.clone(),
            username: user.username.as_str().to_owned(),
            user_id: user.id.clone(),
            ip_address: session.ip_address.clone(),
            start: millis(session.started_at),
            last_access: millis(session.last_seen_at),
            remember_me: session.remember_me,
            clients,
            user_agent: session.user_agent.clone(),
        }
    }
}

/// `ClientRepresentation`. The secret is never read back: it is stored only as a keyed hash,
/// shown once when made (create, regenerate).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_client: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_authenticator_type: Option<String>,
    /// Only received (create), or sent once in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_flow_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_accounts_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implicit_flow_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_access_grants_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Only Keycloak's audience mapper is offered: what `aud` the client's access tokens carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_mappers: Option<Vec<ProtocolMapperRepresentation>>,
}

/// `ProtocolMapperRepresentation`, for the one mapper kind we offer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolMapperRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub protocol_mapper: String,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// Keycloak's audience mapper and its settings.
pub mod audience_mapper {
    pub const KIND: &str = "oidc-audience-mapper";
    /// A client of the realm, by its `clientId`.
    pub const CLIENT: &str = "included.client.audience";
    /// Any other audience.
    pub const CUSTOM: &str = "included.custom.audience";
    pub const ACCESS_TOKEN: &str = "access.token.claim";
}

impl ProtocolMapperRepresentation {
    /// The audience mapper that puts `audience` in access tokens.
    pub fn audience(audience: &str) -> Self {
        use audience_mapper as m;
        let config = [(m::CLIENT, audience), (m::ACCESS_TOKEN, "true"), ("id.token.claim", "false")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self {
            id: None,
            name: format!("audience {audience}"),
            protocol: Some("openid-connect".to_owned()),
            protocol_mapper: m::KIND.to_owned(),
            config,
        }
    }

    /// The audience this mapper adds to access tokens; `Err` for a mapper we do not offer,
    /// `Ok(None)` for an audience mapper that adds nothing to access tokens.
    pub fn access_token_audience(&self) -> Result<Option<&str>, String> {
        use audience_mapper as m;
        if self.protocol_mapper != m::KIND {
            return Err(format!(
                "protocol mapper {:?} is not offered; only {}",
                self.protocol_mapper,
                m::KIND
            ));
        }
        if self.config.get(m::ACCESS_TOKEN).is_some_and(|v| v != "true") {
            return Ok(None);
        }
        let audience = self.config.get(m::CLIENT).or_else(|| self.config.get(m::CUSTOM));
        match audience.map(|a| a.trim()).filter(|a| !a.is_empty()) {
            Some(audience) => Ok(Some(audience)),
            None => Err(format!("{} needs {} or {}", m::KIND, m::CLIENT, m::CUSTOM)),
        }
    }
}

/// Keycloak's client attribute names for what our clients carry.
pub mod client_attribute {
    pub const POST_LOGOUT_REDIRECT_URIS: &str = "post.logout.redirect.uris";
    pub const BACKCHANNEL_LOGOUT_URL: &str = "backchannel.logout.url";
    pub const PKCE_METHOD: &str = "pkce.code.challenge.method";
    pub const ID_TOKEN_ALG: &str = "id.token.signed.response.alg";
    pub const REFRESH_ROTATION: &str = "use.refresh.tokens.rotation";
    pub const USE_REFRESH_TOKENS: &str = "use.refresh.tokens";
}

impl ClientRepresentation {
    pub fn of(client: &Client) -> Self {
        use client_attribute as a;
        let mut attributes = BTreeMap::new();
        let post_logout: Vec<&str> = client.post_logout_redirect_uris.iter().map(|u| u.as_str()).collect();
        attributes.insert(a::POST_LOGOUT_REDIRECT_URIS.to_owned(), post_logout.join("##"));
        if let Some(uri) = &client.backchannel_logout_uri {
            attributes.insert(a::BACKCHANNEL_LOGOUT_URL.to_owned(), uri.clone());
        }
        if client.requires_pkce() {
            attributes.insert(a::PKCE_METHOD.to_owned(), "S256".to_owned());
        }
        attributes.insert(a::ID_TOKEN_ALG.to_owned(), client.id_token_signing_alg.as_str().to_owned());
        attributes.insert(
            a::USE_REFRESH_TOKENS.to_owned(),
            client.grant_types.contains(&GrantType::RefreshToken).to_string(),
        );
        attributes.insert(a::REFRESH_ROTATION.to_owned(), client.rotate_refresh_tokens.to_string());
        Self {
            id: Some(client.id.clone()),
            client_id: Some(client.client_id.as_str().to_owned()),
            name: client.name.clone(),
            enabled: Some(client.enabled),
            public_client: Some(!client.confidential),
            client_authenticator_type: Some(
                if client.jwks.is_some() { "client-jwt" } else { "client-secret" }.to_owned(),
            ),
            secret: None,
            redirect_uris: Some(client.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect()),
            standard_flow_enabled: Some(client.grant_types.contains(&GrantType::AuthorizationCode)),
            service_accounts_enabled: Some(client.grant_types.contains(&GrantType::ClientCredentials)),
            implicit_flow_enabled: Some(false),
            direct_access_grants_enabled: Some(false),
            protocol: Some("openid-connect".to_owned()),
            attributes: Some(attributes),
            protocol_mappers: Some(
                client.audiences.iter().map(|a| ProtocolMapperRepresentation::audience(a)).collect(),
            ),
        }
    }
}

/// `CredentialRepresentation` of a client secret (`GET/POST …/client-secret`).
#[derive(Debug, Clone, Serialize)]
pub struct ClientSecret {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `RealmRepresentation`: the realm's name and the settings we share with Keycloak, plus the
/// kenpo's own under `attributes`-like extra fields (camelCase, as `RealmSettings` names them).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealmRepresentation {
    pub id: String,
    pub realm: String,
    pub display_name: String,
    pub enabled: bool,
    pub access_token_lifespan: u32,
    pub sso_session_idle_timeout: u32,
    pub sso_session_max_lifespan: u32,
    pub sso_session_idle_timeout_remember_me: u32,
    pub sso_session_max_lifespan_remember_me: u32,
    pub brute_force_protected: bool,
    pub failure_factor: u32,
    pub wait_increment_seconds: u32,
    pub max_failure_wait_seconds: u32,
    pub max_delta_time_seconds: u32,
    pub quick_login_check_milli_seconds: u32,
    pub minimum_quick_login_wait_seconds: u32,
    pub permanent_lockout: bool,
    pub max_temporary_lockouts: u32,
    pub default_locale: String,
    pub internationalization_enabled: bool,
    pub supported_locales: Vec<&'static str>,
    pub events_enabled: bool,
    pub admin_events_enabled: bool,
    /// The kenpo's settings as they are stored, Keycloak names where Keycloak has them.
    pub attributes: serde_json::Value,
}

impl RealmRepresentation {
    pub fn of(realm: &Realm) -> Self {
        let s = &realm.settings;
        let b = &s.brute_force;
        Self {
            id: realm.id.clone(),
            realm: realm.name.as_str().to_owned(),
            display_name: realm.display_name.clone(),
            enabled: realm.enabled,
            access_token_lifespan: s.access_token_seconds,
            sso_session_idle_timeout: s.sso_session_idle_seconds,
            sso_session_max_lifespan: s.sso_session_max_seconds,
            sso_session_idle_timeout_remember_me: s.remember_me_idle_seconds,
            sso_session_max_lifespan_remember_me: s.remember_me_max_seconds,
            brute_force_protected: b.enabled,
            failure_factor: b.failure_factor,
            wait_increment_seconds: b.wait_increment_seconds,
            max_failure_wait_seconds: b.max_failure_wait_seconds,
            max_delta_time_seconds: b.max_delta_time_seconds,
            quick_login_check_milli_seconds: b.quick_login_check_milliseconds,
            minimum_quick_login_wait_seconds: b.minimum_quick_login_wait_seconds,
            permanent_lockout: b.max_temporary_lockouts > 0,
            max_temporary_lockouts: b.max_temporary_lockouts,
            default_locale: s.default_locale.clone(),
            internationalization_enabled: true,
            supported_locales: vec!["ja", "en"],
            events_enabled: true,
            admin_events_enabled: true,
            attributes: serde_json::to_value(s).unwrap_or_default(),
        }
    }
}

/// `EventRepresentation`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRepresentation {
    pub id: String,
    pub time: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub realm_id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub details: BTreeMap<String, String>,
}

impl EventRepresentation {
    pub fn of(event: Event) -> Self {
        Self {
            id: event.id,
            time: millis(event.time),
            kind: event.kind.as_str(),
            realm_id: event.realm_id,
            client_id: event.client_id,
            user_id: event.user_id,
            session_id: event.session_id,
            ip_address: event.ip_address,
            error: event.error,
            details: event.details,
        }
    }
}

/// `AdminEventRepresentation`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminEventRepresentation {
    pub id: String,
    pub time: i64,
    pub realm_id: String,
    pub auth_details: AuthDetails,
    pub operation_type: &'static str,
    pub resource_type: String,
    pub resource_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub representation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthDetails {
    pub realm_id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub ip_address: Option<String>,
}

impl AdminEventRepresentation {
    pub fn of(event: AdminEvent) -> Self {
        Self {
            id: event.id,
            time: millis(event.time),
            auth_details: AuthDetails {
                realm_id: event.realm_id.clone(),
                client_id: event.auth_client_id,
                user_id: event.auth_user_id,
                ip_address: event.auth_ip_address,
            },
            realm_id: event.realm_id,
            operation_type: event.operation.as_str(),
            resource_type: event.resource_type,
            resource_path: event.resource_path,
            representation: event.representation,
            error: event.error,
        }
    }
}

/// Keycloak's brute-force status of a user (`/attack-detection/brute-force/users/{id}`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BruteForceStatus {
    pub num_failures: u64,
    pub disabled: bool,
    #[serde(rename = "lastIPFailure")]
    pub last_ip_failure: Option<String>,
    pub last_failure: i64,
    /// Kenpo addition: locked until an admin unlocks (Q5, Q6).
    pub permanently_locked: bool,
    /// Kenpo addition: when a temporary lock ends (ms), if one holds now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<i64>,
}

/// Unix milliseconds, Keycloak's time format.
pub fn millis(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
