//! The authorization request (OIDC Core §3.1.2.1, RFC 6749 §4.1.1, RFC 7636, RFC 9700): which
//! errors may be sent back to the client and which must be shown here.
//!
//! Until the client and its redirect URI are known to be genuine, nothing is redirected: an
//! unknown client or an unregistered URI gets an error page (RFC 6749 §4.1.2.1, no open
//! redirector). After that, errors go back to the client with `state` and `iss`.

use super::required_actions;
use crate::domain::ClientId;
use crate::domain::RequiredAction;
use crate::store::{Client, ClientStore, GrantType, Realm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest `state` and `nonce` accepted (FAPI asks for at least 64).
const MAX_ECHO_LEN: usize = 512;

/// A validated authorization request, as kept while the member logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub max_age: Option<u64>,
    pub id_token_hint: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Vec<String>,
    /// Claims asked for by the `claims` parameter (OIDC Core §5.5), by where they go.
    pub id_token_claims: Vec<String>,
    pub userinfo_claims: Vec<String>,
    /// A change the client asks the member to make (Keycloak's application-initiated action,
    /// `kc_action=CONFIGURE_TOTP`, …): run after a recent enough authentication.
    #[serde(default)]
    pub kc_action: Option<RequiredAction>,
    /// Keycloak 24's `kc_action=delete_credential:{id}`: the member deletes one of their second
    /// factors after a recent authentication, on a page that names it (3-7).
    #[serde(default)]
    pub delete_credential: Option<String>,
}

/// The prefix of Keycloak's `kc_action` that deletes a credential.
pub const DELETE_CREDENTIAL: &str = "delete_credential:";

impl AuthRequest {
    pub fn is_openid(&self) -> bool {
        self.scope.iter().any(|s| s == "openid")
    }

    /// Whether the client asks for a change (any `kc_action`), which needs a recent login.
    pub fn asks_for_change(&self) -> bool {
        self.kc_action.is_some() || self.delete_credential.is_some()
    }
}

/// The credential id of `kc_action=delete_credential:{id}`, when well formed.
fn credential_to_delete(kc_action: Option<&String>) -> Option<String> {
    let id = kc_action?.strip_prefix(DELETE_CREDENTIAL)?;
    let plausible =
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    plausible.then(|| id.to_owned())
}

/// Why a request cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown on our own page: the client or its redirect URI is not to be trusted.
    Page(PageError),
    /// Sent back to the client (RFC 6749 §4.1.2.1).
    Redirect(ErrorRedirect),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    MissingClientId,
    UnknownClient,
    InvalidRedirectUri,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: &'static str,
    pub description: String,
    pub state: Option<String>,
}

/// The request's parameters, each at most once (RFC 6749 §3.1).
pub type Params = BTreeMap<String, String>;

/// Collects parameters; a repeated one is reported by name.
pub fn collect_params(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Params, String> {
    let mut params = Params::new();
    let mut repeated = None;
    let mut seen = std::collections::BTreeSet::new();
    for (key, value) in pairs {
        if !seen.insert(key.clone()) {
            repeated.get_or_insert(key);
        } else if !value.is_empty() {
            params.insert(key, value);
        }
    }
    repeated.map_or(Ok(params), Err)
}

/// Validates the request against the realm's client.
pub async fn validate(
    store: &impl ClientStore,
    realm: &Realm,
    params: Result<Params, String>,
) -> Result<(AuthRequest, Client), AuthorizeError> {
    let (params, repeated) = match params {
        Ok(p) => (p, None),
        // Still find the client and URI, so the error can go back to it.
        Err(name) => (Params::new(), Some(name)),
    };
    let page = |e| AuthorizeError::Page(e);
    let client_id = params.get("client_id").ok_or(page(PageError::MissingClientId))?;
    let parsed = ClientId::parse(client_id).map_err(|_| page(PageError::UnknownClient))?;
    let client = store
        .client_by_client_id(&realm.id, &parsed)
        .await
        .ok()
        .flatten()
        .filter(|c| c.enabled)
        .ok_or(page(PageError::UnknownClient))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if registered(&client, uri) => uri.clone(),
        Some(_) => return Err(page(PageError::InvalidRedirectUri)),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].as_str().to_owned(),
        None => return Err(page(PageError::InvalidRedirectUri)),
    };
    let state = params.get("state").cloned();
    let fail = |error: &'static str, description: &str| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone().filter(|s| s.len() <= MAX_ECHO_LEN),
        })
    };
    if let Some(name) = repeated {
        return Err(fail("invalid_request", &format!("the parameter {name} is repeated")));
    }
    if state.as_ref().is_some_and(|s| s.len() > MAX_ECHO_LEN) {
        return Err(fail("invalid_request", "state is too long"));
    }
    if params.contains_key("request") {
        return Err(fail("request_not_supported", "request objects are not supported"));
    }
    if params.contains_key("request_uri") {
        return Err(fail("request_uri_not_supported", "request_uri is not supported"));
    }
    match params.get("response_type").map(String::as_str) {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => return Err(fail("unsupported_response_type", "only response_type=code is supported")),
    }
    if let Some(mode) = params.get("response_mode")
        && mode != "query"
    {
        return Err(fail("invalid_request", "only response_mode=query is supported"));
    }
    if !client.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(fail("unauthorized_client", "the client may not use the authorization code grant"));
    }
    let scope: Vec<String> = params
        .get("scope")
        .map(|s| s.split(' ').filter(|t| !t.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let code_challenge = pkce(&params, &client).map_err(|d| fail("invalid_request", d))?;
    let prompt: Vec<&str> = params.get("prompt").map(|p| p.split(' ').collect()).unwrap_or_default();
    let prompt_none = prompt.contains(&"none");
    if prompt_none && prompt.len() > 1 {
        return Err(fail("invalid_request", "prompt=none cannot be combined"));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| fail("invalid_request", "max_age must be a number"))?),
    };
    let nonce = params.get("nonce").cloned();
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHO_LEN) {
        return Err(fail("invalid_request", "nonce is too long"));
    }
    let (id_token_claims, userinfo_claims) = match params.get("claims") {
        None => (Vec::new(), Vec::new()),
        Some(raw) => requested_claims(raw).map_err(|d| fail("invalid_request", d))?,
    };
    let request = AuthRequest {
        client_id: client.client_id.to_string(),
        redirect_uri,
        scope,
        state,
        nonce,
        code_challenge,
        prompt_none,
        prompt_login: prompt.contains(&"login"),
        max_age,
        id_token_hint: params.get("id_token_hint").cloned(),
        login_hint: params.get("login_hint").cloned(),
        ui_locales: params.get("ui_locales").cloned(),
        acr_values: params
            .get("acr_values")
            .map(|a| a.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
        id_token_claims,
        userinfo_claims,
        kc_action: params
            .get("kc_action")
            .and_then(|alias| RequiredAction::from_alias(alias))
            .filter(|action| required_actions::ON_REQUEST.contains(action)),
        delete_credential: credential_to_delete(params.get("kc_action")),
    };
    Ok((request, client))
}

/// Exact string comparison (RFC 9700 §4.1.3), except that a native app's loopback redirect may
/// use any port (RFC 8252 §7.3).
pub fn registered(client: &Client, uri: &str) -> bool {
    client.redirect_uris.iter().any(|r| r.as_str() == uri || same_but_loopback_port(r.as_str(), uri))
}

fn same_but_loopback_port(registered: &str, given: &str) -> bool {
    let (Ok(mut a), Ok(mut b)) = (url::Url::parse(registered), url::Url::parse(given)) else { return false };
    let loopback = |u: &url::Url| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => false,
            }
    };
    if !(loopback(&a) && loopback(&b)) {
        return false;
    }
    let _ = a.set_port(None);
    let _ = b.set_port(None);
    a == b
}

/// PKCE (RFC 7636): S256 only; required of public clients and of clients that ask for it.
fn pkce(params: &Params, client: &Client) -> Result<Option<String>, &'static str> {
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method").map(String::as_str)) {
        (None, Some(_)) => Err("code_challenge_method without code_challenge"),
        (None, None) if client.requires_pkce() => Err("code_challenge (PKCE S256) is required"),
        (None, None) => Ok(None),
        (Some(_), Some(m)) if m != "S256" => Err("only code_challenge_method=S256 is supported"),
        // RFC 7636 defaults to plain when the method is absent; we support only S256.
        (Some(_), None) => Err("code_challenge_method=S256 is required"),
        (Some(c), _) => {
            let valid = (43..=128).contains(&c.len())
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if valid { Ok(Some(c.clone())) } else { Err("code_challenge is malformed") }
        }
    }
}

/// The claim names of the `claims` parameter's `id_token` and `userinfo` members.
fn requested_claims(raw: &str) -> Result<(Vec<String>, Vec<String>), &'static str> {
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|_| "claims is not valid JSON")?;
    let object = value.as_object().ok_or("claims must be a JSON object")?;
    let names = |member: &str| -> Vec<String> {
        object
            .get(member)
            .and_then(|m| m.as_object())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    Ok((names("id_token"), names("userinfo")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_named() {
        let pairs = [("a", "1"), ("b", "2"), ("a", "3")].map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(collect_params(pairs), Err("a".to_owned()));
    }

    #[test]
    fn loopback_redirects_may_change_only_the_port() {
        assert!(same_but_loopback_port("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"));
        assert!(!same_but_loopback_port("http://127.0.0.1/cb", "http://127.0.0.1:51234/other"));
        assert!(!same_but_loopback_port("https://rp.example.jp/cb", "https://rp.example.jp:8443/cb"));
    }

    #[test]
    fn claims_parameter_names_are_read_by_destination() {
        let got = requested_claims(r#"{"id_token":{"name":{"essential":true}},"userinfo":{"email":null}}"#);
        assert_eq!(got, Ok((vec!["name".to_owned()], vec!["email".to_owned()])));
        assert!(requested_claims("not json").is_err());
    }
}
