//! The connection layer: our own accept loop over hyper's HTTP/1 connections.
//!
//! It gives every connection three clocks (see ADR 0108):
//! - **header read**: from the first byte of a request (or from accept) until
//!   the request head is complete, at most [`Limits::header_read_timeout`];
//! - **idle**: from the end of a response until the first byte of the next
//!   request, at most [`Limits::idle_timeout`];
//! - **body read**: enforced where the body is read ([`crate::api::JsonBody`]),
//!   a total deadline of [`Limits::body_read_timeout`] from the request head.
//!
//! At most [`Limits::max_connections`] connections are served; above that a
//! few spare slots ([`SPARE_CONNECTIONS`]) answer one request each, `/healthz`
//! normally and everything else with 503, with a short header deadline; when
//! they are all taken a new connection evicts the oldest spare one, so open
//! descriptors stay bounded and a health probe still gets its answer. Shutdown stops accepting, asks
//! every connection to finish its request, and after
//! [`Limits::shutdown_grace`] drops whatever is left.
//!
//! hyper answers a request it cannot parse itself (400, 414, 431) with an
//! empty body; the stream wrapper rewrites exactly those answers into the
//! standard JSON error body, so every error the service gives is JSON.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower_service::Service;

use crate::Limits;
use crate::error::ApiError;

/// Connections above [`Limits::max_connections`] that may still be answered
/// (one request each: `/healthz`, or 503 for anything else).
pub const SPARE_CONNECTIONS: usize = 16;

/// Header deadline of a spare connection.
const SPARE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// hyper's read buffer: a request head larger than this gets 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Where a connection is in its request cycle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Reading a request head (or waiting for the first one).
    Head,
    /// A request is with the service, or its answer is being written.
    Busy,
    /// Between requests on a kept-alive connection.
    Idle,
}

/// The phase of one connection and since when, shared between the stream
/// wrapper (which enforces the deadlines) and the service (which moves it).
struct Clock {
    state: Mutex<(Phase, Instant)>,
    /// The reader to wake when the phase changes while it waits with no deadline.
    reader: Mutex<Option<std::task::Waker>>,
    header: Duration,
    idle: Duration,
}

impl Clock {
    fn new(header: Duration, idle: Duration) -> Self {
        Self {
            state: Mutex::new((Phase::Head, Instant::now())),
            reader: Mutex::new(None),
            header,
            idle,
        }
    }

    fn set(&self, p: Phase) {
        if let Ok(mut s) = self.state.lock() {
            *s = (p, Instant::now());
        }
        if p != Phase::Busy
            && let Some(w) = self.reader.lock().ok().and_then(|mut r| r.take())
        {
            w.wake();
        }
    }

    fn phase(&self) -> Phase {
        self.state.lock().map(|s| s.0).unwrap_or(Phase::Busy)
    }

    /// Bytes arrived: an idle connection starts a new request head.
    fn on_read(&self) {
        if let Ok(mut s) = self.state.lock()
            && s.0 == Phase::Idle
        {
            *s = (Phase::Head, Instant::now());
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let (p, since) = *self.state.lock().ok()?;
        match p {
            Phase::Head => Some(since + self.header),
            Phase::Idle => Some(since + self.idle),
            Phase::Busy => None,
        }
    }
}

/// Puts a connection back to idle when the answer's body is dropped (hyper
/// drops it once it has been written, or when the connection ends).
struct IdleOnDrop(Arc<Clock>);

impl Drop for IdleOnDrop {
    fn drop(&mut self) {
        self.0.set(Phase::Idle);
    }
}

/// An answer body that puts the connection back to idle when dropped; sizes
/// pass through (so `content-length` stays).
struct Tracked {
    inner: Body,
    _guard: IdleOnDrop,
}

impl hyper::body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A TCP stream with the header and idle deadlines, and the JSON rewrite of
/// hyper's own error answers.
struct Guarded {
    io: TcpStream,
    clock: Arc<Clock>,
    sleep: Pin<Box<Sleep>>,
    /// Bytes of a rewritten answer still to be written.
    pending: Vec<u8>,
    pending_at: usize,
}

impl Guarded {
    fn new(io: TcpStream, clock: Arc<Clock>) -> Self {
        Self {
            io,
            clock,
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            pending: Vec::new(),
            pending_at: 0,
        }
    }

    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pending_at < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.pending_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending_at += n;
        }
        self.pending.clear();
        self.pending_at = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.on_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if let Ok(mut r) = this.clock.reader.lock() {
                    *r = Some(cx.waker().clone());
                }
                if let Some(d) = this.clock.deadline() {
                    if this.sleep.deadline() != d {
                        this.sleep.as_mut().reset(d);
                    }
                    if this.sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "client too slow",
                        )));
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if this.clock.phase() != Phase::Busy
            && let Some(rewritten) = rewrite_bare_error(buf)
        {
            this.pending = rewritten;
            this.pending_at = 0;
            // Written by later calls if it does not fit now.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// hyper's own answer to an unparsable request is a bare head (`HTTP/1.1
/// 4xx …`, `content-length: 0`). Our own error answers always carry a JSON
/// body, so a bare 4xx head can only be hyper's: give it the JSON body.
fn rewrite_bare_error(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let code: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    let status = StatusCode::from_u16(code).ok()?;
    if !status.is_client_error() {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if end != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let lower = head.to_ascii_lowercase();
    let at = lower.find("\r\ncontent-length: 0\r\n")?;
    let body = crate::api::json_error_for(status).body_bytes();
    let mut out = Vec::with_capacity(buf.len() + body.len() + 64);
    out.extend_from_slice(&buf[..at]);
    out.extend_from_slice(
        format!(
            "\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&buf[at + "\r\ncontent-length: 0\r\n".len()..]);
    out.extend_from_slice(&body);
    Some(out)
}

/// The spare connections, oldest first. When all are taken, a new one evicts
/// the oldest: a health probe sends its request at once, so it is answered
/// even while a flood keeps opening connections.
#[derive(Default)]
struct Spares {
    open: Mutex<std::collections::VecDeque<(u64, Arc<Notify>)>>,
    next: std::sync::atomic::AtomicU64,
}

impl Spares {
    fn admit(self: &Arc<Self>) -> SpareSlot {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let evict = Arc::new(Notify::new());
        if let Ok(mut open) = self.open.lock() {
            if open.len() >= SPARE_CONNECTIONS
                && let Some((_, oldest)) = open.pop_front()
            {
                oldest.notify_one();
            }
            open.push_back((id, evict.clone()));
        }
        SpareSlot {
            spares: self.clone(),
            id,
            evict,
        }
    }
}

/// A spare connection's place; leaves the list when dropped.
struct SpareSlot {
    spares: Arc<Spares>,
    id: u64,
    evict: Arc<Notify>,
}

impl Drop for SpareSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.spares.open.lock() {
            open.retain(|(i, _)| *i != self.id);
        }
    }
}

/// Which slot a connection holds.
enum Slot {
    Full(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit),
    Spare(SpareSlot),
}

/// Serves `app` on `listener` until `shutdown` resolves, then ends within
/// [`Limits::shutdown_grace`] whatever clients do.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let full = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let spares = Arc::new(Spares::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            acc = listener.accept() => match acc {
                Ok((stream, peer)) => {
                    let slot = match full.clone().try_acquire_owned() {
                        Ok(p) => Slot::Full(p),
                        Err(_) => Slot::Spare(spares.admit()),
                    };
                    tasks.spawn(serve_conn(stream, peer, app.clone(), limits.clone(), slot, stop_rx.clone()));
                }
                Err(e) => {
                    // Out of descriptors or a network error: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let open = tasks.len();
    if open > 0 {
        tracing::info!(open, "waiting for open connections");
    }
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "shutdown grace period over; closing the remaining connections"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

/// The answer of a spare connection to anything but `/healthz`.
fn busy() -> Response {
    let mut r = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the service is at its connection limit; retry shortly",
    )
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    r
}

async fn serve_conn(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    slot: Slot,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let is_spare = matches!(slot, Slot::Spare(_));
    let evicted = match &slot {
        Slot::Spare(s) => Some(s.evict.clone()),
        Slot::Full(_) => None,
    };
    let header = if is_spare {
        limits.header_read_timeout.min(SPARE_HEADER_TIMEOUT)
    } else {
        limits.header_read_timeout
    };
    let clock = Arc::new(Clock::new(header, limits.idle_timeout));
    let io = Guarded::new(stream, clock.clone());
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut app = app.clone();
        let clock = clock.clone();
        clock.set(Phase::Busy);
        async move {
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            let req = Request::from_parts(parts, Body::new(body));
            let resp = if is_spare && req.uri().path() != "/healthz" {
                busy()
            } else {
                match std::future::poll_fn(|cx| {
                    <Router as Service<Request<Body>>>::poll_ready(&mut app, cx)
                })
                .await
                {
                    Ok(()) => app.call(req).await.unwrap_or_else(|e| match e {}),
                    Err(e) => match e {},
                }
            };
            let guard = IdleOnDrop(clock);
            Ok::<_, Infallible>(resp.map(move |b| {
                Body::new(Tracked {
                    inner: b,
                    _guard: guard,
                })
            }))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(!is_spare)
        .writev(false)
        .max_buf_size(MAX_HEAD_BYTES);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        _ = async {
            match &evicted {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        } => {}
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(slot);
}
