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

use super::cancel::{Cancel, Stop};
use super::client::{SendError, with_retries};
use super::crypto::row_purpose;
use super::eligibility::{self, EligibilityAnswers};
use super::error::{Error, Result};
use super::history::{CaseRecord, CaseState, HistoryItemState as ItemState};
use super::selection::{ItemFingerprint, MediaKind};
use super::wire;
use super::{App, Change};
use takedown_fingerprint::hashing;
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
/// The error class recorded on an outbox entry that cannot be read back (damaged
/// row): only its own case stops.
pub const DAMAGED_ENTRY: &str = "damaged_entry";

/// Purpose (associated data) of sealed outbox payloads in schema 1–2 histories
/// (schema 3 binds every sealed value to its row: [`row_purpose`]; opening an
/// older history reseals them).
pub const PAYLOAD_PURPOSE: &str = "outbox.payload";
/// Purpose of sealed case tokens in schema 1–2 histories.
pub const TOKEN_PURPOSE: &str = "cases.token";
/// Purpose of sealed item labels in schema 1–2 histories.
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
    /// When to flush again (milliseconds from now) if something is pending: the
    /// earliest persisted retry time of a case's next operation.
    pub retry_after_ms: Option<u64>,
    /// The same as an absolute time (Unix milliseconds), for a scheduler
    /// (WorkManager's initial delay, `BGTaskRequest.earliestBeginDate`).
    pub next_attempt_at_ms: Option<i64>,
    /// `true` when the caller's deadline stopped the flush before everything due
    /// was tried (the rest stays queued).
    pub deadline_reached: bool,
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
        /// The verifier of the case's recovery key (absent in entries queued
        /// by versions before recovery keys).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recovery_verifier: Option<String>,
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

/// The wire form of an item, checking what the types do not: an image has its PDQ
/// and at most one edge cut per edge, each of [`p::EDGE_CUT_PERCENT`] %; a video
/// 1 to [`p::MAX_FRAMES_PER_VIDEO`] frames with valid timestamps and no edge cut.
pub(crate) fn to_wire(f: &ItemFingerprint) -> Result<p::ItemInput> {
    match f.kind {
        MediaKind::Image => {
            let pdq = f.pdq.ok_or_else(|| bad_media("malformed PDQ"))?;
            let quality = f
                .quality
                .ok_or_else(|| bad_media("PDQ quality must be 0 to 100"))?;
            if f.edge_cuts.iter().any(|c| c.percent != p::EDGE_CUT_PERCENT) {
                return Err(bad_media("an edge cut must remove 20 % of the rows"));
            }
            let mut edges: Vec<p::CutEdge> = f.edge_cuts.iter().map(|c| c.edge).collect();
            edges.sort_unstable();
            edges.dedup();
            if edges.len() != f.edge_cuts.len() {
                return Err(bad_media("at most one edge cut per edge"));
            }
            Ok(p::ItemInput::Image(p::ImageFingerprints {
                md5: f.md5,
                sha256: f.sha256,
                pdq,
                quality,
                edge_cuts: f.edge_cuts.clone(),
            }))
        }
        MediaKind::Video => {
            if !f.edge_cuts.is_empty() {
                return Err(bad_media("a video has no edge cuts"));
            }
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
        tx.execute(
            "INSERT INTO outbox(case_id, op, payload, created_at) VALUES (?1, ?2, x'', ?3)",
            params![case_id, payload.op(), self.now_secs()],
        )?;
        let id = tx.last_insert_rowid();
        let sealed = self
            .sealer
            .seal(&payload_purpose(id), &serde_json::to_vec(payload)?)?;
        tx.execute(
            "UPDATE outbox SET payload = ?2 WHERE id = ?1",
            params![id, sealed],
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
            "INSERT INTO items(case_id, kind, fingerprints, state, added_at)
             VALUES (?1, ?2, x'', ?3, ?4)",
        )?;
        for it in items {
            let f = &it.fingerprint;
            let wire = to_wire(f)?;
            stmt.execute(params![case_id, f.kind, ItemState::Pending, now])?;
            // Sealed once the row has its id (the seal is bound to it).
            let id = tx.last_insert_rowid();
            tx.execute(
                "UPDATE items SET fingerprints = ?2 WHERE id = ?1",
                params![
                    id,
                    crate::history::seal_fingerprints(&self.sealer, id, &wire)?
                ],
            )?;
            if let Some(l) = it.label.as_deref().filter(|l| !l.is_empty()) {
                let sealed = self
                    .sealer
                    .seal_str(&row_purpose("items", id, "label"), l)?;
                tx.execute(
                    "UPDATE items SET label = ?2 WHERE id = ?1",
                    params![id, sealed],
                )?;
            }
            ids.push(id);
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
        self.enqueue_case_with(None, answers, items)
    }

    /// Queues a case for the UI's request `request_id` (any text the app keeps
    /// across a retry, e.g. a UUID made when the user pressed "send"): the first
    /// call writes the case to the history and the outbox, a retry with the same
    /// id returns that same case without writing anything — so a retry after an
    /// error, a cancelled coroutine or a killed process never opens a second case.
    /// Nothing is sent here; the queue sends it ([`App::flush`]).
    pub fn queue_case(
        &self,
        request_id: &str,
        answers: &EligibilityAnswers,
        items: &[SubmitItem],
    ) -> Result<CaseRecord> {
        if request_id.is_empty() || request_id.len() > 256 {
            return Err(bad("the request id must be 1 to 256 characters"));
        }
        let (case_id, _) = self.enqueue_case_with(Some(request_id), answers, items)?;
        self.case(case_id)
    }

    fn enqueue_case_with(
        &self,
        request_id: Option<&str>,
        answers: &EligibilityAnswers,
        items: &[SubmitItem],
    ) -> Result<(i64, Vec<i64>)> {
        // Stored hashed: the id links nothing, but need not be kept.
        let request = request_id.map(|r| hashing::exact::hash_bytes(r.as_bytes()).sha256);
        if let Some(req) = &request {
            let known: Option<i64> = self.db.read(|tx| {
                Ok(tx
                    .query_row("SELECT id FROM cases WHERE request_id = ?1", [req], |r| {
                        r.get(0)
                    })
                    .optional()?)
            })?;
            if let Some(case_id) = known {
                let ids = self.item_ids(case_id)?;
                return Ok((case_id, ids));
            }
        }
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
        let out = self.db.write(|tx| {
            if let Some(req) = &request {
                // A concurrent call with the same id won the race.
                let known: Option<i64> = tx
                    .query_row("SELECT id FROM cases WHERE request_id = ?1", [req], |r| r.get(0))
                    .optional()?;
                if let Some(case_id) = known {
                    return Ok((case_id, Vec::new()));
                }
            }
            tx.execute(
                "INSERT INTO cases(submitter, state, created_at, request_id) VALUES (?1, ?2, ?3, ?4)",
                params![answers.submitter, CaseState::Pending, self.now_secs(), request],
            )?;
            let case_id = tx.last_insert_rowid();
            let recovery_verifier = crate::recovery::store_new_key(tx, &self.sealer, case_id)?;
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
                        recovery_verifier: Some(recovery_verifier),
                    },
                )?;
            }
            self.insert_add_ops(tx, case_id, chunks)?;
            Ok((case_id, ids))
        })?;
        self.changed(Change::Queue);
        if out.1.is_empty() {
            return Ok((out.0, self.item_ids(out.0)?));
        }
        Ok(out)
    }

    fn item_ids(&self, case_id: i64) -> Result<Vec<i64>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare("SELECT id FROM items WHERE case_id = ?1 ORDER BY id")?;
            let ids = stmt
                .query_map([case_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok(ids)
        })
    }

    /// The wire form of a stored item (its sealed fingerprints, opened).
    fn stored_wire_item(
        &self,
        tx: &rusqlite::Transaction<'_>,
        item_id: i64,
    ) -> Result<p::ItemInput> {
        let sealed: Vec<u8> = tx.query_row(
            "SELECT fingerprints FROM items WHERE id = ?1",
            [item_id],
            |r| r.get(0),
        )?;
        crate::history::open_fingerprints(&self.sealer, item_id, &sealed)
    }

    /// Sends a refused case (or the refused items of an open case) again, with
    /// fresh idempotency keys: for a refusal that was not final (a CDN page before
    /// this version retried those, a limit that changed, a damaged queue entry).
    /// Items the user withdrew stay withdrawn. Returns how many items were queued
    /// again; nothing is sent here.
    pub fn resubmit(&self, case_id: i64) -> Result<u32> {
        let n = self.db.write(|tx| {
            let (state, submitter, number): (
                CaseState,
                eligibility::SubmitterRole,
                Option<String>,
            ) = tx
                .query_row(
                    "SELECT state, submitter, case_number FROM cases WHERE id = ?1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?
                .ok_or(Error::NotFound("case"))?;
            let ids: Vec<i64> = {
                let mut stmt = tx.prepare(
                    "SELECT id FROM items WHERE case_id = ?1 AND state = ?2 ORDER BY id",
                )?;
                stmt.query_map(params![case_id, ItemState::Rejected], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            let create = match state {
                CaseState::Rejected if number.is_none() => true,
                CaseState::Open | CaseState::Pending if !ids.is_empty() => false,
                _ => return Err(bad("nothing of this case was refused")),
            };
            if ids.is_empty() {
                return Err(bad("every item of this case was withdrawn"));
            }
            let wire = ids
                .iter()
                .map(|id| self.stored_wire_item(tx, *id))
                .collect::<Result<Vec<_>>>()?;
            // The refused entries are replaced by the new ones.
            tx.execute(
                "DELETE FROM outbox WHERE case_id = ?1 AND state = ?2",
                params![case_id, OutboxState::Rejected],
            )?;
            let mut stmt = tx.prepare_cached("UPDATE items SET state = ?2 WHERE id = ?1")?;
            for id in &ids {
                stmt.execute(params![id, ItemState::Pending])?;
            }
            let mut chunks = ids
                .chunks(p::MAX_ITEMS_PER_REQUEST)
                .zip(wire.chunks(p::MAX_ITEMS_PER_REQUEST));
            if create {
                tx.execute(
                    "UPDATE cases SET state = ?2 WHERE id = ?1",
                    params![case_id, CaseState::Pending],
                )?;
                let submitter = match submitter {
                    eligibility::SubmitterRole::PersonShown => p::Submitter::PersonShown,
                    eligibility::SubmitterRole::ParentOrGuardian => p::Submitter::ParentOrGuardian,
                    eligibility::SubmitterRole::SomeoneElse => return Err(Error::Corrupt),
                };
                if let Some((first_ids, first_items)) = chunks.next() {
                    self.insert_op(
                        tx,
                        case_id,
                        &Payload::CreateCase {
                            idempotency_key: idempotency_key(),
                            attestations: p::Attestations {
                                person_shown_was_under_18: true,
                                submitter,
                            },
                            item_ids: first_ids.to_vec(),
                            items: first_items.to_vec(),
                            recovery_verifier: crate::recovery::stored_verifier(
                                tx,
                                &self.sealer,
                                case_id,
                            )?,
                        },
                    )?;
                }
            }
            self.insert_add_ops(tx, case_id, chunks)?;
            Ok(ids.len() as u32)
        })?;
        self.changed(Change::Queue);
        Ok(n)
    }

    /// Cancels a queued case. If it can not have reached the service yet (never
    /// tried), it is removed from the history and the queue: `true`. Otherwise a
    /// withdrawal is queued, sent once the case exists: `false`.
    pub async fn cancel_queued_case(&self, case_id: i64) -> Result<bool> {
        // No flush may be sending it meanwhile.
        let _guard = self.flush_lock.lock().await;
        let removed = self.db.write(|tx| {
            let (state, tried): (CaseState, i64) = tx
                .query_row(
                    "SELECT state, (SELECT count(*) FROM outbox WHERE case_id = cases.id
                                     AND op = 'create_case' AND attempts > 0)
                     FROM cases WHERE id = ?1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or(Error::NotFound("case"))?;
            if state == CaseState::Pending && tried == 0 {
                tx.execute("DELETE FROM cases WHERE id = ?1", [case_id])?;
                return Ok(true);
            }
            Ok(false)
        })?;
        if removed {
            self.changed(Change::Queue);
            return Ok(true);
        }
        drop(_guard);
        self.enqueue_withdraw_case(case_id)?;
        Ok(false)
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
        let out = self.db.write(|tx| {
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
        })?;
        self.changed(Change::Queue);
        Ok(out)
    }

    /// Queues the withdrawal of one item.
    pub fn enqueue_withdraw_item(&self, item_id: i64) -> Result<i64> {
        let out = self.db.write(|tx| {
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
        })?;
        self.changed(Change::Queue);
        Ok(out)
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
        })?;
        self.changed(Change::Queue);
        Ok(())
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

    /// Every pending operation in order; a row that cannot be read back (damaged
    /// payload) comes back as [`Loaded::Damaged`] so that only its own case stops.
    fn load_pending(&self) -> Result<Vec<Loaded>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT id, case_id, attempts, next_attempt_at, payload, op FROM outbox WHERE state = ?1 ORDER BY id",
            )?;
            let rows = stmt
                .query_map([OutboxState::Pending], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .map(|(id, case_id, attempts, next_attempt_at, sealed, op)| {
                    let payload = self
                        .sealer
                        .open(&payload_purpose(id), &sealed)
                        .ok()
                        .and_then(|json| serde_json::from_slice::<Payload>(&json).ok())
                        .filter(|p| p.op() == op);
                    match payload {
                        Some(payload) => Loaded::Ok(Pending {
                            id,
                            case_id,
                            attempts,
                            next_attempt_at,
                            payload,
                        }),
                        None => Loaded::Damaged { id, case_id, op },
                    }
                })
                .collect())
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
            Some((Some(n), Some(t))) => Ok(Some((
                self.sealer.open_text("cases", case_id, "case_number", &n)?,
                self.sealer
                    .open_str(&row_purpose("cases", case_id, "token"), &t)?,
            ))),
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
                recovery_verifier,
                ..
            } => {
                let req = p::CreateCaseRequest {
                    idempotency_key: idempotency_key.clone(),
                    attestations: *attestations,
                    items: items.clone(),
                    recovery_verifier: recovery_verifier.clone(),
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
                let Some(remote) = self.remote_item_id(*item_id)? else {
                    // Never sent. If nothing still queued can send it (its addition
                    // was refused or dropped), the withdrawal is done locally;
                    // otherwise it waits for the addition.
                    return Ok(if self.addition_pending(op)? {
                        None
                    } else {
                        Some(Ok(Applied::NeverSent))
                    });
                };
                let Some((number, token)) = self.credentials(op.case_id)? else {
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

    /// Whether an operation that can still give items of `op`'s case a service id
    /// (a creation or an addition queued before it) is pending.
    fn addition_pending(&self, op: &Pending) -> Result<bool> {
        self.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM outbox WHERE case_id = ?1 AND id < ?2 AND state = ?3
                   AND op IN ('create_case', 'add_items')",
                params![op.case_id, op.id, OutboxState::Pending],
                |r| r.get::<_, i64>(0),
            )? > 0)
        })
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
                    let token = self
                        .sealer
                        .seal_str(&row_purpose("cases", op.case_id, "token"), &resp.case_token)?;
                    tx.execute(
                        "UPDATE cases SET case_number = ?1, token = ?2,
                           state = CASE WHEN state = ?4 THEN ?5 ELSE state END
                         WHERE id = ?3",
                        params![
                            self.sealer.seal_text(
                                "cases",
                                op.case_id,
                                "case_number",
                                &resp.case_number
                            )?,
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
                (Payload::WithdrawItem { item_id }, Applied::NeverSent) => {
                    // It never reached the list: nothing to tell the service.
                    tx.execute(
                        "UPDATE items SET state = ?2 WHERE id = ?1",
                        params![item_id, ItemState::Withdrawn],
                    )?;
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
    /// decides it is time (connectivity returned, the job it scheduled for
    /// `next_attempt_at_ms` fired). Transient failures are retried with backoff (up
    /// to the policy's attempts), then left pending with a persisted next-attempt
    /// time; rejections are recorded and never retried. Safe to call at any time
    /// and concurrently (one flush runs at a time).
    pub async fn flush(&self) -> Result<FlushReport> {
        self.flush_with(Flush::Everything, &Cancel::new()).await
    }

    /// [`App::flush`] that stops when `cancel` is cancelled ([`Error::Cancelled`])
    /// or its deadline passes (a report with `deadline_reached`; what was not
    /// tried stays queued). Use it from a `BGTask` expiration handler or a
    /// WorkManager worker's stop.
    pub async fn flush_until(&self, cancel: &Cancel) -> Result<FlushReport> {
        self.flush_with(Flush::Everything, cancel).await
    }

    /// Sends the pending operations that are due: an operation postponed after a
    /// transient failure waits until its persisted `next_attempt_at` (it counts as
    /// pending, and `retry_after_ms` says when it is due). This is the flush the
    /// core runs itself after queueing (submit, add, withdraw), so a new action does
    /// not hammer operations still backing off.
    pub async fn flush_due(&self) -> Result<FlushReport> {
        self.flush_with(Flush::Due, &Cancel::new()).await
    }

    /// [`App::flush_due`] under a cancel token / deadline.
    pub async fn flush_due_until(&self, cancel: &Cancel) -> Result<FlushReport> {
        self.flush_with(Flush::Due, cancel).await
    }

    /// Records that `op` is about to be sent: from now on it may have reached the
    /// service, so a queued case can no longer be dropped silently.
    fn mark_attempt(&self, op: &Pending) -> Result<()> {
        self.db.write(|tx| {
            tx.execute(
                "UPDATE outbox SET attempts = max(attempts, ?2) WHERE id = ?1",
                params![op.id, op.attempts + 1],
            )?;
            Ok(())
        })
    }

    /// A row that cannot be read back: refused locally with [`DAMAGED_ENTRY`], with
    /// the same consequences for its case as a refusal by the service would have.
    /// Other cases go on.
    fn quarantine(&self, id: i64, case_id: i64, op: &str) -> Result<u32> {
        tracing::warn!(target: "takedown_app::outbox", op, "an outbox entry cannot be read; its case stops");
        self.db.write(|tx| {
            let mut n = tx.execute(
                "UPDATE outbox SET state = ?2, last_error = ?3 WHERE id = ?1 AND state = ?4",
                params![id, OutboxState::Rejected, DAMAGED_ENTRY, OutboxState::Pending],
            )? as u32;
            if n == 0 {
                return Ok(0);
            }
            match op {
                "create_case" => {
                    tx.execute("UPDATE cases SET state = ?2 WHERE id = ?1", params![case_id, CaseState::Rejected])?;
                    tx.execute("UPDATE items SET state = ?2 WHERE case_id = ?1 AND state IN (?3, ?4)", params![case_id, ItemState::Rejected, ItemState::Pending, ItemState::Withdrawing])?;
                    n += tx.execute(
                        "UPDATE outbox SET state = ?2, last_error = ?3 WHERE case_id = ?1 AND state = ?4",
                        params![case_id, OutboxState::Rejected, CASE_REFUSED, OutboxState::Pending],
                    )? as u32;
                }
                // Items of the case that nothing left in the queue can send.
                "add_items" => {
                    tx.execute(
                        "UPDATE items SET state = ?2 WHERE case_id = ?1 AND remote_id IS NULL AND state = ?3
                           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.case_id = ?1 AND o.state = ?4
                                            AND o.op IN ('create_case', 'add_items'))",
                        params![case_id, ItemState::Rejected, ItemState::Pending, OutboxState::Pending],
                    )?;
                }
                "withdraw_case" => {
                    tx.execute("UPDATE cases SET state = ?2 WHERE id = ?1 AND state = ?3", params![case_id, CaseState::Open, CaseState::Withdrawing])?;
                    tx.execute("UPDATE items SET state = ?2 WHERE case_id = ?1 AND state = ?3 AND remote_id IS NOT NULL", params![case_id, ItemState::Active, ItemState::Withdrawing])?;
                }
                _ => {
                    // A withdrawal of one item: items still marked withdrawing with
                    // no readable withdrawal left go back to active.
                    tx.execute(
                        "UPDATE items SET state = ?2 WHERE case_id = ?1 AND state = ?3 AND remote_id IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.case_id = ?1 AND o.state = ?4
                                            AND o.op IN ('withdraw_item', 'withdraw_case'))",
                        params![case_id, ItemState::Active, ItemState::Withdrawing, OutboxState::Pending],
                    )?;
                }
            }
            Ok(n)
        })
    }

    /// The earliest time (Unix ms) at which some case's next operation is due, read
    /// from the persisted `next_attempt_at` of each case's first pending operation.
    pub fn next_attempt_at(&self) -> Result<Option<i64>> {
        self.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT min(o.next_attempt_at) FROM outbox o WHERE o.state = ?1
                   AND o.id = (SELECT min(id) FROM outbox WHERE case_id = o.case_id AND state = ?1)",
                [OutboxState::Pending],
                |r| r.get::<_, Option<i64>>(0),
            )?)
        })
    }

    async fn flush_with(&self, which: Flush, cancel: &Cancel) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        let _guard = tokio::select! {
            biased;
            g = self.flush_lock.lock() => g,
            s = cancel.stopped_async() => match s {
                Stop::Cancelled => return Err(Error::Cancelled),
                Stop::Deadline => {
                    report.deadline_reached = true;
                    return self.finish_report(report);
                }
            },
        };
        let ops = self.load_pending()?;
        let mut blocked: HashSet<i64> = HashSet::new();
        let now = self.now_ms();
        for loaded in &ops {
            let op = match loaded {
                Loaded::Ok(op) => op,
                Loaded::Damaged { id, case_id, op } => {
                    if !blocked.contains(case_id) {
                        report.rejected += self.quarantine(*id, *case_id, op)?;
                        self.changed(Change::Queue);
                    }
                    continue;
                }
            };
            if blocked.contains(&op.case_id) {
                continue;
            }
            match cancel.stopped() {
                Some(Stop::Cancelled) => return Err(Error::Cancelled),
                Some(Stop::Deadline) => {
                    report.deadline_reached = true;
                    break;
                }
                None => {}
            }
            if which == Flush::Due && op.next_attempt_at > now {
                // Not due yet: it, and everything after it in its case, waits.
                blocked.insert(op.case_id);
                continue;
            }
            self.mark_attempt(op)?;
            let sent = match cancel.run(self.send(op)).await {
                Ok(r) => r,
                Err(Error::DeadlineExceeded) => {
                    report.deadline_reached = true;
                    break;
                }
                Err(e) => return Err(e),
            };
            match sent {
                None => {
                    blocked.insert(op.case_id);
                }
                Some(Ok(applied)) => {
                    self.apply(op, applied)?;
                    report.sent += 1;
                    self.changed(Change::Queue);
                }
                Some(Err(SendError::Transient(class))) => {
                    self.postpone(op, &class)?;
                    blocked.insert(op.case_id);
                    report.offline = true;
                    tracing::info!(target: "takedown_app::outbox", op = op.payload.op(), class, "operation postponed");
                    self.changed(Change::Queue);
                }
                Some(Err(SendError::Rejected { status, code, .. })) => {
                    tracing::warn!(target: "takedown_app::outbox", op = op.payload.op(), status, code, "operation refused by the service");
                    report.rejected += self.reject(op, &code)?;
                    if matches!(op.payload, Payload::CreateCase { .. }) {
                        blocked.insert(op.case_id);
                    }
                    self.changed(Change::Queue);
                }
            }
        }
        self.finish_report(report)
    }

    /// Fills in what is left and when it is due, from the database.
    fn finish_report(&self, mut report: FlushReport) -> Result<FlushReport> {
        report.pending = self.pending_operations()?;
        if report.pending > 0 {
            let at = self.next_attempt_at()?.unwrap_or(0);
            let now = self.now_ms();
            report.next_attempt_at_ms = Some(at.max(now));
            report.retry_after_ms = Some((at - now).max(0) as u64);
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

    /// Queues a case for the UI's request `request_id` ([`App::queue_case`]:
    /// a retry with the same id never opens a second case) and sends what is due,
    /// until `cancel` stops it. A cancel or a failure after queueing leaves the
    /// case queued; retrying with the same request id picks it up.
    pub async fn submit_request(
        &self,
        request_id: &str,
        answers: &EligibilityAnswers,
        items: &[SubmitItem],
        cancel: &Cancel,
    ) -> Result<SubmitOutcome> {
        let case = self.queue_case(request_id, answers, items)?;
        let ids = self.item_ids(case.id)?;
        self.outcome_until(case.id, ids, cancel).await
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
        self.outcome_until(case_id, item_ids, &Cancel::new()).await
    }

    async fn outcome_until(
        &self,
        case_id: i64,
        item_ids: Vec<i64>,
        cancel: &Cancel,
    ) -> Result<SubmitOutcome> {
        let flush = self.flush_due_until(cancel).await?;
        let (stored_number, waiting): (Option<String>, i64) = self.db.read(|tx| {
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
            case_number: match stored_number {
                Some(n) => Some(self.sealer.open_text("cases", case_id, "case_number", &n)?),
                None => None,
            },
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
    Created(wire::CreatedCase),
    Added(wire::AddedItems),
    Withdrawn,
    /// A withdrawal of an item that never reached the service and never will.
    NeverSent,
}

/// A pending outbox row as read back.
enum Loaded {
    Ok(Pending),
    /// The row cannot be opened or decoded.
    Damaged {
        id: i64,
        case_id: i64,
        op: String,
    },
}

/// Associated data of the sealed payload of outbox row `id`.
fn payload_purpose(id: i64) -> String {
    row_purpose("outbox", id, "payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture() -> ItemFingerprint {
        let cut = |edge, b: u8| p::EdgeCut {
            edge,
            percent: p::EDGE_CUT_PERCENT,
            pdq: p::Pdq([b; 32]),
            quality: p::Quality::new(80).unwrap(),
        };
        ItemFingerprint {
            kind: MediaKind::Image,
            md5: p::Md5([1; 16]),
            sha256: p::Sha256([2; 32]),
            pdq: Some(p::Pdq([3; 32])),
            quality: p::Quality::new(90),
            frames: Vec::new(),
            edge_cuts: vec![cut(p::CutEdge::Top, 4), cut(p::CutEdge::Bottom, 5)],
            low_quality: false,
        }
    }

    /// The wire form carries a picture's cuts as they are, and refuses cuts of
    /// another share, one edge twice, or cuts on a video (the service would).
    #[test]
    fn the_wire_form_carries_well_formed_edge_cuts_only() {
        let good = picture();
        match to_wire(&good).unwrap() {
            p::ItemInput::Image(i) => assert_eq!(i.edge_cuts, good.edge_cuts),
            p::ItemInput::Video(_) => panic!("a picture"),
        }
        let mut none = good.clone();
        none.edge_cuts.clear();
        assert!(to_wire(&none).is_ok(), "items hashed before cuts existed");
        let mut share = good.clone();
        share.edge_cuts[1].percent = 15;
        let mut twice = good.clone();
        twice.edge_cuts[1].edge = p::CutEdge::Top;
        let mut video = good.clone();
        video.kind = MediaKind::Video;
        video.frames = vec![p::VideoFrame {
            t: 0.0,
            pdq: p::Pdq([6; 32]),
            quality: p::Quality::new(80).unwrap(),
        }];
        for bad in [share, twice, video] {
            assert!(matches!(to_wire(&bad), Err(Error::InvalidMedia(_))));
        }
    }
}
