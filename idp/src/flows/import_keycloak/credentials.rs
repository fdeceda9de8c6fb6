//! A Keycloak user's credentials as ours: the password hash as it is (verified as Keycloak did
//! until the first login re-hashes it with Argon2id), the authenticator app's seed sealed like
//! one set up here, and a passkey's COSE public key as the webauthn-rs [`Passkey`] our login
//! checks.

use super::Report;
use crate::domain::{OtpAlgorithm, SEED_BYTES, TotpSeed};
use crate::flows::mfa::passkey::{LABEL_MAX, PasskeyData};
use crate::flows::mfa::totp;
use crate::import::keycloak::{self, CredentialExport, UserExport, WebauthnData};
use crate::store::{CredentialType, NewCredential, OtpData};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use shared_crypto::MasterKey;
use shared_crypto::password;
use std::collections::HashSet;
use time::OffsetDateTime;
use webauthn_rs::prelude::{AttestationFormat, COSEKey, Credential, ParsedAttestation, Passkey};
use webauthn_rs_core::proto::{AuthenticatorTransport, RegisteredExtensions, UserVerificationPolicy};

/// The user's credentials that have an equivalent here, each with its creation date; the rest
/// are skipped in `report`. `passkeys` holds the WebAuthn credential ids taken so far in the file.
pub fn convert_all(
    master: &MasterKey,
    user_id: &str,
    user: &UserExport,
    passkeys: &mut HashSet<String>,
    report: &mut Report,
    now: OffsetDateTime,
) -> Vec<(NewCredential, OffsetDateTime)> {
    // Keycloak orders credentials by priority, lowest first; one password is kept.
    let mut ordered: Vec<&CredentialExport> = user.credentials.iter().collect();
    ordered.sort_by_key(|c| c.priority.unwrap_or(i64::MAX));
    let mut converted: Vec<(NewCredential, OffsetDateTime)> = Vec::new();
    for credential in ordered {
        let label = credential.user_label.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let what = match label {
            Some(label) => format!("credential {} {label:?} of {}", credential.kind, user.username),
            None => format!("credential {} of {}", credential.kind, user.username),
        };
        let label = unique_label(&converted, credential, label);
        let result = match credential.kind.as_str() {
            "password" if converted.iter().any(|(c, _)| c.kind == CredentialType::Password) => {
                Err("a member has one password here; the one Keycloak tried first is kept".to_owned())
            }
            "password" => password::from_keycloak(&credential.secret_data, &credential.credential_data)
                .map(|hash| NewCredential::password(&hash))
                .map_err(|e| format!("{e}; the member sets a new one with 「パスワードを忘れた方」")),
            "otp" => otp(master, user_id, credential, label),
            "webauthn" | "webauthn-passwordless" => passkey(credential, label, passkeys),
            other => Err(format!("Keycloak credential type {other:?} has no equivalent here")),
        };
        match result {
            Ok(new) => converted.push((new, created_at(credential, now))),
            Err(why) => report.skip(what, why),
        }
    }
    converted
}

/// The credential's label, made unique among the member's credentials of its kind (a label is
/// unique per member and type here, not in Keycloak).
fn unique_label(
    taken: &[(NewCredential, OffsetDateTime)],
    credential: &CredentialExport,
    label: Option<&str>,
) -> String {
    let base: String = match (label, credential.kind.as_str()) {
        (Some(label), _) => label.chars().take(LABEL_MAX - 4).collect(),
        (None, "otp") => "Keycloak OTP".to_owned(),
        (None, _) => "Keycloak passkey".to_owned(),
    };
    let used = |candidate: &str| taken.iter().any(|(c, _)| c.user_label.as_deref() == Some(candidate));
    let mut candidate = base.clone();
    let mut n = 2;
    while used(&candidate) {
        candidate = format!("{base} ({n})");
        n += 1;
    }
    candidate
}

fn created_at(credential: &CredentialExport, now: OffsetDateTime) -> OffsetDateTime {
    credential
        .created_date
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .unwrap_or(now)
}

/// A TOTP app: Keycloak's key is the UTF-8 bytes of the stored secret (what its QR code shows
/// in base32), or with `secretEncoding: "BASE32"` the base32 it stores. Its digits, period and
/// algorithm stay the credential's own, as here.
fn otp(
    master: &MasterKey,
    user_id: &str,
    credential: &CredentialExport,
    label: String,
) -> Result<NewCredential, String> {
    let secret: keycloak::OtpSecret =
        serde_json::from_str(&credential.secret_data).map_err(|e| format!("secretData: {e}"))?;
    let data: keycloak::OtpData =
        serde_json::from_str(&credential.credential_data).map_err(|e| format!("credentialData: {e}"))?;
    if data.sub_type != "totp" {
        return Err(format!(
            "{} (counter-based) codes are not supported; the member sets up an authenticator app again",
            data.sub_type.to_uppercase()
        ));
    }
    let algorithm = match data.algorithm.as_str() {
        "HmacSHA1" => OtpAlgorithm::Sha1,
        "HmacSHA256" => OtpAlgorithm::Sha256,
        "HmacSHA512" => OtpAlgorithm::Sha512,
        other => return Err(format!("OTP algorithm {other:?} is not supported")),
    };
    if !matches!(data.digits, 6 | 8) || !(1..=300).contains(&data.period) {
        return Err(format!(
            "{} digits every {} s: codes here have 6 or 8 digits, every 1–300 s",
            data.digits, data.period
        ));
    }
    let key = match data.secret_encoding.as_deref() {
        None => secret.value.into_bytes(),
        Some(encoding) if encoding.eq_ignore_ascii_case("BASE32") => {
            totp_rs::Secret::Encoded(secret.value.trim().to_uppercase())
                .to_bytes()
                .map_err(|e| format!("the BASE32 secret does not decode: {e:?}"))?
        }
        Some(other) => return Err(format!("secretEncoding {other:?} is not supported")),
    };
    let seed: [u8; SEED_BYTES] = key.as_slice().try_into().map_err(|_| {
        format!(
            "the key is {} bytes; only {SEED_BYTES}-byte keys (Keycloak's default) are supported",
            key.len()
        )
    })?;
    let data = OtpData {
        sub_type: "totp".to_owned(),
        digits: data.digits,
        period: data.period,
        algorithm,
        last_used_step: None,
    };
    Ok(NewCredential::otp(totp::seal_for(master, user_id, &TotpSeed::new(seed)), label, &data))
}

/// A passkey from its COSE public key, parsed by webauthn-rs as at registration. Keycloak
/// required user verification of passwordless keys and we require it of every passkey; an old
/// security key without a PIN will not pass here and must be registered again.
fn passkey(
    credential: &CredentialExport,
    label: String,
    taken: &mut HashSet<String>,
) -> Result<NewCredential, String> {
    let data: WebauthnData =
        serde_json::from_str(&credential.credential_data).map_err(|e| format!("credentialData: {e}"))?;
    let credential_id = decode_b64(&data.credential_id).ok_or("credentialId is not base64")?;
    let cose = decode_b64(&data.credential_public_key).ok_or("credentialPublicKey is not base64")?;
    let value: serde_cbor_2::Value =
        serde_cbor_2::from_slice(&cose).map_err(|e| format!("credentialPublicKey is not CBOR: {e}"))?;
    let key = COSEKey::try_from(&value).map_err(|e| format!("credentialPublicKey: {e}"))?;
    let transports: Vec<AuthenticatorTransport> =
        data.transports.iter().filter_map(|t| t.parse().ok()).collect();
    let passkey = Passkey::from(Credential {
        cred_id: credential_id.into(),
        cred: key,
        counter: data.counter,
        transports: (!transports.is_empty()).then_some(transports),
        user_verified: true,
        // Keycloak keeps no backup flags; a synced passkey's first use as a second factor
        // records them (webauthn-rs allows that upgrade there).
        backup_eligible: false,
        backup_state: false,
        registration_policy: UserVerificationPolicy::Required,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation::default(),
        attestation_format: AttestationFormat::None,
    });
    let data = PasskeyData::new(passkey);
    if !taken.insert(data.credential_id.clone()) {
        return Err("another credential in the export has the same credentialId".to_owned());
    }
    Ok(NewCredential::webauthn(data.credential_id.clone(), label, data.json()))
}

/// Base64 in any of its spellings: Keycloak has written credential ids both ways.
fn decode_b64(raw: &str) -> Option<Vec<u8>> {
    let raw = raw.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(raw).ok())
}
