//! Where the history key lives: with the host (Android Keystore, iOS Keychain),
//! behind [`KeyStore`]. [`FileKeyStore`] keeps it in a file, for desktop and tests.

use std::path::PathBuf;

use super::error::{Error, Result};

/// The host's safe place for the 32-byte history key.
pub trait KeyStore: Send + Sync {
    /// The stored key, or `None` when there is none yet.
    fn load(&self) -> Result<Option<Vec<u8>>>;
    /// Stores a new key (called once, when a history is created).
    fn store(&self, key: &[u8]) -> Result<()>;
    /// Deletes the key irrecoverably.
    fn delete(&self) -> Result<()>;
}

/// A key in a file (mode 0600 on Unix). For desktop use and tests: on phones the
/// key belongs in the Keystore / Keychain.
pub struct FileKeyStore {
    path: PathBuf,
}

impl FileKeyStore {
    /// A key store at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileKeyStore { path: path.into() }
    }
}

impl KeyStore for FileKeyStore {
    fn load(&self) -> Result<Option<Vec<u8>>> {
        match std::fs::read(&self.path) {
            Ok(k) => Ok(Some(k)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::KeyProvider(e.to_string())),
        }
    }

    fn store(&self, key: &[u8]) -> Result<()> {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(&self.path)
            .map_err(|e| Error::KeyProvider(e.to_string()))?;
        f.write_all(key)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::KeyProvider(e.to_string()))
    }

    fn delete(&self) -> Result<()> {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            // Overwrite before unlinking (best effort on flash storage).
            let _ = std::fs::write(&self.path, vec![0u8; meta.len() as usize]);
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::KeyProvider(e.to_string())),
        }
    }
}
