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
    {
        let c = rusqlite::Connection::open(phone.history_path()).unwrap();
        let v: u32 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1, "the fixture is schema 1");
    }
    let app = phone.open_app(&svc.url);
    let c = rusqlite::Connection::open(phone.history_path()).unwrap();
    let v: u32 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, LATEST_VERSION);
    let cases = app.list_cases().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].state, CaseState::Pending);
    let items = app.list_items(None).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].label.as_deref(), Some(FIXTURE_LABEL));
    assert_eq!(items[1].label, None);
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
