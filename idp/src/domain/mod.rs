//! Values parsed once at the edge. Flows and stores take these types, never raw strings, so a
//! value that reached them has already passed every rule.

mod email;
mod member;
mod names;
mod redirect_uri;

pub use email::{Email, EmailError};
pub use member::{BirthDate, Relationship, RequiredAction};
pub use names::{ClientId, NameError, RealmName, Username, UsernameError};
pub use redirect_uri::{RedirectUri, RedirectUriError};
