//! Storage: one interface, two backends (ADR 0100).
//!
//! [`Store`] is an enum over the SQLite backend (one file, one writer thread
//! with group commit, a pool of readers) and the PostgreSQL backend (a
//! connection pool; several service processes may share one database). Both
//! implement the same operations with the same semantics; the test suite runs
//! against both.

pub mod postgres;
pub mod sqlite;

use std::time::Duration;

use takedown_protocol as p;

/// Errors from the storage layer.
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
    /// Anything else (database unavailable, I/O, corrupted row).
    #[error("storage failure: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(format!("sqlite: {e}"))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Internal(format!("postgres: {e}"))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Internal(format!("postgres pool: {e}"))
    }
}

/// Kind codes used in storage.
pub(crate) const KIND_IMAGE: i64 = 0;
pub(crate) const KIND_VIDEO: i64 = 1;
/// Change-log operation codes.
pub(crate) const OP_ADD: i64 = 1;
pub(crate) const OP_WITHDRAW: i64 = 2;
/// Bytes per encoded vPDQ frame: t (f64 LE), PDQ, quality.
pub(crate) const FRAME_BYTES: usize = 8 + 32 + 1;

/// One item ready to be stored.
#[derive(Clone)]
pub struct NewItem {
    /// 0 image, 1 video.
    pub kind: i64,
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
}

impl NewItem {
    /// Converts a wire item.
    pub fn from_input(item: &p::ItemInput) -> Self {
        match item {
            p::ItemInput::Image(i) => NewItem {
                kind: KIND_IMAGE,
                md5: i.md5.0.to_vec(),
                sha256: i.sha256.0.to_vec(),
                pdq: Some(i.pdq.0.to_vec()),
                quality: Some(i64::from(i.quality.get())),
                frames: None,
            },
            p::ItemInput::Video(v) => {
                let mut frames = Vec::with_capacity(v.frames.len() * FRAME_BYTES);
                for f in &v.frames {
                    frames.extend_from_slice(&f.t.to_le_bytes());
                    frames.extend_from_slice(&f.pdq.0);
                    frames.push(f.quality.get());
                }
                NewItem {
                    kind: KIND_VIDEO,
                    md5: v.md5.0.to_vec(),
                    sha256: v.sha256.0.to_vec(),
                    pdq: None,
                    quality: None,
                    frames: Some(frames),
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
    pub submitter: &'static str,
    /// The items.
    pub items: Vec<NewItem>,
    /// Unix seconds.
    pub now: i64,
}

/// Result of storing a case.
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    /// A new case was stored.
    Created {
        /// Ids of its items.
        item_ids: Vec<i64>,
    },
    /// The idempotency key was seen before with the same request.
    Existing {
        /// The case number given out then.
        number: String,
        /// The masked token stored then.
        token_wrap: [u8; 32],
        /// Ids of the items created then.
        item_ids: Vec<i64>,
    },
}

/// What authenticating a case needs.
#[derive(Debug, Clone)]
pub struct CaseAuth {
    /// Row id.
    pub case_id: i64,
    /// Stored token hash.
    pub token_hash: [u8; 32],
}

/// One row of the change log joined with its item.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    /// Cursor position.
    pub seq: i64,
    /// Add or withdraw code.
    pub op: i64,
    /// Item id.
    pub item_id: i64,
    /// Kind code.
    pub kind: i64,
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
}

/// One item of the active list, for exports.
#[derive(Debug, Clone)]
pub struct ExportRow {
    /// Item id.
    pub item_id: i64,
    /// Kind code.
    pub kind: i64,
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
pub(crate) struct StatusItem {
    pub id: i64,
    pub kind: i64,
    pub state: i64,
    pub add_seq: i64,
    pub matches: i64,
    pub removals: i64,
    pub not_violating: i64,
    pub created_at: i64,
    pub withdrawn_at: Option<i64>,
}

/// Raw pieces of a status answer, assembled by [`assemble_status`].
pub(crate) struct StatusParts {
    pub number: String,
    pub state: i64,
    pub created_at: i64,
    pub items: Vec<StatusItem>,
    pub synced_through: Vec<i64>,
    pub events: Vec<(i64, String, Option<i64>, i64)>,
}

pub(crate) fn assemble_status(parts: StatusParts) -> Result<p::CaseStatus, StoreError> {
    let count_synced = |seq: i64| parts.synced_through.iter().filter(|&&s| s >= seq).count() as u32;
    let mut summary = p::CaseSummary::default();
    let mut max_active_seq = None::<i64>;
    let mut items = Vec::with_capacity(parts.items.len());
    for it in &parts.items {
        let state = if it.state == 0 {
            summary.active_items += 1;
            max_active_seq = Some(max_active_seq.map_or(it.add_seq, |m| m.max(it.add_seq)));
            p::ItemState::Active
        } else {
            summary.withdrawn_items += 1;
            p::ItemState::Withdrawn
        };
        summary.matches += it.matches as u32;
        summary.removals += it.removals as u32;
        summary.reviewed_not_violating += it.not_violating as u32;
        items.push(p::ItemStatus {
            item_id: it.id,
            kind: kind_of(it.kind)?,
            state,
            platforms_synced: count_synced(it.add_seq),
            matches: it.matches as u32,
            removals: it.removals as u32,
            reviewed_not_violating: it.not_violating as u32,
            added_at: it.created_at,
            withdrawn_at: it.withdrawn_at,
        });
    }
    summary.platforms_synced_all = max_active_seq.map_or(0, count_synced);
    let mut timeline = Vec::with_capacity(parts.events.len());
    for (at, kind, item_id, count) in parts.events {
        timeline.push(p::TimelineEvent {
            at,
            kind: p::EventKind::parse(&kind)
                .ok_or_else(|| StoreError::Internal(format!("unknown event kind {kind}")))?,
            item_id,
            count: count as u32,
        });
    }
    Ok(p::CaseStatus {
        case_number: parts.number,
        state: if parts.state == 0 {
            p::ItemState::Active
        } else {
            p::ItemState::Withdrawn
        },
        created_at: parts.created_at,
        summary,
        items,
        timeline,
    })
}

pub(crate) fn kind_of(code: i64) -> Result<p::ItemKind, StoreError> {
    match code {
        KIND_IMAGE => Ok(p::ItemKind::Image),
        KIND_VIDEO => Ok(p::ItemKind::Video),
        _ => Err(StoreError::Internal(format!("unknown kind {code}"))),
    }
}

fn bytes<T>(b: &[u8], f: impl Fn(&[u8]) -> Option<T>) -> Result<T, StoreError> {
    f(b).ok_or_else(|| StoreError::Internal("stored hash has the wrong length".into()))
}

/// Decodes stored vPDQ frames.
pub(crate) fn decode_frames(b: &[u8]) -> Result<Vec<p::VideoFrame>, StoreError> {
    if !b.len().is_multiple_of(FRAME_BYTES) {
        return Err(StoreError::Internal("stored frames are truncated".into()));
    }
    b.chunks_exact(FRAME_BYTES)
        .map(|c| {
            let mut t = [0u8; 8];
            t.copy_from_slice(&c[..8]);
            Ok(p::VideoFrame {
                t: f64::from_le_bytes(t),
                pdq: bytes(&c[8..40], p::Pdq::from_slice)?,
                quality: p::Quality::new(c[40])
                    .ok_or_else(|| StoreError::Internal("stored quality out of range".into()))?,
            })
        })
        .collect()
}

impl ChangeRow {
    /// Converts to the wire form.
    pub fn into_entry(self) -> Result<p::SyncEntry, StoreError> {
        Ok(p::SyncEntry {
            seq: self.seq,
            op: if self.op == OP_ADD {
                p::SyncOp::Add
            } else {
                p::SyncOp::Withdraw
            },
            item_id: self.item_id,
            kind: kind_of(self.kind)?,
            md5: bytes(&self.md5, p::Md5::from_slice)?,
            sha256: bytes(&self.sha256, p::Sha256::from_slice)?,
            pdq: self
                .pdq
                .as_deref()
                .map(|b| bytes(b, p::Pdq::from_slice))
                .transpose()?,
            quality: self
                .quality
                .and_then(|q| u8::try_from(q).ok())
                .and_then(p::Quality::new),
            frames: self.frames.as_deref().map(decode_frames).transpose()?,
        })
    }
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

/// The storage backend.
#[derive(Clone)]
pub enum Store {
    /// SQLite backend.
    Sqlite(sqlite::SqliteStore),
    /// PostgreSQL backend.
    Postgres(postgres::PgStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Opens (and migrates) the configured database.
    pub async fn open(cfg: &DatabaseConfig) -> Result<Store, StoreError> {
        match cfg {
            DatabaseConfig::Sqlite { path, readers } => Ok(Store::Sqlite(
                sqlite::SqliteStore::open(path, *readers).await?,
            )),
            DatabaseConfig::Postgres {
                url,
                pool_size,
                commit_jitter,
            } => Ok(Store::Postgres(
                postgres::PgStore::open(url, *pool_size, *commit_jitter).await?,
            )),
        }
    }

    /// Backend name for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Stores a case, or finds the one stored earlier under the same idempotency key.
    pub async fn create_case(&self, c: NewCase) -> Result<CreateOutcome, StoreError> {
        dispatch!(self, s => s.create_case(c).await)
    }

    /// Looks a case up by number.
    pub async fn case_auth(&self, number: &str) -> Result<Option<CaseAuth>, StoreError> {
        dispatch!(self, s => s.case_auth(number).await)
    }

    /// Adds items to a case (idempotent by key). Returns `(created, item_ids)`.
    pub async fn add_items(
        &self,
        case_id: i64,
        idem_hash: [u8; 32],
        request_hash: [u8; 32],
        items: Vec<NewItem>,
        now: i64,
    ) -> Result<(bool, Vec<i64>), StoreError> {
        dispatch!(self, s => s.add_items(case_id, idem_hash, request_hash, items, now).await)
    }

    /// Withdraws one item (`Some`) or every item and the case (`None`);
    /// returns the items withdrawn now.
    pub async fn withdraw(
        &self,
        case_id: i64,
        item_id: Option<i64>,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        dispatch!(self, s => s.withdraw(case_id, item_id, now).await)
    }

    /// What the victim sees.
    pub async fn case_status(&self, case_id: i64) -> Result<p::CaseStatus, StoreError> {
        dispatch!(self, s => s.case_status(case_id).await)
    }

    /// Finds the active platform with this key hash.
    pub async fn platform_by_key(&self, key_hash: [u8; 32]) -> Result<Option<i64>, StoreError> {
        dispatch!(self, s => s.platform_by_key(key_hash).await)
    }

    /// Records that a platform has everything up to `cursor` (clamped to the log's end).
    pub async fn record_sync(&self, platform_id: i64, cursor: i64) -> Result<(), StoreError> {
        dispatch!(self, s => s.record_sync(platform_id, cursor).await)
    }

    /// Changes with `seq > cursor`, ascending, at most `limit`.
    pub async fn changes(&self, cursor: i64, limit: i64) -> Result<Vec<ChangeRow>, StoreError> {
        dispatch!(self, s => s.changes(cursor, limit).await)
    }

    /// Records feedback; all events or none. Returns `(accepted, duplicates)`.
    pub async fn feedback(
        &self,
        platform_id: i64,
        events: Vec<p::FeedbackEvent>,
        now: i64,
    ) -> Result<(u32, u32), StoreError> {
        dispatch!(self, s => s.feedback(platform_id, events, now).await)
    }

    /// Active items with `id > after`, ascending, at most `limit`.
    pub async fn export_page(&self, after: i64, limit: i64) -> Result<Vec<ExportRow>, StoreError> {
        dispatch!(self, s => s.export_page(after, limit).await)
    }

    /// Creates a platform with this key hash.
    pub async fn create_platform(
        &self,
        name: &str,
        key_hash: [u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.create_platform(name, key_hash, now).await)
    }

    /// Revokes a platform's key; `false` when no active platform has that name.
    pub async fn revoke_platform(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.revoke_platform(name, now).await)
    }

    /// Every platform.
    pub async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, StoreError> {
        dispatch!(self, s => s.list_platforms().await)
    }

    /// A trivial query, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, s => s.ping().await)
    }

    /// Flushes and closes (waits for the SQLite writer to finish its queue).
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}
