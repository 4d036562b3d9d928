//! The measurement: enrol originals into the kit's matcher as the phone lists
//! them (PDQ and the two edge cuts of `fingerprint_image_bytes`), match every copy
//! and every unrelated photo through the kit's scan path, count.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rayon::prelude::*;
use takedown_platform::expand::{ExpandOptions, query_variants};
use takedown_platform::matcher::{Hit, Matcher};
use takedown_platform::scan::{ScanOptions, match_image_bytes};
use takedown_platform::store::{EdgeCutValue, Entry, PdqValue};
use takedown_protocol::{EDGE_CUT_PERCENT, ItemKind};

use crate::fingerprint::{hashing, media};
use crate::photos::{SizeRange, generate};
use crate::transforms::{Transform, caption_bar, central_crop};

/// Item ids of enrolment-side crop entries are `(k + 1) * ID_STRIDE + original id`.
pub const ID_STRIDE: i64 = 1_000_000;

/// What to measure.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listed originals.
    pub originals: usize,
    /// Unrelated photos (never listed).
    pub unrelated: usize,
    /// Seed of the photo set.
    pub seed: u64,
    /// Photo sizes.
    pub sizes: SizeRange,
    /// Enrolment-side variant: central crops listed besides each original, as the
    /// share of each dimension kept (e.g. `[0.9]`).
    pub enrol_crops: Vec<f64>,
    /// List each original's edge cuts as the phone sends them and search the
    /// `bar-cut-20` query (the default, ADR 0410); `false` measures the list and
    /// the expansion as they were before (originals' PDQ only, no `bar-cut-20`).
    pub edge_cuts: bool,
    /// Transforms applied to every original.
    pub transforms: Vec<Transform>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            originals: 60,
            unrelated: 300,
            seed: 1,
            sizes: SizeRange::CAMERA,
            enrol_crops: vec![0.9],
            edge_cuts: true,
            transforms: Transform::ALL.to_vec(),
        }
    }
}

impl Config {
    /// Scan options with query expansion on: the kit's default, without
    /// `bar-cut-20` when edge cuts are not measured.
    pub fn expansion_on(&self) -> ScanOptions {
        ScanOptions {
            expand: ExpandOptions {
                bar_cut: self.edge_cuts,
                ..ExpandOptions::default()
            },
            ..ScanOptions::default()
        }
    }
}

/// Counts for one transform (or for the unrelated photos).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pictures matched.
    pub n: usize,
    /// Matched to their own original, expansion off.
    pub off: usize,
    /// Matched to their own original, expansion on.
    pub on: usize,
    /// Matched to their own original, expansion on, central crops enrolled too.
    pub on_crops: usize,
    /// Pictures with a hit on some other item (false matches), per mode
    /// (off, on, on with crops).
    pub wrong: [usize; 3],
    /// Largest distance among the copies matched with expansion on.
    pub max_distance_on: u32,
    /// Which query variant matched, expansion on (variant → copies); a hit on an
    /// edge cut is named with it (`bar-cut-20 → cut-bottom-20`).
    pub variants_on: BTreeMap<String, usize>,
}

/// The whole result.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The configuration measured.
    pub originals: usize,
    /// Whether edge cuts were listed (and `bar-cut-20` searched).
    pub edge_cuts: bool,
    /// Per transform.
    pub per_transform: Vec<(Transform, Counts)>,
    /// The unrelated photos: `n`, and `wrong` = photos with any hit.
    pub unrelated: Counts,
    /// Entries on the list: originals only, with the enrolment-side crops.
    pub list_entries: (usize, usize),
    /// PDQ hashes in the index of the list without crops (the originals and,
    /// when listed, their edge cuts of quality ≥ 50).
    pub listed_hashes: usize,
    /// Smallest PDQ distance between any unrelated photo (any expansion variant)
    /// and any listed hash (originals and their edge cuts): the margin below the
    /// threshold of 31.
    pub nearest_unrelated: u32,
}

impl Report {
    /// All copies, summed over the transforms.
    pub fn overall(&self) -> Counts {
        let mut t = Counts::default();
        for (_, c) in &self.per_transform {
            t.n += c.n;
            t.off += c.off;
            t.on += c.on;
            t.on_crops += c.on_crops;
            for i in 0..3 {
                t.wrong[i] += c.wrong[i];
            }
            t.max_distance_on = t.max_distance_on.max(c.max_distance_on);
        }
        t
    }

    /// Goals of issue 12 (expansion on, default threshold) that are missed, in words.
    pub fn missed_goals(&self) -> Vec<String> {
        let mut out = Vec::new();
        let all = self.overall();
        if all.n == 0 || (all.on as f64) < 0.95 * all.n as f64 {
            out.push(format!("overall {}", pct(all.on, all.n)));
        }
        for (t, c) in &self.per_transform {
            if c.n == 0 || (c.on as f64) < t.goal() * c.n as f64 {
                out.push(format!(
                    "{}: {} < {:.0} %",
                    t.name(),
                    pct(c.on, c.n),
                    t.goal() * 100.0
                ));
            }
            if c.wrong[1] > 0 {
                out.push(format!(
                    "{}: {} copies matched another item",
                    t.name(),
                    c.wrong[1]
                ));
            }
        }
        if self.unrelated.wrong[1] > 0 {
            out.push(format!(
                "{} false matches among {} unrelated photos",
                self.unrelated.wrong[1], self.unrelated.n
            ));
        }
        out
    }

    /// The table, in plain text (Markdown).
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| transform | copies | expansion off | expansion on | on + central crop enrolled | max distance (on) | variants that matched (on) |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        for (t, c) in &self.per_transform {
            let vars: Vec<String> = c
                .variants_on
                .iter()
                .map(|(v, n)| format!("{v} {n}"))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                t.name(),
                c.n,
                pct(c.off, c.n),
                pct(c.on, c.n),
                pct(c.on_crops, c.n),
                c.max_distance_on,
                vars.join(", ")
            );
        }
        let a = self.overall();
        let _ = writeln!(
            s,
            "| **all copies** | {} | {} | {} | {} | {} | |",
            a.n,
            pct(a.off, a.n),
            pct(a.on, a.n),
            pct(a.on_crops, a.n),
            a.max_distance_on
        );
        let u = &self.unrelated;
        let _ = writeln!(
            s,
            "| **false matches** (unrelated photos with a hit; copies hitting another item) | {} + {} | {} + {} | {} + {} | {} + {} | nearest unrelated: {} | |",
            u.n,
            a.n,
            u.wrong[0],
            a.wrong[0],
            u.wrong[1],
            a.wrong[1],
            u.wrong[2],
            a.wrong[2],
            self.nearest_unrelated
        );
        let e = self.list_entries;
        let _ = writeln!(
            s,
            "\nList: {} originals, {} PDQ hashes indexed ({:.1} per original; edge cuts {}); with central crops enrolled: {} entries ({:.1}x).",
            e.0,
            self.listed_hashes,
            self.listed_hashes as f64 / e.0.max(1) as f64,
            if self.edge_cuts {
                "listed"
            } else {
                "not listed"
            },
            e.1,
            e.1 as f64 / e.0.max(1) as f64
        );
        s
    }
}

/// `k of n` as a percentage with one decimal.
pub fn pct(k: usize, n: usize) -> String {
    if n == 0 {
        return "—".into();
    }
    format!("{:.1} %", 100.0 * k as f64 / n as f64)
}

fn pdq_value(p: &hashing::Pdq) -> PdqValue {
    PdqValue {
        hash: p.hash.0,
        quality: p.quality,
    }
}

fn entry(item_id: i64, pdq: &hashing::Pdq, exact: &hashing::ExactHashes) -> Entry {
    let mut md5 = [0u8; 16];
    let mut sha256 = [0u8; 32];
    // The fingerprint crate always yields well-formed hex.
    hex::decode_to_slice(&exact.md5, &mut md5).expect("md5 hex");
    hex::decode_to_slice(&exact.sha256, &mut sha256).expect("sha256 hex");
    Entry {
        item_id,
        seq: item_id,
        kind: ItemKind::Image,
        md5,
        sha256,
        pdq: Some(pdq_value(pdq)),
        frames: Vec::new(),
        edge_cuts: Vec::new(),
    }
}

/// The list entry of a picture as the phone fingerprints it and the sync
/// delivers it: its PDQ and, when `cuts`, its edge cuts
/// (`fingerprint_image_bytes`'s `edge_cuts`).
pub fn listed_entry(item_id: i64, fp: &hashing::ImageFingerprint, cuts: bool) -> Entry {
    let mut e = entry(item_id, &fp.pdq, &fp.exact);
    if cuts {
        e.edge_cuts = fp
            .edge_cuts
            .iter()
            .map(|c| EdgeCutValue {
                edge: c.edge,
                percent: EDGE_CUT_PERCENT,
                pdq: pdq_value(&c.pdq),
            })
            .collect();
    }
    e
}

/// The original a hit stands for (crop entries map back to their original).
fn original_of(item_id: i64) -> i64 {
    item_id % ID_STRIDE
}

/// The query variant of a hit, with the listed edge cut it hit when not the
/// picture itself.
fn variant_name(h: &Hit) -> String {
    let v = h.variant.clone().unwrap_or_else(|| "exact".into());
    match h.listed.as_deref() {
        Some(l) if l != "picture" => format!("{v} → {l}"),
        _ => v,
    }
}

fn outcome(hits: &[Hit], own: Option<i64>) -> (bool, bool, Option<(u32, String)>) {
    let mut matched = None;
    let mut wrong = false;
    for h in hits {
        if Some(original_of(h.item_id)) == own {
            if matched.is_none() {
                matched = Some((h.distance, variant_name(h)));
            }
        } else {
            wrong = true;
        }
    }
    (matched.is_some(), wrong, matched)
}

/// Every listed PDQ hash of an entry (its own and its edge cuts).
fn listed_hashes(e: &Entry) -> impl Iterator<Item = hashing::PdqHash> + '_ {
    e.pdq
        .iter()
        .map(|p| p.hash)
        .chain(e.edge_cuts.iter().map(|c| c.pdq.hash))
        .map(hashing::PdqHash)
}

/// Runs the measurement (in parallel over the photos, with rayon).
pub fn run(cfg: &Config) -> Report {
    let decode = media::DecodeOptions::default();
    let base = cfg.seed.wrapping_mul(10_000_000);
    // Originals: the camera JPEG, its list entry and the crop entries.
    type Original = (Vec<u8>, Entry, Vec<Entry>);
    let originals: Vec<Original> = (0..cfg.originals)
        .into_par_iter()
        .map(|i| {
            let id = i as i64 + 1;
            let photo = generate(base + i as u64, cfg.sizes);
            let fp = hashing::fingerprint_image_bytes(&photo.jpeg, &decode)
                .expect("a generated photo decodes");
            let main = listed_entry(id, &fp, cfg.edge_cuts);
            let decoded = image::load_from_memory(&photo.jpeg)
                .expect("a generated photo decodes")
                .to_rgb8();
            let crops = cfg
                .enrol_crops
                .iter()
                .enumerate()
                .map(|(k, &keep)| {
                    let c = central_crop(&decoded, keep);
                    let d = hashing::pdq::pdq_from_rgb(
                        c.as_raw(),
                        c.width() as usize,
                        c.height() as usize,
                    );
                    let exact = hashing::exact::hash_bytes(c.as_raw());
                    entry((k as i64 + 1) * ID_STRIDE + id, &d.pdq, &exact)
                })
                .collect();
            (photo.jpeg, main, crops)
        })
        .collect();

    let mut plain = Matcher::new();
    let mut with_crops = Matcher::new();
    for (_, main, crops) in &originals {
        plain.upsert(main);
        with_crops.upsert(main);
        for c in crops {
            with_crops.upsert(c);
        }
    }
    let listed: Vec<hashing::PdqHash> =
        originals.iter().flat_map(|o| listed_hashes(&o.1)).collect();
    let off = ScanOptions {
        expand: ExpandOptions::none(),
        ..ScanOptions::default()
    };
    let on = cfg.expansion_on();

    // Copies: (transform, matched off, on, on+crops, wrong ×3, distance/variant on).
    type Row = (Transform, [bool; 3], [bool; 3], Option<(u32, String)>);
    let rows: Vec<Row> = originals
        .par_iter()
        .flat_map_iter(|(jpeg, main, _)| {
            let img = image::load_from_memory(jpeg)
                .expect("a generated photo decodes")
                .to_rgb8();
            let own = Some(main.item_id);
            cfg.transforms
                .iter()
                .map(|&t| {
                    let copy = t.apply(&img, main.item_id as u64);
                    let h_off = match_image_bytes(&plain, &copy, &off).unwrap_or_default();
                    let h_on = match_image_bytes(&plain, &copy, &on).unwrap_or_default();
                    let h_cr = match_image_bytes(&with_crops, &copy, &on).unwrap_or_default();
                    let (m0, w0, _) = outcome(&h_off, own);
                    let (m1, w1, d1) = outcome(&h_on, own);
                    let (m2, w2, _) = outcome(&h_cr, own);
                    (t, [m0, m1, m2], [w0, w1, w2], d1)
                })
                .collect::<Vec<_>>()
        })
        .collect();

    // Unrelated photos: any hit is a false match.
    let unrelated: Vec<([bool; 3], u32)> = (0..cfg.unrelated)
        .into_par_iter()
        .map(|j| {
            let photo = generate(base + 5_000_000 + j as u64, cfg.sizes);
            let any = |m: &Matcher, o: &ScanOptions| {
                !match_image_bytes(m, &photo.jpeg, o)
                    .unwrap_or_default()
                    .is_empty()
            };
            let nearest = media::decode(&photo.jpeg, &decode)
                .map(|d| {
                    query_variants(&d.rgb, &on.expand)
                        .iter()
                        .flat_map(|q| {
                            let qh = hashing::PdqHash(q.hash);
                            listed.iter().map(move |l| l.distance(&qh))
                        })
                        .min()
                        .unwrap_or(256)
                })
                .unwrap_or(256);
            (
                [any(&plain, &off), any(&plain, &on), any(&with_crops, &on)],
                nearest,
            )
        })
        .collect();

    let mut per: BTreeMap<Transform, Counts> = BTreeMap::new();
    for (t, m, w, d) in rows {
        let c = per.entry(t).or_default();
        c.n += 1;
        c.off += usize::from(m[0]);
        c.on += usize::from(m[1]);
        c.on_crops += usize::from(m[2]);
        for (acc, hit) in c.wrong.iter_mut().zip(w) {
            *acc += usize::from(hit);
        }
        if let Some((dist, variant)) = d {
            c.max_distance_on = c.max_distance_on.max(dist);
            *c.variants_on.entry(variant).or_default() += 1;
        }
    }
    let mut u = Counts {
        n: unrelated.len(),
        ..Counts::default()
    };
    for (w, _) in &unrelated {
        for (acc, hit) in u.wrong.iter_mut().zip(w) {
            *acc += usize::from(*hit);
        }
    }
    Report {
        originals: cfg.originals,
        edge_cuts: cfg.edge_cuts,
        per_transform: per.into_iter().collect(),
        unrelated: u,
        list_entries: (plain.len(), with_crops.len()),
        listed_hashes: plain.indexed_hashes(),
        nearest_unrelated: unrelated.iter().map(|u| u.1).min().unwrap_or(256),
    }
}

/// What the query variants cost to compute (decoding excluded, one thread).
#[derive(Clone, Debug, Default)]
pub struct Cost {
    /// Pictures timed (originals and their captioned copies).
    pub pictures: usize,
    /// Variants per picture without the estimated ones (dihedrals and trimming).
    pub variants_base: f64,
    /// Variants per picture with `bar-filled`, `bar-cut-20` and `uncrop-*` too
    /// (the default).
    pub variants_all: f64,
    /// Milliseconds per picture without the estimated variants.
    pub ms_base: f64,
    /// Milliseconds per picture with them.
    pub ms_all: f64,
    /// Milliseconds `bar-cut-20` adds to a captioned copy (the default with and
    /// without it, best of 7 each): one PDQ pass over the kept rows.
    pub ms_bar_cut: f64,
}

/// Times [`query_variants`] with the default options and without the estimated
/// variants, on `n` generated originals and their captioned copies (best of 7).
/// Index searches are not included: each extra variant is one more search.
pub fn expansion_cost(cfg: &Config, n: usize) -> Cost {
    let decode = media::DecodeOptions::default();
    let base = cfg.seed.wrapping_mul(10_000_000);
    let mut pictures = Vec::new();
    for i in 0..n {
        let photo = generate(base + i as u64, cfg.sizes);
        let img = image::load_from_memory(&photo.jpeg)
            .expect("a generated photo decodes")
            .to_rgb8();
        let captioned = Transform::CaptionBar.apply(&img, 0);
        for bytes in [&photo.jpeg, &captioned] {
            if let Ok(d) = media::decode(bytes, &decode) {
                pictures.push(d.rgb);
            }
        }
    }
    let all = cfg.expansion_on().expand;
    let plain = ExpandOptions {
        fill_bar: false,
        uncrop: false,
        bar_cut: false,
        ..all
    };
    // Per picture, the two settings alternate and the best of 7 each is kept (the
    // machine is shared: the minimum is the least disturbed run).
    let (mut cb, mut ca, mut tb, mut ta) = (0usize, 0usize, 0f64, 0f64);
    for p in &pictures {
        let (mut bb, mut ba, mut nb, mut na) = (f64::INFINITY, f64::INFINITY, 0, 0);
        for _ in 0..7 {
            let t = std::time::Instant::now();
            nb = query_variants(p, &plain).len();
            bb = bb.min(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            na = query_variants(p, &all).len();
            ba = ba.min(t.elapsed().as_secs_f64());
        }
        cb += nb;
        ca += na;
        tb += bb;
        ta += ba;
    }
    let no_cut = ExpandOptions {
        bar_cut: false,
        ..all
    };
    let best = |p: &media::RgbImage, o: &ExpandOptions| {
        (0..7)
            .map(|_| {
                let t = std::time::Instant::now();
                query_variants(p, o);
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    // The captioned copies are every second picture.
    let captioned: Vec<&media::RgbImage> = pictures.iter().skip(1).step_by(2).collect();
    let cut: f64 = captioned
        .iter()
        .map(|p| best(p, &all) - best(p, &no_cut))
        .sum();
    let k = pictures.len().max(1) as f64;
    Cost {
        pictures: pictures.len(),
        variants_base: cb as f64 / k,
        variants_all: ca as f64 / k,
        ms_base: tb * 1000.0 / k,
        ms_all: ta * 1000.0 / k,
        ms_bar_cut: cut * 1000.0 / captioned.len().max(1) as f64,
    }
}

/// Copies cropped by `pct` % of each side (as [`Transform::Crop`] does at 4 %),
/// matched through the kit's scan path: how many of `n` match their own original
/// with expansion off and on, and how many with the `uncrop-*` variants left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CropRecall {
    /// Share cut from each side, in percent.
    pub pct: u32,
    /// Copies.
    pub n: usize,
    /// Matched with expansion off.
    pub off: usize,
    /// Matched with expansion on but without `uncrop-*`.
    pub on_without_uncrop: usize,
    /// Matched with expansion on (the default).
    pub on: usize,
    /// Copies with a hit on another item, expansion on.
    pub wrong: usize,
}

/// The originals of a sweep: each generated photo decoded, and its list entry
/// (item ids 1, 2, …) as the phone would fingerprint it ([`listed_entry`]).
fn sweep_originals(cfg: &Config) -> Vec<(image::RgbImage, Entry)> {
    let decode = media::DecodeOptions::default();
    let base = cfg.seed.wrapping_mul(10_000_000);
    (0..cfg.originals)
        .into_par_iter()
        .map(|i| {
            let photo = generate(base + i as u64, cfg.sizes);
            let fp = hashing::fingerprint_image_bytes(&photo.jpeg, &decode)
                .expect("a generated photo decodes");
            let img = image::load_from_memory(&photo.jpeg)
                .expect("a generated photo decodes")
                .to_rgb8();
            (img, listed_entry(i as i64 + 1, &fp, cfg.edge_cuts))
        })
        .collect()
}

/// Crop recall by the share cut from each side (`percents`), on the originals of
/// `cfg` (list without enrolment-side crops).
pub fn crop_sweep(cfg: &Config, percents: &[u32]) -> Vec<CropRecall> {
    let originals = sweep_originals(cfg);
    let mut matcher = Matcher::new();
    for (_, e) in &originals {
        matcher.upsert(e);
    }
    let off = ScanOptions {
        expand: ExpandOptions::none(),
        ..ScanOptions::default()
    };
    let on = cfg.expansion_on();
    let no_uncrop = ScanOptions {
        expand: ExpandOptions {
            uncrop: false,
            ..on.expand
        },
        ..on
    };
    percents
        .iter()
        .map(|&pct| {
            let rows: Vec<[bool; 4]> = originals
                .par_iter()
                .map(|(img, e)| {
                    let (w, h) = img.dimensions();
                    let (dx, dy) = (w * pct / 100, h * pct / 100);
                    let c =
                        image::imageops::crop_imm(img, dx, dy, w - 2 * dx, h - 2 * dy).to_image();
                    let copy = crate::photos::encode_jpeg(&c, 85);
                    let own = Some(e.item_id);
                    let m = |o: &ScanOptions| {
                        outcome(
                            &match_image_bytes(&matcher, &copy, o).unwrap_or_default(),
                            own,
                        )
                    };
                    let (m_on, w_on, _) = m(&on);
                    [m(&off).0, m(&no_uncrop).0, m_on, w_on]
                })
                .collect();
            let count = |k: usize| rows.iter().filter(|r| r[k]).count();
            CropRecall {
                pct,
                n: rows.len(),
                off: count(0),
                on_without_uncrop: count(1),
                on: count(2),
                wrong: count(3),
            }
        })
        .collect()
}

/// Caption-bar recall for one bar height and edge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptionRecall {
    /// Bar height, percent of the picture's height.
    pub pct: u32,
    /// The bar is along the top (else the bottom).
    pub top: bool,
    /// Copies.
    pub n: usize,
    /// Matched with expansion on (edge cuts listed and `bar-cut-20` searched
    /// unless the config leaves them out).
    pub on: usize,
    /// Of those, matched through an edge cut (a hit on a listed cut).
    pub via_cut: usize,
    /// Copies with a hit on another item.
    pub wrong: usize,
}

/// Caption-bar recall by bar height (`heights`, percent) along the bottom and
/// the top, on the originals of `cfg`.
pub fn caption_sweep(cfg: &Config, heights: &[u32]) -> Vec<CaptionRecall> {
    let originals = sweep_originals(cfg);
    let mut matcher = Matcher::new();
    for (_, e) in &originals {
        matcher.upsert(e);
    }
    let on = cfg.expansion_on();
    let mut out = Vec::new();
    for &pct in heights {
        for top in [false, true] {
            let rows: Vec<[bool; 3]> = originals
                .par_iter()
                .map(|(img, e)| {
                    let copy = caption_bar(img, pct, top);
                    let (m, w, d) = outcome(
                        &match_image_bytes(&matcher, &copy, &on).unwrap_or_default(),
                        Some(e.item_id),
                    );
                    let via_cut = d.is_some_and(|(_, v)| v.contains("→ cut-"));
                    [m, via_cut, w]
                })
                .collect();
            let count = |k: usize| rows.iter().filter(|r| r[k]).count();
            out.push(CaptionRecall {
                pct,
                top,
                n: rows.len(),
                on: count(0),
                via_cut: count(1),
                wrong: count(2),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photos::{SizeRange, generate};
    use takedown_platform::expand::bar_cut_name;

    /// A captioned copy (12 % bottom, 15 % top) of a generated photo is found
    /// through `bar-cut-20` on the listed cut of its original, as the phone lists
    /// it; the list without cuts and the picture without a bar do not make that
    /// query hit.
    #[test]
    fn a_captioned_copy_hits_the_listed_edge_cut() {
        let decode = media::DecodeOptions::default();
        let mut via_cut = 0;
        for seed in 0..4 {
            let p = generate(70 + seed, SizeRange::SMALL);
            let fp = hashing::fingerprint_image_bytes(&p.jpeg, &decode).expect("decode");
            assert_eq!(fp.edge_cuts.len(), 2);
            let e = listed_entry(1, &fp, true);
            assert_eq!(e.edge_cuts.len(), 2);
            assert!(listed_entry(1, &fp, false).edge_cuts.is_empty());
            let mut m = Matcher::new();
            m.upsert(&e);
            assert_eq!(m.indexed_hashes(), 3);
            let img = image::load_from_memory(&p.jpeg).expect("decode").to_rgb8();
            let plain = match_image_bytes(&m, &p.jpeg, &ScanOptions::default()).expect("scan");
            let name = bar_cut_name();
            assert!(
                plain
                    .iter()
                    .all(|h| h.variant.as_deref() != Some(name.as_str()))
            );
            for (pct, top) in [(12, false), (15, true)] {
                let copy = caption_bar(&img, pct, top);
                let hits = match_image_bytes(&m, &copy, &ScanOptions::default()).expect("scan");
                assert!(hits.iter().all(|h| h.item_id == 1));
                // The bar-cut query alone hits the listed cut of the bar's edge.
                let d = media::decode(&copy, &decode).expect("decode");
                let q: Vec<_> = query_variants(&d.rgb, &ExpandOptions::default())
                    .into_iter()
                    .filter(|q| q.variant == bar_cut_name())
                    .collect();
                assert_eq!(q.len(), 1);
                let want = if top { "cut-top-20" } else { "cut-bottom-20" };
                let hit = m.match_pdq(&q);
                if hit.len() == 1 && hit[0].listed.as_deref() == Some(want) {
                    via_cut += 1;
                }
            }
        }
        assert!(
            via_cut >= 7,
            "bar-cut-20 hit the listed cut in {via_cut} of 8"
        );
    }
}
