//! The platforms' delta sync of the list.

use serde::{Deserialize, Serialize};

use crate::{EdgeCut, ItemKind, Md5, Pdq, Quality, Sha256, VideoFrame};

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
    /// The item's global id (use it for feedback); submitters never see it.
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
    /// PDQs of the picture with an edge cut off (pictures whose phone sent
    /// them), in the wire form of [`crate::edge_cuts_wire`].
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::edge_cuts_wire"
    )]
    pub edge_cuts: Vec<EdgeCut>,
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
