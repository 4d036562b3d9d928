//! PostgreSQL backend (ADR 0100, ADR 0101).
//!
//! A deadpool connection pool; each operation is one transaction. Change-log
//! positions come from the single row of `sync_counter`: a writer takes them
//! with `UPDATE sync_counter ... RETURNING` as the last statement before
//! `COMMIT`, so the row lock serialises exactly the "take position → commit"
//! step of concurrent writers (in any number of processes) and a position is
//! never visible before every smaller one is. Everything else (case rows,
//! events, id allocation) happens before the lock, in parallel.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use takedown_protocol as p;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::codes::{self, Code};
use super::*;
use crate::domain::rules::{self, AddSnapshot, Admission, NewEvent, PriorBatch, WithdrawSnapshot};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_feedback_outcomes.sql"),
    include_str!("../../migrations/postgres/0003_case_item_numbers.sql"),
    include_str!("../../migrations/postgres/0004_recovery_verifier.sql"),
    include_str!("../../migrations/postgres/0005_edge_cuts.sql"),
];
/// Advisory lock key that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x7464_6d69_6772;

/// The PostgreSQL store (cheap to clone).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    commit_jitter: Option<Duration>,
}

fn unique_violation(e: &tokio_postgres::Error, constraint: &str) -> bool {
    e.as_db_error().is_some_and(|d| {
        d.code() == &SqlState::UNIQUE_VIOLATION && d.constraint() == Some(constraint)
    })
}

impl PgStore {
    /// Connects, builds the pool and migrates.
    pub async fn open(
        url: &str,
        pool_size: usize,
        commit_jitter: Option<Duration>,
    ) -> Result<Self, StoreError> {
        let mut cfg = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Internal(format!("bad database URL: {e}")))?;
        // Every query here is short; JIT compilation only adds latency (measured
        // on 50k-row sync pages, where the estimate crosses jit_above_cost).
        let opts = format!("{} -c jit=off", cfg.get_options().unwrap_or(""));
        cfg.options(opts.trim());
        let mgr = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(pool_size.max(2))
            .build()
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let store = PgStore {
            pool,
            commit_jitter,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut c = self.pool.get().await?;
        c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let r = async {
            c.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await?;
            let row = c
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM schema_migrations",
                    &[],
                )
                .await?;
            let have: i32 = row.get(0);
            for (i, sql) in MIGRATIONS.iter().enumerate() {
                let v = i as i32 + 1;
                if v <= have {
                    continue;
                }
                let tx = c.transaction().await?;
                tx.batch_execute(sql).await?;
                tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&v])
                    .await?;
                tx.commit().await?;
            }
            Ok::<(), StoreError>(())
        }
        .await;
        c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        r
    }

    /// Takes `n` change-log positions; holds the counter row lock until commit.
    /// Returns the first position.
    async fn take_seqs(&self, tx: &Transaction<'_>, n: i64) -> Result<i64, StoreError> {
        let st = tx
            .prepare_cached("UPDATE sync_counter SET last_seq = last_seq + $1 RETURNING last_seq")
            .await?;
        let last: i64 = tx.query_one(&st, &[&n]).await?.get(0);
        Ok(last - n + 1)
    }

    async fn jitter(&self) {
        if let Some(max) = self.commit_jitter {
            let us = rand::random::<u64>() % (max.as_micros() as u64 + 1);
            tokio::time::sleep(Duration::from_micros(us)).await;
        }
    }

    /// Inserts items numbered `first_number`, `first_number + 1`, … within the
    /// case; returns those numbers.
    async fn insert_items(
        &self,
        tx: &Transaction<'_>,
        case_id: i64,
        batch: i64,
        first_number: i32,
        items: &[NewItem],
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let n = items.len() as i64;
        let st = tx
            .prepare_cached("SELECT nextval('items_id_seq') FROM generate_series(1, $1::bigint)")
            .await?;
        let ids: Vec<i64> = tx
            .query(&st, &[&n])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let kinds: Vec<i16> = items.iter().map(|i| i.kind.code()).collect();
        let md5: Vec<&[u8]> = items.iter().map(|i| i.md5.as_slice()).collect();
        let sha: Vec<&[u8]> = items.iter().map(|i| i.sha256.as_slice()).collect();
        let pdq: Vec<Option<&[u8]>> = items.iter().map(|i| i.pdq.as_deref()).collect();
        let q: Vec<Option<i16>> = items.iter().map(|i| i.quality.map(|q| q as i16)).collect();
        let frames: Vec<Option<&[u8]>> = items.iter().map(|i| i.frames.as_deref()).collect();
        let cuts: Vec<Option<&[u8]>> = items.iter().map(|i| i.edge_cuts.as_deref()).collect();
        // The counter lock is taken here, by the last statement before COMMIT.
        let first = self.take_seqs(tx, n).await?;
        let st = tx
            .prepare_cached(
                "WITH ins AS ( \
                   INSERT INTO items (id, case_id, batch, kind, md5, sha256, pdq, quality, frames, \
                                      edge_cuts, add_seq, created_at, state, number) \
                   SELECT u.id, $1, $2, u.kind, u.md5, u.sha, u.pdq, u.q, u.frames, u.cuts, \
                          $3 + u.ord - 1, $4, $12, $14::integer + u.ord::integer - 1 \
                   FROM unnest($5::bigint[], $6::smallint[], $7::bytea[], $8::bytea[], $9::bytea[], \
                               $10::smallint[], $11::bytea[], $15::bytea[]) \
                        WITH ORDINALITY AS u(id, kind, md5, sha, pdq, q, frames, cuts, ord) \
                   RETURNING id, add_seq, kind, md5, sha256, pdq, quality, frames, edge_cuts) \
                 INSERT INTO changes (seq, item_id, op, kind, md5, sha256, pdq, quality, frames, \
                                      edge_cuts) \
                 SELECT add_seq, id, $13, kind, md5, sha256, pdq, quality, frames, edge_cuts FROM ins",
            )
            .await?;
        tx.execute(
            &st,
            &[
                &case_id,
                &batch,
                &first,
                &now,
                &ids,
                &kinds,
                &md5,
                &sha,
                &pdq,
                &q,
                &frames,
                &p::ItemState::Active.code(),
                &p::SyncOp::Add.code(),
                &first_number,
                &cuts,
            ],
        )
        .await?;
        Ok((0..n).map(|k| i64::from(first_number) + k).collect())
    }
}

/// Attempts of one transaction before a deadlock or serialization failure is
/// given up on (each aborted attempt rolled back entirely).
const MAX_TX_ATTEMPTS: u32 = 5;

/// Runs a whole transaction again when PostgreSQL aborted it to break a lock
/// cycle or a serialization conflict, with a short jittered backoff.
async fn retrying<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1u32;
    loop {
        match op().await {
            Err(StoreError::Database { class, .. })
                if class.retryable() && attempt < MAX_TX_ATTEMPTS =>
            {
                tracing::warn!(
                    class = class.as_str(),
                    attempt,
                    "transaction aborted by the database; retrying"
                );
                let ms = (2u64 << attempt) + rand::random::<u64>() % 10;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                attempt += 1;
            }
            r => return r,
        }
    }
}

fn blob32(v: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(v.as_slice()).map_err(|_| StoreError::Internal(format!("bad {what}")))
}

fn code<T: Code>(r: &tokio_postgres::Row, i: usize) -> Result<T, StoreError> {
    T::from_code(i64::from(r.get::<_, i16>(i)))
}

#[async_trait::async_trait]
impl Backend for PgStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn close(&self) {
        self.pool.close();
    }

    async fn insert_case(&self, c: NewCase) -> Result<InsertCase, StoreError> {
        let c = &c;
        retrying(|| async move {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let st = tx
                .prepare_cached(
                    "INSERT INTO cases (number, token_hash, idem_hash, request_hash, token_wrap, \
                 submitter, item_count, created_at, state, recovery_verifier) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (idem_hash) DO NOTHING RETURNING id",
                )
                .await?;
            let count = c.items.len() as i32;
            let inserted = tx
                .query_opt(
                    &st,
                    &[
                        &c.number,
                        &&c.token_hash[..],
                        &&c.idem_hash[..],
                        &&c.request_hash[..],
                        &&c.token_wrap[..],
                        &c.submitter.as_str(),
                        &count,
                        &c.now,
                        &p::ItemState::Active.code(),
                        &c.recovery_verifier.as_ref().map(|v| &v[..]),
                    ],
                )
                .await;
            let inserted = match inserted {
                Ok(r) => r,
                Err(e) if unique_violation(&e, "cases_number_key") => {
                    return Err(StoreError::CaseNumberTaken);
                }
                Err(e) => return Err(e.into()),
            };
            let Some(row) = inserted else {
                // Same idempotency key committed earlier (or concurrently).
                let row = tx
                .query_one(
                    "SELECT id, number, request_hash, token_wrap FROM cases WHERE idem_hash = $1",
                    &[&&c.idem_hash[..]],
                )
                .await?;
                return Ok(InsertCase::Existing(StoredCase {
                    number: row.get(1),
                    request_hash: row.get(2),
                    token_wrap: blob32(row.get(3), "token wrap")?,
                    item_numbers: batch_item_numbers(&tx, row.get(0), 0).await?,
                }));
            };
            let case_id: i64 = row.get(0);
            insert_event(&tx, case_id, c.now, c.event).await?;
            let item_numbers = self
                .insert_items(&tx, case_id, 0, 1, &c.items, c.now)
                .await?;
            self.jitter().await;
            tx.commit().await?;
            Ok(InsertCase::Created { item_numbers })
        })
        .await
    }

    async fn case_auth(&self, number: &str) -> Result<Option<CaseAuth>, StoreError> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached("SELECT id, token_hash FROM cases WHERE number = $1")
            .await?;
        let row = c.query_opt(&st, &[&number]).await?;
        Ok(row.and_then(|r| {
            let h: Vec<u8> = r.get(1);
            Some(CaseAuth {
                case_id: r.get(0),
                token_hash: <[u8; 32]>::try_from(h.as_slice()).ok()?,
            })
        }))
    }

    async fn case_recovery(&self, number: &str) -> Result<Option<CaseRecovery>, StoreError> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached("SELECT id, submitter, recovery_verifier FROM cases WHERE number = $1")
            .await?;
        let row = c.query_opt(&st, &[&number]).await?;
        row.map(|r| {
            let submitter: String = r.get(1);
            CaseRecovery::from_row(r.get(0), &submitter, r.get(2))
        })
        .transpose()
    }

    async fn replace_token(&self, case_id: i64, token_hash: [u8; 32]) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        let n = c
            .execute(
                "UPDATE cases SET token_hash = $1 WHERE id = $2",
                &[&&token_hash[..], &case_id],
            )
            .await?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn add_items(&self, b: NewBatch) -> Result<AddedItems, StoreError> {
        let b = &b;
        retrying(|| async move {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Lock the case row: serialises additions and withdrawal of one case
        // (NO KEY UPDATE: feedback's timeline rows only need KEY SHARE on it).
        let row = tx
            .query_one(
                "SELECT state, item_count FROM cases WHERE id = $1 FOR NO KEY UPDATE",
                &[&b.case_id],
            )
            .await?;
        let prior = tx
            .query_opt(
                "SELECT id, request_hash FROM item_ops WHERE case_id = $1 AND idem_hash = $2",
                &[&b.case_id, &&b.idem_hash[..]],
            )
            .await?
            .map(|op| PriorBatch {
                op_id: op.get(0),
                request_hash: op.get(1),
            });
        let snapshot = AddSnapshot {
            case_state: code(&row, 0)?,
            item_count: i64::from(row.get::<_, i32>(1)),
            prior,
        };
        let event = match rules::admit_items(&snapshot, &b.request_hash, b.items.len())? {
            Admission::Replay { op_id } => {
                return Ok(AddedItems {
                    created: false,
                    item_numbers: batch_item_numbers(&tx, b.case_id, op_id).await?,
                });
            }
            Admission::Insert { event } => event,
        };
        let op_id: i64 = tx
            .query_one(
                "INSERT INTO item_ops (case_id, idem_hash, request_hash) VALUES ($1, $2, $3) RETURNING id",
                &[&b.case_id, &&b.idem_hash[..], &&b.request_hash[..]],
            )
            .await?
            .get(0);
        tx.execute(
            "UPDATE cases SET item_count = item_count + $1 WHERE id = $2",
            &[&(b.items.len() as i32), &b.case_id],
        )
        .await?;
        insert_event(&tx, b.case_id, b.now, event).await?;
        // Numbers continue after every item the case ever had (withdrawn ones
        // keep theirs), so they are never reused; the case row is locked.
        let first_number = row.get::<_, i32>(1) + 1;
        let item_numbers = self
            .insert_items(&tx, b.case_id, op_id, first_number, &b.items, b.now)
            .await?;
        self.jitter().await;
        tx.commit().await?;
        Ok(AddedItems {
            created: true,
            item_numbers,
        })
        }).await
    }

    async fn withdraw(
        &self,
        case_id: i64,
        target: WithdrawTarget,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        retrying(|| async move {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let case = tx
            .query_one(
                "SELECT state FROM cases WHERE id = $1 FOR NO KEY UPDATE",
                &[&case_id],
            )
            .await?;
        let only = match target {
            WithdrawTarget::Item(number) => Some(number),
            WithdrawTarget::Case => None,
        };
        let rows = tx
            .query(
                "SELECT id, state, number FROM items WHERE case_id = $1 \
                 AND ($2::bigint IS NULL OR number = $2) ORDER BY id",
                &[&case_id, &only],
            )
            .await?;
        let numbers: HashMap<i64, i64> = rows
            .iter()
            .map(|r| (r.get(0), i64::from(r.get::<_, i32>(2))))
            .collect();
        let items = rows
            .iter()
            .map(|r| -> Result<(i64, p::ItemState), StoreError> { Ok((r.get(0), code(r, 1)?)) })
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
                case_state: code(&case, 0)?,
                items,
            },
        )?;
        let withdrawn = p::ItemState::Withdrawn.code();
        if !plan.item_ids.is_empty() {
            tx.execute(
                "UPDATE items SET state = $1, withdrawn_at = $2 WHERE id = ANY($3)",
                &[&withdrawn, &now, &plan.item_ids],
            )
            .await?;
        }
        if plan.withdraw_case {
            tx.execute(
                "UPDATE cases SET state = $1, withdrawn_at = $2 WHERE id = $3",
                &[&withdrawn, &now, &case_id],
            )
            .await?;
        }
        if let Some(e) = plan.event {
            insert_event(&tx, case_id, now, e).await?;
        }
        if !plan.item_ids.is_empty() {
            let first = self.take_seqs(&tx, plan.item_ids.len() as i64).await?;
            tx.execute(
                "INSERT INTO changes (seq, item_id, op, kind, md5, sha256, pdq, quality, frames, \
                                      edge_cuts) \
                 SELECT $1 + u.ord - 1, u.id, $3, i.kind, i.md5, i.sha256, i.pdq, i.quality, i.frames, \
                        i.edge_cuts \
                 FROM unnest($2::bigint[]) WITH ORDINALITY AS u(id, ord) JOIN items i ON i.id = u.id",
                &[&first, &plan.item_ids, &p::SyncOp::Withdraw.code()],
            )
            .await?;
            self.jitter().await;
        }
        tx.commit().await?;
        plan.item_ids
            .iter()
            .map(|id| numbers.get(id).copied().ok_or(StoreError::NotFound))
            .collect()
        }).await
    }

    async fn case_status_parts(&self, case_id: i64) -> Result<StatusParts, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let st = tx
            .prepare_cached("SELECT number, state, created_at FROM cases WHERE id = $1")
            .await?;
        let case = tx
            .query_opt(&st, &[&case_id])
            .await?
            .ok_or(StoreError::NotFound)?;
        let st = tx
            .prepare_cached(
                "SELECT number, kind, state, add_seq, matches, removals, not_violating, \
                 created_at, withdrawn_at FROM items WHERE case_id = $1 ORDER BY number",
            )
            .await?;
        let items = tx
            .query(&st, &[&case_id])
            .await?
            .iter()
            .map(|r| {
                Ok(StatusItem {
                    number: i64::from(r.get::<_, i32>(0)),
                    kind: code(r, 1)?,
                    state: code(r, 2)?,
                    add_seq: r.get(3),
                    matches: i64::from(r.get::<_, i32>(4)),
                    removals: i64::from(r.get::<_, i32>(5)),
                    not_violating: i64::from(r.get::<_, i32>(6)),
                    created_at: r.get(7),
                    withdrawn_at: r.get(8),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let st = tx
            .prepare_cached("SELECT synced_through FROM platforms WHERE revoked_at IS NULL")
            .await?;
        let synced_through = tx.query(&st, &[]).await?.iter().map(|r| r.get(0)).collect();
        let st = tx
            .prepare_cached(
                "SELECT e.at, e.kind, i.number, e.count FROM events e \
                 LEFT JOIN items i ON i.id = e.item_id WHERE e.case_id = $1 ORDER BY e.id",
            )
            .await?;
        let events = tx
            .query(&st, &[&case_id])
            .await?
            .iter()
            .map(|r| {
                Ok(EventRow {
                    at: r.get(0),
                    kind: codes::event_kind(r.get(1))?,
                    item_number: r.get::<_, Option<i32>>(2).map(i64::from),
                    count: i64::from(r.get::<_, i32>(3)),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        tx.commit().await?;
        Ok(StatusParts {
            number: case.get(0),
            state: code(&case, 1)?,
            created_at: case.get(2),
            items,
            synced_through,
            events,
        })
    }

    async fn platform_by_key(&self, key_hash: [u8; 32]) -> Result<Option<i64>, StoreError> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached("SELECT id FROM platforms WHERE key_hash = $1 AND revoked_at IS NULL")
            .await?;
        Ok(c.query_opt(&st, &[&&key_hash[..]]).await?.map(|r| r.get(0)))
    }

    async fn record_sync(&self, platform_id: i64, cursor: i64) -> Result<(), StoreError> {
        retrying(|| async move {
            let c = self.pool.get().await?;
            let st = c
                .prepare_cached(
                    "UPDATE platforms SET synced_through = \
                 least($1, (SELECT coalesce(max(seq), 0) FROM changes)) \
                 WHERE id = $2 AND synced_through < $1",
                )
                .await?;
            c.execute(&st, &[&cursor, &platform_id]).await?;
            Ok(())
        })
        .await
    }

    async fn changes(&self, cursor: i64, limit: i64) -> Result<Vec<ChangeRow>, StoreError> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached(
                // One range scan: the change rows carry the fingerprints.
                "SELECT seq, op, item_id, kind, md5, sha256, pdq, quality, frames, edge_cuts \
                 FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .await?;
        c.query(&st, &[&cursor, &limit])
            .await?
            .iter()
            .map(|r| {
                Ok(ChangeRow {
                    seq: r.get(0),
                    op: code(r, 1)?,
                    item_id: r.get(2),
                    kind: code(r, 3)?,
                    md5: r.get(4),
                    sha256: r.get(5),
                    pdq: r.get(6),
                    quality: r.get::<_, Option<i16>>(7).map(i64::from),
                    frames: r.get(8),
                    edge_cuts: r.get(9),
                })
            })
            .collect()
    }

    async fn item_cases(&self, item_ids: Vec<i64>) -> Result<HashMap<i64, i64>, StoreError> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached("SELECT id, case_id FROM items WHERE id = ANY($1)")
            .await?;
        Ok(c.query(&st, &[&item_ids])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    async fn record_feedback(
        &self,
        platform_id: i64,
        rows: Vec<PlannedFeedback>,
        now: i64,
    ) -> Result<u32, StoreError> {
        let rows = &rows;
        retrying(|| async move {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let ins = tx
            .prepare_cached(
                "INSERT INTO feedback (platform_id, event_id, item_id, outcome, reference, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (platform_id, event_id) DO NOTHING",
            )
            .await?;
        let mut new_rows = Vec::with_capacity(rows.len());
        for r in rows.iter() {
            let n = tx
                .execute(
                    &ins,
                    &[
                        &platform_id,
                        &r.event_id,
                        &r.item_id,
                        &r.outcome.as_str(),
                        &r.reference,
                        &now,
                    ],
                )
                .await?;
            if n > 0 {
                new_rows.push(r);
            }
        }
        // Only the first report of an outcome by a platform on an item counts
        // (rows are in item order: the same lock order as the counters).
        let new_count = new_rows.len() as u32;
        let first = tx
            .prepare_cached(
                "INSERT INTO feedback_outcomes (item_id, outcome, platform_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        let mut counted = Vec::with_capacity(new_rows.len());
        for r in new_rows {
            if tx
                .execute(&first, &[&r.item_id, &r.outcome.as_str(), &platform_id])
                .await?
                > 0
            {
                counted.push(r);
            }
        }
        let new_rows = counted;
        for r in &new_rows {
            insert_event(&tx, r.case_id, now, r.event).await?;
        }
        let upd = tx
            .prepare_cached(
                "UPDATE items SET matches = matches + $1, removals = removals + $2, \
                 not_violating = not_violating + $3 WHERE id = $4",
            )
            .await?;
        for (item, d) in rules::counter_updates(new_rows.iter().copied()) {
            tx.execute(&upd, &[&d.matches, &d.removals, &d.not_violating, &item])
                .await?;
        }
        tx.commit().await?;
        Ok(new_count)
        }).await
    }

    async fn export_page(&self, after: i64, limit: i64) -> Result<Vec<ExportRow>, StoreError> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached(
                "SELECT id, kind, md5, sha256, pdq, quality FROM items \
                 WHERE id > $1 AND state = $3 ORDER BY id LIMIT $2",
            )
            .await?;
        c.query(&st, &[&after, &limit, &p::ItemState::Active.code()])
            .await?
            .iter()
            .map(|r| {
                Ok(ExportRow {
                    item_id: r.get(0),
                    kind: code(r, 1)?,
                    md5: r.get(2),
                    sha256: r.get(3),
                    pdq: r.get(4),
                    quality: r.get::<_, Option<i16>>(5).map(i64::from),
                })
            })
            .collect()
    }

    async fn create_platform(
        &self,
        name: &str,
        key_hash: [u8; 32],
        now: i64,
    ) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        match c
            .execute(
                "INSERT INTO platforms (name, key_hash, created_at) VALUES ($1, $2, $3)",
                &[&name, &&key_hash[..], &now],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if unique_violation(&e, "platforms_name_key") => Err(StoreError::NameTaken),
            Err(e) => Err(e.into()),
        }
    }

    async fn revoke_platform(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        let c = self.pool.get().await?;
        Ok(c.execute(
            "UPDATE platforms SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
            &[&now, &name],
        )
        .await?
            > 0)
    }

    async fn list_platforms(&self) -> Result<Vec<PlatformInfo>, StoreError> {
        let c = self.pool.get().await?;
        Ok(c.query(
            "SELECT name, created_at, revoked_at, synced_through FROM platforms ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| PlatformInfo {
            name: r.get(0),
            created_at: r.get(1),
            revoked_at: r.get(2),
            synced_through: r.get(3),
        })
        .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let c = self.pool.get().await?;
        c.query_one("SELECT 1", &[]).await?;
        Ok(())
    }
}

async fn batch_item_numbers(
    tx: &Transaction<'_>,
    case_id: i64,
    batch: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(tx
        .query(
            "SELECT number FROM items WHERE case_id = $1 AND batch = $2 ORDER BY number",
            &[&case_id, &batch],
        )
        .await?
        .iter()
        .map(|r| i64::from(r.get::<_, i32>(0)))
        .collect())
}

async fn insert_event(
    tx: &Transaction<'_>,
    case_id: i64,
    at: i64,
    e: NewEvent,
) -> Result<(), StoreError> {
    let st = tx
        .prepare_cached(
            "INSERT INTO events (case_id, at, kind, item_id, count) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &st,
        &[
            &case_id,
            &at,
            &e.kind.as_str(),
            &e.item_id,
            &(e.count as i32),
        ],
    )
    .await?;
    Ok(())
}
