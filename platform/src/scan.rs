//! Scanning files against the list: what `takedown-platform match` runs.
//!
//! Every file is checked by MD5 and SHA-256 (whatever its format: a HEIC the
//! phone listed is found as an exact copy). Pictures the fingerprint crate
//! decodes are also matched by PDQ with query expansion; videos by vPDQ when
//! ffmpeg is available. A file that cannot be read or decoded yields an error
//! for that file only.

use std::path::{Path, PathBuf};

use crate::expand::{ExpandOptions, query_variants};
use crate::fingerprint::{hashing, media, video};
use crate::index::Hash;
use crate::matcher::{HashKind, Hit, Matcher};

/// How to scan.
#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// Query expansion (on by default).
    pub expand: ExpandOptions,
    /// Decoding limits and scale.
    pub decode: media::DecodeOptions,
    /// Fingerprint videos with ffmpeg (vPDQ); when off or when ffmpeg is missing,
    /// videos are matched by exact hashes only.
    pub videos: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            expand: ExpandOptions::default(),
            decode: media::DecodeOptions::default(),
            videos: true,
        }
    }
}

/// The result of scanning one file.
#[derive(Clone, Debug, Default)]
pub struct FileResult {
    /// Matched items, one hit per item (the strongest evidence: SHA-256, then
    /// MD5, then PDQ or vPDQ).
    pub hits: Vec<Hit>,
    /// What could not be checked, if anything (no path or pixels in it).
    pub error: Option<String>,
}

fn exact_arrays(e: &hashing::ExactHashes) -> Option<([u8; 16], [u8; 32])> {
    let mut md5 = [0u8; 16];
    let mut sha = [0u8; 32];
    hex::decode_to_slice(&e.md5, &mut md5).ok()?;
    hex::decode_to_slice(&e.sha256, &mut sha).ok()?;
    Some((md5, sha))
}

fn rank(h: HashKind) -> u8 {
    match h {
        HashKind::Sha256 => 0,
        HashKind::Md5 => 1,
        HashKind::Pdq | HashKind::Vpdq => 2,
    }
}

/// Keeps one hit per item: the strongest evidence.
pub fn merge_hits(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by_key(|h| (h.item_id, rank(h.hash), h.distance));
    hits.dedup_by_key(|h| h.item_id);
    hits.sort_by_key(|h| (rank(h.hash), h.distance, h.item_id));
    hits
}

/// What a picture is searched with: its exact hashes and its PDQ query variants.
#[derive(Clone, Debug)]
pub struct ImageQuery {
    /// MD5 and SHA-256 of the file bytes.
    pub exact: Option<([u8; 16], [u8; 32])>,
    /// PDQ of the picture and of its expansion variants.
    pub variants: Vec<crate::matcher::QueryPdq>,
}

/// Decodes and fingerprints a picture for matching (the expensive part, which
/// needs no matcher: the sidecar runs it outside its lock). The error is the
/// decoder's, without pixels or names.
pub fn image_query(bytes: &[u8], opts: &ScanOptions) -> Result<ImageQuery, String> {
    let exact = exact_arrays(&hashing::exact::hash_bytes(bytes));
    let decoded = media::decode(bytes, &opts.decode).map_err(|e| e.to_string())?;
    Ok(ImageQuery {
        exact,
        variants: query_variants(&decoded.rgb, &opts.expand),
    })
}

/// Matches a fingerprinted picture: one hit per item, strongest evidence first.
pub fn match_image_query(matcher: &Matcher, q: &ImageQuery) -> Vec<Hit> {
    let mut hits = match q.exact {
        Some((m, s)) => matcher.match_exact(&m, &s),
        None => Vec::new(),
    };
    hits.extend(matcher.match_pdq(&q.variants));
    merge_hits(hits)
}

/// Matches the bytes of a picture (exact hashes and PDQ with expansion).
pub fn match_image_bytes(
    matcher: &Matcher,
    bytes: &[u8],
    opts: &ScanOptions,
) -> Result<Vec<Hit>, String> {
    Ok(match_image_query(matcher, &image_query(bytes, opts)?))
}

/// Scans one file.
pub fn scan_file(matcher: &Matcher, path: &Path, opts: &ScanOptions) -> FileResult {
    let mut head = [0u8; 512];
    let n = match std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        let mut n = 0;
        while n < head.len() {
            let k = f.read(&mut head[n..])?;
            if k == 0 {
                break;
            }
            n += k;
        }
        Ok(n)
    }) {
        Ok(n) => n,
        Err(e) => {
            return FileResult {
                hits: vec![],
                error: Some(format!("cannot read the file: {}", e.kind())),
            };
        }
    };
    if video::looks_like_video(&head[..n]) {
        return scan_video(matcher, path, opts);
    }
    let bytes = match hashing::read_bounded(path, opts.decode.limits.max_file_bytes) {
        Ok(b) => b,
        Err(e) => {
            return FileResult {
                hits: vec![],
                error: Some(e.to_string()),
            };
        }
    };
    if media::sniff(&bytes).is_none() {
        // Not a picture this build decodes: exact hashes only.
        let exact = hashing::exact::hash_bytes(&bytes);
        let hits = exact_arrays(&exact)
            .map(|(m, s)| matcher.match_exact(&m, &s))
            .unwrap_or_default();
        return FileResult {
            hits: merge_hits(hits),
            error: None,
        };
    }
    match match_image_bytes(matcher, &bytes, opts) {
        Ok(hits) => FileResult { hits, error: None },
        Err(error) => {
            // The exact hashes are still worth checking on a damaged picture.
            let exact = hashing::exact::hash_bytes(&bytes);
            let hits = exact_arrays(&exact)
                .map(|(m, s)| matcher.match_exact(&m, &s))
                .unwrap_or_default();
            FileResult {
                hits: merge_hits(hits),
                error: Some(error),
            }
        }
    }
}

fn scan_video(matcher: &Matcher, path: &Path, opts: &ScanOptions) -> FileResult {
    if opts.videos && video::ffmpeg::available() {
        let r = video::fingerprint_video_file(
            path,
            &video::VpdqOptions::default(),
            &video::CancelToken::new(),
            &mut |_| {},
        );
        return match r {
            Ok(fp) => {
                let mut hits = exact_arrays(&fp.exact)
                    .map(|(m, s)| matcher.match_exact(&m, &s))
                    .unwrap_or_default();
                let frames: Vec<(Hash, u8)> = fp
                    .frames
                    .iter()
                    .map(|f| (f.pdq.hash.0, f.pdq.quality))
                    .collect();
                hits.extend(matcher.match_frames(&frames));
                FileResult {
                    hits: merge_hits(hits),
                    error: None,
                }
            }
            Err(e) => {
                let mut res = exact_only(matcher, path);
                res.error = Some(format!("video not fingerprinted: {e}"));
                res
            }
        };
    }
    let mut res = exact_only(matcher, path);
    if res.error.is_none() && opts.videos {
        res.error =
            Some("ffmpeg not found: the video was checked by exact hashes only".to_string());
    }
    res
}

fn exact_only(matcher: &Matcher, path: &Path) -> FileResult {
    match std::fs::File::open(path).and_then(hashing::exact::hash_reader) {
        Ok((exact, _)) => FileResult {
            hits: merge_hits(
                exact_arrays(&exact)
                    .map(|(m, s)| matcher.match_exact(&m, &s))
                    .unwrap_or_default(),
            ),
            error: None,
        },
        Err(e) => FileResult {
            hits: vec![],
            error: Some(format!("cannot read the file: {}", e.kind())),
        },
    }
}

/// Every regular file under `paths` (directories recursively, symbolic links not
/// followed into directories), sorted; paths that cannot be listed come back as
/// errors.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => match std::fs::read_dir(&p) {
                Ok(rd) => {
                    let mut children: Vec<PathBuf> = Vec::new();
                    for e in rd {
                        match e {
                            Ok(e) => {
                                let is_link =
                                    e.file_type().map(|t| t.is_symlink()).unwrap_or(false);
                                let path = e.path();
                                if is_link && path.is_dir() {
                                    continue;
                                }
                                children.push(path);
                            }
                            Err(err) => {
                                errors.push((p.clone(), format!("cannot list: {}", err.kind())))
                            }
                        }
                    }
                    children.sort();
                    stack.extend(children.into_iter().rev());
                }
                Err(e) => errors.push((p.clone(), format!("cannot list: {}", e.kind()))),
            },
            Ok(m) if m.is_file() => files.push(p),
            Ok(_) => {}
            Err(e) => errors.push((p.clone(), format!("cannot read: {}", e.kind()))),
        }
    }
    (files, errors)
}
