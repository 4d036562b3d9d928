//! The records and enums the apps see. The app crate's types are declared here
//! for UniFFI with `#[uniffi::remote]` (same shape, no conversion code; the app
//! crate knows nothing of UniFFI). Types that hold fingerprints are mirrored with
//! hex strings, because the app crate holds the protocol's typed hashes: those
//! mirrors and their conversions are at the end of this file.

use takedown_app::eligibility::{
    AgeWhenMade, Eligibility, EligibilityAnswers, IneligibleReason, SubmitterRole,
};
use takedown_app::history::{CaseRecord, CaseState, HistoryItemState};
use takedown_app::outbox::{FlushReport, SubmitOutcome};
use takedown_app::selection::{ItemError, ItemErrorKind, MediaKind};
use takedown_app::status::{CaseChanges, CaseStatusView, ItemStatusView, StatusTotals};
use takedown_app::wire::ServiceState;
use takedown_app::{self as app, Change, NetworkOptions};
use takedown_protocol as p;
use takedown_protocol::CutEdge;

// ---- takedown_app:: ----

/// Tuning of the network side.
#[uniffi::remote(Record)]
pub struct NetworkOptions {
    /// Timeout of one request, milliseconds.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: u64,
    /// Attempts per operation within one flush (transient failures only).
    #[uniffi(default = 4)]
    pub max_attempts: u32,
    /// First backoff delay, milliseconds (doubles per attempt, with jitter).
    #[uniffi(default = 500)]
    pub base_delay_ms: u64,
    /// Largest backoff delay, milliseconds.
    #[uniffi(default = 30000)]
    pub max_delay_ms: u64,
}

// ---- takedown_app::eligibility ----

/// How old the person shown was when the picture or video was made.
#[uniffi::remote(Enum)]
pub enum AgeWhenMade {
    /// Under 18.
    Under18,
    /// 18 or older.
    Adult,
    /// The submitter does not know.
    NotSure,
}

/// Who is using the app to submit.
#[uniffi::remote(Enum)]
pub enum SubmitterRole {
    /// The person shown in the pictures or videos.
    PersonShown,
    /// A parent or legal guardian of the person shown.
    ParentOrGuardian,
    /// Anyone else (a friend, a teacher, a stranger who found it).
    SomeoneElse,
}

/// The answers to the attestation questions.
#[uniffi::remote(Record)]
pub struct EligibilityAnswers {
    /// How old the person shown was when it was made.
    pub age_when_made: AgeWhenMade,
    /// Who is submitting.
    pub submitter: SubmitterRole,
}

/// Why a case cannot be opened; each reason has its own explanation in the UI.
#[uniffi::remote(Enum)]
pub enum IneligibleReason {
    /// The person shown was an adult: point to services for adults (for example
    /// StopNCII.org).
    AdultWhenMade,
    /// The age is unknown: the service only takes material of minors; explain and
    /// point to services for adults and to help lines.
    AgeUnknown,
    /// Only the person shown or a parent/guardian may submit: explain, and suggest
    /// reporting to the platform or a hotline instead.
    SubmitterNotEntitled,
}

/// The outcome of [`check`].
#[uniffi::remote(Record)]
pub struct Eligibility {
    /// `true` when a case may be opened with these answers.
    pub eligible: bool,
    /// Every reason that stands in the way (empty when eligible).
    pub reasons: Vec<IneligibleReason>,
}

// ---- takedown_app::selection ----

/// Picture or video.
#[uniffi::remote(Enum)]
pub enum MediaKind {
    /// A picture.
    Image,
    /// A video.
    Video,
}

/// Why one item of a selection could not be hashed.
#[uniffi::remote(Enum)]
pub enum ItemErrorKind {
    /// Damaged, unsupported, empty or over the size limits.
    InvalidMedia,
    /// The file could not be read.
    Unreadable,
    /// A pushed video without MD5/SHA-256 of its bytes, or with malformed hashes.
    IncompleteFingerprint,
}

/// A per-item failure; the reason names no file and holds no pixels.
#[uniffi::remote(Record)]
pub struct ItemError {
    /// What kind of failure.
    pub kind: ItemErrorKind,
    /// A short explanation for the user.
    pub reason: String,
}

// ---- takedown_app::outbox ----

/// What a flush did.
#[uniffi::remote(Record)]
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
    /// The same as Unix milliseconds, from the persisted retry times: schedule
    /// the next WorkManager / BGTask run for it.
    pub next_attempt_at_ms: Option<i64>,
    /// `true` when the deadline stopped the flush (the rest stays queued).
    pub deadline_reached: bool,
}

/// The outcome of submitting a case or adding items.
#[uniffi::remote(Record)]
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

// ---- takedown_app::history ----

/// Where a case stands.
#[uniffi::remote(Enum)]
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

/// Where an item of the local history stands.
#[uniffi::remote(Enum)]
pub enum HistoryItemState {
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

/// A case in the history.
#[uniffi::remote(Record)]
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
    /// The service's error code when it refused something of this case
    /// (`resubmitCase` sends it again).
    pub rejection: Option<String>,
    /// When this case's next queued operation is due (Unix ms), if any.
    pub next_attempt_at_ms: Option<i64>,
    /// The recovery key to show with the case number and ask the user to
    /// write down (`XXXXX-XXXXX-…`, 7 groups of 5). Made when the case is
    /// queued, so it exists offline too; `None` for cases queued by versions
    /// before recovery keys. With the number it restores the case on any phone
    /// (`restoreCase`).
    pub recovery_key: Option<String>,
}

/// What changed, for the change listener.
#[uniffi::remote(Enum)]
pub enum Change {
    /// The send queue changed (also by a background flush).
    Queue,
    /// Cases or items changed (labels, resubmissions, deletions).
    History,
    /// A new status was stored.
    Status,
}

/// Whether an item or case is on the list, as the service says.
#[uniffi::remote(Enum)]
pub enum ServiceState {
    /// On the list.
    Active,
    /// Withdrawn.
    Withdrawn,
    /// A state a newer service reports that this version does not know: show it
    /// neutrally, never as an error.
    Unknown,
}

// ---- takedown_app::status ----

/// Totals of a case at one moment.
#[uniffi::remote(Record)]
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

/// Status of one item as the service reported it.
#[uniffi::remote(Record)]
pub struct ItemStatusView {
    /// Local item id (`None` if this phone does not know the item).
    pub item_id: Option<i64>,
    /// The service's item id.
    pub service_item_id: i64,
    /// `true` while on the list, `false` once withdrawn (or unknown: see `state`).
    pub active: bool,
    /// Active, withdrawn, or a state this version does not know.
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
#[uniffi::remote(Record)]
pub struct CaseStatusView {
    /// Local case id.
    pub case_id: i64,
    /// The case number.
    pub case_number: String,
    /// `false` once the whole case was withdrawn.
    pub active: bool,
    /// Active, withdrawn, or a state this version does not know.
    pub state: ServiceState,
    /// Unix seconds of the refresh this comes from.
    pub fetched_at: i64,
    /// Totals.
    pub totals: StatusTotals,
    /// Per item.
    pub items: Vec<ItemStatusView>,
}

/// What changed in a case since the user last looked (see [`App::mark_seen`]).
#[uniffi::remote(Record)]
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

// ---- takedown_protocol:: ----

/// The edge of a picture (as shown, after EXIF orientation) that an
/// [`EdgeCutFingerprint`] removes.
#[uniffi::remote(Enum)]
pub enum CutEdge {
    /// The top rows are removed.
    Top,
    /// The bottom rows are removed.
    Bottom,
}

// ---- mirrors of the types that hold fingerprints ----

/// PDQ of a picture with its top or its bottom 20 % of rows removed (an "edge
/// cut"), sent beside the picture's own PDQ so that a re-upload with a caption
/// bar over that edge still matches.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct EdgeCutFingerprint {
    /// The edge removed.
    pub edge: CutEdge,
    /// PDQ hash of what is left, 64 hex digits.
    pub pdq: String,
    /// Its PDQ quality 0–100.
    pub quality: u8,
}

/// One vPDQ frame of a video.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FrameFingerprint {
    /// Seconds from the start.
    pub t: f64,
    /// PDQ hash, 64 hex digits.
    pub pdq: String,
    /// PDQ quality 0–100.
    pub quality: u8,
}

/// The fingerprints of one item: what is submitted, and all the history keeps.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ItemFingerprint {
    /// Picture or video.
    pub kind: MediaKind,
    /// MD5 of the file bytes, 32 hex digits.
    pub md5: String,
    /// SHA-256 of the file bytes, 64 hex digits.
    pub sha256: String,
    /// PDQ of a picture, 64 hex digits (`None` for videos).
    pub pdq: Option<String>,
    /// PDQ quality 0–100 of a picture (`None` for videos).
    pub quality: Option<u8>,
    /// vPDQ frames of a video (empty for pictures).
    pub frames: Vec<FrameFingerprint>,
    /// `true` when the perceptual hash is too weak to use (picture quality < 50,
    /// or a video without a frame of quality ≥ 50): tell the user that only exact
    /// copies of this item can be found. It is still worth submitting.
    pub low_quality: bool,
    /// A picture's edge cuts: its PDQ with the top, and with the bottom, 20 %
    /// of rows removed (empty for videos and for pictures too small to cut).
    /// Hand them back unchanged with the item; an item built without them is
    /// still accepted (it is found only without a caption bar).
    #[uniffi(default)]
    pub edge_cuts: Vec<EdgeCutFingerprint>,
}

/// The result for one item of a selection, in input order.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct HashedItem {
    /// Position in the selection.
    pub index: u32,
    /// The fingerprints, when hashing worked.
    pub fingerprint: Option<ItemFingerprint>,
    /// Why it did not, otherwise.
    pub error: Option<ItemError>,
    /// Near-duplicate group among the selection's pictures (burst shots, edits):
    /// items with the same number look alike, so the UI can ask about them once.
    /// `None` for videos and failed items.
    pub duplicate_group: Option<u32>,
}

/// One item to submit: its fingerprints and the user's optional private label
/// (stored encrypted on the phone, never sent).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SubmitItem {
    /// Fingerprints from hashing the selection.
    pub fingerprint: ItemFingerprint,
    /// A private note for the user ("beach photo"), or `None`. Never sent.
    pub label: Option<String>,
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
    /// MD5, 32 hex digits (`None` for an item of a restored case: its
    /// fingerprints stayed on the phone that made it).
    pub md5: Option<String>,
    /// SHA-256, 64 hex digits (`None` for an item of a restored case).
    pub sha256: Option<String>,
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
    pub state: HistoryItemState,
    /// The service's item id, once sent.
    pub service_item_id: Option<i64>,
    /// Unix seconds when it was added on this phone.
    pub added_at: i64,
}

impl From<p::VideoFrame> for FrameFingerprint {
    fn from(f: p::VideoFrame) -> Self {
        FrameFingerprint {
            t: f.t,
            pdq: f.pdq.to_hex(),
            quality: f.quality.get(),
        }
    }
}

impl From<app::selection::ItemFingerprint> for ItemFingerprint {
    fn from(f: app::selection::ItemFingerprint) -> Self {
        ItemFingerprint {
            kind: f.kind,
            md5: f.md5.to_hex(),
            sha256: f.sha256.to_hex(),
            pdq: f.pdq.map(|h| h.to_hex()),
            quality: f.quality.map(p::Quality::get),
            frames: f.frames.into_iter().map(Into::into).collect(),
            low_quality: f.low_quality,
            edge_cuts: f
                .edge_cuts
                .into_iter()
                .map(|c| EdgeCutFingerprint {
                    edge: c.edge,
                    pdq: c.pdq.to_hex(),
                    quality: c.quality.get(),
                })
                .collect(),
        }
    }
}

fn bad_media(what: &str) -> app::Error {
    app::Error::InvalidMedia(what.into())
}

/// Fingerprints handed back by the app, checked: malformed hex, a quality out of
/// range, or edge cuts that are not at most one per edge of a picture, is
/// [`app::Error::InvalidMedia`].
impl TryFrom<ItemFingerprint> for app::selection::ItemFingerprint {
    type Error = app::Error;
    fn try_from(f: ItemFingerprint) -> Result<Self, app::Error> {
        let md5 = p::Md5::from_hex(&f.md5).ok_or_else(|| bad_media("malformed MD5"))?;
        let sha256 =
            p::Sha256::from_hex(&f.sha256).ok_or_else(|| bad_media("malformed SHA-256"))?;
        let pdq = match f.pdq.as_deref() {
            Some(h) => Some(p::Pdq::from_hex(h).ok_or_else(|| bad_media("malformed PDQ"))?),
            None => None,
        };
        let quality = match f.quality {
            Some(q) => {
                Some(p::Quality::new(q).ok_or_else(|| bad_media("PDQ quality must be 0 to 100"))?)
            }
            None => None,
        };
        let frames = f
            .frames
            .iter()
            .map(|fr| {
                Ok(p::VideoFrame {
                    t: fr.t,
                    pdq: p::Pdq::from_hex(&fr.pdq)
                        .ok_or_else(|| bad_media("malformed frame PDQ"))?,
                    quality: p::Quality::new(fr.quality)
                        .ok_or_else(|| bad_media("frame quality must be 0 to 100"))?,
                })
            })
            .collect::<Result<Vec<_>, app::Error>>()?;
        let edge_cuts = f
            .edge_cuts
            .iter()
            .map(|c| {
                Ok(p::EdgeCut {
                    edge: c.edge,
                    percent: p::EDGE_CUT_PERCENT,
                    pdq: p::Pdq::from_hex(&c.pdq)
                        .ok_or_else(|| bad_media("malformed edge cut PDQ"))?,
                    quality: p::Quality::new(c.quality)
                        .ok_or_else(|| bad_media("edge cut quality must be 0 to 100"))?,
                })
            })
            .collect::<Result<Vec<_>, app::Error>>()?;
        if !edge_cuts.is_empty() && f.kind != MediaKind::Image {
            return Err(bad_media("only a picture has edge cuts"));
        }
        if edge_cuts.len() > p::CutEdge::ALL.len()
            || (edge_cuts.len() == 2 && edge_cuts[0].edge == edge_cuts[1].edge)
        {
            return Err(bad_media("at most one edge cut per edge"));
        }
        Ok(app::selection::ItemFingerprint {
            kind: f.kind,
            md5,
            sha256,
            pdq,
            quality,
            frames,
            edge_cuts,
            low_quality: f.low_quality,
        })
    }
}

impl From<app::selection::HashedItem> for HashedItem {
    fn from(h: app::selection::HashedItem) -> Self {
        HashedItem {
            index: h.index,
            fingerprint: h.fingerprint.map(Into::into),
            error: h.error,
            duplicate_group: h.duplicate_group,
        }
    }
}

impl TryFrom<SubmitItem> for app::outbox::SubmitItem {
    type Error = app::Error;
    fn try_from(i: SubmitItem) -> Result<Self, app::Error> {
        Ok(app::outbox::SubmitItem {
            fingerprint: i.fingerprint.try_into()?,
            label: i.label,
        })
    }
}

impl From<app::history::HistoryItem> for HistoryItem {
    fn from(i: app::history::HistoryItem) -> Self {
        HistoryItem {
            id: i.id,
            case_id: i.case_id,
            kind: i.kind,
            md5: i.md5.map(|h| h.to_hex()),
            sha256: i.sha256.map(|h| h.to_hex()),
            pdq: i.pdq.map(|h| h.to_hex()),
            quality: i.quality.map(p::Quality::get),
            frame_count: i.frame_count,
            low_quality: i.low_quality,
            label: i.label,
            state: i.state,
            service_item_id: i.service_item_id,
            added_at: i.added_at,
        }
    }
}
