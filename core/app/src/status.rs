//! Case status: refreshed from the service, kept as snapshots, compared with the
//! snapshot the user last looked at ("2 copies removed since your last visit").

use rusqlite::{OptionalExtension, params};

use super::cancel::Cancel;
use super::client::with_retries;
use super::crypto::row_purpose;
use super::error::{Error, Result};
use super::history::{CaseState, HistoryItemState};
use super::wire::{self, ServiceState};
use super::{App, Change};

/// Prefix of a sealed snapshot body (hex of the sealed JSON, bound to its row);
/// schema 1–2 stored the JSON in the clear.
const SEALED_BODY: &str = "sealed:";

/// Totals of a case at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusTotals {
    /// Items on the list.
    pub active_items: u32,
    /// Items withdrawn.
    pub withdrawn_items: u32,
    /// Matches platforms reported.
    pub matches: u32,
    /// Removals platforms reported.
    pub removals: u32,
    /// Reviews that found no violation.
    pub reviewed_not_violating: u32,
    /// Platforms that have synced every active item.
    pub platforms_synced_all: u32,
}

impl From<&wire::CaseSummary> for StatusTotals {
    fn from(s: &wire::CaseSummary) -> Self {
        StatusTotals {
            active_items: s.active_items,
            withdrawn_items: s.withdrawn_items,
            matches: s.matches,
            removals: s.removals,
            reviewed_not_violating: s.reviewed_not_violating,
            platforms_synced_all: s.platforms_synced_all,
        }
    }
}

/// Status of one item as the service reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemStatusView {
    /// Local item id (`None` if this phone does not know the item).
    pub item_id: Option<i64>,
    /// The service's item id.
    pub service_item_id: i64,
    /// `true` while on the list, `false` once withdrawn (or in a state this
    /// version does not know: see `state`).
    pub active: bool,
    /// Active, withdrawn, or a state a newer service added (show it neutrally).
    pub state: ServiceState,
    /// Platforms whose sync has passed this item.
    pub platforms_synced: u32,
    /// Matches reported.
    pub matches: u32,
    /// Removals reported.
    pub removals: u32,
    /// Reviews that found no violation.
    pub reviewed_not_violating: u32,
}

/// The latest known status of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseStatusView {
    /// Local case id.
    pub case_id: i64,
    /// The case number.
    pub case_number: String,
    /// `false` once the whole case was withdrawn.
    pub active: bool,
    /// Active, withdrawn, or a state a newer service added (show it neutrally).
    pub state: ServiceState,
    /// Unix seconds of the refresh this comes from.
    pub fetched_at: i64,
    /// Totals.
    pub totals: StatusTotals,
    /// Per item.
    pub items: Vec<ItemStatusView>,
}

/// What changed in a case since the user last looked (see [`App::mark_seen`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseChanges {
    /// Local case id.
    pub case_id: i64,
    /// The case number.
    pub case_number: String,
    /// `true` when anything below differs from what the user saw.
    pub has_changes: bool,
    /// `true` when the user never looked at a status of this case.
    pub first_look: bool,
    /// New matches since the last look.
    pub new_matches: u32,
    /// New removals since the last look.
    pub new_removals: u32,
    /// New not-violating reviews since the last look.
    pub new_reviewed_not_violating: u32,
    /// Items withdrawn since the last look.
    pub newly_withdrawn_items: u32,
    /// Platforms that have synced everything, now.
    pub platforms_synced_all: u32,
    /// …and when the user last looked.
    pub platforms_synced_all_before: u32,
    /// Totals now.
    pub now: StatusTotals,
}

fn changes(
    case_id: i64,
    number: &str,
    now: &StatusTotals,
    seen: Option<&StatusTotals>,
) -> CaseChanges {
    let zero = StatusTotals::default();
    let before = seen.unwrap_or(&zero);
    let c = CaseChanges {
        case_id,
        case_number: number.to_string(),
        has_changes: false,
        first_look: seen.is_none(),
        new_matches: now.matches.saturating_sub(before.matches),
        new_removals: now.removals.saturating_sub(before.removals),
        new_reviewed_not_violating: now
            .reviewed_not_violating
            .saturating_sub(before.reviewed_not_violating),
        newly_withdrawn_items: now.withdrawn_items.saturating_sub(before.withdrawn_items),
        platforms_synced_all: now.platforms_synced_all,
        platforms_synced_all_before: before.platforms_synced_all,
        now: now.clone(),
    };
    CaseChanges {
        has_changes: seen != Some(now),
        ..c
    }
}

/// Seals a snapshot body bound to its row (`status_snapshots/id/body`).
pub(crate) fn seal_body(sealer: &crate::crypto::Sealer, id: i64, json: &str) -> Result<String> {
    let sealed = sealer.seal_str(&row_purpose("status_snapshots", id, "body"), json)?;
    Ok(format!("{SEALED_BODY}{}", hex::encode(sealed)))
}

/// Whether a stored body is sealed.
pub(crate) fn is_sealed_body(stored: &str) -> bool {
    stored.starts_with(SEALED_BODY)
}

impl App {
    /// Fetches the status of one case from the service and stores it. Returns what
    /// changed since the user last looked. Fails with [`Error::InvalidInput`] when
    /// the case has not been sent yet.
    pub async fn refresh_status(&self, case_id: i64) -> Result<CaseChanges> {
        self.refresh_status_until(case_id, &Cancel::new()).await
    }

    /// [`App::refresh_status`] under a cancel token / deadline.
    pub async fn refresh_status_until(&self, case_id: i64, cancel: &Cancel) -> Result<CaseChanges> {
        let Some((number, token)) = self.credentials(case_id)? else {
            return Err(Error::InvalidInput(
                "this case has not been sent yet".into(),
            ));
        };
        let status = cancel
            .run(async {
                Ok(with_retries(&self.policy, || self.client.status(&number, &token)).await?)
            })
            .await?;
        self.store_snapshot(case_id, &status)?;
        self.changed(Change::Status);
        self.case_changes(case_id)?
            .ok_or_else(|| Error::Internal("snapshot vanished".into()))
    }

    /// Refreshes every case the service knows. Returns the changes of the cases
    /// that could be refreshed; cases that could not are skipped (the error of the
    /// last failure is returned only when none could be refreshed).
    pub async fn refresh_all(&self) -> Result<Vec<CaseChanges>> {
        self.refresh_all_until(&Cancel::new()).await
    }

    /// [`App::refresh_all`] under a cancel token / deadline: a cancel fails with
    /// [`Error::Cancelled`]; at the deadline it returns what was refreshed so far
    /// ([`Error::DeadlineExceeded`] when that is nothing).
    pub async fn refresh_all_until(&self, cancel: &Cancel) -> Result<Vec<CaseChanges>> {
        let ids = self.ids("SELECT id FROM cases WHERE case_number IS NOT NULL ORDER BY id")?;
        let mut out = Vec::new();
        let mut last_err = None;
        for id in &ids {
            match self.refresh_status_until(*id, cancel).await {
                Ok(c) => out.push(c),
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                Err(Error::DeadlineExceeded) => {
                    last_err = Some(Error::DeadlineExceeded);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        match last_err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    pub(crate) fn store_snapshot(&self, case_id: i64, status: &wire::CaseStatus) -> Result<()> {
        let body = serde_json::to_string(status)?;
        let now = self.now_secs();
        self.db.write(|tx| {
            let latest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, body FROM status_snapshots WHERE case_id = ?1 ORDER BY id DESC LIMIT 1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let same = match &latest {
                Some((id, b)) => self.open_body(*id, b).ok().as_deref() == Some(body.as_str()),
                None => false,
            };
            match latest {
                Some((id, _)) if same => {
                    tx.execute("UPDATE status_snapshots SET fetched_at = ?1 WHERE id = ?2", params![now, id])?;
                }
                _ => {
                    tx.execute(
                        "INSERT INTO status_snapshots(case_id, fetched_at, body) VALUES (?1, ?2, '')",
                        params![case_id, now],
                    )?;
                    let id = tx.last_insert_rowid();
                    tx.execute(
                        "UPDATE status_snapshots SET body = ?2 WHERE id = ?1",
                        params![id, self.seal_body(id, &body)?],
                    )?;
                }
            }
            // Follow the service: withdrawals done elsewhere (or before a crash).
            if status.state == ServiceState::Withdrawn {
                tx.execute(
                    "UPDATE cases SET state = ?2 WHERE id = ?1 AND state IN (?3, ?4)",
                    params![case_id, CaseState::Withdrawn, CaseState::Open, CaseState::Withdrawing],
                )?;
            }
            let mut stmt = tx.prepare_cached(
                "UPDATE items SET state = ?3 WHERE case_id = ?1 AND remote_id = ?2 AND state IN (?4, ?5)",
            )?;
            for it in &status.items {
                if it.state == ServiceState::Withdrawn {
                    stmt.execute(params![
                        case_id,
                        it.item_id,
                        HistoryItemState::Withdrawn,
                        HistoryItemState::Active,
                        HistoryItemState::Withdrawing
                    ])?;
                }
            }
            Ok(())
        })
    }

    fn seal_body(&self, id: i64, json: &str) -> Result<String> {
        seal_body(&self.sealer, id, json)
    }

    /// Opens a stored snapshot body (sealed, or a schema 1–2 plaintext body).
    fn open_body(&self, id: i64, stored: &str) -> Result<String> {
        match stored.strip_prefix(SEALED_BODY) {
            Some(h) => {
                let sealed = hex::decode(h).map_err(|_| Error::Corrupt)?;
                self.sealer
                    .open_str(&row_purpose("status_snapshots", id, "body"), &sealed)
            }
            None => Ok(stored.to_string()),
        }
    }

    fn snapshot(
        &self,
        tx: &rusqlite::Transaction<'_>,
        id: i64,
    ) -> Result<Option<wire::CaseStatus>> {
        let body: Option<String> = tx
            .query_row(
                "SELECT body FROM status_snapshots WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match body {
            Some(b) => Some(serde_json::from_str(&self.open_body(id, &b)?)?),
            None => None,
        })
    }

    /// What changed in a case since the user last looked; `None` before the first
    /// refresh.
    pub fn case_changes(&self, case_id: i64) -> Result<Option<CaseChanges>> {
        self.db.read(|tx| {
            let latest: Option<i64> = tx.query_row(
                "SELECT max(id) FROM status_snapshots WHERE case_id = ?1",
                [case_id],
                |r| r.get(0),
            )?;
            let Some(latest) = latest else {
                return Ok(None);
            };
            let seen: Option<i64> = tx
                .query_row(
                    "SELECT seen_snapshot_id FROM cases WHERE id = ?1",
                    [case_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let now = self
                .snapshot(tx, latest)?
                .ok_or(Error::NotFound("status"))?;
            let before = match seen {
                Some(s) => self.snapshot(tx, s)?,
                None => None,
            };
            Ok(Some(changes(
                case_id,
                &now.case_number,
                &StatusTotals::from(&now.summary),
                before
                    .as_ref()
                    .map(|b| StatusTotals::from(&b.summary))
                    .as_ref(),
            )))
        })
    }

    /// The ids a parameterless one-column query returns, in order.
    fn ids(&self, sql: &str) -> Result<Vec<i64>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare(sql)?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids)
        })
    }

    /// Changes of every case that has any since the user last looked.
    pub fn changes_since_seen(&self) -> Result<Vec<CaseChanges>> {
        let ids = self.ids("SELECT DISTINCT case_id FROM status_snapshots ORDER BY case_id")?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(c) = self.case_changes(id)?.filter(|c| c.has_changes) {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Records that the user has seen the latest status of a case.
    pub fn mark_seen(&self, case_id: i64) -> Result<()> {
        self.db.write(|tx| {
            let n = tx.execute(
                "UPDATE cases SET seen_snapshot_id = (SELECT max(id) FROM status_snapshots WHERE case_id = ?1) WHERE id = ?1",
                [case_id],
            )?;
            if n == 0 {
                return Err(Error::NotFound("case"));
            }
            Ok(())
        })
    }

    /// The latest stored status of a case (no network); `None` before the first
    /// refresh.
    pub fn case_status(&self, case_id: i64) -> Result<Option<CaseStatusView>> {
        let snap: Option<(i64, i64, String)> = self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT id, fetched_at, body FROM status_snapshots WHERE case_id = ?1 ORDER BY id DESC LIMIT 1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
        })?;
        let Some((id, fetched_at, body)) = snap else {
            return Ok(None);
        };
        let s: wire::CaseStatus = serde_json::from_str(&self.open_body(id, &body)?)?;
        let mut items = Vec::with_capacity(s.items.len());
        for it in &s.items {
            items.push(ItemStatusView {
                item_id: self.item_by_service_id(case_id, it.item_id)?,
                service_item_id: it.item_id,
                active: it.state == ServiceState::Active,
                state: it.state,
                platforms_synced: it.platforms_synced,
                matches: it.matches,
                removals: it.removals,
                reviewed_not_violating: it.reviewed_not_violating,
            });
        }
        Ok(Some(CaseStatusView {
            case_id,
            case_number: s.case_number.clone(),
            active: s.state == ServiceState::Active,
            state: s.state,
            fetched_at,
            totals: StatusTotals::from(&s.summary),
            items,
        }))
    }
}
