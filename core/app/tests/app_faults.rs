//! Fault tests against the real service on loopback: connection refused, 5xx,
//! a timeout after the service applied the request, the process killed between
//! "written to the outbox" and "sent" (and between "sent" and "answered"), and a
//! 4xx that must never be retried. Afterwards the service holds each case exactly
//! once and the history agrees.

mod app_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use app_support::{Fault, Phone, Proxy, Service, TestClock, photo_fingerprints};
use takedown_app::eligibility::{AgeWhenMade, EligibilityAnswers, SubmitterRole};
use takedown_app::history::{CaseState, HistoryItemState};
use takedown_app::outbox::SubmitItem;
use takedown_app::selection::ItemFingerprint;
use takedown_app::{App, Clock, Error};

fn answers() -> EligibilityAnswers {
    EligibilityAnswers {
        age_when_made: AgeWhenMade::Under18,
        submitter: SubmitterRole::ParentOrGuardian,
    }
}

fn fingerprints(seeds: &[u32]) -> Vec<ItemFingerprint> {
    photo_fingerprints(seeds)
}

fn items(seeds: &[u32]) -> Vec<SubmitItem> {
    fingerprints(seeds)
        .into_iter()
        .map(|f| SubmitItem {
            fingerprint: f,
            label: None,
        })
        .collect()
}

/// The history's case agrees with the service: open, the same number, one row.
fn assert_agrees(app: &App, svc: &Service) {
    let cases = app.list_cases().unwrap();
    assert_eq!(cases.len() as i64, svc.cases(), "one case each side");
    for c in &cases {
        assert_eq!(c.state, CaseState::Open);
        assert_eq!(c.pending_operations, 0);
        let n = c.case_number.as_deref().expect("number");
        assert_eq!(
            svc.count(&format!("SELECT count(*) FROM cases WHERE number = '{n}'")),
            1
        );
    }
    let local_items = app.list_items(None).unwrap();
    assert_eq!(local_items.len() as i64, svc.items());
    assert!(
        local_items
            .iter()
            .all(|i| i.state == HistoryItemState::Active && i.service_item_id.is_some())
    );
}

async fn refused_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_keeps_the_case_queued_until_the_service_is_back() {
    let svc = Service::start().await;
    let phone = Phone::new();
    let offline = refused_url().await;
    {
        let app = phone.open_app(&offline);
        let out = app.submit_case(&answers(), &items(&[1, 2])).await.unwrap();
        assert!(!out.sent);
        assert!(out.flush.offline);
        assert_eq!(out.flush.pending, 1);
        assert!(out.flush.retry_after_ms.is_some());
        assert_eq!(app.list_cases().unwrap()[0].state, CaseState::Pending);
        // A second flush while still offline changes nothing.
        let r = app.flush().await.unwrap();
        assert_eq!((r.sent, r.pending), (0, 1));
    }
    // Back online (same history, the service reachable now).
    let app = phone.open_app(&svc.url);
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.pending, r.rejected), (1, 0, 0));
    assert_agrees(&app, &svc);
    assert_eq!(svc.cases(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_backoff_and_applied_once() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    // Two 500s, then through: one submit call, three attempts.
    proxy.push_fault(Fault::Status(500));
    proxy.push_fault(Fault::Status(503));
    let out = app.submit_case(&answers(), &items(&[3])).await.unwrap();
    assert!(out.sent, "{out:?}");
    assert_eq!(proxy.requests(), 3);
    assert_eq!(proxy.forwarded(), 1);
    // More failures than attempts: stays queued, a later flush sends it.
    for _ in 0..3 {
        proxy.push_fault(Fault::Status(502));
    }
    let case = out.case_id;
    let add = app.add_items(case, &items(&[4])).await.unwrap();
    assert!(!add.sent);
    assert!(add.flush.offline);
    assert_eq!(proxy.requests(), 6, "max_attempts = 3 per flush");
    let r = app.flush().await.unwrap();
    assert_eq!(r.sent, 1);
    assert_agrees(&app, &svc);
    assert_eq!(svc.items(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_after_the_service_applied_it_is_not_a_duplicate() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    // The service creates the case, the answer arrives after the 1.5 s timeout.
    proxy.push_fault(Fault::ForwardThenHold(Duration::from_secs(3)));
    let out = app.submit_case(&answers(), &items(&[5, 6])).await.unwrap();
    assert!(out.sent, "{out:?}");
    assert_eq!(
        proxy.forwarded(),
        2,
        "the request reached the service twice"
    );
    assert_eq!(svc.cases(), 1, "…and was applied once");
    assert_eq!(svc.items(), 2);
    assert_agrees(&app, &svc);
    // Same for adding items.
    proxy.push_fault(Fault::ForwardThenHold(Duration::from_secs(3)));
    let add = app.add_items(out.case_id, &items(&[7])).await.unwrap();
    assert!(add.sent);
    assert_eq!(svc.items(), 3);
    assert_agrees(&app, &svc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_outbox_write_and_send() {
    let svc = Service::start().await;
    let phone = Phone::new();
    let case_id = {
        let app = phone.open_app(&svc.url);
        let (case_id, ids) = app.enqueue_case(&answers(), &items(&[8, 9])).unwrap();
        assert_eq!(ids.len(), 2);
        case_id
        // "Killed": dropped without sending.
    };
    assert_eq!(svc.cases(), 0);
    let app = phone.open_app(&svc.url);
    assert_eq!(app.pending_operations().unwrap(), 1);
    assert_eq!(app.case(case_id).unwrap().state, CaseState::Pending);
    let r = app.flush().await.unwrap();
    assert_eq!(r.sent, 1);
    assert_agrees(&app, &svc);
    // A withdrawal queued and "killed" too.
    let item = app.list_items(Some(case_id)).unwrap()[0].id;
    app.enqueue_withdraw_item(item).unwrap();
    drop(app);
    let app = phone.open_app(&svc.url);
    assert_eq!(app.flush().await.unwrap().sent, 1);
    assert_eq!(
        svc.count("SELECT count(*) FROM items WHERE withdrawn_at IS NOT NULL"),
        1
    );
    // Flushing again sends nothing.
    drop(app);
    let app = phone.open_app(&svc.url);
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.pending), (0, 0));
    assert_eq!(svc.cases(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_sending_before_the_answer() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    {
        let app = phone.open_app(&proxy.url);
        proxy.push_fault(Fault::ForwardThenHold(Duration::from_secs(5)));
        let its = items(&[10]);
        let a = answers();
        let call = app.submit_case(&a, &its);
        // The process dies while the answer is on its way.
        let r = tokio::time::timeout(Duration::from_millis(700), call).await;
        assert!(r.is_err(), "still waiting for the answer");
    }
    // The service has applied it; the phone does not know the case number.
    assert_eq!(svc.cases(), 1);
    let app = phone.open_app(&proxy.url);
    assert_eq!(app.list_cases().unwrap()[0].state, CaseState::Pending);
    let r = app.flush().await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(svc.cases(), 1, "the retry found the same case");
    assert_agrees(&app, &svc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_recorded_and_never_retried() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);
    proxy.push_fault(Fault::Status(422));
    match app.submit_case(&answers(), &items(&[11])).await {
        Err(Error::Rejected { code, .. }) => assert_eq!(code, "injected"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(proxy.requests(), 1, "a 4xx is not retried");
    let case = &app.list_cases().unwrap()[0];
    assert_eq!(case.state, CaseState::Rejected);
    assert_eq!(case.rejection.as_deref(), Some("injected"));
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.pending), (0, 0));
    assert_eq!(proxy.requests(), 1);
    assert_eq!(svc.cases(), 0);

    // A real refusal from the service: withdrawing an item the service does not
    // hold leaves the item active and is not retried either.
    let out = app.submit_case(&answers(), &items(&[12])).await.unwrap();
    assert!(out.sent);
    let before = proxy.requests();
    let id = out.item_ids[0];
    // Point the stored service id at an item that does not exist.
    rusqlite::Connection::open(phone.history_path())
        .unwrap()
        .execute("UPDATE items SET remote_id = 999999 WHERE id = ?1", [id])
        .unwrap();
    let r = app.withdraw_item(id).await.unwrap();
    assert_eq!((r.sent, r.rejected), (0, 1));
    assert_eq!(proxy.requests(), before + 1);
    let item = app.list_items(Some(out.case_id)).unwrap()[0].clone();
    assert_eq!(item.state, HistoryItemState::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_flushes_send_each_operation_once() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = std::sync::Arc::new(phone.open_app(&proxy.url));
    for s in 0..3 {
        app.enqueue_case(&answers(), &items(&[20 + s])).unwrap();
    }
    // Slow answers so the flushes overlap.
    for _ in 0..3 {
        proxy.push_fault(Fault::ForwardThenHold(Duration::from_millis(200)));
    }
    let flushes: Vec<_> = (0..4)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.flush().await.unwrap() })
        })
        .collect();
    let mut sent = 0;
    for f in flushes {
        sent += f.await.unwrap().sent;
    }
    assert_eq!(sent, 3, "each operation reported sent once");
    assert_eq!(proxy.forwarded(), 3, "each operation sent once");
    assert_eq!(svc.cases(), 3);
    assert_agrees(&app, &svc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postponed_operation_waits_for_its_next_attempt_time() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let clock = Arc::new(TestClock(AtomicI64::new(1_000_000_000_000)));
    let app = phone.open_app_with_clock(&proxy.url, clock.clone());
    // Three 503s: every attempt of the first flush fails, the case is postponed.
    for _ in 0..3 {
        proxy.push_fault(Fault::Status(503));
    }
    let first = app.submit_case(&answers(), &items(&[30])).await.unwrap();
    assert!(!first.sent);
    assert_eq!(proxy.requests(), 3);
    let next_attempt_at: i64 = rusqlite::Connection::open(phone.history_path())
        .unwrap()
        .query_row("SELECT next_attempt_at FROM outbox", [], |r| r.get(0))
        .unwrap();
    let now = clock.now_ms();
    assert!(
        next_attempt_at > now,
        "a retry time in the future was stored"
    );

    // A new case before that time: its own operation is sent, the postponed one
    // is not (it counts as pending, and the report says when it is due).
    let second = app.submit_case(&answers(), &items(&[31])).await.unwrap();
    assert!(second.sent);
    assert_eq!(proxy.requests(), 4, "only the new case was sent");
    assert_eq!(second.flush.pending, 1);
    assert_eq!(
        second.flush.retry_after_ms,
        Some((next_attempt_at - now) as u64)
    );
    assert_eq!(app.case(first.case_id).unwrap().state, CaseState::Pending);

    // One millisecond before: still waiting.
    clock.0.store(next_attempt_at - 1, Ordering::SeqCst);
    let r = app.flush_due().await.unwrap();
    assert_eq!((r.sent, r.pending), (0, 1));
    assert_eq!(r.retry_after_ms, Some(1));
    assert_eq!(proxy.requests(), 4);

    // At the stored time it is sent, once.
    clock.0.store(next_attempt_at, Ordering::SeqCst);
    let r = app.flush_due().await.unwrap();
    assert_eq!((r.sent, r.pending), (1, 0));
    assert_eq!(proxy.requests(), 5);
    assert_agrees(&app, &svc);
    assert_eq!(svc.cases(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_flush_does_not_wait_for_the_retry_time() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let clock = Arc::new(TestClock(AtomicI64::new(1_000_000_000_000)));
    let app = phone.open_app_with_clock(&proxy.url, clock.clone());
    for _ in 0..3 {
        proxy.push_fault(Fault::Status(503));
    }
    let out = app.submit_case(&answers(), &items(&[32])).await.unwrap();
    assert!(!out.sent);
    // The clock has not moved: the host's flush (connectivity is back) sends it.
    let r = app.flush().await.unwrap();
    assert_eq!((r.sent, r.pending), (1, 0));
    assert_agrees(&app, &svc);
}
