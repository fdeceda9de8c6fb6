//! Second factors, one file each (manual 2-3, 2-4): authenticator apps and mailed codes now;
//! passkeys next.

pub mod email_otp;
pub mod totp;
