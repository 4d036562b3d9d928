//! Stored states are typed: a value this version does not know is a damaged
//! history (`Error::Corrupt`), never read as "pending".

mod app_support;

use app_support::{Phone, photo_png};
use takedown_app::eligibility::{AgeWhenMade, EligibilityAnswers, SubmitterRole};
use takedown_app::history::{CaseState, HistoryItemState};
use takedown_app::outbox::SubmitItem;
use takedown_app::selection::{SelectionInput, hash_selection};
use takedown_app::{App, Error};

fn queued_case(phone: &Phone) -> App {
    let app = phone.open_app("http://127.0.0.1:9");
    let f = hash_selection(
        vec![SelectionInput::ImageBytes(photo_png(5, 128, 96))],
        &|_, _| {},
        &Default::default(),
    )
    .unwrap()[0]
        .fingerprint
        .clone()
        .unwrap();
    app.enqueue_case(
        &EligibilityAnswers {
            age_when_made: AgeWhenMade::Under18,
            submitter: SubmitterRole::ParentOrGuardian,
        },
        &[SubmitItem {
            fingerprint: f,
            label: None,
        }],
    )
    .unwrap();
    app
}

fn set(phone: &Phone, sql: &str) {
    rusqlite::Connection::open(phone.history_path())
        .unwrap()
        .execute(sql, [])
        .unwrap();
}

#[test]
fn known_states_read_back() {
    let phone = Phone::new();
    let app = queued_case(&phone);
    let case = &app.list_cases().unwrap()[0];
    assert_eq!(case.state, CaseState::Pending);
    assert_eq!(case.submitter, SubmitterRole::ParentOrGuardian);
    assert_eq!(
        app.list_items(None).unwrap()[0].state,
        HistoryItemState::Pending
    );
}

#[test]
fn an_unknown_case_state_is_corrupt_not_pending() {
    let phone = Phone::new();
    let app = queued_case(&phone);
    set(&phone, "UPDATE cases SET state = 'archived'");
    assert!(matches!(app.list_cases(), Err(Error::Corrupt)));
    assert!(matches!(app.enqueue_withdraw_case(1), Err(Error::Corrupt)));
}

#[test]
fn an_unknown_item_state_or_kind_is_corrupt() {
    let phone = Phone::new();
    let app = queued_case(&phone);
    set(&phone, "UPDATE items SET state = 'lost'");
    assert!(matches!(app.list_items(None), Err(Error::Corrupt)));
    assert!(matches!(app.enqueue_withdraw_item(1), Err(Error::Corrupt)));
    set(&phone, "UPDATE items SET state = 'pending', kind = 'audio'");
    assert!(matches!(app.list_items(None), Err(Error::Corrupt)));
}

#[test]
fn an_unknown_submitter_or_a_malformed_stored_hash_is_corrupt() {
    let phone = Phone::new();
    let app = queued_case(&phone);
    set(&phone, "UPDATE cases SET submitter = 'neighbour'");
    assert!(matches!(app.list_cases(), Err(Error::Corrupt)));
    // Fingerprints are sealed (schema 4): a sealed value that holds a malformed
    // hash is damage; a value that is not sealed for this row does not open.
    let key = std::fs::read(phone.key_path()).unwrap();
    let sealer = takedown_app::crypto::Sealer::new(&key).unwrap();
    let id: i64 = 1;
    let bad = sealer
        .seal(
            &takedown_app::crypto::row_purpose("items", id, "fingerprints"),
            // An image (kind 1) whose PDQ quality is 200: not a fingerprint.
            &[&[1u8][..], &[0u8; 16 + 32 + 32], &[200u8]].concat(),
        )
        .unwrap();
    rusqlite::Connection::open(phone.history_path())
        .unwrap()
        .execute(
            "UPDATE items SET fingerprints = ?2 WHERE id = ?1",
            rusqlite::params![id, bad],
        )
        .unwrap();
    assert!(matches!(app.list_items(None), Err(Error::Corrupt)));
    set(
        &phone,
        "UPDATE items SET fingerprints = CAST('{\"image\":{}}' AS BLOB)",
    );
    assert!(matches!(app.list_items(None), Err(Error::WrongKey)));
}
