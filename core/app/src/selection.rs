//! Hashing a selection: each picked item becomes its fingerprints or a clear
//! per-item error. Runs on worker threads (one per core, each holding one image),
//! reports progress after every item and stops early when cancelled.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use takedown_fingerprint::hashing::{self, PdqHash, pdq::MIN_QUALITY};
use takedown_fingerprint::media::DecodeOptions;
use takedown_fingerprint::video::{
    self, CancelToken, VpdqOptions, check_timestamp, usable_frame_count,
};

use takedown_protocol as p;

use super::cancel::{Cancel, Stop};
use super::error::{Error, Result};

/// Picture or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// A picture.
    Image,
    /// A video.
    Video,
}

crate::sql::stored_as_text!(MediaKind {
    Image => "image",
    Video => "video",
});

/// The fingerprints of one item: what is submitted, and all the history keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemFingerprint {
    /// Picture or video.
    pub kind: MediaKind,
    /// MD5 of the file bytes.
    pub md5: p::Md5,
    /// SHA-256 of the file bytes.
    pub sha256: p::Sha256,
    /// PDQ of a picture (`None` for videos).
    pub pdq: Option<p::Pdq>,
    /// PDQ quality of a picture (`None` for videos).
    pub quality: Option<p::Quality>,
    /// vPDQ frames of a video (empty for pictures).
    pub frames: Vec<p::VideoFrame>,
    /// PDQ of a picture with its top, and with its bottom,
    /// [`p::EDGE_CUT_PERCENT`] % of rows removed ("edge cuts", in
    /// [`p::CutEdge::ALL`] order), so that a re-upload with a caption bar over
    /// that edge still matches (ADR 0410). Empty for videos, for pictures too
    /// small to cut, and for items hashed before cuts existed.
    pub edge_cuts: Vec<p::EdgeCut>,
    /// `true` when the perceptual hash is too weak to use (picture quality < 50,
    /// or a video without a frame of quality ≥ 50): tell the user that only exact
    /// copies of this item can be found. It is still worth submitting.
    pub low_quality: bool,
}

/// One frame hash of a video the host hashed itself, as handed over (checked when
/// the selection is hashed).
#[derive(Clone, Debug, PartialEq)]
pub struct HostFrame {
    /// Seconds from the start.
    pub t: f64,
    /// PDQ hash, 64 hex digits.
    pub pdq: String,
    /// PDQ quality 0–100.
    pub quality: u8,
}

/// One picked item the host hands over for hashing.
#[derive(Clone, Debug)]
pub enum SelectionInput {
    /// An image file by path (desktop).
    ImageFile(String),
    /// An image file's bytes (JPEG, PNG, WebP, GIF, TIFF, BMP).
    ImageBytes(Vec<u8>),
    /// Pixels the host decoded (HEIC, Android Bitmap) plus the encoded file's
    /// bytes for the exact hashes. The pixels must be the picture at its own size
    /// (`original_width` × `original_height` from the file's header, either
    /// orientation, ±1 pixel): a downscaled decode moves PDQ away from what
    /// platforms compute, so it is refused (`InvalidMedia`).
    ImagePixels {
        /// RGBA, 4 bytes per pixel.
        rgba: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes per row (`width * 4` when packed).
        stride: u32,
        /// The encoded file the pixels came from.
        file_bytes: Vec<u8>,
        /// Width of the picture in the file's header.
        original_width: u32,
        /// Height of the picture in the file's header.
        original_height: u32,
    },
    /// A video file by path (desktop; decoded with ffmpeg).
    VideoFile(String),
    /// A video the host already hashed with the push hasher.
    VideoHashed {
        /// MD5 of the file bytes, if pushed.
        md5: Option<String>,
        /// SHA-256 of the file bytes, if pushed.
        sha256: Option<String>,
        /// The frames.
        frames: Vec<HostFrame>,
    },
}

/// Why one item of a selection could not be hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemErrorKind {
    /// Damaged, unsupported, empty or over the size limits.
    InvalidMedia,
    /// The file could not be read.
    Unreadable,
    /// A pushed video without MD5/SHA-256 of its bytes, or with malformed hashes.
    IncompleteFingerprint,
}

/// A per-item failure; the reason names no file and holds no pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemError {
    /// What kind of failure.
    pub kind: ItemErrorKind,
    /// A short explanation for the user.
    pub reason: String,
}

/// The result for one item of a selection, in input order.
#[derive(Clone, Debug, PartialEq)]
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

/// The typed exact hashes of a fingerprint (the hex the hasher wrote is always well
/// formed; a failure here is a bug, reported per item).
fn exact_hashes(e: &hashing::ExactHashes) -> Result<(p::Md5, p::Sha256), ItemError> {
    match (p::Md5::from_hex(&e.md5), p::Sha256::from_hex(&e.sha256)) {
        (Some(md5), Some(sha256)) => Ok((md5, sha256)),
        _ => Err(ItemError {
            kind: ItemErrorKind::InvalidMedia,
            reason: "internal: the exact hashes could not be read".into(),
        }),
    }
}

/// The protocol's form of a PDQ hash and quality (a quality over 100 would be a
/// bug, reported per item).
fn wire_pdq(pdq: &hashing::Pdq) -> Result<(p::Pdq, p::Quality), ItemError> {
    let quality = p::Quality::new(pdq.quality).ok_or_else(|| ItemError {
        kind: ItemErrorKind::InvalidMedia,
        reason: "internal: PDQ quality out of range".into(),
    })?;
    Ok((p::Pdq(pdq.hash.0), quality))
}

fn image_fp(f: hashing::ImageFingerprint) -> Result<ItemFingerprint, ItemError> {
    image_item(&f.exact, &f.pdq, &f.edge_cuts)
}

/// The protocol's form of a picture's edge cuts.
fn wire_cuts(cuts: &[hashing::EdgeCutPdq]) -> Result<Vec<p::EdgeCut>, ItemError> {
    cuts.iter()
        .map(|c| {
            let (pdq, quality) = wire_pdq(&c.pdq)?;
            Ok(p::EdgeCut {
                edge: c.edge,
                percent: p::EDGE_CUT_PERCENT,
                pdq,
                quality,
            })
        })
        .collect()
}

/// A picture's fingerprint from its exact hashes, its PDQ and its edge cuts.
fn image_item(
    exact: &hashing::ExactHashes,
    pdq: &hashing::Pdq,
    cuts: &[hashing::EdgeCutPdq],
) -> Result<ItemFingerprint, ItemError> {
    let (md5, sha256) = exact_hashes(exact)?;
    let (wire, quality) = wire_pdq(pdq)?;
    Ok(ItemFingerprint {
        kind: MediaKind::Image,
        md5,
        sha256,
        pdq: Some(wire),
        quality: Some(quality),
        frames: Vec::new(),
        edge_cuts: wire_cuts(cuts)?,
        low_quality: pdq.quality < MIN_QUALITY,
    })
}

fn hash_error(e: hashing::HashError) -> ItemError {
    match e {
        hashing::HashError::Io(reason) => ItemError {
            kind: ItemErrorKind::Unreadable,
            reason,
        },
        other => ItemError {
            kind: ItemErrorKind::InvalidMedia,
            reason: other.to_string(),
        },
    }
}

fn hash_one(input: SelectionInput, cancel: &CancelToken) -> Result<ItemFingerprint, ItemError> {
    let opts = DecodeOptions::default();
    match input {
        SelectionInput::ImageFile(path) => hashing::fingerprint_image_file(path.as_ref(), &opts)
            .map_err(hash_error)
            .and_then(image_fp),
        SelectionInput::ImageBytes(bytes) => hashing::fingerprint_image_bytes(&bytes, &opts)
            .map_err(hash_error)
            .and_then(image_fp),
        SelectionInput::ImagePixels {
            rgba,
            width,
            height,
            stride,
            file_bytes,
            original_width,
            original_height,
        } => {
            if file_bytes.is_empty() {
                return Err(ItemError {
                    kind: ItemErrorKind::IncompleteFingerprint,
                    reason: "the file's bytes are needed for the exact hashes".into(),
                });
            }
            let (d, cuts) = hashing::pdq_from_host_rgba(
                &rgba,
                width,
                height,
                stride,
                original_width,
                original_height,
            )
            .map_err(hash_error)?;
            image_item(&hashing::exact::hash_bytes(&file_bytes), &d.pdq, &cuts)
        }
        SelectionInput::VideoFile(path) => {
            let v = video::fingerprint_video_file(
                path.as_ref(),
                &VpdqOptions::default(),
                cancel,
                &mut |_| {},
            )
            .map_err(|e| ItemError {
                kind: match e {
                    video::VideoError::Io(_) => ItemErrorKind::Unreadable,
                    _ => ItemErrorKind::InvalidMedia,
                },
                reason: e.to_string(),
            })?;
            let usable = v.usable_frames();
            let (md5, sha256) = exact_hashes(&v.exact)?;
            Ok(ItemFingerprint {
                kind: MediaKind::Video,
                md5,
                sha256,
                pdq: None,
                quality: None,
                frames: v
                    .frames
                    .iter()
                    .map(|f| {
                        let (pdq, quality) = wire_pdq(&f.pdq)?;
                        Ok(p::VideoFrame {
                            t: f.t,
                            pdq,
                            quality,
                        })
                    })
                    .collect::<Result<Vec<_>, ItemError>>()?,
                edge_cuts: Vec::new(),
                low_quality: usable == 0,
            })
        }
        SelectionInput::VideoHashed {
            md5,
            sha256,
            frames,
        } => {
            let incomplete = |reason: &str| ItemError {
                kind: ItemErrorKind::IncompleteFingerprint,
                reason: reason.into(),
            };
            let (Some(md5), Some(sha256)) = (md5, sha256) else {
                return Err(incomplete(
                    "push the video file's bytes to the hasher for MD5 and SHA-256",
                ));
            };
            let (Some(md5), Some(sha256)) = (p::Md5::from_hex(&md5), p::Sha256::from_hex(&sha256))
            else {
                return Err(incomplete("malformed MD5 or SHA-256"));
            };
            if frames.is_empty() {
                return Err(incomplete("the video has no hashed frames"));
            }
            let frames = frames
                .iter()
                .map(|f| {
                    Some(p::VideoFrame {
                        t: check_timestamp(f.t).ok().map(|()| f.t)?,
                        pdq: p::Pdq::from_hex(&f.pdq)?,
                        quality: p::Quality::new(f.quality)?,
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| incomplete("malformed frame hash"))?;
            let low_quality = usable_frame_count(frames.iter().map(|f| f.quality.get())) == 0;
            Ok(ItemFingerprint {
                kind: MediaKind::Video,
                md5,
                sha256,
                pdq: None,
                quality: None,
                frames,
                edge_cuts: Vec::new(),
                low_quality,
            })
        }
    }
}

/// Hashes one item (the phone's way for large selections: the host hands in one
/// picture at a time, so a 50-photo selection is never in memory at once).
/// Near-duplicate groups need the whole selection: use
/// [`group_near_duplicates`] on the results. Fails with [`Error::Cancelled`] or
/// [`Error::DeadlineExceeded`] when `cancel` stops it before it starts (a video
/// file stops mid-way on cancel).
pub fn hash_item(input: SelectionInput, cancel: &Cancel) -> Result<HashedItem> {
    cancel.check()?;
    let (fingerprint, error) = match hash_one(input, &cancel.video_token()) {
        Ok(f) => (Some(f), None),
        Err(e) => (None, Some(e)),
    };
    if fingerprint.is_none() {
        cancel.check()?;
    }
    Ok(HashedItem {
        index: 0,
        fingerprint,
        error,
        duplicate_group: None,
    })
}

/// Sets `duplicate_group` on the pictures of `items` (near-duplicates share a
/// number), as [`hash_selection`] does.
pub fn group_near_duplicates(items: &mut [HashedItem]) {
    let pics: Vec<(usize, hashing::Pdq)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let f = h.fingerprint.as_ref()?;
            Some((
                i,
                hashing::Pdq {
                    hash: PdqHash(f.pdq?.0),
                    quality: f.quality?.get(),
                },
            ))
        })
        .collect();
    let groups = hashing::group_near_duplicates(&pics.iter().map(|p| p.1).collect::<Vec<_>>());
    for ((i, _), g) in pics.iter().zip(groups) {
        items[*i].duplicate_group = Some(g as u32);
    }
}

/// Hashes a selection. `progress(done, total)` is called after each item (from a
/// worker thread, with `done` increasing). Returns [`Error::Cancelled`] when
/// `cancel` is cancelled, or [`Error::DeadlineExceeded`] when its deadline
/// passes, before every item is done.
pub fn hash_selection(
    inputs: Vec<SelectionInput>,
    progress: &(dyn Fn(u32, u32) + Sync),
    cancel: &Cancel,
) -> Result<Vec<HashedItem>> {
    let total = inputs.len();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(total.max(1));
    let queue: Mutex<std::vec::IntoIter<(usize, SelectionInput)>> = Mutex::new(
        inputs
            .into_iter()
            .enumerate()
            .collect::<Vec<_>>()
            .into_iter(),
    );
    let results: Mutex<Vec<Option<Result<ItemFingerprint, ItemError>>>> =
        Mutex::new(vec![None; total]);
    let done = AtomicUsize::new(0);
    let report = Mutex::new(());
    let video_cancel = cancel.video_token();
    let stop: Mutex<Option<Stop>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    if let Some(s) = cancel.stopped() {
                        if let Ok(mut st) = stop.lock() {
                            *st = Some(s);
                        }
                        return;
                    }
                    let next = queue.lock().ok().and_then(|mut q| q.next());
                    let Some((i, input)) = next else { return };
                    let r = hash_one(input, &video_cancel);
                    if let Ok(mut res) = results.lock() {
                        res[i] = Some(r);
                    }
                    // Serialise reports so the host sees `done` strictly increase.
                    let _g = report.lock();
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    progress(n as u32, total as u32);
                }
            });
        }
    });
    if done.load(Ordering::SeqCst) < total {
        match stop.into_inner().ok().flatten().or(cancel.stopped()) {
            Some(Stop::Deadline) => return Err(Error::DeadlineExceeded),
            Some(Stop::Cancelled) => return Err(Error::Cancelled),
            None => {}
        }
    }
    let results = results
        .into_inner()
        .map_err(|_| Error::Internal("a hashing worker failed".into()))?;
    let mut out: Vec<HashedItem> = Vec::with_capacity(total);
    for (i, r) in results.into_iter().enumerate() {
        let r = r.ok_or_else(|| Error::Internal("a hashing worker failed".into()))?;
        let (fingerprint, error) = match r {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(e)),
        };
        out.push(HashedItem {
            index: i as u32,
            fingerprint,
            error,
            duplicate_group: None,
        });
    }
    group_near_duplicates(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use takedown_fingerprint::hashing::cuts::edge_cuts_from_rgb;

    /// RGB with detail everywhere (cuts and the whole differ).
    fn rgb(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    ((x * 7 + y * 3) % 251) as u8,
                    (((x / 9) ^ (y / 13)) * 37 % 256) as u8,
                    ((x * y / 17) % 256) as u8,
                ]
            })
            .collect()
    }

    fn wire(cuts: &[hashing::EdgeCutPdq]) -> Vec<p::EdgeCut> {
        wire_cuts(cuts).unwrap()
    }

    /// Host-decoded RGBA (rows padded past the picture) gives the same edge cuts
    /// as the fingerprint crate's cuts of the same RGB, in top, bottom order.
    #[test]
    fn host_pixels_carry_the_edge_cuts_of_the_same_pixels() {
        let (w, h) = (96usize, 130usize);
        let px = rgb(w, h);
        let stride = w * 4 + 12;
        let mut rgba = vec![0xEE; stride * h];
        for y in 0..h {
            for x in 0..w {
                let s = &px[(y * w + x) * 3..][..3];
                rgba[y * stride + x * 4..][..4].copy_from_slice(&[s[0], s[1], s[2], 255]);
            }
        }
        let f = hash_one(
            SelectionInput::ImagePixels {
                rgba,
                width: w as u32,
                height: h as u32,
                stride: stride as u32,
                file_bytes: b"the encoded file".to_vec(),
                original_width: w as u32,
                original_height: h as u32,
            },
            &CancelToken::default(),
        )
        .unwrap();
        let expected = wire(&edge_cuts_from_rgb(&px, w, h));
        assert_eq!(expected.len(), 2);
        assert_eq!(f.edge_cuts, expected);
        assert_eq!(f.edge_cuts[0].edge, p::CutEdge::Top);
        assert_eq!(f.edge_cuts[1].edge, p::CutEdge::Bottom);
        assert!(f.edge_cuts.iter().all(|c| c.percent == p::EDGE_CUT_PERCENT));
        assert_ne!(Some(f.edge_cuts[0].pdq), f.pdq);
        assert_ne!(f.edge_cuts[0].pdq, f.edge_cuts[1].pdq);
    }

    /// A picture too small to cut has no cuts, and a video never has any.
    #[test]
    fn no_cuts_for_tiny_pictures_or_videos() {
        let rgba = vec![128u8; 4 * 4 * 4];
        let f = hash_one(
            SelectionInput::ImagePixels {
                rgba,
                width: 4,
                height: 4,
                stride: 16,
                file_bytes: vec![1],
                original_width: 4,
                original_height: 4,
            },
            &CancelToken::default(),
        )
        .unwrap();
        assert!(f.edge_cuts.is_empty());
        let v = hash_one(
            SelectionInput::VideoHashed {
                md5: Some("00".repeat(16)),
                sha256: Some("00".repeat(32)),
                frames: vec![HostFrame {
                    t: 0.0,
                    pdq: "f6".repeat(32),
                    quality: 80,
                }],
            },
            &CancelToken::default(),
        )
        .unwrap();
        assert!(v.edge_cuts.is_empty());
    }
}
