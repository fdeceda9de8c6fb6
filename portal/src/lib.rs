//! kenpo-portal: the member portal of a health insurance society (kenpo), an OpenID Connect
//! relying party that trusts only kenpo-idp's ID tokens.

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod i18n;
pub mod import;
pub mod store;
pub mod templates;

pub use app::{App, AppState, StartError};
pub use config::Config;
