//! Second factors, one file each (manual 2-3, 2-4): authenticator apps now; passkeys and mailed
//! codes next.

pub mod totp;
