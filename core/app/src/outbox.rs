//! The persisted outbox. Every operation on the service (create a case, add
//! items, withdraw an item or a case) is first written to SQLite — sealed, with a
//! fresh idempotency key — and only then sent. A flush sends what is pending, in
//! order per case, retrying transient failures with backoff; a rejection (4xx) is
//! recorded and never retried. Because the request body and key of an entry never
//! change, a retry after a lost answer or a process death is applied once by the
//! service.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use takedown_protocol as p;

use super::App;
use super::client::{SendError, with_retries};
use super::eligibility::{self, EligibilityAnswers};
use super::error::{Error, Result};
use super::history::{CaseState, HistoryItemState as ItemState};
use super::selection::{ItemFingerprint, MediaKind};
use takedown_fingerprint::video::check_timestamp;

/// Where an outbox operation stands. Sent operations are deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be sent (again).
    Pending,
    /// Refused by the service; never retried.
    Rejected,
}

crate::sql::stored_as_text!(OutboxState {
    Pending => "pending",
    Rejected => "rejected",
});

/// The error class recorded on the operations of a case whose creation was refused.
pub const CASE_REFUSED: &str = "case_refused";

/// Purpose (associated data) of sealed outbox payloads.
pub const PAYLOAD_PURPOSE: &str = "outbox.payload";
/// Purpose of sealed case tokens.
pub const TOKEN_PURPOSE: &str = "cases.token";
/// Purpose of sealed item labels.
pub const LABEL_PURPOSE: &str = "items.label";

/// One item to submit: its fingerprints and the user's optional private label
/// (stored encrypted on the phone, never sent).
#[derive(Clone, Debug, PartialEq)]
pub struct SubmitItem {
    /// Fingerprints from hashing the selection.
    pub fingerprint: ItemFingerprint,
    /// A private note for the user ("beach photo"), or `None`. Never sent.
    pub label: Option<String>,
}

/// What a flush did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Operations the service accepted in this flush.
    pub sent: u32,
    /// Operations still waiting (offline, service trouble, or waiting for an
    /// earlier operation of the same case).
    pub pending: u32,
    /// Operations the service refused in this flush (never retried).
    pub rejected: u32,
    /// `true` when the service could not be reached for some operation.
    pub offline: bool,
    /// When to flush again (milliseconds from now) if something is pending.
    pub retry_after_ms: Option<u64>,
}

/// The outcome of submitting a case or adding items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitOutcome {
    /// The case in the local history.
    pub case_id: i64,
    /// Local ids of the new items, in the order given.
    pub item_ids: Vec<i64>,
    /// The case number, once the service has answered.
    pub case_number: Option<String>,
    /// `true` when everything was sent; otherwise it is queued and will be sent
    /// by a later flush.
    pub sent: bool,
    /// What the flush after queueing did.
    pub flush: FlushReport,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Payload {
    CreateCase {
        idempotency_key: String,
        attestations: p::Attestations,
        item_ids: Vec<i64>,
        items: Vec<p::ItemInput>,
    },
    AddItems {
        idempotency_key: String,
        item_ids: Vec<i64>,
        items: Vec<p::ItemInput>,
    },
    WithdrawItem {
        item_id: i64,
    },
    WithdrawCase,
}

impl Payload {
    fn op(&self) -> &'static str {
        match self {
            Payload::CreateCase { .. } => "create_case",
            Payload::AddItems { .. } => "add_items",
            Payload::WithdrawItem { .. } => "withdraw_item",
            Payload::WithdrawCase => "withdraw_case",
        }
    }
}

fn idempotency_key() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

fn bad_media(what: &str) -> Error {
    Error::InvalidMedia(what.into())
}

fn bad(what: &str) -> Error {
    Error::InvalidInput(what.into())
}

/// The wire form of an item, checking what the types do not: an image has its PDQ,
/// a video 1 to [`p::MAX_FRAMES_PER_VIDEO`] frames with valid timestamps.
pub(crate) fn to_wire(f: &ItemFingerprint) -> Result<p::ItemInput> {
    match f.kind {
        MediaKind::Image => {
            let pdq = f.pdq.ok_or_else(|| bad_media("malformed PDQ"))?;
            let quality = f
                .quality
                .ok_or_else(|| bad_media("PDQ quality must be 0 to 100"))?;
            Ok(p::ItemInput::Image(p::ImageFingerprints {
                md5: f.md5,
                sha256: f.sha256,
                pdq,
                quality,
            }))
        }
        MediaKind::Video => {
            if f.frames.is_empty() || f.frames.len() > p::MAX_FRAMES_PER_VIDEO {
                return Err(bad_media("a video needs 1 to 7200 frames"));
            }
            if f.frames.iter().any(|fr| check_timestamp(fr.t).is_err()) {
                return Err(bad_media("malformed frame time"));
            }
            Ok(p::ItemInput::Video(p::VideoFingerprints {
                md5: f.md5,
                sha256: f.sha256,
                frames: f.frames.clone(),
            }))
        }
    }
}

struct Pending {
    id: i64,
    case_id: i64,
    attempts: i64,
    /// Unix milliseconds before which a scheduled retry does not send it.
    next_attempt_at: i64,
    payload: Payload,
}

impl App {
    /// One `AddItems` operation per chunk of (local ids, wire items), each with its
    /// own idempotency key.
    fn insert_add_ops<'a>(
        &self,
        tx: &rusqlite::Transaction<'_>,
        case_id: i64,
        chunks: impl Iterator<Item = (&'a [i64], &'a [p::ItemInput])>,
    ) -> Result<()> {
        for (ids, items) in chunks {
            self.insert_op(
                tx,
                case_id,
                &Payload::AddItems {
                    idempotency_key: idempotency_key(),
                    item_ids: ids.to_vec(),
                    items: items.to_vec(),
                },
            )?;
        }
        Ok(())
    }

    fn insert_op(
        &self,
        tx: &rusqlite::Transaction<'_>,
        case_id: i64,
        payload: &Payload,
    ) -> Result<()> {
        let sealed = self
            .sealer
            .seal(PAYLOAD_PURPOSE, &serde_json::to_vec(payload)?)?;
        tx.execute(
            "INSERT INTO outbox(case_id, op, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![case_id, payload.op(), sealed, self.now_secs()],
        )?;
        Ok(())
    }

    fn insert_items(
        &self,
        tx: &rusqlite::Transaction<'_>,
        case_id: i64,
        items: &[SubmitItem],
    ) -> Result<Vec<i64>> {
        let now = self.now_secs();
        let mut ids = Vec::with_capacity(items.len());
        let mut stmt = tx.prepare_cached(
            "INSERT INTO items(case_id, kind, md5, sha256, pdq, quality, frames, label, state, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for it in items {
            let f = &it.fingerprint;
            let frames = match f.kind {
                MediaKind::Video => Some(serde_json::to_string(&f.frames)?),
                MediaKind::Image => None,
            };
            let label = match it.label.as_deref().filter(|l| !l.is_empty()) {
                Some(l) => Some(self.sealer.seal_str(LABEL_PURPOSE, l)?),
                None => None,
            };
            stmt.execute(params![
                case_id,
                f.kind,
                f.md5.to_hex(),
                f.sha256.to_hex(),
                f.pdq.map(|h| h.to_hex()),
                f.quality.map(p::Quality::get),
                frames,
                label,
                ItemState::Pending,
                now
            ])?;
            ids.push(tx.last_insert_rowid());
        }
        Ok(ids)
    }

    /// Writes a new case and its items to the history and the outbox, without
    /// sending anything. Refuses non-eligible answers (nothing is written).
    pub fn enqueue_case(
        &self,
        answers: &EligibilityAnswers,
        items: &[SubmitItem],
    ) -> Result<(i64, Vec<i64>)> {
        let attestations = eligibility::attestations(answers).map_err(Error::NotEligible)?;
        if items.is_empty() {
            return Err(bad("a case needs at least one item"));
        }
        if items.len() > p::MAX_ITEMS_PER_CASE {
            return Err(bad("too many items for one case"));
        }
        let wire = items
            .iter()
            .map(|i| to_wire(&i.fingerprint))
            .collect::<Result<Vec<_>>>()?;
        self.db.write(|tx| {
            tx.execute(
                "INSERT INTO cases(submitter, state, created_at) VALUES (?1, ?2, ?3)",
                params![answers.submitter, CaseState::Pending, self.now_secs()],
            )?;
            let case_id = tx.last_insert_rowid();
            let ids = self.insert_items(tx, case_id, items)?;
            let mut chunks = ids
                .chunks(p::MAX_ITEMS_PER_REQUEST)
                .zip(wire.chunks(p::MAX_ITEMS_PER_REQUEST));
            if let Some((first_ids, first_items)) = chunks.next() {
                self.insert_op(
                    tx,
                    case_id,
                    &Payload::CreateCase {
                        idempotency_key: idempotency_key(),
                        attestations,
                        item_ids: first_ids.to_vec(),
                        items: first_items.to_vec(),
                    },
                )?;
            }
            self.insert_add_ops(tx, case_id, chunks)?;
            Ok((case_id, ids))
        })
    }

    /// Writes items to add to a case into the history and the outbox.
    pub fn enqueue_add_items(&self, case_id: i64, items: &[SubmitItem]) -> Result<Vec<i64>> {
        if items.is_empty() {
            return Err(bad("no items to add"));
        }
        let wire = items
            .iter()
            .map(|i| to_wire(&i.fingerprint))
            .collect::<Result<Vec<_>>>()?;
        self.db.write(|tx| {
            let (state, count): (CaseState, i64) = tx
                .query_row(
                    "SELECT state, (SELECT count(*) FROM items WHERE case_id = cases.id)
                     FROM cases WHERE id = ?1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or(Error::NotFound("case"))?;
            if !matches!(state, CaseState::Pending | CaseState::Open) {
                return Err(bad("this case was withdrawn or refused; open a new case"));
            }
            if count as usize + items.len() > p::MAX_ITEMS_PER_CASE {
                return Err(bad("too many items for one case"));
            }
            let ids = self.insert_items(tx, case_id, items)?;
            self.insert_add_ops(
                tx,
                case_id,
                ids.chunks(p::MAX_ITEMS_PER_REQUEST)
                    .zip(wire.chunks(p::MAX_ITEMS_PER_REQUEST)),
            )?;
            Ok(ids)
        })
    }

    /// Queues the withdrawal of one item.
    pub fn enqueue_withdraw_item(&self, item_id: i64) -> Result<i64> {
        self.db.write(|tx| {
            let (case_id, state): (i64, ItemState) = tx
                .query_row(
                    "SELECT case_id, state FROM items WHERE id = ?1",
                    [item_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or(Error::NotFound("item"))?;
            match state {
                ItemState::Withdrawing | ItemState::Withdrawn => return Ok(case_id),
                ItemState::Rejected => return Err(bad("this item was refused by the service")),
                ItemState::Pending | ItemState::Active => {}
            }
            tx.execute(
                "UPDATE items SET state = ?2 WHERE id = ?1",
                params![item_id, ItemState::Withdrawing],
            )?;
            self.insert_op(tx, case_id, &Payload::WithdrawItem { item_id })?;
            Ok(case_id)
        })
    }

    /// Queues the withdrawal of a whole case.
    pub fn enqueue_withdraw_case(&self, case_id: i64) -> Result<()> {
        self.db.write(|tx| {
            let state: CaseState = tx
                .query_row("SELECT state FROM cases WHERE id = ?1", [case_id], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or(Error::NotFound("case"))?;
            match state {
                CaseState::Withdrawing | CaseState::Withdrawn => return Ok(()),
                CaseState::Rejected => return Err(bad("this case was refused by the service")),
                CaseState::Pending | CaseState::Open => {}
            }
            tx.execute(
                "UPDATE cases SET state = ?2 WHERE id = ?1",
                params![case_id, CaseState::Withdrawing],
            )?;
            tx.execute(
                "UPDATE items SET state = ?2 WHERE case_id = ?1 AND state IN (?3, ?4)",
                params![
                    case_id,
                    ItemState::Withdrawing,
                    ItemState::Pending,
                    ItemState::Active
                ],
            )?;
            self.insert_op(tx, case_id, &Payload::WithdrawCase)?;
            Ok(())
        })
    }

    /// Number of operations waiting to be sent.
    pub fn pending_operations(&self) -> Result<u32> {
        self.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM outbox WHERE state = ?1",
                [OutboxState::Pending],
                |r| r.get::<_, i64>(0),
            )? as u32)
        })
    }

    fn load_pending(&self) -> Result<Vec<Pending>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT id, case_id, attempts, next_attempt_at, payload FROM outbox WHERE state = ?1 ORDER BY id",
            )?;
            let rows = stmt
                .query_map([OutboxState::Pending], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(id, case_id, attempts, next_attempt_at, sealed)| {
                    let json = self.sealer.open(PAYLOAD_PURPOSE, &sealed)?;
                    Ok(Pending {
                        id,
                        case_id,
                        attempts,
                        next_attempt_at,
                        payload: serde_json::from_slice(&json)?,
                    })
                })
                .collect()
        })
    }

    /// The case number and token, when the service has answered the creation.
    pub(crate) fn credentials(&self, case_id: i64) -> Result<Option<(String, String)>> {
        let row: Option<(Option<String>, Option<Vec<u8>>)> = self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT case_number, token FROM cases WHERE id = ?1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })?;
        match row {
            None => Err(Error::NotFound("case")),
            Some((Some(n), Some(t))) => Ok(Some((n, self.sealer.open_str(TOKEN_PURPOSE, &t)?))),
            Some(_) => Ok(None),
        }
    }

    fn remote_item_id(&self, item_id: i64) -> Result<Option<i64>> {
        self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT remote_id FROM items WHERE id = ?1",
                    [item_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten())
        })
    }

    /// Sends the operation; `Ok(None)` when it must wait for an earlier one.
    async fn send(&self, op: &Pending) -> Result<Option<Result<Applied, SendError>>> {
        let r = match &op.payload {
            Payload::CreateCase {
                idempotency_key,
                attestations,
                items,
                ..
            } => {
                let req = p::CreateCaseRequest {
                    idempotency_key: idempotency_key.clone(),
                    attestations: *attestations,
                    items: items.clone(),
                };
                with_retries(&self.policy, || self.client.create_case(&req))
                    .await
                    .map(Applied::Created)
            }
            Payload::AddItems {
                idempotency_key,
                items,
                ..
            } => {
                let Some((number, token)) = self.credentials(op.case_id)? else {
                    return Ok(None);
                };
                let req = p::AddItemsRequest {
                    idempotency_key: idempotency_key.clone(),
                    items: items.clone(),
                };
                with_retries(&self.policy, || {
                    self.client.add_items(&number, &token, &req)
                })
                .await
                .map(Applied::Added)
            }
            Payload::WithdrawItem { item_id } => {
                let Some((number, token)) = self.credentials(op.case_id)? else {
                    return Ok(None);
                };
                let Some(remote) = self.remote_item_id(*item_id)? else {
                    return Ok(None);
                };
                with_retries(&self.policy, || {
                    self.client.withdraw_item(&number, &token, remote)
                })
                .await
                .map(|_| Applied::Withdrawn)
            }
            Payload::WithdrawCase => {
                let Some((number, token)) = self.credentials(op.case_id)? else {
                    return Ok(None);
                };
                with_retries(&self.policy, || self.client.withdraw_case(&number, &token))
                    .await
                    .map(|_| Applied::Withdrawn)
            }
        };
        Ok(Some(r))
    }

    fn apply(&self, op: &Pending, applied: Applied) -> Result<()> {
        self.db.write(|tx| {
            // Another flush may have applied it already: apply once.
            if tx.execute(
                "DELETE FROM outbox WHERE id = ?1 AND state = ?2",
                params![op.id, OutboxState::Pending],
            )? == 0
            {
                return Ok(());
            }
            let set_items = |local: &[i64], remote: &[i64]| -> Result<()> {
                if local.len() != remote.len() {
                    return Err(Error::Internal(
                        "the service answered with a different item count".into(),
                    ));
                }
                let mut stmt = tx.prepare_cached(
                    "UPDATE items SET remote_id = ?1,
                       state = CASE WHEN state = ?3 THEN ?4 ELSE state END
                     WHERE id = ?2",
                )?;
                for (l, r) in local.iter().zip(remote) {
                    stmt.execute(params![r, l, ItemState::Pending, ItemState::Active])?;
                }
                Ok(())
            };
            match (&op.payload, applied) {
                (Payload::CreateCase { item_ids, .. }, Applied::Created(resp)) => {
                    let token = self.sealer.seal_str(TOKEN_PURPOSE, &resp.case_token)?;
                    tx.execute(
                        "UPDATE cases SET case_number = ?1, token = ?2,
                           state = CASE WHEN state = ?4 THEN ?5 ELSE state END
                         WHERE id = ?3",
                        params![
                            resp.case_number,
                            token,
                            op.case_id,
                            CaseState::Pending,
                            CaseState::Open
                        ],
                    )?;
                    set_items(item_ids, &resp.item_ids)?;
                }
                (Payload::AddItems { item_ids, .. }, Applied::Added(resp)) => {
                    set_items(item_ids, &resp.item_ids)?;
                }
                (Payload::WithdrawItem { item_id }, Applied::Withdrawn) => {
                    tx.execute(
                        "UPDATE items SET state = ?2 WHERE id = ?1",
                        params![item_id, ItemState::Withdrawn],
                    )?;
                }
                (Payload::WithdrawCase, Applied::Withdrawn) => {
                    tx.execute(
                        "UPDATE cases SET state = ?2 WHERE id = ?1",
                        params![op.case_id, CaseState::Withdrawn],
                    )?;
                    tx.execute(
                        "UPDATE items SET state = ?2 WHERE case_id = ?1 AND state IN (?3, ?4)",
                        params![
                            op.case_id,
                            ItemState::Withdrawn,
                            ItemState::Active,
                            ItemState::Withdrawing
                        ],
                    )?;
                }
                _ => return Err(Error::Internal("answer does not fit the operation".into())),
            }
            Ok(())
        })
    }

    fn reject(&self, op: &Pending, code: &str) -> Result<u32> {
        self.db.write(|tx| {
            let mut n = tx.execute(
                "UPDATE outbox SET state = ?3, last_error = ?2 WHERE id = ?1 AND state = ?4",
                params![op.id, code, OutboxState::Rejected, OutboxState::Pending],
            )? as u32;
            if n == 0 {
                return Ok(0);
            }
            match &op.payload {
                Payload::CreateCase { .. } => {
                    tx.execute("UPDATE cases SET state = ?2 WHERE id = ?1", params![op.case_id, CaseState::Rejected])?;
                    tx.execute("UPDATE items SET state = ?2 WHERE case_id = ?1", params![op.case_id, ItemState::Rejected])?;
                    // Nothing else of this case can ever be sent.
                    n += tx.execute(
                        "UPDATE outbox SET state = ?2, last_error = ?3
                         WHERE case_id = ?1 AND state = ?4",
                        params![op.case_id, OutboxState::Rejected, CASE_REFUSED, OutboxState::Pending],
                    )? as u32;
                }
                Payload::AddItems { item_ids, .. } => {
                    let mut stmt = tx.prepare_cached("UPDATE items SET state = ?2 WHERE id = ?1")?;
                    for id in item_ids {
                        stmt.execute(params![id, ItemState::Rejected])?;
                    }
                }
                Payload::WithdrawItem { item_id } => {
                    tx.execute(
                        "UPDATE items SET state = ?2 WHERE id = ?1 AND state = ?3",
                        params![item_id, ItemState::Active, ItemState::Withdrawing],
                    )?;
                }
                Payload::WithdrawCase => {
                    tx.execute(
                        "UPDATE cases SET state = ?2 WHERE id = ?1 AND state = ?3",
                        params![op.case_id, CaseState::Open, CaseState::Withdrawing],
                    )?;
                    tx.execute(
                        "UPDATE items SET state = ?2 WHERE case_id = ?1 AND state = ?3 AND remote_id IS NOT NULL",
                        params![op.case_id, ItemState::Active, ItemState::Withdrawing],
                    )?;
                }
            }
            Ok(n)
        })
    }

    fn postpone(&self, op: &Pending, class: &str) -> Result<i64> {
        let attempts = op.attempts + 1;
        let delay = self.policy.delay(attempts.clamp(1, 30) as u32).as_millis() as i64;
        let at = self.now_ms() + delay;
        self.db.write(|tx| {
            tx.execute(
                "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
                params![op.id, attempts, at, class],
            )?;
            Ok(())
        })?;
        Ok(delay)
    }

    /// Sends every pending operation, in order per case — also those whose
    /// persisted `next_attempt_at` is still ahead: the host calls this when it
    /// decides it is time (connectivity returned, the job it scheduled after
    /// `retry_after_ms` fired). Transient failures are retried with backoff (up to
    /// the policy's attempts), then left pending with a persisted next-attempt time;
    /// rejections are recorded and never retried. Safe to call at any time and
    /// concurrently (one flush runs at a time).
    pub async fn flush(&self) -> Result<FlushReport> {
        self.flush_with(Flush::Everything).await
    }

    /// Sends the pending operations that are due: an operation postponed after a
    /// transient failure waits until its persisted `next_attempt_at` (it counts as
    /// pending, and `retry_after_ms` says when it is due). This is the flush the
    /// core runs itself after queueing (submit, add, withdraw), so a new action does
    /// not hammer operations still backing off.
    pub async fn flush_due(&self) -> Result<FlushReport> {
        self.flush_with(Flush::Due).await
    }

    async fn flush_with(&self, which: Flush) -> Result<FlushReport> {
        let _guard = self.flush_lock.lock().await;
        let ops = self.load_pending()?;
        let mut report = FlushReport::default();
        let mut blocked: HashSet<i64> = HashSet::new();
        let mut retry_after: Option<i64> = None;
        fn wait(d: i64, retry_after: &mut Option<i64>) {
            *retry_after = Some(retry_after.map_or(d, |r| r.min(d)));
        }
        let now = self.now_ms();
        for op in &ops {
            if blocked.contains(&op.case_id) {
                report.pending += 1;
                continue;
            }
            if which == Flush::Due && op.next_attempt_at > now {
                // Not due yet: it, and everything after it in its case, waits.
                wait(op.next_attempt_at - now, &mut retry_after);
                blocked.insert(op.case_id);
                report.pending += 1;
                continue;
            }
            match self.send(op).await? {
                None => {
                    blocked.insert(op.case_id);
                    report.pending += 1;
                }
                Some(Ok(applied)) => {
                    self.apply(op, applied)?;
                    report.sent += 1;
                }
                Some(Err(SendError::Transient(class))) => {
                    let d = self.postpone(op, &class)?;
                    wait(d, &mut retry_after);
                    blocked.insert(op.case_id);
                    report.pending += 1;
                    report.offline = true;
                    tracing::info!(target: "takedown_app::outbox", op = op.payload.op(), class, "operation postponed");
                }
                Some(Err(SendError::Rejected { status, code, .. })) => {
                    tracing::warn!(target: "takedown_app::outbox", op = op.payload.op(), status, code, "operation refused by the service");
                    let n = self.reject(op, &code)?;
                    report.rejected += n;
                    blocked.insert(op.case_id);
                }
            }
        }
        // Operations rejected together with a refused creation were counted as
        // pending before; recount what is really left.
        report.pending = self.pending_operations()?;
        if report.pending > 0 {
            report.retry_after_ms = Some(retry_after.unwrap_or(0).max(0) as u64);
        }
        Ok(report)
    }

    /// Queues a case and flushes. Non-eligible answers fail with
    /// [`Error::NotEligible`]; nothing is stored or sent then.
    pub async fn submit_case(
        &self,
        answers: &EligibilityAnswers,
        items: &[SubmitItem],
    ) -> Result<SubmitOutcome> {
        let (case_id, item_ids) = self.enqueue_case(answers, items)?;
        self.outcome(case_id, item_ids).await
    }

    /// Queues items for an existing case and flushes.
    pub async fn add_items(&self, case_id: i64, items: &[SubmitItem]) -> Result<SubmitOutcome> {
        let item_ids = self.enqueue_add_items(case_id, items)?;
        self.outcome(case_id, item_ids).await
    }

    /// Queues the withdrawal of an item and flushes.
    pub async fn withdraw_item(&self, item_id: i64) -> Result<FlushReport> {
        self.enqueue_withdraw_item(item_id)?;
        self.flush_due().await
    }

    /// Queues the withdrawal of a case and flushes.
    pub async fn withdraw_case(&self, case_id: i64) -> Result<FlushReport> {
        self.enqueue_withdraw_case(case_id)?;
        self.flush_due().await
    }

    async fn outcome(&self, case_id: i64, item_ids: Vec<i64>) -> Result<SubmitOutcome> {
        let flush = self.flush_due().await?;
        let (number, waiting): (Option<String>, i64) = self.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT case_number, (SELECT count(*) FROM outbox WHERE case_id = ?1 AND state = ?2)
                 FROM cases WHERE id = ?1",
                params![case_id, OutboxState::Pending],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })?;
        if let Some(first) = item_ids.first() {
            let state: ItemState = self.db.read(|tx| {
                Ok(
                    tx.query_row("SELECT state FROM items WHERE id = ?1", [first], |r| {
                        r.get(0)
                    })?,
                )
            })?;
            let rejected = state == ItemState::Rejected;
            if rejected {
                let code: Option<String> = self.db.read(|tx| {
                    Ok(tx
                        .query_row(
                            "SELECT last_error FROM outbox WHERE case_id = ?1 AND state = ?2 ORDER BY id LIMIT 1",
                            params![case_id, OutboxState::Rejected],
                            |r| r.get(0),
                        )
                        .optional()?)
                })?;
                return Err(Error::Rejected {
                    status: 0,
                    code: code.unwrap_or_else(|| "rejected".into()),
                    message: "the service refused these items".into(),
                });
            }
        }
        Ok(SubmitOutcome {
            case_id,
            item_ids,
            case_number: number,
            sent: waiting == 0,
            flush,
        })
    }
}

/// Which pending operations a flush sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flush {
    /// Every pending operation (the host asked).
    Everything,
    /// Only those whose `next_attempt_at` has come.
    Due,
}

enum Applied {
    Created(p::CreateCaseResponse),
    Added(p::AddItemsResponse),
    Withdrawn,
}
