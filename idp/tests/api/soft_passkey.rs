//! A software passkey: a P-256 key that answers WebAuthn challenges the way a phone's platform
//! authenticator does ("none" attestation, user present and verified), so the passkey flows'
//! success paths run without a browser. webauthn-authenticator-rs would do this too but pulls
//! in OpenSSL and USB stacks; this is the few bytes WebAuthn §6.1 and §6.5 define.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// One credential on one authenticator. Cloning it clones the authenticator (same key, same
/// counter from then on), as a copied security key would be.
#[derive(Debug, Clone)]
pub struct SoftPasskey {
    key: SigningKey,
    origin: String,
    pub credential_id: Vec<u8>,
    /// The user handle the relying party gave at registration, kept as a resident key's is.
    pub user_handle: Vec<u8>,
    /// The sign counter; `None` for a synced passkey, which always reports 0.
    pub counter: Option<u32>,
    /// Whether the authenticator verifies its user (biometrics, PIN).
    pub verifies_user: bool,
    /// Backup eligible and backed up (a synced passkey).
    pub synced: bool,
}

impl SoftPasskey {
    /// A hardware-like passkey for `origin` (`http://localhost:8080`), its key from `seed`.
    pub fn new(seed: u8, origin: &str) -> Self {
        let key = SigningKey::from_bytes(&[seed.max(1); 32].into()).unwrap_or_else(|e| panic!("key: {e}"));
        Self {
            key,
            origin: origin.to_owned(),
            credential_id: Sha256::digest([seed]).to_vec(),
            user_handle: Vec::new(),
            counter: Some(0),
            verifies_user: true,
            synced: false,
        }
    }

    /// A synced passkey (a phone's, backed up to its cloud): no counter, backup flags set.
    pub fn synced(seed: u8, origin: &str) -> Self {
        Self { counter: None, synced: true, ..Self::new(seed, origin) }
    }

    /// An authenticator that only checks presence (an old security key without a PIN).
    pub fn unverified(seed: u8, origin: &str) -> Self {
        Self { verifies_user: false, ..Self::new(seed, origin) }
    }

    /// The credential id as WebAuthn JSON carries it.
    pub fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    fn rp_id_hash(&self) -> Vec<u8> {
        let host = url::Url::parse(&self.origin).ok().and_then(|u| u.host_str().map(str::to_owned));
        Sha256::digest(host.unwrap_or_default()).to_vec()
    }

    fn flags(&self) -> u8 {
        let verified = if self.verifies_user { UV } else { 0 };
        let synced = if self.synced { BE | BS } else { 0 };
        UP | verified | synced
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        let challenge = options.pointer("/publicKey/challenge").and_then(Value::as_str).unwrap_or_default();
        let data =
            json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false });
        data.to_string().into_bytes()
    }

    /// The public key as a COSE key (RFC 9053 EC2, P-256, ES256): what registration hands the
    /// relying party, and what a Keycloak export keeps as `credentialPublicKey`.
    pub fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().map(|x| x.to_vec()), point.y().map(|y| y.to_vec()));
        Cbor::Map(vec![
            (Cbor::Int(1), Cbor::Int(2)),
            (Cbor::Int(3), Cbor::Int(-7)),
            (Cbor::Int(-1), Cbor::Int(1)),
            (Cbor::Int(-2), Cbor::Bytes(x.unwrap_or_default())),
            (Cbor::Int(-3), Cbor::Bytes(y.unwrap_or_default())),
        ])
        .encode()
    }

    /// The answer of `navigator.credentials.create(options)`, as webauthn.js posts it.
    pub fn register(&mut self, options: &Value) -> String {
        let user_id = options.pointer("/publicKey/user/id").and_then(Value::as_str).unwrap_or_default();
        self.user_handle = URL_SAFE_NO_PAD.decode(user_id).unwrap_or_default();
        let mut auth_data = self.rp_id_hash();
        auth_data.push(self.flags() | AT);
        auth_data.extend(self.counter.unwrap_or(0).to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none given
        auth_data.extend(u16::try_from(self.credential_id.len()).unwrap_or(0).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt"), Cbor::Text("none")),
            (Cbor::Text("attStmt"), Cbor::Map(vec![])),
            (Cbor::Text("authData"), Cbor::Bytes(auth_data)),
        ]);
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation.encode()),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(self.client_data("webauthn.create", options)),
                "transports": ["internal", "hybrid"],
            },
            "extensions": { "credProps": { "rk": true } },
        })
        .to_string()
    }

    /// The answer of `navigator.credentials.get(options)`; the counter moves first, as an
    /// authenticator's does.
    pub fn sign(&mut self, options: &Value) -> String {
        if let Some(counter) = self.counter.as_mut() {
            *counter += 1;
        }
        let client_data = self.client_data("webauthn.get", options);
        let mut auth_data = self.rp_id_hash();
        auth_data.push(self.flags());
        auth_data.extend(self.counter.unwrap_or(0).to_be_bytes());
        let signed = [auth_data.as_slice(), Sha256::digest(&client_data).as_slice()].concat();
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
                "signature": URL_SAFE_NO_PAD.encode(signature.to_der().as_bytes()),
                "userHandle": URL_SAFE_NO_PAD.encode(&self.user_handle),
            },
            "extensions": {},
        })
        .to_string()
    }
}

/// The CBOR (RFC 8949) an authenticator writes: just the types attestation objects use.
enum Cbor {
    Int(i64),
    Bytes(Vec<u8>),
    Text(&'static str),
    Map(Vec<(Cbor, Cbor)>),
}

impl Cbor {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(n) if *n >= 0 => head(0, n.unsigned_abs(), out),
            Self::Int(n) => head(1, (-1 - n).unsigned_abs(), out),
            Self::Bytes(bytes) => {
                head(2, bytes.len() as u64, out);
                out.extend(bytes);
            }
            Self::Text(text) => {
                head(3, text.len() as u64, out);
                out.extend(text.as_bytes());
            }
            Self::Map(pairs) => {
                head(5, pairs.len() as u64, out);
                for (key, value) in pairs {
                    key.write(out);
                    value.write(out);
                }
            }
        }
    }
}

fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend([major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(major | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}
