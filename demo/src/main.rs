//! `takedown-demo` (`takedown demo`): the whole system on this machine in one
//! command. See the crate docs.
//!
//! ```sh
//! cargo run --release -p takedown-demo            # or: takedown demo
//! cargo run --release -p takedown-demo -- --keep demo-files --photos 6
//! ```
//!
//! Exit status 0 when every step did what it should, 1 when a check failed, 2 when
//! a step could not run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use takedown_demo::platform::Platform;
use takedown_demo::samples::{SampleSet, SampleSpec};
use takedown_demo::service::LocalService;
use takedown_demo::teen::{self, Phone};
use takedown_demo::{DemoError, Result};
use takedown_platform::matcher::HashKind;
use takedown_protocol::Outcome;

/// Shows the whole Takedown system on this machine: the hash-list service, a
/// teen's phone and a platform, each through its real code, on loopback.
/// Nothing leaves the machine; everything is deleted at the end unless --keep.
#[derive(Parser, Debug)]
#[command(name = "takedown-demo", version)]
struct Args {
    /// How many photos the teen reports.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=50))]
    photos: u16,
    /// Re-uploads of each photo in the platform's upload folder.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=10))]
    copies: u16,
    /// Unrelated photos in the platform's upload folder.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(0..=200))]
    unrelated: u16,
    /// Seed of the generated photos.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Write the demo's files (photos, uploads, the phone's history, the
    /// platform's list) into this directory and keep them.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

/// Prints numbered steps with their timings.
struct Steps {
    n: usize,
    started: Instant,
}

impl Steps {
    fn new() -> Steps {
        Steps {
            n: 0,
            started: Instant::now(),
        }
    }

    fn say(&mut self, who: &str, what: &str, took: Duration) {
        self.n += 1;
        println!("{:>2}. {who:<9} {what}  ({})", self.n, fmt_ms(took));
    }

    fn detail(&self, what: &str) {
        println!("               {what}");
    }
}

fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// A check of the demo's story failed (exit status 1).
struct Failed(String);

enum Stop {
    Failed(Failed),
    Error(DemoError),
}

impl From<DemoError> for Stop {
    fn from(e: DemoError) -> Self {
        Stop::Error(e)
    }
}

impl From<takedown_demo::service::StartError> for Stop {
    fn from(e: takedown_demo::service::StartError) -> Self {
        Stop::Error(e.into())
    }
}

impl From<Failed> for Stop {
    fn from(f: Failed) -> Self {
        Stop::Failed(f)
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> std::result::Result<(), Failed> {
    if ok { Ok(()) } else { Err(Failed(what())) }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {}", e.kind());
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Failed(Failed(what))) => {
            eprintln!("demo check failed: {what}");
            ExitCode::from(1)
        }
        Err(Stop::Error(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Where the demo's files go: a temporary directory, or `--keep DIR`.
enum Workdir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Workdir {
    fn path(&self) -> &Path {
        match self {
            Workdir::Temp(t) => t.path(),
            Workdir::Kept(p) => p,
        }
    }
}

async fn run(args: &Args) -> std::result::Result<(), Stop> {
    let work = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(DemoError::from)?;
            Workdir::Kept(dir.clone())
        }
        None => Workdir::Temp(
            tempfile::Builder::new()
                .prefix("takedown-demo-")
                .tempdir()
                .map_err(DemoError::from)?,
        ),
    };
    let root = work.path();
    let mut steps = Steps::new();
    println!(
        "Takedown demo: the hash-list service, a teen's phone and a platform, on this machine."
    );
    println!("Only fingerprints travel between them; the photos never leave the \"phone\".\n");

    // The service.
    let t = Instant::now();
    let service = LocalService::start().await?;
    steps.say(
        "service",
        &format!(
            "started on {} with a temporary SQLite database",
            service.url
        ),
        t.elapsed(),
    );

    // The photos.
    let t = Instant::now();
    let spec = SampleSpec {
        originals: usize::from(args.photos),
        copies_per_original: usize::from(args.copies),
        unrelated: usize::from(args.unrelated),
        seed: args.seed,
        ..SampleSpec::default()
    };
    let set = tokio::task::spawn_blocking(move || SampleSet::generate(&spec))
        .await
        .map_err(|_| DemoError("generating the photos failed".into()))?;
    let roll = root.join("phone-camera-roll");
    std::fs::create_dir_all(&roll).map_err(DemoError::from)?;
    for (i, o) in set.originals.iter().enumerate() {
        std::fs::write(roll.join(format!("photo-{}.jpg", i + 1)), &o.jpeg)
            .map_err(DemoError::from)?;
    }
    let uploads_dir = root.join("platform-uploads");
    let upload_paths = set.write_uploads(&uploads_dir).map_err(DemoError::from)?;
    let mp: Vec<f64> = set
        .originals
        .iter()
        .map(|o| f64::from(o.pixels.width()) * f64::from(o.pixels.height()) / 1e6)
        .collect();
    let (lo, hi) = mp
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    steps.say(
        "photos",
        &format!(
            "made {} sample photos ({lo:.1}–{hi:.1} MP) and an upload folder of {} files: {} re-uploads of them, {} unrelated",
            set.originals.len(),
            set.uploads.len(),
            set.copies(),
            set.uploads.len() - set.copies()
        ),
        t.elapsed(),
    );

    // The teen: eligibility, hashing, submitting.
    let t = Instant::now();
    let answers = teen::ANSWERS;
    let e = teen::check_eligibility(&answers);
    check(e.eligible, || format!("not eligible: {:?}", e.reasons))?;
    steps.say(
        "teen",
        "answers the two questions (under 18 then, the person shown): eligible",
        t.elapsed(),
    );

    let t = Instant::now();
    let files: Vec<Vec<u8>> = set.originals.iter().map(|o| o.jpeg.clone()).collect();
    let fingerprints = tokio::task::spawn_blocking(move || teen::hash_photos(&files))
        .await
        .map_err(|_| DemoError("hashing failed".into()))??;
    let qualities: Vec<String> = fingerprints
        .iter()
        .map(|f| f.quality.map_or("-".into(), |q| q.get().to_string()))
        .collect();
    steps.say(
        "teen",
        &format!(
            "picks {} photos; the phone computes PDQ, MD5 and SHA-256 of each, and the PDQ of each with its top and its bottom 20 % cut off (PDQ quality {})",
            fingerprints.len(),
            qualities.join(", ")
        ),
        t.elapsed(),
    );

    let t = Instant::now();
    let phone = Phone::open(&root.join("phone-data"), &service.url)?;
    let case = phone.submit(&answers, &fingerprints).await?;
    steps.say(
        "teen",
        &format!(
            "submits the fingerprints: case number {} ({} items on the list)",
            case.case_number,
            case.service_item_ids.len()
        ),
        t.elapsed(),
    );
    // The teen's status names the case's own item numbers (1, 2, … in the
    // order the photos were submitted); platforms name global item ids, which
    // a submitter never sees (ADR 0110).
    let photo_of: HashMap<i64, usize> = case
        .service_item_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();

    // The platform: register, sync, scan, take down, feedback.
    let t = Instant::now();
    let key = service.register_platform("demo-platform").await?;
    let mut platform = Platform::open(&root.join("platform-data"), &service.url, &key)?;
    drop(key);
    steps.say(
        "platform",
        "is registered by the service's operator and gets an API key (kept secret, not shown)",
        t.elapsed(),
    );

    let t = Instant::now();
    let r = platform.sync().await?;
    check(platform.listed() == case.service_item_ids.len(), || {
        format!(
            "the platform's list has {} items, expected {}",
            platform.listed(),
            case.service_item_ids.len()
        )
    })?;
    // A hit names a global id: the demo finds which photo it is by the
    // fingerprint on the platform's list, which it knows for each photo.
    let photo_of_hit: HashMap<i64, usize> = platform
        .listed_md5s()?
        .into_iter()
        .filter_map(|(id, md5)| {
            let photo = fingerprints.iter().position(|f| f.md5.0 == md5)?;
            Some((id, photo))
        })
        .collect();
    check(photo_of_hit.len() == fingerprints.len(), || {
        format!(
            "{} of {} photos found on the platform's list by fingerprint",
            photo_of_hit.len(),
            fingerprints.len()
        )
    })?;
    steps.say(
        "platform",
        &format!(
            "syncs the list: {} new entries (cursor {}), {} items in its index ({} PDQ hashes with the edge cuts)",
            r.added,
            r.cursor,
            platform.listed(),
            platform.indexed_hashes()
        ),
        t.elapsed(),
    );

    let t = Instant::now();
    let dir = uploads_dir.clone();
    let results = scan_blocking(platform, dir).await?;
    let (scanned, mut platform) = results;
    let mut found: Vec<(usize, i64)> = Vec::new(); // (upload index, item id)
    let (mut wrong_item, mut flagged, mut missed) = (0, 0, 0);
    let mut lines = Vec::new();
    for (path, res) in &scanned {
        let Some(i) = upload_paths.iter().position(|p| p == path) else {
            continue;
        };
        let up = &set.uploads[i];
        match (res.hits.first(), up.copy_of) {
            (Some(hit), Some((orig, kind))) => {
                let how = match hit.hash {
                    HashKind::Pdq => format!(
                        "PDQ distance {}, variant {}",
                        hit.distance,
                        hit.variant.as_deref().unwrap_or("original")
                    ),
                    other => format!("{other:?} exact copy"),
                };
                let right = res.hits.len() == 1 && photo_of_hit.get(&hit.item_id) == Some(&orig);
                lines.push(format!(
                    "{}  {:<28} -> photo {} ({how}){}",
                    up.name,
                    kind.describe(),
                    photo_of_hit.get(&hit.item_id).map_or(0, |p| p + 1),
                    if right { "" } else { "  WRONG ITEM" }
                ));
                if right {
                    found.push((i, hit.item_id));
                } else {
                    wrong_item += 1;
                }
            }
            (None, Some((_, kind))) => {
                missed += 1;
                lines.push(format!("{}  {:<28} -> not found", up.name, kind.describe()));
            }
            (Some(_), None) => {
                flagged += 1;
                lines.push(format!("{}  unrelated photo  -> FALSE MATCH", up.name));
            }
            (None, None) => {}
        }
    }
    let unrelated = set.uploads.len() - set.copies();
    steps.say(
        "platform",
        &format!(
            "scans its {} uploads (rotations, mirrors, borders and caption bars tried too): {} of {} re-uploads found, {flagged} of {unrelated} unrelated photos flagged",
            scanned.len(),
            found.len(),
            set.copies(),
        ),
        t.elapsed(),
    );
    for l in &lines {
        steps.detail(l);
    }
    check(missed == 0 && wrong_item == 0 && flagged == 0, || {
        format!(
            "{missed} re-uploads missed, {wrong_item} matched the wrong item, {flagged} unrelated photos flagged"
        )
    })?;

    let t = Instant::now();
    let taken_down = uploads_dir.join("taken-down");
    std::fs::create_dir_all(&taken_down).map_err(DemoError::from)?;
    for (i, item) in &found {
        let from = &upload_paths[*i];
        let to = taken_down.join(&set.uploads[*i].name);
        std::fs::rename(from, to).map_err(DemoError::from)?;
        platform.feedback(*item, Outcome::Matched)?;
        platform.feedback(*item, Outcome::Removed)?;
    }
    let fr = platform.flush_feedback().await?;
    check(fr.pending == 0 && fr.rejected == 0, || {
        format!(
            "feedback not confirmed: {} pending, {} refused",
            fr.pending, fr.rejected
        )
    })?;
    steps.say(
        "platform",
        &format!(
            "takes the {} copies down and reports it: {} feedback events (matched, removed) confirmed by the service",
            found.len(),
            fr.confirmed
        ),
        t.elapsed(),
    );

    let t = Instant::now();
    let r = platform.sync().await?;
    steps.say(
        "platform",
        &format!(
            "runs its routine sync: {} changes; the service now knows this platform holds the whole list",
            r.added + r.withdrawn
        ),
        t.elapsed(),
    );

    // The teen again: status, then withdrawal.
    let t = Instant::now();
    let status = phone.status(case.case_id).await?;
    let per_photo: BTreeMap<usize, (u32, u32)> = status
        .items
        .iter()
        .filter_map(|it| {
            photo_of
                .get(&it.service_item_id)
                .map(|p| (*p, (it.matches, it.removals)))
        })
        .collect();
    steps.say(
        "teen",
        &format!(
            "opens the case's status: {} photos found and {} removed by platforms; {} platform(s) hold every photo of the case",
            status.totals.matches, status.totals.removals, status.totals.platforms_synced_all
        ),
        t.elapsed(),
    );
    for (p, (m, r)) in &per_photo {
        steps.detail(&format!(
            "photo {}: found on {m} platform(s), removed on {r}",
            p + 1
        ));
    }
    // One platform counts once per photo and outcome (ADR 0109), however many
    // copies of the photo it found.
    let photos_found = found
        .iter()
        .map(|(_, item)| *item)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    check(
        status.totals.matches as usize == photos_found
            && status.totals.removals as usize == photos_found
            && status.totals.platforms_synced_all == 1,
        || {
            format!(
                "status shows {} matches, {} removals and {} platforms synced, expected {}, {} and 1",
                status.totals.matches,
                status.totals.removals,
                status.totals.platforms_synced_all,
                photos_found,
                photos_found
            )
        },
    )?;

    let t = Instant::now();
    phone.withdraw(case.case_id).await?;
    steps.say(
        "teen",
        "withdraws the case (the service tells platforms at their next sync)",
        t.elapsed(),
    );

    let t = Instant::now();
    let r = platform.sync().await?;
    check(platform.listed() == 0, || {
        format!(
            "{} items still listed after the withdrawal",
            platform.listed()
        )
    })?;
    steps.say(
        "platform",
        &format!(
            "syncs: {} withdrawals applied; its index is empty",
            r.withdrawn
        ),
        t.elapsed(),
    );

    let t = Instant::now();
    let (scanned, _platform) = scan_blocking(platform, uploads_dir.clone()).await?;
    let still: usize = scanned.iter().filter(|(_, r)| !r.hits.is_empty()).count();
    steps.say(
        "platform",
        &format!(
            "scans the same {} files again (taken-down copies included): {still} match",
            scanned.len()
        ),
        t.elapsed(),
    );
    check(still == 0, || {
        format!("{still} files still match after the withdrawal")
    })?;

    service.stop().await;
    println!(
        "\nDemo finished in {}: found, removed, reported and withdrawn, all checks passed.",
        fmt_ms(steps.started.elapsed())
    );
    match &work {
        Workdir::Kept(p) => println!("The demo's files are in {}.", p.display()),
        Workdir::Temp(_) => {
            println!("Its temporary files are deleted now (keep them with --keep DIR).")
        }
    }
    Ok(())
}

type Scanned = Vec<(PathBuf, takedown_platform::scan::FileResult)>;

/// Scans `dir` on a blocking thread (decoding and hashing are CPU work).
async fn scan_blocking(platform: Platform, dir: PathBuf) -> Result<(Scanned, Platform)> {
    tokio::task::spawn_blocking(move || {
        let r = platform.scan(&dir);
        (r, platform)
    })
    .await
    .map_err(|_| DemoError("the scan failed".into()))
}
