//! Where uploaded documents' bytes live, behind one trait so that an object store can replace
//! the filesystem. The database holds what is known about each file (kind, type, size, digest,
//! the member's file name for show); the store holds only bytes under a random key, so no name
//! a member chose ever reaches a path.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("no stored file under this key")]
    NotFound,
    /// A key this store never minted (tampered data): refused before it reaches a path.
    #[error("not a file key")]
    BadKey,
    #[error("file store: {0}")]
    Io(#[from] std::io::Error),
    #[error("file store task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub trait FileStore {
    /// Stores `content` durably and returns its new key: when this returns, the bytes survive a
    /// crash.
    fn put(&self, content: Vec<u8>) -> impl Future<Output = Result<String, FileError>> + Send;
    fn get(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, FileError>> + Send;
    /// Removes the file; a key already gone is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), FileError>> + Send;
}

/// Files under a directory (the portal's data directory's `files/`): each written to a
/// temporary file, flushed to disk, renamed into place and the directory flushed, so a reader
/// sees the whole file or none. Keys are 32 random hex digits; files sit in 256 subdirectories
/// by their first two.
#[derive(Debug, Clone)]
pub struct FsFileStore {
    root: PathBuf,
}

impl FsFileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store of a portal whose data directory is `data_dir`.
    pub fn under(data_dir: &Path) -> Self {
        Self::new(data_dir.join("files"))
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, FileError> {
        let valid = key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if !valid {
            return Err(FileError::BadKey);
        }
        Ok(self.root.join(&key[..2]).join(key))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl FileStore for FsFileStore {
    async fn put(&self, content: Vec<u8>) -> Result<String, FileError> {
        let key = uuid::Uuid::new_v4().simple().to_string();
        let path = self.path_of(&key)?;
        let tmp_dir = self.root.join("tmp");
        tokio::task::spawn_blocking(move || -> Result<String, FileError> {
            let dir = path.parent().ok_or(FileError::BadKey)?;
            std::fs::create_dir_all(dir)?;
            std::fs::create_dir_all(&tmp_dir)?;
            let tmp = tmp_dir.join(format!("{key}.part"));
            let mut file = std::fs::File::create(&tmp)?;
            let written = file.write_all(&content).and_then(|()| file.sync_all());
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            drop(file);
            std::fs::rename(&tmp, &path)?;
            sync_dir(dir)?;
            Ok(key)
        })
        .await?
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, FileError> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(FileError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), FileError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stored_file_reads_back_until_deleted() -> Result<(), FileError> {
        let dir = tempfile::tempdir()?;
        let store = FsFileStore::under(dir.path());
        let key = store.put(b"%PDF-1.7 hello".to_vec()).await?;
        assert_eq!(store.get(&key).await?, b"%PDF-1.7 hello");
        assert!(dir.path().join("files").join(&key[..2]).join(&key).is_file());
        let leftovers = std::fs::read_dir(dir.path().join("files/tmp"))?.count();
        assert_eq!(leftovers, 0, "the temporary file was renamed into place");
        store.delete(&key).await?;
        assert!(matches!(store.get(&key).await, Err(FileError::NotFound)));
        store.delete(&key).await?;
        Ok(())
    }

    #[tokio::test]
    async fn keys_it_never_minted_never_reach_the_filesystem() {
        let store = FsFileStore::new("/nonexistent");
        for key in ["../../etc/passwd", "", "ABCDEF0123456789ABCDEF0123456789", "zz/../../x"] {
            assert!(matches!(store.get(key).await, Err(FileError::BadKey)), "{key}");
            assert!(matches!(store.delete(key).await, Err(FileError::BadKey)), "{key}");
        }
    }
}
