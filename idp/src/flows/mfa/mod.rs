//! Second factors, one file each (manual 2-3, 2-4): authenticator apps and passkeys now; mailed
//! codes next.

pub mod passkey;
pub mod totp;
