//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

#[path = "../../../../tests/skip.rs"]
mod skip_log;
#[allow(unused_imports)]
pub use skip_log::skip;

/// `../shared/conformance` beside the project, or `TAKEDOWN_SHARED`/conformance.
/// `None` (and a printed message) when absent, so a stranger's clone still passes.
pub fn conformance_dir(test: &str) -> Option<PathBuf> {
    let base = std::env::var_os("TAKEDOWN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = base.join("conformance");
    if dir.join("pdq/expected/reference-core-hashes.tsv").is_file() {
        Some(dir)
    } else {
        if std::env::var_os("TAKEDOWN_REQUIRE_SHARED").is_some() {
            panic!(
                "{test}: ../shared/conformance is required (TAKEDOWN_REQUIRE_SHARED) but absent"
            );
        }
        skip(
            test,
            "../shared/conformance not found (set TAKEDOWN_SHARED to run it)",
        );
        None
    }
}

/// One row of `reference-core-hashes.tsv`.
#[derive(Debug, Clone)]
pub struct RefRow {
    pub image: String,
    pub width: u32,
    pub height: u32,
    pub mode: String,
    pub quality: u8,
    /// hash, rotate90, rotate180, rotate270, flipx, flipy, flipplus1, flipminus1
    pub hashes: [String; 8],
}

pub fn reference_rows(dir: &std::path::Path) -> Vec<RefRow> {
    let text = std::fs::read_to_string(dir.join("pdq/expected/reference-core-hashes.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            RefRow {
                image: f[0].to_string(),
                width: f[1].parse().unwrap(),
                height: f[2].parse().unwrap(),
                mode: f[3].to_string(),
                quality: f[4].parse().unwrap(),
                hashes: std::array::from_fn(|i| f[5 + i].to_string()),
            }
        })
        .collect()
}
