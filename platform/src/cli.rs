//! Command-line front end: clap argument structs and one `run_*` function per
//! command, so another binary (`takedown match`, `takedown platform …`) can
//! expose the same commands. The API key is never printed or logged.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use takedown_protocol::Outcome;

use crate::client::{Client, RetryPolicy};
use crate::error::{Error, Result};
use crate::expand::ExpandOptions;
use crate::matcher::Matcher;
use crate::scan::{ScanOptions, collect_files, scan_file};
use crate::store::Store;
use crate::sync::{SyncOptions, SyncReport, sync_loop, sync_once};

/// File name of the local list inside the data directory.
pub const STORE_FILE: &str = "list.sqlite3";

/// Where the local list lives.
#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// Directory of the local list (`list.sqlite3`), created when missing.
    #[arg(
        long,
        env = "TAKEDOWN_PLATFORM_DATA",
        default_value = "takedown-platform-data"
    )]
    pub data_dir: PathBuf,
}

impl DataArgs {
    /// Opens (creating when missing) the local list.
    pub fn open(&self) -> Result<Store> {
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| Error::Config(format!("cannot create the data directory: {e}")))?;
        Store::open(&self.data_dir.join(STORE_FILE))
    }
}

/// How to reach the service.
#[derive(Args, Clone)]
pub struct ServiceArgs {
    /// Base URL of the hash-list service (`https://…`).
    #[arg(long, env = "TAKEDOWN_SERVICE_URL")]
    pub service_url: Option<String>,
    /// The platform's API key (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "TAKEDOWN_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Timeout of one request, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

impl std::fmt::Debug for ServiceArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceArgs")
            .field("service_url", &self.service_url)
            .finish_non_exhaustive()
    }
}

impl ServiceArgs {
    /// The HTTP client.
    pub fn client(&self) -> Result<Client> {
        let url = self.service_url.as_deref().ok_or_else(|| {
            Error::Config(
                "the service URL is required (--service-url or TAKEDOWN_SERVICE_URL)".into(),
            )
        })?;
        let key = self.api_key.as_deref().unwrap_or("");
        Client::new(url, key, Duration::from_secs(self.timeout_secs.max(1)))
    }
}

/// `sync`: bring the local list up to date.
#[derive(Args, Clone, Debug)]
pub struct SyncArgs {
    /// Local list.
    #[command(flatten)]
    pub data: DataArgs,
    /// Service.
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Keep syncing (every `--interval` seconds, backing off after failures) until
    /// interrupted; stops on a rejection such as a revoked API key.
    #[arg(long = "loop")]
    pub run_loop: bool,
    /// Seconds between runs with `--loop`.
    #[arg(long, default_value_t = 300)]
    pub interval: u64,
    /// Entries per page.
    #[arg(long, default_value_t = takedown_protocol::DEFAULT_SYNC_LIMIT)]
    pub page_size: u32,
}

/// `match`: scan files and directories.
#[derive(Args, Clone, Debug)]
pub struct MatchArgs {
    /// Local list.
    #[command(flatten)]
    pub data: DataArgs,
    /// Files or directories (recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Search only each picture's own PDQ (no dihedral variants, no border trimming,
    /// no estimated variants, no `bar-cut-20`).
    #[arg(long)]
    pub no_expand: bool,
    /// Match videos by exact hashes only (no ffmpeg).
    #[arg(long)]
    pub no_video: bool,
    /// Files scanned in parallel (default: all cores).
    #[arg(short = 'j', long)]
    pub jobs: Option<usize>,
    /// Never show a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What to report about an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutcomeArg {
    /// Matching content was found.
    Matched,
    /// Matching content was removed.
    Removed,
    /// A human reviewed the match and found no violation.
    #[value(name = "not_violating", alias = "reviewed_not_violating")]
    NotViolating,
}

impl From<OutcomeArg> for Outcome {
    fn from(o: OutcomeArg) -> Outcome {
        match o {
            OutcomeArg::Matched => Outcome::Matched,
            OutcomeArg::Removed => Outcome::Removed,
            OutcomeArg::NotViolating => Outcome::ReviewedNotViolating,
        }
    }
}

/// `feedback`: queue an event and send the queue, or only send (`--flush`).
#[derive(Args, Clone, Debug)]
pub struct FeedbackArgs {
    /// Local list (the queue lives in the same file).
    #[command(flatten)]
    pub data: DataArgs,
    /// Service.
    #[command(flatten)]
    pub service: ServiceArgs,
    /// The item (from a `match` line).
    #[arg(required_unless_present = "flush")]
    pub item_id: Option<i64>,
    /// What happened.
    #[arg(required_unless_present = "flush")]
    pub outcome: Option<OutcomeArg>,
    /// Your own opaque reference (ticket number…), never shown to the victim.
    #[arg(long)]
    pub reference: Option<String>,
    /// Your own event id (makes queuing idempotent too); default: a random one.
    #[arg(long)]
    pub event_id: Option<String>,
    /// Only queue the event; send it with a later `--flush`.
    #[arg(long)]
    pub no_send: bool,
    /// Send every queued event (no new event).
    #[arg(long, conflicts_with_all = ["item_id", "outcome"])]
    pub flush: bool,
}

/// `status`: totals of the local list.
#[derive(Args, Clone, Debug)]
pub struct StatusArgs {
    /// Local list.
    #[command(flatten)]
    pub data: DataArgs,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Io)
}

fn print_json<T: serde::Serialize>(v: &T) {
    if let Ok(s) = serde_json::to_string(v) {
        println!("{s}");
    }
}

/// Runs `sync`; prints one JSON report per run.
pub fn run_sync(args: &SyncArgs) -> Result<()> {
    let client = args.service.client()?;
    let mut store = args.data.open()?;
    let opts = SyncOptions {
        page_limit: args.page_size.clamp(1, takedown_protocol::MAX_SYNC_LIMIT),
        ..SyncOptions::default()
    };
    let rt = runtime()?;
    rt.block_on(async {
        if !args.run_loop {
            let r = sync_once(&client, &mut store, &opts, &mut |_, _| {}).await?;
            print_json(&r);
            return Ok(());
        }
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        sync_loop(
            &client,
            &mut store,
            &opts,
            Duration::from_secs(args.interval.max(1)),
            &mut |_, _| {},
            |r: &Result<SyncReport>| {
                if let Ok(rep) = r {
                    print_json(rep);
                }
            },
            stop,
        )
        .await
    })
}

/// One line of `match` output.
#[derive(serde::Serialize)]
struct MatchLine<'a> {
    path: &'a str,
    #[serde(flatten)]
    hit: &'a crate::matcher::Hit,
}

#[derive(serde::Serialize)]
struct ErrorLine<'a> {
    path: &'a str,
    error: &'a str,
}

/// Exit status of `match`: nothing matched.
pub const EXIT_NO_MATCH: u8 = 0;
/// Exit status of `match`: at least one file matched.
pub const EXIT_MATCH: u8 = 1;
/// Exit status of `match`: some file could not be scanned (matches may still have
/// been printed).
pub const EXIT_ERROR: u8 = 2;

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs `match`; prints JSON lines to `out` and returns the exit status
/// ([`EXIT_NO_MATCH`], [`EXIT_MATCH`] or [`EXIT_ERROR`]).
pub fn run_match(args: &MatchArgs, out: &mut (dyn Write + Send)) -> Result<u8> {
    use rayon::prelude::*;
    let store = args.data.open()?;
    if store.cursor()? == 0 {
        return Err(Error::Config(
            "the local list was never synced; run `takedown-platform sync` first".into(),
        ));
    }
    let snapshot = crate::matcher::snapshot_path(&args.data.data_dir.join(STORE_FILE));
    let (matcher, opened) = Matcher::open(&store, &snapshot)?;
    drop(store);
    if let crate::matcher::Opened::Rebuilt(why) = opened {
        tracing::info!(reason = %why, "matcher rebuilt from the local list");
        // The next run loads it in one read (until the next sync moves the cursor).
        if let Err(e) = matcher.save(&snapshot) {
            tracing::warn!(error = %e.kind(), "could not save the matcher");
        }
    }
    let opts = ScanOptions {
        expand: if args.no_expand {
            ExpandOptions::none()
        } else {
            ExpandOptions::default()
        },
        videos: !args.no_video,
        ..ScanOptions::default()
    };
    let (files, list_errors) = collect_files(&args.paths);
    let out = std::sync::Mutex::new(out);
    let mut status = EXIT_NO_MATCH;
    let write_err = |path: &Path, error: &str| {
        if let Ok(mut o) = out.lock() {
            let p = path_str(path);
            let _ = serde_json::to_writer(&mut **o, &ErrorLine { path: &p, error });
            let _ = writeln!(o);
        }
    };
    for (p, e) in &list_errors {
        write_err(p, e);
    }
    let bar = if !args.quiet && files.len() > 1 && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files, {per_sec}, eta {eta}",
        ) {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Config(format!("cannot start worker threads: {e}")))?;
    let (matched, failed) = pool.install(|| {
        files
            .par_iter()
            .map(|f| {
                let r = scan_file(&matcher, f, &opts);
                let p = path_str(f);
                if let Ok(mut o) = out.lock() {
                    for hit in &r.hits {
                        let _ = serde_json::to_writer(&mut **o, &MatchLine { path: &p, hit });
                        let _ = writeln!(o);
                    }
                    if let Some(e) = &r.error {
                        let _ = serde_json::to_writer(&mut **o, &ErrorLine { path: &p, error: e });
                        let _ = writeln!(o);
                    }
                }
                bar.inc(1);
                (!r.hits.is_empty(), r.error.is_some())
            })
            .reduce(|| (false, false), |a, b| (a.0 || b.0, a.1 || b.1))
    });
    bar.finish_and_clear();
    if let Ok(mut o) = out.lock() {
        let _ = o.flush();
    }
    if matched {
        status = EXIT_MATCH;
    }
    if failed || !list_errors.is_empty() {
        status = EXIT_ERROR;
    }
    Ok(status)
}

/// Runs `feedback`: queues the event (unless `--flush`), then sends the queue
/// (unless `--no-send`). Prints the event id and a JSON report.
pub fn run_feedback(args: &FeedbackArgs) -> Result<()> {
    let mut store = args.data.open()?;
    if let (Some(item_id), Some(outcome)) = (args.item_id, args.outcome) {
        let id = crate::feedback::enqueue(
            &mut store,
            item_id,
            outcome.into(),
            args.reference.clone(),
            args.event_id.clone(),
        )?;
        print_json(&serde_json::json!({"queued": id}));
        if args.no_send {
            return Ok(());
        }
    }
    let client = args.service.client()?;
    let rt = runtime()?;
    let report = rt.block_on(crate::feedback::flush(
        &client,
        &mut store,
        &RetryPolicy::default(),
    ))?;
    print_json(&report);
    Ok(())
}

/// Runs `status`: prints the totals and the latest malformed records as JSON.
pub fn run_status(args: &StatusArgs) -> Result<()> {
    let store = args.data.open()?;
    let stats = store.stats()?;
    let recent: Vec<_> = store
        .malformed(20)?
        .into_iter()
        .map(|m| serde_json::json!({"seq": m.seq, "item_id": m.item_id, "reason": m.reason}))
        .collect();
    print_json(&serde_json::json!({"list": stats, "recent_malformed": recent}));
    Ok(())
}

/// Sets up logs on stderr (`TAKEDOWN_LOG` filters; HTTP internals stay quiet so
/// request details never reach the logs).
pub fn init_logs() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("TAKEDOWN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("takedown_platform=info,warn"));
    for d in [
        "reqwest=warn",
        "hyper=warn",
        "hyper_util=warn",
        "rustls=warn",
    ] {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `serve`: the HTTP sidecar an upload pipeline calls.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Local list.
    #[command(flatten)]
    pub data: DataArgs,
    /// Service (without a URL and key the sidecar serves the list as it is, without syncing).
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub listen: std::net::SocketAddr,
    /// Largest upload accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mib: usize,
    /// Seconds between background syncs.
    #[arg(long, default_value_t = 300)]
    pub sync_interval: u64,
}

/// Runs `serve` until Ctrl-C or SIGTERM.
pub fn run_serve(args: &ServeArgs) -> Result<()> {
    let _ = args.data.open()?;
    let client = match args.service.service_url {
        Some(_) => Some(args.service.client()?),
        None => {
            tracing::warn!("no service URL: serving the local list without syncing");
            None
        }
    };
    let mut config = crate::sidecar::SidecarConfig {
        max_body_bytes: args.max_body_mib.max(1) * 1024 * 1024,
        sync_interval: Some(Duration::from_secs(args.sync_interval.max(1))),
        ..crate::sidecar::SidecarConfig::default()
    };
    config.scan.decode.limits.max_file_bytes = config.max_body_bytes as u64;
    let (sidecar, store) =
        crate::sidecar::Sidecar::open(&args.data.data_dir.join(STORE_FILE), client, config)?;
    let rt = runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}");
        let stop = async {
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        };
        crate::sidecar::serve(listener, sidecar, store, stop).await
    })
}
