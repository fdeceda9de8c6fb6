//! OTPメール認証 (2-4-5): six digits mailed to the member's registered address from
//! `no-reply@` (Q19), valid [`VALID`], used once, void after [`MAX_ATTEMPTS`] tries, and sent
//! again by 「再送信」 at most once per [`RESEND_COOLDOWN`] per member. There is nothing to set
//! up or delete (3-7): the factor is the address, and changes with it (3-5).
//!
//! Everything lives in the ephemeral store, keyed by member, so a member has one live code at a
//! time and a new one replaces the old:
//! - the code's record holds a random id, the issue time, the tab it was sent for and an
//!   HMAC of the code under a key derived from the master key (salted with the id): never the
//!   code, and a leaked record cannot even be brute-forced without the master key;
//! - a counter per code id counts tries (incremented before comparing, so concurrent guesses
//!   cannot exceed the limit), and a used-mark per code id, set with `put_if_absent`, makes the
//!   code single-use: of two requests with one code exactly one sets it.
//!
//! A code is bound to the login tab (or other flow instance) it was sent for: a code mailed for
//! one login cannot finish another, which matters when someone else holds the password and
//! starts a login of their own while the member is logging in.
//!
//! Expiry is decided by the flow's clock (`ctx.now`) against the stored issue time; the store's
//! time to live only collects what is dead. The same goes for the resend cooldown.
//!
//! Queuing does not send: the caller wakes the deliverer (`state.mail_outbox.notify_one()`).

use super::super::FlowError;
use super::super::brute_force::Lock;
use super::super::lockout::{self, FailureKey, IdentityCheck};
use super::super::mail::{self, Mail};
use super::super::tokens::Ctx;
use crate::ephemeral::EphemeralStore;
use crate::i18n::Locale;
use crate::store::User;
use serde::{Deserialize, Serialize};
use shared_crypto::{SecretHasher, random};
use std::net::IpAddr;
use time::Duration;

/// How long a mailed code is valid (issue 5: five minutes).
pub const VALID: Duration = Duration::minutes(5);
/// The least time between two codes mailed to one member, the first one on arrival included.
pub const RESEND_COOLDOWN: Duration = Duration::seconds(60);
/// Tries per code, right or wrong; after this many wrong ones the code is void.
pub const MAX_ATTEMPTS: u64 = 5;
/// The length of a code.
pub const DIGITS: usize = 6;

const HMAC_PURPOSE: &str = "email-otp-code/v1";

/// What [`send`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// A new code is queued for the member's address; any earlier code is dead.
    Sent,
    /// A code was mailed less than [`RESEND_COOLDOWN`] ago; nothing was sent, and the code
    /// already mailed is still good. Whole seconds, at least one.
    Cooldown { retry_after: Duration },
    /// The member has no address to mail to; nothing was sent.
    NoAddress,
}

/// What [`check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The right code: it is spent now and the member's lockout record is cleared.
    Passed,
    /// Nothing typed. Not counted anywhere.
    Empty,
    /// A wrong code, counted on the code's tries and on the member's lockout record.
    Wrong,
    /// No live code for this tab: none sent, expired, already used, replaced by a newer one,
    /// or sent for another tab. The member should press 「再送信」.
    Expired,
    /// [`MAX_ATTEMPTS`] tries failed: the code is void even if the right one comes now.
    TooManyAttempts,
    /// The member's lockout record is locked (before this try, or by it).
    Locked(Lock),
}

impl CodeCheck {
    /// The catalogue key of the message the page shows, if any.
    pub fn message(&self) -> Option<&'static str> {
        match self {
            Self::Passed => None,
            Self::Empty => Some("totp.code_empty"),
            Self::Wrong => Some("totp.login_wrong"),
            Self::Expired => Some("email_otp.expired"),
            Self::TooManyAttempts => Some("email_otp.too_many"),
            Self::Locked(_) => Some("login.locked"),
        }
    }
}

/// The live code of a member, as stored: no code, only its keyed hash.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// Random; salts the hash and names the code's tries and used-mark.
    id: String,
    /// Unix seconds.
    issued_at: i64,
    tab: String,
    mac: String,
}

fn code_key(user: &User) -> String {
    format!("email-otp:code:{}", user.id)
}

fn sent_key(user: &User) -> String {
    format!("email-otp:sent:{}", user.id)
}

fn tries_key(user: &User, id: &str) -> String {
    format!("email-otp:tries:{}:{id}", user.id)
}

fn used_key(user: &User, id: &str) -> String {
    format!("email-otp:used:{}:{id}", user.id)
}

/// What the MAC covers: the code with its id, member and tab, so a record moved to another
/// member or tab matches nothing.
fn mac_input(id: &str, user: &User, tab: &str, code: &str) -> String {
    format!("{id}\n{}\n{}\n{tab}\n{code}", user.realm_id, user.id)
}

fn hasher(ctx: &Ctx<'_>) -> SecretHasher {
    SecretHasher::from_key(ctx.master.derive(HMAC_PURPOSE))
}

fn ttl(duration: Duration) -> std::time::Duration {
    std::time::Duration::from_secs(duration.whole_seconds().unsigned_abs())
}

/// A uniformly drawn code of [`DIGITS`] digits from the OS CSPRNG (rejection sampling: 2³² is
/// not a multiple of 10⁶).
fn fresh_code() -> String {
    const SPACE: u32 = 1_000_000;
    const LIMIT: u32 = u32::MAX - (u32::MAX % SPACE) - 1;
    loop {
        let n = u32::from_le_bytes(random::bytes::<4>());
        if n <= LIMIT {
            return format!("{:06}", n % SPACE);
        }
    }
}

/// What the member typed, as ASCII digits: surrounding and inner spaces dropped, full-width
/// digits (a Japanese IME's) read as digits.
fn normalise(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Mails the member a new code for `tab` (the login tab, or whatever flow instance will check
/// it), replacing any earlier one, unless a code went out less than [`RESEND_COOLDOWN`] ago.
/// Call it on arrival at the code page and for 「再送信」 alike: the cooldown covers both.
pub async fn send(ctx: &Ctx<'_>, user: &User, locale: Locale, tab: &str) -> Result<SendOutcome, FlowError> {
    let Some(email) = &user.email else { return Ok(SendOutcome::NoAddress) };
    if let Some(retry_after) = claim_send(ctx, user).await? {
        return Ok(SendOutcome::Cooldown { retry_after });
    }
    let code = fresh_code();
    let id = random::token_with_bytes(16);
    let record = Record {
        mac: hasher(ctx).hash(&mac_input(&id, user, tab, &code)),
        id,
        issued_at: ctx.now.unix_timestamp(),
        tab: tab.to_owned(),
    };
    let value = serde_json::to_vec(&record).map_err(|e| FlowError::invalid("email otp", e))?;
    // Stored before it is mailed: a code stored but not mailed is harmless, the reverse is not.
    let queued = async {
        ctx.ephemeral.put(&code_key(user), &value, ttl(VALID)).await?;
        let minutes = u32::try_from(VALID.whole_minutes()).unwrap_or(u32::MAX);
        let mail = Mail::LoginCode { code: &code, minutes };
        mail::enqueue(ctx.db, ctx.master, ctx.realm, ctx.mail_domain, email, locale, mail, ctx.now).await
    };
    if let Err(e) = queued.await {
        // Nothing went out: let the member try again at once.
        if let Err(release) = ctx.ephemeral.delete(&sent_key(user)).await {
            tracing::warn!(error = %release, "email OTP cooldown not released");
        }
        return Err(e);
    }
    Ok(SendOutcome::Sent)
}

/// Takes the member's send slot: `None` when taken (a send may go ahead), else how long until
/// the next one. The store's mark lives [`RESEND_COOLDOWN`] of real time; one that the flow's
/// clock says is over is taken away and claimed afresh, and of concurrent claimers one wins.
async fn claim_send(ctx: &Ctx<'_>, user: &User) -> Result<Option<Duration>, FlowError> {
    let key = sent_key(user);
    let now = ctx.now.unix_timestamp();
    let stamp = now.to_string();
    let wait = |raw: &[u8]| {
        let sent = std::str::from_utf8(raw).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(now);
        let left = (sent + RESEND_COOLDOWN.whole_seconds() - now).min(RESEND_COOLDOWN.whole_seconds());
        (left > 0).then(|| Duration::seconds(left))
    };
    for _ in 0..2 {
        if ctx.ephemeral.put_if_absent(&key, stamp.as_bytes(), ttl(RESEND_COOLDOWN)).await? {
            return Ok(None);
        }
        if let Some(left) = ctx.ephemeral.get(&key).await?.as_deref().and_then(wait) {
            return Ok(Some(left));
        }
        // Over by the flow's clock: take the old mark away. If a concurrent claimer's fresh
        // mark was taken instead, it goes back and this send waits.
        if let Some(taken) = ctx.ephemeral.take(&key).await?
            && let Some(left) = wait(&taken)
        {
            ctx.ephemeral.put(&key, &taken, ttl(left)).await?;
            return Ok(Some(left));
        }
    }
    Ok(Some(RESEND_COOLDOWN))
}

/// Checks `code` against the member's live code for `tab`, on the member's lockout record for
/// this browser like an app's code: a locked record refuses unchecked, a wrong code counts like
/// a wrong password, a right one clears the record. Every try is counted on the code too, and
/// after [`MAX_ATTEMPTS`] the code is void. The right code passes once, even against concurrent
/// requests with it. Empty input and a missing or expired code are answered without counting.
pub async fn check(
    ctx: &Ctx<'_>,
    user: &User,
    tab: &str,
    code: &str,
    device_cookie: Option<&str>,
    ip: IpAddr,
) -> Result<CodeCheck, FlowError> {
    let code = normalise(code);
    if code.is_empty() {
        return Ok(CodeCheck::Empty);
    }
    let Some(record) = live_record(ctx, user, tab).await? else { return Ok(CodeCheck::Expired) };
    let tries = tries_key(user, &record.id);
    if read_count(ctx.ephemeral.get(&tries).await?) >= MAX_ATTEMPTS {
        return Ok(CodeCheck::TooManyAttempts);
    }
    let mut verdict = CodeCheck::Wrong;
    let key = FailureKey::member(ctx.master, ctx.realm, &user.id, device_cookie);
    let attempt = async {
        let n = ctx.ephemeral.incr(&tries, ttl(VALID)).await?;
        if n > MAX_ATTEMPTS {
            verdict = CodeCheck::TooManyAttempts;
            return Ok(false);
        }
        let right = code.len() == DIGITS
            && code.bytes().all(|b| b.is_ascii_digit())
            && hasher(ctx).verify(&mac_input(&record.id, user, tab, &code), &record.mac);
        if !right {
            verdict = if n == MAX_ATTEMPTS { CodeCheck::TooManyAttempts } else { CodeCheck::Wrong };
            return Ok(false);
        }
        let used = used_key(user, &record.id);
        if !ctx.ephemeral.put_if_absent(&used, b"1", ttl(VALID)).await? {
            verdict = CodeCheck::Expired;
            return Ok(false);
        }
        forget(ctx, user, &record.id).await;
        verdict = CodeCheck::Passed;
        Ok(true)
    };
    let checked =
        lockout::check_identity_with(ctx.db, ctx.ephemeral, ctx.realm, key, ip, ctx.now, attempt).await?;
    Ok(match checked {
        IdentityCheck::Passed => CodeCheck::Passed,
        IdentityCheck::Locked(lock) => CodeCheck::Locked(lock),
        IdentityCheck::Failed => verdict,
    })
}

/// The member's code for `tab`, if it is live by the flow's clock and not used.
async fn live_record(ctx: &Ctx<'_>, user: &User, tab: &str) -> Result<Option<Record>, FlowError> {
    let Some(raw) = ctx.ephemeral.get(&code_key(user)).await? else { return Ok(None) };
    let Ok(record) = serde_json::from_slice::<Record>(&raw) else { return Ok(None) };
    let age = ctx.now.unix_timestamp() - record.issued_at;
    if record.tab != tab || age >= VALID.whole_seconds() {
        return Ok(None);
    }
    if ctx.ephemeral.get(&used_key(user, &record.id)).await?.is_some() {
        return Ok(None);
    }
    Ok(Some(record))
}

/// Drops the spent code `id`, unless a newer one has replaced it meanwhile. Best effort: the
/// used-mark already makes the code worthless.
async fn forget(ctx: &Ctx<'_>, user: &User, id: &str) {
    let key = code_key(user);
    let current = match ctx.ephemeral.get(&key).await {
        Ok(raw) => raw.and_then(|raw| serde_json::from_slice::<Record>(&raw).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "spent email OTP not dropped");
            return;
        }
    };
    if current.is_some_and(|r| r.id == id)
        && let Err(e) = ctx.ephemeral.delete(&key).await
    {
        tracing::warn!(error = %e, "spent email OTP not dropped");
    }
}

fn read_count(raw: Option<Vec<u8>>) -> u64 {
    raw.and_then(|raw| String::from_utf8(raw).ok()?.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200).map(|_| fresh_code()).collect();
        assert!(codes.iter().all(|c| c.len() == DIGITS && c.bytes().all(|b| b.is_ascii_digit())));
        assert!(codes.len() > 190, "{} distinct of 200", codes.len());
    }

    #[test]
    fn typed_codes_lose_spaces_and_full_width_digits_read_as_digits() {
        assert_eq!(normalise(" 042 917 "), "042917");
        assert_eq!(normalise("０４２９１７"), "042917");
        assert_eq!(normalise("\u{3000}１２3４５6\u{3000}"), "123456");
        assert_eq!(normalise("12a456"), "12a456");
    }

    #[test]
    fn every_refusal_has_a_message_in_both_languages() {
        let all = [
            CodeCheck::Empty,
            CodeCheck::Wrong,
            CodeCheck::Expired,
            CodeCheck::TooManyAttempts,
            CodeCheck::Locked(Lock::Permanent),
        ];
        for check in all {
            let key = check.message().unwrap_or_else(|| panic!("{check:?} has no message"));
            for locale in [Locale::Ja, Locale::En] {
                assert!(crate::i18n::catalogue(locale).get(key).is_some(), "{key} in {locale:?}");
            }
        }
        assert_eq!(CodeCheck::Passed.message(), None);
    }
}
