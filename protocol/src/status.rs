//! What the victim sees: item and case state, counters, the timeline.

use serde::{Deserialize, Serialize};

use crate::ItemKind;

/// Whether an item or case is still on the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// On the list platforms sync.
    Active,
    /// Withdrawn by the submitter; platforms drop it on their next sync.
    Withdrawn,
}

/// Status of one item as the victim sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemStatus {
    /// The item's number within the case (1, 2, … in order of addition), as
    /// in the creation and add-items answers; not the global id platforms see.
    pub item_id: i64,
    /// Picture or video.
    pub kind: ItemKind,
    /// Active or withdrawn.
    pub state: ItemState,
    /// Number of platforms whose sync has passed this item.
    pub platforms_synced: u32,
    /// Matches reported by platforms.
    pub matches: u32,
    /// Removals reported by platforms.
    pub removals: u32,
    /// Reviews that found no violation.
    pub reviewed_not_violating: u32,
    /// Unix seconds when added.
    pub added_at: i64,
    /// Unix seconds when withdrawn, if it was.
    pub withdrawn_at: Option<i64>,
}

/// Totals over a case's items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSummary {
    /// Items on the list.
    pub active_items: u32,
    /// Items withdrawn.
    pub withdrawn_items: u32,
    /// Matches reported, all items.
    pub matches: u32,
    /// Removals reported, all items.
    pub removals: u32,
    /// Not-violating reviews, all items.
    pub reviewed_not_violating: u32,
    /// Platforms that have synced every active item.
    pub platforms_synced_all: u32,
}

/// Kind of a timeline event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The case was opened.
    CaseCreated,
    /// Items were added.
    ItemsAdded,
    /// One item was withdrawn.
    ItemWithdrawn,
    /// The whole case was withdrawn.
    CaseWithdrawn,
    /// A platform reported a match.
    Matched,
    /// A platform reported a removal.
    Removed,
    /// A platform reviewed a match and found no violation.
    ReviewedNotViolating,
}

impl EventKind {
    /// Stable string form (also used in storage).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CaseCreated => "case_created",
            EventKind::ItemsAdded => "items_added",
            EventKind::ItemWithdrawn => "item_withdrawn",
            EventKind::CaseWithdrawn => "case_withdrawn",
            EventKind::Matched => "matched",
            EventKind::Removed => "removed",
            EventKind::ReviewedNotViolating => "reviewed_not_violating",
        }
    }
    /// Parses [`EventKind::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "case_created" => EventKind::CaseCreated,
            "items_added" => EventKind::ItemsAdded,
            "item_withdrawn" => EventKind::ItemWithdrawn,
            "case_withdrawn" => EventKind::CaseWithdrawn,
            "matched" => EventKind::Matched,
            "removed" => EventKind::Removed,
            "reviewed_not_violating" => EventKind::ReviewedNotViolating,
            _ => return None,
        })
    }
}

/// One entry of a case's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEvent {
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub kind: EventKind,
    /// The item concerned (its number within the case), if one.
    pub item_id: Option<i64>,
    /// How many items the event concerns (for additions and case events).
    pub count: u32,
}

/// `GET /v1/cases/{case_number}`: what the victim sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseStatus {
    /// The case number.
    pub case_number: String,
    /// Active, or withdrawn as a whole.
    pub state: ItemState,
    /// Unix seconds when opened.
    pub created_at: i64,
    /// Totals.
    pub summary: CaseSummary,
    /// The items, oldest first: all of them, or one page (see
    /// [`CaseStatus::items_total`]).
    pub items: Vec<ItemStatus>,
    /// Events, oldest first: the newest [`STATUS_TIMELINE_MAX`] of them.
    pub timeline: Vec<TimelineEvent>,
    /// How many items the case has, present only when `items` is one page of
    /// them (a large case, or a request with `items_after`/`items_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_total: Option<u32>,
    /// Pass as `items_after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_items_after: Option<i64>,
    /// Older timeline events left out (absent when none were).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeline_omitted: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Items in one status answer at most (the default page size).
pub const STATUS_ITEMS_MAX: u32 = 500;

/// Timeline events in one status answer at most (the newest).
pub const STATUS_TIMELINE_MAX: usize = 200;
