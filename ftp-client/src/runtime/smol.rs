//! The [`Runtime`] for smol and async-io (feature `smol`): `async-net` sockets and name
//! resolution, `async-io` timers. Works under any executor (`smol::block_on`,
//! `async_io::block_on`, an `async-executor`).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use super::{BoxFuture, Listener, Runtime};

/// smol / async-io as the client's runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolRuntime;

/// An async-net TCP listener (active-mode data connections).
#[derive(Debug)]
pub struct SmolListener(async_net::TcpListener);

#[async_trait]
impl Runtime for SmolRuntime {
    type Stream = async_net::TcpStream;
    type Listener = SmolListener;

    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        async_net::resolve((host, port)).await
    }

    async fn connect(&self, to: SocketAddr) -> io::Result<(Self::Stream, SocketAddr)> {
        let stream = async_net::TcpStream::connect(to).await?;
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        Ok((stream, local))
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<SmolListener> {
        async_net::TcpListener::bind(addr).await.map(SmolListener)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        let timer = async_io::Timer::after(duration);
        Box::pin(async move {
            timer.await;
        })
    }
}

#[async_trait]
impl Listener for SmolListener {
    type Stream = async_net::TcpStream;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
