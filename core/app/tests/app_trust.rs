//! The failure paths of issue 11, each against the real service on loopback (or
//! the real history file): stuck withdrawals, cancellation and deadlines, a newer
//! service's answers, a kill during key creation, UI retries, damaged rows, CDN
//! pages, "delete everything" with queued withdrawals, persisted retry times, and
//! the change listener.

mod app_support;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_support::{Fault, Phone, Proxy, Service, TestClock, photo_items};
use takedown_app::db::{Db, LATEST_VERSION};
use takedown_app::eligibility::{AgeWhenMade, EligibilityAnswers, SubmitterRole};
use takedown_app::history::{CaseState, HistoryItemState};
use takedown_app::outbox::{DAMAGED_ENTRY, SubmitItem};
use takedown_app::selection::{SelectionInput, hash_selection};
use takedown_app::wire::ServiceState;
use takedown_app::{App, Cancel, Change, ChangeListener, Clock, Error, FileKeyStore, KeyStore};

fn answers() -> EligibilityAnswers {
    EligibilityAnswers {
        age_when_made: AgeWhenMade::Under18,
        submitter: SubmitterRole::PersonShown,
    }
}

fn items(seeds: &[u32]) -> Vec<SubmitItem> {
    photo_items(seeds, Some("private note"))
}

fn sql(phone: &Phone) -> rusqlite::Connection {
    rusqlite::Connection::open(phone.history_path()).unwrap()
}

/// Bug 1: a withdrawal queued for an item that was never sent, whose addition
/// is then refused, used to stay queued forever with `retryAfterMs = 0`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_of_an_item_whose_addition_was_refused_is_not_stuck() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    let out = app.submit_case(&answers(), &items(&[1])).await.unwrap();
    assert!(out.sent);
    let added = app.enqueue_add_items(out.case_id, &items(&[2])).unwrap();
    app.enqueue_withdraw_item(added[0]).unwrap();
    let before = proxy.requests();
    proxy.push_fault(Fault::Status(422));
    let r = app.flush().await.unwrap();
    assert_eq!(r.rejected, 1, "{r:?}");
    assert_eq!(r.pending, 0, "the withdrawal is not left queued: {r:?}");
    assert_eq!(r.retry_after_ms, None);
    assert_eq!(
        proxy.requests(),
        before + 1,
        "nothing sent for the withdrawal"
    );
    let item = app
        .list_items(Some(out.case_id))
        .unwrap()
        .into_iter()
        .find(|i| i.id == added[0])
        .unwrap();
    assert_eq!(item.state, HistoryItemState::Withdrawn);
    // The case itself goes on: another withdrawal is sent.
    let r = app.withdraw_item(out.item_ids[0]).await.unwrap();
    assert_eq!((r.sent, r.pending), (1, 0));
    assert_eq!(
        svc.count("SELECT count(*) FROM items WHERE withdrawn_at IS NOT NULL"),
        1
    );
}

/// Bug 3 (Rust side): a flush stops at once when cancelled, and at a deadline
/// with a report; the case stays queued and is sent once later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_stops_on_cancel_and_at_its_deadline() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = Arc::new(phone.open_app(&proxy.url));
    app.queue_case("req-cancel", &answers(), &items(&[3]))
        .unwrap();
    // The service holds the request for 10 s.
    proxy.push_fault(Fault::Hold(Duration::from_secs(10)));
    let cancel = Cancel::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2.cancel();
    });
    let t = Instant::now();
    assert!(matches!(
        app.flush_until(&cancel).await,
        Err(Error::Cancelled)
    ));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(app.pending_operations().unwrap(), 1);

    // A deadline: a report, not an error.
    proxy.push_fault(Fault::Hold(Duration::from_secs(10)));
    let t = Instant::now();
    let r = app
        .flush_until(&Cancel::new().with_timeout(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(r.deadline_reached);
    assert_eq!((r.sent, r.pending), (0, 1));
    // A refresh of every case under a deadline stops as well.
    let r = app.flush().await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(svc.cases(), 1);
    proxy.push_fault(Fault::Hold(Duration::from_secs(10)));
    let t = Instant::now();
    let e = app
        .refresh_all_until(&Cancel::new().with_timeout(Duration::from_millis(300)))
        .await;
    assert!(matches!(e, Err(Error::DeadlineExceeded)), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(3));
}

/// Bug 4: a newer service adds fields everywhere and new enum values; this
/// version still submits, adds, withdraws and reads the status (unknown values
/// shown as `Unknown`). The service stays strict about what it receives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_core_reads_a_newer_services_answers() {
    fn add_fields(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (_, x) in m.iter_mut() {
                    add_fields(x);
                }
                m.insert(
                    "added_in_v2".into(),
                    serde_json::json!({"nested": [1, "x"]}),
                );
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(add_fields),
            _ => {}
        }
    }
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    proxy.set_rewrite(Arc::new(|v: &mut serde_json::Value| {
        add_fields(v);
        // New values: the first item in a new state, a new kind of event.
        if let Some(items) = v.get_mut("items").and_then(|i| i.as_array_mut())
            && let Some(first) = items.first_mut()
        {
            first["state"] = "under_appeal".into();
            first["kind"] = "audio".into();
        }
        if let Some(tl) = v.get_mut("timeline").and_then(|t| t.as_array_mut()) {
            tl.push(serde_json::json!({"at": 1, "kind": "appealed", "item_id": null, "count": 1}));
        }
    }));
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    let out = app.submit_case(&answers(), &items(&[4, 5])).await.unwrap();
    assert!(out.sent, "{out:?}");
    let add = app.add_items(out.case_id, &items(&[6])).await.unwrap();
    assert!(add.sent);
    let w = app.withdraw_item(out.item_ids[1]).await.unwrap();
    assert_eq!(w.sent, 1);
    let ch = app.refresh_status(out.case_id).await.unwrap();
    assert_eq!(ch.now.active_items, 2);
    assert_eq!(ch.now.withdrawn_items, 1);
    let st = app.case_status(out.case_id).unwrap().unwrap();
    assert_eq!(st.state, ServiceState::Active);
    assert_eq!(st.items.len(), 3);
    assert_eq!(st.items[0].state, ServiceState::Unknown);
    assert!(!st.items[0].active);
    assert_eq!(st.items[1].state, ServiceState::Withdrawn);
    assert_eq!(st.items[2].state, ServiceState::Active);
    assert_eq!(svc.cases(), 1);

    // The service refuses an unknown field in what it receives.
    let body = serde_json::json!({
        "idempotency_key": "k".repeat(32),
        "attestations": {"person_shown_was_under_18": true, "submitter": "person_shown"},
        "items": [],
        "extra": 1,
    });
    let r = app_support::http()
        .post(format!("{}/v1/cases", svc.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

/// Bug 5: killed after the key was stored and the schema written but before the
/// key check: the next start adopts the key instead of failing as `Corrupt`
/// forever. A history that holds sealed data without a check is still refused.
#[test]
fn a_kill_between_storing_the_key_and_writing_the_check_is_recovered() {
    let phone = Phone::new();
    std::fs::create_dir_all(phone.data_dir()).unwrap();
    let (db, _) = Db::open(&phone.history_path()).unwrap();
    db.configure().unwrap();
    db.migrate_to(LATEST_VERSION).unwrap();
    drop(db);
    FileKeyStore::new(phone.key_path())
        .store(&[9u8; 32])
        .unwrap();
    {
        let app = phone.open_app("http://127.0.0.1:9");
        app.enqueue_case(&answers(), &items(&[7])).unwrap();
    }
    // The key check is there now: the same key opens it, with its case.
    let app = phone.open_app("http://127.0.0.1:9");
    assert_eq!(app.list_cases().unwrap().len(), 1);
    drop(app);

    // Sealed data without a key check is damage, not a fresh start.
    sql(&phone)
        .execute("DELETE FROM meta WHERE name = 'key_check'", [])
        .unwrap();
    let r = App::open(
        &phone.data_dir(),
        "http://127.0.0.1:9",
        Arc::new(FileKeyStore::new(phone.key_path())),
        app_support::fast_options(),
    );
    assert!(matches!(r, Err(Error::Corrupt)));
}

/// A fresh history has its key check from the first schema transaction on.
#[test]
fn a_new_history_never_exists_without_its_key_check() {
    let phone = Phone::new();
    drop(phone.open_app("http://127.0.0.1:9"));
    let n: i64 = sql(&phone)
        .query_row(
            "SELECT count(*) FROM meta WHERE name = 'key_check'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// Bug 6: a UI retry with the same request id never opens a second case, even
/// when the first call was cancelled while the request was on its way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ui_retry_with_the_same_request_id_opens_one_case() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    let its = items(&[8, 9]);
    // The request reaches the service; the answer is late; the UI gives up.
    proxy.push_fault(Fault::ForwardThenHold(Duration::from_secs(5)));
    let cancel = Cancel::new().with_timeout(Duration::from_millis(400));
    let first = app
        .submit_request("ui-req-1", &answers(), &its, &cancel)
        .await;
    match first {
        Ok(o) => assert!(!o.sent && o.flush.deadline_reached, "{o:?}"),
        Err(e) => panic!("{e:?}"),
    }
    assert_eq!(svc.cases(), 1);
    // The retry: the same case, sent once.
    let again = app
        .submit_request("ui-req-1", &answers(), &its, &Cancel::new())
        .await
        .unwrap();
    assert!(again.sent, "{again:?}");
    assert_eq!(app.list_cases().unwrap().len(), 1);
    assert_eq!(svc.cases(), 1);
    assert_eq!(again.item_ids.len(), 2);
    // queue_case alone is idempotent too.
    let a = app.queue_case("ui-req-2", &answers(), &its).unwrap();
    let b = app.queue_case("ui-req-2", &answers(), &its).unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(app.list_cases().unwrap().len(), 2);
    assert!(app.queue_case("", &answers(), &its).is_err());
}

/// Bug 7: a row that cannot be read stops only its own case; the case can be
/// resubmitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_row_stops_only_its_own_case() {
    let svc = Service::start().await;
    let phone = Phone::new();
    let app = phone.open_app(&svc.url);
    let (bad_case, _) = app.enqueue_case(&answers(), &items(&[10])).unwrap();
    let (good_case, _) = app.enqueue_case(&answers(), &items(&[11])).unwrap();
    // Flip a byte of the first case's sealed payload.
    let conn = sql(&phone);
    let mut payload: Vec<u8> = conn
        .query_row(
            "SELECT payload FROM outbox WHERE case_id = ?1",
            [bad_case],
            |r| r.get(0),
        )
        .unwrap();
    payload[30] ^= 0x5a;
    conn.execute(
        "UPDATE outbox SET payload = ?2 WHERE case_id = ?1",
        rusqlite::params![bad_case, payload],
    )
    .unwrap();
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.rejected, r.pending), (1, 1, 0), "{r:?}");
    assert_eq!(app.case(good_case).unwrap().state, CaseState::Open);
    let bad = app.case(bad_case).unwrap();
    assert_eq!(bad.state, CaseState::Rejected);
    assert_eq!(bad.rejection.as_deref(), Some(DAMAGED_ENTRY));
    // Resubmitted from the stored fingerprints, it goes through.
    assert_eq!(app.resubmit(bad_case).unwrap(), 1);
    let r = app.flush().await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(app.case(bad_case).unwrap().state, CaseState::Open);
    assert_eq!(svc.cases(), 2);
}

/// Bug 8: 408, 425 and a CDN's HTML 403 are retried, not a final refusal; and a
/// refused case can be resubmitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdn_answers_are_retried_and_a_refused_case_can_be_resubmitted() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    proxy.push_fault(Fault::Status(408));
    proxy.push_fault(Fault::Page(403));
    let out = app.submit_case(&answers(), &items(&[12])).await.unwrap();
    assert!(out.sent, "{out:?}");
    assert_eq!(proxy.requests(), 3);
    proxy.push_fault(Fault::Status(425));
    let add = app.add_items(out.case_id, &items(&[13])).await.unwrap();
    assert!(add.sent);

    // The service's own refusal is final…
    proxy.push_fault(Fault::Status(422));
    let e = app.submit_case(&answers(), &items(&[14])).await;
    assert!(matches!(e, Err(Error::Rejected { .. })), "{e:?}");
    let refused = app.list_cases().unwrap()[0].clone();
    assert_eq!(refused.state, CaseState::Rejected);
    // …until the user resubmits it.
    assert_eq!(app.resubmit(refused.id).unwrap(), 1);
    assert_eq!(app.case(refused.id).unwrap().state, CaseState::Pending);
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.rejected), (1, 0));
    let c = app.case(refused.id).unwrap();
    assert_eq!(c.state, CaseState::Open);
    assert_eq!(c.rejection, None);
    assert!(
        app.list_items(Some(refused.id))
            .unwrap()
            .iter()
            .all(|i| i.state == HistoryItemState::Active)
    );
    assert_eq!(svc.cases(), 2);
    assert!(
        app.resubmit(refused.id).is_err(),
        "nothing left to resubmit"
    );
}

/// Bug 9: "delete everything" refuses while withdrawals are queued (typed), and
/// deletes with `force`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_everything_refuses_with_withdrawals_queued() {
    let svc = Service::start().await;
    let phone = Phone::new();
    let app = phone.open_app(&svc.url);
    let out = app.submit_case(&answers(), &items(&[15])).await.unwrap();
    assert!(out.sent);
    app.enqueue_withdraw_case(out.case_id).unwrap();
    assert!(matches!(
        app.delete_everything(),
        Err(Error::WithdrawalsPending(1))
    ));
    assert!(phone.history_path().exists());
    assert_eq!(app.list_cases().unwrap().len(), 1, "nothing was deleted");
    app.flush().await.unwrap();
    app.delete_everything().unwrap();
    assert!(!phone.history_path().exists());
    assert!(!phone.key_path().exists());

    let phone = Phone::new();
    let app = phone.open_app(&svc.url);
    let out = app.submit_case(&answers(), &items(&[16])).await.unwrap();
    app.enqueue_withdraw_item(out.item_ids[0]).unwrap();
    app.delete_everything_force().unwrap();
    assert!(!phone.history_path().exists());
    assert!(matches!(app.list_cases(), Err(Error::Closed)));
}

/// Bug 10: the persisted retry time is read by every flush and handed to the
/// host, also by a new process and by a flush the host runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_persisted_retry_time_reaches_the_host() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let clock = Arc::new(TestClock(AtomicI64::new(2_000_000_000_000)));
    let case_id = {
        let app = phone.open_app_with_clock(&proxy.url, clock.clone());
        for _ in 0..3 {
            proxy.push_fault(Fault::Status(503));
        }
        let out = app.submit_case(&answers(), &items(&[17])).await.unwrap();
        assert!(!out.sent);
        out.case_id
    };
    let stored: i64 = sql(&phone)
        .query_row("SELECT next_attempt_at FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert!(stored > clock.now_ms());
    // A new process: the case and every flush report say when.
    let app = phone.open_app_with_clock(&proxy.url, clock.clone());
    assert_eq!(app.case(case_id).unwrap().next_attempt_at_ms, Some(stored));
    let r = app.flush_due().await.unwrap();
    assert_eq!(r.next_attempt_at_ms, Some(stored));
    assert_eq!(r.retry_after_ms, Some((stored - clock.now_ms()) as u64));
    // A host flush that fails again reports the new persisted time.
    for _ in 0..3 {
        proxy.push_fault(Fault::Status(503));
    }
    let r = app.flush().await.unwrap();
    let stored2: i64 = sql(&phone)
        .query_row("SELECT next_attempt_at FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r.next_attempt_at_ms, Some(stored2));
    clock.0.store(stored2, Ordering::SeqCst);
    let r = app.flush_due().await.unwrap();
    assert_eq!((r.sent, r.pending, r.next_attempt_at_ms), (1, 0, None));
}

#[derive(Default)]
struct Changes(Mutex<Vec<Change>>, AtomicUsize);

impl ChangeListener for Changes {
    fn on_change(&self, change: Change) {
        self.0.lock().unwrap().push(change);
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// The change listener fires for queueing, for a background flush, for labels
/// and for a status refresh; a queued case can be cancelled before it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_sees_background_flushes_and_a_queued_case_can_be_cancelled() {
    let svc = Service::start().await;
    let phone = Phone::new();
    let app = Arc::new(phone.open_app(&svc.url));
    let seen = Arc::new(Changes::default());
    app.set_listener(Some(seen.clone()));
    let c = app.queue_case("r1", &answers(), &items(&[18])).unwrap();
    assert_eq!(seen.0.lock().unwrap().as_slice(), &[Change::Queue]);
    let bg = app.clone();
    tokio::spawn(async move { bg.flush().await.unwrap() })
        .await
        .unwrap();
    assert_eq!(
        seen.1.load(Ordering::SeqCst),
        2,
        "the background flush told the listener"
    );
    app.set_label(app.list_items(None).unwrap()[0].id, Some("x"))
        .unwrap();
    app.refresh_status(c.id).await.unwrap();
    assert_eq!(
        seen.0.lock().unwrap()[2..],
        [Change::History, Change::Status]
    );

    // Cancelling before it was sent removes it; after, a withdrawal is queued.
    let q = app.queue_case("r2", &answers(), &items(&[19])).unwrap();
    assert!(app.cancel_queued_case(q.id).await.unwrap());
    assert!(matches!(app.case(q.id), Err(Error::NotFound(_))));
    assert!(!app.cancel_queued_case(c.id).await.unwrap());
    assert_eq!(app.case(c.id).unwrap().state, CaseState::Withdrawing);
    app.flush().await.unwrap();
    assert_eq!(app.case(c.id).unwrap().state, CaseState::Withdrawn);
    assert_eq!(svc.cases(), 1);
}

/// One core object per history in a process.
#[test]
fn a_second_object_on_the_same_history_is_refused() {
    let phone = Phone::new();
    let app = phone.open_app("http://127.0.0.1:9");
    let again = App::open(
        &phone.data_dir(),
        "http://127.0.0.1:9",
        Arc::new(FileKeyStore::new(phone.key_path())),
        app_support::fast_options(),
    );
    assert!(matches!(again, Err(Error::AlreadyOpen)));
    drop(app);
    drop(phone.open_app("http://127.0.0.1:9"));
}

/// Sealed values are bound to their row: a label copied onto another item does
/// not open there; status snapshots are sealed (no case number or counts in the
/// clear), and an older schema's values are resealed on upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_values_are_bound_to_their_row_and_status_is_sealed() {
    let svc = Service::start().await;
    let phone = Phone::new();
    let app = phone.open_app(&svc.url);
    let out = app
        .submit_case(&answers(), &items(&[20, 21]))
        .await
        .unwrap();
    app.refresh_status(out.case_id).await.unwrap();
    let number = app.case(out.case_id).unwrap().case_number.unwrap();
    let conn = sql(&phone);
    let body: String = conn
        .query_row("SELECT body FROM status_snapshots", [], |r| r.get(0))
        .unwrap();
    assert!(body.starts_with("sealed:"));
    assert!(!body.contains(&number) && !body.contains("active_items"));
    let stored_number: String = conn
        .query_row(
            "SELECT case_number FROM cases WHERE id = ?1",
            [out.case_id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored_number.starts_with("sealed:") && !stored_number.contains(&number));
    // Nowhere in the file or its WAL.
    for suffix in ["", "-wal"] {
        let mut p = phone.history_path().into_os_string();
        p.push(suffix);
        if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                !bytes.windows(number.len()).any(|w| w == number.as_bytes()),
                "case number in {suffix}"
            );
        }
    }
    let status = app.case_status(out.case_id).unwrap().unwrap();
    assert_eq!(status.case_number, number);
    assert_eq!(status.totals.active_items, 2);
    // Move item 1's sealed label onto item 2.
    conn.execute(
        "UPDATE items SET label = (SELECT label FROM items WHERE id = ?1) WHERE id = ?2",
        [out.item_ids[0], out.item_ids[1]],
    )
    .unwrap();
    assert!(matches!(
        app.list_items(Some(out.case_id)),
        Err(Error::WrongKey)
    ));
    // Same for the case token: another case's token does not open here.
    let out2 = app.submit_case(&answers(), &items(&[22])).await.unwrap();
    conn.execute(
        "UPDATE cases SET token = (SELECT token FROM cases WHERE id = ?1) WHERE id = ?2",
        [out.case_id, out2.case_id],
    )
    .unwrap();
    assert!(matches!(
        app.refresh_status(out2.case_id).await,
        Err(Error::WrongKey)
    ));
}

/// Checks one request body against the allow-list of fields and sizes: only
/// the protocol's fields, hex of the exact lengths, small integers, no other
/// strings. Returns what is wrong.
fn body_violations(path: &str, body: &[u8]) -> Vec<String> {
    use serde_json::Value;
    let mut bad = Vec::new();
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) if body.is_empty() => return bad,
        Err(_) => return vec![format!("{path}: not JSON")],
    };
    let hex = |v: &Value, n: usize, what: &str, bad: &mut Vec<String>| match v.as_str() {
        Some(s) if s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit()) => {}
        _ => bad.push(format!("{what}: not {n} hex digits")),
    };
    let keys = |v: &Value, allowed: &[&str], what: &str, bad: &mut Vec<String>| match v.as_object()
    {
        Some(m) => {
            for k in m.keys() {
                if !allowed.contains(&k.as_str()) {
                    bad.push(format!("{what}: field {k} not allowed"));
                }
            }
        }
        None => bad.push(format!("{what}: not an object")),
    };
    let quality = |v: &Value, what: &str, bad: &mut Vec<String>| {
        if v.as_u64().is_none_or(|q| q > 100) {
            bad.push(format!("{what}: quality"));
        }
    };
    if path.ends_with("/withdraw") {
        keys(&v, &[], "withdraw body", &mut bad);
        return bad;
    }
    if path.ends_with("/restore") {
        keys(&v, &["recovery_key"], "restore body", &mut bad);
        let written = v["recovery_key"].as_str().is_some_and(|k| {
            k.len() == 41
                && k.split('-').count() == 7
                && k.split('-').all(|g| {
                    g.len() == 5
                        && g.bytes()
                            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
                })
        });
        if !written {
            bad.push("recovery_key".into());
        }
        return bad;
    }
    let top: &[&str] = if path == "/v1/cases" {
        &[
            "idempotency_key",
            "attestations",
            "items",
            "recovery_verifier",
        ]
    } else {
        &["idempotency_key", "items"]
    };
    keys(&v, top, "body", &mut bad);
    match v["idempotency_key"].as_str() {
        Some(k)
            if (16..=128).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {}
        _ => bad.push("idempotency_key".into()),
    }
    if path == "/v1/cases" {
        if v.get("recovery_verifier").is_some() {
            hex(&v["recovery_verifier"], 64, "recovery_verifier", &mut bad);
        }
        let a = &v["attestations"];
        keys(
            a,
            &["person_shown_was_under_18", "submitter"],
            "attestations",
            &mut bad,
        );
        if a["person_shown_was_under_18"] != Value::Bool(true) {
            bad.push("attestation".into());
        }
        if !matches!(
            a["submitter"].as_str(),
            Some("person_shown" | "parent_or_guardian")
        ) {
            bad.push("submitter".into());
        }
    }
    let items = v["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() || items.len() > 100 {
        bad.push("items: count".into());
    }
    for it in &items {
        keys(it, &["image", "video"], "item", &mut bad);
        if let Some(img) = it.get("image") {
            keys(
                img,
                &["md5", "sha256", "pdq", "quality", "edge_cuts"],
                "image",
                &mut bad,
            );
            hex(&img["md5"], 32, "md5", &mut bad);
            hex(&img["sha256"], 64, "sha256", &mut bad);
            hex(&img["pdq"], 64, "pdq", &mut bad);
            quality(&img["quality"], "image", &mut bad);
            if let Some(cuts) = img.get("edge_cuts") {
                // `{"top_20": {"pdq", "quality"}, "bottom_20": {…}}`, nothing else.
                keys(cuts, &["top_20", "bottom_20"], "edge_cuts", &mut bad);
                match cuts.as_object() {
                    Some(m) if !m.is_empty() => {
                        for c in m.values() {
                            keys(c, &["pdq", "quality"], "edge cut", &mut bad);
                            hex(&c["pdq"], 64, "edge cut pdq", &mut bad);
                            quality(&c["quality"], "edge cut", &mut bad);
                        }
                    }
                    _ => bad.push("edge_cuts: empty or not an object".into()),
                }
            }
        }
        if let Some(vid) = it.get("video") {
            keys(vid, &["md5", "sha256", "frames"], "video", &mut bad);
            hex(&vid["md5"], 32, "md5", &mut bad);
            hex(&vid["sha256"], 64, "sha256", &mut bad);
            for f in vid["frames"].as_array().cloned().unwrap_or_default() {
                keys(&f, &["t", "pdq", "quality"], "frame", &mut bad);
                hex(&f["pdq"], 64, "frame pdq", &mut bad);
                quality(&f["quality"], "frame", &mut bad);
                if !f["t"].as_f64().is_some_and(|t| t.is_finite() && t >= 0.0) {
                    bad.push("frame t".into());
                }
            }
        }
    }
    bad
}

/// Every request the phone sends passes the allow-list (fields and sizes), and
/// the checker itself catches a label, a file name or an extra field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_body_passes_the_allow_list() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    let mut its = items(&[40, 41]);
    its[0].label = Some("IMG_2024_beach.jpg at Alex's".into());
    let out = app.submit_case(&answers(), &its).await.unwrap();
    app.add_items(out.case_id, &items(&[42])).await.unwrap();
    app.withdraw_item(out.item_ids[0]).await.unwrap();
    app.refresh_all().await.unwrap();
    app.withdraw_case(out.case_id).await.unwrap();
    let captured = proxy.captured();
    assert!(captured.len() >= 5);
    for c in &captured {
        let path = c.path.split('?').next().unwrap_or("");
        let v = body_violations(path, &c.body);
        assert!(v.is_empty(), "{} {path}: {v:?}", c.method);
        for (k, val) in &c.headers {
            assert!(
                matches!(
                    k.as_str(),
                    "content-type"
                        | "content-length"
                        | "authorization"
                        | "user-agent"
                        | "accept"
                        | "host"
                ),
                "header {k} not allowed"
            );
            if k == "user-agent" {
                assert_eq!(val, takedown_app::client::USER_AGENT);
            }
        }
    }
    // The checker fails on what must never be sent.
    let create = captured.iter().find(|c| c.path == "/v1/cases").unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(
        sent["items"][0]["image"]["edge_cuts"]
            .as_object()
            .map(|m| m.len()),
        Some(2),
        "the pictures' edge cuts are sent (and so checked above)"
    );
    let flagged = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = sent.clone();
        edit(&mut v);
        !body_violations("/v1/cases", &serde_json::to_vec(&v).unwrap()).is_empty()
    };
    assert!(flagged(
        &|v| v["items"][0]["image"]["label"] = "beach".into()
    ));
    assert!(flagged(
        &|v| v["items"][0]["image"]["md5"] = "IMG_0001.JPG".into()
    ));
    // …and on anything in the edge cuts but their two keys and two fields.
    let cut = |v: &mut serde_json::Value| -> serde_json::Value {
        v["items"][0]["image"]["edge_cuts"]["top_20"].clone()
    };
    for edit in [
        &(|v: &mut serde_json::Value| {
            v["items"][0]["image"]["edge_cuts"]["top_20"]["name"] = "IMG_0001.JPG".into()
        }) as &dyn Fn(&mut serde_json::Value),
        &|v| {
            let c = cut(v);
            v["items"][0]["image"]["edge_cuts"]["left_20"] = c;
        },
        &|v| {
            let c = cut(v);
            v["items"][0]["image"]["edge_cuts"]["top_15"] = c;
        },
        &|v| v["items"][0]["image"]["edge_cuts"]["top_20"]["pdq"] = "beach".into(),
        &|v| v["items"][0]["image"]["edge_cuts"]["bottom_20"]["quality"] = 101.into(),
        &|v| v["items"][0]["image"]["edge_cuts"] = "top".into(),
        &|v| v["items"][0]["image"]["edge_cuts"] = serde_json::json!({}),
        &|v| {
            let c = cut(v);
            v["items"][0]["image"]["edge_cuts"] = serde_json::json!([c]);
        },
    ] {
        assert!(flagged(edit));
    }
    assert!(!flagged(&|_| {}), "the body as sent passes");
    assert!(!body_violations("/v1/cases/TD-1/withdraw", br#"{"why":"x"}"#).is_empty());
}

/// The edge cuts a picture's request body must carry: the fingerprint crate's
/// cuts of the decoded pixels, as the protocol's JSON.
fn expected_cuts(png: &[u8]) -> serde_json::Value {
    let rgb = image::load_from_memory(png).unwrap().to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let cuts = takedown_fingerprint::hashing::cuts::edge_cuts_from_rgb(rgb.as_raw(), w, h);
    assert_eq!(cuts.len(), 2);
    serde_json::Value::Object(
        cuts.iter()
            .map(|c| {
                (
                    c.wire_key(),
                    serde_json::json!({"pdq": c.pdq.hash.to_string(), "quality": c.pdq.quality}),
                )
            })
            .collect(),
    )
}

/// A hashed picture's request body carries its two edge cuts (the cuts of its
/// pixels); the history keeps them sealed with the item, so a resubmission
/// after a refusal, from a reopened history, sends the same cuts; an item
/// added later sends its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_cuts_are_sent_kept_and_sent_again_unchanged() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    let png = app_support::photo_png(50, 160, 120);
    let later = app_support::photo_png(51, 160, 120);
    let hash = |png: &[u8]| SubmitItem {
        fingerprint: hash_selection(
            vec![SelectionInput::ImageBytes(png.to_vec())],
            &|_, _| {},
            &Default::default(),
        )
        .unwrap()
        .remove(0)
        .fingerprint
        .unwrap(),
        label: None,
    };
    proxy.push_fault(Fault::Status(422));
    let e = app.submit_case(&answers(), &[hash(&png)]).await;
    assert!(matches!(e, Err(Error::Rejected { .. })), "{e:?}");
    let case_id = app.list_cases().unwrap()[0].id;
    drop(app);
    let app = phone.open_app(&proxy.url);
    assert_eq!(app.resubmit(case_id).unwrap(), 1);
    assert_eq!(app.flush().await.unwrap().sent, 1);
    let add = app.add_items(case_id, &[hash(&later)]).await.unwrap();
    assert!(add.sent);
    let bodies = |path: &dyn Fn(&str) -> bool| -> Vec<serde_json::Value> {
        proxy
            .captured()
            .iter()
            .filter(|c| c.method == "POST" && path(&c.path))
            .map(|c| serde_json::from_slice(&c.body).unwrap())
            .collect()
    };
    let creates = bodies(&|p| p == "/v1/cases");
    assert_eq!(creates.len(), 2, "refused, then resubmitted");
    let want = expected_cuts(&png);
    for b in &creates {
        assert_eq!(b["items"][0]["image"]["edge_cuts"], want);
    }
    assert_ne!(creates[0]["idempotency_key"], creates[1]["idempotency_key"]);
    let adds = bodies(&|p| p.starts_with("/v1/cases/") && p.ends_with("/items"));
    assert_eq!(adds.len(), 1);
    assert_eq!(
        adds[0]["items"][0]["image"]["edge_cuts"],
        expected_cuts(&later)
    );
    assert_ne!(want, expected_cuts(&later));
}

/// Every form a fingerprint could take on disk: lowercase and uppercase hex and
/// the raw bytes of each MD5, SHA-256, PDQ and vPDQ frame hash.
fn fingerprint_needles(
    items: &[takedown_app::history::HistoryItem],
    frames: &[String],
) -> Vec<Vec<u8>> {
    let mut hexes: Vec<String> = Vec::new();
    for i in items {
        hexes.extend(i.md5.map(|m| m.to_hex()));
        hexes.extend(i.sha256.map(|h| h.to_hex()));
        if let Some(p) = i.pdq {
            hexes.push(p.to_hex());
        }
    }
    hexes.extend(frames.iter().cloned());
    let mut out = Vec::new();
    for h in hexes {
        out.push(hex::decode(&h).unwrap());
        out.push(h.to_uppercase().into_bytes());
        out.push(h.into_bytes());
    }
    out
}

/// Fails with the file and the needle's length when a needle is in the history
/// file, its WAL or a rollback journal.
fn assert_not_on_disk(phone: &Phone, needles: &[Vec<u8>], when: &str) {
    let mut scanned = 0;
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let mut p = phone.history_path().into_os_string();
        p.push(suffix);
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        scanned += 1;
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_slice()),
                "{when}: a fingerprint ({} bytes) is in history{suffix}",
                n.len()
            );
        }
    }
    assert!(scanned >= 1, "{when}: no history file to scan");
}

/// Fingerprints (MD5, SHA-256, PDQ, edge cuts, vPDQ frames) are sealed at rest: none of
/// them, in hex or raw, is in the database file or its WAL — after queueing,
/// after sending, after a status refresh and after closing — and the history
/// still shows them. A sealed fingerprint copied onto another row does not open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprints_are_sealed_at_rest_in_the_file_and_its_wal() {
    use takedown_app::selection::HostFrame;
    let svc = Service::start().await;
    let phone = Phone::new();
    let frames: Vec<String> = [
        "f66666769989933e67819c6647c3799887637e6199c66709c49c9863669c738c",
        "58d3429ecb3b1993d8c2f72e373119c34a1e633b191b89dea16e3721f423c4ec",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let video = hash_selection(
        vec![SelectionInput::VideoHashed {
            md5: Some("00112233445566778899aabbccddeeff".into()),
            sha256: Some("a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90".into()),
            frames: frames
                .iter()
                .enumerate()
                .map(|(i, pdq)| HostFrame {
                    t: i as f64,
                    pdq: pdq.clone(),
                    quality: 80,
                })
                .collect(),
        }],
        &|_, _| {},
        &Default::default(),
    )
    .unwrap()
    .remove(0)
    .fingerprint
    .unwrap();
    let mut submitted = items(&[30, 31]);
    submitted.push(SubmitItem {
        fingerprint: video,
        label: None,
    });
    let app = phone.open_app(&svc.url);
    let (case_id, _) = app.enqueue_case(&answers(), &submitted).unwrap();
    let shown = app.list_items(Some(case_id)).unwrap();
    assert_eq!(shown.len(), 3);
    for (s, f) in shown.iter().zip(&submitted) {
        let f = &f.fingerprint;
        assert_eq!(
            (s.kind, s.md5, s.sha256, s.pdq, s.quality),
            (f.kind, Some(f.md5), Some(f.sha256), f.pdq, f.quality)
        );
        assert_eq!(s.frame_count as usize, f.frames.len());
        assert_eq!(s.low_quality, f.low_quality);
    }
    // The pictures' edge cuts are sealed too.
    let mut hashes = frames.clone();
    hashes.extend(
        submitted
            .iter()
            .flat_map(|i| i.fingerprint.edge_cuts.iter().map(|c| c.pdq.to_hex())),
    );
    assert_eq!(hashes.len(), frames.len() + 4, "two cuts per picture");
    let needles = fingerprint_needles(&shown, &hashes);
    assert_not_on_disk(&phone, &needles, "queued");
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.pending), (1, 0));
    app.refresh_status(case_id).await.unwrap();
    assert_not_on_disk(&phone, &needles, "sent");
    // The service got them (the fingerprints are what is sent).
    assert_eq!(svc.items(), 3);
    let after = app.list_items(Some(case_id)).unwrap();
    assert_eq!(after.len(), shown.len());
    for (a, s) in after.iter().zip(&shown) {
        let mut expected = s.clone();
        expected.state = HistoryItemState::Active;
        expected.service_item_id = a.service_item_id;
        assert!(a.service_item_id.is_some());
        assert_eq!(a, &expected);
    }
    drop(app);
    assert_not_on_disk(&phone, &needles, "closed");
    // Bound to the row: item 1's sealed fingerprints on item 2 do not open.
    let conn = sql(&phone);
    conn.execute(
        "UPDATE items SET fingerprints = (SELECT fingerprints FROM items WHERE id = ?1) WHERE id = ?2",
        [shown[0].id, shown[1].id],
    )
    .unwrap();
    drop(conn);
    let app = phone.open_app(&svc.url);
    assert!(matches!(
        app.list_items(Some(case_id)),
        Err(Error::WrongKey)
    ));
}
