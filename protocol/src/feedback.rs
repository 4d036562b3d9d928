//! What platforms report back about items.

use serde::{Deserialize, Serialize};

use crate::EventKind;

/// What a platform reports about an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Content matching the item was found.
    Matched,
    /// Matching content was removed.
    Removed,
    /// A human reviewed the match and found no violation.
    ReviewedNotViolating,
}

impl Outcome {
    /// Stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::Removed => "removed",
            Outcome::ReviewedNotViolating => "reviewed_not_violating",
        }
    }
    /// The timeline event this outcome produces.
    pub fn event_kind(self) -> EventKind {
        match self {
            Outcome::Matched => EventKind::Matched,
            Outcome::Removed => EventKind::Removed,
            Outcome::ReviewedNotViolating => EventKind::ReviewedNotViolating,
        }
    }
}

/// One feedback event from a platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackEvent {
    /// Platform-chosen id, unique per platform (1–128 printable ASCII
    /// characters); re-sending an event with the same id is a no-op.
    pub event_id: String,
    /// The item (from a sync entry).
    pub item_id: i64,
    /// What happened.
    pub outcome: Outcome,
    /// Optional opaque platform reference (≤ 256 characters), never shown to the victim.
    #[serde(default)]
    pub reference: Option<String>,
}

/// `POST /v1/feedback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// 1 to [`crate::MAX_FEEDBACK_EVENTS`] events; all are applied or none.
    pub events: Vec<FeedbackEvent>,
}

/// Answer to [`FeedbackRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackResponse {
    /// Events recorded now.
    pub accepted: u32,
    /// Events already recorded earlier (same event id).
    pub duplicates: u32,
}
