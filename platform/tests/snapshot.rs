//! The saved matcher is keyed to the sync position (loaded only when it equals the
//! list's, else rebuilt), and the index is compacted off the serving path: writes
//! made while the compacted copy is built are replayed before the swap, and the
//! sidecar answers throughout.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Rng, Service, http, random_image};
use takedown_platform::client::Client;
use takedown_platform::index::Hash;
use takedown_platform::matcher::{Matcher, Opened, Position, QueryPdq, snapshot_path};
use takedown_platform::sidecar::{Sidecar, SidecarConfig, serve};
use takedown_platform::store::{Change, Entry, PdqValue, Store};
use takedown_platform::sync::{SyncOptions, sync_once};
use takedown_protocol::ItemKind;

fn query(hash: Hash) -> Vec<QueryPdq> {
    vec![QueryPdq {
        variant: "original".into(),
        hash,
        quality: 90,
    }]
}

/// Answers of `m` for `queries`: (query, item, distance) triples.
fn answers(m: &Matcher, queries: &[Hash]) -> Vec<(usize, i64, u32)> {
    let mut out = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        for h in m.match_pdq(&query(*q)) {
            out.push((i, h.item_id, h.distance));
        }
    }
    out
}

fn near(h: &Hash, rng: &mut Rng, bits: usize) -> Hash {
    let mut x = *h;
    for _ in 0..bits {
        let b = (rng.next() % 256) as usize;
        x[b / 8] ^= 1 << (b % 8);
    }
    x
}

fn pdq_of(v: &Value) -> Hash {
    let mut h = [0u8; 32];
    hex::decode_to_slice(v["image"]["pdq"].as_str().unwrap(), &mut h).unwrap();
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_matcher_loads_only_at_the_lists_position() {
    let svc = Service::start().await;
    let key = svc.platform_key("p").await;
    let mut rng = Rng(0x51ab);
    let items: Vec<Value> = (0..40).map(|_| random_image(&mut rng)).collect();
    let hashes: Vec<Hash> = items.iter().map(pdq_of).collect();
    let (number, token, ids) = svc.create_case(items).await;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("list.sqlite3");
    let snap = snapshot_path(&db);
    let client = Client::new(&svc.url, &key, Duration::from_secs(10)).unwrap();
    let mut store = Store::open(&db).unwrap();
    let mut matcher = Matcher::from_store(&store).unwrap();
    let opts = SyncOptions {
        page_limit: 7,
        ..SyncOptions::default()
    };
    sync_once(&client, &mut store, &opts, &mut |ch, at| {
        matcher.apply_page(ch, at)
    })
    .await
    .unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(
        matcher.position(),
        Some(Position {
            cursor: stats.cursor,
            applied: stats.applied
        })
    );

    // Nothing saved yet: rebuilt.
    let (_, how) = Matcher::open(&store, &snap).unwrap();
    assert_eq!(how, Opened::Rebuilt("no saved matcher".into()));

    // Saved at the list's position: loaded, and it answers like a rebuild.
    assert!(matcher.save(&snap).unwrap());
    let (loaded, how) = Matcher::open(&store, &snap).unwrap();
    assert_eq!(how, Opened::Loaded);
    let mut queries: Vec<Hash> = hashes.iter().map(|h| near(h, &mut rng, 12)).collect();
    queries.extend((0..20).map(|_| random_hash(&mut rng)));
    let rebuilt = Matcher::from_store(&store).unwrap();
    let want = answers(&rebuilt, &queries);
    assert_eq!(want.len(), 40, "each near query finds its own item");
    assert_eq!(answers(&loaded, &queries), want);
    assert_eq!(loaded.len(), 40);

    // The list moves on (a withdrawal) but the saved matcher does not: rebuilt,
    // and the reason names the cursors.
    svc.withdraw_item(&number, &token, ids[0]).await;
    sync_once(&client, &mut store, &opts, &mut |_, _| {})
        .await
        .unwrap();
    let (m, how) = Matcher::open(&store, &snap).unwrap();
    match how {
        Opened::Rebuilt(why) => assert!(why.contains("cursor"), "{why}"),
        Opened::Loaded => panic!("a stale matcher was loaded"),
    }
    assert_eq!(m.len(), 39);
    assert!(m.match_pdq(&query(hashes[0])).is_empty());

    // A damaged file is a rebuild, never an error or a panic.
    assert!(m.save(&snap).unwrap());
    let mut bytes = std::fs::read(&snap).unwrap();
    for at in [40usize, bytes.len() / 2, bytes.len() - 3] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x20;
        std::fs::write(&snap, &bad).unwrap();
        let (m2, how) = Matcher::open(&store, &snap).unwrap();
        assert!(
            matches!(how, Opened::Rebuilt(ref w) if w.contains("damaged")),
            "{how:?}"
        );
        assert_eq!(m2.len(), 39);
    }
    bytes.truncate(bytes.len() / 3);
    std::fs::write(&snap, &bytes).unwrap();
    assert!(matches!(
        Matcher::open(&store, &snap).unwrap().1,
        Opened::Rebuilt(_)
    ));

    // A matcher fed pages without their position is never saved.
    let mut blind = Matcher::from_store(&store).unwrap();
    blind.apply(&[]);
    assert_eq!(blind.position(), None);
    assert!(!blind.save(&snap).unwrap());
}

fn entry(id: i64, hash: Hash) -> Change {
    Change::Upsert(Entry {
        item_id: id,
        seq: id,
        kind: ItemKind::Image,
        md5: [id as u8; 16],
        sha256: [(id >> 8) as u8; 32],
        pdq: Some(PdqValue { hash, quality: 90 }),
        frames: vec![],
        edge_cuts: vec![],
    })
}

fn random_hash(rng: &mut Rng) -> Hash {
    let mut h = [0u8; 32];
    for b in h.iter_mut() {
        *b = rng.next() as u8;
    }
    h
}

#[test]
fn writes_during_a_compaction_are_replayed_before_the_swap() {
    let mut rng = Rng(0xc0ffee);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("list.sqlite3")).unwrap();
    let hashes: Vec<Hash> = (0..12_000).map(|_| random_hash(&mut rng)).collect();
    let page: Vec<Change> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| entry(i as i64 + 1, *h))
        .collect();
    store.apply_page(0, 12_000, &page, &[]).unwrap();
    let mut m = Matcher::from_store(&store).unwrap();
    // Withdraw a third one by one: tombstones pile up.
    let mut cursor = 12_000;
    let removals: Vec<Change> = (1..=4_000)
        .map(|i| Change::Remove {
            item_id: i * 3,
            seq: cursor + i,
        })
        .collect();
    for c in removals.chunks(500) {
        store.apply_page(cursor, cursor + 500, c, &[]).unwrap();
        cursor += 500;
        m.apply_page(
            c,
            Position {
                cursor,
                applied: store.applied().unwrap(),
            },
        );
    }
    assert!(m.needs_compaction(), "{:?}", m.index_shape());

    // Begin; then, while the copy is built, more pages arrive.
    let job = m.begin_compaction().expect("none running");
    assert!(m.begin_compaction().is_none(), "one at a time");
    let mut more: Vec<Change> = (0..300)
        .map(|i| entry(20_000 + i, random_hash(&mut rng)))
        .collect();
    more.extend((0..200).map(|i| Change::Remove {
        item_id: i * 3 + 1,
        seq: cursor + 301 + i,
    }));
    // Replacing an item's hash mid-compaction.
    more.push(entry(2, random_hash(&mut rng)));
    store.apply_page(cursor, cursor + 501, &more, &[]).unwrap();
    cursor += 501;
    m.apply_page(
        &more,
        Position {
            cursor,
            applied: store.applied().unwrap(),
        },
    );
    let built = job.build();
    let _old = m.finish_compaction(built);
    // One segment; the only tombstones are the writes replayed onto it (200
    // withdrawals and one replaced hash), not the 4000 from before.
    let (segments, dead) = m.index_shape();
    assert!(
        segments == 1 && dead <= 201,
        "{segments} segments, {dead} dead"
    );
    assert!(!m.needs_compaction());

    // Identical to a matcher rebuilt from the store.
    let fresh = Matcher::from_store(&store).unwrap();
    assert_eq!(m.len(), fresh.len());
    assert_eq!(m.indexed_hashes(), fresh.indexed_hashes());
    let mut queries: Vec<Hash> = hashes
        .iter()
        .step_by(7)
        .map(|h| near(h, &mut rng, 10))
        .collect();
    queries.extend((0..50).map(|_| random_hash(&mut rng)));
    assert_eq!(answers(&m, &queries), answers(&fresh, &queries));
    // The compacted matcher keeps its position: it can be saved and loaded.
    let snap = dir.path().join("matcher.snapshot");
    assert!(m.save(&snap).unwrap());
    assert_eq!(Matcher::open(&store, &snap).unwrap().1, Opened::Loaded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidecar_compacts_while_serving_and_saves_for_the_next_start() {
    let mut rng = Rng(0xfeed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("list.sqlite3");
    let hashes: Vec<Hash> = (0..20_000).map(|_| random_hash(&mut rng)).collect();
    {
        let mut store = Store::open(&db).unwrap();
        let page: Vec<Change> = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| entry(i as i64 + 1, *h))
            .collect();
        store.apply_page(0, 20_000, &page, &[]).unwrap();
    }
    let config = SidecarConfig {
        sync_interval: None,
        maintenance_interval: None,
        ..SidecarConfig::default()
    };
    let (sidecar, store) = Sidecar::open(&db, None, config.clone()).unwrap();
    // Without deletes there is little to gain, but a compaction is always allowed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sidecar = std::sync::Arc::new(sidecar);
    let router = sidecar.router();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    // Requests without pause while compactions run.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered_so_far = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let client = {
        let (base, stop, probe) = (base.clone(), stop.clone(), hashes[123]);
        let answered_so_far = answered_so_far.clone();
        tokio::spawn(async move {
            let http = http();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let v: Value = http
                    .post(format!("{base}/v1/match/fingerprints"))
                    .json(&json!({"pdq": hex::encode(probe), "quality": 90}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(v["hits"][0]["item_id"], 124, "{v}");
                n += 1;
                answered_so_far.store(n, std::sync::atomic::Ordering::Relaxed);
            }
            n
        })
    };
    // The client is under way before the first compaction (on a loaded machine
    // three compactions could otherwise finish before its first answer).
    while answered_so_far.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for _ in 0..3 {
        assert!(sidecar.compact_now().await);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered = client.await.unwrap();
    assert!(answered > 0);
    let metrics = http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("takedown_platform_index_compactions_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("takedown_platform_index_segments 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("takedown_platform_index_dead_rows 0"),
        "{metrics}"
    );

    // Saved once (the rebuild at start was not saved yet); not again while unchanged.
    assert!(sidecar.save_now().await.unwrap());
    assert!(!sidecar.save_now().await.unwrap());
    let _ = tx.send(());
    server.await.unwrap().unwrap();
    drop(store);
    let store = Store::open(&db).unwrap();
    let (m, how) = Matcher::open(&store, &snapshot_path(&db)).unwrap();
    assert_eq!(how, Opened::Loaded);
    assert_eq!(m.len(), 20_000);

    // The full serve path saves at shutdown too, and the next start loads it.
    std::fs::remove_file(snapshot_path(&db)).unwrap();
    let (sidecar, store2) = Sidecar::open(&db, None, config).unwrap();
    drop(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(serve(listener, sidecar, store2, async {
        let _ = rx.await;
    }));
    let _ = tx.send(());
    h.await.unwrap().unwrap();
    let store = Store::open(&db).unwrap();
    assert_eq!(
        Matcher::open(&store, &snapshot_path(&db)).unwrap().1,
        Opened::Loaded
    );
}
