//! The realm's settings and clients from a Keycloak export, where they have an equivalent here.

use super::Report;
use crate::domain::{OtpAlgorithm, PasswordPolicy};
use crate::flows::FlowError;
use crate::flows::clients::{self, ClientSpec};
use crate::import::keycloak::{ClientExport, RealmExport};
use crate::store::{GrantType, NewClient, RealmSettings};
use secrecy::SecretString;
use shared_crypto::MasterKey;
use shared_crypto::keys::Algorithm;
use std::fmt::Display;

/// `current` with what the export sets; each setting taken over is listed in the report, each
/// one with no equivalent is skipped with the reason.
pub fn settings(export: &RealmExport, current: &RealmSettings, report: &mut Report) -> RealmSettings {
    let mut s = current.clone();
    let mut take = |name: &str, value: &dyn Display| report.settings.push(format!("{name} = {value}"));
    let positive = |v: Option<u32>| v.filter(|v| *v > 0);
    if let Some(v) = positive(export.access_token_lifespan) {
        s.access_token_seconds = v;
        take("accessTokenLifespan", &v);
    }
    if let Some(v) = positive(export.sso_session_idle_timeout) {
        s.sso_session_idle_seconds = v;
        take("ssoSessionIdleTimeout", &v);
    }
    if let Some(v) = positive(export.sso_session_max_lifespan) {
        s.sso_session_max_seconds = v;
        take("ssoSessionMaxLifespan", &v);
    }
    if let Some(v) = positive(export.sso_session_idle_timeout_remember_me) {
        s.remember_me_idle_seconds = v;
        take("ssoSessionIdleTimeoutRememberMe", &v);
    }
    if let Some(v) = positive(export.sso_session_max_lifespan_remember_me) {
        s.remember_me_max_seconds = v;
        take("ssoSessionMaxLifespanRememberMe", &v);
    }
    let brute = &mut s.brute_force;
    let numbers = [
        ("failureFactor", export.failure_factor, &mut brute.failure_factor),
        ("waitIncrementSeconds", export.wait_increment_seconds, &mut brute.wait_increment_seconds),
        ("maxFailureWaitSeconds", export.max_failure_wait_seconds, &mut brute.max_failure_wait_seconds),
        ("maxDeltaTimeSeconds", export.max_delta_time_seconds, &mut brute.max_delta_time_seconds),
        (
            "quickLoginCheckMilliSeconds",
            export.quick_login_check_milli_seconds,
            &mut brute.quick_login_check_milliseconds,
        ),
        (
            "minimumQuickLoginWaitSeconds",
            export.minimum_quick_login_wait_seconds,
            &mut brute.minimum_quick_login_wait_seconds,
        ),
    ];
    for (name, value, slot) in numbers {
        if let Some(v) = value {
            *slot = v;
            take(name, &v);
        }
    }
    if let Some(on) = export.brute_force_protected {
        brute.enabled = on;
        take("bruteForceProtected", &on);
    }
    // Keycloak: permanentLockout locks for good after maxTemporaryLockouts temporary ones (at
    // once when that is 0). Here: after max_temporary_lockouts, 0 meaning never.
    match (export.permanent_lockout, export.max_temporary_lockouts.unwrap_or(0)) {
        (Some(false), _) => {
            brute.max_temporary_lockouts = 0;
            take("permanentLockout", &false);
        }
        (Some(true), n) if n > 0 => {
            brute.max_temporary_lockouts = n;
            take("permanentLockout", &format!("true after {n} temporary lockouts"));
        }
        (Some(true), _) => report.skip(
            "setting permanentLockout",
            format!(
                "a permanent lock at the first lockout has no equivalent; kept ours: permanent after {} \
                 temporary lockouts",
                brute.max_temporary_lockouts
            ),
        ),
        (None, _) => {}
    }
    otp_policy(export, &mut s, report);
    if let Some(policy) = export.password_policy.as_deref() {
        s.password_policy = password_policy(policy, s.password_policy, report);
    }
    match export.default_locale.as_deref() {
        Some(locale @ ("ja" | "en")) => {
            s.default_locale = locale.to_owned();
            report.settings.push(format!("defaultLocale = {locale}"));
        }
        Some(other) => report.skip("setting defaultLocale", format!("{other:?}: pages here are in ja or en")),
        None => {}
    }
    s
}

fn otp_policy(export: &RealmExport, s: &mut RealmSettings, report: &mut Report) {
    if let Some(kind) = export.otp_policy_type.as_deref().filter(|t| *t != "totp") {
        report.skip("setting otpPolicyType", format!("{kind:?}: only time-based codes (totp) here"));
    }
    match export.otp_policy_algorithm.as_deref() {
        Some("HmacSHA1") => set_algorithm(s, report, OtpAlgorithm::Sha1, "HmacSHA1"),
        Some("HmacSHA256") => set_algorithm(s, report, OtpAlgorithm::Sha256, "HmacSHA256"),
        Some("HmacSHA512") => set_algorithm(s, report, OtpAlgorithm::Sha512, "HmacSHA512"),
        Some(other) => report.skip("setting otpPolicyAlgorithm", format!("{other:?} is not supported")),
        None => {}
    }
    match export.otp_policy_digits {
        Some(d @ (6 | 8)) => {
            s.otp_policy.digits = d;
            report.settings.push(format!("otpPolicyDigits = {d}"));
        }
        Some(d) => report.skip("setting otpPolicyDigits", format!("{d}: codes here have 6 or 8 digits")),
        None => {}
    }
    match export.otp_policy_period {
        Some(p @ 1..=300) => {
            s.otp_policy.period = p;
            report.settings.push(format!("otpPolicyPeriod = {p}"));
        }
        Some(p) => report.skip("setting otpPolicyPeriod", format!("{p}: a code lasts 1–300 s here")),
        None => {}
    }
    if let Some(window) = export.otp_policy_look_ahead_window {
        s.otp_policy.look_around = window;
        report.settings.push(format!("otpPolicyLookAheadWindow = {window}"));
    }
}

fn set_algorithm(s: &mut RealmSettings, report: &mut Report, algorithm: OtpAlgorithm, name: &str) {
    s.otp_policy.algorithm = algorithm;
    report.settings.push(format!("otpPolicyAlgorithm = {name}"));
}

/// Keycloak's policy string (`length(8) and maxLength(64) and digits(1)`): its lengths, within
/// the manual's 8–64; every other rule is skipped, since ours is the manual's character set.
fn password_policy(raw: &str, mut policy: PasswordPolicy, report: &mut Report) -> PasswordPolicy {
    for rule in raw.split(" and ").map(str::trim).filter(|r| !r.is_empty()) {
        let (name, argument) = rule.split_once('(').map_or((rule, ""), |(n, a)| (n, a.trim_end_matches(')')));
        let length = argument.trim().parse::<usize>().ok();
        match (name, length) {
            ("length", Some(n)) => policy.min_length = n,
            ("maxLength", Some(n)) => policy.max_length = n,
            _ => {
                report.skip(
                    format!("password policy {rule}"),
                    "no equivalent: passwords here are 8–64 letters, digits and the manual's symbols",
                );
                continue;
            }
        }
        let (min, max) = policy.bounds();
        report.settings.push(format!("passwordPolicy {rule} (in effect: {min}–{max} characters)"));
    }
    policy
}

/// One Keycloak client as ours, or `None` with the reason in the report. A confidential client
/// keeps its secret (stored as its keyed hash), so the relying party needs no change. What
/// every client must be here is checked where the CLI's and the admin API's are
/// (`flows::clients::prepare`); this adds what only an export can get wrong.
pub fn client(
    export: &RealmExport,
    client: &ClientExport,
    master: &MasterKey,
    report: &mut Report,
) -> Option<NewClient> {
    let what = format!("client {}", client.client_id);
    match checked_client(export, client, master, report) {
        Ok(new) => Some(new),
        Err(why) => {
            report.skip(what, why);
            None
        }
    }
}

fn checked_client(
    export: &RealmExport,
    client: &ClientExport,
    master: &MasterKey,
    report: &mut Report,
) -> Result<NewClient, String> {
    if client.is_built_in() {
        return Err("built-in Keycloak client".to_owned());
    }
    if client.protocol.as_deref().is_some_and(|p| p != "openid-connect") {
        return Err(format!(
            "protocol {:?}: only OpenID Connect here",
            client.protocol.as_deref().unwrap_or("")
        ));
    }
    if client.enabled == Some(false) {
        return Err("disabled in Keycloak".to_owned());
    }
    if client.bearer_only {
        return Err("bearer-only: a resource server, not a client of the login".to_owned());
    }
    let what = format!("client {}", client.client_id);
    let confidential = !client.public_client;
    let mut grant_types = Vec::new();
    if client.standard_flow_enabled.unwrap_or(true) {
        grant_types.extend([GrantType::AuthorizationCode, GrantType::RefreshToken]);
    }
    if client.service_accounts_enabled && confidential {
        grant_types.push(GrantType::ClientCredentials);
    }
    if client.implicit_flow_enabled {
        report
            .skip(format!("{what} implicitFlowEnabled"), "the implicit flow does not exist here (RFC 9700)");
    }
    if client.direct_access_grants_enabled {
        report.skip(
            format!("{what} directAccessGrantsEnabled"),
            "the password grant does not exist here (RFC 9700); the client uses the login pages",
        );
    }
    if grant_types.is_empty() {
        return Err(
            "no flow we support (standard flow, or service accounts of a confidential client)".to_owned()
        );
    }
    // Keycloak's `*` (any suffix), `+` and relative URIs would be taken literally here.
    let uri = |raw: &str| {
        if raw.contains('*') || raw.starts_with('/') || raw == "+" {
            Err(format!(
                "URI {raw:?}: a pattern, not a URI (Keycloak's wildcards and relative URIs have no equivalent; list each URI)"
            ))
        } else {
            Ok(raw.to_owned())
        }
    };
    let redirect_uris = client.redirect_uris.iter().map(|u| uri(u)).collect::<Result<Vec<_>, _>>()?;
    let post_logout_redirect_uris = match client.attribute("post.logout.redirect.uris") {
        // `+` is Keycloak's "the same as the redirect URIs".
        Some("+") => redirect_uris.clone(),
        Some(list) => list
            .split("##")
            .filter(|u| !u.trim().is_empty())
            .map(|u| uri(u.trim()))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let backchannel_logout_uri =
        client.attribute("backchannel.logout.url").map(|u| uri(u.trim())).transpose()?;
    let secret = match (confidential, client.secret.as_deref().map(str::trim)) {
        (false, _) => None,
        (true, None | Some("")) => {
            return Err("a confidential client without its secret in the export".to_owned());
        }
        (true, Some(masked)) if masked.chars().all(|c| c == '*') => {
            return Err("its secret is masked (an admin-console export); export with kc.sh export".to_owned());
        }
        (true, Some(secret)) => Some(SecretString::from(secret.to_owned())),
    };
    // The client's algorithm, else the realm's default, else Keycloak's (RS256): the relying
    // party keeps verifying what it verified.
    let alg_name = client
        .attribute("id.token.signed.response.alg")
        .or(export.default_signature_algorithm.as_deref())
        .unwrap_or("RS256");
    let id_token_signing_alg = alg_name
        .parse::<Algorithm>()
        .map_err(|_| format!("ID token algorithm {alg_name:?}: only ES256, RS256 and EdDSA here"))?;
    let spec = ClientSpec {
        client_id: client.client_id.clone(),
        name: client.name.clone().filter(|n| !n.trim().is_empty() && !n.starts_with("${")),
        confidential,
        secret,
        redirect_uris,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        grant_types,
        pkce_required: client.attribute("pkce.code.challenge.method") == Some("S256"),
        signing_alg: id_token_signing_alg,
        jwks: None,
        rotate_refresh_tokens: true,
        audiences: client
            .protocol_mappers
            .iter()
            .filter_map(|m| m.access_token_audience().map(str::to_owned))
            .collect(),
    };
    match clients::prepare(master, spec) {
        Ok((new, _)) => Ok(new),
        Err(FlowError::Invalid { field, reason }) => Err(format!("{field}: {reason}")),
        Err(e) => Err(e.to_string()),
    }
}
