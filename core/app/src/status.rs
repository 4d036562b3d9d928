//! Case status: refreshed from the service, kept as snapshots, compared with the
//! snapshot the user last looked at ("2 copies removed since your last visit").

use rusqlite::{OptionalExtension, params};
use takedown_protocol as p;

use super::App;
use super::client::with_retries;
use super::error::{Error, Result};
use super::history::{CaseState, HistoryItemState};

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

impl From<&p::CaseSummary> for StatusTotals {
    fn from(s: &p::CaseSummary) -> Self {
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
    /// `true` while on the list, `false` once withdrawn.
    pub active: bool,
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

impl App {
    /// Fetches the status of one case from the service and stores it. Returns what
    /// changed since the user last looked. Fails with [`Error::InvalidInput`] when
    /// the case has not been sent yet.
    pub async fn refresh_status(&self, case_id: i64) -> Result<CaseChanges> {
        let Some((number, token)) = self.credentials(case_id)? else {
            return Err(Error::InvalidInput(
                "this case has not been sent yet".into(),
            ));
        };
        let status = with_retries(&self.policy, || self.client.status(&number, &token)).await?;
        self.store_snapshot(case_id, &status)?;
        self.case_changes(case_id)?
            .ok_or_else(|| Error::Internal("snapshot vanished".into()))
    }

    /// Refreshes every case the service knows. Returns the changes of the cases
    /// that could be refreshed; cases that could not are skipped (the error of the
    /// last failure is returned only when none could be refreshed).
    pub async fn refresh_all(&self) -> Result<Vec<CaseChanges>> {
        let ids = self.ids("SELECT id FROM cases WHERE case_number IS NOT NULL ORDER BY id")?;
        let mut out = Vec::new();
        let mut last_err = None;
        for id in &ids {
            match self.refresh_status(*id).await {
                Ok(c) => out.push(c),
                Err(e) => last_err = Some(e),
            }
        }
        match last_err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    fn store_snapshot(&self, case_id: i64, status: &p::CaseStatus) -> Result<()> {
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
            match latest {
                Some((id, b)) if b == body => {
                    tx.execute("UPDATE status_snapshots SET fetched_at = ?1 WHERE id = ?2", params![now, id])?;
                }
                _ => {
                    tx.execute(
                        "INSERT INTO status_snapshots(case_id, fetched_at, body) VALUES (?1, ?2, ?3)",
                        params![case_id, now, body],
                    )?;
                }
            }
            // Follow the service: withdrawals done elsewhere (or before a crash).
            if status.state == p::ItemState::Withdrawn {
                tx.execute(
                    "UPDATE cases SET state = ?2 WHERE id = ?1 AND state IN (?3, ?4)",
                    params![case_id, CaseState::Withdrawn, CaseState::Open, CaseState::Withdrawing],
                )?;
            }
            let mut stmt = tx.prepare_cached(
                "UPDATE items SET state = ?3 WHERE case_id = ?1 AND remote_id = ?2 AND state IN (?4, ?5)",
            )?;
            for it in &status.items {
                if it.state == p::ItemState::Withdrawn {
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

    fn snapshot(&self, tx: &rusqlite::Transaction<'_>, id: i64) -> Result<Option<p::CaseStatus>> {
        let body: Option<String> = tx
            .query_row(
                "SELECT body FROM status_snapshots WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match body {
            Some(b) => Some(serde_json::from_str(&b)?),
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
        let snap: Option<(i64, String)> = self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT fetched_at, body FROM status_snapshots WHERE case_id = ?1 ORDER BY id DESC LIMIT 1",
                    [case_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
        })?;
        let Some((fetched_at, body)) = snap else {
            return Ok(None);
        };
        let s: p::CaseStatus = serde_json::from_str(&body)?;
        let mut items = Vec::with_capacity(s.items.len());
        for it in &s.items {
            items.push(ItemStatusView {
                item_id: self.item_by_service_id(case_id, it.item_id)?,
                service_item_id: it.item_id,
                active: it.state == p::ItemState::Active,
                platforms_synced: it.platforms_synced,
                matches: it.matches,
                removals: it.removals,
                reviewed_not_violating: it.reviewed_not_violating,
            });
        }
        Ok(Some(CaseStatusView {
            case_id,
            case_number: s.case_number.clone(),
            active: s.state == p::ItemState::Active,
            fetched_at,
            totals: StatusTotals::from(&s.summary),
            items,
        }))
    }
}
