//! The sample set the demo and the system tests share: a few generated
//! camera-like photos (the teen's), the re-uploads a platform would see of them
//! (re-encoded, resized, rotated, mirrored, letterboxed, captioned) and
//! unrelated photos.
//!
//! Everything is drawn from a seed ([`takedown_robustness::photos`]), so a run is
//! reproducible and no picture is committed.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage, imageops};
use rayon::prelude::*;
use takedown_robustness::photos::{self, SizeRange};
use takedown_robustness::transforms::Transform;

/// Sizes of the teen's photos: camera-like, kept modest so the demo is quick.
pub const DEMO_SIZES: SizeRange = SizeRange {
    min_mp: 1.0,
    max_mp: 2.0,
};

/// How a re-upload differs from the original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reupload {
    /// Re-encoded as JPEG at quality 50.
    Reencoded,
    /// Resized to 320 pixels on the long side.
    Resized,
    /// Rotated 90° clockwise.
    Rotated,
    /// Mirrored left-right.
    Mirrored,
    /// Black bars added above and below (a 16:9 frame around the picture).
    Letterboxed,
    /// A black caption bar laid over the bottom 12 % of the picture (found
    /// through the picture's listed edge cuts, ADR 0410).
    Captioned,
}

impl Reupload {
    /// Every kind, in the order the sample set cycles through them.
    pub const ALL: [Reupload; 6] = [
        Reupload::Reencoded,
        Reupload::Resized,
        Reupload::Rotated,
        Reupload::Mirrored,
        Reupload::Letterboxed,
        Reupload::Captioned,
    ];

    /// Plain words for the demo's output.
    pub fn describe(self) -> &'static str {
        match self {
            Reupload::Reencoded => "re-encoded (JPEG quality 50)",
            Reupload::Resized => "resized to 320 px",
            Reupload::Rotated => "rotated 90°",
            Reupload::Mirrored => "mirrored",
            Reupload::Letterboxed => "letterboxed (black bars)",
            Reupload::Captioned => "captioned (black bar over the bottom 12 %)",
        }
    }

    /// The re-upload's file bytes, from the decoded original.
    pub fn apply(self, original: &RgbImage) -> Vec<u8> {
        match self {
            Reupload::Reencoded => Transform::Jpeg50.apply(original, 0),
            Reupload::Resized => Transform::Resize320.apply(original, 0),
            Reupload::Rotated => Transform::Rotate90.apply(original, 0),
            Reupload::Mirrored => Transform::Mirror.apply(original, 0),
            Reupload::Letterboxed => photos::encode_jpeg(&letterbox(original), 85),
            Reupload::Captioned => Transform::CaptionBar.apply(original, 0),
        }
    }
}

/// The picture with black bars above and below: the frame is as tall as a 16:9
/// frame of the picture's width, and at least 24 % taller than the picture.
pub fn letterbox(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    // Height of a 16:9 frame as wide as the picture, at least 24 % taller.
    let frame_h = (u64::from(w) * 9 / 16).max(u64::from(h) * 124 / 100) as u32;
    let bar = (frame_h - h) / 2;
    let mut out = RgbImage::from_pixel(w, h + 2 * bar, Rgb([0, 0, 0]));
    imageops::replace(&mut out, img, 0, i64::from(bar));
    out
}

/// One photo of the teen's.
#[derive(Clone)]
pub struct Original {
    /// The decoded pixels (what the re-uploads start from).
    pub pixels: RgbImage,
    /// The file as the camera saved it (JPEG).
    pub jpeg: Vec<u8>,
}

/// One file in the platform's upload folder.
#[derive(Clone, Debug)]
pub struct Upload {
    /// File name inside the folder.
    pub name: String,
    /// The file bytes.
    pub bytes: Vec<u8>,
    /// `Some((original, kind))` for a re-upload of `originals[original]`, `None`
    /// for an unrelated photo.
    pub copy_of: Option<(usize, Reupload)>,
}

/// The whole sample set.
pub struct SampleSet {
    /// The teen's photos.
    pub originals: Vec<Original>,
    /// Re-uploads and unrelated photos, interleaved, as a platform would hold them.
    pub uploads: Vec<Upload>,
}

/// How big a sample set to make.
#[derive(Clone, Copy, Debug)]
pub struct SampleSpec {
    /// The teen's photos.
    pub originals: usize,
    /// Re-uploads per original (cycling through [`Reupload::ALL`]).
    pub copies_per_original: usize,
    /// Unrelated photos among the uploads.
    pub unrelated: usize,
    /// Seed of everything.
    pub seed: u64,
    /// Sizes of all generated photos.
    pub sizes: SizeRange,
}

impl Default for SampleSpec {
    fn default() -> Self {
        SampleSpec {
            originals: 4,
            copies_per_original: 5,
            unrelated: 12,
            seed: 2026,
            sizes: DEMO_SIZES,
        }
    }
}

/// Seeds of unrelated photos start here, far from the originals' seeds.
const UNRELATED_SEED_OFFSET: u64 = 1_000_000;

impl SampleSet {
    /// Generates the set (in parallel; deterministic for a spec).
    pub fn generate(spec: &SampleSpec) -> SampleSet {
        let originals: Vec<Original> = (0..spec.originals)
            .into_par_iter()
            .map(|i| {
                let p = photos::generate(spec.seed.wrapping_add(i as u64), spec.sizes);
                Original {
                    pixels: p.pixels,
                    jpeg: p.jpeg,
                }
            })
            .collect();
        let jobs: Vec<(usize, usize)> = (0..spec.originals)
            .flat_map(|o| (0..spec.copies_per_original).map(move |c| (o, c)))
            .collect();
        let copies: Vec<Upload> = jobs
            .par_iter()
            .map(|&(o, c)| {
                // Cycle through the kinds so every original gets different ones.
                let kind = Reupload::ALL[(o + c) % Reupload::ALL.len()];
                Upload {
                    name: String::new(),
                    bytes: kind.apply(&originals[o].pixels),
                    copy_of: Some((o, kind)),
                }
            })
            .collect();
        let unrelated: Vec<Upload> = (0..spec.unrelated)
            .into_par_iter()
            .map(|u| Upload {
                name: String::new(),
                bytes: photos::generate(
                    spec.seed
                        .wrapping_add(UNRELATED_SEED_OFFSET)
                        .wrapping_add(u as u64),
                    spec.sizes,
                )
                .jpeg,
                copy_of: None,
            })
            .collect();
        // Interleave so copies and unrelated photos are mixed in the folder.
        let mut uploads = Vec::with_capacity(copies.len() + unrelated.len());
        let (mut a, mut b) = (copies.into_iter(), unrelated.into_iter());
        loop {
            match (a.next(), b.next()) {
                (None, None) => break,
                (x, y) => uploads.extend(x.into_iter().chain(y)),
            }
        }
        for (i, u) in uploads.iter_mut().enumerate() {
            u.name = format!("upload-{:02}.jpg", i + 1);
        }
        SampleSet { originals, uploads }
    }

    /// Number of re-uploads among the uploads.
    pub fn copies(&self) -> usize {
        self.uploads.iter().filter(|u| u.copy_of.is_some()).count()
    }

    /// Writes the uploads into `dir` (created when missing); returns their paths
    /// in the order of [`SampleSet::uploads`].
    pub fn write_uploads(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        self.uploads
            .iter()
            .map(|u| {
                let p = dir.join(&u.name);
                std::fs::write(&p, &u.bytes)?;
                Ok(p)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_set_has_every_kind_and_is_reproducible() {
        let spec = SampleSpec {
            originals: 2,
            copies_per_original: 5,
            unrelated: 3,
            seed: 5,
            sizes: SizeRange::SMALL,
        };
        let a = SampleSet::generate(&spec);
        let b = SampleSet::generate(&spec);
        assert_eq!(a.uploads.len(), 13);
        assert_eq!(a.copies(), 10);
        for k in Reupload::ALL {
            assert!(a.uploads.iter().any(|u| u.copy_of.map(|c| c.1) == Some(k)));
        }
        for (x, y) in a.uploads.iter().zip(&b.uploads) {
            assert_eq!((&x.name, &x.bytes), (&y.name, &y.bytes));
        }
        let names: std::collections::HashSet<_> = a.uploads.iter().map(|u| &u.name).collect();
        assert_eq!(names.len(), a.uploads.len());
    }

    #[test]
    fn letterbox_adds_black_bars_above_and_below() {
        let img = RgbImage::from_pixel(400, 300, Rgb([200, 100, 50]));
        let l = letterbox(&img);
        assert_eq!(l.width(), 400);
        assert!(l.height() >= 372);
        assert_eq!(l.get_pixel(10, 0).0, [0, 0, 0]);
        assert_eq!(l.get_pixel(10, l.height() - 1).0, [0, 0, 0]);
        assert_eq!(l.get_pixel(10, l.height() / 2).0, [200, 100, 50]);
    }
}
