//! What the portal's operators change for a kenpo: registering it (its realm and client at the
//! IdP, its host), its settings, and its よくある質問. The CLI calls these; each checks its input
//! before anything is written.

use crate::faq::{self, FaqError};
use crate::i18n::Locale;
use crate::oidc::secret_aad;
use crate::store::{Kenpo, KenpoStore, NewKenpo, StoreError};
use crate::tenant::{Settings, SettingsError};
use secrecy::{ExposeSecret, SecretString};
use shared_crypto::MasterKey;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the issuer must be an http(s) URL without a query or fragment: {0}")]
    BadIssuer(String),
    #[error("the host must be a host name, optionally with a port (no scheme, no path): {0}")]
    BadHost(String),
    #[error("the client ID and the display name must not be empty")]
    Blank,
    #[error("the client secret must not be empty")]
    NoSecret,
    #[error("no kenpo has the issuer {0}")]
    NoSuchKenpo(String),
    #[error("the settings must be a JSON object")]
    NotAnObject,
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("FAQ: {0}")]
    Faq(#[from] FaqError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A kenpo to serve: its realm at the IdP, the portal's client there, and the host its members
/// reach the portal at.
#[derive(Debug)]
pub struct Registration {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub host: String,
    pub display_name: String,
}

/// Adds the kenpo, or updates the one of the same issuer. The secret is stored sealed, bound
/// to the issuer.
pub async fn register_kenpo(
    db: &impl KenpoStore,
    key: &MasterKey,
    r: Registration,
    now: OffsetDateTime,
) -> Result<Kenpo, AdminError> {
    let issuer = issuer(&r.issuer)?;
    let host = host(&r.host)?;
    let (client_id, display_name) = (r.client_id.trim(), r.display_name.trim());
    if client_id.is_empty() || display_name.is_empty() {
        return Err(AdminError::Blank);
    }
    let secret = r.client_secret.expose_secret().trim();
    if secret.is_empty() {
        return Err(AdminError::NoSecret);
    }
    let sealed = key.seal(secret.as_bytes(), &secret_aad(&issuer));
    let new = NewKenpo {
        issuer,
        client_id: client_id.to_owned(),
        host: Some(host),
        display_name: display_name.to_owned(),
        client_secret_sealed: Some(sealed),
    };
    Ok(db.upsert_kenpo(new, now).await?)
}

/// An issuer as ID tokens carry it: an absolute http(s) URL, no trailing slash.
fn issuer(s: &str) -> Result<String, AdminError> {
    let bad = || AdminError::BadIssuer(s.to_owned());
    let url = url::Url::parse(s.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A Host header value: lower-case name, optional port.
fn host(s: &str) -> Result<String, AdminError> {
    let bad = || AdminError::BadHost(s.to_owned());
    let wanted = s.trim().to_ascii_lowercase();
    let url = url::Url::parse(&format!("http://{wanted}/")).map_err(|_| bad())?;
    let parsed = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return Err(bad()),
    };
    if parsed != wanted || url.username() != "" {
        return Err(bad());
    }
    Ok(parsed)
}

pub async fn kenpo_by_issuer(db: &impl KenpoStore, issuer: &str) -> Result<Kenpo, AdminError> {
    db.kenpo_by_issuer(issuer.trim().trim_end_matches('/'))
        .await?
        .ok_or_else(|| AdminError::NoSuchKenpo(issuer.to_owned()))
}

/// Changes the settings named in `changes` (a JSON object), keeping the others; the result is
/// checked as a whole before it is stored.
pub async fn change_settings(
    db: &impl KenpoStore,
    kenpo: &Kenpo,
    changes: &str,
    now: OffsetDateTime,
) -> Result<Settings, AdminError> {
    let changes: serde_json::Value = serde_json::from_str(changes).map_err(SettingsError::from)?;
    let serde_json::Value::Object(changes) = changes else { return Err(AdminError::NotAnObject) };
    let mut merged = serde_json::to_value(&kenpo.settings).map_err(SettingsError::from)?;
    if let serde_json::Value::Object(current) = &mut merged {
        current.extend(changes);
    }
    let settings = Settings::parse(&merged.to_string())?;
    db.set_kenpo_settings(&kenpo.id, &settings, now).await?;
    Ok(settings)
}

/// The kenpo's FAQ document in `locale`, or the portal's own when it has none.
pub async fn faq_document(db: &impl KenpoStore, kenpo: &Kenpo, locale: Locale) -> Result<String, AdminError> {
    Ok(db
        .kenpo_faq(&kenpo.id, locale.code())
        .await?
        .unwrap_or_else(|| faq::builtin_source(locale).to_owned()))
}

/// Replaces the kenpo's FAQ in `locale` with `document` (checked first), or with `None` goes
/// back to the portal's own.
pub async fn set_faq(
    db: &impl KenpoStore,
    kenpo: &Kenpo,
    locale: Locale,
    document: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), AdminError> {
    if let Some(document) = document {
        faq::parse(document)?;
    }
    db.set_kenpo_faq(&kenpo.id, locale.code(), document, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_and_hosts_are_taken_as_tokens_and_headers_carry_them() {
        assert_eq!(
            issuer("https://idp.example.jp/realms/b/").ok().as_deref(),
            Some("https://idp.example.jp/realms/b")
        );
        for bad in ["idp.example.jp", "ftp://idp/realms/b", "https://idp/realms/b?x=1", ""] {
            assert!(issuer(bad).is_err(), "{bad}");
        }
        assert_eq!(host("Kenpo-B.example.jp").ok().as_deref(), Some("kenpo-b.example.jp"));
        assert_eq!(host("127.0.0.1:3001").ok().as_deref(), Some("127.0.0.1:3001"));
        for bad in ["https://kenpo-b.example.jp", "kenpo-b.example.jp/path", "a b", "user@host", ""] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }
}
