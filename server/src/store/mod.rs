//! Storage: one trait, two backends (ADR 0100, ADR 0105).
//!
//! [`Backend`] is the storage seam. The SQLite backend (one file, one writer
//! thread with group commit, a pool of readers) and the PostgreSQL backend (a
//! connection pool; several service processes may share one database) both
//! implement it, and the compiler checks that they offer the same operations.
//! Backends only store and read: every decision (idempotency, withdrawn-case
//! and item-limit checks, what a withdrawal or a feedback event changes) is
//! made in [`crate::domain`], written once. Where a decision must see rows
//! read under the transaction's lock, the backend reads a snapshot, hands it
//! to a pure function of [`crate::domain::rules`] and applies the plan it
//! returns. The test suite runs against both backends.

pub mod codes;
pub mod postgres;
pub mod sqlite;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use takedown_protocol as p;

use crate::domain::rules::{CounterDelta, NewEvent};

/// Errors from the storage layer and the domain rules above it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The case or item does not exist (or does not belong to the case).
    #[error("not found")]
    NotFound,
    /// The idempotency key was used before with a different request body.
    #[error("idempotency key reused with a different request")]
    IdempotencyConflict,
    /// The freshly drawn case number is taken; draw another.
    #[error("case number taken")]
    CaseNumberTaken,
    /// The case was withdrawn; nothing can be added.
    #[error("case withdrawn")]
    CaseWithdrawn,
    /// The case would hold more than the allowed number of items.
    #[error("too many items in case")]
    TooManyItems,
    /// Feedback names an item that does not exist (index into the events).
    #[error("unknown item in event {0}")]
    UnknownItem(usize),
    /// A platform with that name exists already.
    #[error("name taken")]
    NameTaken,
    /// The database failed; only its class and SQLSTATE are kept, never its
    /// message (which can quote row values such as case numbers or hashes).
    #[error("{backend} database error: {class} ({code})")]
    Database {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// What kind of failure.
        class: DbClass,
        /// SQLSTATE (PostgreSQL) or result code (SQLite); empty when none.
        code: String,
    },
    /// Anything else (I/O, corrupted row, closed store).
    #[error("storage failure: {0}")]
    Internal(String),
}

/// What kind of database failure happened: logged, and used to decide
/// whether a transaction is worth running again. The database's message is
/// never kept (it can quote row values: case numbers, hashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbClass {
    /// The database broke a lock cycle by aborting this transaction (retried).
    Deadlock,
    /// A serialization failure (retried).
    Serialization,
    /// A constraint was violated.
    Constraint,
    /// The connection failed or could not be made.
    Connection,
    /// A lock or statement timeout, or the database was busy.
    Timeout,
    /// Anything else.
    Other,
}

impl DbClass {
    /// Whether running the whole transaction again may succeed.
    pub fn retryable(self) -> bool {
        matches!(self, DbClass::Deadlock | DbClass::Serialization)
    }

    fn of_sqlstate(code: &str) -> Self {
        match code {
            "40P01" => DbClass::Deadlock,
            "40001" => DbClass::Serialization,
            "57014" | "55P03" => DbClass::Timeout,
            c if c.starts_with("23") => DbClass::Constraint,
            c if c.starts_with("08") || c.starts_with("57P") => DbClass::Connection,
            _ => DbClass::Other,
        }
    }
}

impl DbClass {
    /// Name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DbClass::Deadlock => "deadlock",
            DbClass::Serialization => "serialization",
            DbClass::Constraint => "constraint",
            DbClass::Connection => "connection",
            DbClass::Timeout => "timeout",
            DbClass::Other => "other",
        }
    }
}

impl std::fmt::Display for DbClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let (class, code) = match &e {
            rusqlite::Error::SqliteFailure(f, _) => (
                match f.code {
                    C::DatabaseBusy | C::DatabaseLocked => DbClass::Timeout,
                    C::ConstraintViolation => DbClass::Constraint,
                    C::CannotOpen | C::NotADatabase => DbClass::Connection,
                    _ => DbClass::Other,
                },
                f.extended_code.to_string(),
            ),
            _ => (DbClass::Other, String::new()),
        };
        StoreError::Database {
            backend: "sqlite",
            class,
            code,
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let (class, code) = match e.code() {
            Some(s) => (DbClass::of_sqlstate(s.code()), s.code().to_string()),
            // No SQLSTATE: the connection or the protocol failed.
            None => (DbClass::Connection, String::new()),
        };
        StoreError::Database {
            backend: "postgres",
            class,
            code,
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            deadpool_postgres::PoolError::Timeout(_) => StoreError::Database {
                backend: "postgres",
                class: DbClass::Timeout,
                code: String::new(),
            },
            _ => StoreError::Database {
                backend: "postgres",
                class: DbClass::Connection,
                code: String::new(),
            },
        }
    }
}

/// Bytes per encoded vPDQ frame: t (f64 LE), PDQ, quality.
pub(crate) const FRAME_BYTES: usize = 8 + 32 + 1;
/// Bytes per encoded edge cut: edge code, percent, PDQ, quality.
pub(crate) const CUT_BYTES: usize = 1 + 1 + 32 + 1;

/// The stored form of a picture's edge cuts (`None` when it has none).
pub(crate) fn encode_cuts(cuts: &[p::EdgeCut]) -> Option<Vec<u8>> {
    if cuts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(cuts.len() * CUT_BYTES);
    for c in cuts {
        out.push(c.edge.code());
        out.push(c.percent);
        out.extend_from_slice(&c.pdq.0);
        out.push(c.quality.get());
    }
    Some(out)
}

/// One item ready to be stored.
#[derive(Clone)]
pub struct NewItem {
    /// Picture or video.
    pub kind: p::ItemKind,
    /// MD5 bytes.
    pub md5: Vec<u8>,
    /// SHA-256 bytes.
    pub sha256: Vec<u8>,
    /// PDQ bytes (images).
    pub pdq: Option<Vec<u8>>,
    /// PDQ quality (images).
    pub quality: Option<i64>,
    /// Encoded vPDQ frames (videos).
    pub frames: Option<Vec<u8>>,
    /// Encoded edge cuts (pictures that have them).
    pub edge_cuts: Option<Vec<u8>>,
}

impl NewItem {
    /// Converts a wire item.
    pub fn from_input(item: &p::ItemInput) -> Self {
        match item {
            p::ItemInput::Image(i) => NewItem {
                kind: p::ItemKind::Image,
                md5: i.md5.0.to_vec(),
                sha256: i.sha256.0.to_vec(),
                pdq: Some(i.pdq.0.to_vec()),
                quality: Some(i64::from(i.quality.get())),
                frames: None,
                edge_cuts: encode_cuts(&i.edge_cuts),
            },
            p::ItemInput::Video(v) => {
                let mut frames = Vec::with_capacity(v.frames.len() * FRAME_BYTES);
                for f in &v.frames {
                    frames.extend_from_slice(&f.t.to_le_bytes());
                    frames.extend_from_slice(&f.pdq.0);
                    frames.push(f.quality.get());
                }
                NewItem {
                    kind: p::ItemKind::Video,
                    md5: v.md5.0.to_vec(),
                    sha256: v.sha256.0.to_vec(),
                    pdq: None,
                    quality: None,
                    frames: Some(frames),
                    edge_cuts: None,
                }
            }
        }
    }
}

/// A case ready to be stored (secrets already hashed).
pub struct NewCase {
    /// Freshly drawn case number.
    pub number: String,
    /// Hash of the case token.
    pub token_hash: [u8; 32],
    /// Hash of the idempotency key.
    pub idem_hash: [u8; 32],
    /// Hash of the canonical request (attestations + items).
    pub request_hash: [u8; 32],
    /// The token, masked with a key derived from the idempotency key.
    pub token_wrap: [u8; 32],
    /// Attested submitter.
    pub submitter: p::Submitter,
    /// The recovery verifier the phone sent, if any (ADR 0112).
    pub recovery_verifier: Option<[u8; 32]>,
    /// The items.
    pub items: Vec<NewItem>,
    /// The timeline event written with the case.
    pub event: NewEvent,
    /// Unix seconds.
    pub now: i64,
}

/// A case stored earlier under the same idempotency key.
#[derive(Debug, Clone)]
pub struct StoredCase {
    /// The case number given out then.
    pub number: String,
    /// Hash of the request stored then.
    pub request_hash: Vec<u8>,
    /// The masked token stored then.
    pub token_wrap: [u8; 32],
    /// Per-case numbers of the items created then.
    pub item_numbers: Vec<i64>,
}

/// Result of [`Backend::insert_case`].
#[derive(Debug, Clone)]
pub enum InsertCase {
    /// A new case was stored.
    Created {
        /// Per-case numbers of its items (1..n).
        item_numbers: Vec<i64>,
    },
    /// Nothing was stored: the idempotency key belongs to this case.
    Existing(StoredCase),
}

/// An add-items request ready to be stored.
pub struct NewBatch {
    /// The case.
    pub case_id: i64,
    /// Hash of the idempotency key.
    pub idem_hash: [u8; 32],
    /// Hash of the canonical items.
    pub request_hash: [u8; 32],
    /// The items.
    pub items: Vec<NewItem>,
    /// Unix seconds.
    pub now: i64,
}

/// What [`Backend::add_items`] did.
#[derive(Debug, Clone)]
pub struct AddedItems {
    /// `false` when the batch was stored by an earlier identical request.
    pub created: bool,
    /// Per-case numbers of the batch's items.
    pub item_numbers: Vec<i64>,
}

/// What a withdrawal concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawTarget {
    /// One item of the case, by its per-case number.
    Item(i64),
    /// Every item and the case itself.
    Case,
}

/// What authenticating a case needs.
#[derive(Debug, Clone)]
pub struct CaseAuth {
    /// Row id.
    pub case_id: i64,
    /// Stored token hash.
    pub token_hash: [u8; 32],
}

/// One feedback event with the effects it has if it is new, as the domain
/// planned them (see [`crate::domain::rules::plan_feedback`]).
#[derive(Debug, Clone)]
pub struct PlannedFeedback {
    /// Platform-chosen id (unique per platform).
    pub event_id: String,
    /// The item.
    pub item_id: i64,
    /// What the platform reported.
    pub outcome: p::Outcome,
    /// Opaque platform reference.
    pub reference: Option<String>,
    /// The case of the item (for the timeline).
    pub case_id: i64,
    /// Counter changes on the item, applied only if the event is new.
    pub delta: CounterDelta,
    /// Timeline event, written only if the event is new.
    pub event: NewEvent,
}

/// One row of the change log joined with its item.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    /// Cursor position.
    pub seq: i64,
    /// Add or withdraw.
    pub op: p::SyncOp,
    /// Item id.
    pub item_id: i64,
    /// Picture or video.
    pub kind: p::ItemKind,
    /// MD5 bytes.
    pub md5: Vec<u8>,
    /// SHA-256 bytes.
    pub sha256: Vec<u8>,
    /// PDQ bytes.
    pub pdq: Option<Vec<u8>>,
    /// PDQ quality.
    pub quality: Option<i64>,
    /// Encoded frames.
    pub frames: Option<Vec<u8>>,
    /// Encoded edge cuts.
    pub edge_cuts: Option<Vec<u8>>,
}

/// One item of the active list, for exports.
#[derive(Debug, Clone)]
pub struct ExportRow {
    /// Item id.
    pub item_id: i64,
    /// Picture or video.
    pub kind: p::ItemKind,
    /// MD5 bytes.
    pub md5: Vec<u8>,
    /// SHA-256 bytes.
    pub sha256: Vec<u8>,
    /// PDQ bytes.
    pub pdq: Option<Vec<u8>>,
    /// PDQ quality.
    pub quality: Option<i64>,
}

/// A platform as the admin command lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlatformInfo {
    /// Name given at creation.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<i64>,
    /// Cursor the platform last asked from.
    pub synced_through: i64,
}

/// Item row as the status read needs it.
#[derive(Debug, Clone)]
pub struct StatusItem {
    /// Per-case item number (the submitter never sees the global id).
    pub number: i64,
    /// Picture or video.
    pub kind: p::ItemKind,
    /// Active or withdrawn.
    pub state: p::ItemState,
    /// Change-log position of its addition.
    pub add_seq: i64,
    /// Matches reported.
    pub matches: i64,
    /// Removals reported.
    pub removals: i64,
    /// Not-violating reviews.
    pub not_violating: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, when withdrawn.
    pub withdrawn_at: Option<i64>,
}

/// One stored timeline row.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub kind: p::EventKind,
    /// The item's per-case number, if the event concerns one.
    pub item_number: Option<i64>,
    /// How many items.
    pub count: i64,
}

/// Raw pieces of a status answer, read in one transaction; the domain
/// assembles them ([`crate::domain::case_status`]).
#[derive(Debug, Clone)]
pub struct StatusParts {
    /// Case number.
    pub number: String,
    /// Case state.
    pub state: p::ItemState,
    /// Unix seconds.
    pub created_at: i64,
    /// Items, by number.
    pub items: Vec<StatusItem>,
    /// Every platform's sync position.
    pub synced_through: Vec<i64>,
    /// Timeline, oldest first.
    pub events: Vec<EventRow>,
}

/// What restoring access to a case needs (ADR 0112).
#[derive(Debug, Clone)]
pub struct CaseRecovery {
    /// The case's row id.
    pub case_id: i64,
    /// Who opened it.
    pub submitter: p::Submitter,
    /// The recovery verifier sent when it was opened, if one was.
    pub verifier: Option<[u8; 32]>,
}

impl CaseRecovery {
    fn from_row(
        case_id: i64,
        submitter: &str,
        verifier: Option<Vec<u8>>,
    ) -> Result<CaseRecovery, StoreError> {
        Ok(CaseRecovery {
            case_id,
            submitter: p::Submitter::parse(submitter)
                .ok_or_else(|| StoreError::Internal("unknown submitter in storage".into()))?,
            verifier: match verifier {
                Some(v) => Some(
                    <[u8; 32]>::try_from(v.as_slice())
                        .map_err(|_| StoreError::Internal("recovery verifier length".into()))?,
                ),
                None => None,
            },
        })
    }
}

/// The storage operations; both backends implement them with the same
/// semantics (one transaction each).
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Backend name for logs and metrics.
    fn name(&self) -> &'static str;

    /// Stores a case with its items and event, unless a case with the same
    /// idempotency key exists (then returns that one and stores nothing).
    /// [`StoreError::CaseNumberTaken`] when the drawn number is in use.
    async fn insert_case(&self, c: NewCase) -> Result<InsertCase, StoreError>;

    /// Looks a case up by (normalised) number.
    async fn case_auth(&self, number: &str) -> Result<Option<CaseAuth>, StoreError>;

    /// The case with this (canonical) number, for restoring access to it.
    async fn case_recovery(&self, number: &str) -> Result<Option<CaseRecovery>, StoreError>;

    /// Replaces the case's token hash: the old token stops working at once.
    async fn replace_token(&self, case_id: i64, token_hash: [u8; 32]) -> Result<(), StoreError>;

    /// Adds a batch of items: reads the case and any earlier batch with the
    /// same key under the case's lock, asks
    /// [`crate::domain::rules::admit_items`], and stores or replays.
    async fn add_items(&self, batch: NewBatch) -> Result<AddedItems, StoreError>;

    /// Withdraws as [`crate::domain::rules::plan_withdraw`] decides from the
    /// rows read under the case's lock (the plan and the change log use global
    /// ids); returns the per-case numbers of the items withdrawn now.
    async fn withdraw(
        &self,
        case_id: i64,
        target: WithdrawTarget,
        now: i64,
    ) -> Result<Vec<i64>, StoreError>;

    /// What the status answer is assembled from.
    async fn case_status_parts(&self, case_id: i64) -> Result<StatusParts, StoreError>;

    /// Finds the active platform with this key hash.
    async fn platform_by_key(&self, key_hash: [u8; 32]) -> Result<Option<i64>, StoreError>;

    /// Records that a platform has everything up to `cursor` (clamped to the log's end).
    async fn record_sync(&self, platform_id: i64, cursor: i64) -> Result<(), StoreError>;

    /// Changes with `seq > cursor`, ascending, at most `limit`.
    async fn changes(&self, cursor: i64, limit: i64) -> Result<Vec<ChangeRow>, StoreError>;

    /// The case of each of these items that exists.
    async fn item_cases(&self, item_ids: Vec<i64>) -> Result<HashMap<i64, i64>, StoreError>;

    /// Inserts each feedback row unless the platform sent its event id before,
    /// and applies the planned effects of the new ones; all or nothing.
    /// Rows come sorted by item id, and counters are updated in that order
    /// (one lock order for every writer). Returns how many were new.
    async fn record_feedback(
        &self,
        platform_id: i64,
        rows: Vec<PlannedFeedback>,
        now: i64,
    ) -> Result<u32, StoreError>;

    /// Active items with `id > after`, ascending, at most `limit`.
    async fn export_page(&self, after: i64, limit: i64) -> Result<Vec<ExportRow>, StoreError>;

    /// Creates a platform with this key hash.
    async fn create_platform(
        &self,
        name: &str,
        key_hash: [u8; 32],
        now: i64,
    ) -> Result<(), StoreError>;

    /// Revokes a platform's key; `false` when no active platform has that name.
    async fn revoke_platform(&self, name: &str, now: i64) -> Result<bool, StoreError>;

    /// Every platform.
    async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, StoreError>;

    /// A trivial query, for `/healthz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Flushes and closes (waits for the SQLite writer to finish its queue).
    async fn close(&self);
}

/// Which database to use.
#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    /// A SQLite file (created when missing).
    Sqlite {
        /// Path of the database file.
        path: std::path::PathBuf,
        /// Number of reader connections.
        readers: usize,
    },
    /// A PostgreSQL database.
    Postgres {
        /// `postgres://user:pass@host:port/db` (an `options=-csearch_path%3D...` parameter selects a schema).
        url: String,
        /// Pool size.
        pool_size: usize,
        /// Test hook: sleep this long (randomly up to) after taking a cursor
        /// position and before committing, to widen the window in which
        /// concurrent commits could reorder. `None` in production.
        commit_jitter: Option<Duration>,
    },
}

/// The open backend (cheap to clone); dereferences to [`Backend`].
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>);

impl Store {
    /// Opens (and migrates) the configured database.
    pub async fn open(cfg: &DatabaseConfig) -> Result<Store, StoreError> {
        Ok(match cfg {
            DatabaseConfig::Sqlite { path, readers } => {
                Store(Arc::new(sqlite::SqliteStore::open(path, *readers).await?))
            }
            DatabaseConfig::Postgres {
                url,
                pool_size,
                commit_jitter,
            } => Store(Arc::new(
                postgres::PgStore::open(url, *pool_size, *commit_jitter).await?,
            )),
        })
    }

    /// Wraps any backend.
    pub fn new(backend: Arc<dyn Backend>) -> Store {
        Store(backend)
    }

    /// Backend name for logs and metrics.
    pub fn backend(&self) -> &'static str {
        self.0.name()
    }
}

impl Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
