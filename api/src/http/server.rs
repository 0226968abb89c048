//! Serving the app on a TCP listener with the edge's bounds on connections (poem's `Server`
//! offers only an inactivity timeout, which a client sending one header line every few
//! seconds never meets):
//!
//! - a request's headers must arrive within `header_timeout` of its first byte, and a
//!   kept-alive connection may wait `idle_timeout` for its next request; either is closed
//!   after that (the body's own deadline is the middleware's: 408);
//! - at most `max_connections` connections are served; one beyond it is answered 503 with
//!   `Retry-After` and closed, but `/health/live` still answers 200 there, so an orchestrator
//!   does not restart a server that is only busy.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use atomic_waker::AtomicWaker;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::http::{Method, StatusCode, header};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

use crate::config::EdgeConfig;
use crate::http::error::ProblemDetails;

/// The seconds a refused client is asked to wait.
pub const RETRY_AFTER_SECONDS: u64 = 1;

pub struct Server {
    listener: TcpListener,
    edge: EdgeConfig,
}

impl Server {
    pub fn new(listener: TcpListener, edge: EdgeConfig) -> Self {
        Self { listener, edge }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `app` until `signal`, then lets the connections finish their requests for at
    /// most `timeout` (as poem's `Server::run_with_graceful_shutdown`).
    pub async fn run_with_graceful_shutdown<E>(
        self,
        app: E,
        signal: impl Future<Output = ()>,
        timeout: Option<Duration>,
    ) -> io::Result<()>
    where
        E: Endpoint<Output = Response> + 'static,
    {
        let app: Arc<dyn poem::endpoint::DynEndpoint<Output = Response>> =
            Arc::new(poem::endpoint::ToDynEndpoint(app.map_to_response()));
        let connections = Arc::new(Semaphore::new(self.edge.max_connections));
        let (stop, stopped) = watch::channel(false);
        let open = Arc::new(AtomicUsize::new(0));
        let all_closed = Arc::new(tokio::sync::Notify::new());
        let local = self.listener.local_addr()?;
        tokio::pin!(signal);
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut signal => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Out of file descriptors and the like: wait a little, keep serving.
                    Err(err) => {
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let permit = Arc::clone(&connections).try_acquire_owned().ok();
            let connection = Connection {
                app: permit.is_some().then(|| Arc::clone(&app)),
                edge: self.edge.clone(),
                local,
                peer,
            };
            let mut stopped = stopped.clone();
            let open = Arc::clone(&open);
            let all_closed = Arc::clone(&all_closed);
            open.fetch_add(1, Ordering::AcqRel);
            tokio::spawn(async move {
                connection.serve(stream, &mut stopped).await;
                drop(permit);
                if open.fetch_sub(1, Ordering::AcqRel) == 1 {
                    all_closed.notify_waiters();
                }
            });
        }
        drop(self.listener);
        let _ = stop.send(true);
        let drained = async {
            while open.load(Ordering::Acquire) > 0 {
                let notified = all_closed.notified();
                if open.load(Ordering::Acquire) == 0 {
                    break;
                }
                notified.await;
            }
        };
        match timeout {
            Some(timeout) => {
                if tokio::time::timeout(timeout, drained).await.is_err() {
                    tracing::warn!(
                        connections = open.load(Ordering::Acquire),
                        "the grace period ended with requests still in flight; they are cut"
                    );
                }
            }
            None => drained.await,
        }
        Ok(())
    }
}

struct Connection {
    /// `None` for a connection beyond the cap: it is answered 503 (`/health/live` 200).
    app: Option<Arc<dyn poem::endpoint::DynEndpoint<Output = Response>>>,
    edge: EdgeConfig,
    local: SocketAddr,
    peer: SocketAddr,
}

impl Connection {
    async fn serve(self, stream: TcpStream, stopped: &mut watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let state = Arc::new(ConnectionState::default());
        let io = Deadlines::new(stream, Arc::clone(&state), &self.edge);
        let overloaded = self.app.is_none();
        let Connection {
            app, local, peer, ..
        } = self;
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let app = app.clone();
            let busy = Busy::start(Arc::clone(&state));
            async move {
                let req: poem::Request = (
                    req,
                    LocalAddr(local.into()),
                    RemoteAddr(peer.into()),
                    poem::http::uri::Scheme::HTTP,
                )
                    .into();
                let response = match app {
                    Some(app) => app.get_response(req).await,
                    None => beyond_the_cap(&req),
                };
                drop(busy);
                Ok::<hyper::Response<_>, Infallible>(response.into())
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        if overloaded {
            builder.http1().keep_alive(false);
        }
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = stopped.wait_for(|stop| *stop) => {}
        }
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// The answer on a connection beyond the cap.
fn beyond_the_cap(req: &poem::Request) -> Response {
    if req.method() == Method::GET && req.uri().path() == "/health/live" {
        return Response::builder()
            .status(StatusCode::OK)
            .content_type("application/json")
            .body(r#"{"status":"ok"}"#);
    }
    overloaded("the server has as many connections as it serves; retry shortly")
}

/// A 503 problem asking the client to come back in [`RETRY_AFTER_SECONDS`].
pub fn overloaded(detail: &str) -> Response {
    let mut response =
        ProblemDetails::for_status(StatusCode::SERVICE_UNAVAILABLE, detail.into()).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
    response
}

/// What the deadlines of a connection need to know of its requests.
#[derive(Default)]
struct ConnectionState {
    /// Requests being handled (more than one with HTTP/2).
    busy: AtomicUsize,
    /// Set when a request is dispatched or finishes: the deadline starts over.
    changed: AtomicBool,
    /// The connection's task as it last read. hyper does not read again after an answer
    /// when its last read found nothing, so a finished request wakes it to start the idle
    /// deadline (else a kept-alive connection that sends nothing more is never closed).
    reader: AtomicWaker,
}

/// Marks a request as being handled while it lives.
struct Busy(Arc<ConnectionState>);

impl Busy {
    fn start(state: Arc<ConnectionState>) -> Self {
        state.busy.fetch_add(1, Ordering::AcqRel);
        state.changed.store(true, Ordering::Release);
        Self(state)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.store(true, Ordering::Release);
        self.0.reader.wake();
    }
}

/// The socket with the header and idle deadlines: while no request is being handled, a
/// connection that has sent nothing is closed after `idle`, and one that has begun a request
/// is closed `header` after its first byte unless the request was dispatched by then.
struct Deadlines {
    inner: TcpStream,
    state: Arc<ConnectionState>,
    header: Duration,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Whether the deadline now running is the header one (a byte has arrived since the
    /// last request was dispatched or finished).
    for_header: bool,
}

impl Deadlines {
    fn new(inner: TcpStream, state: Arc<ConnectionState>, edge: &EdgeConfig) -> Self {
        Self {
            inner,
            state,
            header: edge.header_timeout,
            idle: edge.idle_timeout,
            deadline: Box::pin(tokio::time::sleep(edge.idle_timeout)),
            for_header: false,
        }
    }

    fn restart(&mut self, after: Duration, for_header: bool) {
        self.deadline.as_mut().reset(Instant::now() + after);
        self.for_header = for_header;
    }
}

impl AsyncRead for Deadlines {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.state.reader.register(cx.waker());
        if this.state.changed.swap(false, Ordering::AcqRel) {
            // A request was dispatched or finished: a new wait begins, idle until a byte.
            let idle = this.idle;
            this.restart(idle, false);
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        let busy = this.state.busy.load(Ordering::Acquire) > 0;
        if let Poll::Ready(Ok(())) = read
            && buf.filled().len() > before
            && !busy
            && !this.for_header
        {
            let header = this.header;
            this.restart(header, true);
        }
        if read.is_pending() && !busy && this.deadline.as_mut().poll(cx).is_ready() {
            let what = if this.for_header {
                "the request headers did not arrive in time"
            } else {
                "the connection was idle too long"
            };
            tracing::info!(reason = what, "closing a connection");
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
        }
        read
    }
}

impl AsyncWrite for Deadlines {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
