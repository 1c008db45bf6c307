//! The [`Runtime`] for tokio (feature `tokio`). Streams are adapted to `futures-io` with
//! `tokio_util::compat`. Must be used from inside a tokio runtime (with its time and I/O
//! drivers enabled).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use super::{BoxFuture, Listener, Runtime};

/// tokio as the client's runtime: `tokio::net` and `tokio::time::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRuntime;

/// A tokio TCP listener (active-mode data connections).
#[derive(Debug)]
pub struct TokioListener(tokio::net::TcpListener);

#[async_trait]
impl Runtime for TokioRuntime {
    type Stream = Compat<tokio::net::TcpStream>;
    type Listener = TokioListener;

    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }

    async fn connect(&self, to: SocketAddr) -> io::Result<(Self::Stream, SocketAddr)> {
        let stream = tokio::net::TcpStream::connect(to).await?;
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        Ok((stream.compat(), local))
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<TokioListener> {
        tokio::net::TcpListener::bind(addr).await.map(TokioListener)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[async_trait]
impl Listener for TokioListener {
    type Stream = Compat<tokio::net::TcpStream>;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream.compat(), peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
