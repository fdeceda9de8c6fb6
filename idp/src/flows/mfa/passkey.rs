//! 生体認証 (passkeys, WebAuthn): registering one (「セキュリティキーの登録」, 2-3), using it as
//! the second factor after the password, and signing in with it alone (「パスキーでログイン」,
//! Q21), on webauthn-rs.
//!
//! Every use is a ceremony of two requests: `start_*` gives the challenge the page hands to the
//! browser's `navigator.credentials` and a [`Ceremony`] that waits in the login tab's state;
//! `finish_*`/`check_*` takes the browser's answer back with it. The ceremony is bound to its
//! member and expires; an authentication ceremony is spent on its first answer, so a replayed
//! answer, even one sent twice at once, gets in at most once.
//!
//! The relying party is the issuer's host and origin: passkeys work only where members reach
//! the IdP by a domain name (`localhost` in development), never by an IP address.

use super::super::FlowError;
use super::super::brute_force::Lock;
use super::super::lockout::{self, FailureKey, IdentityCheck};
use super::super::required_actions::{FieldError, StepResult};
use super::super::tokens::Ctx;
use super::amr;
use crate::ephemeral::EphemeralStore;
use crate::store::{Credential, CredentialStore, CredentialType, NewCredential, StoreError, User, UserStore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration as StdDuration;
use time::Duration;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url,
    Webauthn, WebauthnBuilder,
};

/// The longest passkey label kept (the same as an authenticator app's device name).
pub const LABEL_MAX: usize = 64;
/// How long a ceremony may wait for the browser's answer: the browser gives the member five
/// minutes (webauthn-rs' timeout); the rest is for a slow page.
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(10);
/// How long a spent ceremony is remembered: longer than it could be answered.
const SPENT_MEMORY: StdDuration = StdDuration::from_secs(15 * 60);
/// The largest browser answer read: a real one is a few kilobytes.
const RESPONSE_MAX: usize = 64 * 1024;

/// The relying party of `ctx`'s realm, built per call: it costs a few small allocations, and a
/// realm's issuer (its own host) and display name can change under a running server, which a
/// cache would have to notice.
fn relying_party(ctx: &Ctx<'_>) -> Result<Webauthn, FlowError> {
    let issuer = Url::parse(ctx.issuer).map_err(|e| FlowError::invalid("issuer", e))?;
    let Some(rp_id) = issuer.domain() else {
        return Err(FlowError::invalid(
            "issuer",
            "passkeys need the IdP reached by a domain name, not an IP address",
        ));
    };
    let origin =
        Url::parse(&issuer.origin().ascii_serialization()).map_err(|e| FlowError::invalid("issuer", e))?;
    WebauthnBuilder::new(rp_id, &origin)
        .and_then(|b| b.rp_name(&ctx.realm.display_name).build())
        .map_err(|e| FlowError::invalid("issuer", e))
}

/// Whether passkeys can work for `ctx`'s realm (its issuer has a domain name): the pages offer
/// them only then.
pub fn available(ctx: &Ctx<'_>) -> bool {
    relying_party(ctx).is_ok()
}

/// The WebAuthn user handle of `user`: their id, which is a UUID; an id that is not one (an
/// import's) maps to a stable UUID from its hash. Authenticators keep it with a discoverable
/// credential and give it back at sign-in.
fn user_handle(user_id: &str) -> Uuid {
    Uuid::parse_str(user_id).unwrap_or_else(|_| {
        let hash = Sha256::digest(format!("webauthn-user-handle/v1\n{user_id}"));
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    })
}

/// Whether `handle`, a user handle an authenticator gave back, names the member `user_id`: ours
/// ([`user_handle`]'s 16 bytes), or Keycloak's (the id's UTF-8 text), which passkeys registered
/// before a Keycloak migration carry (the migration keeps Keycloak's ids).
fn is_handle_of(handle: &[u8], user_id: &str) -> bool {
    handle == user_handle(user_id).as_bytes() || handle == user_id.as_bytes()
}

/// A credential id as stored and shown (base64url, no padding).
fn encode_id(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// A WebAuthn ceremony waiting in the tab for the browser's answer: the webauthn-rs state (its
/// challenge), who it is for, and when it started. Serialisable for the tab state, which the
/// server keeps; `Debug` shows neither the challenge nor any key.
#[derive(Clone, Serialize, Deserialize)]
pub struct Ceremony<S> {
    id: String,
    user_id: Option<String>,
    started_at: i64,
    state: S,
}

impl<S> fmt::Debug for Ceremony<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ceremony")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

/// Registering a passkey.
pub type RegistrationCeremony = Ceremony<PasskeyRegistration>;
/// A known member's passkey as the second factor.
pub type SecondFactorCeremony = Ceremony<PasskeyAuthentication>;
/// Signing in with a discoverable passkey, nobody named yet.
pub type SignInCeremony = Ceremony<DiscoverableAuthentication>;

/// The ceremony a login tab waits on: each passkey page starts one and keeps it in the tab
/// (server side, `flows::auth_session`), never in the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "ceremony", rename_all = "snake_case")]
pub enum Waiting {
    Registration(RegistrationCeremony),
    SecondFactor(SecondFactorCeremony),
    SignIn(SignInCeremony),
}

impl<S> Ceremony<S> {
    fn new(ctx: &Ctx<'_>, user: Option<&User>, state: S) -> Self {
        Self {
            id: Uuid::new_v4().simple().to_string(),
            user_id: user.map(|u| u.id.clone()),
            started_at: ctx.now.unix_timestamp(),
            state,
        }
    }

    /// Whether the answer may still come, for `user`.
    fn valid_for(&self, ctx: &Ctx<'_>, user: Option<&User>) -> bool {
        let age = ctx.now.unix_timestamp() - self.started_at;
        let fresh = (0..=CEREMONY_LIFETIME.whole_seconds()).contains(&age);
        fresh && self.user_id.as_deref() == user.map(|u| u.id.as_str())
    }

    /// Marks the ceremony answered; false if it was already. Spent before the answer is
    /// checked, so two requests carrying one answer cannot both be checked.
    async fn spend(&self, ctx: &Ctx<'_>) -> Result<bool, FlowError> {
        let key = format!("webauthn-ceremony:{}:{}", ctx.realm.id, self.id);
        Ok(ctx.ephemeral.put_if_absent(&key, b"1", SPENT_MEMORY).await?)
    }
}

/// A passkey's `credential_data`: what Keycloak's admin API shows of a WebAuthn credential
/// (`credentialId`, `counter`) and its backup flags, beside the webauthn-rs [`Passkey`] (public
/// key, counter, flags) that checks it. There is no secret: `secret_data` stays empty.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyData {
    /// The WebAuthn credential id, base64url.
    pub credential_id: String,
    /// The authenticator's sign counter as last seen (0 for most synced passkeys).
    pub counter: u32,
    /// Whether the passkey may be backed up (synced) — Keycloak's and WebAuthn's `BE` flag.
    pub backup_eligible: bool,
    /// Whether it is backed up now (`BS`).
    pub backup_state: bool,
    passkey: Passkey,
}

impl fmt::Debug for PasskeyData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyData")
            .field("credential_id", &self.credential_id)
            .field("counter", &self.counter)
            .field("backup_eligible", &self.backup_eligible)
            .field("backup_state", &self.backup_state)
            .finish_non_exhaustive()
    }
}

impl PasskeyData {
    /// The data of `passkey`, registered here or brought from Keycloak.
    pub fn new(passkey: Passkey) -> Self {
        let cred = webauthn_rs::prelude::Credential::from(passkey.clone());
        Self {
            credential_id: encode_id(cred.cred_id.as_ref()),
            counter: cred.counter,
            backup_eligible: cred.backup_eligible,
            backup_state: cred.backup_state,
            passkey,
        }
    }

    /// A stored passkey's data.
    pub fn of(credential: &Credential) -> Result<Self, FlowError> {
        if credential.kind != CredentialType::Webauthn {
            return Err(FlowError::invalid("credential", "not a passkey"));
        }
        serde_json::from_str(&credential.credential_data)
            .map_err(|e| StoreError::corrupt(format!("credentials.credential_data: {e}")).into())
    }

    /// The data as `credential_data` stores it.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "null".to_owned())
    }

    /// What a use of this passkey proves (RFC 8176): a key that may be synced between devices
    /// (`swk`) or one bound to its authenticator (`hwk`), and the member verified by it (`user`:
    /// every ceremony requires user verification).
    pub fn proves(&self) -> [&'static str; 2] {
        let key = if self.backup_eligible { amr::SOFTWARE_KEY } else { amr::HARDWARE_KEY };
        [key, amr::USER]
    }
}

/// What the passkey that answered `response` proves, for a login that passed with it (see
/// [`PasskeyData::proves`]); `user` names its holder once known. A passkey that cannot be found
/// again counts as the weaker, synced kind.
pub async fn proved(ctx: &Ctx<'_>, user: &User, response: &str) -> Result<[&'static str; 2], FlowError> {
    let weakest = [amr::SOFTWARE_KEY, amr::USER];
    let Some(answer) = parse::<PublicKeyCredential>(response) else { return Ok(weakest) };
    let stored = ctx.db.webauthn_credential(&ctx.realm.id, &encode_id(answer.get_credential_id())).await?;
    match stored.filter(|c| c.user_id == user.id) {
        Some(stored) => Ok(PasskeyData::of(&stored)?.proves()),
        None => Ok(weakest),
    }
}

/// The member's passkeys, oldest first (the 生体認証 list of the account pages).
pub async fn passkeys(ctx: &Ctx<'_>, user: &User) -> Result<Vec<Credential>, FlowError> {
    let all = ctx.db.credentials_of(&user.id).await?;
    Ok(all.into_iter().filter(|c| c.kind == CredentialType::Webauthn).collect())
}

fn passkeys_of(credentials: &[Credential]) -> Result<Vec<Passkey>, FlowError> {
    credentials.iter().map(|c| PasskeyData::of(c).map(|d| d.passkey)).collect()
}

fn to_json(value: &impl Serialize) -> Result<Value, FlowError> {
    serde_json::to_value(value).map_err(|e| FlowError::invalid("webauthn", e))
}

/// The browser's answer, if it is one: the page posts an error marker instead when the
/// browser refused or the member cancelled.
fn parse<T: DeserializeOwned>(response: &str) -> Option<T> {
    (response.len() <= RESPONSE_MAX).then(|| serde_json::from_str(response).ok()).flatten()
}

fn invalid() -> Vec<FieldError> {
    vec![FieldError::new("webauthn", "webauthn.invalid")]
}

// ---------------------------------------------------------------------------------------------
// Registration (2-3)

/// What the member's answer to 「セキュリティキーの登録」 came to.
#[derive(Debug)]
pub enum Setup {
    Registered(Credential),
    Refused(Vec<FieldError>),
}

/// Starts registering a passkey for `user`: the options for `navigator.credentials.create`
/// (`{"publicKey": …}`, binary fields base64url) and the ceremony to keep.
///
/// The credential must be discoverable (resident), so that it also signs in without a user ID,
/// and verify the user (biometrics or PIN). No authenticator attachment is asked for, so a
/// phone over the hybrid transport (a QR code on a PC) works as well as the device itself. The
/// member's passkeys are excluded, so one authenticator is not registered twice.
pub async fn start_registration(
    ctx: &Ctx<'_>,
    user: &User,
) -> Result<(Value, RegistrationCeremony), FlowError> {
    let rp = relying_party(ctx)?;
    let existing = passkeys(ctx, user).await?;
    let exclude: Vec<CredentialID> = passkeys_of(&existing)?.iter().map(|p| p.cred_id().clone()).collect();
    let (challenge, state) = rp
        .start_passkey_registration(
            user_handle(&user.id),
            user.username.as_str(),
            &user.display_name,
            (!exclude.is_empty()).then_some(exclude),
        )
        .map_err(|e| FlowError::invalid("webauthn", e))?;
    let mut challenge = to_json(&challenge)?;
    // webauthn-rs asks for a non-resident key; sign-in without a user ID needs a resident one.
    // The library's verification does not depend on this choice.
    if let Some(selection) = challenge.pointer_mut("/publicKey/authenticatorSelection") {
        selection["residentKey"] = Value::from("required");
        selection["requireResidentKey"] = Value::from(true);
    }
    Ok((challenge, Ceremony::new(ctx, Some(user), state)))
}

/// Verifies the browser's answer to a registration, for `user`: the new passkey, or
/// `webauthn.invalid` (「セキュリティキーの登録が無効です」, Q16) for a cancelled, refused, expired,
/// foreign or forged answer.
fn verify_registration(
    ctx: &Ctx<'_>,
    user: &User,
    ceremony: &RegistrationCeremony,
    response: &str,
) -> Result<Option<Passkey>, FlowError> {
    let rp = relying_party(ctx)?;
    let Some(response) = parse::<RegisterPublicKeyCredential>(response) else { return Ok(None) };
    if !ceremony.valid_for(ctx, Some(user)) {
        return Ok(None);
    }
    Ok(rp.finish_passkey_registration(&response, &ceremony.state).ok())
}

/// Checks the browser's answer without registering anything: for a page that asks for the
/// label only after the biometric prompt (2-3) and shows a failed prompt at once. The same
/// answer then goes to [`finish_registration`] with the label.
pub fn check_registration(
    ctx: &Ctx<'_>,
    user: &User,
    ceremony: &RegistrationCeremony,
    response: &str,
) -> StepResult {
    Ok(verify_registration(ctx, user, ceremony, response)?.map(|_| ()).ok_or_else(invalid))
}

/// Registers the passkey of the browser's `response` to `ceremony` under `label` (required, at
/// most [`LABEL_MAX`] characters, unique among the member's passkeys). Nothing is spent on a
/// refusal: the member may fix the label and send the same answer again. The answer cannot
/// register twice: a credential id is stored once (see the `passkeys` migration).
pub async fn finish_registration(
    ctx: &Ctx<'_>,
    user: &User,
    ceremony: &RegistrationCeremony,
    response: &str,
    label: &str,
) -> Result<Setup, FlowError> {
    let label = label.trim();
    let passkey = verify_registration(ctx, user, ceremony, response)?;
    let mut errors = if passkey.is_some() { Vec::new() } else { invalid() };
    if label.is_empty() {
        errors.push(FieldError::new("userLabel", "webauthn.label_empty"));
    } else if label.chars().count() > LABEL_MAX {
        errors.push(FieldError::new("userLabel", "webauthn.label_long"));
    }
    let Some(passkey) = passkey.filter(|_| errors.is_empty()) else { return Ok(Setup::Refused(errors)) };
    let data = PasskeyData::new(passkey);
    let new = NewCredential::webauthn(data.credential_id.clone(), label.to_owned(), data.json());
    match ctx.db.create_credential(&user.id, new, ctx.now).await {
        Ok(credential) => Ok(Setup::Registered(credential)),
        Err(StoreError::CredentialLabelTaken) => {
            Ok(Setup::Refused(vec![FieldError::new("userLabel", "webauthn.label_taken")]))
        }
        // Registered already (this answer twice, or an authenticator reusing an id).
        Err(StoreError::WebauthnCredentialTaken) => Ok(Setup::Refused(invalid())),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Using a passkey: after the password, or alone

/// Records a checked sign-in on the stored passkey, read fresh: refused if the authenticator's
/// counter did not move past the stored one (a cloned authenticator, or an answer to an older
/// challenge), else the new counter and backup flags are written by compare-and-set, so of two
/// sign-ins checked against one counter only one gets in.
async fn record_use(
    ctx: &Ctx<'_>,
    stored: &Credential,
    result: &AuthenticationResult,
) -> Result<bool, FlowError> {
    let mut data = PasskeyData::of(stored)?;
    let counts = result.counter() > 0 || data.counter > 0;
    if counts && result.counter() <= data.counter {
        tracing::warn!(credential = %stored.id, "passkey sign counter went back: a cloned authenticator?");
        return Ok(false);
    }
    match data.passkey.update_credential(result) {
        None => Ok(false),
        Some(false) => Ok(true),
        Some(true) => {
            data = PasskeyData::new(data.passkey);
            Ok(ctx.db.replace_credential_data(stored, &data.json()).await?)
        }
    }
}

/// Starts the second-factor check of `user`, who has passkeys: the options for
/// `navigator.credentials.get` (their credentials allowed, user verification required) and the
/// ceremony to keep.
pub async fn start_second_factor(
    ctx: &Ctx<'_>,
    user: &User,
) -> Result<(Value, SecondFactorCeremony), FlowError> {
    let rp = relying_party(ctx)?;
    let passkeys = passkeys_of(&passkeys(ctx, user).await?)?;
    if passkeys.is_empty() {
        return Err(FlowError::invalid("webauthn", "the member has no passkey"));
    }
    let (challenge, state) =
        rp.start_passkey_authentication(&passkeys).map_err(|e| FlowError::invalid("webauthn", e))?;
    Ok((to_json(&challenge)?, Ceremony::new(ctx, Some(user), state)))
}

/// Checks the browser's answer to a second-factor ceremony of `user`, on the member's lockout
/// record for this browser like an OTP code: a locked record refuses unchecked, a wrong answer
/// counts like a wrong password, a right one clears the record. An answer that is no answer
/// (the member cancelled the prompt) fails without counting.
pub async fn check_second_factor(
    ctx: &Ctx<'_>,
    user: &User,
    ceremony: &SecondFactorCeremony,
    response: &str,
    device_cookie: Option<&str>,
    ip: IpAddr,
) -> Result<IdentityCheck, FlowError> {
    let rp = relying_party(ctx)?;
    let Some(response) = parse::<PublicKeyCredential>(response) else { return Ok(IdentityCheck::Failed) };
    let key = FailureKey::member(ctx.master, ctx.realm, &user.id, device_cookie);
    let check = async {
        if !ceremony.valid_for(ctx, Some(user)) || !ceremony.spend(ctx).await? {
            return Ok(false);
        }
        let Ok(result) = rp.finish_passkey_authentication(&response, &ceremony.state) else {
            return Ok(false);
        };
        let stored = ctx.db.webauthn_credential(&ctx.realm.id, &encode_id(result.cred_id().as_ref())).await?;
        match stored.filter(|c| c.user_id == user.id) {
            Some(stored) => record_use(ctx, &stored, &result).await,
            None => Ok(false),
        }
    };
    lockout::check_identity_with(ctx.db, ctx.ephemeral, ctx.realm, key, ip, ctx.now, check).await
}

/// What a passwordless sign-in came to.
#[derive(Debug)]
pub enum SignIn {
    /// The member whose passkey answered.
    Passed(Box<User>),
    /// Not a passkey of this realm's members, or not a valid answer: 「パスキーでログイン」 again.
    Refused,
    /// The member's passkey answered, but the kenpo disabled the account (Q6).
    Disabled,
    /// The member's lockout record is locked (Q5).
    Locked(Lock),
}

/// Starts a passwordless sign-in: options for `navigator.credentials.get` with no credentials
/// listed (the authenticator offers its discoverable ones for this site) and `"mediation":
/// "conditional"`, which the page's script uses for autofill on the user ID field where the
/// browser can, and drops for the 「パスキーでログイン」 button.
pub fn start_sign_in(ctx: &Ctx<'_>) -> Result<(Value, SignInCeremony), FlowError> {
    let rp = relying_party(ctx)?;
    let (challenge, state) =
        rp.start_discoverable_authentication().map_err(|e| FlowError::invalid("webauthn", e))?;
    Ok((to_json(&challenge)?, Ceremony::new(ctx, None, state)))
}

/// Finishes a passwordless sign-in: the member whose discoverable passkey answered (its
/// credential id, and the user handle the authenticator keeps with it, both name them), checked
/// on that member's lockout record for this browser. A credential no member of the realm holds
/// is refused without counting on anyone's record.
pub async fn finish_sign_in(
    ctx: &Ctx<'_>,
    ceremony: &SignInCeremony,
    response: &str,
    device_cookie: Option<&str>,
    ip: IpAddr,
) -> Result<SignIn, FlowError> {
    let rp = relying_party(ctx)?;
    let Some(response) = parse::<PublicKeyCredential>(response) else { return Ok(SignIn::Refused) };
    // Not `identify_discoverable_authentication`: it reads only our 16-byte handles.
    let Some(handle) = response.get_user_unique_id() else { return Ok(SignIn::Refused) };
    let credential_id = encode_id(response.get_credential_id());
    let Some(stored) = ctx.db.webauthn_credential(&ctx.realm.id, &credential_id).await? else {
        return Ok(SignIn::Refused);
    };
    let user = ctx.db.user_by_id(&ctx.realm.id, &stored.user_id).await?;
    let Some(user) = user.filter(|u| is_handle_of(handle, &u.id)) else { return Ok(SignIn::Refused) };
    let key = FailureKey::member(ctx.master, ctx.realm, &user.id, device_cookie);
    let check = async {
        if !ceremony.valid_for(ctx, None) || !ceremony.spend(ctx).await? {
            return Ok(false);
        }
        let key = DiscoverableKey::from(&PasskeyData::of(&stored)?.passkey);
        match rp.finish_discoverable_authentication(&response, ceremony.state.clone(), &[key]) {
            Ok(result) => record_use(ctx, &stored, &result).await,
            Err(_) => Ok(false),
        }
    };
    Ok(
        match lockout::check_identity_with(ctx.db, ctx.ephemeral, ctx.realm, key, ip, ctx.now, check).await? {
            IdentityCheck::Passed if !user.enabled => SignIn::Disabled,
            IdentityCheck::Passed => SignIn::Passed(Box::new(user)),
            IdentityCheck::Failed => SignIn::Refused,
            IdentityCheck::Locked(lock) => SignIn::Locked(lock),
        },
    )
}
