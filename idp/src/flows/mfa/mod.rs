//! Second factors, one file each (manual 2-3, 2-4), and what a login owes of them.
//!
//! A member signs in with the password, then with the method they chose (2-1 step 9): their
//! authenticator app, passkey or mailed code. A member who chose a method but has nothing for
//! it yet (the first login, or after the kenpo reset a lost phone, 3-8) owes its setup as a
//! required action instead, and the setup itself proves the factor. What was proven is kept as
//! RFC 8176 method references (`amr`), from which the ID token's `acr` follows.

pub mod email_otp;
pub mod passkey;
pub mod totp;

use super::FlowError;
use super::tokens::Ctx;
use crate::domain::AuthMethod;
use crate::store::{CredentialStore, CredentialType, User, UserStore};

/// RFC 8176 authentication method reference values this server records.
pub mod amr {
    /// A password.
    pub const PASSWORD: &str = "pwd";
    /// A one-time password: an authenticator app's or a mailed code.
    pub const OTP: &str = "otp";
    /// Proof of a device-bound key (a passkey that cannot leave its authenticator).
    pub const HARDWARE_KEY: &str = "hwk";
    /// Proof of a key that may be synced between devices (a backed-up passkey).
    pub const SOFTWARE_KEY: &str = "swk";
    /// The authenticator verified the member (biometrics or a PIN).
    pub const USER: &str = "user";
    /// Factors of more than one kind.
    pub const MULTI_FACTOR: &str = "mfa";
}

/// The `acr` of a login with a second factor (Keycloak's level-of-assurance numbering).
pub const ACR_TWO_FACTORS: &str = "2";
/// The `acr` of a login with one factor.
pub const ACR_ONE_FACTOR: &str = "1";

/// The kind of factor an `amr` value proves: something known, held, or about the member.
fn kind_of(value: &str) -> Option<u8> {
    match value {
        amr::PASSWORD => Some(0),
        amr::OTP | amr::HARDWARE_KEY | amr::SOFTWARE_KEY => Some(1),
        amr::USER => Some(2),
        _ => None,
    }
}

/// Adds what a passed factor proved to `amr`, and `mfa` once factors of two kinds are in.
pub fn record(amr: &mut Vec<String>, proved: &[&str]) {
    for value in proved {
        if !amr.iter().any(|v| v == value) {
            amr.push((*value).to_owned());
        }
    }
    let mut kinds: Vec<u8> = amr.iter().filter_map(|v| kind_of(v)).collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.len() >= 2 && !amr.iter().any(|v| v == amr::MULTI_FACTOR) {
        amr.push(amr::MULTI_FACTOR.to_owned());
    }
}

/// Whether a login proved factors of two kinds.
pub fn has_two_factors(amr: &[String]) -> bool {
    amr.iter().any(|v| v == amr::MULTI_FACTOR)
}

/// The ID token's `acr` for a login that proved `amr`.
pub fn acr(amr: &[String]) -> &'static str {
    if has_two_factors(amr) { ACR_TWO_FACTORS } else { ACR_ONE_FACTOR }
}

/// Which second factors a member has registered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Registered {
    pub apps: bool,
    pub passkeys: bool,
}

impl Registered {
    pub async fn of(ctx: &Ctx<'_>, user: &User) -> Result<Self, FlowError> {
        let kinds: Vec<CredentialType> =
            ctx.db.credentials_of(&user.id).await?.into_iter().map(|c| c.kind).collect();
        Ok(Self {
            apps: kinds.contains(&CredentialType::Otp),
            passkeys: kinds
                .iter()
                .any(|k| matches!(k, CredentialType::Webauthn | CredentialType::WebauthnPasswordless)),
        })
    }
}

/// The factor a login of `user` must pass after the password: the member's method, when they
/// have what it needs. Without it the method's setup is owed instead (see
/// `required_actions::pending`), and a member who chose no method has no second factor.
pub fn owed(user: &User, registered: Registered) -> Option<AuthMethod> {
    match user.auth_method? {
        AuthMethod::Otp if registered.apps => Some(AuthMethod::Otp),
        AuthMethod::Webauthn if registered.passkeys => Some(AuthMethod::Webauthn),
        AuthMethod::EmailOtp if user.email.is_some() && user.email_verified => Some(AuthMethod::EmailOtp),
        _ => None,
    }
}

/// Whether an authorization request's `acr_values` ask for two factors: `2` is listed and `1`
/// is not (the values are the client's acceptable levels in order of preference, so `1 2`
/// still accepts one factor).
pub fn demands_two_factors(acr_values: &[String]) -> bool {
    let listed = |level: &str| acr_values.iter().any(|v| v == level);
    listed(ACR_TWO_FACTORS) && !listed(ACR_ONE_FACTOR)
}

/// A client demanded two factors of a member who has chosen no method yet: the realm's first
/// method that needs nothing registered in advance becomes theirs (the authenticator app where
/// allowed), so its setup is owed in this very login and the code ends with `acr` 2.
pub async fn adopt_a_method(ctx: &Ctx<'_>, user: &mut User) -> Result<(), FlowError> {
    if user.auth_method.is_some() {
        return Ok(());
    }
    let allowed = offered(ctx);
    let preferred = [AuthMethod::Otp, AuthMethod::EmailOtp, AuthMethod::Webauthn];
    if let Some(method) = preferred.into_iter().find(|m| allowed.contains(m)) {
        user.auth_method = Some(method);
        ctx.db.save_member(user).await?;
    }
    Ok(())
}

/// The methods a member may choose here: the realm's, without 生体認証 where passkeys cannot
/// work (the IdP reached by an IP address, as in development; see [`passkey::available`]).
pub fn offered(ctx: &Ctx<'_>) -> Vec<AuthMethod> {
    let passkeys = passkey::available(ctx);
    let methods = ctx.realm.settings.auth_methods.iter().copied();
    methods.filter(|m| *m != AuthMethod::Webauthn || passkeys).collect()
}

/// The factor still due in a login that has proved `amr` so far. A passkey is never due where
/// passkeys cannot work: the login would be stuck on a page no browser can answer.
pub async fn due(ctx: &Ctx<'_>, user: &User, amr: &[String]) -> Result<Option<AuthMethod>, FlowError> {
    if has_two_factors(amr) {
        return Ok(None);
    }
    let factor = owed(user, Registered::of(ctx, user).await?);
    Ok(factor.filter(|f| *f != AuthMethod::Webauthn || passkey::available(ctx)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(steps: &[&[&str]]) -> Vec<String> {
        let mut amr = Vec::new();
        for proved in steps {
            record(&mut amr, proved);
        }
        amr
    }

    #[test]
    fn a_password_alone_is_one_factor() {
        let amr = recorded(&[&[amr::PASSWORD]]);
        assert_eq!(amr, ["pwd"]);
        assert_eq!(acr(&amr), "1");
    }

    #[test]
    fn a_password_and_an_app_code_are_two() {
        let amr = recorded(&[&[amr::PASSWORD], &[amr::OTP]]);
        assert_eq!(amr, ["pwd", "otp", "mfa"]);
        assert_eq!(acr(&amr), "2");
    }

    #[test]
    fn a_user_verifying_passkey_alone_is_two() {
        let amr = recorded(&[&[amr::HARDWARE_KEY, amr::USER]]);
        assert_eq!(amr, ["hwk", "user", "mfa"]);
        assert!(has_two_factors(&amr));
    }

    #[test]
    fn only_a_list_without_one_factor_demands_two() {
        let values = |raw: &str| raw.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert!(demands_two_factors(&values("2")));
        assert!(demands_two_factors(&values("urn:other 2")));
        assert!(!demands_two_factors(&values("1 2")));
        assert!(!demands_two_factors(&values("2 1")));
        assert!(!demands_two_factors(&[]));
    }

    #[test]
    fn the_same_factor_twice_is_still_one() {
        let amr = recorded(&[&[amr::OTP], &[amr::OTP]]);
        assert_eq!(amr, ["otp"]);
        assert_eq!(acr(&amr), "1");
    }
}
