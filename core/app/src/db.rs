//! The history database: one SQLite file in WAL mode with exactly one connection
//! (the writer, which also serves the short reads), reached only through
//! [`Db::read`] and [`Db::write`] so no transaction is forgotten. Migrations are
//! numbered SQL files keyed on `PRAGMA user_version`.
//!
//! Opening refuses, without writing anything, a file that is not a SQLite
//! database, is damaged, belongs to another application or was written by a newer
//! version.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use super::error::{Error, Result};

/// `PRAGMA application_id` of a Takedown history ("TkDn").
pub const APPLICATION_ID: i32 = 0x546b_446e;

/// The migrations, in order: migration `i` brings the schema to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_status.sql"),
    include_str!("migrations/0003_requests_and_recovery.sql"),
    include_str!("migrations/0004_sealed_fingerprints.sql"),
];

/// The schema version this build writes.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The history database.
pub struct Db {
    conn: Mutex<Option<Connection>>,
    path: PathBuf,
}

impl Db {
    /// Opens (creating when missing) and checks the file, without writing to it.
    /// Returns the database and its current schema version (0 for a new file).
    pub fn open(path: &Path) -> Result<(Db, u32)> {
        check_header(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Reading the schema is the first real access: a damaged file fails here.
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if app_id != APPLICATION_ID && !(app_id == 0 && version == 0 && tables == 0) {
            return Err(Error::Foreign);
        }
        if version > LATEST_VERSION {
            return Err(Error::TooNew {
                found: version,
                known: LATEST_VERSION,
            });
        }
        if version > 0 {
            let ok: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            if ok != "ok" {
                return Err(Error::Corrupt);
            }
        }
        Ok((
            Db {
                conn: Mutex::new(Some(conn)),
                path: path.to_owned(),
            },
            version,
        ))
    }

    /// Sets the connection up for use (call after the key was checked: switching an
    /// older file to WAL writes to it).
    pub fn configure(&self) -> Result<()> {
        self.with_conn(|conn| {
            // WAL for concurrent readers of the host; FULL so a written outbox entry
            // survives power loss; temp tables in memory (Android temp-dir errors);
            // freed pages zeroed so deleted rows do not linger in the file.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.pragma_update(None, "temp_store", "MEMORY")?;
            conn.pragma_update(None, "secure_delete", "ON")?;
            Ok(())
        })
    }

    /// Brings the schema to [`LATEST_VERSION`], one transaction per migration.
    pub fn migrate(&self) -> Result<()> {
        self.migrate_to(LATEST_VERSION)
    }

    /// Brings the schema to `target` (tests build older schemas with it).
    pub fn migrate_to(&self, target: u32) -> Result<()> {
        self.migrate_with(target, |_, _| Ok(()))
    }

    /// Brings the schema to `target`, calling `after(tx, version)` inside each
    /// migration's transaction once its SQL ran (data steps that need the key).
    pub fn migrate_with(
        &self,
        target: u32,
        after: impl Fn(&Transaction<'_>, u32) -> Result<()>,
    ) -> Result<()> {
        self.with_conn(|conn| {
            let mut version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            while version < target.min(LATEST_VERSION) {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute_batch(MIGRATIONS[version as usize])?;
                version += 1;
                after(&tx, version)?;
                tx.pragma_update(None, "user_version", version)?;
                tx.pragma_update(None, "application_id", APPLICATION_ID)?;
                tx.commit()?;
            }
            Ok(())
        })
    }

    /// Copies the WAL into the database file and truncates it to zero bytes
    /// (after a migration that rewrote data which must not linger in old frames).
    pub fn checkpoint_truncate(&self) -> Result<()> {
        self.with_conn(|conn| {
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(Error::Storage("the history is busy".into()));
            }
            Ok(())
        })
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| Error::Internal("history lock poisoned".into()))?;
        let conn = guard.as_mut().ok_or(Error::Closed)?;
        f(conn)
    }

    /// Runs `f` in a read transaction.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx)?;
            tx.finish()?;
            Ok(out)
        })
    }

    /// Runs `f` in a write transaction, committed when `f` returns `Ok`.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Closes the connection and deletes the database files. Further calls fail
    /// with [`Error::Closed`].
    pub fn destroy(&self) -> Result<()> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| Error::Internal("history lock poisoned".into()))?;
        if let Some(conn) = guard.take() {
            // Zero what is left in the WAL before the files go.
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
            conn.close().map_err(|(_, e)| Error::from(e))?;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Refuses a non-empty file that does not start with the SQLite header (opening
/// it would not overwrite it, but SQLite's error would be vague).
fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if f.metadata()?.is_dir() {
        return Err(Error::Storage("the history path is a directory".into()));
    }
    let mut head = Vec::with_capacity(16);
    f.by_ref().take(16).read_to_end(&mut head)?;
    if head.is_empty() {
        return Ok(());
    }
    if head.as_slice() != SQLITE_HEADER {
        return Err(Error::Corrupt);
    }
    Ok(())
}
