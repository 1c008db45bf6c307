//! The [`Runtime`] for tokio (feature `tokio`). Streams are adapted to `futures-io` with
//! `tokio_util::compat`. Must be used from inside a tokio runtime.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use super::{BoxFuture, Listener, Runtime};

/// tokio as the server's runtime: `tokio::spawn`, `tokio::time::sleep`, `tokio::net`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRuntime;

/// A tokio TCP listener.
#[derive(Debug)]
pub struct TokioListener(tokio::net::TcpListener);

impl TokioListener {
    /// Wraps a bound tokio listener (to hand one to [`crate::Server::serve`]).
    pub fn new(listener: tokio::net::TcpListener) -> Self {
        Self(listener)
    }
}

#[async_trait]
impl Runtime for TokioRuntime {
    type Stream = Compat<tokio::net::TcpStream>;
    type Listener = TokioListener;

    async fn bind(&self, addr: SocketAddr) -> io::Result<TokioListener> {
        tokio::net::TcpListener::bind(addr).await.map(TokioListener)
    }

    async fn connect(&self, to: SocketAddr, from: Option<SocketAddr>) -> io::Result<Self::Stream> {
        let stream = match from {
            None => tokio::net::TcpStream::connect(to).await?,
            Some(from) => {
                let socket = match to {
                    SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                    SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
                };
                socket.set_reuseaddr(true)?;
                socket.bind(from)?;
                socket.connect(to).await?
            }
        };
        stream.set_nodelay(true)?;
        Ok(stream.compat())
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn spawn(&self, task: BoxFuture<()>) {
        drop(tokio::spawn(task));
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
