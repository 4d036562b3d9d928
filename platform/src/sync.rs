//! Delta sync of the hash list: `GET /v1/sync` page by page, each page applied
//! in one transaction with its cursor (`docs/adr/0403-platform-sync.md`).
//!
//! * Tolerant reader: the page and its entries ignore fields they do not know,
//!   and each entry is parsed on its own from raw JSON; an entry that cannot be
//!   used is logged (position, item id and the field to blame, never a value),
//!   counted in the store and skipped. It never stops the sync. A picture's edge
//!   cuts of an edge or share this kit does not know are ignored; a known cut
//!   with a bad hash or quality makes its entry malformed (ADR 0410).
//! * Withdrawals drop the entry's fingerprints; the caller's `on_page` hook sees
//!   every committed page, so an in-memory matcher is updated before the next match.
//! * Transient failures (offline, timeouts, 5xx, 429) are retried with backoff and
//!   jitter; rejections (4xx) stop with the service's message.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use takedown_protocol as p;

use crate::client::{Client, RetryPolicy, with_retries};
use crate::error::{Error, Result};
use crate::matcher::Position;
use crate::store::{Change, EdgeCutValue, Entry, FrameValue, Malformed, PdqValue, Store};

/// Largest item id the kit accepts (frame keys of the index need the bits above).
pub const MAX_ITEM_ID: i64 = (1 << 50) - 1;

/// How to sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Entries per page asked for.
    pub page_limit: u32,
    /// Retries of one page request.
    pub retry: RetryPolicy,
    /// Stop after this many pages (the rest is fetched next time).
    pub max_pages: Option<usize>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            page_limit: p::DEFAULT_SYNC_LIMIT,
            retry: RetryPolicy::default(),
            max_pages: None,
        }
    }
}

/// What one sync run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Pages applied.
    pub pages: usize,
    /// Entries added or replaced.
    pub added: usize,
    /// Entries withdrawn.
    pub withdrawn: usize,
    /// Records skipped as malformed.
    pub malformed: usize,
    /// Cursor after the run.
    pub cursor: i64,
    /// Whether the service had more changes when the run stopped.
    pub has_more: bool,
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    seq: Option<Value>,
    #[serde(default)]
    item_id: Option<Value>,
}

#[derive(Deserialize)]
struct OpOnly {
    seq: i64,
    op: String,
    item_id: i64,
}

#[derive(Deserialize)]
struct WireFrame {
    t: f64,
    pdq: p::Pdq,
    quality: p::Quality,
}

#[derive(Deserialize)]
struct WireAdd {
    kind: String,
    md5: p::Md5,
    sha256: p::Sha256,
    #[serde(default)]
    pdq: Option<p::Pdq>,
    #[serde(default)]
    quality: Option<p::Quality>,
    #[serde(default)]
    frames: Option<Vec<WireFrame>>,
    #[serde(default)]
    edge_cuts: Option<serde_json::Map<String, Value>>,
}

/// A known edge cut as listed: `{"pdq": …, "quality": …}` (other fields ignored).
#[derive(Deserialize)]
struct WireCut {
    #[serde(default)]
    pdq: Option<Value>,
    #[serde(default)]
    quality: Option<Value>,
}

/// The edge cuts of an entry this kit uses (ADR 0410). On the wire they are an
/// object keyed by edge and share (`top_20`, `bottom_20`): keys this kit does not
/// know are ignored whatever they hold (a newer service may list more); a known
/// cut that is not an object or has a missing or invalid `pdq`/`quality` is the
/// entry's fault (the reason names the field). Read in [`p::CutEdge::ALL`] order.
fn edge_cuts(
    cuts: &serde_json::Map<String, Value>,
) -> std::result::Result<Vec<EdgeCutValue>, String> {
    let mut out: Vec<EdgeCutValue> = Vec::with_capacity(2);
    for edge in p::CutEdge::ALL {
        let key = p::edge_cuts_wire::key(edge, p::EDGE_CUT_PERCENT);
        let Some(v) = cuts.get(&key) else {
            continue;
        };
        // An object only: serde would also read the struct from a JSON array.
        let c = v
            .is_object()
            .then(|| WireCut::deserialize(v).ok())
            .flatten()
            .ok_or_else(|| format!("edge_cuts.{key}: invalid"))?;
        let hash = match c.pdq.as_ref().map(p::Pdq::deserialize) {
            Some(Ok(h)) => h.0,
            Some(Err(_)) => return Err(format!("edge_cuts.{key}.pdq: invalid")),
            None => return Err(format!("edge_cuts.{key}.pdq: missing")),
        };
        let quality = match c.quality.as_ref().map(p::Quality::deserialize) {
            Some(Ok(q)) => q.get(),
            Some(Err(_)) => return Err(format!("edge_cuts.{key}.quality: invalid")),
            None => return Err(format!("edge_cuts.{key}.quality: missing")),
        };
        out.push(EdgeCutValue {
            edge,
            percent: p::EDGE_CUT_PERCENT,
            pdq: PdqValue { hash, quality },
        });
    }
    Ok(out)
}

/// A reason naming the field, never its value.
fn field_reason<T>(
    r: std::result::Result<T, serde_path_to_error::Error<serde_json::Error>>,
) -> std::result::Result<T, String> {
    r.map_err(|e| {
        let path = e.path().to_string();
        let msg = e.inner().to_string();
        // serde reports a missing field at its parent: name the field itself.
        if let Some(rest) = msg.strip_prefix("missing field `")
            && let Some(name) = rest.split('`').next()
        {
            return format!("{name}: missing");
        }
        if path == "." {
            "entry: not an object of the expected shape".to_string()
        } else {
            format!("{path}: invalid")
        }
    })
}

/// Parses one raw sync entry. `after` is the cursor the page was asked with.
pub fn parse_entry(v: &Value, after: i64) -> std::result::Result<Change, Malformed> {
    let head: Head = Head::deserialize(v).unwrap_or(Head {
        seq: None,
        item_id: None,
    });
    let seq = head.seq.as_ref().and_then(Value::as_i64);
    let item_id = head.item_id.as_ref().and_then(Value::as_i64);
    let bad = |reason: String| Malformed {
        seq,
        item_id,
        reason,
    };
    let op: OpOnly = field_reason(serde_path_to_error::deserialize(v)).map_err(bad)?;
    if op.seq <= after {
        return Err(bad("seq: not after the cursor".into()));
    }
    if !(1..=MAX_ITEM_ID).contains(&op.item_id) {
        return Err(bad("item_id: out of range".into()));
    }
    match op.op.as_str() {
        "withdraw" => {
            return Ok(Change::Remove {
                item_id: op.item_id,
                seq: op.seq,
            });
        }
        "add" => {}
        _ => return Err(bad("op: unknown operation".into())),
    }
    let add: WireAdd = field_reason(serde_path_to_error::deserialize(v)).map_err(bad)?;
    let kind = match add.kind.as_str() {
        "image" => p::ItemKind::Image,
        "video" => p::ItemKind::Video,
        _ => return Err(bad("kind: unknown kind".into())),
    };
    let pdq = match (add.pdq, add.quality) {
        (Some(h), Some(q)) => Some(PdqValue {
            hash: h.0,
            quality: q.get(),
        }),
        (None, None) => None,
        _ => return Err(bad("quality: pdq and quality must come together".into())),
    };
    let frames = add.frames.unwrap_or_default();
    if frames.len() > p::MAX_FRAMES_PER_VIDEO {
        return Err(bad("frames: too many".into()));
    }
    if let Some(i) = frames.iter().position(|f| !f.t.is_finite() || f.t < 0.0) {
        return Err(bad(format!("frames[{i}].t: invalid")));
    }
    let frames: Vec<FrameValue> = frames
        .into_iter()
        .map(|f| FrameValue {
            t: f.t,
            pdq: PdqValue {
                hash: f.pdq.0,
                quality: f.quality.get(),
            },
        })
        .collect();
    let edge_cuts = match &add.edge_cuts {
        Some(c) => edge_cuts(c).map_err(bad)?,
        None => Vec::new(),
    };
    match kind {
        p::ItemKind::Image if !frames.is_empty() => {
            return Err(bad("frames: a picture has no frames".into()));
        }
        p::ItemKind::Video if !edge_cuts.is_empty() => {
            return Err(bad("edge_cuts: a video has no edge cuts".into()));
        }
        p::ItemKind::Video if pdq.is_some() => {
            return Err(bad("pdq: a video has frames, not a PDQ".into()));
        }
        _ => {}
    }
    Ok(Change::Upsert(Entry {
        item_id: op.item_id,
        seq: op.seq,
        kind,
        md5: add.md5.0,
        sha256: add.sha256.0,
        pdq,
        frames,
        edge_cuts,
    }))
}

/// Syncs until the service has no more changes (or `opts.max_pages` pages).
/// `on_page` is called with each page's changes and the store's position after
/// them, right after its commit.
pub async fn sync_once(
    client: &Client,
    store: &mut Store,
    opts: &SyncOptions,
    on_page: &mut (dyn FnMut(&[Change], Position) + Send),
) -> Result<SyncReport> {
    let mut report = SyncReport {
        cursor: store.cursor()?,
        ..SyncReport::default()
    };
    loop {
        if opts.max_pages.is_some_and(|m| report.pages >= m) {
            return Ok(report);
        }
        let cursor = report.cursor;
        let page = with_retries(&opts.retry, || client.sync_page(cursor, opts.page_limit)).await?;
        if page.next_cursor < cursor {
            return Err(Error::Protocol(format!(
                "next_cursor {} is before the cursor asked with ({cursor})",
                page.next_cursor
            )));
        }
        if page.has_more && page.next_cursor == cursor {
            return Err(Error::Protocol(
                "has_more without progress of the cursor".into(),
            ));
        }
        let mut changes = Vec::with_capacity(page.entries.len());
        let mut malformed = Vec::new();
        for v in &page.entries {
            match parse_entry(v, cursor) {
                Ok(c) => changes.push(c),
                Err(m) => {
                    tracing::warn!(
                        seq = m.seq,
                        item_id = m.item_id,
                        reason = %m.reason,
                        "skipping a malformed sync record"
                    );
                    malformed.push(m);
                }
            }
        }
        if let Some(c) = changes.iter().find_map(|c| match c {
            Change::Upsert(e) if e.seq > page.next_cursor => Some(e.seq),
            Change::Remove { seq, .. } if *seq > page.next_cursor => Some(*seq),
            _ => None,
        }) {
            return Err(Error::Protocol(format!(
                "entry at {c} is beyond next_cursor {}",
                page.next_cursor
            )));
        }
        if page.entries.is_empty() && page.next_cursor == cursor {
            report.has_more = false;
            return Ok(report);
        }
        store.apply_page(cursor, page.next_cursor, &changes, &malformed)?;
        on_page(
            &changes,
            Position {
                cursor: page.next_cursor,
                applied: store.applied()?,
            },
        );
        report.pages += 1;
        report.malformed += malformed.len();
        for c in &changes {
            match c {
                Change::Upsert(_) => report.added += 1,
                Change::Remove { .. } => report.withdrawn += 1,
            }
        }
        report.cursor = page.next_cursor;
        report.has_more = page.has_more;
        tracing::info!(
            cursor = report.cursor,
            entries = page.entries.len(),
            malformed = malformed.len(),
            "applied a sync page"
        );
        if !page.has_more {
            return Ok(report);
        }
    }
}

/// Syncs forever: a run every `interval` (with ±10 % jitter); after a transient
/// failure, backoff with jitter up to `interval`. Stops on a rejection or a
/// protocol error (returns it), or when `stop` resolves.
pub async fn sync_loop(
    client: &Client,
    store: &mut Store,
    opts: &SyncOptions,
    interval: Duration,
    on_page: &mut (dyn FnMut(&[Change], Position) + Send),
    mut on_run: impl FnMut(&Result<SyncReport>) + Send,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(stop);
    let mut failures = 0u32;
    loop {
        let r = sync_once(client, store, opts, on_page).await;
        on_run(&r);
        let wait = match &r {
            Ok(rep) if rep.has_more => Duration::ZERO,
            Ok(_) => {
                failures = 0;
                let jitter = 0.9 + 0.2 * rand::random::<f64>();
                interval.mul_f64(jitter)
            }
            Err(e) if e.is_transient() || matches!(e, Error::Conflict) => {
                failures += 1;
                let backoff = RetryPolicy {
                    max_delay: interval.max(Duration::from_secs(1)),
                    ..opts.retry.clone()
                };
                tracing::warn!(error = %e, failures, "sync failed; backing off");
                backoff.delay(failures)
            }
            Err(_) => return r.map(|_| ()),
        };
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const H32: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const H16: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn parses_adds_withdrawals_and_ignores_unknown_fields() {
        let v = json!({"seq": 5, "op": "add", "item_id": 9, "kind": "image", "md5": H16,
                       "sha256": H32, "pdq": H32, "quality": 80, "new_field": {"x": 1}});
        let Change::Upsert(e) = parse_entry(&v, 0).unwrap() else {
            panic!("an add")
        };
        assert_eq!((e.item_id, e.seq, e.pdq.unwrap().quality), (9, 5, 80));
        let w = json!({"seq": 6, "op": "withdraw", "item_id": 9, "kind": "image"});
        assert_eq!(
            parse_entry(&w, 0).unwrap(),
            Change::Remove { item_id: 9, seq: 6 }
        );
    }

    fn with_cuts(cuts: Value) -> Value {
        json!({"seq": 5, "op": "add", "item_id": 9, "kind": "image", "md5": H16,
               "sha256": H32, "pdq": H32, "quality": 80, "edge_cuts": cuts})
    }

    #[test]
    fn reads_known_edge_cuts_and_skips_unknown_ones() {
        let h2 = "ff".repeat(32);
        let v = with_cuts(json!({
            "bottom_20": {"pdq": h2, "quality": 77},
            "top_20": {"pdq": H32, "quality": 61, "note": "new field"},
            "left_20": {"pdq": "not even hex", "quality": 60},
            "bottom_35": {"pdq": H32, "quality": 60},
            "top_10": "a shape this kit does not know",
        }));
        let Change::Upsert(e) = parse_entry(&v, 0).unwrap() else {
            panic!("an add")
        };
        let got: Vec<(p::CutEdge, u8, u8, u8)> = e
            .edge_cuts
            .iter()
            .map(|c| (c.edge, c.percent, c.pdq.quality, c.pdq.hash[0]))
            .collect();
        assert_eq!(
            got,
            vec![
                (p::CutEdge::Top, 20, 61, 0x00),
                (p::CutEdge::Bottom, 20, 77, 0xff)
            ]
        );
        // No cuts, or an explicit null: an entry of an older phone.
        let mut old = with_cuts(Value::Null);
        let Change::Upsert(e) = parse_entry(&old, 0).unwrap() else {
            panic!("an add")
        };
        assert!(e.edge_cuts.is_empty());
        old.as_object_mut().unwrap().remove("edge_cuts");
        assert!(parse_entry(&old, 0).is_ok());
    }

    #[test]
    fn a_bad_edge_cut_makes_the_entry_malformed() {
        let bad_pdq = "zz".repeat(32);
        let cases = [
            (
                json!({"top_20": {"pdq": bad_pdq, "quality": 60}}),
                "edge_cuts.top_20.pdq: invalid",
            ),
            (
                json!({"top_20": {"pdq": H32, "quality": 60},
                       "bottom_20": {"pdq": H32, "quality": 101}}),
                "edge_cuts.bottom_20.quality: invalid",
            ),
            (
                json!({"bottom_20": {"quality": 60}}),
                "edge_cuts.bottom_20.pdq: missing",
            ),
            (
                json!({"top_20": {"pdq": H32}}),
                "edge_cuts.top_20.quality: missing",
            ),
            (json!({"top_20": [H32, 60]}), "edge_cuts.top_20: invalid"),
            (json!({"top_20": null}), "edge_cuts.top_20: invalid"),
            (
                json!([{"edge": "top", "percent": 20, "pdq": H32, "quality": 60}]),
                "edge_cuts: invalid",
            ),
        ];
        for (cuts, reason) in cases {
            let m = parse_entry(&with_cuts(cuts.clone()), 0).expect_err(&cuts.to_string());
            assert_eq!(m.reason, reason);
            assert_eq!((m.seq, m.item_id), (Some(5), Some(9)));
        }
        let video = json!({"seq": 5, "op": "add", "item_id": 9, "kind": "video", "md5": H16,
            "sha256": H32, "frames": [{"t": 0.0, "pdq": H32, "quality": 80}],
            "edge_cuts": {"top_20": {"pdq": H32, "quality": 60}}});
        assert_eq!(
            parse_entry(&video, 0).unwrap_err().reason,
            "edge_cuts: a video has no edge cuts"
        );
    }

    #[test]
    fn malformed_records_name_the_field_never_the_value() {
        let bad_pdq = "zz".repeat(32);
        let cases = [
            (
                json!({"seq": 5, "op": "add", "item_id": 9, "kind": "image", "md5": H16,
                    "sha256": H32, "pdq": bad_pdq, "quality": 80}),
                "pdq",
            ),
            (
                json!({"seq": 5, "op": "add", "item_id": 9, "kind": "image", "md5": H16,
                    "sha256": H32, "pdq": H32, "quality": 101}),
                "quality",
            ),
            (
                json!({"seq": 5, "op": "add", "item_id": 9, "kind": "image", "sha256": H32}),
                "md5",
            ),
            (json!({"seq": 5, "op": "frobnicate", "item_id": 9}), "op"),
            (
                json!({"seq": 5, "op": "add", "item_id": 9, "kind": "audio", "md5": H16, "sha256": H32}),
                "kind",
            ),
            (
                json!({"seq": 5, "op": "add", "item_id": -3, "kind": "image"}),
                "item_id",
            ),
            (json!({"seq": 0, "op": "add", "item_id": 3}), "seq"),
            (
                json!({"seq": 5, "op": "add", "item_id": 9, "kind": "video", "md5": H16,
                    "sha256": H32, "frames": [{"t": -1.0, "pdq": H32, "quality": 80}]}),
                "frames[0].t",
            ),
            (json!("not an object"), "entry"),
        ];
        for (v, field) in cases {
            let m = parse_entry(&v, 0).unwrap_err();
            assert!(m.reason.starts_with(field), "{field}: {}", m.reason);
            assert!(!m.reason.contains(H32) && !m.reason.contains(&bad_pdq));
        }
    }
}
