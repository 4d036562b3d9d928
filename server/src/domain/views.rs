//! Stored rows turned into wire answers: the status a victim sees, sync entries.

use takedown_protocol as p;

use crate::store::{CUT_BYTES, ChangeRow, FRAME_BYTES, StatusParts, StoreError};

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Which items a status answer lists: those with a per-case number above `after`, at
/// most `limit` (and never more than [`p::STATUS_ITEMS_MAX`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemsPage {
    /// Per-case item number to continue after (0: from the first).
    pub after: i64,
    /// Items wanted; `None` for the default page size.
    pub limit: Option<u32>,
}

/// The status answer: per item, how many platforms' sync has passed its
/// addition; totals over every item; one page of items; the newest part of
/// the timeline. The answer's size is bounded whatever the case holds.
pub fn assemble_status(parts: StatusParts, page: ItemsPage) -> Result<p::CaseStatus, StoreError> {
    let limit = page
        .limit
        .unwrap_or(p::STATUS_ITEMS_MAX)
        .min(p::STATUS_ITEMS_MAX) as usize;
    let count_synced = |seq: i64| parts.synced_through.iter().filter(|&&s| s >= seq).count() as u32;
    let mut summary = p::CaseSummary::default();
    let mut max_active_seq = None::<i64>;
    let mut items = Vec::with_capacity(parts.items.len());
    for it in &parts.items {
        match it.state {
            p::ItemState::Active => {
                summary.active_items += 1;
                max_active_seq = Some(max_active_seq.map_or(it.add_seq, |m| m.max(it.add_seq)));
            }
            p::ItemState::Withdrawn => summary.withdrawn_items += 1,
        }
        summary.matches += count(it.matches);
        summary.removals += count(it.removals);
        summary.reviewed_not_violating += count(it.not_violating);
        if it.number <= page.after || items.len() > limit {
            continue;
        }
        items.push(p::ItemStatus {
            item_id: it.number,
            kind: it.kind,
            state: it.state,
            platforms_synced: count_synced(it.add_seq),
            matches: count(it.matches),
            removals: count(it.removals),
            reviewed_not_violating: count(it.not_violating),
            added_at: it.created_at,
            withdrawn_at: it.withdrawn_at,
        });
    }
    summary.platforms_synced_all = max_active_seq.map_or(0, count_synced);
    // One more than the page was collected to know whether another follows.
    let more = items.len() > limit;
    items.truncate(limit);
    let paged = more || page.after > 0 || page.limit.is_some();
    let next_items_after = if more {
        items.last().map(|i| i.item_id)
    } else {
        None
    };
    let mut events = parts.events;
    let timeline_omitted = events.len().saturating_sub(p::STATUS_TIMELINE_MAX);
    events.drain(..timeline_omitted);
    let timeline = events
        .into_iter()
        .map(|e| p::TimelineEvent {
            at: e.at,
            kind: e.kind,
            item_id: e.item_number,
            count: count(e.count),
        })
        .collect();
    Ok(p::CaseStatus {
        case_number: parts.number,
        state: parts.state,
        created_at: parts.created_at,
        summary,
        items_total: paged.then(|| count(parts.items.len() as i64)),
        items,
        timeline,
        next_items_after,
        timeline_omitted: count(timeline_omitted as i64),
    })
}

fn bytes<T>(b: &[u8], f: impl Fn(&[u8]) -> Option<T>) -> Result<T, StoreError> {
    f(b).ok_or_else(|| StoreError::Internal("stored hash has the wrong length".into()))
}

/// Decodes stored vPDQ frames.
pub fn decode_frames(b: &[u8]) -> Result<Vec<p::VideoFrame>, StoreError> {
    if !b.len().is_multiple_of(FRAME_BYTES) {
        return Err(StoreError::Internal("stored frames are truncated".into()));
    }
    b.chunks_exact(FRAME_BYTES)
        .map(|c| {
            let mut t = [0u8; 8];
            t.copy_from_slice(&c[..8]);
            Ok(p::VideoFrame {
                t: f64::from_le_bytes(t),
                pdq: bytes(&c[8..40], p::Pdq::from_slice)?,
                quality: p::Quality::new(c[40])
                    .ok_or_else(|| StoreError::Internal("stored quality out of range".into()))?,
            })
        })
        .collect()
}

/// Reads the stored form of a picture's edge cuts (`store::encode_cuts`).
pub fn decode_cuts(b: &[u8]) -> Result<Vec<p::EdgeCut>, StoreError> {
    if !b.len().is_multiple_of(CUT_BYTES) {
        return Err(StoreError::Internal(
            "stored edge cuts are truncated".into(),
        ));
    }
    b.chunks_exact(CUT_BYTES)
        .map(|c| {
            let bad = || StoreError::Internal("stored edge cut is malformed".into());
            Ok(p::EdgeCut {
                edge: p::CutEdge::from_code(c[0]).ok_or_else(bad)?,
                percent: c[1],
                pdq: p::Pdq::from_slice(&c[2..34]).ok_or_else(bad)?,
                quality: p::Quality::new(c[34]).ok_or_else(bad)?,
            })
        })
        .collect()
}

/// A change-log row in wire form.
pub fn sync_entry(r: ChangeRow) -> Result<p::SyncEntry, StoreError> {
    Ok(p::SyncEntry {
        seq: r.seq,
        op: r.op,
        item_id: r.item_id,
        kind: r.kind,
        md5: bytes(&r.md5, p::Md5::from_slice)?,
        sha256: bytes(&r.sha256, p::Sha256::from_slice)?,
        pdq: r
            .pdq
            .as_deref()
            .map(|b| bytes(b, p::Pdq::from_slice))
            .transpose()?,
        quality: r
            .quality
            .and_then(|q| u8::try_from(q).ok())
            .and_then(p::Quality::new),
        frames: r.frames.as_deref().map(decode_frames).transpose()?,
        edge_cuts: r
            .edge_cuts
            .as_deref()
            .map(decode_cuts)
            .transpose()?
            .unwrap_or_default(),
    })
}
