//! Serving connections so that a slow client cannot hold the server hostage.
//!
//! Rules:
//! - A client must send a request's headers within
//!   [`WebConfig::header_read_timeout`](crate::WebConfig) (hyper's HTTP/1
//!   header timer); otherwise the connection is closed.
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
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
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

/// Serves `router` on `listener` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
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
        let _ = stream.set_nodelay(true);
        let service =
            tower::ServiceExt::map_request(router.clone(), move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
                request.map(Body::new)
            });
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                changed = stop.changed() => {
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                    // Either way, wait for the connection to finish.
                    let _ = connection.as_mut().await;
                }
            }
            drop(done);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}
