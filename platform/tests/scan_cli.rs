//! The commands end to end against the real service: sync, `match` over a
//! directory of re-uploads and unrelated pictures (JSON lines, exit status),
//! feedback through the binary, withdrawal, and the same scan finding nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::pictures::{bordered, jpeg, photo};
use support::{Service, http};
use takedown_fingerprint as fingerprint;
use takedown_platform::cli::{
    self, DataArgs, EXIT_ERROR, EXIT_MATCH, EXIT_NO_MATCH, MatchArgs, ServiceArgs, SyncArgs,
};

fn item_json(bytes: &[u8]) -> Value {
    let fp = fingerprint::hashing::fingerprint_image_bytes(
        bytes,
        &fingerprint::media::DecodeOptions::default(),
    )
    .unwrap();
    json!({"image": {"md5": fp.exact.md5, "sha256": fp.exact.sha256,
                     "pdq": fp.pdq.hash.to_hex(), "quality": fp.pdq.quality}})
}

fn sync(data: &Path, url: &str, key: &str) {
    cli::run_sync(&SyncArgs {
        data: DataArgs {
            data_dir: data.to_path_buf(),
        },
        service: ServiceArgs {
            service_url: Some(url.to_string()),
            api_key: Some(key.to_string()),
            timeout_secs: 10,
        },
        run_loop: false,
        interval: 1,
        page_size: 2,
    })
    .unwrap();
}

fn scan(data: &Path, paths: &[PathBuf]) -> (u8, Vec<Value>) {
    let mut out = Vec::new();
    let code = cli::run_match(
        &MatchArgs {
            data: DataArgs {
                data_dir: data.to_path_buf(),
            },
            paths: paths.to_vec(),
            no_expand: false,
            no_video: true,
            jobs: Some(2),
            quiet: true,
        },
        &mut out,
    )
    .unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, lines)
}

#[test]
fn sync_scan_feedback_withdraw_rescan() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let svc = rt.block_on(Service::start());
    let key = rt.block_on(svc.platform_key("platform-a"));
    let originals: Vec<_> = (0..3u64).map(|s| photo(s + 50, 640, 480)).collect();
    let listed: Vec<Vec<u8>> = originals.iter().map(|p| jpeg(p, 92)).collect();
    let (number, token, ids) =
        rt.block_on(svc.create_case(listed.iter().map(|b| item_json(b)).collect()));

    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let uploads = work.path().join("uploads");
    let unrelated = uploads.join("unrelated");
    std::fs::create_dir_all(&unrelated).unwrap();
    let w = |name: &Path, bytes: &[u8]| std::fs::write(name, bytes).unwrap();
    w(
        &uploads.join("a-rotated.jpg"),
        &jpeg(&image::imageops::rotate90(&originals[0]), 80),
    );
    w(
        &uploads.join("b-letterboxed.jpg"),
        &jpeg(&bordered(&originals[1], 120, 0, [0, 0, 0]), 80),
    );
    w(&uploads.join("c-copy.jpg"), &listed[2]);
    for s in 0..5u64 {
        w(
            &unrelated.join(format!("u{s}.jpg")),
            &jpeg(&photo(900 + s, 640, 480), 85),
        );
    }
    w(&unrelated.join("notes.txt"), b"just text");

    // Scanning before any sync is refused with a clear message.
    let err = cli::run_match(
        &MatchArgs {
            data: DataArgs {
                data_dir: data.clone(),
            },
            paths: vec![uploads.clone()],
            no_expand: false,
            no_video: true,
            jobs: None,
            quiet: true,
        },
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("sync"), "{err}");

    sync(&data, &svc.url, &key);
    let (code, lines) = scan(&data, std::slice::from_ref(&uploads));
    assert_eq!(code, EXIT_MATCH, "{lines:?}");
    let mut found: Vec<(String, i64, String, Option<String>)> = lines
        .iter()
        .map(|l| {
            let name = Path::new(l["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                name,
                l["item_id"].as_i64().unwrap(),
                l["hash"].as_str().unwrap().to_string(),
                l["variant"].as_str().map(str::to_string),
            )
        })
        .collect();
    found.sort();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("a-rotated.jpg", ids[0]));
    assert_eq!(found[0].2, "pdq");
    assert_ne!(found[0].3.as_deref(), Some("original"));
    // PDQ lines name the listed hash that matched; exact ones do not.
    for l in &lines {
        let listed = l.get("listed").and_then(Value::as_str);
        match l["hash"].as_str() {
            Some("pdq") => assert_eq!(listed, Some("picture"), "{l}"),
            _ => assert_eq!(listed, None, "{l}"),
        }
    }
    assert_eq!(
        (found[1].0.as_str(), found[1].1),
        ("b-letterboxed.jpg", ids[1])
    );
    assert!(found[1].3.as_deref().unwrap().starts_with("trimmed"));
    assert_eq!(
        (found[2].0.as_str(), found[2].1, found[2].2.as_str()),
        ("c-copy.jpg", ids[2], "sha256")
    );
    for l in &lines {
        assert_eq!(l["kind"], "image");
        assert!(l["distance"].as_u64().unwrap() <= 31);
    }

    // Unrelated only: exit 0, no lines. A damaged picture: its own line, exit 2.
    let (code, lines) = scan(&data, std::slice::from_ref(&unrelated));
    assert_eq!((code, lines.len()), (EXIT_NO_MATCH, 0), "{lines:?}");
    let mut broken = listed[0].clone();
    broken.truncate(300);
    w(&unrelated.join("broken.jpg"), &broken);
    let (code, lines) = scan(&data, &[unrelated.clone(), work.path().join("missing")]);
    assert_eq!(code, EXIT_ERROR);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l["error"].is_string()));
    std::fs::remove_file(unrelated.join("broken.jpg")).unwrap();

    // The binary: same exit statuses; feedback with the key from the environment.
    let bin = env!("CARGO_BIN_EXE_takedown-platform");
    let run = |args: &[&str]| {
        Command::new(bin)
            .args(args)
            .env("TAKEDOWN_PLATFORM_DATA", &data)
            .env("TAKEDOWN_SERVICE_URL", &svc.url)
            .env("TAKEDOWN_API_KEY", &key)
            .output()
            .unwrap()
    };
    let o = run(&[
        "match",
        "--no-video",
        uploads.join("c-copy.jpg").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&["feedback", &ids[2].to_string(), "removed"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for out in [&o.stdout, &o.stderr] {
        assert!(!String::from_utf8_lossy(out).contains(&key));
    }
    let o = run(&["feedback", "--flush"]);
    assert!(o.status.success());
    let status = rt.block_on(svc.status(&number, &token));
    assert_eq!(status["items"][2]["removals"], 1, "{status}");

    // Withdrawn: after the next sync the same scan finds nothing.
    let r = rt.block_on(
        http()
            .post(format!("{}/v1/cases/{number}/withdraw", svc.url))
            .bearer_auth(&token)
            .send(),
    );
    assert!(r.unwrap().status().is_success());
    let o = run(&["sync"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, lines) = scan(&data, std::slice::from_ref(&uploads));
    assert_eq!((code, lines.len()), (EXIT_NO_MATCH, 0), "{lines:?}");
    let o = run(&["status"]);
    let st: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["list"]["withdrawn"], 3);
}
