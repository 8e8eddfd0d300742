//! Connections served with limits: at most `max_connections` at once (the rest are answered
//! 503 and closed at once, so idle clients cannot take every file handle), request headers
//! read within `header_timeout`, and a connection on which nothing moves either way for
//! `idle_timeout` closed (a half-sent header or body, a keep-alive connection left open).
//! What is refused is logged and counted in `warden_http_refused_total`.

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

/// How many connections, and how long a quiet one is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Room for the database pool, the log and the data files is kept out of the process's
/// file-handle limit; the rest may be connections (at most 50,000).
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1024);
    soft.saturating_sub(256).clamp(64, 50_000)
}

/// Counts a request or connection refused before any handler ran (its body too large, the
/// server full, a client too slow), by reason.
pub fn refused(reason: &'static str) {
    metrics::counter!("warden_http_refused_total", "reason" => reason).increment(1);
}

/// The answer to a connection over the cap, written without reading its request.
fn busy() -> Vec<u8> {
    let body = serde_json::to_vec(&crate::problem::Problem::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "too-many-connections",
        "Too many connections",
        "the server holds its maximum of connections: try again in a few seconds",
    ))
    .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend(body);
    out
}

/// Serves `router` on connections from `listener` until `shutdown`; `info` puts the peer's
/// address into each request (as the handlers' `ConnectInfo`).
pub async fn serve<L, F>(
    mut listener: L,
    router: Router,
    limits: ConnectionLimits,
    info: F,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    L: axum::serve::Listener,
    L::Io: Unpin,
    L::Addr: Clone + Send + Sync + 'static,
    F: Fn(L::Addr, &mut axum::http::Extensions) + Clone + Send + Sync + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let refusals = Arc::new(AtomicU64::new(0));
    let busy: Arc<[u8]> = busy().into();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            c = listener.accept() => c,
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused("connections");
            // One line per thousand refusals: a flood must not flood the log too.
            if refusals
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1000)
            {
                tracing::warn!(
                    max = limits.max_connections,
                    "connection refused: the server holds its maximum of connections"
                );
            }
            let busy = busy.clone();
            tokio::spawn(async move {
                let mut io = io;
                let _ = tokio::time::timeout(Duration::from_secs(1), io.write_all(&busy)).await;
            });
            continue;
        };
        let info = info.clone();
        let svc = router
            .clone()
            .map_request(move |req: axum::http::Request<Incoming>| {
                let mut req = req.map(Body::new);
                info(addr.clone(), req.extensions_mut());
                req
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            // Room for the header check of the router to answer with a problem.
            .max_buf_size(1 << 20)
            .max_headers(500)
            .serve_connection(
                TokioIo::new(Quiet::new(io, limits.idle_timeout)),
                TowerToHyperService::new(svc),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                if e.is_timeout() {
                    refused("header-timeout");
                } else if is_idle(&e) {
                    refused("idle-timeout");
                }
                tracing::debug!(error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

fn is_idle(e: &hyper::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::TimedOut
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// A connection that fails with `TimedOut` once nothing has been read or written for `idle`.
struct Quiet<T> {
    inner: T,
    idle: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<T> Quiet<T> {
    fn new(inner: T, idle: Duration) -> Self {
        let now = Instant::now();
        Quiet {
            inner,
            idle,
            last: now,
            timer: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    /// Whether the connection has been quiet too long; the timer is moved on, not reset on
    /// every byte, so busy connections cost nothing here.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            let due = self.last + self.idle;
            if Instant::now() >= due {
                return true;
            }
            self.timer.as_mut().reset(due);
        }
    }

    fn quiet_error() -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, "nothing moved on the connection")
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Quiet<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.last = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(Self::quiet_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Quiet<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    this.last = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(Self::quiet_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
