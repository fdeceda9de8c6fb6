//! kenpo-idp: an OpenID Connect provider for Japanese health insurance societies (kenpo), one
//! realm per kenpo, on Keycloak's paths and shapes.
//!
//! `main.rs` reads the configuration and calls [`app::App::build`]; [`http`] translates requests
//! into calls to [`flows`], which decide and persist through [`store`] (SQL) and [`ephemeral`]
//! (Redis or memory).

pub mod app;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub use shared_runtime::ephemeral;
pub mod error;
pub mod flows;
pub mod http;
pub mod i18n;
pub mod import;
pub mod mail;
pub mod pages;
pub mod store;

pub use app::{App, AppState, StartError};
pub use config::Config;
