//! The portal as an OpenID Connect relying party of kenpo-idp, with the `openidconnect` crate:
//! authorization code with PKCE (S256) and a nonce, ID tokens checked against the IdP's JWKS
//! (cached, fetched again when a token names a key we do not have), refresh, RP-initiated
//! logout and back-channel logout tokens. No HTTP framework types here: handlers call in.

mod access_token;
mod jwt;
mod logout_token;
mod registry;

pub use access_token::ClientToken;
pub use logout_token::LogoutClaims;
pub use registry::{Registry, secret_aad};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod,
    CoreGrantType, CoreIdToken, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessToken, AdditionalProviderMetadata, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndSessionUrl, IntrospectionUrl, IssuerUrl, LanguageTag, LogoutProviderMetadata, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenIntrospectionResponse, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use std::str::FromStr;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use url::Url;

/// The IdP's keys are fetched again at most this often when a token names an unknown key, so a
/// flood of forged `kid`s cannot turn into a flood of requests to the IdP.
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(10);
/// And in any case after this long, so rotated keys are learnt without a restart.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Token requests to the IdP give up after this.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum RpError {
    #[error("the IdP could not be reached or answered badly: {0}")]
    Provider(String),
    #[error("the IdP refused the code: {0}")]
    CodeRefused(String),
    #[error("the ID token was refused: {0}")]
    IdToken(String),
    /// The refresh token is no longer good: the IdP session has ended.
    #[error("the IdP session has ended")]
    SessionEnded,
    #[error("the logout token was refused: {0}")]
    LogoutToken(&'static str),
    #[error("the access token was refused: {0}")]
    AccessToken(&'static str),
    #[error("the portal has no client secret for the IdP")]
    NoClientSecret,
    #[error("the kenpo has no host of its own to sign in at")]
    NoHost,
    #[error("the kenpo's client secret is sealed but no master key is configured (KENPO_PORTAL_MASTER_KEY)")]
    NoMasterKey,
    #[error("the kenpo's client secret does not open with this master key")]
    SecretUnreadable,
}

/// One kenpo's registration at the IdP.
#[derive(Debug)]
pub struct Rp {
    http: reqwest::Client,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<SecretString>,
    redirect_uri: RedirectUrl,
    post_logout_redirect_uri: PostLogoutRedirectUrl,
    cache: RwLock<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    metadata: Metadata,
    fetched_at: Instant,
}

/// Where to send the browser, and what to remember until it comes back.
#[derive(Debug)]
pub struct AuthorizationStart {
    pub url: Url,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A verified sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub subject: String,
    pub sid: Option<String>,
    pub auth_time: i64,
    /// The member's address, when the IdP says it is verified (scope `email`).
    pub email: Option<String>,
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<Duration>,
}

#[derive(Debug)]
pub struct Refreshed {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<Duration>,
}

impl Rp {
    /// `public_url` is the portal's own URL; the callback and post-logout URIs hang off it.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: Option<SecretString>,
        public_url: &str,
    ) -> Result<Self, RpError> {
        let bad = |e: &dyn std::fmt::Display| RpError::Provider(e.to_string());
        // Redirects are not followed: a token request answered by a redirect is an error.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| bad(&e))?;
        Ok(Self {
            http,
            issuer: IssuerUrl::new(issuer.to_owned()).map_err(|e| bad(&e))?,
            client_id: ClientId::new(client_id.to_owned()),
            client_secret,
            redirect_uri: RedirectUrl::new(format!("{public_url}/auth/callback")).map_err(|e| bad(&e))?,
            post_logout_redirect_uri: PostLogoutRedirectUrl::new(format!("{public_url}/"))
                .map_err(|e| bad(&e))?,
            cache: RwLock::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    pub fn client_id(&self) -> &str {
        self.client_id.as_str()
    }

    /// Where the IdP sends the browser back with the code.
    pub fn redirect_uri(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// The IdP's metadata and keys, from the cache unless `refresh` asks (and the last fetch is
    /// not too recent) or the cache is old.
    async fn metadata(&self, refresh: bool) -> Result<Metadata, RpError> {
        if let Some(cached) = self.cache.read().await.as_ref() {
            let age = cached.fetched_at.elapsed();
            if age < METADATA_TTL && (!refresh || age < REFETCH_AT_MOST_EVERY) {
                return Ok(cached.metadata.clone());
            }
        }
        let metadata = Metadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| RpError::Provider(format!("discovery: {e}")))?;
        *self.cache.write().await = Some(Cached { metadata: metadata.clone(), fetched_at: Instant::now() });
        Ok(metadata)
    }

    fn client(&self, metadata: Metadata) -> Result<Client, RpError> {
        let secret = self.client_secret.as_ref().ok_or(RpError::NoClientSecret)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(ClientSecret::new(secret.expose_secret().to_owned())),
        )
        .set_redirect_uri(self.redirect_uri.clone()))
    }

    /// The authorization request: code flow, PKCE S256, a fresh state and nonce. `max_age`
    /// asks the IdP to authenticate again when the member's last authentication is older.
    pub async fn start(
        &self,
        max_age: Option<Duration>,
        locale: &str,
    ) -> Result<AuthorizationStart, RpError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".to_owned()))
            // The verified address update mails go to (`store::PreferenceStore::record_login`).
            .add_scope(Scope::new("email".to_owned()))
            .set_pkce_challenge(challenge)
            .add_ui_locale(LanguageTag::new(locale.to_owned()));
        if let Some(max_age) = max_age {
            request = request.set_max_age(max_age);
        }
        let (url, state, nonce) = request.url();
        Ok(AuthorizationStart {
            url,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token: signature by the
    /// IdP's key, issuer, audience, expiry, nonce; and, for a fresh login, its `auth_time`.
    pub async fn finish(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
        max_age: Option<Duration>,
        now: i64,
    ) -> Result<SignedIn, RpError> {
        let client = self.client(self.metadata(false).await?)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| RpError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => RpError::CodeRefused(r.error().to_string()),
                other => RpError::Provider(other.to_string()),
            })?;
        let id_token = response.id_token().ok_or_else(|| RpError::IdToken("no ID token".to_owned()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let (subject, auth_time, email) = match self.verify_id_token(&client, id_token, &nonce) {
            Err(RpError::IdToken(reason)) if reason == NO_MATCHING_KEY => {
                // A key the IdP rotated in since we last looked: fetch its keys once more.
                let client = self.client(self.metadata(true).await?)?;
                self.verify_id_token(&client, id_token, &nonce)?
            }
            other => other?,
        };
        let auth_time = auth_time.unwrap_or(now);
        if let Some(max_age) = max_age
            && now - auth_time > i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX) + 5
        {
            return Err(RpError::IdToken("auth_time older than the max_age asked for".to_owned()));
        }
        let raw = id_token.to_string();
        Ok(SignedIn {
            subject,
            sid: payload_claim(&raw, "sid"),
            auth_time,
            email,
            id_token: raw,
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            expires_in: response.expires_in(),
        })
    }

    fn verify_id_token(
        &self,
        client: &Client,
        id_token: &CoreIdToken,
        nonce: &Nonce,
    ) -> Result<(String, Option<i64>, Option<String>), RpError> {
        use openidconnect::{ClaimsVerificationError, SignatureVerificationError};
        let claims = id_token.claims(&client.id_token_verifier(), nonce).map_err(|e| match e {
            ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
                RpError::IdToken(NO_MATCHING_KEY.to_owned())
            }
            other => RpError::IdToken(other.to_string()),
        })?;
        let email =
            claims.email().filter(|_| claims.email_verified() == Some(true)).map(|e| e.as_str().to_owned());
        Ok((claims.subject().as_str().to_owned(), claims.auth_time().map(|t| t.timestamp()), email))
    }

    /// New tokens for a refresh token; `SessionEnded` when the IdP says the grant is gone.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Refreshed, RpError> {
        let client = self.client(self.metadata(false).await?)?;
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .map_err(|e| RpError::Provider(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(_) => RpError::SessionEnded,
                other => RpError::Provider(other.to_string()),
            })?;
        Ok(Refreshed {
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            expires_in: response.expires_in(),
        })
    }

    /// The IdP's end-session URL with the ID token as hint and the portal's top page to come
    /// back to; `None` when the IdP publishes no end-session endpoint.
    pub async fn logout_url(&self, id_token: &str, locale: &str) -> Result<Option<Url>, RpError> {
        let metadata = self.metadata(false).await?;
        let Some(endpoint) = metadata.additional_metadata().end_session_endpoint.clone() else {
            return Ok(None);
        };
        let mut request = LogoutRequest::from(EndSessionUrl::from_url(endpoint.url().clone()))
            .set_client_id(self.client_id.clone())
            .set_post_logout_redirect_uri(self.post_logout_redirect_uri.clone())
            .add_ui_locale(LanguageTag::new(locale.to_owned()));
        if let Ok(token) = CoreIdToken::from_str(id_token) {
            request = request.set_id_token_hint(&token);
        }
        Ok(Some(request.http_get_url()))
    }

    /// Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6).
    pub async fn verify_logout_token(&self, token: &str, now: i64) -> Result<LogoutClaims, RpError> {
        match logout_token::verify(token, &self.metadata(false).await?, self.client_id.as_str(), now) {
            Err(RpError::LogoutToken(NO_MATCHING_KEY)) => {
                logout_token::verify(token, &self.metadata(true).await?, self.client_id.as_str(), now)
            }
            other => other,
        }
    }

    /// Verifies a kenpo system's access token (`access_token`): the client it stands for. The
    /// token must name the portal's client at the realm in `aud` (RFC 9068 §4; the kenpo's
    /// client gets it from an audience mapper), and the IdP must still hold it active (RFC 7662),
    /// so a token the IdP revoked, or of a client it disabled, stops at once.
    pub async fn verify_client_token(&self, token: &str, now: i64) -> Result<ClientToken, RpError> {
        let audience = self.client_id.as_str();
        let client = match access_token::verify(token, &self.metadata(false).await?, audience, now) {
            Err(RpError::AccessToken(NO_MATCHING_KEY)) => {
                access_token::verify(token, &self.metadata(true).await?, audience, now)?
            }
            other => other?,
        };
        if !self.is_active(token).await? {
            return Err(RpError::AccessToken("the IdP no longer holds the token active"));
        }
        Ok(client)
    }

    /// RFC 7662: whether the IdP holds `token` active, asked as the portal's client (which the
    /// IdP answers for tokens naming it in `aud`).
    async fn is_active(&self, token: &str) -> Result<bool, RpError> {
        let metadata = self.metadata(false).await?;
        let endpoint = metadata.additional_metadata().additional_metadata.introspection_endpoint.clone();
        let endpoint =
            endpoint.ok_or(RpError::Provider("the IdP publishes no introspection endpoint".to_owned()))?;
        let client = self.client(metadata)?.set_introspection_url(endpoint);
        let token = AccessToken::new(token.to_owned());
        let answer = client
            .introspect(&token)
            .request_async(&self.http)
            .await
            .map_err(|e| RpError::Provider(format!("introspection: {e}")))?;
        Ok(answer.active())
    }
}

/// RFC 8414's introspection endpoint, which the IdP publishes beside OpenID's metadata.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Introspection {
    pub introspection_endpoint: Option<IntrospectionUrl>,
}

impl AdditionalProviderMetadata for Introspection {}

/// The IdP's discovery document as the portal reads it: OpenID's, with RP-initiated logout's
/// end-session endpoint and RFC 8414's introspection endpoint.
type Metadata = ProviderMetadata<
    LogoutProviderMetadata<Introspection>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The client built from discovery: authorization endpoint set, token and userinfo endpoints as
/// the IdP published them.
type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

const NO_MATCHING_KEY: &str = "no key of the IdP matches the token";

/// The `iss` a JWT claims, before anything about it is verified: only to pick whose keys to
/// verify it with.
pub fn unverified_issuer(jwt: &str) -> Option<String> {
    payload_claim(jwt, "iss")
}

/// A string claim of a JWT whose signature has already been verified.
fn payload_claim(jwt: &str, name: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(name)?.as_str().map(str::to_owned)
}
