//! `takedown match|platform|demo` run the companion programs found beside `takedown`
//! or on the PATH, with the arguments untouched, and pass their exit status on.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// A copy of the real `takedown` in `dir`, so the companions beside it are ours.
fn takedown_in(dir: &Path) -> std::path::PathBuf {
    let exe = dir.join("takedown");
    std::fs::copy(env!("CARGO_BIN_EXE_takedown"), &exe).unwrap();
    exe
}

/// A companion program that records its arguments and exits with `code`.
fn companion(dir: &Path, name: &str, code: i32) {
    let path = dir.join(name);
    let log = dir.join(format!("{name}.args"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\nexit {code}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn args_seen(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{name}.args")))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn match_platform_and_demo_forward_their_arguments_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let exe = takedown_in(dir.path());
    companion(dir.path(), "takedown-platform", 1);
    companion(dir.path(), "takedown-demo", 0);

    let s = Command::new(&exe)
        .args(["match", "--json", "a b.jpg", "--help"])
        .env("PATH", "")
        .status()
        .unwrap();
    assert_eq!(
        s.code(),
        Some(1),
        "the companion's exit status is passed on"
    );
    assert_eq!(
        args_seen(dir.path(), "takedown-platform"),
        ["match", "--json", "a b.jpg", "--help"]
    );

    let s = Command::new(&exe)
        .args(["platform", "sync", "--loop"])
        .env("PATH", "")
        .status()
        .unwrap();
    assert_eq!(s.code(), Some(1));
    assert_eq!(
        args_seen(dir.path(), "takedown-platform"),
        ["sync", "--loop"]
    );

    let s = Command::new(&exe)
        .args(["demo"])
        .env("PATH", "")
        .status()
        .unwrap();
    assert_eq!(s.code(), Some(0));
    assert!(args_seen(dir.path(), "takedown-demo").is_empty());
}

#[test]
fn a_missing_companion_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let exe = takedown_in(dir.path());
    let out = Command::new(&exe)
        .args(["match", "x.jpg"])
        .env("PATH", dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("takedown-platform"), "{err}");
    assert!(
        err.contains("cargo build --release -p takedown-platform"),
        "{err}"
    );
}
