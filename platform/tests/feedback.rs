//! The feedback queue against the real service: events survive a restart, are
//! counted exactly once, and 5xx / lost answers are retried safely.

mod support;

use std::time::Duration;

use support::{Fault, Proxy, Rng, Service, random_image};
use takedown_platform::client::{Client, RetryPolicy};
use takedown_platform::feedback::{enqueue, flush};
use takedown_platform::store::Store;
use takedown_protocol::Outcome;

fn retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn events_survive_a_restart_and_are_counted_once_despite_5xx_and_lost_answers() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(21);
    let (number, token, ids) = svc
        .create_case(vec![random_image(&mut rng), random_image(&mut rng)])
        .await;
    let proxy = Proxy::start(&svc.url).await;
    let c = Client::new(&proxy.url, &key, Duration::from_secs(10)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.sqlite3");

    // Queued while offline, then the process stops.
    {
        let mut store = Store::open(&path).unwrap();
        enqueue(&mut store, ids[0], Outcome::Matched, None, None).unwrap();
        enqueue(
            &mut store,
            ids[0],
            Outcome::Removed,
            Some("ticket-1".into()),
            None,
        )
        .unwrap();
        enqueue(
            &mut store,
            ids[1],
            Outcome::ReviewedNotViolating,
            None,
            None,
        )
        .unwrap();
        let dead = Client::new("http://127.0.0.1:9", &key, Duration::from_secs(2)).unwrap();
        let e = flush(&dead, &mut store, &retry(1)).await.unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert_eq!(store.stats().unwrap().feedback_pending, 3);
    }
    // After the restart: a 503, then an answer lost after the service applied the
    // batch; the retries carry the same event ids.
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.stats().unwrap().feedback_pending, 3);
    proxy.fault("/v1/feedback", Fault::Status(503));
    proxy.fault("/v1/feedback", Fault::ForwardThenFail);
    let r = flush(&c, &mut store, &retry(5)).await.unwrap();
    assert_eq!((r.confirmed, r.duplicates, r.pending), (3, 3, 0));
    let posts = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST /v1/feedback"))
        .count();
    assert_eq!(posts, 3);
    // The service counted each event once.
    assert_eq!(svc.count("SELECT count(*) FROM feedback"), 3);
    let st = svc.status(&number, &token).await;
    let items = st["items"].as_array().unwrap();
    assert_eq!(
        (items[0]["matches"].as_i64(), items[0]["removals"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(items[1]["reviewed_not_violating"].as_i64(), Some(1));
    // Nothing is sent twice.
    let r = flush(&c, &mut store, &retry(5)).await.unwrap();
    assert_eq!(r.confirmed, 0);
    assert_eq!(svc.count("SELECT count(*) FROM feedback"), 3);
    // Queuing the same event id again is a no-op.
    enqueue(
        &mut store,
        ids[1],
        Outcome::Removed,
        None,
        Some("mine-1".into()),
    )
    .unwrap();
    enqueue(
        &mut store,
        ids[1],
        Outcome::Removed,
        None,
        Some("mine-1".into()),
    )
    .unwrap();
    flush(&c, &mut store, &retry(5)).await.unwrap();
    assert_eq!(svc.count("SELECT count(*) FROM feedback"), 4);
}

#[tokio::test]
async fn an_event_for_an_unknown_item_is_set_aside_and_the_rest_is_sent() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(22);
    let (_, _, ids) = svc.create_case(vec![random_image(&mut rng)]).await;
    let c = Client::new(&svc.url, &key, Duration::from_secs(10)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("list.sqlite3")).unwrap();
    enqueue(&mut store, 999_999, Outcome::Matched, None, None).unwrap();
    enqueue(&mut store, ids[0], Outcome::Matched, None, None).unwrap();
    let r = flush(&c, &mut store, &retry(2)).await.unwrap();
    assert_eq!((r.confirmed, r.rejected, r.pending), (1, 1, 0));
    assert_eq!(svc.count("SELECT count(*) FROM feedback"), 1);
    assert_eq!(store.stats().unwrap().feedback_rejected, 1);

    // A refused key stops the flush and keeps the queue.
    enqueue(&mut store, ids[0], Outcome::Removed, None, None).unwrap();
    let bad = Client::new(&svc.url, "td_not_a_key", Duration::from_secs(10)).unwrap();
    let e = flush(&bad, &mut store, &retry(3)).await.unwrap_err();
    assert!(
        matches!(e, takedown_platform::Error::Rejected { status: 401, .. }),
        "{e}"
    );
    assert_eq!(store.stats().unwrap().feedback_pending, 1);
}
