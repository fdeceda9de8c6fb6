//! Redirect URIs a client registers. Matching is exact (RFC 9700 §4.1.3), so parsing here only
//! decides what may be registered at all.

use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("not an absolute URI: {0}")]
    NotAbsolute(String),
    #[error("a redirect URI must not carry a fragment")]
    Fragment,
    #[error("plain http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)")]
    InsecureHttp,
    #[error("the scheme {0:?} is not allowed; use https, loopback http, or a reverse-domain app scheme")]
    Scheme(String),
}

/// An absolute redirect URI: https; http on loopback (RFC 8252 §7.3); or a native app's
/// private-use scheme in reverse-domain form (RFC 8252 §7.1), such as `jp.example.kenpo:/cb`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, RedirectUriError> {
        let url = Url::parse(raw).map_err(|_| RedirectUriError::NotAbsolute(raw.to_owned()))?;
        if url.fragment().is_some() {
            return Err(RedirectUriError::Fragment);
        }
        match url.scheme() {
            "https" => {}
            "http" => {
                let loopback = match url.host() {
                    Some(url::Host::Domain(d)) => d == "localhost",
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                if !loopback {
                    return Err(RedirectUriError::InsecureHttp);
                }
            }
            scheme if scheme.contains('.') => {}
            scheme => return Err(RedirectUriError::Scheme(scheme.to_owned())),
        }
        // Keep the registered text, not the URL crate's normalisation: comparison is exact.
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

super::names::string_newtype_conversions!(RedirectUri => parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_loopback_http_and_app_schemes_are_accepted() {
        for ok in [
            "https://www.demo.portal.example.jp/callback",
            "http://127.0.0.1:3000/auth/callback",
            "http://localhost:3000/cb",
            "http://[::1]:3000/cb",
            "jp.example.kenpo:/oauth2redirect",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn remote_http_fragments_and_relative_uris_are_refused() {
        assert_eq!(RedirectUri::parse("http://portal.example.jp/cb"), Err(RedirectUriError::InsecureHttp));
        assert_eq!(RedirectUri::parse("https://portal.example.jp/cb#x"), Err(RedirectUriError::Fragment));
        assert!(RedirectUri::parse("/cb").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
    }
}
