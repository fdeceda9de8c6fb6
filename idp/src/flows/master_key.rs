//! The master key that seals secrets at rest (signing keys, TOTP seeds).
//!
//! Given in configuration in production. In the embedded mode it is generated once into
//! `<data_dir>/master.key`, readable by the owner only: a single machine keeps its own key
//! beside its own database. With PostgreSQL several replicas share the data, so a key made up
//! by one of them would lock the others out; there the key must be configured.

use crate::config::Config;
use secrecy::ExposeSecret;
use shared_crypto::MasterKey;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const FILE_NAME: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("KENPO_IDP_MASTER_KEY is not a base64 32-byte key: {0}")]
    Invalid(shared_crypto::CryptoError),
    #[error("{path} does not hold a base64 32-byte key: {source}")]
    BadFile { path: String, source: shared_crypto::CryptoError },
    #[error("KENPO_IDP_MASTER_KEY must be set when the database is not the embedded SQLite")]
    Missing,
    #[error("{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")]
    Exposed { path: String, mode: u32 },
    #[error("cannot use {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The configured key, or the embedded mode's key file (created on first use).
pub fn load(config: &Config) -> Result<MasterKey, MasterKeyError> {
    if let Some(key) = &config.master_key {
        return MasterKey::from_base64(key.expose_secret().trim()).map_err(MasterKeyError::Invalid);
    }
    if !config.is_embedded() {
        return Err(MasterKeyError::Missing);
    }
    load_or_create(&config.data_dir.join(FILE_NAME))
}

fn load_or_create(path: &Path) -> Result<MasterKey, MasterKeyError> {
    let shown = path.display().to_string();
    let io = |source| MasterKeyError::Io { path: shown.clone(), source };
    if let Some(dir) = path.parent() {
        shared_runtime::config::create_private_dir(dir).map_err(io)?;
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut file) => {
            let key = MasterKey::generate();
            file.write_all(key.to_base64().expose_secret().as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::info!(path = %shown, "generated the master key for the embedded mode");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(MasterKeyError::Exposed { path: shown, mode });
            }
            let text = std::fs::read_to_string(path).map_err(io)?;
            MasterKey::from_base64(text.trim())
                .map_err(|source| MasterKeyError::BadFile { path: shown, source })
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_key_is_created_once_with_owner_only_permissions() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested").join(FILE_NAME);
        let first = load_or_create(&path)?;
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load_or_create(&path)?;
        assert_eq!(first.to_base64().expose_secret(), again.to_base64().expose_secret());
        Ok(())
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(FILE_NAME);
        load_or_create(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        assert!(matches!(load_or_create(&path), Err(MasterKeyError::Exposed { mode: 0o644, .. })));
        Ok(())
    }

    #[test]
    fn production_without_a_key_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let config =
            Config::load(None, [("KENPO_IDP_DATABASE_URL".to_owned(), "postgres://db/idp".to_owned())])?;
        assert!(matches!(load(&config), Err(MasterKeyError::Missing)));
        Ok(())
    }
}
