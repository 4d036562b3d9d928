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

pub mod cancel;
pub mod client;
pub mod crypto;
pub mod db;
pub mod eligibility;
pub mod error;
pub mod history;
pub mod keys;
pub mod outbox;
pub mod recovery;
pub mod selection;
pub(crate) mod sql;
pub mod status;
pub mod wire;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::OptionalExtension;

pub use cancel::Cancel;
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

/// What changed, for the host's change listener (which turns it into a Kotlin
/// `Flow` or a Swift `AsyncSequence` and re-reads what it shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The send queue changed (queued, sent, postponed, refused, cancelled) —
    /// also by a background flush.
    Queue,
    /// Cases or items changed (labels, restored cases, resubmissions).
    History,
    /// A new status snapshot was stored.
    Status,
}

/// Called after every change of the queue, the history or the stored status, on
/// the thread that made it. Keep it short: post to the UI thread and return.
pub trait ChangeListener: Send + Sync {
    /// Something changed.
    fn on_change(&self, change: Change);
}

/// Histories open in this process (canonical paths): one core object per
/// history, so two objects never race on the same queue.
static OPEN_HISTORIES: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// Holds a history's place in [`OPEN_HISTORIES`] while its object lives.
struct OpenGuard(PathBuf);

impl OpenGuard {
    fn claim(path: &Path) -> Result<OpenGuard> {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        let mut open = OPEN_HISTORIES
            .lock()
            .map_err(|_| Error::Internal("registry lock poisoned".into()))?;
        if !open.get_or_insert_with(HashSet::new).insert(path.clone()) {
            return Err(Error::AlreadyOpen);
        }
        Ok(OpenGuard(path))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = OPEN_HISTORIES.lock()
            && let Some(set) = open.as_mut()
        {
            set.remove(&self.0);
        }
    }
}

/// The phone core: one per app process (per history directory; a second
/// [`App::open`] of the same directory while the first object lives fails with
/// [`Error::AlreadyOpen`]).
pub struct App {
    pub(crate) db: Db,
    pub(crate) sealer: Sealer,
    pub(crate) client: Client,
    pub(crate) policy: RetryPolicy,
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) flush_lock: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
    db_path: PathBuf,
    listener: Mutex<Option<Arc<dyn ChangeListener>>>,
    _open: Mutex<Option<OpenGuard>>,
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
        let guard = OpenGuard::claim(data_dir)?;
        let db_path = data_dir.join(HISTORY_FILE);
        let (db, version) = Db::open(&db_path)?;
        let (stored_check, empty): (Option<Vec<u8>>, bool) = if version >= 1 {
            db.read(|tx| {
                let check = tx
                    .query_row("SELECT value FROM meta WHERE name = 'key_check'", [], |r| {
                        r.get(0)
                    })
                    .optional()?;
                let rows: i64 = tx.query_row(
                    "SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM outbox)",
                    [],
                    |r| r.get(0),
                )?;
                Ok((check, rows == 0))
            })?
        } else {
            (None, true)
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
            // A history without a key check that holds nothing sealed: the app was
            // killed between storing the key and writing the check (older
            // versions wrote it in a separate step). Adopt the stored key.
            (Some(k), None) if empty => Sealer::new(&k)?,
            (Some(_), None) => return Err(Error::Corrupt),
            (None, Some(_)) => return Err(Error::KeyMissing),
            (None, None) if !empty => return Err(Error::Corrupt),
            (None, None) => {
                let k = Sealer::generate_key();
                keys.store(&k)?;
                Sealer::new(&k)?
            }
        };
        db.configure()?;
        let check = sealer.seal(KEY_CHECK_PURPOSE, KEY_CHECK_PLAINTEXT)?;
        let write_check = |tx: &rusqlite::Transaction<'_>| -> Result<()> {
            tx.execute(
                "INSERT OR IGNORE INTO meta(name, value) VALUES ('key_check', ?1)",
                [&check],
            )?;
            Ok(())
        };
        // The key check is written in the same transaction as the first schema, so
        // a new history never exists without it; older data is resealed bound to
        // its row in migration 3's transaction.
        db.migrate_with(db::LATEST_VERSION, |tx, v| {
            if v == 1 {
                write_check(tx)?;
            }
            if v == 3 {
                reseal_bound_to_rows(tx, &sealer)?;
            }
            if v == 4 {
                seal_fingerprints(tx, &sealer)?;
            }
            Ok(())
        })?;
        // Copy the WAL into the file and empty it, on every open: after migration 4
        // the old items table's pages are zeroed (secure_delete) only in the WAL,
        // and the WAL still holds stale frames of earlier transactions; doing it
        // on every open (not only right after migrating) also covers an app killed
        // between the migration's commit and this checkpoint.
        db.checkpoint_truncate()?;
        if stored_check.is_none() {
            db.write(|tx| write_check(tx))?;
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
            listener: Mutex::new(None),
            _open: Mutex::new(Some(guard)),
        })
    }

    /// Sets (or clears) the change listener.
    pub fn set_listener(&self, listener: Option<Arc<dyn ChangeListener>>) {
        if let Ok(mut l) = self.listener.lock() {
            *l = listener;
        }
    }

    /// Tells the listener (never while holding the database).
    pub(crate) fn changed(&self, change: Change) {
        let l = self.listener.lock().ok().and_then(|l| l.clone());
        if let Some(l) = l {
            l.on_change(change);
        }
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

    /// Withdrawals still waiting to be sent.
    pub fn pending_withdrawals(&self) -> Result<u32> {
        self.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM outbox WHERE state = 'pending' AND op IN ('withdraw_item', 'withdraw_case')",
                [],
                |r| r.get::<_, i64>(0),
            )? as u32)
        })
    }

    /// Deletes the history files and the key irrecoverably — unless withdrawals
    /// are still queued: then it refuses with [`Error::WithdrawalsPending`]
    /// (deleting would drop them with the only token that can send them; flush
    /// first, or call [`App::delete_everything_force`] after warning the user).
    /// The object is closed afterwards: every call fails with [`Error::Closed`];
    /// open a new one to start over.
    pub fn delete_everything(&self) -> Result<()> {
        let n = self.pending_withdrawals()?;
        if n > 0 {
            return Err(Error::WithdrawalsPending(n));
        }
        self.delete_everything_force()
    }

    /// Deletes everything even with withdrawals queued (they are dropped).
    pub fn delete_everything_force(&self) -> Result<()> {
        self.db.destroy()?;
        self.keys.delete()?;
        if let Ok(mut g) = self._open.lock() {
            g.take();
        }
        self.changed(Change::History);
        Ok(())
    }
}

/// Migration 4's data step: the fingerprints its SQL copied as unsealed JSON
/// (the protocol's `ItemInput`) into the rebuilt `items` table are sealed in
/// their stored form, bound to their row. A row whose old columns did not hold
/// valid fingerprints is sealed as it was (listing it is `Corrupt`, as before).
fn seal_fingerprints(tx: &rusqlite::Transaction<'_>, sealer: &Sealer) -> Result<()> {
    let rows: Vec<(i64, Vec<u8>)> = {
        let mut stmt = tx.prepare("SELECT id, fingerprints FROM items")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, json) in rows {
        let plain = match serde_json::from_slice::<takedown_protocol::ItemInput>(&json) {
            Ok(item) => history::encode_fingerprints(&item),
            Err(_) => json,
        };
        let sealed = sealer.seal(&history::fingerprints_purpose(id), &plain)?;
        tx.execute(
            "UPDATE items SET fingerprints = ?2 WHERE id = ?1",
            rusqlite::params![id, sealed],
        )?;
    }
    Ok(())
}

/// Migration 3's data step: every value sealed with a schema 1–2 purpose is
/// resealed bound to its row (`table/id/column`). A value that does not open is
/// left as it is (the flush quarantines a damaged outbox row).
fn reseal_bound_to_rows(tx: &rusqlite::Transaction<'_>, sealer: &Sealer) -> Result<()> {
    use crypto::row_purpose;
    let targets = [
        ("outbox", "payload", outbox::PAYLOAD_PURPOSE),
        ("cases", "token", outbox::TOKEN_PURPOSE),
        ("items", "label", outbox::LABEL_PURPOSE),
    ];
    for (table, column, legacy) in targets {
        let rows: Vec<(i64, Vec<u8>)> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
            ))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (id, sealed) in rows {
            let Ok(plain) = sealer.open(legacy, &sealed) else {
                continue;
            };
            let bound = sealer.seal(&row_purpose(table, id, column), &plain)?;
            tx.execute(
                &format!("UPDATE {table} SET {column} = ?2 WHERE id = ?1"),
                rusqlite::params![id, bound],
            )?;
        }
    }
    // Case numbers were plaintext.
    let numbers: Vec<(i64, String)> = {
        let mut stmt =
            tx.prepare("SELECT id, case_number FROM cases WHERE case_number IS NOT NULL")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, n) in numbers {
        if !n.starts_with(crypto::SEALED_TEXT) {
            tx.execute(
                "UPDATE cases SET case_number = ?2 WHERE id = ?1",
                rusqlite::params![id, sealer.seal_text("cases", id, "case_number", &n)?],
            )?;
        }
    }
    // Status snapshots were plaintext JSON.
    let bodies: Vec<(i64, String)> = {
        let mut stmt = tx.prepare("SELECT id, body FROM status_snapshots")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, body) in bodies {
        if !status::is_sealed_body(&body) {
            tx.execute(
                "UPDATE status_snapshots SET body = ?2 WHERE id = ?1",
                rusqlite::params![id, status::seal_body(sealer, id, &body)?],
            )?;
        }
    }
    Ok(())
}
