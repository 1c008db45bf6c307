//! The [`Runtime`] for tokio (feature `tokio`): `tokio::net`, `tokio::time`, `tokio::spawn`.
//! Streams are adapted to `futures-io` with `tokio_util::compat`. Must be used from inside a
//! tokio runtime with its time and I/O drivers enabled.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;
use tokio_util::compat::TokioAsyncReadCompatExt;

use crate::{BoxFuture, Listener, Runtime, TcpStream, Timer};

/// tokio as the FTP drivers' runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRuntime;

/// A tokio TCP listener.
#[derive(Debug)]
pub struct TokioListener(tokio::net::TcpListener);

impl TokioListener {
    /// Wraps a bound tokio listener (to hand one to a server's `serve`).
    pub fn new(listener: tokio::net::TcpListener) -> Self {
        Self(listener)
    }
}

/// A tokio `Sleep` that can be moved.
#[derive(Debug)]
struct TokioTimer(Pin<Box<tokio::time::Sleep>>);

impl Future for TokioTimer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Timer for TokioTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
    }
}

fn wrap(stream: tokio::net::TcpStream) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    let (local, peer) = (stream.local_addr()?, stream.peer_addr()?);
    Ok(TcpStream::new(stream.compat(), local, peer))
}

#[async_trait]
impl Runtime for TokioRuntime {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }

    async fn connect(&self, to: SocketAddr, from: Option<SocketAddr>) -> io::Result<TcpStream> {
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
        wrap(stream)
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Listener>> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(Box::new(TokioListener(listener)))
    }

    fn timer(&self, deadline: Instant) -> Box<dyn Timer> {
        let deadline = tokio::time::Instant::from_std(deadline);
        Box::new(TokioTimer(Box::pin(tokio::time::sleep_until(deadline))))
    }

    fn spawn(&self, task: BoxFuture<()>) {
        drop(tokio::spawn(task));
    }
}

#[async_trait]
impl Listener for TokioListener {
    async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.0.accept().await?;
        wrap(stream)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
