//! Authenticator-app codes (RFC 6238, manual 2-4-1 … 2-4-4): the seed, what the app is shown
//! (the otpauth URI as a QR code, or the base32 key to type), and checking a code with one step
//! of clock drift and no code accepted twice.
//!
//! The policy's fields carry Keycloak's realm attribute names (`otpPolicyDigits`, …), so a
//! realm exported from Keycloak keeps its settings.

use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use totp_rs::{Algorithm, TOTP};

/// Seed length: 160 bits, RFC 4226's recommendation (and what Google Authenticator expects).
pub const SEED_BYTES: usize = 20;

/// The HMAC of the codes. SHA-1 is what every app the manual names supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OtpAlgorithm {
    #[default]
    #[serde(rename = "HmacSHA1")]
    Sha1,
    #[serde(rename = "HmacSHA256")]
    Sha256,
    #[serde(rename = "HmacSHA512")]
    Sha512,
}

/// A realm's TOTP settings, Keycloak's `otpPolicy*` attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OtpPolicy {
    #[serde(rename = "otpPolicyAlgorithm")]
    pub algorithm: OtpAlgorithm,
    /// 6 or 8.
    #[serde(rename = "otpPolicyDigits")]
    pub digits: u8,
    /// Seconds per code.
    #[serde(rename = "otpPolicyPeriod")]
    pub period: u32,
    /// Steps accepted before and after the current one (clock drift).
    #[serde(rename = "otpPolicyLookAheadWindow")]
    pub look_around: u8,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self { algorithm: OtpAlgorithm::Sha1, digits: 6, period: 30, look_around: 1 }
    }
}

/// Why a policy or a seed cannot make codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the OTP policy is invalid: {0}")]
    Policy(String),
    #[error("the QR code could not be drawn: {0}")]
    Qr(String),
}

/// A TOTP seed. Never printed; sealed before it is stored.
pub struct TotpSeed(SecretBox<[u8; SEED_BYTES]>);

impl std::fmt::Debug for TotpSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSeed(<redacted>)")
    }
}

impl TotpSeed {
    pub fn new(bytes: [u8; SEED_BYTES]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    pub fn expose(&self) -> &[u8; SEED_BYTES] {
        self.0.expose_secret()
    }

    /// The key in base32 (RFC 4648, no padding), as the otpauth URI carries it.
    pub fn base32(&self) -> String {
        raw(self, &OtpPolicy::default()).get_secret_base32()
    }

    /// The key as 「スキャンできませんか?」 shows it: lower case (apps accept it so, and it
    /// reads more easily) in groups of four.
    pub fn for_reading(&self) -> String {
        let key = self.base32().to_ascii_lowercase();
        let groups: Vec<&str> =
            key.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        groups.join(" ")
    }
}

/// What the app is given: `otpauth://totp/<issuer>:<user ID>?secret=…&issuer=…`, with the
/// realm's display name as issuer (the manual's label `<realm display name>:<user ID>`).
#[derive(Debug)]
pub struct Enrolment {
    totp: TOTP,
}

impl Enrolment {
    pub fn new(seed: &TotpSeed, policy: &OtpPolicy, issuer: &str, user_id: &str) -> Result<Self, TotpError> {
        // The URI label separates issuer and account with ':'; a full-width colon reads the same.
        let (issuer, account) = (issuer.replace(':', "："), user_id.replace(':', "："));
        let totp = TOTP::new(
            algorithm(policy.algorithm),
            usize::from(policy.digits),
            policy.look_around,
            u64::from(policy.period),
            seed.expose().to_vec(),
            Some(issuer),
            account,
        )
        .map_err(|e| TotpError::Policy(e.to_string()))?;
        Ok(Self { totp })
    }

    pub fn uri(&self) -> String {
        self.totp.get_url()
    }

    /// The URI as a QR code, a PNG image.
    pub fn qr_png(&self) -> Result<Vec<u8>, TotpError> {
        self.totp.get_qr_png().map_err(TotpError::Qr)
    }
}

fn algorithm(algorithm: OtpAlgorithm) -> Algorithm {
    match algorithm {
        OtpAlgorithm::Sha1 => Algorithm::SHA1,
        OtpAlgorithm::Sha256 => Algorithm::SHA256,
        OtpAlgorithm::Sha512 => Algorithm::SHA512,
    }
}

/// The code for the step holding `at` (for tests and for showing a code in a setup example).
pub fn code_at(seed: &TotpSeed, policy: &OtpPolicy, at: OffsetDateTime) -> String {
    let totp = raw(seed, policy);
    totp.generate(u64::try_from(at.unix_timestamp()).unwrap_or(0))
}

fn raw(seed: &TotpSeed, policy: &OtpPolicy) -> TOTP {
    TOTP::new_unchecked(
        algorithm(policy.algorithm),
        usize::from(policy.digits),
        policy.look_around,
        u64::from(policy.period),
        seed.expose().to_vec(),
        None,
        String::new(),
    )
}

/// Checks `code` at `now`: the current step or `look_around` steps either side, and only a step
/// after `last_used`, so no code (nor an older one) is accepted twice. Returns the step that
/// matched, which the caller stores as the new `last_used` (atomically: two requests with the
/// same code must not both succeed).
pub fn verify(
    seed: &TotpSeed,
    policy: &OtpPolicy,
    code: &str,
    now: OffsetDateTime,
    last_used: Option<u64>,
) -> Option<u64> {
    let code = code.trim();
    if code.len() != usize::from(policy.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let period = u64::from(policy.period.max(1));
    let current = u64::try_from(now.unix_timestamp()).unwrap_or(0) / period;
    let window = u64::from(policy.look_around);
    let totp = raw(seed, policy);
    // Every candidate is computed and compared, whichever matches, in constant time.
    let mut matched = None;
    for step in current.saturating_sub(window)..=current.saturating_add(window) {
        let expected = totp.generate(step * period);
        let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if equal && last_used.is_none_or(|used| step > used) {
            matched = Some(step);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// RFC 6238 appendix B's SHA-1 seed: "12345678901234567890".
    fn rfc_seed() -> TotpSeed {
        TotpSeed::new(*b"12345678901234567890")
    }

    fn eight_digits() -> OtpPolicy {
        OtpPolicy { digits: 8, ..OtpPolicy::default() }
    }

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (seconds, expected) in vectors {
            let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(code_at(&rfc_seed(), &eight_digits(), at), expected, "at {seconds}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way_is_accepted_and_two_are_not() {
        let (seed, policy) = (rfc_seed(), OtpPolicy::default());
        let now = datetime!(2026-11-24 09:00:15 UTC);
        let code = |offset: i64| code_at(&seed, &policy, now + time::Duration::seconds(offset));

        assert!(verify(&seed, &policy, &code(0), now, None).is_some());
        assert!(verify(&seed, &policy, &code(-30), now, None).is_some(), "the phone is slow");
        assert!(verify(&seed, &policy, &code(30), now, None).is_some(), "the phone is fast");
        assert_eq!(verify(&seed, &policy, &code(-60), now, None), None);
        assert_eq!(verify(&seed, &policy, &code(60), now, None), None);
    }

    #[test]
    fn a_code_is_never_accepted_twice_nor_an_older_one_after_a_newer() {
        let (seed, policy) = (rfc_seed(), OtpPolicy::default());
        let now = datetime!(2026-11-24 09:00:15 UTC);
        let current = code_at(&seed, &policy, now);
        let previous = code_at(&seed, &policy, now - time::Duration::seconds(30));

        let used = verify(&seed, &policy, &current, now, None);

        assert!(used.is_some());
        assert_eq!(verify(&seed, &policy, &current, now, used), None, "replayed");
        assert_eq!(verify(&seed, &policy, &previous, now, used), None, "older than the last used");
        let next = code_at(&seed, &policy, now + time::Duration::seconds(30));
        assert!(verify(&seed, &policy, &next, now + time::Duration::seconds(30), used).is_some());
    }

    #[test]
    fn malformed_codes_are_refused_without_computing() {
        let (seed, policy) = (rfc_seed(), OtpPolicy::default());
        let now = datetime!(2026-11-24 09:00:15 UTC);
        let code = code_at(&seed, &policy, now);

        assert!(verify(&seed, &policy, &format!(" {code} "), now, None).is_some(), "spaces around");
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(verify(&seed, &policy, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn the_app_gets_the_realm_and_user_id_as_its_label() {
        let seed = rfc_seed();
        let enrolment =
            Enrolment::new(&seed, &OtpPolicy::default(), "デモ健康保険組合加入者ページ", "taro-kenpo01")
                .unwrap_or_else(|e| panic!("{e}"));

        let uri = enrolment.uri();

        let label = "%E3%83%87%E3%83%A2%E5%81%A5%E5%BA%B7%E4%BF%9D%E9%99%BA%E7%B5%84%E5%90%88%E5%8A%A0%E5%85%A5%E8%80%85%E3%83%9A%E3%83%BC%E3%82%B8";
        assert!(uri.starts_with(&format!("otpauth://totp/{label}:taro-kenpo01?")), "{uri}");
        assert!(
            uri.contains(&format!("secret={}", seed.base32())) && uri.contains(&format!("issuer={label}"))
        );
    }

    #[test]
    fn the_qr_code_is_a_png_a_camera_reads_back_as_the_uri() {
        let enrolment = Enrolment::new(
            &rfc_seed(),
            &OtpPolicy::default(),
            "デモ健康保険組合加入者ページ",
            "taro-kenpo01",
        )
        .unwrap_or_else(|e| panic!("{e}"));

        let png = enrolment.qr_png().unwrap_or_else(|e| panic!("{e}"));

        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a real PNG");
        let picture = image::load_from_memory(&png).unwrap_or_else(|e| panic!("{e}")).to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(picture);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        let (_, content) = grids[0].decode().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(content, enrolment.uri());
    }

    #[test]
    fn the_key_reads_in_lower_case_groups_of_four() {
        let seed = rfc_seed();

        assert_eq!(seed.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(seed.for_reading(), "gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
        assert_eq!(format!("{seed:?}"), "TotpSeed(<redacted>)");
    }
}
