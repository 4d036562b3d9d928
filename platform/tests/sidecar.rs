//! The sidecar on loopback, syncing from the real service in the background:
//! match decisions for uploads and fingerprints, limits, health, metrics,
//! feedback, and a withdrawal reaching it while it keeps serving.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::pictures::{jpeg, photo};
use support::{Service, http};
use takedown_fingerprint as fingerprint;
use takedown_platform::client::Client;
use takedown_platform::sidecar::{Sidecar, SidecarConfig, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_answers_from_the_synced_list_and_follows_withdrawals() {
    let svc = Service::start().await;
    let key = svc.platform_key("p1").await;
    let original = photo(77, 640, 480);
    let listed = jpeg(&original, 92);
    let fp = fingerprint::hashing::fingerprint_image_bytes(
        &listed,
        &fingerprint::media::DecodeOptions::default(),
    )
    .unwrap();
    let (number, token, ids) = svc
        .create_case(vec![
            json!({"image": {"md5": fp.exact.md5, "sha256": fp.exact.sha256,
            "pdq": fp.pdq.hash.to_hex(), "quality": fp.pdq.quality}}),
        ])
        .await;

    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(&svc.url, &key, Duration::from_secs(10)).unwrap();
    let config = SidecarConfig {
        max_body_bytes: 2 * 1024 * 1024,
        sync_interval: Some(Duration::from_millis(200)),
        ..SidecarConfig::default()
    };
    let (sidecar, store) =
        Sidecar::open(&dir.path().join("list.sqlite3"), Some(client), config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, sidecar, store, async {
        let _ = rx.await;
    }));
    let c = http();

    // Wait for the first background sync.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h: Value = c
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if h["entries"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "never synced: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let post = |path: &'static str, body: Vec<u8>| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let r = c
                .post(format!("{url}{path}"))
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // A rotated re-upload matches, through the expansion.
    let (s, v) = post("/v1/match", jpeg(&image::imageops::rotate90(&original), 80)).await;
    assert_eq!(s, 200);
    assert_eq!(v["matched"], true, "{v}");
    assert_eq!(v["hits"][0]["item_id"], ids[0]);
    assert_eq!(v["hits"][0]["hash"], "pdq");
    assert_eq!(v["hits"][0]["listed"], "picture", "{v}");
    // An unrelated picture does not.
    let (s, v) = post("/v1/match", jpeg(&photo(5, 640, 480), 80)).await;
    assert_eq!((s, v["matched"].clone()), (200, Value::Bool(false)));
    // Fingerprints instead of bytes.
    let body = serde_json::to_vec(&json!({"sha256": fp.exact.sha256})).unwrap();
    let (s, v) = post("/v1/match/fingerprints", body).await;
    assert_eq!((s, v["hits"][0]["hash"].clone()), (200, json!("sha256")));
    assert!(v["hits"][0].get("listed").is_none(), "{v}");
    let body = serde_json::to_vec(&json!({"pdq": "zz"})).unwrap();
    assert_eq!(post("/v1/match/fingerprints", body).await.0, 422);
    // Limits: not a picture, and a body over the limit.
    assert_eq!(post("/v1/match", b"hello".to_vec()).await.0, 422);
    // (On its own connection: the sidecar answers 413 without reading the body and
    // closes the connection, which a pooled client could otherwise reuse.)
    let over = http()
        .post(format!("{url}/v1/match"))
        .body(vec![0u8; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(over.status().as_u16(), 413);

    // Feedback is queued and sent in the background.
    let body = serde_json::to_vec(&json!({"item_id": ids[0], "outcome": "removed"})).unwrap();
    assert_eq!(post("/v1/feedback", body).await.0, 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    while svc.count("SELECT count(*) FROM feedback") == 0 {
        assert!(Instant::now() < deadline, "feedback never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let st = svc.status(&number, &token).await;
    assert_eq!(st["items"][0]["removals"], 1);

    // Metrics in Prometheus text.
    let m = c
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("takedown_platform_match_requests_total 3"),
        "{m}"
    );
    assert!(m.contains("takedown_platform_list_entries 1"), "{m}");
    assert!(m.contains("takedown_platform_match_seconds_count"), "{m}");

    // Withdrawn: the next background sync drops it; the sidecar never stopped serving.
    let r = c
        .post(format!("{}/v1/cases/{number}/withdraw", svc.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, v) = post("/v1/match", listed.clone()).await;
        assert_eq!(s, 200);
        if v["matched"] == false {
            break;
        }
        assert!(Instant::now() < deadline, "withdrawal never applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = tx.send(());
    server.await.unwrap().unwrap();
}
