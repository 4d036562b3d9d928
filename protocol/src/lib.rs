//! Wire types shared by the Takedown hash-list service and its clients.
//!
//! Everything that crosses the network between the phone core, the service
//! and participating platforms is defined here, as plain serde types. The
//! request types reject unknown fields, and [`decode`] turns any JSON body
//! into either a fully validated request or a [`FieldError`] that names the
//! offending field (for example `items[2].image.pdq`).
//!
//! The crate is deliberately small (serde, serde_json, hex): the phone core
//! links it too.

#![warn(missing_docs)]

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Version prefix of every route of the service (`/v1/...`).
pub const API_VERSION: &str = "v1";
/// Most items accepted in one create-case or add-items request.
pub const MAX_ITEMS_PER_REQUEST: usize = 1000;
/// Most items one case may hold in total.
pub const MAX_ITEMS_PER_CASE: usize = 10_000;
/// Most vPDQ frames accepted for one video (two hours at one frame per second).
pub const MAX_FRAMES_PER_VIDEO: usize = 7200;
/// Most feedback events accepted in one request.
pub const MAX_FEEDBACK_EVENTS: usize = 1000;
/// Longest opaque platform reference accepted with a feedback event.
pub const MAX_REFERENCE_LEN: usize = 256;
/// Shortest accepted idempotency key (clients should send ≥ 128 random bits).
pub const MIN_IDEMPOTENCY_KEY_LEN: usize = 16;
/// Longest accepted idempotency key or feedback event id.
pub const MAX_KEY_LEN: usize = 128;
/// A PDQ hash of lower quality than this is not used for perceptual matching (Meta's
/// guidance: weak hashes cause false matches); only its exact hashes count.
pub const PDQ_MIN_QUALITY: u8 = 50;
/// Two PDQ hashes match when their Hamming distance is at most this (and both have
/// at least [`PDQ_MIN_QUALITY`]).
pub const PDQ_MATCH_DISTANCE: u32 = 31;
/// A video matches another when at least this share (percent) of the query's usable
/// vPDQ frames match some frame of the other.
pub const VPDQ_MATCH_PERCENT: f64 = 80.0;
/// Largest page a platform may ask for when syncing.
pub const MAX_SYNC_LIMIT: u32 = 50_000;
/// Page size used when a platform does not ask for one.
pub const DEFAULT_SYNC_LIMIT: u32 = 10_000;

macro_rules! hex_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Number of raw bytes.
            pub const LEN: usize = $len;

            /// Lowercase hex form.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses the hex form (either case); `None` when it is not exactly
            #[doc = concat!(stringify!($len), " bytes of hex.")]
            pub fn from_hex(s: &str) -> Option<Self> {
                if s.len() != 2 * $len {
                    return None;
                }
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out).ok()?;
                Some(Self(out))
            }

            /// Builds it from raw bytes; `None` when the length is wrong.
            pub fn from_slice(b: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(b).ok().map(Self)
            }
        }

        // Fingerprints never appear in Debug output (they end up in logs).
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(..)"))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut buf = [0u8; 2 * $len];
                hex::encode_to_slice(self.0, &mut buf).map_err(serde::ser::Error::custom)?;
                // hex output is always ASCII.
                s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, concat!("a string of ", stringify!($len), " bytes as hex (", $what, ")"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        if v.len() != 2 * $len {
                            return Err(E::custom(format_args!(
                                "expected {} hex characters ({}), got {}",
                                2 * $len,
                                $what,
                                v.len()
                            )));
                        }
                        $name::from_hex(v).ok_or_else(|| E::custom("not valid hex"))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

hex_bytes!(
    /// MD5 of the file bytes (16 bytes, hex on the wire).
    Md5, 16, "MD5"
);
hex_bytes!(
    /// SHA-256 of the file bytes (32 bytes, hex on the wire).
    Sha256, 32, "SHA-256"
);
hex_bytes!(
    /// A 256-bit PDQ perceptual hash (32 bytes, hex on the wire).
    Pdq, 32, "PDQ"
);

/// PDQ quality score, 0 to 100 inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Quality(u8);

impl Quality {
    /// The score, or `None` when it is above 100.
    pub fn new(q: u8) -> Option<Self> {
        (q <= 100).then_some(Self(q))
    }
    /// The score as a number 0..=100.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (0..=100).contains(&v) {
            Ok(Self(v as u8))
        } else {
            Err(de::Error::custom(format_args!(
                "quality must be between 0 and 100, got {v}"
            )))
        }
    }
}

/// Who submits the case (an attestation; no identity is collected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Submitter {
    /// The person shown in the pictures or videos.
    PersonShown,
    /// A parent or legal guardian of the person shown.
    ParentOrGuardian,
}

impl Submitter {
    /// Stable string form (also used in storage).
    pub fn as_str(self) -> &'static str {
        match self {
            Submitter::PersonShown => "person_shown",
            Submitter::ParentOrGuardian => "parent_or_guardian",
        }
    }
    /// Parses [`Submitter::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person_shown" => Some(Self::PersonShown),
            "parent_or_guardian" => Some(Self::ParentOrGuardian),
            _ => None,
        }
    }
}

/// The eligibility attestations made when a case is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestations {
    /// The person shown was under 18 when the material was made. Must be `true`.
    pub person_shown_was_under_18: bool,
    /// Who is submitting.
    pub submitter: Submitter,
}

/// Fingerprints of one picture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFingerprints {
    /// MD5 of the file bytes.
    pub md5: Md5,
    /// SHA-256 of the file bytes.
    pub sha256: Sha256,
    /// PDQ hash of what a viewer sees.
    pub pdq: Pdq,
    /// PDQ quality (below 50 the PDQ hash is not used for matching).
    pub quality: Quality,
}

/// One vPDQ frame of a video.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoFrame {
    /// Timestamp of the frame in seconds from the start (finite, ≥ 0).
    pub t: f64,
    /// PDQ hash of the frame.
    pub pdq: Pdq,
    /// PDQ quality of the frame.
    pub quality: Quality,
}

/// Fingerprints of one video.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoFingerprints {
    /// MD5 of the file bytes.
    pub md5: Md5,
    /// SHA-256 of the file bytes.
    pub sha256: Sha256,
    /// vPDQ frame hashes (at most [`MAX_FRAMES_PER_VIDEO`]).
    pub frames: Vec<VideoFrame>,
}

/// One submitted item: `{"image": {...}}` or `{"video": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemInput {
    /// A picture.
    Image(ImageFingerprints),
    /// A video.
    Video(VideoFingerprints),
}

impl ItemInput {
    /// The kind of media.
    pub fn kind(&self) -> ItemKind {
        match self {
            ItemInput::Image(_) => ItemKind::Image,
            ItemInput::Video(_) => ItemKind::Video,
        }
    }
}

/// Kind of media an item fingerprints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A picture.
    Image,
    /// A video.
    Video,
}

impl ItemKind {
    /// Stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Image => "image",
            ItemKind::Video => "video",
        }
    }
}

/// `POST /v1/cases`: open a case anonymously.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseRequest {
    /// Client-chosen random key (≥ 128 bits of randomness, 16–128 characters of
    /// `A-Z a-z 0-9 - _`). Retrying with the same key and body returns the same
    /// case and token; keep it as secret as the token.
    pub idempotency_key: String,
    /// Eligibility attestations.
    pub attestations: Attestations,
    /// The items (1 to [`MAX_ITEMS_PER_REQUEST`]).
    pub items: Vec<ItemInput>,
}

/// Answer to [`CreateCaseRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseResponse {
    /// Case number a person can read out, e.g. `TD-7K3M-Q9XP-2HWD`.
    pub case_number: String,
    /// Secret that authorises status reads, additions and withdrawals
    /// (`Authorization: Bearer <token>`). Keep it; it cannot be recovered
    /// without the idempotency key.
    pub case_token: String,
    /// `false` when this answers a retry of an earlier identical request.
    pub created: bool,
    /// Ids of the items, in request order.
    pub item_ids: Vec<i64>,
}

/// `POST /v1/cases/{case_number}/items`: add items to an open case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddItemsRequest {
    /// Client-chosen key; a retry with the same key returns the same item ids.
    pub idempotency_key: String,
    /// The items (1 to [`MAX_ITEMS_PER_REQUEST`]).
    pub items: Vec<ItemInput>,
}

/// Answer to [`AddItemsRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddItemsResponse {
    /// `false` when this answers a retry of an earlier identical request.
    pub created: bool,
    /// Ids of the new items, in request order.
    pub item_ids: Vec<i64>,
}

/// Answer to a withdrawal (of one item or the whole case).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawResponse {
    /// Items that this request withdrew (empty when they already were).
    pub withdrawn_item_ids: Vec<i64>,
}

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
    /// Item id.
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
    /// The item concerned, if one.
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
    /// Every item, oldest first.
    pub items: Vec<ItemStatus>,
    /// Events, oldest first.
    pub timeline: Vec<TimelineEvent>,
}

/// Whether a sync entry adds or withdraws an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOp {
    /// Put the item on the platform's list.
    Add,
    /// Remove the item from the platform's list.
    Withdraw,
}

/// One change of the list, in commit order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncEntry {
    /// Position in the change log; strictly increasing, never reused.
    pub seq: i64,
    /// Add or withdraw.
    pub op: SyncOp,
    /// The item (use it for feedback).
    pub item_id: i64,
    /// Picture or video.
    pub kind: ItemKind,
    /// MD5 of the file.
    pub md5: Md5,
    /// SHA-256 of the file.
    pub sha256: Sha256,
    /// PDQ (pictures only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<Pdq>,
    /// PDQ quality (pictures only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// vPDQ frames (videos only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<Vec<VideoFrame>>,
}

/// `GET /v1/sync?cursor=N&limit=L`: one page of changes after `cursor`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncPage {
    /// Changes with `seq > cursor`, ascending.
    pub entries: Vec<SyncEntry>,
    /// Cursor to ask with next (the last `seq` here, or the same cursor).
    pub next_cursor: i64,
    /// `true` when more changes were already available.
    pub has_more: bool,
}

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
    /// 1 to [`MAX_FEEDBACK_EVENTS`] events; all are applied or none.
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

/// Body of every error answer: `{"error": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Machine-readable error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable code, e.g. `invalid_field`, `not_found`, `rate_limited`.
    pub code: String,
    /// The offending field as a path (`items[0].image.pdq`), when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Human-readable explanation.
    pub message: String,
}

/// A request body that could not be accepted, naming the field to blame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", field.as_deref().unwrap_or("body"))]
pub struct FieldError {
    /// Path of the field (`None` when the body as a whole is malformed).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// An error about a named field.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// Semantic checks beyond what the types enforce (counts, attestations, key format).
pub trait Validate {
    /// `Ok` when the request may be processed.
    fn validate(&self) -> Result<(), FieldError>;
}

fn check_idempotency_key(field: &str, k: &str) -> Result<(), FieldError> {
    if k.len() < MIN_IDEMPOTENCY_KEY_LEN || k.len() > MAX_KEY_LEN {
        return Err(FieldError::new(
            field,
            format!("must be {MIN_IDEMPOTENCY_KEY_LEN} to {MAX_KEY_LEN} characters"),
        ));
    }
    if !k
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(FieldError::new(
            field,
            "may contain only A-Z, a-z, 0-9, '-' and '_'",
        ));
    }
    Ok(())
}

fn check_items(items: &[ItemInput]) -> Result<(), FieldError> {
    if items.is_empty() {
        return Err(FieldError::new("items", "at least one item is required"));
    }
    if items.len() > MAX_ITEMS_PER_REQUEST {
        return Err(FieldError::new(
            "items",
            format!(
                "at most {MAX_ITEMS_PER_REQUEST} items per request, got {}",
                items.len()
            ),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if let ItemInput::Video(v) = item {
            if v.frames.len() > MAX_FRAMES_PER_VIDEO {
                return Err(FieldError::new(
                    format!("items[{i}].video.frames"),
                    format!(
                        "at most {MAX_FRAMES_PER_VIDEO} frames per video, got {}",
                        v.frames.len()
                    ),
                ));
            }
            for (j, f) in v.frames.iter().enumerate() {
                if !f.t.is_finite() || f.t < 0.0 {
                    return Err(FieldError::new(
                        format!("items[{i}].video.frames[{j}].t"),
                        "must be a finite number of seconds ≥ 0",
                    ));
                }
            }
        }
    }
    Ok(())
}

impl Validate for CreateCaseRequest {
    fn validate(&self) -> Result<(), FieldError> {
        check_idempotency_key("idempotency_key", &self.idempotency_key)?;
        if !self.attestations.person_shown_was_under_18 {
            return Err(FieldError::new(
                "attestations.person_shown_was_under_18",
                "this service only accepts material showing a person under 18 when it was made",
            ));
        }
        check_items(&self.items)
    }
}

impl Validate for AddItemsRequest {
    fn validate(&self) -> Result<(), FieldError> {
        check_idempotency_key("idempotency_key", &self.idempotency_key)?;
        check_items(&self.items)
    }
}

impl Validate for FeedbackRequest {
    fn validate(&self) -> Result<(), FieldError> {
        if self.events.is_empty() {
            return Err(FieldError::new("events", "at least one event is required"));
        }
        if self.events.len() > MAX_FEEDBACK_EVENTS {
            return Err(FieldError::new(
                "events",
                format!(
                    "at most {MAX_FEEDBACK_EVENTS} events per request, got {}",
                    self.events.len()
                ),
            ));
        }
        for (i, e) in self.events.iter().enumerate() {
            if e.event_id.is_empty()
                || e.event_id.len() > MAX_KEY_LEN
                || !e.event_id.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(FieldError::new(
                    format!("events[{i}].event_id"),
                    format!("must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
                ));
            }
            if let Some(r) = &e.reference
                && r.len() > MAX_REFERENCE_LEN
            {
                return Err(FieldError::new(
                    format!("events[{i}].reference"),
                    format!("at most {MAX_REFERENCE_LEN} bytes"),
                ));
            }
            if e.item_id <= 0 {
                return Err(FieldError::new(
                    format!("events[{i}].item_id"),
                    "must be a positive item id",
                ));
            }
        }
        Ok(())
    }
}

/// Decodes and validates a JSON request body.
///
/// Never panics on any input; the error names the field to blame, as a path
/// like `items[0].image.pdq` (for unknown and missing fields, the path ends
/// with the field's own name).
pub fn decode<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => return Err(path_error(&e)),
    };
    if let Err(e) = de.end() {
        return Err(FieldError {
            field: None,
            message: strip_position(&e.to_string()),
        });
    }
    value.validate()?;
    Ok(value)
}

fn path_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let inner = e.inner();
    let message = strip_position(&inner.to_string());
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return FieldError {
            field: None,
            message: format!("malformed JSON: {message}"),
        };
    }
    let mut path = e.path().to_string();
    if path == "." {
        path.clear();
    }
    // serde reports a missing field at the enclosing object: name the field
    // itself. (serde_path_to_error already appends unknown field names.)
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.split('`').next()
    {
        path = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
    }
    FieldError {
        field: if path.is_empty() { None } else { Some(path) },
        message,
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "0123456789abcdef0123456789abcdef";
    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn body(item: &str) -> String {
        format!(
            r#"{{"idempotency_key":"abcdefghijklmnop","attestations":{{"person_shown_was_under_18":true,"submitter":"person_shown"}},"items":[{item}]}}"#
        )
    }

    fn img(extra: &str) -> String {
        format!(
            r#"{{"image":{{"md5":"{MD5}","sha256":"{SHA}","pdq":"{SHA}","quality":90{extra}}}}}"#
        )
    }

    #[test]
    fn decodes_a_valid_case() {
        let req: CreateCaseRequest = decode(body(&img("")).as_bytes()).unwrap();
        assert_eq!(req.items.len(), 1);
        assert_eq!(req.items[0].kind(), ItemKind::Image);
        // The wire form round-trips.
        let again: CreateCaseRequest = decode(&serde_json::to_vec(&req).unwrap()).unwrap();
        assert_eq!(again, req);
    }

    #[test]
    fn names_the_unknown_field() {
        let e = decode::<CreateCaseRequest>(body(&img(r#","colour":1"#)).as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.colour"));
    }

    #[test]
    fn names_the_missing_field() {
        let b = body(&format!(
            r#"{{"image":{{"md5":"{MD5}","sha256":"{SHA}","quality":90}}}}"#
        ));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.pdq"));
    }

    #[test]
    fn rejects_bad_hex_wrong_length_and_quality() {
        let b = body(&img("").replace(MD5, &MD5.replace('0', "g")));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.md5"));
        let b = body(&img("").replace(MD5, "abcd"));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.md5"));
        assert!(e.message.contains("32 hex"), "{}", e.message);
        let b = body(&img("").replace("90", "101"));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.quality"));
        let b = body(&img("").replace("90", "-1"));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.quality"));
    }

    #[test]
    fn rejects_attestation_false_and_bad_key() {
        let b = body(&img("")).replace(":true", ":false");
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("attestations.person_shown_was_under_18")
        );
        let b = body(&img("")).replace("abcdefghijklmnop", "short");
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("idempotency_key"));
    }

    #[test]
    fn rejects_too_many_items_and_trailing_garbage() {
        let items = vec![img(""); MAX_ITEMS_PER_REQUEST + 1].join(",");
        let e = decode::<CreateCaseRequest>(body(&items).as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items"));
        let e =
            decode::<CreateCaseRequest>(format!("{} x", body(&img(""))).as_bytes()).unwrap_err();
        assert_eq!(e.field, None);
        let e = decode::<CreateCaseRequest>(b"{").unwrap_err();
        assert_eq!(e.field, None);
        assert!(e.message.starts_with("malformed JSON"));
    }

    #[test]
    fn rejects_negative_and_non_finite_frame_times() {
        let v = format!(
            r#"{{"video":{{"md5":"{MD5}","sha256":"{SHA}","frames":[{{"t":0.0,"pdq":"{SHA}","quality":80}},{{"t":-1.5,"pdq":"{SHA}","quality":80}}]}}}}"#
        );
        let e = decode::<CreateCaseRequest>(body(&v).as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].video.frames[1].t"));
    }

    #[test]
    fn fingerprints_stay_out_of_debug_output() {
        let req: CreateCaseRequest = decode(body(&img("")).as_bytes()).unwrap();
        let dbg = format!("{req:?}");
        assert!(!dbg.contains(MD5) && !dbg.contains(SHA), "{dbg}");
    }
}
