//! Serving connections so that a slow client cannot hold the server hostage.
//!
//! Rules:
//! - A client must send a request's headers within
//!   [`WebConfig::header_read_timeout`](crate::WebConfig) (hyper's HTTP/1
//!   header timer, from the moment the connection is accepted and again
//!   after every answer); otherwise the connection is closed. A connection
//!   on which nothing moves while no request is being handled is closed
//!   after [`WebConfig::idle_timeout`](crate::WebConfig); one client address
//!   holds at most [`WebConfig::max_connections_per_ip`](crate::WebConfig)
//!   connections at once.
//! - A request's body must have arrived within
//!   [`WebConfig::body_read_timeout`](crate::WebConfig) of the request's start
//!   (a total, not a per-chunk, deadline: trickling one byte at a time does
//!   not extend it). A handler still reading then gets an error, and the
//!   client gets `408` problem+json (`type` …/request-timeout) with
//!   `Connection: close`, whatever the handler made of the broken body.
//! - Graceful shutdown as `axum::serve` does it: stop accepting, let every
//!   connection finish its request, then return.

use crate::error::problem_type;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The body read deadline was missed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// 408 problem+json, closing the connection.
fn request_timeout() -> Response {
    let body = serde_json::json!({
        "type": problem_type("request-timeout"),
        "title": "请求发送超时",
        "status": 408,
    });
    let mut response = (StatusCode::REQUEST_TIMEOUT, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Wraps every request body in a deadline and answers 408 when it was missed.
pub(crate) fn with_body_deadline(router: Router, limit: Duration) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: axum::middleware::Next| {
            let expired = Arc::new(AtomicBool::new(false));
            let deadline = Box::pin(tokio::time::sleep(limit));
            let flag = expired.clone();
            let request = request.map(|inner| {
                Body::new(DeadlineBody {
                    inner,
                    deadline,
                    expired: flag,
                })
            });
            async move {
                let response = next.run(request).await;
                if expired.load(Ordering::Relaxed) {
                    tracing::info!("request body too slow: 408");
                    return request_timeout();
                }
                response
            }
        },
    ))
}

/// How the server treats connections (from [`WebConfig`](crate::WebConfig)).
#[derive(Debug, Clone)]
pub(crate) struct ConnectionRules {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_per_address: usize,
    pub trusted_proxies: crate::client_addr::TrustedProxies,
}

/// Open connections per client address; a slot is given back when its
/// connection ends.
#[derive(Clone, Default)]
struct OpenConnections(Arc<Mutex<HashMap<IpAddr, usize>>>);

struct Slot {
    open: OpenConnections,
    ip: IpAddr,
}

impl OpenConnections {
    fn take(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot { open: self.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// When a connection last moved a byte, and how many of its requests are
/// being handled.
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last: AtomicU64,
    handling: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A stream that notes every byte moved on its [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts a request as being handled until its response (head) is ready.
struct Handling(Arc<Activity>);

impl Handling {
    fn new(activity: &Arc<Activity>) -> Handling {
        activity.handling.fetch_add(1, Ordering::Relaxed);
        Handling(activity.clone())
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// Resolves once the connection has been idle (no byte moved, no request
/// being handled) for `idle`.
async fn idle(activity: Arc<Activity>, idle: Duration) {
    loop {
        let quiet = activity.idle_for();
        if quiet >= idle && activity.handling.load(Ordering::Relaxed) == 0 {
            return;
        }
        tokio::time::sleep(idle.saturating_sub(quiet).max(Duration::from_millis(50))).await;
    }
}

/// Serves `router` on `listener` until `shutdown` resolves.
///
/// - HTTP/1.1 only (HTTP/2 is not built in): hyper's header timer runs from
///   the moment a connection is accepted, so a client that sends nothing
///   is closed after `header_read_timeout`, and so is one that keeps a
///   connection open between requests for that long;
/// - a connection on which nothing moves and no request is being handled
///   for `idle_timeout` (a client that stops reading its answer) is closed;
/// - at most `max_per_address` connections at once from one client address
///   (a trusted proxy's are not counted: it speaks for many); more are
///   closed at once, unanswered;
/// - behind a trusted proxy the client's address is taken from
///   `X-Forwarded-For` ([`crate::client_addr`]).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    rules: ConnectionRules,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    let open = OpenConnections::default();
    let rules = Arc::new(rules);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = if rules.trusted_proxies.contains(remote.ip()) {
            None
        } else {
            match open.take(remote.ip(), rules.max_per_address) {
                Some(slot) => Some(slot),
                None => {
                    metrics::counter!("connections_refused_total").increment(1);
                    tracing::debug!(client = %remote.ip(), "too many connections from one address: closed");
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        });
        let counted = activity.clone();
        let proxies = rules.clone();
        let service = tower::ServiceExt::map_future(
            tower::ServiceExt::map_request(router.clone(), move |mut request: Request<hyper::body::Incoming>| {
                let client = proxies.trusted_proxies.client(remote.ip(), request.headers());
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
                request.extensions_mut().insert(crate::client_addr::ClientIp(client));
                request.map(Body::new)
            }),
            move |response| {
                let handling = Handling::new(&counted);
                async move {
                    let response = response.await;
                    drop(handling);
                    response
                }
            },
        );
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        let (header_read_timeout, idle_timeout) = (rules.header_read_timeout, rules.idle_timeout);
        tokio::spawn(async move {
            let io = Watched {
                inner: stream,
                activity: activity.clone(),
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection = builder
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let mut quiet = std::pin::pin!(idle(activity, idle_timeout));
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                () = quiet.as_mut() => {
                    tracing::debug!("idle connection closed");
                }
                changed = stop.changed() => {
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                    // Either way, wait for the connection to finish (or to
                    // fall idle).
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        () = quiet.as_mut() => {}
                    }
                }
            }
            drop(slot);
            drop(done);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}
