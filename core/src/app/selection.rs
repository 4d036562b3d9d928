//! Hashing a selection: each picked item becomes its fingerprints or a clear
//! per-item error. Runs on worker threads (one per core, each holding one image),
//! reports progress after every item and stops early when cancelled.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::hashing::{self, PdqHash, pdq::MIN_QUALITY};
use crate::media::DecodeOptions;
use crate::video::{self, CancelToken, VpdqOptions};

use super::error::{Error, Result};

/// Picture or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MediaKind {
    /// A picture.
    Image,
    /// A video.
    Video,
}

impl MediaKind {
    /// Stable string form (storage).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }
    /// Parses [`MediaKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "image" => Some(MediaKind::Image),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

/// One vPDQ frame of a video.
#[derive(Clone, Debug, PartialEq, uniffi::Record, serde::Serialize, serde::Deserialize)]
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
}

/// What the host hands over for hashing.
#[derive(Clone, Debug)]
pub enum MediaInput {
    /// An image file by path (desktop).
    ImageFile(String),
    /// An image file's bytes (JPEG, PNG, WebP, GIF, TIFF, BMP).
    ImageBytes(Vec<u8>),
    /// Pixels the host decoded (HEIC, Android Bitmap) plus the encoded file's
    /// bytes for the exact hashes.
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
        frames: Vec<FrameFingerprint>,
    },
}

/// Why one item of a selection could not be hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ItemErrorKind {
    /// Damaged, unsupported, empty or over the size limits.
    InvalidMedia,
    /// The file could not be read.
    Unreadable,
    /// A pushed video without MD5/SHA-256 of its bytes, or with malformed hashes.
    IncompleteFingerprint,
}

/// A per-item failure; the reason names no file and holds no pixels.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ItemError {
    /// What kind of failure.
    pub kind: ItemErrorKind,
    /// A short explanation for the user.
    pub reason: String,
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

fn image_fp(f: hashing::ImageFingerprint) -> ItemFingerprint {
    ItemFingerprint {
        kind: MediaKind::Image,
        md5: f.exact.md5,
        sha256: f.exact.sha256,
        pdq: Some(f.pdq.hash.to_hex()),
        quality: Some(f.pdq.quality),
        frames: Vec::new(),
        low_quality: f.pdq.quality < MIN_QUALITY,
    }
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

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn hash_one(input: MediaInput, cancel: &CancelToken) -> Result<ItemFingerprint, ItemError> {
    let opts = DecodeOptions::default();
    match input {
        MediaInput::ImageFile(path) => hashing::fingerprint_image_file(path.as_ref(), &opts)
            .map(image_fp)
            .map_err(hash_error),
        MediaInput::ImageBytes(bytes) => hashing::fingerprint_image_bytes(&bytes, &opts)
            .map(image_fp)
            .map_err(hash_error),
        MediaInput::ImagePixels {
            rgba,
            width,
            height,
            stride,
            file_bytes,
        } => {
            if file_bytes.is_empty() {
                return Err(ItemError {
                    kind: ItemErrorKind::IncompleteFingerprint,
                    reason: "the file's bytes are needed for the exact hashes".into(),
                });
            }
            let d = hashing::pdq_from_rgba(&rgba, width, height, stride).map_err(hash_error)?;
            let exact = hashing::exact::hash_bytes(&file_bytes);
            Ok(ItemFingerprint {
                kind: MediaKind::Image,
                md5: exact.md5,
                sha256: exact.sha256,
                pdq: Some(d.pdq.hash.to_hex()),
                quality: Some(d.pdq.quality),
                frames: Vec::new(),
                low_quality: d.pdq.quality < MIN_QUALITY,
            })
        }
        MediaInput::VideoFile(path) => {
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
            Ok(ItemFingerprint {
                kind: MediaKind::Video,
                md5: v.exact.md5,
                sha256: v.exact.sha256,
                pdq: None,
                quality: None,
                frames: v
                    .frames
                    .iter()
                    .map(|f| FrameFingerprint {
                        t: f.t,
                        pdq: f.pdq.hash.to_hex(),
                        quality: f.pdq.quality,
                    })
                    .collect(),
                low_quality: usable == 0,
            })
        }
        MediaInput::VideoHashed {
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
            if !is_hex(&md5, 32) || !is_hex(&sha256, 64) {
                return Err(incomplete("malformed MD5 or SHA-256"));
            }
            if frames.is_empty() {
                return Err(incomplete("the video has no hashed frames"));
            }
            if frames
                .iter()
                .any(|f| !is_hex(&f.pdq, 64) || f.quality > 100 || !(f.t >= 0.0 && f.t.is_finite()))
            {
                return Err(incomplete("malformed frame hash"));
            }
            let low_quality = !frames.iter().any(|f| f.quality >= MIN_QUALITY);
            Ok(ItemFingerprint {
                kind: MediaKind::Video,
                md5: md5.to_ascii_lowercase(),
                sha256: sha256.to_ascii_lowercase(),
                pdq: None,
                quality: None,
                frames,
                low_quality,
            })
        }
    }
}

/// Hashes a selection. `progress(done, total)` is called after each item (from a
/// worker thread, with `done` increasing). Returns [`Error::Cancelled`] when
/// `cancel` is set before every item is done.
pub fn hash_selection(
    inputs: Vec<MediaInput>,
    progress: &(dyn Fn(u32, u32) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<HashedItem>> {
    let total = inputs.len();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(total.max(1));
    let queue: Mutex<std::vec::IntoIter<(usize, MediaInput)>> = Mutex::new(
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
    let video_cancel = CancelToken::new();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    if cancel.load(Ordering::Relaxed) {
                        video_cancel.cancel();
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
    if cancel.load(Ordering::Relaxed) && done.load(Ordering::SeqCst) < total {
        return Err(Error::Cancelled);
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
    // Near-duplicate groups among the pictures.
    let pics: Vec<(usize, hashing::Pdq)> = out
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let f = h.fingerprint.as_ref()?;
            let hash = PdqHash::from_hex(f.pdq.as_deref()?).ok()?;
            Some((
                i,
                hashing::Pdq {
                    hash,
                    quality: f.quality?,
                },
            ))
        })
        .collect();
    let groups = hashing::group_near_duplicates(&pics.iter().map(|p| p.1).collect::<Vec<_>>());
    for ((i, _), g) in pics.iter().zip(groups) {
        out[*i].duplicate_group = Some(g as u32);
    }
    Ok(out)
}
