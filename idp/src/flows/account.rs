//! The self-service account pages (3-1 … 3-7), Keycloak's account console served from the
//! server: プロフィール変更, ログイン方法変更 and the member's active sessions.
//!
//! The pages are the realm's built-in public client `account-console`. A browser without an SSO
//! session goes through the realm's own authorization endpoint (PKCE S256, state, nonce) and
//! comes back to `account/login-redirect`, where the code is exchanged here, in-process; after
//! that the pages read the SSO session. Sensitive changes (password, email, second factors) are
//! Keycloak's application-initiated actions (`kc_action`) of this client, so they re-authenticate
//! with the realm's window like any other client's.

use super::FlowError;
use super::clients::{self, ClientSpec};
use super::logout;
use super::mfa::{self, Registered};
use super::required_actions::{FieldError, parse_user_id};
use super::tokens::{self, Ctx, TokenError};
use crate::domain::{AuthMethod, ClientId, RedirectUri, RequiredAction};
use crate::ephemeral::EphemeralStore;
use crate::i18n::Locale;
use crate::store::{
    Client, ClientStore, Credential, CredentialStore, CredentialType, GrantType, SessionStore, StoreError,
    User, UserSession, UserStore,
};
use serde::{Deserialize, Serialize};
use shared_crypto::keys::Algorithm;
use shared_crypto::{MasterKey, SecretHasher, ct_eq, random};
use std::time::Duration;

/// Keycloak's name for the account console's client.
pub const CONSOLE_CLIENT_ID: &str = "account-console";

/// How long a login started from the account pages may take.
const LOGIN_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The account pages a login may come back to, below `/realms/{realm}/account`.
pub const PAGES: [&str; 3] = ["", "/signing-in", "/device-activity"];

/// Where the account console's logins come back to.
pub fn login_redirect_uri(issuer: &str) -> String {
    format!("{issuer}/account/login-redirect")
}

/// The realm's `account-console` client, created if missing and kept pointing at the public
/// URL (which a deployment may change). Idempotent: run at start-up and before each login.
pub async fn ensure_console(ctx: &Ctx<'_>) -> Result<Client, FlowError> {
    let client_id = ClientId::parse(CONSOLE_CLIENT_ID).map_err(|e| FlowError::invalid("client_id", e))?;
    let wanted = RedirectUri::parse(&login_redirect_uri(ctx.issuer))
        .map_err(|e| FlowError::invalid("account console redirect URI", e))?;
    match ctx.db.client_by_client_id(&ctx.realm.id, &client_id).await? {
        Some(client) if client.redirect_uris == [wanted.clone()] => Ok(client),
        Some(mut client) => {
            client.redirect_uris = vec![wanted];
            ctx.db.update_client(&client).await?;
            Ok(client)
        }
        None => {
            let spec = ClientSpec {
                client_id: CONSOLE_CLIENT_ID.to_owned(),
                name: Some("${client_account-console}".to_owned()),
                confidential: false,
                secret: None,
                redirect_uris: vec![wanted.as_str().to_owned()],
                post_logout_redirect_uris: vec![],
                backchannel_logout_uri: None,
                grant_types: vec![GrantType::AuthorizationCode],
                pkce_required: true,
                signing_alg: Algorithm::ES256,
                jwks: None,
                rotate_refresh_tokens: true,
                audiences: vec![],
            };
            match clients::create(ctx.db, ctx.master, ctx.realm, spec, ctx.now).await {
                Ok((client, _)) => Ok(client),
                // Another request created it meanwhile.
                Err(FlowError::Store(StoreError::ClientIdTaken)) => ctx
                    .db
                    .client_by_client_id(&ctx.realm.id, &client_id)
                    .await?
                    .ok_or(FlowError::Store(StoreError::NotFound("client"))),
                Err(e) => Err(e),
            }
        }
    }
}

/// A login the account pages started, kept until its code comes back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    verifier: String,
    nonce: String,
    /// The account page to show afterwards (a local path, see [`local_return`]).
    pub return_to: String,
    /// The change asked for, if any (`kc_action`).
    pub kc_action: Option<String>,
}

/// A login to start: where to send the browser, and the `state` its cookie binds.
#[derive(Debug, Clone)]
pub struct LoginStart {
    pub authorize_url: String,
    pub state: String,
}

fn login_key(state: &str) -> String {
    format!("account-login:{}", tokens::sha256_b64(state))
}

/// Starts a login of the account console, optionally asking for a change (`kc_action`).
pub async fn start_login(
    ctx: &Ctx<'_>,
    return_to: &str,
    kc_action: Option<&str>,
    locale: Option<Locale>,
) -> Result<LoginStart, FlowError> {
    ensure_console(ctx).await?;
    let state = random::token();
    let pending = PendingLogin {
        verifier: random::token(),
        nonce: random::token_with_bytes(16),
        return_to: local_return(ctx.realm.name.as_str(), return_to),
        kc_action: kc_action.map(str::to_owned),
    };
    let json = serde_json::to_vec(&pending).map_err(|e| FlowError::invalid("account login", e))?;
    ctx.ephemeral.put(&login_key(&state), &json, LOGIN_LIFETIME).await?;
    let mut url = url::Url::parse(&format!("{}{}", ctx.issuer, crate::http::paths::suffix::AUTH))
        .map_err(|e| FlowError::invalid("issuer", e))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", CONSOLE_CLIENT_ID)
            .append_pair("redirect_uri", &login_redirect_uri(ctx.issuer))
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("state", &state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &tokens::sha256_b64(&pending.verifier))
            .append_pair("code_challenge_method", "S256");
        if let Some(action) = kc_action {
            query.append_pair("kc_action", action);
        }
        if let Some(locale) = locale {
            query.append_pair("ui_locales", locale.code());
        }
    }
    Ok(LoginStart { authorize_url: url.into(), state })
}

/// Finishes a login the account pages started: the browser's `state` must be the one its
/// cookie holds, and the code must exchange (PKCE) into an ID token with the login's nonce.
/// `None` for anything else.
pub async fn finish_login(
    ctx: &Ctx<'_>,
    state: &str,
    cookie_state: Option<&str>,
    code: &str,
) -> Result<Option<PendingLogin>, FlowError> {
    if state.is_empty() || !cookie_state.is_some_and(|c| ct_eq(c.as_bytes(), state.as_bytes())) {
        return Ok(None);
    }
    let Some(raw) = ctx.ephemeral.take(&login_key(state)).await? else { return Ok(None) };
    let pending: PendingLogin =
        serde_json::from_slice(&raw).map_err(|e| FlowError::invalid("account login", e))?;
    let client = ensure_console(ctx).await?;
    let redirect_uri = login_redirect_uri(ctx.issuer);
    let exchanged =
        tokens::exchange_code(*ctx, &client, code, Some(&redirect_uri), Some(&pending.verifier)).await;
    let response = match exchanged {
        Ok(response) => response,
        Err(TokenError::Flow(e)) => return Err(e),
        Err(e) => {
            tracing::info!(error = %e, "account console code refused");
            return Ok(None);
        }
    };
    let nonce = response.id_token.as_deref().and_then(id_token_nonce);
    if nonce.as_deref() != Some(pending.nonce.as_str()) {
        return Ok(None);
    }
    Ok(Some(pending))
}

/// The `nonce` of an ID token this process has just minted (so its signature is ours).
fn id_token_nonce(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("nonce")?.as_str().map(str::to_owned)
}

/// `raw` if it is one of the realm's account pages (optionally with a query), else the
/// profile page: a login never comes back anywhere else (no open redirect).
pub fn local_return(realm: &str, raw: &str) -> String {
    let base = format!("/realms/{realm}/account");
    let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
    let known = path.strip_prefix(&base).is_some_and(|rest| PAGES.contains(&rest));
    let clean_query = query.bytes().all(|b| b.is_ascii_alphanumeric() || b"=&%-_.~+".contains(&b));
    match (known, query.is_empty()) {
        (true, true) => path.to_owned(),
        (true, false) if clean_query => format!("{path}?{query}"),
        _ => base,
    }
}

/// The CSRF token of the account pages' forms: bound to the SSO session (a keyed hash of the
/// hash its cookie is checked against), so a page of another session never fits.
pub fn csrf_token(master: &MasterKey, session: &UserSession) -> String {
    SecretHasher::from_key(master.derive("account-csrf/v1")).hash(&session.cookie_hash)
}

/// Whether a form's token is its session's (compared as the login pages compare theirs).
pub fn csrf_ok(master: &MasterKey, session: &UserSession, given: &str) -> bool {
    !given.is_empty() && ct_eq(given.as_bytes(), csrf_token(master, session).as_bytes())
}

/// Where 「ポータルに戻る」 goes: Keycloak's `referrer` (a client id) and `referrer_uri`, only
/// when the URI is on the origin of a redirect URI the client (or, without `referrer`, any
/// client of the realm) registered. Without a URI, the referrer's origin. Else nothing.
pub async fn portal_url(
    ctx: &Ctx<'_>,
    referrer: Option<&str>,
    referrer_uri: Option<&str>,
) -> Result<Option<String>, FlowError> {
    let clients: Vec<Client> = match referrer {
        Some(id) => {
            ctx.lookups.client(ctx.db, &ctx.realm.id, id).await?.map(|c| (*c).clone()).into_iter().collect()
        }
        None if referrer_uri.is_some() => ctx.db.list_clients(&ctx.realm.id).await?,
        None => return Ok(None),
    };
    let origins: Vec<String> = clients
        .iter()
        .filter(|c| c.client_id.as_str() != CONSOLE_CLIENT_ID)
        .flat_map(|c| c.redirect_uris.iter())
        .filter_map(|r| url::Url::parse(r.as_str()).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .map(|u| u.origin().ascii_serialization())
        .collect();
    match referrer_uri {
        Some(raw) => {
            let Ok(uri) = url::Url::parse(raw) else { return Ok(None) };
            let allowed = matches!(uri.scheme(), "https" | "http")
                && origins.contains(&uri.origin().ascii_serialization());
            Ok(allowed.then(|| uri.to_string()))
        }
        None => Ok(origins.first().map(|o| format!("{o}/"))),
    }
}

/// What プロフィール変更 sends.
#[derive(Debug, Clone, Copy)]
pub struct ProfileForm<'a> {
    pub locale: &'a str,
    pub username: &'a str,
    pub auth_method: &'a str,
}

/// A saved profile, and the setup the chosen method still needs (Q18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSaved {
    Done,
    SetUp(RequiredAction),
}

/// プロフィール変更 (3-1, Q18): language, user ID (the first login's rules) and method. The
/// member's name and 仮ID flag are the kenpo's.
pub async fn update_profile(
    ctx: &Ctx<'_>,
    user: &mut User,
    form: ProfileForm<'_>,
) -> Result<Result<ProfileSaved, Vec<FieldError>>, FlowError> {
    let mut errors = Vec::new();
    let locale = Locale::parse(form.locale);
    if locale.is_none() {
        errors.push(FieldError::new("locale", "account.locale_invalid"));
    }
    let unchanged = form.username.trim().to_lowercase() == user.username.as_str();
    let username = if unchanged {
        Some(user.username.clone())
    } else {
        parse_user_id(user, form.username).map_err(|e| errors.push(e)).ok()
    };
    let method = AuthMethod::parse(form.auth_method).filter(|m| mfa::offered(ctx).contains(m));
    match method {
        None => errors.push(FieldError::new("authMethod", "method.required")),
        // Codes go only to an address the member proved to hold.
        Some(AuthMethod::EmailOtp) if !(user.email.is_some() && user.email_verified) => {
            errors.push(FieldError::new("authMethod", "account.method_needs_email"));
        }
        Some(_) => {}
    }
    let (Some(locale), Some(username), Some(method), true) = (locale, username, method, errors.is_empty())
    else {
        return Ok(Err(errors));
    };
    let previous = user.clone();
    user.locale = Some(locale.code().to_owned());
    user.username = username;
    user.auth_method = Some(method);
    match ctx.db.save_member(user).await {
        Ok(()) => {}
        Err(StoreError::UsernameTaken) => {
            *user = previous;
            return Ok(Err(vec![FieldError::new("username", "userid.taken")]));
        }
        Err(e) => return Err(e.into()),
    }
    let registered = Registered::of(ctx, user).await?;
    Ok(Ok(match method {
        AuthMethod::Otp if !registered.apps => ProfileSaved::SetUp(RequiredAction::ConfigureTotp),
        AuthMethod::Webauthn if !registered.passkeys => ProfileSaved::SetUp(RequiredAction::WebauthnRegister),
        _ => ProfileSaved::Done,
    }))
}

/// What ログイン方法変更 lists.
#[derive(Debug, Clone)]
pub struct SigningIn {
    pub password: Option<Credential>,
    pub apps: Vec<Credential>,
    pub passkeys: Vec<Credential>,
}

/// The member's credentials by kind, oldest first.
pub async fn signing_in(ctx: &Ctx<'_>, user: &User) -> Result<SigningIn, FlowError> {
    let mut all = ctx.db.credentials_of(&user.id).await?;
    all.sort_by_key(|c| c.created_at);
    let mut page = SigningIn { password: None, apps: Vec::new(), passkeys: Vec::new() };
    for credential in all {
        match credential.kind {
            CredentialType::Password => page.password = Some(credential),
            CredentialType::Otp => page.apps.push(credential),
            CredentialType::Webauthn | CredentialType::WebauthnPasswordless => page.passkeys.push(credential),
        }
    }
    Ok(page)
}

/// The member's own second factor `id`, if it may be deleted: an app or a passkey, never the
/// password (a mailed code is no credential at all).
pub async fn deletable(ctx: &Ctx<'_>, user: &User, id: &str) -> Result<Option<Credential>, FlowError> {
    let own = ctx.db.credentials_of(&user.id).await?;
    Ok(own.into_iter().find(|c| c.id == id && c.kind != CredentialType::Password))
}

/// Deletes the member's second factor `id` (3-7). Deleting the last one of the member's method
/// leaves its setup owed at the next login (see `required_actions::pending`).
pub async fn delete_credential(
    ctx: &Ctx<'_>,
    user: &User,
    id: &str,
) -> Result<Option<Credential>, FlowError> {
    let Some(credential) = deletable(ctx, user, id).await? else { return Ok(None) };
    let deleted = ctx.db.delete_credential(&user.id, &credential.id).await?;
    Ok(deleted.then_some(credential))
}

/// An active session as the device-activity page shows it.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub session: UserSession,
    /// "Chrome / Windows", when the User-Agent says.
    pub device: Option<String>,
    /// The session this browser is using.
    pub current: bool,
}

/// The member's live sessions in this realm, newest first.
pub async fn active_sessions(
    ctx: &Ctx<'_>,
    user: &User,
    current: &str,
) -> Result<Vec<ActiveSession>, FlowError> {
    let mut sessions: Vec<ActiveSession> = ctx
        .db
        .sessions_of(&user.id)
        .await?
        .into_iter()
        .filter(|s| s.realm_id == ctx.realm.id)
        .filter(|s| {
            let (idle, max) = super::sessions::lifetimes(ctx.realm, s.remember_me);
            ctx.now - s.last_seen_at <= idle && ctx.now - s.started_at <= max
        })
        .map(|session| ActiveSession {
            device: describe_user_agent(session.user_agent.as_deref()),
            current: session.id == current,
            session,
        })
        .collect();
    sessions.sort_by(|a, b| b.current.cmp(&a.current).then(b.session.started_at.cmp(&a.session.started_at)));
    Ok(sessions)
}

/// Ends one of the member's sessions (「サインアウト」): its tokens stop working and its
/// clients are told. `false` when it is not the member's (or already over). The caller wakes
/// the back-channel delivery.
pub async fn sign_out(ctx: &Ctx<'_>, user: &User, session_id: &str) -> Result<bool, FlowError> {
    let Some(session) = ctx.db.session_by_id(session_id).await? else { return Ok(false) };
    if session.user_id != user.id || session.realm_id != ctx.realm.id {
        return Ok(false);
    }
    logout::end_session(*ctx, &session).await?;
    Ok(true)
}

/// Ends every session of the member but `keep`.
pub async fn sign_out_others(ctx: &Ctx<'_>, user: &User, keep: &str) -> Result<usize, FlowError> {
    logout::end_other_sessions(*ctx, &user.id, Some(keep)).await
}

/// A browser and system in plain words from a User-Agent ("Chrome / Windows"); `None` when
/// neither is recognised.
pub fn describe_user_agent(user_agent: Option<&str>) -> Option<String> {
    let ua = user_agent?;
    let browser = [
        ("Edg", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS", "Firefox"),
        ("CriOS", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => Some(format!("{b} / {s}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/126.0.0.0 Safari/537.36";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                    Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0";
        assert_eq!(describe_user_agent(Some(chrome)).as_deref(), Some("Chrome / Windows"));
        assert_eq!(describe_user_agent(Some(iphone)).as_deref(), Some("Safari / iPhone"));
        assert_eq!(describe_user_agent(Some(edge)).as_deref(), Some("Edge / Windows"));
        assert_eq!(describe_user_agent(Some("curl/8.0")), None);
        assert_eq!(describe_user_agent(None), None);
    }

    #[test]
    fn logins_come_back_only_to_account_pages() {
        assert_eq!(
            local_return("demo", "/realms/demo/account/signing-in"),
            "/realms/demo/account/signing-in"
        );
        assert_eq!(
            local_return("demo", "/realms/demo/account?referrer=portal"),
            "/realms/demo/account?referrer=portal"
        );
        for hostile in [
            "https://evil.example/",
            "//evil.example/realms/demo/account",
            "/realms/other/account",
            "/realms/demo/account/../../x",
            "/realms/demo/account?x=<script>",
        ] {
            assert_eq!(local_return("demo", hostile), "/realms/demo/account", "{hostile}");
        }
    }
}
