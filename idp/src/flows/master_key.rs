//! The IdP's master key (signing keys, TOTP seeds): configured, or in the embedded mode
//! `<data_dir>/master.key` (see `shared_runtime::master_key`).

use crate::config::Config;
use shared_crypto::MasterKey;
pub use shared_runtime::master_key::MasterKeyError;
use shared_runtime::master_key::{self, KeySource};

pub const FILE_NAME: &str = "master.key";

pub fn load(config: &Config) -> Result<MasterKey, MasterKeyError> {
    let file = config.data_dir.join(FILE_NAME);
    master_key::load(KeySource {
        configured: config.master_key.as_ref(),
        setting: "KENPO_IDP_MASTER_KEY",
        embedded_file: config.is_embedded().then_some(file.as_path()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_without_a_key_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let config =
            Config::load(None, [("KENPO_IDP_DATABASE_URL".to_owned(), "postgres://db/idp".to_owned())])?;
        assert!(matches!(load(&config), Err(MasterKeyError::Missing { setting: "KENPO_IDP_MASTER_KEY" })));
        Ok(())
    }
}
