//! The service's answers as this phone reads them: tolerant of what a newer
//! service adds. Unknown fields are ignored and unknown enum values become an
//! `Unknown` variant shown neutrally, so a service update never breaks installed
//! apps. (The service itself stays strict about what it *receives*: the request
//! types of `takedown-protocol` deny unknown fields, and the phone sends those.)

use serde::{Deserialize, Serialize};

/// Answer to opening a case (`takedown_protocol::CreateCaseResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreatedCase {
    /// Case number.
    pub case_number: String,
    /// Case token (secret).
    pub case_token: String,
    /// Ids of the items, in request order.
    pub item_ids: Vec<i64>,
}

/// Answer to restoring a case with its recovery key
/// (`takedown_protocol::RestoreCaseResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RestoredCase {
    /// Case number, canonical.
    pub case_number: String,
    /// The fresh case token (secret).
    pub case_token: String,
    /// Who opened the case (`person_shown`, `parent_or_guardian`; anything
    /// else is read as unknown).
    #[serde(default)]
    pub submitter: Option<String>,
}

/// Answer to adding items.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AddedItems {
    /// Ids of the new items, in request order.
    pub item_ids: Vec<i64>,
}

/// Answer to a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Withdrawn {
    /// Items this request withdrew.
    #[serde(default)]
    pub withdrawn_item_ids: Vec<i64>,
}

/// Whether an item or case is on the list, as the service says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// On the list.
    Active,
    /// Withdrawn.
    Withdrawn,
    /// A state a newer service reports that this version does not know: show it
    /// neutrally ("see the case on the web"), never as an error.
    #[serde(other)]
    Unknown,
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
    /// A platform found no violation.
    ReviewedNotViolating,
    /// An event kind this version does not know.
    #[serde(other)]
    Unknown,
}

/// Status of one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemStatus {
    /// The service's item id.
    pub item_id: i64,
    /// `image` or `video` (anything else is read as an image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Active, withdrawn, or unknown.
    pub state: ServiceState,
    /// Platforms whose sync has passed this item.
    #[serde(default)]
    pub platforms_synced: u32,
    /// Matches.
    #[serde(default)]
    pub matches: u32,
    /// Removals.
    #[serde(default)]
    pub removals: u32,
    /// Not-violating reviews.
    #[serde(default)]
    pub reviewed_not_violating: u32,
}

/// Totals of a case.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// Items on the list.
    #[serde(default)]
    pub active_items: u32,
    /// Items withdrawn.
    #[serde(default)]
    pub withdrawn_items: u32,
    /// Matches.
    #[serde(default)]
    pub matches: u32,
    /// Removals.
    #[serde(default)]
    pub removals: u32,
    /// Not-violating reviews.
    #[serde(default)]
    pub reviewed_not_violating: u32,
    /// Platforms that synced every active item.
    #[serde(default)]
    pub platforms_synced_all: u32,
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub kind: EventKind,
    /// The item concerned, if one.
    #[serde(default)]
    pub item_id: Option<i64>,
    /// How many items.
    #[serde(default)]
    pub count: u32,
}

/// `GET /v1/cases/{n}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStatus {
    /// The case number.
    pub case_number: String,
    /// Active, withdrawn, or unknown.
    pub state: ServiceState,
    /// Totals.
    #[serde(default)]
    pub summary: CaseSummary,
    /// Items.
    #[serde(default)]
    pub items: Vec<ItemStatus>,
    /// Events.
    #[serde(default)]
    pub timeline: Vec<TimelineEvent>,
    /// Where the next page of items starts, when `items` is one page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_items_after: Option<i64>,
}

/// An error answer.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error's code and message.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: String,
    /// Explanation.
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_values_are_tolerated() {
        let s: CaseStatus = serde_json::from_str(
            r#"{"case_number":"TD-1","state":"frozen","created_at":1,"new_top":{"x":1},
                "summary":{"active_items":1,"withdrawn_items":0,"matches":2,"removals":0,
                  "reviewed_not_violating":0,"platforms_synced_all":0,"appeals":3},
                "items":[{"item_id":5,"kind":"audio","state":"under_review","platforms_synced":1,
                  "matches":2,"removals":0,"reviewed_not_violating":0,"added_at":1,"withdrawn_at":null,"x":[]}],
                "timeline":[{"at":1,"kind":"appealed","item_id":null,"count":1,"extra":true}]}"#,
        )
        .unwrap();
        assert_eq!(s.state, ServiceState::Unknown);
        assert_eq!(s.items[0].state, ServiceState::Unknown);
        assert_eq!(s.items[0].matches, 2);
        assert_eq!(s.timeline[0].kind, EventKind::Unknown);
        assert_eq!(s.summary.matches, 2);
        let c: CreatedCase = serde_json::from_str(
            r#"{"case_number":"TD-1","case_token":"t","created":true,"item_ids":[1],"expires_at":5}"#,
        )
        .unwrap();
        assert_eq!(c.item_ids, vec![1]);
    }
}
