//! Takedown's phone core as plain Rust: hashing a selection, eligibility, cases
//! submitted through a persisted outbox, the encrypted local history and case
//! status.
//!
//! [`App`] is the object the phone holds; the `takedown-ffi` crate (library
//! `takedown_core`) mirrors its types for UniFFI and exports it to Kotlin and
//! Swift. This crate knows nothing of UniFFI. Fingerprints are held as the
//! protocol's typed hashes (`Md5`, `Sha256`, `Pdq`, `Quality`).
//!
//! * [`db`] — SQLite in WAL mode, one connection, numbered migrations.
//! * [`crypto`] — XChaCha20-Poly1305 sealing of tokens, labels and outbox payloads.
//! * [`client`] — reqwest + rustls, timeouts, classified retries.
//! * [`outbox`] — every operation written before it is sent, sent in order,
//!   exactly once thanks to idempotency keys.
//! * [`history`] — what the app lists.
//! * [`status`] — snapshots of the service's status and what changed since the
//!   user last looked.

pub mod client;
pub mod crypto;
pub mod db;
pub mod eligibility;
pub mod error;
pub mod history;
pub mod keys;
pub mod outbox;
pub mod selection;
pub(crate) mod sql;
pub mod status;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::OptionalExtension;

pub use client::RetryPolicy;
pub use error::{Error, Result};
pub use keys::{FileKeyStore, KeyStore};

use client::Client;
use crypto::Sealer;
use db::Db;

/// File name of the history database inside the data directory.
pub const HISTORY_FILE: &str = "history.sqlite3";

/// Purpose (associated data) of the sealed key-check value in `meta`.
pub const KEY_CHECK_PURPOSE: &str = "meta.key_check";
/// What the key-check value holds; opening it proves the key fits the history.
pub const KEY_CHECK_PLAINTEXT: &[u8] = b"takedown history key v1";

/// Tuning of the network side.
#[derive(Clone, Debug)]
pub struct NetworkOptions {
    /// Timeout of one request, milliseconds.
    pub request_timeout_ms: u64,
    /// Attempts per operation within one flush (transient failures only).
    pub max_attempts: u32,
    /// First backoff delay, milliseconds (doubles per attempt, with jitter).
    pub base_delay_ms: u64,
    /// Largest backoff delay, milliseconds.
    pub max_delay_ms: u64,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            request_timeout_ms: 30_000,
            max_attempts: 4,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
        }
    }
}

impl NetworkOptions {
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            base_delay: Duration::from_millis(self.base_delay_ms),
            max_delay: Duration::from_millis(self.max_delay_ms.max(self.base_delay_ms)),
        }
    }
}

/// The phone core: one per app process.
pub struct App {
    pub(crate) db: Db,
    pub(crate) sealer: Sealer,
    pub(crate) client: Client,
    pub(crate) policy: RetryPolicy,
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) flush_lock: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
    db_path: PathBuf,
}

/// Where the core reads the time: the system clock in production, a clock the test
/// controls in tests (retry schedules, timestamps).
pub trait Clock: Send + Sync {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

impl App {
    /// Opens the history in `data_dir` (created when missing) for the service at
    /// `service_url`, with the key from `keys` (generated and stored there on first
    /// use). Refuses — without writing — a damaged or foreign file, a newer schema,
    /// a wrong or missing key.
    pub fn open(
        data_dir: &Path,
        service_url: &str,
        keys: Arc<dyn KeyStore>,
        options: NetworkOptions,
    ) -> Result<App> {
        Self::open_with_clock(data_dir, service_url, keys, options, Arc::new(SystemClock))
    }

    /// [`App::open`] reading the time from `clock` (tests control the retry
    /// schedule with it).
    pub fn open_with_clock(
        data_dir: &Path,
        service_url: &str,
        keys: Arc<dyn KeyStore>,
        options: NetworkOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<App> {
        let client = Client::new(
            service_url,
            Duration::from_millis(options.request_timeout_ms.max(1)),
        )?;
        std::fs::create_dir_all(data_dir)?;
        let db_path = data_dir.join(HISTORY_FILE);
        let (db, version) = Db::open(&db_path)?;
        let stored_check: Option<Vec<u8>> = if version >= 1 {
            db.read(|tx| {
                Ok(tx
                    .query_row("SELECT value FROM meta WHERE name = 'key_check'", [], |r| {
                        r.get(0)
                    })
                    .optional()?)
            })?
        } else {
            None
        };
        let key = keys.load()?;
        let sealer = match (key, &stored_check) {
            (Some(k), Some(check)) => {
                let s = Sealer::new(&k)?;
                if s.open(KEY_CHECK_PURPOSE, check)? != KEY_CHECK_PLAINTEXT {
                    return Err(Error::WrongKey);
                }
                s
            }
            (Some(_), None) if version >= 1 => return Err(Error::Corrupt),
            (Some(k), None) => Sealer::new(&k)?,
            (None, Some(_)) => return Err(Error::KeyMissing),
            (None, None) if version >= 1 => return Err(Error::Corrupt),
            (None, None) => {
                let k = Sealer::generate_key();
                keys.store(&k)?;
                Sealer::new(&k)?
            }
        };
        db.configure()?;
        db.migrate()?;
        if stored_check.is_none() {
            let check = sealer.seal(KEY_CHECK_PURPOSE, KEY_CHECK_PLAINTEXT)?;
            db.write(|tx| {
                tx.execute(
                    "INSERT INTO meta(name, value) VALUES ('key_check', ?1)",
                    [check],
                )?;
                Ok(())
            })?;
        }
        Ok(App {
            db,
            sealer,
            client,
            policy: options.policy(),
            keys,
            flush_lock: tokio::sync::Mutex::new(()),
            clock,
            db_path,
        })
    }

    /// Unix milliseconds, from the clock.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Unix seconds, from the clock.
    pub(crate) fn now_secs(&self) -> i64 {
        self.clock.now_ms().div_euclid(1000)
    }

    /// Path of the history database (for tests and diagnostics).
    pub fn history_path(&self) -> &Path {
        &self.db_path
    }

    /// Deletes the history files and the key irrecoverably. The object is closed
    /// afterwards: every call fails with [`Error::Closed`]; open a new one to start
    /// over.
    pub fn delete_everything(&self) -> Result<()> {
        self.db.destroy()?;
        self.keys.delete()
    }
}
