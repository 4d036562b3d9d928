//! Sync against the real service on loopback: full and delta sync, withdrawals,
//! a crash between pages, a malformed record, classified retries.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Fault, Proxy, Rng, Service, random_image, random_video};
use takedown_platform::client::{Client, RetryPolicy};
use takedown_platform::matcher::Matcher;
use takedown_platform::store::{Change, Store};
use takedown_platform::sync::{SyncOptions, sync_once};
use takedown_platform::{Error, store};

fn quick_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn opts(page: u32) -> SyncOptions {
    SyncOptions {
        page_limit: page,
        retry: quick_retry(3),
        max_pages: None,
    }
}

fn client(url: &str, key: &str) -> Client {
    Client::new(url, key, Duration::from_secs(10)).unwrap()
}

fn md5_of(item: &Value) -> [u8; 16] {
    let o = item.get("image").or_else(|| item.get("video")).unwrap();
    let mut b = [0u8; 16];
    hex::decode_to_slice(o["md5"].as_str().unwrap(), &mut b).unwrap();
    b
}

fn sha_of(item: &Value) -> [u8; 32] {
    let o = item.get("image").or_else(|| item.get("video")).unwrap();
    let mut b = [0u8; 32];
    hex::decode_to_slice(o["sha256"].as_str().unwrap(), &mut b).unwrap();
    b
}

/// Every active entry of a store, for comparing two stores.
fn dump(s: &Store) -> Vec<String> {
    let mut v = Vec::new();
    s.for_each_active(|e| v.push(format!("{e:?}{:?}{:?}", e.md5, e.pdq.map(|p| p.hash))))
        .unwrap();
    v
}

#[tokio::test]
async fn full_sync_then_delta_sync_applies_only_the_changes() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(7);
    let mut items: Vec<Value> = (0..5).map(|_| random_image(&mut rng)).collect();
    items.push(random_video(&mut rng, 12));
    let (number, token, ids) = svc.create_case(items.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("list.sqlite3")).unwrap();
    let c = client(&svc.url, &key);

    let mut matcher = Matcher::from_store(&store).unwrap();
    let r = sync_once(&c, &mut store, &opts(4), &mut |ch, at| {
        matcher.apply_page(ch, at)
    })
    .await
    .unwrap();
    assert_eq!((r.pages, r.added, r.withdrawn, r.malformed), (2, 6, 0, 0));
    assert_eq!(r.cursor, svc.count("SELECT max(seq) FROM changes"));
    assert_eq!(matcher.len(), 6);
    // 5 pictures + 12 distinct frames in the index.
    assert_eq!(matcher.indexed_hashes(), 17);
    for (item, id) in items.iter().zip(&ids) {
        let hits = matcher.match_exact(&md5_of(item), &sha_of(item));
        assert!(hits.iter().all(|h| h.item_id == *id) && hits.len() == 2);
    }
    // Nothing new: an empty run.
    let r = sync_once(&c, &mut store, &opts(4), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((r.pages, r.added), (0, 0));

    // Delta: two more items; only they are fetched.
    let more: Vec<Value> = (0..2).map(|_| random_image(&mut rng)).collect();
    let new_ids = svc.add_items(&number, &token, more.clone()).await;
    let before = store.stats().unwrap().cursor;
    let r = sync_once(&c, &mut store, &opts(4), &mut |ch, at| {
        matcher.apply_page(ch, at)
    })
    .await
    .unwrap();
    assert_eq!((r.pages, r.added), (1, 2));
    assert!(r.cursor > before);
    assert_eq!(store.stats().unwrap().active, 8);
    assert_eq!(
        matcher.match_exact(&md5_of(&more[1]), &sha_of(&more[1]))[0].item_id,
        new_ids[1]
    );
    // The service counts the items as synced by this platform once it asks again.
    let _ = sync_once(&c, &mut store, &opts(4), &mut |_, _| {})
        .await
        .unwrap();
    let st = svc.status(&number, &token).await;
    assert!(
        st["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["platforms_synced"] == 1),
        "{st}"
    );
}

#[tokio::test]
async fn a_withdrawal_leaves_the_index_before_the_next_match() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(11);
    let items: Vec<Value> = vec![random_image(&mut rng), random_video(&mut rng, 5)];
    let (number, token, ids) = svc.create_case(items.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let c = client(&svc.url, &key);
    let mut matcher = Matcher::new();
    sync_once(&c, &mut store, &opts(100), &mut |ch, at| {
        matcher.apply_page(ch, at)
    })
    .await
    .unwrap();
    assert_eq!(matcher.len(), 2);

    svc.withdraw_item(&number, &token, ids[0]).await;
    svc.withdraw_item(&number, &token, ids[1]).await;
    let mut seen: Vec<Change> = Vec::new();
    let r = sync_once(&c, &mut store, &opts(100), &mut |ch, at| {
        matcher.apply_page(ch, at);
        seen.extend_from_slice(ch);
    })
    .await
    .unwrap();
    assert_eq!(r.withdrawn, 2);
    assert!(matcher.is_empty());
    assert_eq!(matcher.indexed_hashes(), 0);
    assert!(
        matcher
            .match_exact(&md5_of(&items[0]), &sha_of(&items[0]))
            .is_empty()
    );
    // The store keeps a tombstone without fingerprints; a rebuilt matcher agrees.
    let st = store.stats().unwrap();
    assert_eq!((st.active, st.withdrawn), (0, 2));
    assert!(Matcher::from_store(&store).unwrap().is_empty());
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let left: i64 = raw
        .query_row(
            "SELECT count(*) FROM entries WHERE md5 IS NOT NULL OR pdq IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let frames: i64 = raw
        .query_row("SELECT count(*) FROM frames", [], |r| r.get(0))
        .unwrap();
    assert_eq!((left, frames), (0, 0));
}

#[tokio::test]
async fn a_crash_between_pages_resumes_without_skipping_or_repeating() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(3);
    let (number, token, ids) = svc
        .create_case((0..10).map(|_| random_image(&mut rng)).collect())
        .await;
    svc.withdraw_item(&number, &token, ids[4]).await;
    let proxy = Proxy::start(&svc.url).await;
    let c = client(&proxy.url, &key);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.sqlite3");

    // The process stops after two pages of three…
    {
        let mut store = Store::open(&path).unwrap();
        let r = sync_once(
            &c,
            &mut store,
            &SyncOptions {
                max_pages: Some(2),
                ..opts(3)
            },
            &mut |_, _| {},
        )
        .await
        .unwrap();
        assert_eq!((r.pages, r.cursor, r.has_more), (2, 6, true));
    }
    // …restarts, and the service fails mid-way (page 3 fails for good this run)…
    {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.cursor().unwrap(), 6);
        proxy.fault("/v1/sync", Fault::Status(503));
        let e = sync_once(
            &c,
            &mut store,
            &SyncOptions {
                retry: quick_retry(1),
                ..opts(3)
            },
            &mut |_, _| {},
        )
        .await
        .unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert_eq!(store.cursor().unwrap(), 6);
    }
    // …and the next run finishes.
    let mut store = Store::open(&path).unwrap();
    let r = sync_once(&c, &mut store, &opts(3), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(r.cursor, svc.count("SELECT max(seq) FROM changes"));
    // Every change applied exactly once: 10 additions + 1 withdrawal.
    let st = store.stats().unwrap();
    assert_eq!(st.applied, svc.count("SELECT count(*) FROM changes"));
    assert_eq!((st.applied, st.active, st.withdrawn), (11, 9, 1));
    // Identical to a fresh full sync in one go.
    let other = tempfile::tempdir().unwrap();
    let mut fresh = Store::open(&other.path().join("list.sqlite3")).unwrap();
    sync_once(
        &client(&svc.url, &key),
        &mut fresh,
        &opts(1000),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(dump(&store), dump(&fresh));
    // Pages asked: cursor 0, 3 (stop), 6 (503), 6, 9.
    let asked: Vec<String> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /v1/sync"))
        .collect();
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert!(asked[2].contains("cursor=6") && asked[3].contains("cursor=6"));
}

#[tokio::test]
async fn a_malformed_record_is_counted_and_skipped_and_new_fields_are_ignored() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(5);
    let items: Vec<Value> = (0..6).map(|_| random_image(&mut rng)).collect();
    let (_, _, ids) = svc.create_case(items.clone()).await;
    let proxy = Proxy::start(&svc.url).await;
    let bad_item = ids[2];
    // A service of a later version: new fields on the page and the entries; and
    // one record whose PDQ is damaged.
    proxy.rewrite_sync(move |page| {
        page["server_time"] = Value::from(12345);
        for e in page["entries"].as_array_mut().unwrap() {
            e["labels"] = serde_json::json!(["new"]);
            if e["item_id"] == bad_item {
                e["pdq"] = Value::from("not-a-hash");
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let c = client(&proxy.url, &key);
    let r = sync_once(&c, &mut store, &opts(4), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((r.added, r.malformed), (5, 1));
    assert_eq!(r.cursor, svc.count("SELECT max(seq) FROM changes"));
    drop(store);
    // The counter is persisted, the record names the field and not the value.
    let store = Store::open(&path).unwrap();
    let st = store.stats().unwrap();
    assert_eq!((st.active, st.malformed), (5, 1));
    let m = &store.malformed(10).unwrap()[0];
    assert_eq!(m.item_id, Some(bad_item));
    assert_eq!(m.reason, "pdq: invalid");
    let matcher = Matcher::from_store(&store).unwrap();
    assert!(
        matcher
            .match_exact(&md5_of(&items[2]), &sha_of(&items[2]))
            .is_empty()
    );
    assert_eq!(
        matcher.match_exact(&md5_of(&items[3]), &sha_of(&items[3]))[0].item_id,
        ids[3]
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_rejections_stop_at_once() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(9);
    svc.create_case(vec![random_image(&mut rng)]).await;
    let proxy = Proxy::start(&svc.url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("list.sqlite3")).unwrap();

    proxy.fault("/v1/sync", Fault::Status(500));
    proxy.fault("/v1/sync", Fault::Status(429));
    let r = sync_once(
        &client(&proxy.url, &key),
        &mut store,
        &opts(10),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(r.added, 1);
    assert_eq!(proxy.requests().len(), 3);

    // A wrong key: one request, a clear message, nothing retried.
    let before = proxy.requests().len();
    let e = sync_once(
        &client(&proxy.url, "td_wrong_key"),
        &mut store,
        &opts(10),
        &mut |_, _| {},
    )
    .await
    .unwrap_err();
    match &e {
        Error::Rejected { status: 401, .. } => {}
        other => panic!("expected a 401 rejection, got {other}"),
    }
    assert!(e.to_string().contains("API key"), "{e}");
    assert!(!e.to_string().contains("td_wrong_key"));
    assert_eq!(proxy.requests().len(), before + 1);
    let _ = store::now();
}

/// Edge cuts as the service lists them (ADR 0410): the phone's cuts, sent with
/// the items, are stored by the kit and matched as the item (named in
/// `listed`); a withdrawal drops them from store and index. A proxy plays a
/// newer service (kinds of cut this kit does not know, ignored) and a broken one
/// (a cut of quality 101, which makes its entry malformed): the real service
/// refuses both on input.
#[tokio::test]
async fn edge_cuts_are_synced_matched_and_withdrawn() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let mut rng = Rng(0xc075);
    // Per item: its top and bottom cut hashes (random, far from everything).
    let cuts: Vec<([u8; 32], [u8; 32])> = (0..4).map(|_| (rng.bytes(), rng.bytes())).collect();
    let items: Vec<Value> = cuts
        .iter()
        .map(|(top, bottom)| {
            let mut it = random_image(&mut rng);
            it["image"]["edge_cuts"] = serde_json::json!({
                "top_20": {"pdq": hex::encode(top), "quality": 80},
                "bottom_20": {"pdq": hex::encode(bottom), "quality": 77},
            });
            it
        })
        .collect();
    let (number, token, ids) = svc.create_case(items.clone()).await;
    let cuts: Vec<(i64, [u8; 32], [u8; 32])> = ids
        .iter()
        .zip(&cuts)
        .map(|(&id, &(t, b))| (id, t, b))
        .collect();
    let bad_item = ids[3];
    let proxy = Proxy::start(&svc.url).await;
    proxy.rewrite_sync(move |page| {
        for e in page["entries"].as_array_mut().unwrap() {
            if e["op"] != "add" {
                continue;
            }
            assert!(
                e["edge_cuts"]["top_20"].is_object(),
                "the service lists cuts"
            );
            let c = e["edge_cuts"].as_object_mut().unwrap();
            c.insert(
                "left_20".into(),
                serde_json::json!({"pdq": "not hex", "quality": 80}),
            );
            c.insert("top_30".into(), serde_json::json!("a future form"));
            if e["item_id"] == bad_item {
                e["edge_cuts"]["bottom_20"]["quality"] = serde_json::json!(101);
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let c = client(&proxy.url, &key);
    let mut matcher = Matcher::new();
    let r = sync_once(&c, &mut store, &opts(3), &mut |ch, at| {
        matcher.apply_page(ch, at)
    })
    .await
    .unwrap();
    assert_eq!((r.added, r.malformed), (3, 1));
    assert_eq!(
        store.malformed(1).unwrap()[0].reason,
        "edge_cuts.bottom_20.quality: invalid"
    );
    assert_eq!(store.stats().unwrap().edge_cuts, 6);
    assert_eq!(matcher.indexed_hashes(), 9);
    let query = |h: [u8; 32]| {
        vec![takedown_platform::matcher::QueryPdq {
            variant: "bar-cut-20".into(),
            hash: h,
            quality: 90,
        }]
    };
    for (i, &(id, top, bottom)) in cuts.iter().take(3).enumerate() {
        for (h, name) in [(top, "cut-top-20"), (bottom, "cut-bottom-20")] {
            for m in [&matcher, &Matcher::from_store(&store).unwrap()] {
                let hits = m.match_pdq(&query(h));
                assert_eq!(hits.len(), 1, "item {i}");
                assert_eq!(hits[0].item_id, id);
                assert_eq!(hits[0].listed.as_deref(), Some(name));
            }
        }
    }
    // Withdrawal: the cuts leave the index at once and the store with the entry.
    svc.withdraw_item(&number, &token, ids[0]).await;
    sync_once(&c, &mut store, &opts(3), &mut |ch, at| {
        matcher.apply_page(ch, at)
    })
    .await
    .unwrap();
    assert!(matcher.match_pdq(&query(cuts[0].1)).is_empty());
    assert!(matcher.match_pdq(&query(cuts[0].2)).is_empty());
    assert_eq!(matcher.indexed_hashes(), 6);
    assert_eq!(store.stats().unwrap().edge_cuts, 4);
    assert_eq!(matcher.match_pdq(&query(cuts[1].1))[0].item_id, ids[1]);
}
