//! `takedown` — the desktop driver of the Takedown core.
//!
//! * `takedown hash [--json] PATH...` — fingerprints of files and directories.
//! * `takedown compare A B` — PDQ distance between two files or hashes.

mod compare;
mod hash;
mod video;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "takedown",
    version,
    about = "Fingerprint media on this machine; nothing leaves it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute fingerprints (PDQ, MD5, SHA-256; vPDQ for videos) of files; directories are walked recursively.
    Hash(hash::HashArgs),
    /// Compare two files (or 64-hex-digit PDQ hashes): distance and whether they match.
    /// Two videos: the share of A's frames matching B and of B's matching A (vPDQ).
    Compare {
        /// First file or PDQ hash.
        a: String,
        /// Second file or PDQ hash.
        b: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Hash(args) => hash::run(args),
        Command::Compare { a, b, json } => compare::run(&a, &b, json),
    }
}

/// A path as given on the command line, for messages.
pub(crate) fn display(p: &std::path::Path) -> String {
    p.display().to_string()
}
