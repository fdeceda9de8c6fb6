//! 認証アプリ (TOTP): setting an app up (「ワンタイムパスワードの設定」, 2-4-1 … 2-4-4) and
//! checking its codes at login (3-6), on the realm's lockout records like a password.
//!
//! A setup is two requests: the page shows a fresh seed (QR code and key), and the member sends
//! back a code from the app with a device name. Between the two the seed waits in the login's
//! tab state, sealed; it is stored, sealed, only once a code proves the app has it.

use super::super::FlowError;
use super::super::lockout::{self, FailureKey, IdentityCheck};
use super::super::required_actions::FieldError;
use super::super::tokens::Ctx;
use crate::domain::totp::{self as codes, Enrolment, SEED_BYTES, TotpSeed};
use crate::store::{Credential, CredentialStore, CredentialType, NewCredential, OtpData, StoreError, User};
use shared_crypto::MasterKey;
use std::net::IpAddr;

/// The longest device name kept.
pub const LABEL_MAX: usize = 64;

/// What the seed is sealed to: its member, so a sealed seed moved to another member opens for
/// no one.
fn aad(user_id: &str) -> Vec<u8> {
    format!("totp-seed/v1\n{user_id}").into_bytes()
}

/// The seed sealed for the tab state or the credential.
pub fn seal(ctx: &Ctx<'_>, user: &User, seed: &TotpSeed) -> String {
    seal_for(ctx.master, &user.id, seed)
}

/// The seed sealed for the member whose id is `user_id`, before they are stored (a migration).
pub fn seal_for(master: &MasterKey, user_id: &str, seed: &TotpSeed) -> String {
    master.seal(seed.expose(), &aad(user_id))
}

/// A sealed seed opened again.
pub fn open(ctx: &Ctx<'_>, user: &User, sealed: &str) -> Result<TotpSeed, FlowError> {
    let bytes = ctx.master.open(sealed, &aad(&user.id))?;
    let bytes: [u8; SEED_BYTES] =
        bytes.as_slice().try_into().map_err(|_| FlowError::invalid("totp seed", "not 20 bytes"))?;
    Ok(TotpSeed::new(bytes))
}

/// What the setup page shows for `seed`: the app's label is the realm's display name and the
/// member's user ID (2-4-2).
pub fn enrolment(ctx: &Ctx<'_>, user: &User, seed: &TotpSeed) -> Result<Enrolment, FlowError> {
    Enrolment::new(seed, &ctx.realm.settings.otp_policy, &ctx.realm.display_name, user.username.as_str())
        .map_err(|e| FlowError::invalid("otpPolicy", e))
}

/// The member's answer on the setup page.
#[derive(Debug)]
pub enum Setup {
    Registered(Credential),
    Refused(Vec<FieldError>),
}

/// Registers the app whose `seed` the page showed, if `code` comes from it, under the device
/// name `label` (required, unique among the member's apps). The setup code's step counts as
/// used, so the same code cannot log in afterwards.
pub async fn finish_setup(
    ctx: &Ctx<'_>,
    user: &User,
    seed: &TotpSeed,
    code: &str,
    label: &str,
) -> Result<Setup, FlowError> {
    let label = label.trim();
    let mut errors = Vec::new();
    let policy = &ctx.realm.settings.otp_policy;
    let step = codes::verify(seed, policy, code, ctx.now, None);
    if step.is_none() {
        let key = if code.trim().is_empty() { "totp.code_empty" } else { "totp.setup_wrong_code" };
        errors.push(FieldError::new("totp", key));
    }
    if label.is_empty() {
        errors.push(FieldError::new("userLabel", "totp.label_empty"));
    } else if label.chars().count() > LABEL_MAX {
        errors.push(FieldError::new("userLabel", "totp.label_long"));
    }
    let Some(step) = step.filter(|_| errors.is_empty()) else { return Ok(Setup::Refused(errors)) };
    let data = OtpData::totp(policy, step);
    let new = NewCredential::otp(seal(ctx, user, seed), label.to_owned(), &data);
    match ctx.db.create_credential(&user.id, new, ctx.now).await {
        Ok(credential) => Ok(Setup::Registered(credential)),
        Err(StoreError::CredentialLabelTaken) => {
            Ok(Setup::Refused(vec![FieldError::new("userLabel", "totp.label_taken")]))
        }
        Err(e) => Err(e.into()),
    }
}

/// The member's authenticator apps, oldest first (the device chooser at login, 3-6 step 10).
pub async fn devices(ctx: &Ctx<'_>, user: &User) -> Result<Vec<Credential>, FlowError> {
    let all = ctx.db.credentials_of(&user.id).await?;
    Ok(all.into_iter().filter(|c| c.kind == CredentialType::Otp).collect())
}

/// Checks a login code from the app `credential_id` (one of the member's), on the member's
/// lockout record for this browser: a wrong code counts like a wrong password, a locked record
/// refuses unchecked, and an accepted code's step is spent, once, even against a concurrent
/// request with the same code.
pub async fn check_login_code(
    ctx: &Ctx<'_>,
    user: &User,
    credential_id: &str,
    code: &str,
    device_cookie: Option<&str>,
    ip: IpAddr,
) -> Result<IdentityCheck, FlowError> {
    let credential = devices(ctx, user).await?.into_iter().find(|c| c.id == credential_id);
    let key = FailureKey::member(ctx.master, ctx.realm, &user.id, device_cookie);
    let check = async {
        let Some(credential) = credential else { return Ok(false) };
        let data = credential.otp()?;
        let seed = open(ctx, user, &credential.secret_data)?;
        let policy = data.policy(ctx.realm.settings.otp_policy.look_around);
        match codes::verify(&seed, &policy, code, ctx.now, data.last_used_step) {
            Some(step) => Ok(ctx.db.use_otp_step(&credential, step).await?),
            None => Ok(false),
        }
    };
    lockout::check_identity_with(ctx.db, ctx.ephemeral, ctx.realm, key, ip, ctx.now, check).await
}
