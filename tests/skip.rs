//! The workspace's convention for a test that cannot run here (no ffmpeg, no
//! `../shared`, no PostgreSQL…): it calls [`skip`] and returns. `skip` prints
//! `SKIPPED <name>: <reason>` to stderr and, when `TAKEDOWN_SKIP_LOG` names a file,
//! appends `<name>\t<reason>` to it, so `scripts/test.sh` reports the test as
//! skipped, not passed. (When the matching `TAKEDOWN_REQUIRE_*` variable is set the
//! caller panics instead of skipping.)
//!
//! Test crates include this file with `#[path = "…/tests/skip.rs"] mod skip;`.
#![allow(dead_code)]

use std::io::Write;

/// Report that test `name` was skipped, and why.
pub fn skip(name: &str, reason: &str) {
    eprintln!("SKIPPED {name}: {reason}");
    if let Some(log) = std::env::var_os("TAKEDOWN_SKIP_LOG") {
        let line = format!("{name}\t{}\n", reason.replace(['\t', '\n'], " "));
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            // One write per line, so parallel tests do not interleave.
            let _ = f.write_all(line.as_bytes());
        }
    }
}
