//! Values parsed once at the edge. Flows and stores take these types, never raw strings, so a
//! value that reached them has already passed every rule.

mod admin_role;
mod email;
mod member;
mod names;
mod password;
mod redirect_uri;
pub mod totp;

pub use admin_role::{AdminRole, Principal};
pub use email::{Email, EmailError};
pub use member::{BirthDate, Relationship, RequiredAction};
pub use names::{ClientId, NameError, RealmName, Username, UsernameError};
pub use password::{AuthMethod, PASSWORD_SYMBOLS, PasswordError, PasswordPolicy};
pub use redirect_uri::{RedirectUri, RedirectUriError};
pub use totp::{Enrolment, OtpAlgorithm, OtpPolicy, SEED_BYTES, TotpError, TotpSeed};
