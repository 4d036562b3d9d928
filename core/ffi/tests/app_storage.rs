//! The history at rest: wrong or missing key, damaged, foreign and newer files
//! (clear errors, nothing overwritten), the upgrade of a committed schema-1
//! history, and "delete everything".

mod app_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app_support::{Phone, PhoneFfi, Service};
use takedown_app::crypto::Sealer;
use takedown_app::db::{Db, LATEST_VERSION};
use takedown_app::history::{CaseState, HistoryItemState};
use takedown_app::{
    App, Error, FileKeyStore, KEY_CHECK_PLAINTEXT, KEY_CHECK_PURPOSE, NetworkOptions,
};
use takedown_core::{Takedown, TakedownError};

/// The key of the committed schema-1 fixture.
const FIXTURE_KEY: [u8; 32] = [0x42; 32];
const FIXTURE_LABEL: &str = "school trip (v1 fixture)";

fn fixture_v1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app/history-v1.sqlite3")
}

fn open(phone: &Phone) -> Result<App, Error> {
    App::open(
        &phone.data_dir(),
        "http://127.0.0.1:9",
        Arc::new(FileKeyStore::new(phone.key_path())),
        NetworkOptions::default(),
    )
}

fn snapshot(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// A history with one case queued (so it holds sealed data).
fn populated(phone: &Phone) {
    let app = open(phone).unwrap();
    let f = takedown_app::selection::hash_selection(
        vec![takedown_app::selection::SelectionInput::ImageBytes(
            app_support::photo_png(1, 128, 96),
        )],
        &|_, _| {},
        &Default::default(),
    )
    .unwrap()[0]
        .fingerprint
        .clone()
        .unwrap();
    app.enqueue_case(
        &takedown_app::eligibility::EligibilityAnswers {
            age_when_made: takedown_app::eligibility::AgeWhenMade::Under18,
            submitter: takedown_app::eligibility::SubmitterRole::PersonShown,
        },
        &[takedown_app::outbox::SubmitItem {
            fingerprint: f,
            label: Some("mine".into()),
        }],
    )
    .unwrap();
    drop(app);
    // Fold the WAL into the file so byte comparisons see everything.
    let c = rusqlite::Connection::open(phone.history_path()).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
}

#[test]
fn a_wrong_key_is_a_clear_error_and_changes_nothing() {
    let phone = Phone::new();
    populated(&phone);
    let before = snapshot(&phone.history_path());
    std::fs::write(phone.key_path(), [7u8; 32]).unwrap();
    assert!(matches!(open(&phone), Err(Error::WrongKey)));
    assert_eq!(snapshot(&phone.history_path()), before);
    // Through the FFI: the public error.
    let r = Takedown::open(
        phone.data_dir().display().to_string(),
        "http://127.0.0.1:9".into(),
        phone.key_provider(),
    );
    assert!(matches!(r, Err(TakedownError::WrongKey)));
    // A key of the wrong length.
    std::fs::write(phone.key_path(), [7u8; 5]).unwrap();
    assert!(matches!(open(&phone), Err(Error::KeyProvider(_))));
    assert_eq!(snapshot(&phone.history_path()), before);
}

#[test]
fn a_missing_key_is_a_clear_error_and_no_new_key_is_made() {
    let phone = Phone::new();
    populated(&phone);
    let before = snapshot(&phone.history_path());
    std::fs::remove_file(phone.key_path()).unwrap();
    assert!(matches!(open(&phone), Err(Error::KeyMissing)));
    assert!(!phone.key_path().exists(), "no key was generated over it");
    assert_eq!(snapshot(&phone.history_path()), before);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_untouched() {
    let phone = Phone::new();
    std::fs::create_dir_all(phone.data_dir()).unwrap();
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(phone.history_path(), &garbage).unwrap();
    assert!(matches!(open(&phone), Err(Error::Corrupt)));
    assert_eq!(snapshot(&phone.history_path()), garbage);
    assert!(!phone.key_path().exists(), "no key made for a refused file");
    let r = Takedown::open(
        phone.data_dir().display().to_string(),
        "http://127.0.0.1:9".into(),
        phone.key_provider(),
    );
    match r {
        Err(TakedownError::Storage { reason }) => assert!(reason.contains("damaged"), "{reason}"),
        Err(e) => panic!("expected Storage, got {e:?}"),
        Ok(_) => panic!("expected Storage, got an object"),
    }
}

#[test]
fn a_damaged_database_is_refused_untouched() {
    let phone = Phone::new();
    populated(&phone);
    let mut bytes = snapshot(&phone.history_path());
    assert!(bytes.len() >= 4096 * 3, "several pages");
    // Trash the second page onward (the schema's tables), keep the header.
    for b in &mut bytes[4096..] {
        *b = 0xA5;
    }
    std::fs::write(phone.history_path(), &bytes).unwrap();
    let r = open(&phone);
    assert!(
        matches!(r, Err(Error::Corrupt) | Err(Error::Storage(_))),
        "{:?}",
        r.err()
    );
    assert_eq!(snapshot(&phone.history_path()), bytes);
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let phone = Phone::new();
    std::fs::create_dir_all(phone.data_dir()).unwrap();
    {
        let c = rusqlite::Connection::open(phone.history_path()).unwrap();
        c.execute_batch("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('keep me');")
            .unwrap();
    }
    let before = snapshot(&phone.history_path());
    assert!(matches!(open(&phone), Err(Error::Foreign)));
    assert_eq!(snapshot(&phone.history_path()), before);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let phone = Phone::new();
    populated(&phone);
    {
        let c = rusqlite::Connection::open(phone.history_path()).unwrap();
        c.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .unwrap();
    }
    let before = snapshot(&phone.history_path());
    match open(&phone) {
        Err(Error::TooNew { found, known }) => {
            assert_eq!((found, known), (LATEST_VERSION + 1, LATEST_VERSION))
        }
        other => panic!("expected TooNew, got {:?}", other.err()),
    }
    assert_eq!(snapshot(&phone.history_path()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_schema_1_history_upgrades_and_its_queue_is_sent() {
    let svc = Service::start().await;
    let phone = Phone::new();
    std::fs::create_dir_all(phone.data_dir()).unwrap();
    std::fs::copy(fixture_v1(), phone.history_path()).unwrap();
    // The wrong key first: refused, the old file left exactly as it was.
    std::fs::write(phone.key_path(), [0x43; 32]).unwrap();
    assert!(matches!(open(&phone), Err(Error::WrongKey)));
    assert_eq!(snapshot(&phone.history_path()), snapshot(&fixture_v1()));
    std::fs::write(phone.key_path(), FIXTURE_KEY).unwrap();
    assert_eq!(
        schema_version(&phone.history_path()),
        1,
        "the fixture is schema 1"
    );
    let app = phone.open_app(&svc.url);
    assert_eq!(schema_version(&phone.history_path()), LATEST_VERSION);
    let cases = app.list_cases().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].state, CaseState::Pending);
    let items = app.list_items(None).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].label.as_deref(), Some(FIXTURE_LABEL));
    assert_eq!(items[1].label, None);
    // Its fingerprints were in the clear; now they are sealed (schema 4) and
    // still read back.
    assert_eq!(
        items[0].md5.map(|m| m.to_hex()).as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    assert_eq!(
        items[1].pdq.map(|p| p.to_hex()).as_deref(),
        Some("58d3429ecb3b1993d8c2f72e373119c34a1e633b191b89dea16e3721f423c4ec")
    );
    assert_eq!(items[1].quality.map(|q| q.get()), Some(100));
    let clear: Vec<Vec<u8>> = items
        .iter()
        .flat_map(|i| {
            [
                i.md5.unwrap().to_hex(),
                i.sha256.unwrap().to_hex(),
                i.pdq.unwrap().to_hex(),
            ]
        })
        .map(String::into_bytes)
        .collect();
    assert_eq!(needles_on_disk(&fixture_v1(), &clear).len(), clear.len());
    assert_eq!(
        needles_on_disk(&phone.history_path(), &clear),
        Vec::<String>::new()
    );
    // The queued creation written by schema 1 is sent, once.
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.pending), (1, 0));
    assert_eq!(svc.cases(), 1);
    assert_eq!(svc.items(), 2);
    let items = app.list_items(None).unwrap();
    assert!(items.iter().all(|i| i.state == HistoryItemState::Active));
    // Schema 2 features work on the upgraded file.
    let ch = app.refresh_status(cases[0].id).await.unwrap();
    assert!(ch.first_look);
    assert_eq!(ch.now.active_items, 2);
}

#[test]
fn delete_everything_wipes_history_and_key() {
    let phone = Phone::new();
    populated(&phone);
    let app = open(&phone).unwrap();
    assert_eq!(app.list_cases().unwrap().len(), 1);
    app.delete_everything().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = phone.history_path().into_os_string();
        p.push(suffix);
        assert!(!Path::new(&p).exists(), "{suffix} left behind");
    }
    assert!(!phone.key_path().exists());
    assert!(matches!(app.list_cases(), Err(Error::Closed)));
    drop(app);
    let app = open(&phone).unwrap();
    assert!(app.list_cases().unwrap().is_empty());
}

/// Writes `tests/fixtures/app/history-v1.sqlite3`: a schema-1 history as version 1
/// of the app left it (one queued case, two items, one label). Run with
/// `cargo test -p takedown-ffi --test app_storage -- --ignored make_v1_fixture`.
#[test]
#[ignore]
fn make_v1_fixture() {
    let out = fixture_v1();
    let _ = std::fs::remove_file(&out);
    let (db, v) = Db::open(&out).unwrap();
    assert_eq!(v, 0);
    db.migrate_to(1).unwrap();
    let s = Sealer::new(&FIXTURE_KEY).unwrap();
    let check = s.seal(KEY_CHECK_PURPOSE, KEY_CHECK_PLAINTEXT).unwrap();
    let label = s
        .seal_str(takedown_app::outbox::LABEL_PURPOSE, FIXTURE_LABEL)
        .unwrap();
    let md5 = [
        "0123456789abcdef0123456789abcdef",
        "fedcba9876543210fedcba9876543210",
    ];
    let sha = [
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
    ];
    let pdq = [
        "f66666769989933e67819c6647c3799887637e6199c66709c49c9863669c738c",
        "58d3429ecb3b1993d8c2f72e373119c34a1e633b191b89dea16e3721f423c4ec",
    ];
    let payload = serde_json::json!({
        "op": "create_case",
        "idempotency_key": "v1fixture0000000000000000000000000000000000000000",
        "attestations": {"person_shown_was_under_18": true, "submitter": "person_shown"},
        "item_ids": [1, 2],
        "items": [
            {"image": {"md5": md5[0], "sha256": sha[0], "pdq": pdq[0], "quality": 68}},
            {"image": {"md5": md5[1], "sha256": sha[1], "pdq": pdq[1], "quality": 100}},
        ],
    });
    let sealed = s
        .seal(
            takedown_app::outbox::PAYLOAD_PURPOSE,
            &serde_json::to_vec(&payload).unwrap(),
        )
        .unwrap();
    db.write(|tx| {
        tx.execute("INSERT INTO meta(name, value) VALUES ('key_check', ?1)", [&check])?;
        tx.execute(
            "INSERT INTO cases(id, submitter, state, created_at) VALUES (1, 'person_shown', 'pending', 1764000000)",
            [],
        )?;
        for i in 0..2 {
            tx.execute(
                "INSERT INTO items(id, case_id, kind, md5, sha256, pdq, quality, label, state, added_at)
                 VALUES (?1, 1, 'image', ?2, ?3, ?4, ?5, ?6, 'pending', 1764000000)",
                rusqlite::params![
                    i + 1,
                    md5[i as usize],
                    sha[i as usize],
                    pdq[i as usize],
                    [68, 100][i as usize],
                    if i == 0 { Some(label.clone()) } else { None }
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO outbox(case_id, op, payload, created_at) VALUES (1, 'create_case', ?1, 1764000000)",
            [&sealed],
        )?;
        Ok(())
    })
    .unwrap();
    db.write(|tx| {
        tx.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    })
    .ok();
    drop(db);
    let c = rusqlite::Connection::open(&out).unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    c.execute_batch("VACUUM;").unwrap();
}

fn fixture_v3() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app/history-v3.sqlite3")
}

/// The fingerprints of the committed schema-3 fixture (in the clear there).
const V3_MD5: [&str; 3] = [
    "3a1f0c9e5b7d2468ace013579bdf2468",
    "4b2e1dae6c8e3579bdf124680ace3579",
    "5c3f2ebf7d9f468ace0235791bdf468a",
];
const V3_SHA256: [&str; 3] = [
    "6d40a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f",
    "7e51b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f70",
    "8f62c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f7081",
];
/// PDQ of item 1 (image), of item 3 (image), and item 2's two vPDQ frames.
const V3_PDQ: [&str; 4] = [
    "f66666769989933e67819c6647c3799887637e6199c66709c49c9863669c738c",
    "58d3429ecb3b1993d8c2f72e373119c34a1e633b191b89dea16e3721f423c4ec",
    "9c738cf66666769989933e67819c6647c3799887637e6199c66709c49c986366",
    "c4ec58d3429ecb3b1993d8c2f72e373119c34a1e633b191b89dea16e3721f423",
];
const V3_LABEL: &str = "school trip (v3 fixture)";

/// Every form a fingerprint of the v3 fixture could take on disk.
fn v3_needles() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for h in V3_MD5.iter().chain(&V3_SHA256).chain(&V3_PDQ) {
        out.push(hex::decode(h).unwrap());
        out.push(h.as_bytes().to_vec());
        out.push(h.to_uppercase().into_bytes());
    }
    out
}

/// Which needles are in the history file, its WAL or a journal.
fn needles_on_disk(history: &Path, needles: &[Vec<u8>]) -> Vec<String> {
    let mut found = Vec::new();
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let mut p = history.as_os_str().to_owned();
        p.push(suffix);
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        for (i, n) in needles.iter().enumerate() {
            if bytes.windows(n.len()).any(|w| w == n.as_slice()) {
                found.push(format!("needle {i} ({} bytes) in history{suffix}", n.len()));
            }
        }
    }
    found
}

/// Schema 4 seals the fingerprints of an older history: the committed schema-3
/// fixture holds them in the clear; after the upgrade none of them (hex or raw)
/// is in the file or its WAL, the history still shows every one of them, and the
/// queued case is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_schema_3_history_has_its_fingerprints_sealed_on_upgrade() {
    let needles = v3_needles();
    let clear: Vec<Vec<u8>> = V3_MD5
        .iter()
        .chain(&V3_SHA256)
        .chain(&V3_PDQ)
        .map(|h| h.as_bytes().to_vec())
        .collect();
    assert_eq!(
        needles_on_disk(&fixture_v3(), &clear).len(),
        clear.len(),
        "the fixture holds every fingerprint in the clear (the test can fail)"
    );
    let svc = Service::start().await;
    let phone = Phone::new();
    std::fs::create_dir_all(phone.data_dir()).unwrap();
    std::fs::copy(fixture_v3(), phone.history_path()).unwrap();
    std::fs::write(phone.key_path(), FIXTURE_KEY).unwrap();
    assert_eq!(
        schema_version(&phone.history_path()),
        3,
        "the fixture is schema 3"
    );
    let app = phone.open_app(&svc.url);
    assert_eq!(schema_version(&phone.history_path()), LATEST_VERSION);
    let c = rusqlite::Connection::open(phone.history_path()).unwrap();
    let cols: Vec<String> = c
        .prepare("SELECT name FROM pragma_table_info('items')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for gone in ["md5", "sha256", "pdq", "quality", "frames"] {
        assert!(!cols.iter().any(|c| c == gone), "items.{gone} is gone");
    }
    drop(c);
    assert_eq!(
        needles_on_disk(&phone.history_path(), &needles),
        Vec::<String>::new()
    );

    let items = app.list_items(None).unwrap();
    assert_eq!(items.len(), 3);
    let (a, v, b) = (&items[0], &items[1], &items[2]);
    assert_eq!(
        (
            a.md5.unwrap().to_hex(),
            a.sha256.unwrap().to_hex(),
            a.pdq.map(|p| p.to_hex())
        ),
        (
            V3_MD5[0].into(),
            V3_SHA256[0].into(),
            Some(V3_PDQ[0].into())
        )
    );
    assert_eq!(a.quality.map(|q| q.get()), Some(90));
    assert_eq!(a.label.as_deref(), Some(V3_LABEL));
    assert_eq!(
        (a.state, a.service_item_id, a.low_quality),
        (HistoryItemState::Active, Some(11), false)
    );
    assert_eq!(
        (
            v.md5.unwrap().to_hex(),
            v.sha256.unwrap().to_hex(),
            v.pdq,
            v.quality,
            v.frame_count
        ),
        (V3_MD5[1].into(), V3_SHA256[1].into(), None, None, 2)
    );
    assert!(!v.low_quality, "one frame has quality 80");
    assert_eq!(v.service_item_id, Some(12));
    assert_eq!(
        (
            b.md5.unwrap().to_hex(),
            b.sha256.unwrap().to_hex(),
            b.pdq.map(|p| p.to_hex())
        ),
        (
            V3_MD5[2].into(),
            V3_SHA256[2].into(),
            Some(V3_PDQ[2].into())
        )
    );
    assert_eq!(
        (b.quality.map(|q| q.get()), b.low_quality),
        (Some(30), true)
    );
    assert_eq!(
        (b.label.clone(), b.state),
        (None, HistoryItemState::Pending)
    );
    let cases = app.list_cases().unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[1].case_number.as_deref(), Some("TD-V3FIXTURE"));
    // The queued case of schema 3 is sent, once, and its item becomes active.
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.pending), (1, 0));
    assert_eq!(svc.cases(), 1);
    assert_eq!(svc.items(), 1);
    assert_eq!(
        app.list_items(Some(b.case_id)).unwrap()[0].state,
        HistoryItemState::Active
    );
    drop(app);
    assert_eq!(
        needles_on_disk(&phone.history_path(), &needles),
        Vec::<String>::new()
    );
}

/// Writes `tests/fixtures/app/history-v3.sqlite3`: a schema-3 history as version
/// 3 of the app left it, fingerprints in the clear — case 1 open at the service
/// (an image with a label, a video with two frames), case 2 queued (one weak
/// image). Run with
/// `cargo test -p takedown-ffi --test app_storage -- --ignored make_v3_fixture`.
#[test]
#[ignore]
fn make_v3_fixture() {
    use takedown_app::crypto::row_purpose;
    let out = fixture_v3();
    let _ = std::fs::remove_file(&out);
    let (db, v) = Db::open(&out).unwrap();
    assert_eq!(v, 0);
    db.migrate_to(3).unwrap();
    let s = Sealer::new(&FIXTURE_KEY).unwrap();
    let check = s.seal(KEY_CHECK_PURPOSE, KEY_CHECK_PLAINTEXT).unwrap();
    let frames = serde_json::json!([
        {"t": 0.0, "pdq": V3_PDQ[1], "quality": 80},
        {"t": 1.0, "pdq": V3_PDQ[3], "quality": 40},
    ])
    .to_string();
    let payload = serde_json::json!({
        "op": "create_case",
        "idempotency_key": "v3fixture0000000000000000000000000000000000000000",
        "attestations": {"person_shown_was_under_18": true, "submitter": "person_shown"},
        "item_ids": [3],
        "items": [
            {"image": {"md5": V3_MD5[2], "sha256": V3_SHA256[2], "pdq": V3_PDQ[2], "quality": 30}},
        ],
    });
    db.write(|tx| {
        tx.execute("INSERT INTO meta(name, value) VALUES ('key_check', ?1)", [&check])?;
        tx.execute(
            "INSERT INTO cases(id, case_number, token, submitter, state, created_at)
             VALUES (1, ?1, ?2, 'person_shown', 'open', 1764000000)",
            rusqlite::params![
                s.seal_text("cases", 1, "case_number", "TD-V3FIXTURE")?,
                s.seal_str(&row_purpose("cases", 1, "token"), "v3-fixture-token")?
            ],
        )?;
        tx.execute(
            "INSERT INTO cases(id, submitter, state, created_at) VALUES (2, 'person_shown', 'pending', 1764000100)",
            [],
        )?;
        tx.execute(
            "INSERT INTO items(id, case_id, kind, md5, sha256, pdq, quality, label, remote_id, state, added_at)
             VALUES (1, 1, 'image', ?1, ?2, ?3, 90, ?4, 11, 'active', 1764000000)",
            rusqlite::params![
                V3_MD5[0],
                V3_SHA256[0],
                V3_PDQ[0],
                s.seal_str(&row_purpose("items", 1, "label"), V3_LABEL)?
            ],
        )?;
        tx.execute(
            "INSERT INTO items(id, case_id, kind, md5, sha256, frames, remote_id, state, added_at)
             VALUES (2, 1, 'video', ?1, ?2, ?3, 12, 'active', 1764000000)",
            rusqlite::params![V3_MD5[1], V3_SHA256[1], frames],
        )?;
        tx.execute(
            "INSERT INTO items(id, case_id, kind, md5, sha256, pdq, quality, state, added_at)
             VALUES (3, 2, 'image', ?1, ?2, ?3, 30, 'pending', 1764000100)",
            rusqlite::params![V3_MD5[2], V3_SHA256[2], V3_PDQ[2]],
        )?;
        tx.execute(
            "INSERT INTO outbox(id, case_id, op, payload, created_at) VALUES (1, 2, 'create_case', x'', 1764000100)",
            [],
        )?;
        tx.execute(
            "UPDATE outbox SET payload = ?1 WHERE id = 1",
            [s.seal(
                &row_purpose("outbox", 1, "payload"),
                &serde_json::to_vec(&payload).unwrap(),
            )?],
        )?;
        Ok(())
    })
    .unwrap();
    drop(db);
    let c = rusqlite::Connection::open(&out).unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    c.execute_batch("VACUUM;").unwrap();
}

/// The schema version (`user_version`) of a history file.
fn schema_version(path: &std::path::Path) -> u32 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}
