//! What the app lists: cases and items from the local history. Labels are opened
//! with the host key here; tokens never leave the core.

use rusqlite::{OptionalExtension, params};

use takedown_protocol as p;

use super::App;
use super::crypto::{Sealer, row_purpose};
use super::eligibility::SubmitterRole;
use super::error::{Error, Result};
use super::outbox::OutboxState;
use super::selection::MediaKind;

/// Associated data of an item's sealed fingerprints (bound to its row).
pub(crate) fn fingerprints_purpose(item_id: i64) -> String {
    row_purpose("items", item_id, "fingerprints")
}

/// Seals an item's fingerprints for `items.fingerprints`, in
/// [`encode_fingerprints`]' compact form.
pub(crate) fn seal_fingerprints(
    sealer: &Sealer,
    item_id: i64,
    item: &p::ItemInput,
) -> Result<Vec<u8>> {
    sealer.seal(&fingerprints_purpose(item_id), &encode_fingerprints(item))
}

/// Opens `items.fingerprints`: [`Error::WrongKey`] when it does not open for this
/// row, [`Error::Corrupt`] when what it holds is not an item's fingerprints,
/// [`Error::InvalidInput`] for an item restored from the service (its
/// fingerprints are not on this phone).
pub(crate) fn open_fingerprints(
    sealer: &Sealer,
    item_id: i64,
    sealed: &[u8],
) -> Result<p::ItemInput> {
    open_stored(sealer, item_id, sealed)?.ok_or_else(|| {
        Error::InvalidInput("this item was restored: its fingerprints are not on this phone".into())
    })
}

/// Seals the marker of an item restored from the service: its fingerprints
/// are not on this phone (ADR 0112).
pub(crate) fn seal_not_on_this_phone(sealer: &Sealer, item_id: i64) -> Result<Vec<u8>> {
    sealer.seal(&fingerprints_purpose(item_id), &[STORED_ELSEWHERE])
}

/// Opens `items.fingerprints`, `None` for an item restored from the service.
pub(crate) fn open_stored(
    sealer: &Sealer,
    item_id: i64,
    sealed: &[u8],
) -> Result<Option<p::ItemInput>> {
    let plain = sealer.open(&fingerprints_purpose(item_id), sealed)?;
    if plain.as_slice() == [STORED_ELSEWHERE] {
        return Ok(None);
    }
    decode_fingerprints(&plain).map(Some)
}

/// A picture without edge cuts (the only picture form before cuts existed).
const STORED_IMAGE: u8 = 1;
const STORED_VIDEO: u8 = 2;
/// An item restored from the service: its fingerprints stayed on the phone
/// that made it.
const STORED_ELSEWHERE: u8 = 3;
/// A picture with its edge cuts.
const STORED_IMAGE_CUTS: u8 = 4;
const FRAME_LEN: usize = 8 + p::Pdq::LEN + 1;
/// The fixed part of a stored picture: kind, MD5, SHA-256, PDQ, quality.
const IMAGE_LEN: usize = 1 + 16 + 32 + p::Pdq::LEN + 1;
/// One stored edge cut: edge code, percent, PDQ, quality.
const CUT_LEN: usize = 1 + 1 + p::Pdq::LEN + 1;

/// The stored (plaintext) form of an item's fingerprints, raw bytes rather than
/// JSON so listing a long history stays cheap: an image without edge cuts is
/// `1 ‖ md5 ‖ sha256 ‖ pdq ‖ quality`; an image with edge cuts `4 ‖ md5 ‖ sha256
/// ‖ pdq ‖ quality ‖ n (u8, 1–2) ‖ n × (edge (CutEdge::code) ‖ percent ‖ pdq ‖
/// quality)`; a video `2 ‖ md5 ‖ sha256 ‖ n (u32 LE) ‖ n × (t (f64 LE) ‖ pdq ‖
/// quality)`.
pub(crate) fn encode_fingerprints(item: &p::ItemInput) -> Vec<u8> {
    match item {
        p::ItemInput::Image(f) => {
            let mut out = Vec::with_capacity(IMAGE_LEN + 1 + f.edge_cuts.len() * CUT_LEN);
            out.push(if f.edge_cuts.is_empty() {
                STORED_IMAGE
            } else {
                STORED_IMAGE_CUTS
            });
            out.extend_from_slice(&f.md5.0);
            out.extend_from_slice(&f.sha256.0);
            out.extend_from_slice(&f.pdq.0);
            out.push(f.quality.get());
            if !f.edge_cuts.is_empty() {
                // At most one cut per edge (checked before anything is stored).
                out.push(f.edge_cuts.len() as u8);
                for c in &f.edge_cuts {
                    out.push(c.edge.code());
                    out.push(c.percent);
                    out.extend_from_slice(&c.pdq.0);
                    out.push(c.quality.get());
                }
            }
            out
        }
        p::ItemInput::Video(f) => {
            let mut out = Vec::with_capacity(1 + 16 + 32 + 4 + f.frames.len() * FRAME_LEN);
            out.push(STORED_VIDEO);
            out.extend_from_slice(&f.md5.0);
            out.extend_from_slice(&f.sha256.0);
            out.extend_from_slice(&(f.frames.len() as u32).to_le_bytes());
            for fr in &f.frames {
                out.extend_from_slice(&fr.t.to_le_bytes());
                out.extend_from_slice(&fr.pdq.0);
                out.push(fr.quality.get());
            }
            out
        }
    }
}

/// Reads the edge cuts stored after a picture's fixed part: a count of 1 or 2,
/// then that many cuts of distinct edges; [`Error::Corrupt`] for anything else.
fn decode_cuts(b: &[u8]) -> Result<Vec<p::EdgeCut>> {
    let (&n, rest) = b.split_first().ok_or(Error::Corrupt)?;
    if !(1..=p::CutEdge::ALL.len()).contains(&usize::from(n))
        || rest.len() != usize::from(n) * CUT_LEN
    {
        return Err(Error::Corrupt);
    }
    let cuts = rest
        .chunks_exact(CUT_LEN)
        .map(|c| {
            let percent = c[1];
            if !(1..100).contains(&percent) {
                return Err(Error::Corrupt);
            }
            Ok(p::EdgeCut {
                edge: p::CutEdge::from_code(c[0]).ok_or(Error::Corrupt)?,
                percent,
                pdq: p::Pdq::from_slice(&c[2..2 + p::Pdq::LEN]).ok_or(Error::Corrupt)?,
                quality: p::Quality::new(c[CUT_LEN - 1]).ok_or(Error::Corrupt)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if cuts.len() == 2 && cuts[0].edge == cuts[1].edge {
        return Err(Error::Corrupt);
    }
    Ok(cuts)
}

/// Reads [`encode_fingerprints`]' form (and pictures stored before edge cuts
/// existed, tag 1); [`Error::Corrupt`] for anything else.
pub(crate) fn decode_fingerprints(b: &[u8]) -> Result<p::ItemInput> {
    let take =
        |b: &[u8], at: usize, n: usize| b.get(at..at + n).ok_or(Error::Corrupt).map(<[u8]>::to_vec);
    let md5 = p::Md5::from_slice(&take(b, 1, 16)?).ok_or(Error::Corrupt)?;
    let sha256 = p::Sha256::from_slice(&take(b, 17, 32)?).ok_or(Error::Corrupt)?;
    match b.first() {
        Some(&tag) if matches!(tag, STORED_IMAGE | STORED_IMAGE_CUTS) && b.len() >= IMAGE_LEN => {
            let edge_cuts = match tag {
                STORED_IMAGE if b.len() == IMAGE_LEN => Vec::new(),
                STORED_IMAGE_CUTS => decode_cuts(&b[IMAGE_LEN..])?,
                _ => return Err(Error::Corrupt),
            };
            Ok(p::ItemInput::Image(p::ImageFingerprints {
                md5,
                sha256,
                pdq: p::Pdq::from_slice(&b[49..81]).ok_or(Error::Corrupt)?,
                quality: p::Quality::new(b[81]).ok_or(Error::Corrupt)?,
                edge_cuts,
            }))
        }
        Some(&STORED_VIDEO) => {
            let n = u32::from_le_bytes(take(b, 49, 4)?.try_into().map_err(|_| Error::Corrupt)?)
                as usize;
            let rest = &b[53..];
            if rest.len() != n.checked_mul(FRAME_LEN).ok_or(Error::Corrupt)? {
                return Err(Error::Corrupt);
            }
            let frames = rest
                .chunks_exact(FRAME_LEN)
                .map(|c| {
                    let t = f64::from_le_bytes(c[..8].try_into().map_err(|_| Error::Corrupt)?);
                    Ok(p::VideoFrame {
                        t,
                        pdq: p::Pdq::from_slice(&c[8..40]).ok_or(Error::Corrupt)?,
                        quality: p::Quality::new(c[40]).ok_or(Error::Corrupt)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(p::ItemInput::Video(p::VideoFingerprints {
                md5,
                sha256,
                frames,
            }))
        }
        _ => Err(Error::Corrupt),
    }
}

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Where an item of the local history stands (the service's own, two-state view is
/// `takedown_protocol::ItemState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

crate::sql::stored_as_text!(CaseState {
    Pending => "pending",
    Open => "open",
    Withdrawing => "withdrawing",
    Withdrawn => "withdrawn",
    Rejected => "rejected",
});

crate::sql::stored_as_text!(HistoryItemState {
    Pending => "pending",
    Active => "active",
    Withdrawing => "withdrawing",
    Withdrawn => "withdrawn",
    Rejected => "rejected",
});

/// A case in the history.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The service's error code when it refused something of this case.
    pub rejection: Option<String>,
    /// When this case's next queued operation is due (Unix ms; 0 = now), if any.
    pub next_attempt_at_ms: Option<i64>,
    /// The recovery key to write down with the case number (`XXXXX-…`, 7
    /// groups of 5), made when the case was queued; `None` for cases queued
    /// before recovery keys existed.
    pub recovery_key: Option<String>,
}

/// An item in the history: fingerprints and the user's label, never pixels,
/// thumbnails, file names or paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryItem {
    /// Local id.
    pub id: i64,
    /// The case it belongs to.
    pub case_id: i64,
    /// Picture or video.
    pub kind: MediaKind,
    /// MD5 of the file bytes (`None` for an item restored from the service:
    /// its fingerprints stayed on the phone that made it).
    pub md5: Option<p::Md5>,
    /// SHA-256 of the file bytes (`None` for a restored item).
    pub sha256: Option<p::Sha256>,
    /// PDQ of a picture.
    pub pdq: Option<p::Pdq>,
    /// PDQ quality of a picture.
    pub quality: Option<p::Quality>,
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

impl App {
    /// Every case, newest first.
    pub fn list_cases(&self) -> Result<Vec<CaseRecord>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT c.id, c.case_number, c.state, c.submitter, c.created_at,
                   (SELECT count(*) FROM items i WHERE i.case_id = c.id),
                   (SELECT count(*) FROM outbox o WHERE o.case_id = c.id AND o.state = ?1),
                   (SELECT o.last_error FROM outbox o WHERE o.case_id = c.id AND o.state = ?2 ORDER BY o.id LIMIT 1),
                   (SELECT o.next_attempt_at FROM outbox o WHERE o.case_id = c.id AND o.state = ?1 ORDER BY o.id LIMIT 1),
                   c.recovery_key
                 FROM cases c ORDER BY c.id DESC",
            )?;
            let rows = stmt.query_map(params![OutboxState::Pending, OutboxState::Rejected], |r| {
                Ok((CaseRecord {
                    id: r.get(0)?,
                    case_number: r.get::<_, Option<String>>(1)?,
                    state: r.get(2)?,
                    submitter: r.get(3)?,
                    created_at: r.get(4)?,
                    item_count: r.get::<_, i64>(5)? as u32,
                    pending_operations: r.get::<_, i64>(6)? as u32,
                    rejection: r.get(7)?,
                    next_attempt_at_ms: r.get(8)?,
                    recovery_key: None,
                }, r.get::<_, Option<Vec<u8>>>(9)?))
            })?;
            let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (mut c, key) in rows {
                if let Some(n) = &c.case_number {
                    c.case_number = Some(self.sealer.open_text("cases", c.id, "case_number", n)?);
                }
                c.recovery_key = crate::recovery::open_key(&self.sealer, c.id, key.as_deref())?;
                out.push(c);
            }
            let rows = out;
            Ok(rows)
        })
    }

    /// One case.
    pub fn case(&self, case_id: i64) -> Result<CaseRecord> {
        self.list_cases()?
            .into_iter()
            .find(|c| c.id == case_id)
            .ok_or(Error::NotFound("case"))
    }

    /// Items of one case (or of every case), oldest first, fingerprints and
    /// labels opened.
    pub fn list_items(&self, case_id: Option<i64>) -> Result<Vec<HistoryItem>> {
        self.db.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id, case_id, kind, fingerprints, label, state, remote_id, added_at
                 FROM items WHERE ?1 IS NULL OR case_id = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query(params![case_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let kind: MediaKind = r.get(2)?;
                let sealed: Vec<u8> = r.get(3)?;
                let wire = open_stored(&self.sealer, id, &sealed)?;
                let label: Option<Vec<u8>> = r.get(4)?;
                let (md5, sha256, pdq, quality, frame_count, low_quality) = match (&wire, kind) {
                    (None, _) => (None, None, None, None, 0, false),
                    (Some(p::ItemInput::Image(f)), MediaKind::Image) => (
                        Some(f.md5),
                        Some(f.sha256),
                        Some(f.pdq),
                        Some(f.quality),
                        0,
                        f.quality.get() < p::PDQ_MIN_QUALITY,
                    ),
                    (Some(p::ItemInput::Video(f)), MediaKind::Video) => (
                        Some(f.md5),
                        Some(f.sha256),
                        None,
                        None,
                        f.frames.len() as u32,
                        // The usable-frame rule: quality ≥ the protocol's minimum.
                        !f.frames
                            .iter()
                            .any(|fr| fr.quality.get() >= p::PDQ_MIN_QUALITY),
                    ),
                    _ => return Err(Error::Corrupt),
                };
                out.push(HistoryItem {
                    id,
                    case_id: r.get(1)?,
                    kind,
                    md5,
                    sha256,
                    pdq,
                    quality,
                    frame_count,
                    low_quality,
                    label: match label {
                        Some(l) => Some(
                            self.sealer
                                .open_str(&row_purpose("items", id, "label"), &l)?,
                        ),
                        None => None,
                    },
                    state: r.get(5)?,
                    service_item_id: r.get(6)?,
                    added_at: r.get(7)?,
                });
            }
            Ok(out)
        })
    }

    /// Sets or clears (`None` or empty) the private label of an item.
    pub fn set_label(&self, item_id: i64, label: Option<&str>) -> Result<()> {
        let sealed = match label.filter(|l| !l.is_empty()) {
            Some(l) => Some(
                self.sealer
                    .seal_str(&row_purpose("items", item_id, "label"), l)?,
            ),
            None => None,
        };
        self.db.write(|tx| {
            let n = tx.execute(
                "UPDATE items SET label = ?1 WHERE id = ?2",
                params![sealed, item_id],
            )?;
            if n == 0 {
                return Err(Error::NotFound("item"));
            }
            Ok(())
        })?;
        self.changed(crate::Change::History);
        Ok(())
    }

    /// The local id of the item the service knows as `service_item_id` in a case.
    pub fn item_by_service_id(&self, case_id: i64, service_item_id: i64) -> Result<Option<i64>> {
        self.db.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT id FROM items WHERE case_id = ?1 AND remote_id = ?2",
                    params![case_id, service_item_id],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash<const N: usize>(seed: u8) -> [u8; N] {
        std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
    }

    #[test]
    fn stored_fingerprints_round_trip_and_refuse_damage() {
        let image = p::ItemInput::Image(p::ImageFingerprints {
            md5: p::Md5(hash(1)),
            sha256: p::Sha256(hash(2)),
            pdq: p::Pdq(hash(3)),
            quality: p::Quality::new(68).unwrap(),
            edge_cuts: Vec::new(),
        });
        let video = p::ItemInput::Video(p::VideoFingerprints {
            md5: p::Md5(hash(4)),
            sha256: p::Sha256(hash(5)),
            frames: (0..3)
                .map(|i| p::VideoFrame {
                    t: f64::from(i) * 1.5,
                    pdq: p::Pdq(hash(6 + i as u8)),
                    quality: p::Quality::new(40 + i as u8 * 10).unwrap(),
                })
                .collect(),
        });
        let cut = |edge, seed| p::EdgeCut {
            edge,
            percent: p::EDGE_CUT_PERCENT,
            pdq: p::Pdq(hash(seed)),
            quality: p::Quality::new(seed + 50).unwrap(),
        };
        let image_cuts = p::ItemInput::Image(p::ImageFingerprints {
            md5: p::Md5(hash(11)),
            sha256: p::Sha256(hash(12)),
            pdq: p::Pdq(hash(13)),
            quality: p::Quality::new(90).unwrap(),
            edge_cuts: vec![cut(p::CutEdge::Top, 14), cut(p::CutEdge::Bottom, 15)],
        });
        for item in [&image, &video, &image_cuts] {
            let b = encode_fingerprints(item);
            assert_eq!(&decode_fingerprints(&b).unwrap(), item);
            // Truncated, extended or of an unknown kind: damage.
            assert!(matches!(
                decode_fingerprints(&b[..b.len() - 1]),
                Err(Error::Corrupt)
            ));
            let mut longer = b.clone();
            longer.push(0);
            assert!(matches!(decode_fingerprints(&longer), Err(Error::Corrupt)));
            let mut kind = b.clone();
            kind[0] = 9;
            assert!(matches!(decode_fingerprints(&kind), Err(Error::Corrupt)));
        }
        assert_eq!(encode_fingerprints(&image).len(), 82);
        assert_eq!(encode_fingerprints(&image_cuts).len(), 82 + 1 + 2 * 35);
        assert!(matches!(decode_fingerprints(&[]), Err(Error::Corrupt)));
    }

    /// A picture stored by a version before edge cuts (tag 1, 82 bytes) still
    /// reads, without cuts; a picture without cuts is still stored that way.
    #[test]
    fn a_picture_stored_before_edge_cuts_still_reads() {
        let mut old = vec![1u8];
        old.extend_from_slice(&hash::<16>(1));
        old.extend_from_slice(&hash::<32>(2));
        old.extend_from_slice(&hash::<32>(3));
        old.push(68);
        let expected = p::ItemInput::Image(p::ImageFingerprints {
            md5: p::Md5(hash(1)),
            sha256: p::Sha256(hash(2)),
            pdq: p::Pdq(hash(3)),
            quality: p::Quality::new(68).unwrap(),
            edge_cuts: Vec::new(),
        });
        assert_eq!(decode_fingerprints(&old).unwrap(), expected);
        assert_eq!(encode_fingerprints(&expected), old);
        // Tag 1 followed by cuts is not a form that was ever written.
        let mut with_cuts = old.clone();
        with_cuts.extend_from_slice(&[1, 1, 20]);
        with_cuts.extend_from_slice(&hash::<32>(4));
        with_cuts.push(70);
        assert!(matches!(
            decode_fingerprints(&with_cuts),
            Err(Error::Corrupt)
        ));
        with_cuts[0] = STORED_IMAGE_CUTS;
        assert!(decode_fingerprints(&with_cuts).is_ok());
    }

    /// Malformed stored cuts are damage: no cut after the tag that says there
    /// are some, more than two, an unknown edge, the same edge twice, a share
    /// of 0 or 100 %, a quality over 100, a count that does not fit the bytes.
    #[test]
    fn malformed_stored_edge_cuts_are_corrupt() {
        let item = p::ItemInput::Image(p::ImageFingerprints {
            md5: p::Md5(hash(1)),
            sha256: p::Sha256(hash(2)),
            pdq: p::Pdq(hash(3)),
            quality: p::Quality::new(68).unwrap(),
            edge_cuts: vec![
                p::EdgeCut {
                    edge: p::CutEdge::Top,
                    percent: 20,
                    pdq: p::Pdq(hash(4)),
                    quality: p::Quality::new(70).unwrap(),
                },
                p::EdgeCut {
                    edge: p::CutEdge::Bottom,
                    percent: 20,
                    pdq: p::Pdq(hash(5)),
                    quality: p::Quality::new(71).unwrap(),
                },
            ],
        });
        let good = encode_fingerprints(&item);
        assert_eq!(good[0], STORED_IMAGE_CUTS);
        let (count, top, bottom) = (82, 83, 83 + 35);
        let damaged = |at: usize, v: u8| {
            let mut b = good.clone();
            b[at] = v;
            decode_fingerprints(&b)
        };
        for (at, v) in [
            (count, 0),
            (count, 1),
            (count, 3),
            (top, 0),
            (top, 3),
            (bottom, 1),
            (top + 1, 0),
            (top + 1, 100),
            (bottom + 34, 101),
        ] {
            assert!(
                matches!(damaged(at, v), Err(Error::Corrupt)),
                "byte {at} = {v}"
            );
        }
        // Tag 4 with nothing after the picture.
        let mut bare = good[..82].to_vec();
        assert!(matches!(decode_fingerprints(&bare), Err(Error::Corrupt)));
        bare.push(0);
        assert!(matches!(decode_fingerprints(&bare), Err(Error::Corrupt)));
        // Three cuts.
        let mut three = good.clone();
        three[count] = 3;
        three.extend_from_slice(&good[top..bottom]);
        assert!(matches!(decode_fingerprints(&three), Err(Error::Corrupt)));
        assert_eq!(decode_fingerprints(&good).unwrap(), item);
    }
}
