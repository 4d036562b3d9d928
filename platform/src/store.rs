//! The local copy of the hash list: one SQLite file holding the entries, the sync
//! cursor, the malformed-record counter and the feedback queue.
//!
//! One connection, WAL. A sync page is applied in **one** transaction together
//! with the new cursor (see `docs/adr/0403-platform-sync.md`), so after a crash the
//! file holds either the whole page and its cursor or neither. Withdrawn items
//! keep only a tombstone (item id, kind, state): their fingerprints are deleted.
//! A picture's edge cuts (`docs/adr/0410-edge-cuts.md`) live in `edge_cuts`,
//! replaced with the entry and deleted with its withdrawal.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use takedown_protocol::{CutEdge, ItemKind, Outcome};

use crate::error::{Error, Result};

/// Schema migrations, applied in order; `PRAGMA user_version` counts the applied ones.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('cursor', 0), ('malformed', 0), ('applied', 0);
CREATE TABLE entries (
    item_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    state TEXT NOT NULL CHECK (state IN ('active', 'withdrawn')),
    seq INTEGER NOT NULL,
    md5 BLOB CHECK (md5 IS NULL OR length(md5) = 16),
    sha256 BLOB CHECK (sha256 IS NULL OR length(sha256) = 32),
    pdq BLOB CHECK (pdq IS NULL OR length(pdq) = 32),
    quality INTEGER CHECK (quality IS NULL OR quality BETWEEN 0 AND 100),
    CHECK (state = 'withdrawn' OR (md5 IS NOT NULL AND sha256 IS NOT NULL))
) STRICT;
CREATE TABLE frames (
    item_id INTEGER NOT NULL REFERENCES entries (item_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    t REAL NOT NULL,
    pdq BLOB NOT NULL CHECK (length(pdq) = 32),
    quality INTEGER NOT NULL CHECK (quality BETWEEN 0 AND 100),
    PRIMARY KEY (item_id, idx)
) STRICT;
CREATE TABLE malformed (
    seq INTEGER,
    item_id INTEGER,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE TABLE feedback (
    event_id TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('matched', 'removed', 'reviewed_not_violating')),
    reference TEXT,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    last_error TEXT
) STRICT;
CREATE INDEX feedback_pending ON feedback (state, created_at);
"#,
    // 2: edge cuts of pictures (ADR 0410). Existing lists have none until the
    // service sends them; entries synced before keep working unchanged.
    r#"
CREATE TABLE edge_cuts (
    item_id INTEGER NOT NULL REFERENCES entries (item_id) ON DELETE CASCADE,
    edge INTEGER NOT NULL CHECK (edge IN (1, 2)),
    percent INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 99),
    pdq BLOB NOT NULL CHECK (length(pdq) = 32),
    quality INTEGER NOT NULL CHECK (quality BETWEEN 0 AND 100),
    PRIMARY KEY (item_id, edge, percent)
) STRICT, WITHOUT ROWID;
"#,
];

/// One PDQ hash with its quality.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PdqValue {
    /// The hash (big-endian bytes, as in its hex form).
    pub hash: [u8; 32],
    /// Quality 0–100.
    pub quality: u8,
}

// Fingerprints never appear in Debug output.
impl std::fmt::Debug for PdqValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PdqValue(.., quality {})", self.quality)
    }
}

/// One vPDQ frame of a listed video.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameValue {
    /// Seconds from the start.
    pub t: f64,
    /// The frame's PDQ.
    pub pdq: PdqValue,
}

/// A listed edge cut of a picture: the PDQ of the picture with `percent` % of
/// its rows removed from `edge` (`takedown_protocol::EdgeCut`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeCutValue {
    /// The edge removed.
    pub edge: CutEdge,
    /// Share of the rows removed (the kit keeps only
    /// [`takedown_protocol::EDGE_CUT_PERCENT`]).
    pub percent: u8,
    /// PDQ and quality of what is left.
    pub pdq: PdqValue,
}

/// An active entry of the list.
#[derive(Clone, PartialEq)]
pub struct Entry {
    /// The service's item id (used for feedback).
    pub item_id: i64,
    /// Position of the change that added it.
    pub seq: i64,
    /// Picture or video.
    pub kind: ItemKind,
    /// MD5 of the file.
    pub md5: [u8; 16],
    /// SHA-256 of the file.
    pub sha256: [u8; 32],
    /// PDQ and quality (pictures).
    pub pdq: Option<PdqValue>,
    /// vPDQ frames (videos).
    pub frames: Vec<FrameValue>,
    /// Edge cuts (pictures whose phone listed them), at most one per edge.
    pub edge_cuts: Vec<EdgeCutValue>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("item_id", &self.item_id)
            .field("seq", &self.seq)
            .field("kind", &self.kind)
            .field("frames", &self.frames.len())
            .field("edge_cuts", &self.edge_cuts.len())
            .finish_non_exhaustive()
    }
}

/// One change to apply to the list.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Add (or replace) an entry.
    Upsert(Entry),
    /// Withdraw an item: its fingerprints are dropped.
    Remove {
        /// The item.
        item_id: i64,
        /// Position of the withdrawal.
        seq: i64,
    },
}

/// A record of a sync page that could not be used (no fingerprint values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Its position, when it could be read.
    pub seq: Option<i64>,
    /// Its item id, when it could be read.
    pub item_id: Option<i64>,
    /// What was wrong (a field name and a class, never a value).
    pub reason: String,
}

/// A feedback event as queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedFeedback {
    /// Stable id sent to the service (a retry never double-counts).
    pub event_id: String,
    /// The item.
    pub item_id: i64,
    /// What happened.
    pub outcome: Outcome,
    /// Optional opaque platform reference.
    pub reference: Option<String>,
}

/// Totals of the local copy.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Sync cursor (everything up to it is applied).
    pub cursor: i64,
    /// Active entries.
    pub active: i64,
    /// Withdrawn items (tombstones).
    pub withdrawn: i64,
    /// Edge cuts listed for active pictures (ADR 0410).
    pub edge_cuts: i64,
    /// Sync records applied (additions and withdrawals), over all time.
    pub applied: i64,
    /// Malformed sync records skipped, over all time.
    pub malformed: i64,
    /// Feedback events waiting to be sent.
    pub feedback_pending: i64,
    /// Feedback events the service confirmed.
    pub feedback_sent: i64,
    /// Feedback events the service refused (see `last_error`).
    pub feedback_rejected: i64,
}

/// The local SQLite file.
pub struct Store {
    conn: Connection,
}

fn kind_str(k: ItemKind) -> &'static str {
    k.as_str()
}

fn parse_kind(s: &str) -> rusqlite::Result<ItemKind> {
    match s {
        "image" => Ok(ItemKind::Image),
        "video" => Ok(ItemKind::Video),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            format!("unknown kind {other:?}"),
            rusqlite::types::Type::Text,
        )),
    }
}

fn parse_outcome(s: &str) -> rusqlite::Result<Outcome> {
    match s {
        "matched" => Ok(Outcome::Matched),
        "removed" => Ok(Outcome::Removed),
        "reviewed_not_violating" => Ok(Outcome::ReviewedNotViolating),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            format!("unknown outcome {other:?}"),
            rusqlite::types::Type::Text,
        )),
    }
}

fn blob<const N: usize>(v: Vec<u8>) -> rusqlite::Result<[u8; N]> {
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "blob length".into(), rusqlite::types::Type::Blob)
    })
}

fn get_meta(tx: &Connection, key: &str) -> Result<i64> {
    Ok(tx.query_row("SELECT value FROM meta WHERE key = ?", [key], |r| r.get(0))?)
}

fn add_meta(tx: &Transaction<'_>, key: &str, n: i64) -> Result<()> {
    tx.execute(
        "UPDATE meta SET value = value + ? WHERE key = ?",
        params![n, key],
    )?;
    Ok(())
}

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Opens (creating when missing) the SQLite file at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::Config(format!(
                "the local database has schema version {version}, newer than this build ({known}); upgrade the kit"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The sync cursor: every change up to it is applied.
    pub fn cursor(&self) -> Result<i64> {
        get_meta(&self.conn, "cursor")
    }

    /// Sync records applied so far (additions and withdrawals, over all time).
    pub fn applied(&self) -> Result<i64> {
        get_meta(&self.conn, "applied")
    }

    /// Applies one sync page atomically: its changes, its malformed records and the
    /// new cursor. Fails with [`Error::Conflict`] (and changes nothing) when the
    /// stored cursor is no longer `from_cursor`, so a page is never applied twice.
    pub fn apply_page(
        &mut self,
        from_cursor: i64,
        next_cursor: i64,
        changes: &[Change],
        malformed: &[Malformed],
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if get_meta(&tx, "cursor")? != from_cursor {
            return Err(Error::Conflict);
        }
        for c in changes {
            match c {
                Change::Upsert(e) => {
                    tx.prepare_cached(
                        "INSERT INTO entries (item_id, kind, state, seq, md5, sha256, pdq, quality) \
                         VALUES (?, ?, 'active', ?, ?, ?, ?, ?) \
                         ON CONFLICT (item_id) DO UPDATE SET kind = excluded.kind, \
                         state = 'active', seq = excluded.seq, md5 = excluded.md5, \
                         sha256 = excluded.sha256, pdq = excluded.pdq, quality = excluded.quality",
                    )?
                    .execute(params![
                        e.item_id,
                        kind_str(e.kind),
                        e.seq,
                        &e.md5[..],
                        &e.sha256[..],
                        e.pdq.as_ref().map(|p| p.hash.to_vec()),
                        e.pdq.map(|p| p.quality),
                    ])?;
                    tx.prepare_cached("DELETE FROM frames WHERE item_id = ?")?
                        .execute([e.item_id])?;
                    let mut ins = tx.prepare_cached(
                        "INSERT INTO frames (item_id, idx, t, pdq, quality) VALUES (?, ?, ?, ?, ?)",
                    )?;
                    for (i, f) in e.frames.iter().enumerate() {
                        ins.execute(params![
                            e.item_id,
                            i as i64,
                            f.t,
                            &f.pdq.hash[..],
                            f.pdq.quality
                        ])?;
                    }
                    tx.prepare_cached("DELETE FROM edge_cuts WHERE item_id = ?")?
                        .execute([e.item_id])?;
                    let mut ins = tx.prepare_cached(
                        "INSERT INTO edge_cuts (item_id, edge, percent, pdq, quality) \
                         VALUES (?, ?, ?, ?, ?)",
                    )?;
                    for c in &e.edge_cuts {
                        ins.execute(params![
                            e.item_id,
                            c.edge.code(),
                            c.percent,
                            &c.pdq.hash[..],
                            c.pdq.quality
                        ])?;
                    }
                }
                Change::Remove { item_id, seq } => {
                    tx.prepare_cached("DELETE FROM frames WHERE item_id = ?")?
                        .execute([item_id])?;
                    tx.prepare_cached("DELETE FROM edge_cuts WHERE item_id = ?")?
                        .execute([item_id])?;
                    // A withdrawal of an item never seen (or already dropped) leaves a
                    // tombstone of unknown kind as 'image'; it holds no fingerprints.
                    tx.prepare_cached(
                        "INSERT INTO entries (item_id, kind, state, seq) VALUES (?, 'image', 'withdrawn', ?) \
                         ON CONFLICT (item_id) DO UPDATE SET state = 'withdrawn', seq = excluded.seq, \
                         md5 = NULL, sha256 = NULL, pdq = NULL, quality = NULL",
                    )?
                    .execute(params![item_id, seq])?;
                }
            }
        }
        let at = now();
        for m in malformed {
            tx.prepare_cached(
                "INSERT INTO malformed (seq, item_id, reason, at) VALUES (?, ?, ?, ?)",
            )?
            .execute(params![m.seq, m.item_id, m.reason, at])?;
        }
        add_meta(&tx, "applied", changes.len() as i64)?;
        add_meta(&tx, "malformed", malformed.len() as i64)?;
        tx.execute(
            "UPDATE meta SET value = ? WHERE key = 'cursor'",
            [next_cursor],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Calls `f` for every active entry, in item id order.
    pub fn for_each_active(&self, mut f: impl FnMut(Entry)) -> Result<()> {
        let mut frames = self
            .conn
            .prepare("SELECT t, pdq, quality FROM frames WHERE item_id = ? ORDER BY idx")?;
        // Edge cuts are read in one pass beside the entries (both in item id
        // order), not one query per picture.
        let mut cut_st = self.conn.prepare(
            "SELECT item_id, edge, percent, pdq, quality FROM edge_cuts ORDER BY item_id, edge, percent",
        )?;
        let mut cut_rows = cut_st.query([])?;
        let mut next_cut = || -> Result<Option<(i64, EdgeCutValue)>> {
            let Some(r) = cut_rows.next()? else {
                return Ok(None);
            };
            let edge = CutEdge::from_code(r.get(1)?).ok_or_else(|| {
                rusqlite::Error::InvalidColumnType(
                    1,
                    "unknown edge".into(),
                    rusqlite::types::Type::Integer,
                )
            })?;
            Ok(Some((
                r.get(0)?,
                EdgeCutValue {
                    edge,
                    percent: r.get(2)?,
                    pdq: PdqValue {
                        hash: blob::<32>(r.get(3)?)?,
                        quality: r.get(4)?,
                    },
                },
            )))
        };
        let mut cut = next_cut()?;
        let mut st = self.conn.prepare(
            "SELECT item_id, seq, kind, md5, sha256, pdq, quality FROM entries \
             WHERE state = 'active' ORDER BY item_id",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let item_id: i64 = r.get(0)?;
            let kind = parse_kind(&r.get::<_, String>(2)?)?;
            let pdq: Option<Vec<u8>> = r.get(5)?;
            let quality: Option<u8> = r.get(6)?;
            let pdq = match (pdq, quality) {
                (Some(h), Some(q)) => Some(PdqValue {
                    hash: blob::<32>(h)?,
                    quality: q,
                }),
                _ => None,
            };
            let frames = if kind == ItemKind::Video {
                frames
                    .query_map([item_id], |fr| {
                        Ok(FrameValue {
                            t: fr.get(0)?,
                            pdq: PdqValue {
                                hash: blob::<32>(fr.get(1)?)?,
                                quality: fr.get(2)?,
                            },
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            } else {
                Vec::new()
            };
            let mut edge_cuts = Vec::new();
            while let Some((id, c)) = cut {
                if id > item_id {
                    break;
                }
                if id == item_id {
                    edge_cuts.push(c);
                }
                cut = next_cut()?;
            }
            f(Entry {
                item_id,
                seq: r.get(1)?,
                kind,
                md5: blob::<16>(r.get(3)?)?,
                sha256: blob::<32>(r.get(4)?)?,
                pdq,
                frames,
                edge_cuts,
            });
        }
        Ok(())
    }

    /// The active entry of an item, if it is on the list.
    pub fn entry(&self, item_id: i64) -> Result<Option<ItemKind>> {
        let k: Option<String> = self
            .conn
            .query_row(
                "SELECT kind FROM entries WHERE item_id = ? AND state = 'active'",
                [item_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(k.map(|k| parse_kind(&k)).transpose()?)
    }

    /// Totals.
    pub fn stats(&self) -> Result<Stats> {
        let c = &self.conn;
        let count = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
        Ok(Stats {
            cursor: get_meta(c, "cursor")?,
            active: count("SELECT count(*) FROM entries WHERE state = 'active'")?,
            withdrawn: count("SELECT count(*) FROM entries WHERE state = 'withdrawn'")?,
            edge_cuts: count("SELECT count(*) FROM edge_cuts")?,
            applied: get_meta(c, "applied")?,
            malformed: get_meta(c, "malformed")?,
            feedback_pending: count("SELECT count(*) FROM feedback WHERE state = 'pending'")?,
            feedback_sent: count("SELECT count(*) FROM feedback WHERE state = 'sent'")?,
            feedback_rejected: count("SELECT count(*) FROM feedback WHERE state = 'rejected'")?,
        })
    }

    /// The most recent malformed records (newest first).
    pub fn malformed(&self, limit: usize) -> Result<Vec<Malformed>> {
        let mut st = self
            .conn
            .prepare("SELECT seq, item_id, reason FROM malformed ORDER BY rowid DESC LIMIT ?")?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok(Malformed {
                    seq: r.get(0)?,
                    item_id: r.get(1)?,
                    reason: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Queues a feedback event; `false` when an event with this id is already queued
    /// (or sent), in which case nothing changes.
    pub fn enqueue_feedback(&mut self, ev: &QueuedFeedback) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO feedback (event_id, item_id, outcome, reference, created_at, state) \
             VALUES (?, ?, ?, ?, ?, 'pending') ON CONFLICT (event_id) DO NOTHING",
            params![
                ev.event_id,
                ev.item_id,
                ev.outcome.as_str(),
                ev.reference,
                now()
            ],
        )?;
        Ok(n == 1)
    }

    /// Up to `limit` pending feedback events, oldest first.
    pub fn pending_feedback(&self, limit: usize) -> Result<Vec<QueuedFeedback>> {
        let mut st = self.conn.prepare_cached(
            "SELECT event_id, item_id, outcome, reference FROM feedback \
             WHERE state = 'pending' ORDER BY created_at, rowid LIMIT ?",
        )?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok(QueuedFeedback {
                    event_id: r.get(0)?,
                    item_id: r.get(1)?,
                    outcome: parse_outcome(&r.get::<_, String>(2)?)?,
                    reference: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Records an attempt that failed (the events stay pending).
    pub fn feedback_attempt_failed(&mut self, event_ids: &[String], class: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        for id in event_ids {
            tx.prepare_cached(
                "UPDATE feedback SET attempts = attempts + 1, last_error = ? WHERE event_id = ?",
            )?
            .execute(params![class, id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks events confirmed by the service.
    pub fn feedback_sent(&mut self, event_ids: &[String]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let at = now();
        for id in event_ids {
            tx.prepare_cached(
                "UPDATE feedback SET state = 'sent', attempts = attempts + 1, sent_at = ?, \
                 last_error = NULL WHERE event_id = ?",
            )?
            .execute(params![at, id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks an event the service refused for good (it is not sent again).
    pub fn feedback_rejected(&mut self, event_id: &str, reason: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE feedback SET state = 'rejected', attempts = attempts + 1, last_error = ? \
             WHERE event_id = ?",
            params![reason, event_id],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, seq: i64) -> Entry {
        Entry {
            item_id: id,
            seq,
            kind: ItemKind::Video,
            md5: [id as u8; 16],
            sha256: [id as u8; 32],
            pdq: None,
            frames: vec![FrameValue {
                t: 0.0,
                pdq: PdqValue {
                    hash: [7; 32],
                    quality: 90,
                },
            }],
            edge_cuts: vec![],
        }
    }

    fn picture(id: i64, seq: i64, cuts: &[CutEdge]) -> Entry {
        Entry {
            item_id: id,
            seq,
            kind: ItemKind::Image,
            md5: [id as u8; 16],
            sha256: [id as u8; 32],
            pdq: Some(PdqValue {
                hash: [id as u8; 32],
                quality: 90,
            }),
            frames: vec![],
            edge_cuts: cuts
                .iter()
                .map(|&edge| EdgeCutValue {
                    edge,
                    percent: takedown_protocol::EDGE_CUT_PERCENT,
                    pdq: PdqValue {
                        hash: [edge.code() + 10 * id as u8; 32],
                        quality: 70 + edge.code(),
                    },
                })
                .collect(),
        }
    }

    fn active(s: &Store) -> Vec<Entry> {
        let mut seen = Vec::new();
        s.for_each_active(|e| seen.push(e)).unwrap();
        seen
    }

    #[test]
    fn edge_cuts_are_stored_replaced_and_withdrawn_with_their_picture() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("list.sqlite3")).unwrap();
        let (a, b, c) = (
            picture(1, 1, &[CutEdge::Top, CutEdge::Bottom]),
            picture(2, 2, &[]),
            picture(3, 3, &[CutEdge::Bottom]),
        );
        s.apply_page(
            0,
            3,
            &[
                Change::Upsert(a.clone()),
                Change::Upsert(b.clone()),
                Change::Upsert(c.clone()),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(active(&s), vec![a.clone(), b.clone(), c.clone()]);
        assert_eq!(s.stats().unwrap().edge_cuts, 3);
        // A replacement replaces the cuts; a withdrawal deletes them.
        let a2 = picture(1, 4, &[CutEdge::Top]);
        s.apply_page(
            3,
            5,
            &[
                Change::Upsert(a2.clone()),
                Change::Remove { item_id: 3, seq: 5 },
            ],
            &[],
        )
        .unwrap();
        assert_eq!(active(&s), vec![a2, b]);
        assert_eq!(s.stats().unwrap().edge_cuts, 1);
    }

    #[test]
    fn a_list_of_the_previous_schema_opens_and_takes_edge_cuts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.sqlite3");
        // A kit database as the previous build left it: schema 1, one picture.
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO entries (item_id, kind, state, seq, md5, sha256, pdq, quality) \
                 VALUES (7, 'image', 'active', 1, ?, ?, ?, 90)",
                params![&[7u8; 16][..], &[7u8; 32][..], &[7u8; 32][..]],
            )
            .unwrap();
            conn.execute(
                "UPDATE meta SET value = 1 WHERE key IN ('cursor', 'applied')",
                [],
            )
            .unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        let version: i64 = s
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let old = active(&s);
        assert_eq!(old.len(), 1);
        assert_eq!((old[0].item_id, old[0].edge_cuts.len()), (7, 0));
        let with = picture(7, 2, &[CutEdge::Top, CutEdge::Bottom]);
        s.apply_page(1, 2, &[Change::Upsert(with.clone())], &[])
            .unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(active(&s), vec![with]);
    }

    #[test]
    fn a_page_and_its_cursor_commit_together_and_never_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.sqlite3");
        let mut s = Store::open(&path).unwrap();
        s.apply_page(
            0,
            2,
            &[Change::Upsert(entry(1, 1)), Change::Upsert(entry(2, 2))],
            &[],
        )
        .unwrap();
        // The same page again is refused and changes nothing.
        assert!(matches!(
            s.apply_page(0, 2, &[Change::Upsert(entry(3, 1))], &[]),
            Err(Error::Conflict)
        ));
        s.apply_page(
            2,
            4,
            &[Change::Remove { item_id: 1, seq: 3 }],
            &[Malformed {
                seq: Some(4),
                item_id: None,
                reason: "md5: invalid".into(),
            }],
        )
        .unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        let st = s.stats().unwrap();
        assert_eq!(
            (st.cursor, st.active, st.withdrawn, st.applied, st.malformed),
            (4, 1, 1, 3, 1)
        );
        let mut seen = Vec::new();
        s.for_each_active(|e| seen.push(e)).unwrap();
        assert_eq!(seen, vec![entry(2, 2)]);
        assert_eq!(s.malformed(10).unwrap()[0].reason, "md5: invalid");
    }

    #[test]
    fn feedback_queue_is_idempotent_per_event_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("list.sqlite3")).unwrap();
        let ev = QueuedFeedback {
            event_id: "e1".into(),
            item_id: 5,
            outcome: Outcome::Removed,
            reference: None,
        };
        assert!(s.enqueue_feedback(&ev).unwrap());
        assert!(!s.enqueue_feedback(&ev).unwrap());
        assert_eq!(s.pending_feedback(10).unwrap(), vec![ev.clone()]);
        s.feedback_sent(&["e1".into()]).unwrap();
        assert!(s.pending_feedback(10).unwrap().is_empty());
        assert!(!s.enqueue_feedback(&ev).unwrap());
    }
}
