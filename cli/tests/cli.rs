//! The `takedown` binary, run for real.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_takedown"))
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images")
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn hash_json_one_object_per_file_and_errors_do_not_stop_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fixtures().join("scene.jpg"), d.join("a.jpg")).unwrap();
    std::fs::copy(fixtures().join("scene-320x240.png"), d.join("b.png")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::copy(fixtures().join("scene.webp"), d.join("sub/c.webp")).unwrap();
    std::fs::write(d.join("empty.jpg"), b"").unwrap();
    std::fs::write(d.join("notes.jpg"), b"just text").unwrap();
    let jpg = std::fs::read(fixtures().join("scene.jpg")).unwrap();
    std::fs::write(d.join("truncated.jpg"), &jpg[..300]).unwrap();
    let missing = d.join("missing.png");

    let out = bin()
        .arg("hash")
        .arg("--json")
        .arg(d)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed file makes the exit status 1"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    let ok: Vec<&Value> = lines.iter().filter(|v| v.get("error").is_none()).collect();
    let bad: Vec<&Value> = lines.iter().filter(|v| v.get("error").is_some()).collect();
    assert_eq!(ok.len(), 3);
    assert_eq!(bad.len(), 4);
    for v in &ok {
        assert_eq!(v["kind"], "image");
        assert!(is_hex(v["pdq"].as_str().unwrap(), 64));
        assert!(is_hex(v["md5"].as_str().unwrap(), 32));
        assert!(is_hex(v["sha256"].as_str().unwrap(), 64));
        assert!(v["quality"].as_u64().unwrap() <= 100);
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(320), Some(240))
        );
        assert_eq!(v["pdq_dihedral"].as_object().unwrap().len(), 8);
        // The picture with its top and its bottom 20 % cut off (ADR 0410).
        let cuts = v["edge_cuts"].as_object().unwrap();
        let mut keys: Vec<&str> = cuts.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["bottom_20", "top_20"]);
        for c in cuts.values() {
            assert!(is_hex(c["pdq"].as_str().unwrap(), 64));
            assert_ne!(c["pdq"], v["pdq"]);
        }
    }
    for v in &bad {
        let msg = v["error"].as_str().unwrap();
        assert!(!msg.is_empty() && !msg.contains('\n'));
        assert!(v["path"].as_str().is_some());
    }
    let err_of = |name: &str| {
        bad.iter()
            .find(|v| v["path"].as_str().unwrap().ends_with(name))
            .map(|v| v["error"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no error line for {name}"))
    };
    assert!(err_of("empty.jpg").contains("empty"));
    assert!(err_of("notes.jpg").contains("not a supported image format"));
    assert!(err_of("truncated.jpg").contains("damaged or truncated"));
    assert!(err_of("missing.png").contains("no such file"));
}

#[test]
fn hash_text_mode_reports_errors_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.png"), b"nope").unwrap();
    let out = bin()
        .arg("hash")
        .arg(fixtures().join("scene.gif"))
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("scene.gif") && stdout.contains("pdq="),
        "{stdout}"
    );
    assert!(
        stderr.contains("x.png: not a supported image format"),
        "{stderr}"
    );
}

#[test]
fn hash_success_exits_zero_and_matches_the_library() {
    let out = bin()
        .args(["hash", "--json"])
        .arg(fixtures().join("scene-320x240.png"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lib = takedown_fingerprint::hashing::fingerprint_image_file(
        &fixtures().join("scene-320x240.png"),
        &takedown_fingerprint::media::DecodeOptions::default(),
    )
    .unwrap();
    assert_eq!(v["pdq"], lib.pdq.hash.to_hex());
    assert_eq!(v["sha256"], lib.exact.sha256);
}

#[test]
fn compare_files_and_hashes() {
    // The sideways-stored copy with EXIF orientation is upright once decoded: a match.
    let out = bin()
        .args(["compare", "--json"])
        .arg(fixtures().join("scene.jpg"))
        .arg(fixtures().join("scene-exif6.jpg"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["match"], true, "{v}");
    assert!(v["distance"].as_u64().unwrap() <= 31);

    // A different picture does not match.
    let out = bin()
        .args(["compare"])
        .arg(fixtures().join("scene.jpg"))
        .arg(fixtures().join("scene-127x97.png"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no match"), "{text}");

    let h = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let h2 = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23";
    let out = bin().args(["compare", h, h2]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("distance 1 of 256"));
    let out = bin().args(["compare", "zz", h]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}
