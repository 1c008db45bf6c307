//! What the client needs from an async runtime beyond the control stream: name resolution,
//! outgoing connections (the control connection and passive data connections), listeners for
//! active mode, and timers.
//!
//! One small trait with a module per runtime behind its own cargo feature: `runtime::tokio`
//! (feature `tokio`) and `runtime::smol` (feature `smol`, on async-io). Implement [`Runtime`]
//! to bring another. The client never spawns tasks, so no executor handle is needed.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures_io::{AsyncRead, AsyncWrite};

#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "tokio")]
pub mod tokio;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An async runtime as the client uses it.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// A TCP stream.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;
    /// A TCP listener producing [`Self::Stream`]s (active-mode data connections).
    type Listener: Listener<Stream = Self::Stream>;

    /// Resolves a host name (or an address literal) to socket addresses.
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>>;

    /// Connects to `to`; gives the stream and its local address.
    async fn connect(&self, to: SocketAddr) -> io::Result<(Self::Stream, SocketAddr)>;

    /// Binds a listener.
    async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener>;

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<()>;
}

/// A bound TCP listener.
#[async_trait]
pub trait Listener: Send + Sync + 'static {
    /// The accepted stream type.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Accepts the next connection and its peer address.
    ///
    /// Cancel safety: dropping the future loses no connection.
    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)>;

    /// The bound address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// Runs `fut` for at most `duration`; `None` when the time ran out first.
pub(crate) async fn timeout<R: Runtime + ?Sized, T>(
    runtime: &R,
    duration: Duration,
    fut: impl Future<Output = T>,
) -> Option<T> {
    use futures_util::future::{Either, select};
    let fut = std::pin::pin!(fut);
    match select(fut, runtime.sleep(duration)).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(((), _)) => None,
    }
}
