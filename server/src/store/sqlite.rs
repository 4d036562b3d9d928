//! SQLite backend: WAL, exactly one writer thread with group commit, a small
//! pool of read-only connections (ADR 0100, ADR 0101).
//!
//! Every write is a closure sent to the writer thread. The thread takes every
//! queued closure (up to `MAX_BATCH`), runs each inside its own SAVEPOINT of
//! one `BEGIN IMMEDIATE` transaction, commits once (`synchronous = FULL`: one
//! fsync for the whole batch), and only then answers each caller. A closure
//! that fails is rolled back to its savepoint alone. Because there is one
//! writer, change-log positions are assigned and committed in the same order.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension, params};
use takedown_protocol as p;
use tokio::sync::{Semaphore, oneshot};

use super::codes::{self, Code};
use super::*;
use crate::domain::rules::{self, AddSnapshot, Admission, NewEvent, PriorBatch, WithdrawSnapshot};

const MAX_BATCH: usize = 256;
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_feedback_outcomes.sql"),
    include_str!("../../migrations/sqlite/0003_case_item_numbers.sql"),
    include_str!("../../migrations/sqlite/0004_recovery_verifier.sql"),
    include_str!("../../migrations/sqlite/0005_edge_cuts.sql"),
];

type Finisher = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finisher) + Send>;

struct Inner {
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    read_permits: Semaphore,
}

/// The SQLite store (cheap to clone).
#[derive(Clone)]
pub struct SqliteStore(Arc<Inner>);

fn open_conn(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;",
    )?;
    Ok(c)
}

fn migrate(c: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let v = i as i64 + 1;
        if v <= version {
            continue;
        }
        let tx = c.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {v}"))?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens or creates the database file and migrates it.
    pub async fn open(path: &Path, readers: usize) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path, readers.max(1)))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    fn open_blocking(path: &Path, readers: usize) -> Result<Self, StoreError> {
        let mut w = open_conn(path)?;
        migrate(&mut w)?;
        let mut pool = Vec::with_capacity(readers);
        for _ in 0..readers {
            let r = open_conn(path)?;
            r.execute_batch("PRAGMA query_only = ON")?;
            pool.push(r);
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(w, rx))
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok(SqliteStore(Arc::new(Inner {
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            readers: Mutex::new(pool),
            read_permits: Semaphore::new(readers),
        })))
    }

    /// Runs `f` on the writer thread inside a transaction (batched with others).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn: &Connection| {
            let r = f(conn);
            let ok = r.is_ok();
            let fin: Finisher = Box::new(move |commit: Result<(), StoreError>| {
                let _ = tx.send(commit.and(r));
            });
            (ok, fin)
        });
        {
            let guard = self.0.writer.lock().expect("writer lock");
            let sender = guard
                .as_ref()
                .ok_or_else(|| StoreError::Internal("store closed".into()))?;
            sender
                .send(job)
                .map_err(|_| StoreError::Internal("writer thread gone".into()))?;
        }
        rx.await
            .map_err(|_| StoreError::Internal("write aborted".into()))?
    }

    /// Runs `f` on a reader connection inside one read transaction.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self
            .0
            .read_permits
            .acquire()
            .await
            .map_err(|_| StoreError::Internal("store closed".into()))?;
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner
                .readers
                .lock()
                .expect("reader lock")
                .pop()
                .ok_or_else(|| StoreError::Internal("no reader".into()))?;
            let r = (|| {
                conn.execute_batch("BEGIN")?;
                let r = f(&conn);
                conn.execute_batch("COMMIT")?;
                r
            })();
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            inner.readers.lock().expect("reader lock").push(conn);
            r
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

fn blob32(v: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(v.as_slice()).map_err(|_| StoreError::Internal(format!("bad {what}")))
}

#[async_trait::async_trait]
impl Backend for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn close(&self) {
        let sender = self.0.writer.lock().expect("writer lock").take();
        drop(sender);
        let handle = self.0.writer_thread.lock().expect("writer lock").take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    async fn insert_case(&self, c: NewCase) -> Result<InsertCase, StoreError> {
        self.write(move |db| {
            // One writer: looking up the key and inserting cannot race.
            let existing: Option<(i64, String, Vec<u8>, Vec<u8>)> = db
                .prepare_cached(
                    "SELECT id, number, request_hash, token_wrap FROM cases WHERE idem_hash = ?",
                )?
                .query_row([&c.idem_hash[..]], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            if let Some((id, number, request_hash, wrap)) = existing {
                return Ok(InsertCase::Existing(StoredCase {
                    number,
                    request_hash,
                    token_wrap: blob32(wrap, "token wrap")?,
                    item_numbers: batch_item_numbers(db, id, 0)?,
                }));
            }
            let taken: bool = db
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM cases WHERE number = ?)")?
                .query_row([&c.number], |r| r.get(0))?;
            if taken {
                return Err(StoreError::CaseNumberTaken);
            }
            db.prepare_cached(
                "INSERT INTO cases (number, token_hash, idem_hash, request_hash, token_wrap, \
                 submitter, state, item_count, created_at, recovery_verifier) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                c.number,
                &c.token_hash[..],
                &c.idem_hash[..],
                &c.request_hash[..],
                &c.token_wrap[..],
                c.submitter.as_str(),
                p::ItemState::Active.code(),
                c.items.len() as i64,
                c.now,
                c.recovery_verifier.as_ref().map(|v| &v[..]),
            ])?;
            let case_id = db.last_insert_rowid();
            let item_numbers = insert_items(db, case_id, 0, 1, &c.items, c.now)?;
            insert_event(db, case_id, c.now, c.event)?;
            Ok(InsertCase::Created { item_numbers })
        })
        .await
    }

    async fn case_auth(&self, number: &str) -> Result<Option<CaseAuth>, StoreError> {
        let number = number.to_string();
        self.read(move |db| {
            let row: Option<(i64, Vec<u8>)> = db
                .prepare_cached("SELECT id, token_hash FROM cases WHERE number = ?")?
                .query_row([number], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            Ok(row.and_then(|(case_id, h)| {
                Some(CaseAuth {
                    case_id,
                    token_hash: <[u8; 32]>::try_from(h.as_slice()).ok()?,
                })
            }))
        })
        .await
    }

    async fn case_recovery(&self, number: &str) -> Result<Option<CaseRecovery>, StoreError> {
        let number = number.to_string();
        self.read(move |db| {
            let row: Option<(i64, String, Option<Vec<u8>>)> = db
                .prepare_cached(
                    "SELECT id, submitter, recovery_verifier FROM cases WHERE number = ?",
                )?
                .query_row([number], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|(case_id, submitter, v)| CaseRecovery::from_row(case_id, &submitter, v))
                .transpose()
        })
        .await
    }

    async fn replace_token(&self, case_id: i64, token_hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(move |db| {
            let n = db
                .prepare_cached("UPDATE cases SET token_hash = ? WHERE id = ?")?
                .execute(params![&token_hash[..], case_id])?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn add_items(&self, b: NewBatch) -> Result<AddedItems, StoreError> {
        self.write(move |db| {
            let prior = db
                .prepare_cached(
                    "SELECT id, request_hash FROM item_ops WHERE case_id = ? AND idem_hash = ?",
                )?
                .query_row(params![b.case_id, &b.idem_hash[..]], |r| {
                    Ok(PriorBatch {
                        op_id: r.get(0)?,
                        request_hash: r.get(1)?,
                    })
                })
                .optional()?;
            let (state, item_count): (i64, i64) = db
                .prepare_cached("SELECT state, item_count FROM cases WHERE id = ?")?
                .query_row([b.case_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let snapshot = AddSnapshot {
                case_state: p::ItemState::from_code(state)?,
                item_count,
                prior,
            };
            let event = match rules::admit_items(&snapshot, &b.request_hash, b.items.len())? {
                Admission::Replay { op_id } => {
                    return Ok(AddedItems {
                        created: false,
                        item_numbers: batch_item_numbers(db, b.case_id, op_id)?,
                    });
                }
                Admission::Insert { event } => event,
            };
            db.prepare_cached(
                "INSERT INTO item_ops (case_id, idem_hash, request_hash) VALUES (?, ?, ?)",
            )?
            .execute(params![b.case_id, &b.idem_hash[..], &b.request_hash[..]])?;
            let op_id = db.last_insert_rowid();
            // Numbers continue after every item the case ever had (withdrawn
            // ones keep theirs), so they are never reused.
            let item_numbers = insert_items(db, b.case_id, op_id, item_count + 1, &b.items, b.now)?;
            db.prepare_cached("UPDATE cases SET item_count = item_count + ? WHERE id = ?")?
                .execute(params![item_numbers.len() as i64, b.case_id])?;
            insert_event(db, b.case_id, b.now, event)?;
            Ok(AddedItems {
                created: true,
                item_numbers,
            })
        })
        .await
    }

    async fn withdraw(
        &self,
        case_id: i64,
        target: WithdrawTarget,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        self.write(move |db| {
            let case_state: i64 = db
                .prepare_cached("SELECT state FROM cases WHERE id = ?")?
                .query_row([case_id], |r| r.get(0))?;
            let only = match target {
                WithdrawTarget::Item(number) => Some(number),
                WithdrawTarget::Case => None,
            };
            let mut st = db.prepare_cached(
                "SELECT id, state, number FROM items WHERE case_id = ?1 \
                 AND (?2 IS NULL OR number = ?2) ORDER BY id",
            )?;
            let rows = st
                .query_map(params![case_id, only], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let numbers: HashMap<i64, i64> = rows.iter().map(|&(id, _, n)| (id, n)).collect();
            let items = rows
                .into_iter()
                .map(|(id, s, _)| -> Result<_, StoreError> {
                    Ok((id, p::ItemState::from_code(s)?))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            // The plan works on global ids (the change log needs them).
            let global = match target {
                WithdrawTarget::Item(_) => match items.first() {
                    Some(&(id, _)) => WithdrawTarget::Item(id),
                    None => return Err(StoreError::NotFound),
                },
                WithdrawTarget::Case => WithdrawTarget::Case,
            };
            let plan = rules::plan_withdraw(
                global,
                &WithdrawSnapshot {
                    case_state: p::ItemState::from_code(case_state)?,
                    items,
                },
            )?;
            let withdrawn = p::ItemState::Withdrawn.code();
            for (seq, id) in (next_seq(db)?..).zip(plan.item_ids.iter()) {
                db.prepare_cached("UPDATE items SET state = ?, withdrawn_at = ? WHERE id = ?")?
                    .execute(params![withdrawn, now, id])?;
                db.prepare_cached("INSERT INTO changes (seq, item_id, op) VALUES (?, ?, ?)")?
                    .execute(params![seq, id, p::SyncOp::Withdraw.code()])?;
            }
            if plan.withdraw_case {
                db.prepare_cached("UPDATE cases SET state = ?, withdrawn_at = ? WHERE id = ?")?
                    .execute(params![withdrawn, now, case_id])?;
            }
            if let Some(e) = plan.event {
                insert_event(db, case_id, now, e)?;
            }
            plan.item_ids
                .iter()
                .map(|id| numbers.get(id).copied().ok_or(StoreError::NotFound))
                .collect()
        })
        .await
    }

    async fn case_status_parts(&self, case_id: i64) -> Result<StatusParts, StoreError> {
        self.read(move |db| {
            let (number, state, created_at): (String, i64, i64) = db
                .prepare_cached("SELECT number, state, created_at FROM cases WHERE id = ?")?
                .query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?
                .ok_or(StoreError::NotFound)?;
            let mut st = db.prepare_cached(
                "SELECT number, kind, state, add_seq, matches, removals, not_violating, \
                 created_at, withdrawn_at FROM items WHERE case_id = ? ORDER BY number",
            )?;
            let rows = st
                .query_map([case_id], |r| {
                    Ok((
                        (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?),
                        StatusItem {
                            number: r.get(0)?,
                            kind: p::ItemKind::Image,
                            state: p::ItemState::Active,
                            add_seq: r.get(3)?,
                            matches: r.get(4)?,
                            removals: r.get(5)?,
                            not_violating: r.get(6)?,
                            created_at: r.get(7)?,
                            withdrawn_at: r.get(8)?,
                        },
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let items = rows
                .into_iter()
                .map(|((kind, state), it)| -> Result<StatusItem, StoreError> {
                    Ok(StatusItem {
                        kind: p::ItemKind::from_code(kind)?,
                        state: p::ItemState::from_code(state)?,
                        ..it
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut st =
                db.prepare_cached("SELECT synced_through FROM platforms WHERE revoked_at IS NULL")?;
            let synced_through = st
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?;
            let mut st = db.prepare_cached(
                "SELECT e.at, e.kind, i.number, e.count FROM events e \
                 LEFT JOIN items i ON i.id = e.item_id WHERE e.case_id = ? ORDER BY e.id",
            )?;
            let events = st
                .query_map([case_id], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(
                    |(at, kind, item_number, count)| -> Result<EventRow, StoreError> {
                        Ok(EventRow {
                            at,
                            kind: codes::event_kind(&kind)?,
                            item_number,
                            count,
                        })
                    },
                )
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(StatusParts {
                number,
                state: p::ItemState::from_code(state)?,
                created_at,
                items,
                synced_through,
                events,
            })
        })
        .await
    }

    async fn platform_by_key(&self, key_hash: [u8; 32]) -> Result<Option<i64>, StoreError> {
        self.read(move |db| {
            Ok(db
                .prepare_cached(
                    "SELECT id FROM platforms WHERE key_hash = ? AND revoked_at IS NULL",
                )?
                .query_row([&key_hash[..]], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn record_sync(&self, platform_id: i64, cursor: i64) -> Result<(), StoreError> {
        self.write(move |db| {
            db.prepare_cached(
                "UPDATE platforms SET synced_through = \
                 min(?1, (SELECT coalesce(max(seq), 0) FROM changes)) \
                 WHERE id = ?2 AND synced_through < ?1",
            )?
            .execute(params![cursor, platform_id])?;
            Ok(())
        })
        .await
    }

    async fn changes(&self, cursor: i64, limit: i64) -> Result<Vec<ChangeRow>, StoreError> {
        self.read(move |db| {
            let mut st = db.prepare_cached(
                "SELECT c.seq, c.op, i.id, i.kind, i.md5, i.sha256, i.pdq, i.quality, i.frames, \
                 i.edge_cuts \
                 FROM changes c JOIN items i ON i.id = c.item_id \
                 WHERE c.seq > ? ORDER BY c.seq LIMIT ?",
            )?;
            let mut rows = st.query(params![cursor, limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(ChangeRow {
                    seq: r.get(0)?,
                    op: p::SyncOp::from_code(r.get(1)?)?,
                    item_id: r.get(2)?,
                    kind: p::ItemKind::from_code(r.get(3)?)?,
                    md5: r.get(4)?,
                    sha256: r.get(5)?,
                    pdq: r.get(6)?,
                    quality: r.get(7)?,
                    frames: r.get(8)?,
                    edge_cuts: r.get(9)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn item_cases(&self, item_ids: Vec<i64>) -> Result<HashMap<i64, i64>, StoreError> {
        self.read(move |db| {
            let mut st = db.prepare_cached("SELECT case_id FROM items WHERE id = ?")?;
            let mut out = HashMap::with_capacity(item_ids.len());
            for id in item_ids {
                if let Some(case_id) = st.query_row([id], |r| r.get(0)).optional()? {
                    out.insert(id, case_id);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn record_feedback(
        &self,
        platform_id: i64,
        rows: Vec<PlannedFeedback>,
        now: i64,
    ) -> Result<u32, StoreError> {
        self.write(move |db| {
            let mut new_rows = Vec::with_capacity(rows.len());
            let mut ins = db.prepare_cached(
                "INSERT INTO feedback (platform_id, event_id, item_id, outcome, reference, \
                 created_at) VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (platform_id, event_id) DO NOTHING",
            )?;
            for r in &rows {
                let n = ins.execute(params![
                    platform_id,
                    r.event_id,
                    r.item_id,
                    r.outcome.as_str(),
                    r.reference,
                    now
                ])?;
                if n > 0 {
                    new_rows.push(r);
                }
            }
            // Only the first report of an outcome by a platform on an item counts.
            let new_count = new_rows.len() as u32;
            let mut first = db.prepare_cached(
                "INSERT INTO feedback_outcomes (item_id, outcome, platform_id) VALUES (?, ?, ?) \
                 ON CONFLICT DO NOTHING",
            )?;
            let mut counted = Vec::with_capacity(new_rows.len());
            for r in new_rows {
                if first.execute(params![r.item_id, r.outcome.as_str(), platform_id])? > 0 {
                    counted.push(r);
                }
            }
            let new_rows = counted;
            let mut upd = db.prepare_cached(
                "UPDATE items SET matches = matches + ?, removals = removals + ?, \
                 not_violating = not_violating + ? WHERE id = ?",
            )?;
            for (item, d) in rules::counter_updates(new_rows.iter().copied()) {
                upd.execute(params![d.matches, d.removals, d.not_violating, item])?;
            }
            for r in &new_rows {
                insert_event(db, r.case_id, now, r.event)?;
            }
            Ok(new_count)
        })
        .await
    }

    async fn export_page(&self, after: i64, limit: i64) -> Result<Vec<ExportRow>, StoreError> {
        self.read(move |db| {
            let mut st = db.prepare_cached(
                "SELECT id, kind, md5, sha256, pdq, quality FROM items \
                 WHERE id > ? AND state = ? ORDER BY id LIMIT ?",
            )?;
            let mut rows = st.query(params![after, p::ItemState::Active.code(), limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(ExportRow {
                    item_id: r.get(0)?,
                    kind: p::ItemKind::from_code(r.get(1)?)?,
                    md5: r.get(2)?,
                    sha256: r.get(3)?,
                    pdq: r.get(4)?,
                    quality: r.get(5)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn create_platform(
        &self,
        name: &str,
        key_hash: [u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        let name = name.to_string();
        self.write(move |db| {
            let taken: bool = db
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM platforms WHERE name = ?)")?
                .query_row([&name], |r| r.get(0))?;
            if taken {
                return Err(StoreError::NameTaken);
            }
            db.prepare_cached(
                "INSERT INTO platforms (name, key_hash, created_at) VALUES (?, ?, ?)",
            )?
            .execute(params![name, &key_hash[..], now])?;
            Ok(())
        })
        .await
    }

    async fn revoke_platform(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.write(move |db| {
            Ok(db
                .prepare_cached(
                    "UPDATE platforms SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                )?
                .execute(params![now, name])?
                > 0)
        })
        .await
    }

    async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, StoreError> {
        self.read(|db| {
            let mut st = db.prepare_cached(
                "SELECT name, created_at, revoked_at, synced_through FROM platforms ORDER BY id",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(PlatformInfo {
                        name: r.get(0)?,
                        created_at: r.get(1)?,
                        revoked_at: r.get(2)?,
                        synced_through: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|db| Ok(db.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(|_| ())
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let err = StoreError::from(e);
            for job in batch {
                // Run nothing; tell every caller.
                drop(job);
            }
            tracing::error!(error = %err, "sqlite writer could not begin a transaction");
            continue;
        }
        let mut finishers = Vec::with_capacity(batch.len());
        for job in batch {
            let sp = conn.execute_batch("SAVEPOINT job");
            if sp.is_err() {
                continue;
            }
            match std::panic::catch_unwind(AssertUnwindSafe(|| job(&conn))) {
                Ok((true, fin)) => {
                    let _ = conn.execute_batch("RELEASE job");
                    finishers.push(fin);
                }
                Ok((false, fin)) => {
                    let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
                    finishers.push(fin);
                }
                Err(_) => {
                    tracing::error!("a write job panicked; rolled back");
                    let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
                }
            }
        }
        let commit = conn.execute_batch("COMMIT").map_err(StoreError::from);
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for fin in finishers {
            fin(commit.clone());
        }
    }
    // Queue closed: checkpoint so the WAL does not linger.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
}

fn next_seq(db: &Connection) -> Result<i64, StoreError> {
    Ok(db
        .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM changes")?
        .query_row([], |r| r.get(0))?)
}

/// Inserts items numbered `first_number`, `first_number + 1`, … within the
/// case; returns those numbers.
fn insert_items(
    db: &Connection,
    case_id: i64,
    batch: i64,
    first_number: i64,
    items: &[NewItem],
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut numbers = Vec::with_capacity(items.len());
    let mut ins = db.prepare_cached(
        "INSERT INTO items (case_id, batch, kind, state, md5, sha256, pdq, quality, frames, \
         edge_cuts, add_seq, created_at, number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?;
    let mut chg = db.prepare_cached("INSERT INTO changes (seq, item_id, op) VALUES (?, ?, ?)")?;
    for ((seq, number), it) in (next_seq(db)?..).zip(first_number..).zip(items.iter()) {
        ins.execute(params![
            case_id,
            batch,
            it.kind.code(),
            p::ItemState::Active.code(),
            it.md5,
            it.sha256,
            it.pdq,
            it.quality,
            it.frames,
            it.edge_cuts,
            seq,
            now,
            number
        ])?;
        let id = db.last_insert_rowid();
        chg.execute(params![seq, id, p::SyncOp::Add.code()])?;
        numbers.push(number);
    }
    Ok(numbers)
}

fn batch_item_numbers(db: &Connection, case_id: i64, batch: i64) -> Result<Vec<i64>, StoreError> {
    let mut st = db.prepare_cached(
        "SELECT number FROM items WHERE case_id = ? AND batch = ? ORDER BY number",
    )?;
    let rows = st.query_map(params![case_id, batch], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn insert_event(db: &Connection, case_id: i64, at: i64, e: NewEvent) -> Result<(), StoreError> {
    db.prepare_cached(
        "INSERT INTO events (case_id, at, kind, item_id, count) VALUES (?, ?, ?, ?, ?)",
    )?
    .execute(params![
        case_id,
        at,
        e.kind.as_str(),
        e.item_id,
        e.count as i64
    ])?;
    Ok(())
}
