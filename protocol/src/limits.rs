//! Limits the service enforces on what it accepts, and paging defaults.

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
/// Longest opaque platform reference accepted with a feedback event, in characters.
pub const MAX_REFERENCE_LEN: usize = 256;
/// Shortest idempotency key of the base64url alphabet (`A-Z a-z 0-9 - _`):
/// 22 characters carry at least 128 bits (22 × 6 = 132).
pub const MIN_IDEMPOTENCY_KEY_LEN: usize = 22;
/// Shortest idempotency key made only of hex digits: 32 carry 128 bits.
pub const MIN_HEX_IDEMPOTENCY_KEY_LEN: usize = 32;
/// Longest accepted idempotency key or feedback event id.
pub const MAX_KEY_LEN: usize = 128;
/// Largest page a platform may ask for when syncing.
pub const MAX_SYNC_LIMIT: u32 = 50_000;
/// Page size used when a platform does not ask for one.
pub const DEFAULT_SYNC_LIMIT: u32 = 10_000;
/// Share of the rows an [`crate::EdgeCut`] removes from a picture, in percent: a
/// caption bar up to this deep is covered (ADR 0410).
pub const EDGE_CUT_PERCENT: u8 = 20;
