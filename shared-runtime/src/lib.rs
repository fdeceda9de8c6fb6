//! What the IdP and the portal both need and neither owns: layered configuration, the SQL
//! pool over PostgreSQL or SQLite, short-lived state on Redis or in memory, logging, the
//! master key that seals secrets at rest, and the shutdown signal. Kept apart so the two
//! services stay separate binaries with no code of each other's.

pub mod config;
pub mod db;
pub mod ephemeral;
pub mod i18n;
pub mod mail;
pub mod master_key;
pub mod pages;
pub mod shutdown;
#[cfg(feature = "testing")]
pub mod smtp_sink;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
