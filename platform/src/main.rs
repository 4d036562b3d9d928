//! `takedown-platform`: sync the hash list, scan files, send feedback.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use takedown_platform::cli;

#[derive(Parser)]
#[command(
    name = "takedown-platform",
    version,
    about = "The Takedown platform kit: sync the hash list, match files, send feedback"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Bring the local list up to date (once, or with --loop forever).
    Sync(cli::SyncArgs),
    /// Scan files and directories; JSON lines; exit 0 = no match, 1 = match, 2 = errors.
    Match(cli::MatchArgs),
    /// Report matched / removed / not_violating for an item (queued, sent until confirmed).
    Feedback(cli::FeedbackArgs),
    /// Totals of the local list and the latest malformed records.
    Status(cli::StatusArgs),
    /// HTTP sidecar: POST an upload or its fingerprints, get a match decision.
    Serve(cli::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logs();
    let r = match &cli.cmd {
        Cmd::Sync(a) => cli::run_sync(a).map(|()| 0),
        Cmd::Match(a) => cli::run_match(a, &mut std::io::stdout()),
        Cmd::Feedback(a) => cli::run_feedback(a).map(|()| 0),
        Cmd::Status(a) => cli::run_status(a).map(|()| 0),
        Cmd::Serve(a) => cli::run_serve(a).map(|()| 0),
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("takedown-platform: {e}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
