//! Opening a case and adding to it: attestations, submitted items, their answers.

use serde::{Deserialize, Serialize};

use crate::{Md5, Pdq, Quality, Sha256};

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

/// The wire form of a picture's edge cuts: an object whose keys name the edge
/// and the share removed, `{"top_20": {"pdq": …, "quality": …}, "bottom_20":
/// {…}}`, so at most one cut per edge and share is possible by construction and
/// a schema can say so. Only the keys of [`EDGE_CUT_PERCENT`](crate::EDGE_CUT_PERCENT) exist; a request
/// with any other key is refused (strict), and a reader of sync entries should
/// ignore keys it does not know (a later service may list more).
pub mod edge_cuts_wire {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, ser};

    use super::{CutEdge, EdgeCut};
    use crate::{EDGE_CUT_PERCENT, Pdq, Quality};

    /// One cut on the wire.
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cut {
        pdq: Pdq,
        quality: Quality,
    }

    #[derive(Serialize, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Cuts {
        #[serde(
            rename = "top_20",
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "present"
        )]
        top: Option<Cut>,
        #[serde(
            rename = "bottom_20",
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "present"
        )]
        bottom: Option<Cut>,
    }

    /// A key that is there holds a cut: `null` is refused, not read as absent.
    fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cut>, D::Error> {
        Cut::deserialize(d).map(Some)
    }

    /// The wire key of a cut (`top_20`, `bottom_20`).
    pub fn key(edge: CutEdge, percent: u8) -> String {
        format!("{}_{percent}", edge.as_str())
    }

    /// Writes the cuts; fails on a share other than [`EDGE_CUT_PERCENT`](crate::EDGE_CUT_PERCENT) or a
    /// second cut of one edge.
    pub fn serialize<S: Serializer>(cuts: &[EdgeCut], s: S) -> Result<S::Ok, S::Error> {
        let mut w = Cuts::default();
        for c in cuts {
            if c.percent != EDGE_CUT_PERCENT {
                return Err(ser::Error::custom("edge cut of an unknown share"));
            }
            let slot = match c.edge {
                CutEdge::Top => &mut w.top,
                CutEdge::Bottom => &mut w.bottom,
            };
            if slot.is_some() {
                return Err(ser::Error::custom("two edge cuts of one edge"));
            }
            *slot = Some(Cut {
                pdq: c.pdq,
                quality: c.quality,
            });
        }
        w.serialize(s)
    }

    /// Reads the cuts, in [`CutEdge::ALL`] order.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EdgeCut>, D::Error> {
        let w = Cuts::deserialize(d)?;
        Ok([(CutEdge::Top, w.top), (CutEdge::Bottom, w.bottom)]
            .into_iter()
            .filter_map(|(edge, c)| {
                c.map(|c| EdgeCut {
                    edge,
                    percent: EDGE_CUT_PERCENT,
                    pdq: c.pdq,
                    quality: c.quality,
                })
            })
            .collect())
    }
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
    /// PDQ hashes of the picture with one edge cut off ([`EdgeCut`]), so that a
    /// re-upload with a caption bar over that edge still matches (ADR 0410).
    /// On the wire an object keyed by edge and share ([`edge_cuts_wire`]); at
    /// most one per [`CutEdge`]; absent from older phones.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "edge_cuts_wire"
    )]
    pub edge_cuts: Vec<EdgeCut>,
}

/// The edge of the picture (as shown, after EXIF orientation) that an
/// [`EdgeCut`] removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutEdge {
    /// The top rows are removed.
    Top,
    /// The bottom rows are removed.
    Bottom,
}

impl CutEdge {
    /// Both edges, in their stable order.
    pub const ALL: [CutEdge; 2] = [CutEdge::Top, CutEdge::Bottom];

    /// Stable string form.
    pub fn as_str(self) -> &'static str {
        match self {
            CutEdge::Top => "top",
            CutEdge::Bottom => "bottom",
        }
    }

    /// Stable one-byte code (storage).
    pub fn code(self) -> u8 {
        match self {
            CutEdge::Top => 1,
            CutEdge::Bottom => 2,
        }
    }

    /// Reads [`CutEdge::code`].
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            1 => Some(CutEdge::Top),
            2 => Some(CutEdge::Bottom),
            _ => None,
        }
    }
}

/// The rows an edge cut of `percent` % removes from a picture `height` rows
/// high: `height × percent / 100`, rounded down. Phones and platforms must use
/// exactly this, so a platform can make the same cut of an upload.
pub fn edge_cut_rows(height: u32, percent: u8) -> u32 {
    (u64::from(height) * u64::from(percent) / 100) as u32
}

/// PDQ of a picture with its top or bottom [`EDGE_CUT_PERCENT`](crate::EDGE_CUT_PERCENT) % of rows
/// ([`edge_cut_rows`]) removed, hashed from the same decoded pixels as the
/// item's own PDQ. Its wire form is one entry of [`edge_cuts_wire`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeCut {
    /// The edge removed.
    pub edge: CutEdge,
    /// Share of the rows removed, in percent; only [`EDGE_CUT_PERCENT`](crate::EDGE_CUT_PERCENT) is accepted.
    pub percent: u8,
    /// PDQ hash of what is left.
    pub pdq: Pdq,
    /// Its PDQ quality.
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
    /// vPDQ frame hashes (at most [`crate::MAX_FRAMES_PER_VIDEO`]).
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
    /// The items (1 to [`crate::MAX_ITEMS_PER_REQUEST`]).
    pub items: Vec<ItemInput>,
    /// [`crate::RecoveryKey::verifier`] of the key the phone made for this
    /// case (64 lowercase hex digits). With it, the key restores access to the
    /// case (`POST /v1/cases/{case_number}/restore`); without, nothing can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_verifier: Option<String>,
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
    /// The items' numbers within the case (1, 2, …), in request order. They
    /// are per-case numbers, not the service's global ids (which would show
    /// how many items it holds; ADR 0110).
    pub item_ids: Vec<i64>,
}

/// `POST /v1/cases/{case_number}/items`: add items to an open case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddItemsRequest {
    /// Client-chosen key; a retry with the same key returns the same item numbers.
    pub idempotency_key: String,
    /// The items (1 to [`crate::MAX_ITEMS_PER_REQUEST`]).
    pub items: Vec<ItemInput>,
}

/// Answer to [`AddItemsRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddItemsResponse {
    /// `false` when this answers a retry of an earlier identical request.
    pub created: bool,
    /// Per-case numbers of the new items, in request order: they continue
    /// after every item the case ever had (numbers are never reused).
    pub item_ids: Vec<i64>,
}

/// Answer to a withdrawal (of one item or the whole case).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawResponse {
    /// Per-case numbers of the items this request withdrew (empty when they
    /// already were).
    pub withdrawn_item_ids: Vec<i64>,
}
