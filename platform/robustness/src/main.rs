//! `takedown-robustness`: prints the robustness table of the platform kit's
//! matching (see the crate docs and `docs/adr/0407-robustness-results.md`).
//!
//! ```sh
//! cargo run --release -p takedown-robustness -- [--originals 60] [--unrelated 300]
//!     [--seed 1] [--crops 0.9] [--small] [--crop-sweep 2,3,4,5,6,8,10]
//!     [--no-edge-cuts] [--caption-sweep 8,12,18] [--no-cost]
//! ```
//!
//! The originals are listed as the phone lists them: PDQ and the two edge cuts
//! (ADR 0410), with `bar-cut-20` among the query variants. `--no-edge-cuts`
//! measures the list and expansion as they were before (PDQ only, no `bar-cut-20`).

use std::process::ExitCode;
use std::time::Instant;

use takedown_robustness::measure::{Config, caption_sweep, crop_sweep, expansion_cost, pct, run};
use takedown_robustness::photos::SizeRange;

fn usage() -> ExitCode {
    eprintln!(
        "usage: takedown-robustness [--originals N] [--unrelated N] [--seed N] [--crops K,K…] [--small] [--crop-sweep P,P…] [--no-edge-cuts] [--caption-sweep P,P…] [--no-cost]"
    );
    ExitCode::from(2)
}

/// A comma-separated list argument whose every value passes `ok`.
fn list<T: std::str::FromStr>(arg: Option<String>, ok: impl Fn(&T) -> bool) -> Option<Vec<T>> {
    let v: Vec<T> = arg?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    v.iter().all(ok).then_some(v)
}

fn main() -> ExitCode {
    let mut cfg = Config::default();
    let mut sweep: Vec<u32> = Vec::new();
    let mut captions: Vec<u32> = Vec::new();
    let mut cost = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> Option<u64> {
            let v = args.next()?.parse().ok();
            if v.is_none() {
                eprintln!("{what} needs a number");
            }
            v
        };
        match a.as_str() {
            "--originals" => match num("--originals") {
                Some(n) => cfg.originals = n as usize,
                None => return usage(),
            },
            "--unrelated" => match num("--unrelated") {
                Some(n) => cfg.unrelated = n as usize,
                None => return usage(),
            },
            "--seed" => match num("--seed") {
                Some(n) => cfg.seed = n,
                None => return usage(),
            },
            "--small" => cfg.sizes = SizeRange::SMALL,
            "--no-cost" => cost = false,
            "--no-edge-cuts" => cfg.edge_cuts = false,
            "--caption-sweep" => match list::<u32>(args.next(), |p| (1..=40).contains(p)) {
                Some(v) => captions = v,
                None => return usage(),
            },
            "--crop-sweep" => match list::<u32>(args.next(), |p| (1..=30).contains(p)) {
                Some(v) => sweep = v,
                None => return usage(),
            },
            "--crops" => match list::<f64>(args.next(), |k| *k > 0.3 && *k < 1.0) {
                Some(v) => cfg.enrol_crops = v,
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    println!(
        "Robustness: {} originals ({:.1}–{:.1} MP JPEG), {} transforms each, {} unrelated photos, seed {}, enrolled central crops {:?}, edge cuts {}",
        cfg.originals,
        cfg.sizes.min_mp,
        cfg.sizes.max_mp,
        cfg.transforms.len(),
        cfg.unrelated,
        cfg.seed,
        cfg.enrol_crops,
        if cfg.edge_cuts {
            "listed (top and bottom 20 %) with bar-cut-20"
        } else {
            "off (PDQ only, no bar-cut-20)"
        }
    );
    let t = Instant::now();
    let report = run(&cfg);
    println!("{}", report.table());
    println!("Measured in {:.1} s.", t.elapsed().as_secs_f64());
    if cost {
        let c = expansion_cost(&cfg, cfg.originals.min(8));
        println!(
            "Query variants, computed (decoding excluded, one thread, {} pictures: originals and captioned copies): \
             {:.1} per picture in {:.1} ms without bar-filled/bar-cut/uncrop, {:.1} in {:.1} ms with them; \
             bar-cut-20 adds {:.1} ms to a captioned copy.",
            c.pictures, c.variants_base, c.ms_base, c.variants_all, c.ms_all, c.ms_bar_cut
        );
    }
    if !captions.is_empty() {
        println!(
            "\nCaption-bar recall by bar height ({} originals, expansion on, edge cuts {}):\n",
            cfg.originals,
            if cfg.edge_cuts { "listed" } else { "off" }
        );
        println!(
            "| black bar | copies | matched | of which through an edge cut | copies hitting another item |"
        );
        println!("|---|---|---|---|---|");
        for r in caption_sweep(&cfg, &captions) {
            println!(
                "| {} % {} | {} | {} | {} | {} |",
                r.pct,
                if r.top { "top" } else { "bottom" },
                r.n,
                pct(r.on, r.n),
                r.via_cut,
                r.wrong
            );
        }
        println!();
    }
    if !sweep.is_empty() {
        println!(
            "\nCrop recall by the share cut from each side ({} originals, no enrolled crops):\n",
            cfg.originals
        );
        println!(
            "| cut per side | copies | expansion off | on without uncrop-* | on | copies hitting another item (on) |"
        );
        println!("|---|---|---|---|---|---|");
        for r in crop_sweep(&cfg, &sweep) {
            println!(
                "| {} % | {} | {} | {} | {} | {} |",
                r.pct,
                r.n,
                pct(r.off, r.n),
                pct(r.on_without_uncrop, r.n),
                pct(r.on, r.n),
                r.wrong
            );
        }
        println!();
    }
    let missed = report.missed_goals();
    if missed.is_empty() {
        println!("All goals of issue 12 met (expansion on, default threshold).");
        ExitCode::SUCCESS
    } else {
        println!("Goals missed (expansion on):");
        for m in &missed {
            println!("  - {m}");
        }
        ExitCode::from(1)
    }
}
