//! The realm key ring: one active signing key plus previous public keys.
//!
//! Rotation is two steps so that no valid token stops verifying early:
//! [`KeyRing::rotate`] starts signing with a new key while the old one stays
//! in the JWKS; once the longest-lived token signed with the old key has
//! expired, [`KeyRing::retire`] drops it. Relying parties cache JWKS, so a
//! new key is best published for a while *before* it signs anything: put its
//! public JWK among the previous keys (it is then listed), and `rotate` to it
//! later; rotation takes it out of the previous keys so it is never listed
//! twice.
//!
//! This type guarantees the invariants: the active key is listed first, and
//! no kid appears twice in [`KeyRing::jwks`].

use super::{Jwk, JwkSet, SigningKey};

/// A realm's keys: the active signing key and the public keys of earlier
/// ones that tokens may still be signed with.
#[derive(Clone, Debug)]
pub struct KeyRing {
    active: SigningKey,
    previous: Vec<Jwk>,
}

impl KeyRing {
    /// A ring with `active` signing and `previous` still verifying. Previous
    /// keys without a kid get their thumbprint; duplicates (and a copy of the
    /// active key) are dropped so the JWKS never lists a kid twice.
    #[must_use]
    pub fn new(active: SigningKey, previous: Vec<Jwk>) -> Self {
        let mut ring = Self { active, previous: Vec::with_capacity(previous.len()) };
        for mut jwk in previous {
            if jwk.kid.is_none() {
                jwk.kid = jwk.thumbprint().ok();
            }
            ring.push_previous(jwk);
        }
        ring
    }

    /// The key new tokens are signed with.
    #[must_use]
    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// Public keys of earlier active keys, most recent first.
    #[must_use]
    pub fn previous(&self) -> &[Jwk] {
        &self.previous
    }

    /// The published key set: the active key first, then previous keys.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        let mut keys = Vec::with_capacity(1 + self.previous.len());
        keys.push(self.active.public_jwk());
        keys.extend(self.previous.iter().cloned());
        JwkSet { keys }
    }

    /// Makes `new_active` the signing key; the old active key's public JWK
    /// becomes the most recent previous key, so tokens it signed still verify.
    pub fn rotate(&mut self, new_active: SigningKey) {
        let old = std::mem::replace(&mut self.active, new_active);
        let kid = self.active.kid().to_owned();
        self.previous.retain(|jwk| jwk.kid.as_deref() != Some(kid.as_str()));
        if old.kid() != kid {
            self.previous.insert(0, old.public_jwk());
        }
    }

    /// Removes a previous key: tokens signed with it stop verifying. The
    /// active key cannot be retired (rotate first). Returns whether a key was
    /// removed.
    pub fn retire(&mut self, kid: &str) -> bool {
        let before = self.previous.len();
        self.previous.retain(|jwk| jwk.kid.as_deref() != Some(kid));
        self.previous.len() != before
    }

    fn push_previous(&mut self, jwk: Jwk) {
        let duplicate = jwk.kid.as_deref().is_some_and(|kid| {
            kid == self.active.kid() || self.previous.iter().any(|p| p.kid.as_deref() == Some(kid))
        });
        if !duplicate {
            self.previous.push(jwk);
        }
    }
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]
    use super::*;
    use crate::jws::{self, JwsError};
    use crate::keys::Algorithm;
    use std::collections::HashSet;

    fn kids(set: &JwkSet) -> Vec<String> {
        set.keys.iter().map(|k| k.kid.clone().unwrap()).collect()
    }

    fn assert_unique(set: &JwkSet) {
        let all = kids(set);
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), unique.len(), "{all:?}");
    }

    #[test]
    fn rotate_keeps_old_tokens_valid_until_retired() {
        let a = SigningKey::generate(Algorithm::ES256).unwrap();
        let b = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let allowed = [Algorithm::ES256, Algorithm::EdDSA];
        let mut ring = KeyRing::new(a.clone(), Vec::new());
        let token_a = jws::sign(ring.active(), Some("JWT"), b"{}");
        assert!(jws::verify(&token_a, &ring.jwks(), &allowed).is_ok());

        ring.rotate(b.clone());
        assert_eq!(ring.active().kid(), b.kid());
        assert_eq!(kids(&ring.jwks()), vec![b.kid().to_owned(), a.kid().to_owned()]);
        assert!(jws::verify(&token_a, &ring.jwks(), &allowed).is_ok());
        let token_b = jws::sign(ring.active(), Some("JWT"), b"{}");
        assert!(jws::verify(&token_b, &ring.jwks(), &allowed).is_ok());

        assert!(ring.retire(a.kid()));
        assert!(!ring.retire(a.kid()));
        assert_eq!(
            jws::verify(&token_a, &ring.jwks(), &allowed),
            Err(JwsError::UnknownKid(a.kid().to_owned()))
        );
        assert!(jws::verify(&token_b, &ring.jwks(), &allowed).is_ok());
    }

    #[test]
    fn the_active_key_cannot_be_retired() {
        let a = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut ring = KeyRing::new(a.clone(), Vec::new());
        assert!(!ring.retire(a.kid()));
        assert_eq!(kids(&ring.jwks()), vec![a.kid().to_owned()]);
    }

    #[test]
    fn jwks_never_lists_a_kid_twice() {
        let a = SigningKey::generate(Algorithm::ES256).unwrap();
        let b = SigningKey::generate(Algorithm::ES256).unwrap();
        let c = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let mut b_without_kid = b.public_jwk();
        b_without_kid.kid = None;
        let mut ring = KeyRing::new(
            a.clone(),
            vec![a.public_jwk(), b.public_jwk(), b.public_jwk(), b_without_kid, c.public_jwk()],
        );
        assert_unique(&ring.jwks());
        assert_eq!(kids(&ring.jwks()), vec![a.kid().to_owned(), b.kid().to_owned(), c.kid().to_owned()]);

        // Rotating to the key that is already active changes nothing.
        ring.rotate(a.clone());
        assert_unique(&ring.jwks());
        assert_eq!(ring.jwks().keys.len(), 3);

        // Rotating back to a previous key moves it to the front, once.
        ring.rotate(c.clone());
        assert_unique(&ring.jwks());
        assert_eq!(kids(&ring.jwks()), vec![c.kid().to_owned(), a.kid().to_owned(), b.kid().to_owned()]);
        assert_eq!(ring.previous().len(), 2);
    }

    #[test]
    fn previous_keys_without_kid_get_their_thumbprint() {
        let a = SigningKey::generate(Algorithm::ES256).unwrap();
        let b = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut jwk = b.public_jwk();
        jwk.kid = None;
        let ring = KeyRing::new(a, vec![jwk]);
        assert_eq!(ring.previous()[0].kid.as_deref(), Some(b.kid()));
    }
}
