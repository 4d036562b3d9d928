//! What the app lists: cases and items from the local history. Labels are opened
//! with the host key here; tokens never leave the core.

use rusqlite::{OptionalExtension, params};

use super::App;
use super::eligibility::SubmitterRole;
use super::error::{Error, Result};
use super::outbox::LABEL_PURPOSE;
use super::selection::MediaKind;

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CaseState {
    /// Queued: the service has not answered yet.
    Pending,
    /// Open at the service.
    Open,
    /// Withdrawal queued.
    Withdrawing,
    /// Withdrawn at the service.
    Withdrawn,
    /// The service refused it (see `rejection`).
    Rejected,
}

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ItemState {
    /// Queued: not yet on the list.
    Pending,
    /// On the list platforms sync.
    Active,
    /// Withdrawal queued.
    Withdrawing,
    /// Withdrawn: platforms drop it on their next sync.
    Withdrawn,
    /// The service refused it.
    Rejected,
}

fn case_state(s: &str) -> CaseState {
    match s {
        "open" => CaseState::Open,
        "withdrawing" => CaseState::Withdrawing,
        "withdrawn" => CaseState::Withdrawn,
        "rejected" => CaseState::Rejected,
        _ => CaseState::Pending,
    }
}

fn item_state(s: &str) -> ItemState {
    match s {
        "active" => ItemState::Active,
        "withdrawing" => ItemState::Withdrawing,
        "withdrawn" => ItemState::Withdrawn,
        "rejected" => ItemState::Rejected,
        _ => ItemState::Pending,
    }
}

/// A case in the history.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CaseRecord {
    /// Local id (use it with the other calls).
    pub id: i64,
    /// The number the service gave (`TD-…`), once it has answered.
    pub case_number: Option<String>,
    /// Where it stands.
    pub state: CaseState,
    /// Who submitted it.
    pub submitter: SubmitterRole,
    /// Unix seconds when it was made on this phone.
    pub created_at: i64,
    /// Items in the case.
    pub item_count: u32,
    /// Operations of this case still waiting to be sent.
    pub pending_operations: u32,
    /// The service's error code when it refused something of this case.
    pub rejection: Option<String>,
}

/// An item in the history: fingerprints and the user's label, never pixels,
/// thumbnails, file names or paths.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HistoryItem {
    /// Local id.
    pub id: i64,
    /// The case it belongs to.
    pub case_id: i64,
    /// Picture or video.
    pub kind: MediaKind,
    /// MD5, 32 hex digits.
    pub md5: String,
    /// SHA-256, 64 hex digits.
    pub sha256: String,
    /// PDQ of a picture.
    pub pdq: Option<String>,
    /// PDQ quality of a picture.
    pub quality: Option<u8>,
    /// Number of vPDQ frames of a video.
    pub frame_count: u32,
    /// Only exact copies can be found (weak perceptual hash).
    pub low_quality: bool,
    /// The user's private label.
    pub label: Option<String>,
    /// Where it stands.
    pub state: ItemState,
    /// The service's item id, once sent.
    pub service_item_id: Option<i64>,
    /// Unix seconds when it was added on this phone.
    pub added_at: i64,
}

impl App {
    /// Every case, newest first.
    pub fn list_cases(&self) -> Result<Vec<CaseRecord>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT c.id, c.case_number, c.state, c.submitter, c.created_at,
                   (SELECT count(*) FROM items i WHERE i.case_id = c.id),
                   (SELECT count(*) FROM outbox o WHERE o.case_id = c.id AND o.state = 'pending'),
                   (SELECT o.last_error FROM outbox o WHERE o.case_id = c.id AND o.state = 'rejected' ORDER BY o.id LIMIT 1)
                 FROM cases c ORDER BY c.id DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(CaseRecord {
                    id: r.get(0)?,
                    case_number: r.get(1)?,
                    state: case_state(&r.get::<_, String>(2)?),
                    submitter: match r.get::<_, String>(3)?.as_str() {
                        "parent_or_guardian" => SubmitterRole::ParentOrGuardian,
                        _ => SubmitterRole::PersonShown,
                    },
                    created_at: r.get(4)?,
                    item_count: r.get::<_, i64>(5)? as u32,
                    pending_operations: r.get::<_, i64>(6)? as u32,
                    rejection: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One case.
    pub fn case(&self, case_id: i64) -> Result<CaseRecord> {
        self.list_cases()?
            .into_iter()
            .find(|c| c.id == case_id)
            .ok_or(Error::NotFound("case"))
    }

    /// Items of one case (or of every case), oldest first, labels opened.
    pub fn list_items(&self, case_id: Option<i64>) -> Result<Vec<HistoryItem>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id, case_id, kind, md5, sha256, pdq, quality,
                   coalesce(json_array_length(frames), 0),
                   (SELECT count(*) FROM json_each(items.frames) WHERE json_extract(value, '$.quality') >= 50),
                   label, state, remote_id, added_at
                 FROM items WHERE ?1 IS NULL OR case_id = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query(params![case_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let kind = MediaKind::parse(&r.get::<_, String>(2)?).unwrap_or(MediaKind::Image);
                let quality: Option<u8> = r.get(6)?;
                let usable_frames: i64 = r.get(8)?;
                let label: Option<Vec<u8>> = r.get(9)?;
                out.push(HistoryItem {
                    id: r.get(0)?,
                    case_id: r.get(1)?,
                    kind,
                    md5: r.get(3)?,
                    sha256: r.get(4)?,
                    pdq: r.get(5)?,
                    quality,
                    frame_count: r.get::<_, i64>(7)? as u32,
                    low_quality: match kind {
                        MediaKind::Image => quality.unwrap_or(0) < 50,
                        MediaKind::Video => usable_frames == 0,
                    },
                    label: match label {
                        Some(l) => Some(self.sealer.open_str(LABEL_PURPOSE, &l)?),
                        None => None,
                    },
                    state: item_state(&r.get::<_, String>(10)?),
                    service_item_id: r.get(11)?,
                    added_at: r.get(12)?,
                });
            }
            Ok(out)
        })
    }

    /// Sets or clears (`None` or empty) the private label of an item.
    pub fn set_label(&self, item_id: i64, label: Option<&str>) -> Result<()> {
        let sealed = match label.filter(|l| !l.is_empty()) {
            Some(l) => Some(self.sealer.seal_str(LABEL_PURPOSE, l)?),
            None => None,
        };
        self.db.write(|tx| {
            let n = tx.execute(
                "UPDATE items SET label = ?1 WHERE id = ?2",
                params![sealed, item_id],
            )?;
            if n == 0 {
                return Err(Error::NotFound("item"));
            }
            Ok(())
        })
    }

    /// The local id of the item the service knows as `service_item_id` in a case.
    pub fn item_by_service_id(&self, case_id: i64, service_item_id: i64) -> Result<Option<i64>> {
        self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT id FROM items WHERE case_id = ?1 AND remote_id = ?2",
                    params![case_id, service_item_id],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }
}
