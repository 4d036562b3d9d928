//! `takedown compare A B`: PDQ distance between two files or hashes.

use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use takedown_fingerprint::hashing::pdq::{self, Dihedrals, PdqHash};
use takedown_fingerprint::hashing::{self, Pdq};
use takedown_fingerprint::media::DecodeOptions;

/// A side of the comparison: a PDQ with (for files) its dihedral variants.
struct Side {
    pdq: Pdq,
    dihedrals: Option<Dihedrals>,
}

fn side(arg: &str) -> Result<Side, String> {
    if arg.len() == 64 && !Path::new(arg).exists() {
        let hash = PdqHash::from_hex(arg).map_err(|e| format!("{arg}: {e}"))?;
        // A bare hash carries no quality: treat it as usable.
        return Ok(Side {
            pdq: Pdq { hash, quality: 100 },
            dihedrals: None,
        });
    }
    let f = hashing::fingerprint_image_file(Path::new(arg), &DecodeOptions::default())
        .map_err(|e| format!("{arg}: {e}"))?;
    Ok(Side {
        pdq: f.pdq,
        dihedrals: Some(f.dihedrals),
    })
}

pub fn run(a: &str, b: &str, json_out: bool) -> ExitCode {
    if crate::video::is_video(Path::new(a)) || crate::video::is_video(Path::new(b)) {
        return crate::video::compare(a, b, json_out);
    }
    let (sa, sb) = match (side(a), side(b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            if json_out {
                println!("{}", json!({ "error": e }));
            } else {
                eprintln!("error: {e}");
            }
            return ExitCode::from(1);
        }
    };
    let distance = sa.pdq.hash.distance(&sb.pdq.hash);
    // Rotated or mirrored copies: the best distance over A's dihedral variants.
    let (best, best_name) = match &sa.dihedrals {
        Some(d) => {
            let names = [
                "original",
                "rotate90",
                "rotate180",
                "rotate270",
                "flipx",
                "flipy",
                "flipplus1",
                "flipminus1",
            ];
            d.all()
                .iter()
                .zip(names)
                .map(|(h, n)| (h.distance(&sb.pdq.hash), n))
                .min()
                .unwrap_or((distance, "original"))
        }
        None => (distance, "original"),
    };
    let quality_ok = sa.pdq.quality >= pdq::MIN_QUALITY && sb.pdq.quality >= pdq::MIN_QUALITY;
    let is_match = quality_ok && distance <= pdq::MATCH_DISTANCE;
    let dihedral_match = quality_ok && best <= pdq::MATCH_DISTANCE;
    if json_out {
        println!(
            "{}",
            json!({
                "kind": "image",
                "distance": distance,
                "match": is_match,
                "best_dihedral_distance": best,
                "best_dihedral": best_name,
                "dihedral_match": dihedral_match,
                "quality_a": sa.pdq.quality,
                "quality_b": sb.pdq.quality,
                "threshold": pdq::MATCH_DISTANCE,
            })
        );
    } else {
        println!(
            "distance {distance} of 256 (match at <= {}): {}",
            pdq::MATCH_DISTANCE,
            if is_match { "MATCH" } else { "no match" }
        );
        if best < distance {
            println!(
                "as {best_name}: distance {best}: {}",
                if dihedral_match {
                    "MATCH (rotated or mirrored copy)"
                } else {
                    "no match"
                }
            );
        }
        if !quality_ok {
            println!(
                "quality {} / {}: below {}, PDQ cannot decide; only exact copies can be matched",
                sa.pdq.quality,
                sb.pdq.quality,
                pdq::MIN_QUALITY
            );
        }
    }
    ExitCode::SUCCESS
}
