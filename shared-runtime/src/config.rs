//! Layered settings: built-in defaults, then a TOML file, then `<PREFIX>*` environment
//! variables. Values are kept with where they came from, so every error names its source
//! (`KENPO_IDP_LISTEN: …` or `idp.toml: listen: …`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid TOML: {source}")]
    Toml { path: PathBuf, source: toml::de::Error },
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
}

/// A raw value and where it came from.
#[derive(Debug, Clone)]
pub struct Raw {
    pub value: String,
    pub origin: String,
}

impl Raw {
    pub fn invalid(&self, reason: &str) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.clone(),
            reason: format!("{reason} (got {:?})", self.value),
        }
    }
}

/// The raw layers of one service's settings.
#[derive(Debug)]
pub struct Layers {
    prefix: &'static str,
    values: BTreeMap<String, Raw>,
}

impl Layers {
    /// Reads `file` (if any) then the `prefix`ed variables of `env` (normally
    /// `std::env::vars()`, passed in so tests need not touch the process environment). Only
    /// `known` keys are accepted from the file; empty variables count as unset.
    pub fn load(
        prefix: &'static str,
        known: &[&str],
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut values = BTreeMap::new();
        if let Some(path) = file {
            read_file(path, known, &mut values)?;
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix(prefix) else { continue };
            let key = key.to_ascii_lowercase();
            if known.contains(&key.as_str()) && !value.is_empty() {
                values.insert(key, Raw { value, origin: name });
            }
        }
        Ok(Self { prefix, values })
    }

    /// Takes a raw value out (each setting is read once).
    pub fn take(&mut self, key: &str) -> Option<Raw> {
        self.values.remove(key)
    }

    /// Takes and parses a value, or parses `default`.
    pub fn parse<T>(&mut self, key: &str, default: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.take(key) {
            Some(raw) => raw.value.parse().map_err(|e: T::Err| raw.invalid(&e.to_string())),
            None => default.parse().map_err(|e: T::Err| ConfigError::Invalid {
                origin: format!("built-in default of {}", self.env_name(key)),
                reason: e.to_string(),
            }),
        }
    }

    /// Takes a base URL, validated and without its trailing slash, so paths append with one
    /// `/`. Says whether it was defaulted.
    pub fn base_url(&mut self, key: &str, default: &str) -> Result<(String, bool), ConfigError> {
        let defaulted = !self.values.contains_key(key);
        let url: Url = self.parse(key, default)?;
        Ok((url.as_str().trim_end_matches('/').to_owned(), defaulted))
    }

    /// The `data_dir` setting (default `./data`).
    pub fn data_dir(&mut self) -> PathBuf {
        PathBuf::from(self.take("data_dir").map_or_else(|| "./data".to_owned(), |r| r.value))
    }

    /// The `database_url` setting: PostgreSQL or SQLite, by default the SQLite file `file` in
    /// `data_dir` (the embedded mode).
    pub fn database_url(&mut self, data_dir: &Path, file: &str) -> Result<String, ConfigError> {
        match self.take("database_url") {
            None => Ok(format!("sqlite://{}", data_dir.join(file).display())),
            Some(raw) if crate::db::Backend::from_url(&raw.value).is_none() => {
                Err(raw.invalid("must start with postgres://, postgresql:// or sqlite:"))
            }
            Some(raw) => Ok(raw.value),
        }
    }

    /// The environment variable that sets `key`.
    pub fn env_name(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key.to_ascii_uppercase())
    }
}

fn read_file(path: &Path, known: &[&str], values: &mut BTreeMap<String, Raw>) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    let table: toml::Table =
        text.parse().map_err(|source| ConfigError::Toml { path: path.to_owned(), source })?;
    for (key, value) in table {
        let origin = format!("{}: {key}", path.display());
        if !known.contains(&key.as_str()) {
            return Err(ConfigError::Invalid { origin, reason: "unknown setting".to_owned() });
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Integer(i) => i.to_string(),
            _ => return Err(ConfigError::Invalid { origin, reason: "must be a string".to_owned() }),
        };
        values.insert(key, Raw { value, origin });
    }
    Ok(())
}

/// Creates the embedded mode's data directory readable by its owner only: it holds the SQLite
/// databases (password hashes, sealed keys) and, for the IdP, the master key. An existing
/// directory is left as the operator made it.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// `text` or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("must be text or json"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 3] = ["listen", "public_url", "demo"];

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn environment_overrides_file_overrides_default() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("x.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\ndemo = true\n")?;
        let mut layers = Layers::load(
            "X_",
            &KNOWN,
            Some(&file),
            env(&[("X_LISTEN", "127.0.0.1:9100"), ("Y_DEMO", "no")]),
        )?;
        assert_eq!(layers.parse::<std::net::SocketAddr>("listen", "127.0.0.1:1")?.port(), 9100);
        assert!(layers.parse::<bool>("demo", "false")?);
        assert_eq!(
            layers.base_url("public_url", "http://127.0.0.1:8080/")?,
            ("http://127.0.0.1:8080".to_owned(), true)
        );
        Ok(())
    }

    #[test]
    fn the_data_dir_is_created_for_its_owner_only() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("nested").join("data");
        create_private_dir(&data)?;
        assert_eq!(std::fs::metadata(&data)?.permissions().mode() & 0o777, 0o700);
        create_private_dir(&data)?;
        Ok(())
    }

    #[test]
    fn errors_name_the_variable_or_the_file_key() -> Result<(), Box<dyn std::error::Error>> {
        let mut layers = Layers::load("X_", &KNOWN, None, env(&[("X_LISTEN", "nowhere")]))?;
        let err = layers.parse::<std::net::SocketAddr>("listen", "127.0.0.1:1").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref().map(|e| e.starts_with("X_LISTEN: ") && e.ends_with("(got \"nowhere\")")),
            Some(true)
        );

        let dir = tempfile::tempdir()?;
        let file = dir.path().join("x.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n")?;
        let err = Layers::load("X_", &KNOWN, Some(&file), env(&[])).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().ends_with("x.toml: lisen: unknown setting"));
        Ok(())
    }
}
