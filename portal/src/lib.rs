//! kenpo-portal: the member portal of a health insurance society (kenpo), an OpenID Connect
//! relying party that trusts only kenpo-idp's ID tokens.

pub mod app;
pub mod checkup;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod faq;
pub mod flows;
pub mod http;
pub mod i18n;
pub mod import;
pub mod mail;
pub mod oidc;
pub mod session;
pub mod store;
pub mod templates;
pub mod tenant;

pub use app::{App, AppState, StartError};
pub use config::Config;
