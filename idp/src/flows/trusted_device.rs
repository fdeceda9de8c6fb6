//! The trusted-device cookie: how a member's own phone or PC keeps logging in while someone who
//! only knows their user ID has locked it.
//!
//! After a successful password login the browser gets `KENPO_DEVICE` = `<device id>.<tag>…`: a
//! random device id, then for each member who logged in on it (a family may share a PC; at most
//! [`MAX_MEMBERS`], the latest first) `HMAC(k, realm id, user id, device id)` with `k` derived
//! from the master key. A valid tag gives the member's failures on that browser a record of their
//! own (see [`super::lockout`]); anything else, a missing, forged or another member's tag,
//! counts on the shared record of untrusted browsers. The cookie proves nothing else: it never
//! logs anyone in.

use shared_crypto::{MasterKey, SecretHasher, random};

pub const COOKIE: &str = "KENPO_DEVICE";
/// How long a browser stays trusted without a login; each login renews it.
pub const LIFETIME: time::Duration = time::Duration::days(365);
/// Members remembered per browser.
pub const MAX_MEMBERS: usize = 5;
const PURPOSE: &str = "trusted-device/v1";
/// The device id: 16 random bytes, base64url.
const DEVICE_ID_LEN: usize = 22;
/// `SecretHasher`'s stored form is this prefix and the tag.
const SCHEME: &str = "hmac-sha256:";

/// The parts of a cookie value, if it is well formed.
fn parse(raw: &str) -> Option<(&str, Vec<&str>)> {
    let mut parts = raw.split('.');
    let device = parts.next().filter(|d| d.len() == DEVICE_ID_LEN && d.bytes().all(is_base64url))?;
    let tags = parts.filter(|t| !t.is_empty() && t.bytes().all(is_base64url)).take(MAX_MEMBERS).collect();
    Some((device, tags))
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn hasher(master: &MasterKey) -> SecretHasher {
    SecretHasher::from_key(master.derive(PURPOSE))
}

/// What a tag signs. Ids are UUIDs and base64url, so a newline cannot occur inside one.
fn message(realm_id: &str, user_id: &str, device: &str) -> String {
    format!("{realm_id}\n{user_id}\n{device}")
}

fn tag(master: &MasterKey, realm_id: &str, user_id: &str, device: &str) -> String {
    let stored = hasher(master).hash(&message(realm_id, user_id, device));
    stored.strip_prefix(SCHEME).map_or_else(|| stored.clone(), str::to_owned)
}

/// The device id `cookie` proves for this member, if it proves one.
pub fn trusted_device(
    master: &MasterKey,
    realm_id: &str,
    user_id: &str,
    cookie: Option<&str>,
) -> Option<String> {
    let (device, tags) = parse(cookie?)?;
    let hasher = hasher(master);
    let signed = message(realm_id, user_id, device);
    // Every tag is checked (in constant time each), whichever matches.
    let valid =
        tags.iter().fold(false, |found, tag| hasher.verify(&signed, &format!("{SCHEME}{tag}")) | found);
    valid.then(|| device.to_owned())
}

/// The cookie value after this member logged in: the browser's device id (a new one if it had
/// none), this member's tag first, then the other members' tags it held.
pub fn after_login(master: &MasterKey, realm_id: &str, user_id: &str, cookie: Option<&str>) -> String {
    let (device, others) = match cookie.and_then(parse) {
        Some((device, tags)) => (device.to_owned(), tags),
        None => (random::token_with_bytes(16), Vec::new()),
    };
    let own = tag(master, realm_id, user_id, &device);
    let mut value = format!("{device}.{own}");
    for other in others.into_iter().filter(|t| *t != own).take(MAX_MEMBERS - 1) {
        value.push('.');
        value.push_str(other);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    const REALM: &str = "0b5c4f0e-realm";
    const TARO: &str = "1f0c-taro";
    const HANAKO: &str = "2a9d-hanako";

    fn master() -> MasterKey {
        MasterKey::generate()
    }

    #[test]
    fn a_new_browser_gets_a_device_that_proves_only_its_member() {
        let master = master();

        let value = after_login(&master, REALM, TARO, None);

        let device = trusted_device(&master, REALM, TARO, Some(&value));
        assert_eq!(device.as_deref().map(str::len), Some(DEVICE_ID_LEN));
        assert!(value.starts_with(&format!("{}.", device.unwrap_or_default())));
        assert_eq!(trusted_device(&master, REALM, HANAKO, Some(&value)), None);
        assert_eq!(trusted_device(&master, "another-realm", TARO, Some(&value)), None);
        assert_eq!(trusted_device(&MasterKey::generate(), REALM, TARO, Some(&value)), None);
    }

    #[test]
    fn a_shared_browser_keeps_one_device_id_for_each_member() {
        let master = master();
        let taro = after_login(&master, REALM, TARO, None);

        let both = after_login(&master, REALM, HANAKO, Some(&taro));

        let device = trusted_device(&master, REALM, TARO, Some(&both));
        assert!(device.is_some());
        assert_eq!(trusted_device(&master, REALM, HANAKO, Some(&both)), device);
        // Logging in again does not grow the cookie.
        assert_eq!(after_login(&master, REALM, HANAKO, Some(&both)), both);
    }

    #[test]
    fn a_browser_remembers_at_most_five_members_latest_first() {
        let master = master();
        let mut value = after_login(&master, REALM, "member-0", None);
        for n in 1..=MAX_MEMBERS {
            value = after_login(&master, REALM, &format!("member-{n}"), Some(&value));
        }

        assert_eq!(value.split('.').count(), 1 + MAX_MEMBERS);
        assert!(trusted_device(&master, REALM, "member-0", Some(&value)).is_none(), "the oldest is dropped");
        assert!(trusted_device(&master, REALM, "member-5", Some(&value)).is_some());
    }

    #[test]
    fn forged_and_malformed_values_prove_nothing() {
        let master = master();
        let value = after_login(&master, REALM, TARO, None);
        let (device, tags) = parse(&value).unwrap_or_else(|| panic!("{value}"));
        let flipped = tags[0].replacen(&tags[0][..1], if &tags[0][..1] == "A" { "B" } else { "A" }, 1);

        for forged in [
            format!("{device}.{flipped}"),
            format!("{device}."),
            device.to_owned(),
            format!("{}.{}", random::token_with_bytes(16), tags[0]),
            format!("x{value}"),
            String::new(),
            "..".to_owned(),
        ] {
            assert_eq!(trusted_device(&master, REALM, TARO, Some(&forged)), None, "{forged}");
        }
        assert_eq!(trusted_device(&master, REALM, TARO, None), None);
    }
}
