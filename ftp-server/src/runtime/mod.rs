//! What the server needs from an async runtime beyond the control stream: listeners for passive
//! data connections, outgoing connections for active mode, timers and task spawning.
//!
//! One small trait with a module per runtime behind its own cargo feature: `runtime::tokio`
//! (feature `tokio`) and `runtime::smol` (feature `smol`, on async-io). Implement [`Runtime`]
//! to bring another.

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

/// An async runtime as the server uses it.
#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// A TCP stream.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;
    /// A TCP listener producing [`Self::Stream`]s.
    type Listener: Listener<Stream = Self::Stream>;

    /// Binds a listener (with `SO_REUSEADDR` where the platform needs it for quick rebinding).
    async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener>;

    /// Connects to `to`, from the local address `from` when given (active mode from port 20).
    async fn connect(&self, to: SocketAddr, from: Option<SocketAddr>) -> io::Result<Self::Stream>;

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<()>;

    /// Runs `task` in the background.
    fn spawn(&self, task: BoxFuture<()>);
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

/// A socket bound to `from` (with `SO_REUSEADDR`, so several transfers can use port 20) and
/// connected to `to`, in blocking mode; for runtimes that cannot bind before connecting.
#[cfg_attr(not(feature = "smol"), allow(dead_code))]
pub(crate) fn connect_from_blocking(
    to: SocketAddr,
    from: SocketAddr,
    limit: Duration,
) -> io::Result<std::net::TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&from.into())?;
    socket.connect_timeout(&to.into(), limit)?;
    Ok(socket.into())
}
