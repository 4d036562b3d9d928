//! Tests that run the real `takedown-server` binary: crash safety (SIGKILL),
//! graceful shutdown, log hygiene, the admin command. Both backends.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_takedown-server");

both_backends!(
    sigkill_mid_stream_loses_no_acknowledged_write_and_duplicates_nothing,
    graceful_shutdown_finishes_in_flight_requests,
    logs_never_contain_secrets_or_fingerprints,
    admin_command_creates_lists_and_revokes_platform_keys,
);

struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(db: &TestDb, log_name: &str, env: &[(&str, &str)]) -> Server {
        let log = db.dir.path().join(log_name);
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .args(db.cli_args())
            .args(["--listen", "127.0.0.1:0", "--rate-limit", "0"])
            .env_remove("TAKEDOWN_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn takedown-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "server did not start; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line {line:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .parse()
            .expect("address");
        Server { child, addr, log }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} failed");
    }

    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(t.elapsed() < limit, "server did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("platform")
        .args(db.cli_args())
        .args(args)
        .env_remove("TAKEDOWN_DATABASE_URL")
        .output()
        .expect("run admin command");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn create_platform(db: &TestDb, name: &str) -> String {
    let (ok, out, err) = admin(db, &["create", name]);
    assert!(ok, "platform create failed: {err}");
    let key = out.trim().to_string();
    assert!(key.starts_with("tdk_") && key.len() == 68, "{key}");
    key
}

#[derive(Clone)]
struct Acked {
    key: String,
    resp: Value,
}

async fn sigkill_mid_stream_loses_no_acknowledged_write_and_duplicates_nothing(b: Backend) {
    let Some(db) = TestDb::new(b).await else {
        return;
    };
    let platform = create_platform(&db, "p1");
    let mut server = Server::start(&db, "run1.log", &[]);
    let http = Http::new(server.addr);

    let attempted: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let acked_feedback: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (http, attempted, acked, acked_feedback, platform) = (
            http.clone(),
            attempted.clone(),
            acked.clone(),
            acked_feedback.clone(),
            platform.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let key = idem_key();
                let body = case_body(&key, (0..1 + i % 3).map(|_| image_item()).collect());
                attempted.lock().unwrap().push((key.clone(), body.clone()));
                let Ok(r) = http
                    .try_send("POST", "/v1/cases", None, Some(serde_json::to_vec(&body).unwrap()))
                    .await
                else {
                    return;
                };
                assert_eq!(r.status, 201, "{}", r.text());
                let resp = r.json();
                acked.lock().unwrap().push(Acked { key, resp });
                // Feedback names the global id the platform synced (the
                // submitter only has per-case numbers): find it by MD5.
                let md5 = md5_of(&body["items"][0]);
                let Ok(r) = http
                    .try_send("GET", "/v1/sync?cursor=0&limit=50000", Some(&platform), None)
                    .await
                else {
                    return;
                };
                assert_eq!(r.status, 200, "{}", r.text());
                let item = r.json()["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["md5"].as_str() == Some(md5.as_str()))
                    .and_then(|e| e["item_id"].as_i64())
                    .unwrap();
                let event_id = format!("w{w}-{i}");
                let fb = json!({"events": [{"event_id": event_id, "item_id": item, "outcome": "matched"}]});
                let Ok(r) = http
                    .try_send("POST", "/v1/feedback", Some(&platform), Some(serde_json::to_vec(&fb).unwrap()))
                    .await
                else {
                    return;
                };
                assert_eq!(r.status, 200, "{}", r.text());
                acked_feedback.lock().unwrap().push((event_id, item));
            }
        }));
    }
    // Let the stream run, then kill the process without warning.
    let t = Instant::now();
    while acked.lock().unwrap().len() < 150 && t.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.wait(Duration::from_secs(10));
    for t in tasks {
        t.await.expect("client task");
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    let acked_feedback = acked_feedback.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} cases acknowledged before the kill",
        acked.len()
    );

    let server2 = Server::start(&db, "run2.log", &[]);
    let http = Http::new(server2.addr);
    // Every acknowledged case is there, with its token and items.
    for a in &acked {
        let number = a.resp["case_number"].as_str().unwrap();
        let token = a.resp["case_token"].as_str().unwrap();
        let r = http.get(&format!("/v1/cases/{number}"), Some(token)).await;
        assert_eq!(r.status, 200, "acknowledged case lost: {}", r.text());
        let st = r.json();
        let ids: Vec<i64> = st["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item_id"].as_i64().unwrap())
            .collect();
        assert_eq!(json!(ids), a.resp["item_ids"]);
    }
    // Every acknowledged feedback event is there exactly once.
    for (event_id, item) in &acked_feedback {
        let fb = json!({"events": [{"event_id": event_id, "item_id": item, "outcome": "matched"}]});
        let r = http.post("/v1/feedback", Some(&platform), &fb).await;
        assert_eq!(
            r.json(),
            json!({"accepted": 0, "duplicates": 1}),
            "feedback {event_id}"
        );
    }
    // Retrying every attempted request (acknowledged or cut off) yields one case each.
    let mut total_items = 0;
    for (key, body) in &attempted {
        let r = http.post("/v1/cases", None, body).await;
        assert!(r.status == 200 || r.status == 201, "{}", r.text());
        if let Some(a) = acked.iter().find(|a| &a.key == key) {
            assert_eq!(r.status, 200, "acknowledged case created twice");
            assert_eq!(r.json()["case_number"], a.resp["case_number"]);
            assert_eq!(r.json()["case_token"], a.resp["case_token"]);
        }
        total_items += body["items"].as_array().unwrap().len();
    }
    let (entries, _) = http.sync_all(&platform, 0, 50_000).await;
    assert_eq!(
        entries.len(),
        total_items,
        "no item stored twice, none lost"
    );
    let mut ids: Vec<i64> = entries
        .iter()
        .map(|e| e["item_id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total_items);
    drop(server2);
    db.drop_schema().await;
}

async fn graceful_shutdown_finishes_in_flight_requests(b: Backend) {
    let Some(db) = TestDb::new(b).await else {
        return;
    };
    let mut server = Server::start(&db, "serve.log", &[]);
    let addr = server.addr;
    let body =
        serde_json::to_vec(&case_body(&idem_key(), vec![image_item(), image_item()])).unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    let rest = rest.to_vec();
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        conn,
        "POST /v1/cases HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(first).unwrap();
    conn.flush().unwrap();
    // Give the server time to accept the connection and start the request.
    std::thread::sleep(Duration::from_millis(800));
    server.signal("-TERM");
    std::thread::sleep(Duration::from_millis(300));
    // No new connections are served once shutdown started...
    let refused = match std::net::TcpStream::connect(addr) {
        Err(_) => true,
        Ok(mut c) => {
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = write!(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            let mut buf = [0u8; 64];
            !matches!(c.read(&mut buf), Ok(n) if n > 0)
        }
    };
    assert!(refused, "a new connection was served during shutdown");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // ...but the in-flight request completes.
    conn.write_all(&rest).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut resp = String::new();
    let _ = conn.read_to_string(&mut resp);
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    assert!(resp.contains("\"case_number\""));
    let st = server.wait(Duration::from_secs(15));
    assert!(
        st.success(),
        "exit status {st:?}; log: {}",
        server.log_text()
    );
    // And it was stored.
    let platform = create_platform(&db, "after");
    let server2 = Server::start(&db, "serve2.log", &[]);
    let (entries, _) = Http::new(server2.addr).sync_all(&platform, 0, 100).await;
    assert_eq!(entries.len(), 2);
    drop(server2);
    db.drop_schema().await;
}

async fn logs_never_contain_secrets_or_fingerprints(b: Backend) {
    let Some(db) = TestDb::new(b).await else {
        return;
    };
    let platform = create_platform(&db, "p");
    let mut server = Server::start(&db, "debug.log", &[("TAKEDOWN_LOG", "debug")]);
    let http = Http::new(server.addr);
    let key = idem_key();
    let items = vec![image_item(), video_item(2)];
    let r = http
        .post("/v1/cases", None, &case_body(&key, items.clone()))
        .await;
    let v = r.json();
    let (number, token) = (
        v["case_number"].as_str().unwrap(),
        v["case_token"].as_str().unwrap(),
    );
    http.get(&format!("/v1/cases/{number}"), Some(token)).await;
    http.get(&format!("/v1/cases/{number}"), Some("tdc_wrong"))
        .await;
    http.post(
        "/v1/cases",
        None,
        &json!({"idempotency_key": key, "bogus": items[0]}),
    )
    .await;
    http.get("/v1/sync", Some(&platform)).await;
    http.get("/v1/export/csv", Some(&platform)).await;
    let item = global_id(&http, &platform, &items[0]).await;
    http.post("/v1/feedback", Some(&platform), &json!({"events": [{"event_id": "secret-ref-event", "item_id": item, "outcome": "matched", "reference": "platform-ticket-123"}]})).await;
    server.signal("-TERM");
    assert!(server.wait(Duration::from_secs(15)).success());
    let log = server.log_text();
    assert!(
        log.contains("request"),
        "no request log lines at all: {log}"
    );
    assert!(
        log.contains("/v1/cases/{case_number}"),
        "route templates are logged"
    );
    let mut secrets: Vec<String> = vec![
        token.to_string(),
        token[4..].to_string(),
        platform.clone(),
        platform[4..].to_string(),
        key.clone(),
        number.to_string(),
        "platform-ticket-123".to_string(),
    ];
    for it in &items {
        for kind in ["image", "video"] {
            for f in ["md5", "sha256", "pdq"] {
                if let Some(s) = it[kind][f].as_str() {
                    secrets.push(s.to_string());
                }
            }
        }
    }
    secrets.push(
        items[1]["video"]["frames"][0]["pdq"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "log contains a secret or fingerprint ({} chars)",
            s.len()
        );
    }
    db.drop_schema().await;
}

async fn admin_command_creates_lists_and_revokes_platform_keys(b: Backend) {
    let Some(db) = TestDb::new(b).await else {
        return;
    };
    let key = create_platform(&db, "acme");
    let (ok, _, err) = admin(&db, &["create", "acme"]);
    assert!(
        !ok && err.contains("acme"),
        "duplicate name must fail: {err}"
    );
    let (ok, out, _) = admin(&db, &["list"]);
    assert!(ok);
    let row: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(row["name"], "acme");
    assert!(row["revoked_at"].is_null());
    assert!(!out.contains(&key[4..]), "list never prints keys");
    let server = Server::start(&db, "admin.log", &[]);
    let http = Http::new(server.addr);
    assert_eq!(http.get("/v1/sync", Some(&key)).await.status, 200);
    let (ok, _, err) = admin(&db, &["revoke", "acme"]);
    assert!(ok, "{err}");
    assert_eq!(
        http.get("/v1/sync", Some(&key)).await.status,
        401,
        "revocation applies at once"
    );
    let (ok, _, _) = admin(&db, &["revoke", "acme"]);
    assert!(!ok, "revoking twice fails");
    drop(server);
    // Key material is not stored in the clear.
    if b == Backend::Sqlite {
        let raw = std::fs::read(db.dir.path().join("takedown.sqlite3")).unwrap();
        let needle = key.as_bytes();
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }
    let _ = Path::new(BIN);
    db.drop_schema().await;
}

/// A half-open connection (a request head and part of its body, then
/// silence) does not keep the process alive past the shutdown grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_within_the_grace_period_despite_a_half_open_connection() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    // Deadlines far longer than the grace period: only the grace ends it.
    let log = db.dir.path().join("half-open-2.log");
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(db.cli_args())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--shutdown-grace",
            "1",
            "--header-timeout",
            "120",
            "--body-timeout",
            "120",
        ])
        .env_remove("TAKEDOWN_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .expect("address line")
        .parse()
        .expect("address");
    let mut half = std::net::TcpStream::connect(addr).expect("connect");
    half.write_all(
        b"POST /v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"idem",
    )
    .unwrap();
    let mut head_only = std::net::TcpStream::connect(addr).expect("connect");
    head_only.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let st = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if t.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            panic!(
                "still running {:?} after SIGTERM; log: {}",
                t.elapsed(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(st.success(), "exit status {st:?}");
    drop((half, head_only));
}
