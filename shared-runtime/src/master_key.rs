//! The master key that seals secrets at rest (the IdP's signing keys and TOTP seeds, the
//! portal's client secrets of other kenpos).
//!
//! Given in configuration in production. In the embedded mode it is generated once into a file
//! in the data directory, readable by the owner only: a single machine keeps its own key beside
//! its own database. With PostgreSQL several replicas share the data, so a key made up by one of
//! them would lock the others out; there the key must be configured.

use secrecy::{ExposeSecret, SecretString};
use shared_crypto::MasterKey;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("{setting} is not a base64 32-byte key: {source}")]
    Invalid { setting: &'static str, source: shared_crypto::CryptoError },
    #[error("{path} does not hold a base64 32-byte key: {source}")]
    BadFile { path: String, source: shared_crypto::CryptoError },
    #[error("{setting} must be set when the database is not the embedded SQLite")]
    Missing { setting: &'static str },
    #[error("{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")]
    Exposed { path: String, mode: u32 },
    #[error("cannot use {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Where a service's key comes from.
#[derive(Debug, Clone, Copy)]
pub struct KeySource<'a> {
    /// The configured key (base64), if any: it always wins.
    pub configured: Option<&'a SecretString>,
    /// The environment variable that configures it, named in errors.
    pub setting: &'static str,
    /// The embedded mode's key file; `None` outside the embedded mode, where a key is required.
    pub embedded_file: Option<&'a Path>,
}

/// The configured key, or the embedded mode's key file (created on first use).
pub fn load(source: KeySource<'_>) -> Result<MasterKey, MasterKeyError> {
    if let Some(key) = source.configured {
        return MasterKey::from_base64(key.expose_secret().trim())
            .map_err(|e| MasterKeyError::Invalid { setting: source.setting, source: e });
    }
    match source.embedded_file {
        Some(path) => load_or_create(path),
        None => Err(MasterKeyError::Missing { setting: source.setting }),
    }
}

fn load_or_create(path: &Path) -> Result<MasterKey, MasterKeyError> {
    let shown = path.display().to_string();
    let io = |source| MasterKeyError::Io { path: shown.clone(), source };
    if let Some(dir) = path.parent() {
        crate::config::create_private_dir(dir).map_err(io)?;
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
        let path = dir.path().join("nested").join("master.key");
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
        let path = dir.path().join("master.key");
        load_or_create(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        assert!(matches!(load_or_create(&path), Err(MasterKeyError::Exposed { mode: 0o644, .. })));
        Ok(())
    }

    #[test]
    fn without_a_key_or_a_key_file_it_is_refused_naming_the_setting() {
        let source = KeySource { configured: None, setting: "KENPO_X_MASTER_KEY", embedded_file: None };
        let refused = load(source).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.starts_with("KENPO_X_MASTER_KEY must be set"), "{refused}");
        let bad = SecretString::from("not base64!");
        let source = KeySource { configured: Some(&bad), ..source };
        assert!(matches!(load(source), Err(MasterKeyError::Invalid { setting: "KENPO_X_MASTER_KEY", .. })));
    }
}
