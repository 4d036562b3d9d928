//! Edge cuts: the PDQ of a picture with its top or its bottom
//! [`EDGE_CUT_PERCENT`] % of rows removed, listed beside the picture's own PDQ
//! so that a re-upload with a caption bar over that edge still matches: a
//! platform cuts the same share off the edge where it finds a bar, and the
//! result is the listed cut up to re-encoding (`docs/adr/0410-edge-cuts.md`).
//!
//! The cut is taken on the picture as shown (after EXIF orientation). The rows
//! removed are [`edge_cut_rows`] of the shown height, so any PDQ implementation
//! can make the same cut.

use takedown_protocol::{CutEdge, EDGE_CUT_PERCENT, edge_cut_rows};

use super::pdq::{self, MIN_DIMENSION, Pdq, PdqDigest, PdqHasher};

/// PDQ of a picture with one edge cut off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeCutPdq {
    /// The edge removed (of the picture as shown).
    pub edge: CutEdge,
    /// PDQ hash and quality of what is left.
    pub pdq: Pdq,
}

impl EdgeCutPdq {
    /// The cut's key in the wire form (`top_20`, `bottom_20`;
    /// `takedown_protocol::edge_cuts_wire`).
    pub fn wire_key(&self) -> String {
        takedown_protocol::edge_cuts_wire::key(self.edge, EDGE_CUT_PERCENT)
    }
}

/// The rows `[start, end)` a cut of `edge` keeps of a picture `height` rows
/// high, with [`EDGE_CUT_PERCENT`] % removed; `None` when the cut removes no
/// row or leaves fewer than PDQ's minimum (such a cut is not listed).
pub fn kept_rows(edge: CutEdge, height: usize) -> Option<(usize, usize)> {
    let removed = edge_cut_rows(u32::try_from(height).ok()?, EDGE_CUT_PERCENT) as usize;
    if removed == 0 || height - removed < MIN_DIMENSION {
        return None;
    }
    Some(match edge {
        CutEdge::Top => (removed, height),
        CutEdge::Bottom => (0, height - removed),
    })
}

/// The edge cuts of a packed, upright pixel buffer (`channels` bytes per pixel,
/// R, G, B first, rows of `stride` bytes), in [`CutEdge::ALL`] order; cuts that
/// [`kept_rows`] refuses are left out.
///
/// # Panics
/// As [`pdq::pdq_from_pixels`], if the buffer does not hold the picture.
pub fn edge_cuts_from_pixels(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    stride: usize,
) -> Vec<EdgeCutPdq> {
    assert!(stride >= width * channels);
    let mut hashers = EdgeCutHashers::new(width, height, 1);
    if hashers.cuts.is_empty() {
        return Vec::new();
    }
    for y in 0..height {
        hashers.push_rgb_row(&pixels[y * stride..y * stride + width * channels], channels);
    }
    hashers.finish()
}

/// The picture's own PDQ digest and its edge cuts ([`edge_cuts_from_pixels`]) in
/// one pass over a packed, upright pixel buffer: each row's luma is computed once
/// for the picture and both cuts, as on the streaming JPEG path.
///
/// # Panics
/// As [`pdq::pdq_from_pixels`], if the buffer does not hold the picture.
pub fn digest_and_cuts_from_pixels(
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    stride: usize,
) -> (PdqDigest, Vec<EdgeCutPdq>) {
    assert!(stride >= width * channels);
    let mut whole = PdqHasher::new(width, height);
    let mut cuts = EdgeCutHashers::new(width, height, 1);
    let mut luma = Vec::with_capacity(width);
    for y in 0..height {
        pdq::rgb_row_to_luma(
            &pixels[y * stride..y * stride + width * channels],
            channels,
            &mut luma,
        );
        whole.push_luma_row(&luma);
        cuts.push_luma_row(&luma);
    }
    (whole.finish(), cuts.finish())
}

/// The edge cuts of tightly packed RGB24 pixels ([`edge_cuts_from_pixels`]).
pub fn edge_cuts_from_rgb(rgb: &[u8], width: usize, height: usize) -> Vec<EdgeCutPdq> {
    edge_cuts_from_pixels(rgb, width, height, 3, width * 3)
}

/// A stored edge: the side of the pixels as they come out of the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stored {
    Top,
    Bottom,
    Left,
    Right,
}

/// The stored edge that is the shown `edge` under EXIF `orientation` (1–8).
fn stored_edge(edge: CutEdge, orientation: u8) -> Stored {
    let top = match orientation {
        3 | 4 => Stored::Bottom,
        5 | 6 => Stored::Left,
        7 | 8 => Stored::Right,
        _ => Stored::Top,
    };
    match (edge, top) {
        (CutEdge::Top, s) => s,
        (CutEdge::Bottom, Stored::Top) => Stored::Bottom,
        (CutEdge::Bottom, Stored::Bottom) => Stored::Top,
        (CutEdge::Bottom, Stored::Left) => Stored::Right,
        (CutEdge::Bottom, Stored::Right) => Stored::Left,
    }
}

struct Cut {
    edge: CutEdge,
    /// Stored columns `[x0, x1)` and rows `[y0, y1)` kept.
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    hasher: PdqHasher,
}

/// The edge cuts of a picture whose rows arrive one by one in stored order (the
/// streaming JPEG path): one PDQ hasher per cut, each fed its part of every row,
/// so memory stays at a few rows. An EXIF orientation other than 1 is applied
/// to each cut's hash through its DCT, as for the picture's own hash.
pub struct EdgeCutHashers {
    cuts: Vec<Cut>,
    orientation: u8,
    row: usize,
    /// The luma of the current row, computed once for every cut.
    luma: Vec<f32>,
}

impl EdgeCutHashers {
    /// Hashers for a picture stored as `width` × `height` pixels with EXIF
    /// `orientation` (1 = none; pass 1 when orientation is not applied).
    pub fn new(width: usize, height: usize, orientation: u8) -> Self {
        let turned = matches!(orientation, 5..=8);
        let (shown_w, shown_h) = if turned {
            (height, width)
        } else {
            (width, height)
        };
        let mut cuts = Vec::new();
        if shown_w >= MIN_DIMENSION {
            for edge in CutEdge::ALL {
                let Some((a, b)) = kept_rows(edge, shown_h) else {
                    continue;
                };
                let removed = shown_h - (b - a);
                let (x0, x1, y0, y1) = match stored_edge(edge, orientation) {
                    Stored::Top => (0, width, removed, height),
                    Stored::Bottom => (0, width, 0, height - removed),
                    Stored::Left => (removed, width, 0, height),
                    Stored::Right => (0, width - removed, 0, height),
                };
                cuts.push(Cut {
                    edge,
                    x0,
                    x1,
                    y0,
                    y1,
                    hasher: PdqHasher::new(x1 - x0, y1 - y0),
                });
            }
        }
        EdgeCutHashers {
            cuts,
            orientation,
            row: 0,
            luma: Vec::with_capacity(width),
        }
    }

    /// Push the next stored row (`channels` bytes per pixel, R, G, B first); its
    /// luma is computed once for every cut.
    ///
    /// # Panics
    /// As [`PdqHasher::push_rgb_row`].
    pub fn push_rgb_row(&mut self, row: &[u8], channels: usize) {
        if self.cuts.is_empty() {
            self.row += 1;
            return;
        }
        let mut luma = std::mem::take(&mut self.luma);
        let end = self.cuts.iter().map(|c| c.x1).max().unwrap_or(0);
        pdq::rgb_row_to_luma(&row[..end * channels], channels, &mut luma);
        self.push_luma_row(&luma);
        self.luma = luma;
    }

    /// Push the next stored row as float luma ([`pdq::rgb_row_to_luma`]), so a
    /// caller that also hashes the whole picture converts each row once.
    ///
    /// # Panics
    /// As [`PdqHasher::push_luma_row`].
    pub fn push_luma_row(&mut self, luma: &[f32]) {
        let y = self.row;
        self.row += 1;
        for c in &mut self.cuts {
            if (c.y0..c.y1).contains(&y) {
                c.hasher.push_luma_row(&luma[c.x0..c.x1]);
            }
        }
    }

    /// The cuts' hashes, in [`CutEdge::ALL`] order.
    ///
    /// # Panics
    /// If not every row was pushed.
    pub fn finish(self) -> Vec<EdgeCutPdq> {
        let orientation = self.orientation;
        self.cuts
            .into_iter()
            .map(|c| {
                let mut d: PdqDigest = c.hasher.finish();
                if orientation != 1 {
                    d = d.oriented(orientation);
                }
                EdgeCutPdq {
                    edge: c.edge,
                    pdq: d.pdq,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture with detail everywhere, so that cuts and the whole differ.
    fn picture(w: usize, h: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let a = ((x * 7 + y * 3) % 251) as u8;
                let b = (((x / 9) ^ (y / 13)) * 37 % 256) as u8;
                let c = ((x * y / 17) % 256) as u8;
                v.extend_from_slice(&[a, b, c]);
            }
        }
        v
    }

    #[test]
    fn a_cut_is_the_pdq_of_the_picture_without_its_edge_rows() {
        let (w, h) = (90, 120);
        let rgb = picture(w, h);
        let cuts = edge_cuts_from_rgb(&rgb, w, h);
        assert_eq!(cuts.len(), 2);
        // 20 % of 120 rows is 24: the top cut is rows 24..120, the bottom 0..96.
        assert_eq!(kept_rows(CutEdge::Top, h), Some((24, 120)));
        assert_eq!(kept_rows(CutEdge::Bottom, h), Some((0, 96)));
        let top = pdq::pdq_from_rgb(&rgb[24 * w * 3..], w, 96).pdq;
        let bottom = pdq::pdq_from_rgb(&rgb[..96 * w * 3], w, 96).pdq;
        assert_eq!((cuts[0].edge, cuts[0].pdq), (CutEdge::Top, top));
        assert_eq!((cuts[1].edge, cuts[1].pdq), (CutEdge::Bottom, bottom));
        let whole = pdq::pdq_from_rgb(&rgb, w, h).pdq;
        assert_ne!(whole.hash, top.hash);
        assert_ne!(top.hash, bottom.hash);
    }

    #[test]
    fn streamed_cuts_equal_cuts_of_the_buffer() {
        let (w, h) = (77, 64);
        let rgb = picture(w, h);
        let mut s = EdgeCutHashers::new(w, h, 1);
        for y in 0..h {
            s.push_rgb_row(&rgb[y * w * 3..(y + 1) * w * 3], 3);
        }
        assert_eq!(s.finish(), edge_cuts_from_rgb(&rgb, w, h));
    }

    #[test]
    fn streamed_cuts_of_a_turned_picture_cut_the_shown_edges() {
        // Stored 64 wide and 80 high, shown turned a quarter (orientation 6:
        // the stored left column is the shown top row).
        let (w, h) = (64, 80);
        let rgb = picture(w, h);
        let mut s = EdgeCutHashers::new(w, h, 6);
        for y in 0..h {
            s.push_rgb_row(&rgb[y * w * 3..(y + 1) * w * 3], 3);
        }
        let got = s.finish();
        // Shown height is 64: 12 rows (stored columns) are cut.
        let cols = |x0: usize, x1: usize| -> Vec<u8> {
            (0..h)
                .flat_map(|y| rgb[(y * w + x0) * 3..(y * w + x1) * 3].to_vec())
                .collect()
        };
        let top = pdq::pdq_from_rgb(&cols(12, 64), 52, h).oriented(6).pdq;
        let bottom = pdq::pdq_from_rgb(&cols(0, 52), 52, h).oriented(6).pdq;
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].edge, got[0].pdq), (CutEdge::Top, top));
        assert_eq!((got[1].edge, got[1].pdq), (CutEdge::Bottom, bottom));
    }

    #[test]
    fn no_cut_of_a_picture_too_small_to_lose_a_row() {
        assert_eq!(kept_rows(CutEdge::Top, 4), None); // no row removed
        assert_eq!(kept_rows(CutEdge::Bottom, 5), None); // 4 rows left
        assert_eq!(kept_rows(CutEdge::Bottom, 6), Some((0, 5)));
        assert!(edge_cuts_from_rgb(&picture(40, 4), 40, 4).is_empty());
        assert!(edge_cuts_from_rgb(&picture(4, 40), 4, 40).is_empty());
        assert_eq!(stored_edge(CutEdge::Bottom, 8), Stored::Left);
        assert_eq!(stored_edge(CutEdge::Top, 3), Stored::Bottom);
    }
}
