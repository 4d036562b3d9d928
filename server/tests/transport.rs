//! The connection layer under slow and hostile clients, on raw TCP: header,
//! body and idle deadlines, the connection cap with `/healthz` still answering,
//! and JSON bodies on the answers hyper makes itself. The storage backend
//! plays no part here, so these run on SQLite only.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use takedown_server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server(limits: Limits) -> TestServer {
    TestServer::start_with(Backend::Sqlite, limits, None)
        .await
        .expect("SQLite is always available")
}

/// Reads until the server closes the connection; panics when it is still open
/// after `limit`. Returns what was read and when it closed.
async fn until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(t.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => panic!(
                "connection still open after {limit:?}; read so far: {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, t.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Splits a raw HTTP/1.1 answer into status and body.
fn parse_answer(raw: &[u8]) -> (u16, String, Vec<u8>) {
    let text = String::from_utf8_lossy(raw);
    let end = text
        .find("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    let head = text[..end].to_string();
    let status = head[9..12].parse().expect("status");
    (status, head, raw[end + 4..].to_vec())
}

fn json_error(raw: &[u8]) -> (u16, Value) {
    let (status, head, body) = parse_answer(raw);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "not JSON: {head}"
    );
    let v: Value =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {head}"));
    assert!(v["error"]["code"].is_string(), "{v}");
    (status, v)
}

fn quick_limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(600),
        body_read_timeout: Duration::from_millis(600),
        idle_timeout: Duration::from_millis(600),
        ..test_limits()
    }
}

#[tokio::test]
async fn partial_headers_are_cut_at_the_header_deadline() {
    let s = server(Limits {
        idle_timeout: Duration::from_secs(60),
        ..quick_limits()
    })
    .await;
    // Half a head, then silence.
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, took) = until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(500), "closed early: {took:?}");
    // A byte at a time (slowloris) does not reset the deadline.
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    let t = Instant::now();
    let drip = async {
        for b in b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if c.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    drip.await;
    let (_, _) = until_closed(&mut c, Duration::from_secs(5)).await;
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "dripped head kept the connection for {:?}",
        t.elapsed()
    );
    // A connection that sends nothing at all.
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    until_closed(&mut c, Duration::from_secs(5)).await;
    s.stop().await;
}

#[tokio::test]
async fn a_short_body_gets_408_at_the_body_deadline() {
    let s = server(quick_limits()).await;
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    c.write_all(
        b"POST /v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"idem",
    )
    .await
    .unwrap();
    let (raw, took) = until_closed(&mut c, Duration::from_secs(5)).await;
    let (status, v) = json_error(&raw);
    assert_eq!(status, 408, "{v}");
    assert_eq!(v["error"]["code"], "body_timeout");
    assert!(took >= Duration::from_millis(500), "{took:?}");
    s.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_deadline() {
    // Idle shorter than the header deadline: the two clocks are separate.
    let s = server(Limits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(400),
        ..quick_limits()
    })
    .await;
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (raw, took) = until_closed(&mut c, Duration::from_secs(5)).await;
    let (status, _, _) = parse_answer(&raw);
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(5),
        "idle connection lived {took:?}"
    );
    // A kept-alive connection still serves a second request within the deadline.
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let n = c.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn at_the_connection_cap_healthz_still_answers_and_descriptors_stay_bounded() {
    let s = server(Limits {
        max_connections: 8,
        header_read_timeout: Duration::from_secs(30),
        ..test_limits()
    })
    .await;
    // 200 unfinished requests: 8 take the regular slots, the rest cycle
    // through the spare ones and are closed.
    let mut hogs = Vec::new();
    for _ in 0..200 {
        let mut c = TcpStream::connect(s.http.addr).await.unwrap();
        c.write_all(b"GET /v1/sync HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        hogs.push(c);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = tokio::time::timeout(Duration::from_secs(5), s.http.get("/healthz", None))
        .await
        .expect("healthz answered at the cap");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    c.write_all(b"GET /v1/sync HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (raw, _) = until_closed(&mut c, Duration::from_secs(5)).await;
    let (status, v) = json_error(&raw);
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "busy");
    // Count the hogs the server still holds: the regular slots plus at most
    // the spare ones.
    let mut open = 0;
    let mut buf = [0u8; 64];
    for c in &mut hogs {
        match tokio::time::timeout(Duration::from_millis(20), c.read(&mut buf)).await {
            Err(_) => open += 1,
            Ok(Ok(0)) | Ok(Err(_)) => {}
            Ok(Ok(_)) => open += 1,
        }
    }
    assert!(
        open <= 8 + takedown_server::transport::SPARE_CONNECTIONS,
        "{open} of 200 unfinished connections held"
    );
    assert!(open >= 8, "regular slots not held: {open}");
    drop(hogs);
    // Slots free up once the hogs leave.
    let mut ok = false;
    for _ in 0..50 {
        if s.http.get("/v1/openapi.json", None).await.status == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "slots never freed");
    s.stop().await;
}

#[tokio::test]
async fn shutdown_ends_within_the_grace_period_despite_a_half_open_connection() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_millis(500),
        ..test_limits()
    };
    let s = server(limits).await;
    let mut c = TcpStream::connect(s.http.addr).await.unwrap();
    c.write_all(b"POST /v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(s.http.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), s.stop())
        .await
        .expect("shutdown ended within its bound");
    assert!(t.elapsed() < Duration::from_secs(5));
    until_closed(&mut c, Duration::from_secs(2)).await;
    until_closed(&mut idle, Duration::from_secs(2)).await;
}

/// hyper answers what it cannot parse itself; those answers are JSON too.
#[tokio::test]
async fn the_http_layer_answers_400_414_431_with_json_bodies() {
    let s = server(test_limits()).await;
    let raw = |req: Vec<u8>| {
        let addr = s.http.addr;
        async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            // The server may answer before it has read everything.
            let _ = c.write_all(&req).await;
            until_closed(&mut c, Duration::from_secs(5)).await.0
        }
    };
    // A 20 KB URI.
    let long = format!(
        "GET /v1/cases/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(20_000)
    );
    let (status, v) = json_error(&raw(long.into_bytes()).await);
    assert_eq!(status, 414, "{v}");
    assert_eq!(v["error"]["code"], "uri_too_long");
    // 100 KB of headers.
    let mut big = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..100 {
        big.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "b".repeat(1000)).as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    let (status, v) = json_error(&raw(big).await);
    assert_eq!(status, 431, "{v}");
    assert_eq!(v["error"]["code"], "headers_too_large");
    // A garbage request line.
    let (status, v) = json_error(&raw(b"\x01\x02 garbage \xff\r\n\r\n".to_vec()).await);
    assert_eq!(status, 400, "{v}");
    // A bad header line.
    let (status, _) = json_error(&raw(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_vec()).await);
    assert_eq!(status, 400);
    s.stop().await;
}
