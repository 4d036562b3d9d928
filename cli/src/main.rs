//! `takedown` — the desktop driver of the Takedown core.
//!
//! * `takedown hash [--json] PATH...` — fingerprints of files and directories.
//! * `takedown compare A B` — PDQ distance between two files or hashes.
//! * `takedown match PATH...`, `takedown platform …` — the platform kit (`takedown-platform`).
//! * `takedown demo` — the whole system on this machine (`takedown-demo`).

mod compare;
mod dispatch;
mod hash;
mod video;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
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
    /// Scan files and directories for copies of listed pictures and videos (the platform
    /// kit: runs `takedown-platform match`; `takedown match --help` for its options).
    #[command(disable_help_flag = true)]
    Match {
        /// Arguments for `takedown-platform match`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// The platform kit: `sync`, `match`, `feedback`, `serve`, `status` (runs `takedown-platform`).
    #[command(disable_help_flag = true)]
    Platform {
        /// A `takedown-platform` subcommand and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run the whole system on this machine: service, phone core and platform kit, step
    /// by step (runs `takedown-demo`).
    #[command(disable_help_flag = true)]
    Demo {
        /// Arguments for `takedown-demo`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Hash(args) => hash::run(args),
        Command::Compare { a, b, json } => compare::run(&a, &b, json),
        Command::Match { mut args } => {
            args.insert(0, "match".into());
            dispatch::forward("takedown-platform", "takedown-platform", args)
        }
        Command::Platform { args } => {
            dispatch::forward("takedown-platform", "takedown-platform", args)
        }
        Command::Demo { args } => dispatch::forward("takedown-demo", "takedown-demo", args),
    }
}

/// A path as given on the command line, for messages.
pub(crate) fn display(p: &std::path::Path) -> String {
    p.display().to_string()
}
