//! Round trip with python-threatexchange: submit fingerprints, export the list
//! in `local_file` format, `threatexchange fetch`, and `threatexchange match
//! photo` must find a re-encoded copy of a submitted picture (and nothing for
//! an unrelated one). Needs the venv from `.ci/run` (TAKEDOWN_VENV, default
//! /opt/takedown-venv); skips without it unless CI=true.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

both_backends!(threatexchange_matches_a_reencoded_copy_from_the_export);

fn venv(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("TAKEDOWN_VENV").unwrap_or_else(|_| "/opt/takedown-venv".to_string()),
    );
    if dir.join("bin/threatexchange").is_file() && dir.join("bin/python").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CI=true but no python-threatexchange venv at {}",
            dir.display()
        );
    }
    skip(
        test,
        &format!(
            "no python-threatexchange venv at {} (set TAKEDOWN_VENV; .ci/run creates it)",
            dir.display()
        ),
    );
    None
}

fn run(venv: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new(venv.join("bin/threatexchange"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .expect("run threatexchange");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "threatexchange {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn threatexchange_matches_a_reencoded_copy_from_the_export(b: Backend) {
    let test =
        format!("threatexchange_matches_a_reencoded_copy_from_the_export::{b:?}").to_lowercase();
    let Some(venv) = venv(&test) else { return };
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/te_images.py");
    let out = Command::new(venv.join("bin/python"))
        .arg(&script)
        .arg(dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = generated["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 6);

    // Submit through the API.
    let (_, _, _) = create_case(&s.http, items).await;
    let export = s
        .http
        .get("/v1/export/threatexchange", Some(&s.platform_key))
        .await;
    assert_eq!(export.status, 200);
    let text = export.text();
    assert_eq!(text.lines().count(), 6, "{text}");
    let list = dir.join("takedown-list.txt");
    std::fs::write(&list, &text).unwrap();

    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    run(
        &venv,
        &home,
        &[
            "config",
            "collab",
            "edit",
            "local_file",
            "--create",
            "--filename",
            list.to_str().unwrap(),
            "takedown",
        ],
    );
    run(&venv, &home, &["fetch"]);
    let hit = run(
        &venv,
        &home,
        &["match", "photo", dir.join("copy.jpg").to_str().unwrap()],
    );
    assert!(
        hit.lines()
            .any(|l| l.starts_with("pdq ") && l.contains("(takedown)")),
        "no match for the re-encoded copy: {hit:?}"
    );
    let miss = run(
        &venv,
        &home,
        &["match", "photo", dir.join("other.png").to_str().unwrap()],
    );
    assert!(
        !miss.contains("takedown"),
        "unrelated picture matched: {miss:?}"
    );
    s.stop().await;
}
