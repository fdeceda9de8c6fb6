//! A Keycloak realm export (`kc.sh export --realm … --users realm_file`, or the admin console's
//! partial export): the part of Keycloak's `RealmRepresentation` that has an equivalent here.
//!
//! Field names are Keycloak's, camelCase. Everything is optional, as in Keycloak's own
//! representations; a field we do not read is ignored. A credential's `secretData` and
//! `credentialData` are JSON documents *inside strings*, as Keycloak exports them: their shapes
//! are below too, and [`RealmExport::parse`] leaves them as strings for the importer to read
//! per credential, so one odd credential is skipped with its reason instead of failing the file.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The realm (`RealmRepresentation`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RealmExport {
    pub realm: Option<String>,
    pub display_name: Option<String>,
    pub access_token_lifespan: Option<u32>,
    pub sso_session_idle_timeout: Option<u32>,
    pub sso_session_max_lifespan: Option<u32>,
    pub sso_session_idle_timeout_remember_me: Option<u32>,
    pub sso_session_max_lifespan_remember_me: Option<u32>,
    pub brute_force_protected: Option<bool>,
    pub permanent_lockout: Option<bool>,
    pub max_temporary_lockouts: Option<u32>,
    pub failure_factor: Option<u32>,
    pub wait_increment_seconds: Option<u32>,
    pub max_failure_wait_seconds: Option<u32>,
    pub max_delta_time_seconds: Option<u32>,
    pub quick_login_check_milli_seconds: Option<u32>,
    pub minimum_quick_login_wait_seconds: Option<u32>,
    pub otp_policy_type: Option<String>,
    pub otp_policy_algorithm: Option<String>,
    pub otp_policy_digits: Option<u8>,
    pub otp_policy_period: Option<u32>,
    pub otp_policy_look_ahead_window: Option<u8>,
    /// e.g. `"length(8) and maxLength(64) and digits(1)"`.
    pub password_policy: Option<String>,
    pub default_locale: Option<String>,
    /// The realm's ID token algorithm, for clients that name none.
    pub default_signature_algorithm: Option<String>,
    pub users: Vec<UserExport>,
    pub clients: Vec<ClientExport>,
}

impl RealmExport {
    /// Reads an export file. Only a file that is not Keycloak's JSON at all is refused here.
    pub fn parse(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        serde_json::from_slice(bytes)
    }
}

/// A user (`UserRepresentation`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserExport {
    pub id: Option<String>,
    pub username: String,
    pub enabled: Option<bool>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Keycloak keeps attributes multi-valued: `{"birthdate": ["1979-08-22"]}`.
    pub attributes: BTreeMap<String, Vec<String>>,
    pub credentials: Vec<CredentialExport>,
    pub required_actions: Vec<String>,
    /// Service-account users (`service-account-<client>`) belong to a client, not a member.
    pub service_account_client_id: Option<String>,
    /// Users federated from LDAP or Kerberos keep their password there.
    pub federation_link: Option<String>,
}

impl UserExport {
    /// The first value of attribute `name`, if any.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(|values| values.first()).map(String::as_str)
    }
}

/// A credential (`CredentialRepresentation`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CredentialExport {
    #[serde(rename = "type")]
    pub kind: String,
    pub user_label: Option<String>,
    /// Milliseconds since the epoch.
    pub created_date: Option<i64>,
    /// A JSON document in a string; see [`OtpSecret`] and the password formats in
    /// `shared_crypto::password::from_keycloak`.
    pub secret_data: String,
    /// A JSON document in a string; see [`OtpData`] and [`WebauthnData`].
    pub credential_data: String,
    pub priority: Option<i64>,
}

/// An OTP credential's `secretData`: the secret as Keycloak keeps it.
#[derive(Debug, Clone, Deserialize)]
pub struct OtpSecret {
    pub value: String,
}

/// An OTP credential's `credentialData`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpData {
    pub sub_type: String,
    pub digits: u8,
    pub period: u32,
    pub algorithm: String,
    /// Absent: the secret's UTF-8 bytes are the key (what Keycloak's own setup page makes).
    /// `"BASE32"`: the secret is the key in base32 (credentials created through the admin API
    /// since Keycloak 24).
    pub secret_encoding: Option<String>,
}

/// A WebAuthn credential's `credentialData` (`webauthn` and `webauthn-passwordless`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebauthnData {
    pub aaguid: Option<String>,
    /// The credential id, base64.
    pub credential_id: String,
    /// The authenticator's public key as a COSE key, base64.
    pub credential_public_key: String,
    #[serde(default)]
    pub counter: u32,
    pub attestation_statement_format: Option<String>,
    #[serde(default)]
    pub transports: Vec<String>,
}

/// A client (`ClientRepresentation`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientExport {
    pub client_id: String,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub protocol: Option<String>,
    pub public_client: bool,
    pub bearer_only: bool,
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub standard_flow_enabled: Option<bool>,
    pub implicit_flow_enabled: bool,
    pub direct_access_grants_enabled: bool,
    pub service_accounts_enabled: bool,
    /// Keycloak's client attributes are single strings: `"post.logout.redirect.uris":
    /// "https://a/##https://b/"`.
    pub attributes: BTreeMap<String, String>,
    /// Its protocol mappers; of them only the audience mappers are taken over.
    pub protocol_mappers: Vec<MapperExport>,
}

/// A protocol mapper (`ProtocolMapperRepresentation`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MapperExport {
    pub protocol_mapper: String,
    pub config: BTreeMap<String, String>,
}

impl MapperExport {
    /// The audience an `oidc-audience-mapper` puts in access tokens; `None` for any other
    /// mapper, or one that leaves access tokens alone.
    pub fn access_token_audience(&self) -> Option<&str> {
        if self.protocol_mapper != "oidc-audience-mapper"
            || self.config.get("access.token.claim").is_some_and(|v| v != "true")
        {
            return None;
        }
        let audience = self
            .config
            .get("included.client.audience")
            .or_else(|| self.config.get("included.custom.audience"));
        audience.map(|a| a.trim()).filter(|a| !a.is_empty())
    }
}

impl ClientExport {
    /// Clients every Keycloak realm has: Keycloak's own consoles and plumbing.
    pub const BUILT_IN: [&'static str; 6] =
        ["account", "account-console", "admin-cli", "broker", "realm-management", "security-admin-console"];

    pub fn is_built_in(&self) -> bool {
        Self::BUILT_IN.contains(&self.client_id.as_str())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_reads_with_its_strings_of_json_left_alone() {
        let json = br#"{
            "realm": "demo", "accessTokenLifespan": 300, "unknownField": [1, 2],
            "users": [{"username": "taro", "attributes": {"birthdate": ["1979-08-22"]},
                "credentials": [{"type": "password", "createdDate": 1700000000000,
                    "secretData": "{\"value\":\"x\",\"salt\":\"y\"}",
                    "credentialData": "{\"hashIterations\":27500,\"algorithm\":\"pbkdf2-sha256\"}"}]}],
            "clients": [{"clientId": "account", "attributes": {"a": "b"}}]
        }"#;

        let export = RealmExport::parse(json).unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(export.realm.as_deref(), Some("demo"));
        assert_eq!(export.access_token_lifespan, Some(300));
        let taro = &export.users[0];
        assert_eq!(taro.attribute("birthdate"), Some("1979-08-22"));
        assert_eq!(taro.credentials[0].created_date, Some(1_700_000_000_000));
        assert!(taro.credentials[0].credential_data.contains("pbkdf2-sha256"));
        assert!(export.clients[0].is_built_in());
    }
}
