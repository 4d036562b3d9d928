//! Runs the `takedown-demo` binary as a user would and checks what it prints and
//! its exit status.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_takedown-demo"))
        .args(args)
        .output()
        .expect("start takedown-demo");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_runs_every_step_and_says_so() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("files");
    let (code, out, err) = run(&[
        "--photos",
        "3",
        "--copies",
        "5",
        "--unrelated",
        "6",
        "--keep",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "service   started on http://127.0.0.1:",
        "teen      answers the two questions (under 18 then, the person shown): eligible",
        "the phone computes PDQ, MD5 and SHA-256 of each",
        "submits the fingerprints: case number TD-",
        "(kept secret, not shown)",
        "syncs the list: 3 new entries (cursor 3), 3 items in its index",
        "15 of 15 re-uploads found, 0 of 6 unrelated photos flagged",
        "rotated 90°",
        "mirrored",
        "letterboxed (black bars)",
        "resized to 320 px",
        "re-encoded (JPEG quality 50)",
        "takes the 15 copies down and reports it: 30 feedback events (matched, removed) confirmed",
        "3 photos found and 3 removed by platforms; 1 platform(s) hold every photo of the case",
        "found on 1 platform(s), removed on 1",
        "withdraws the case",
        "syncs: 3 withdrawals applied; its index is empty",
        "scans the same 21 files again (taken-down copies included): 0 match",
        "all checks passed",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // Every step has a timing.
    let steps: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.trim_start()
                .split('.')
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .collect();
    assert!(steps.len() >= 13, "{out}");
    assert!(
        steps
            .iter()
            .all(|l| l.ends_with(" ms)") || l.ends_with(" s)")),
        "{out}"
    );
    // No secrets: the platform API key (`tdk_…`) and the case token (`tdc_…`) never appear.
    assert!(!out.contains("tdk_") && !out.contains("tdc_"), "{out}");
    // --keep leaves the files where asked.
    assert_eq!(
        std::fs::read_dir(dir.join("phone-camera-roll"))
            .unwrap()
            .count(),
        3
    );
    assert_eq!(
        std::fs::read_dir(dir.join("platform-uploads").join("taken-down"))
            .unwrap()
            .count(),
        15
    );
}

#[test]
fn bad_arguments_are_refused_with_status_2() {
    let (code, _, err) = run(&["--photos", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--photos"), "{err}");
}
