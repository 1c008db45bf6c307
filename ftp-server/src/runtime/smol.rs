//! The [`Runtime`] for smol and async-io (feature `smol`): `async-net` sockets, `async-io`
//! timers, tasks on an `async-executor` you provide.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_trait::async_trait;

use super::{BoxFuture, Listener, Runtime};

/// smol as the server's runtime. Tasks run on the given executor; drive it with
/// `executor.run(...)` on as many threads as you like.
#[derive(Clone, Debug)]
pub struct SmolRuntime {
    executor: Arc<Executor<'static>>,
}

impl SmolRuntime {
    /// A runtime spawning onto `executor`.
    pub fn new(executor: Arc<Executor<'static>>) -> Self {
        Self { executor }
    }
}

/// An async-net TCP listener.
#[derive(Debug)]
pub struct SmolListener(async_net::TcpListener);

impl SmolListener {
    /// Wraps a bound listener (to hand one to [`crate::Server::serve`]).
    pub fn new(listener: async_net::TcpListener) -> Self {
        Self(listener)
    }
}

#[async_trait]
impl Runtime for SmolRuntime {
    type Stream = async_net::TcpStream;
    type Listener = SmolListener;

    async fn bind(&self, addr: SocketAddr) -> io::Result<SmolListener> {
        async_net::TcpListener::bind(addr).await.map(SmolListener)
    }

    async fn connect(&self, to: SocketAddr, from: Option<SocketAddr>) -> io::Result<Self::Stream> {
        let stream = match from {
            None => async_net::TcpStream::connect(to).await?,
            Some(from) => {
                // async-io cannot bind before connecting; a blocking connect off the executor
                // is short and keeps this simple.
                let limit = Duration::from_secs(30);
                let std_stream =
                    blocking::unblock(move || super::connect_from_blocking(to, from, limit))
                        .await?;
                async_net::TcpStream::from(async_io::Async::new(std_stream)?)
            }
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(async move {
            async_io::Timer::after(duration).await;
        })
    }

    fn spawn(&self, task: BoxFuture<()>) {
        self.executor.spawn(task).detach();
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
