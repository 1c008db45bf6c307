//! The [`Runtime`] for smol and async-io (feature `smol`): `async-net` sockets and name
//! resolution, `async-io` timers, tasks on an `async-executor`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use async_executor::Executor;
use async_trait::async_trait;

use crate::{BoxFuture, Listener, Runtime, TcpStream, Timer};

/// smol / async-io as the FTP drivers' runtime. Tasks run on the executor given to
/// [`SmolRuntime::new`] (drive it with `executor.run(...)` on as many threads as you like);
/// `SmolRuntime::default()` spawns onto a global executor on a thread of its own, started on
/// first use, as smol's own `spawn` does. A client, which never spawns, needs neither.
#[derive(Clone, Debug, Default)]
pub struct SmolRuntime {
    executor: Option<Arc<Executor<'static>>>,
}

impl SmolRuntime {
    /// A runtime spawning onto `executor`.
    pub fn new(executor: Arc<Executor<'static>>) -> Self {
        Self {
            executor: Some(executor),
        }
    }
}

/// The executor of `SmolRuntime::default()`, run by one background thread.
fn global() -> &'static Executor<'static> {
    static GLOBAL: OnceLock<Executor<'static>> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("ftp-runtime-smol".into())
            .spawn(|| {
                let executor = global();
                async_io::block_on(executor.run(std::future::pending::<()>()));
            });
        if let Err(e) = spawned {
            // Without the thread, tasks never run: say so rather than hang silently.
            eprintln!("ftp-runtime: cannot start the smol executor thread: {e}");
        }
        Executor::new()
    })
}

/// An async-net TCP listener.
#[derive(Debug)]
pub struct SmolListener(async_net::TcpListener);

impl SmolListener {
    /// Wraps a bound listener (to hand one to a server's `serve`).
    pub fn new(listener: async_net::TcpListener) -> Self {
        Self(listener)
    }
}

/// An async-io timer that can be moved.
#[derive(Debug)]
struct SmolTimer(async_io::Timer);

impl Future for SmolTimer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl Timer for SmolTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.set_at(deadline);
    }
}

fn wrap(stream: async_net::TcpStream) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    crate::keep_urgent_data_inline(&stream)?;
    let (local, peer) = (stream.local_addr()?, stream.peer_addr()?);
    #[cfg(target_os = "linux")]
    return Ok(TcpStream::with_send_file(stream, local, peer));
    #[cfg(not(target_os = "linux"))]
    return Ok(TcpStream::new(stream, local, peer));
}

/// `sendfile(2)` on the socket under async-net's stream, waiting for async-io's writability
/// event after a call that found the socket buffer full (what async-io's own writes do).
#[cfg(target_os = "linux")]
impl crate::SendFile for async_net::TcpStream {
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        // The stream is a shared handle: this is one more reference to the same socket.
        let socket: Arc<async_io::Async<std::net::TcpStream>> = self.clone().into();
        loop {
            match crate::send_file_now(socket.get_ref(), file, offset, len) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
            std::task::ready!(socket.poll_writable(cx))?;
        }
    }
}

#[async_trait]
impl Runtime for SmolRuntime {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        async_net::resolve((host, port)).await
    }

    async fn connect(&self, to: SocketAddr, from: Option<SocketAddr>) -> io::Result<TcpStream> {
        let stream = match from {
            None => async_net::TcpStream::connect(to).await?,
            Some(from) => {
                // async-io cannot bind before connecting: start the connect on a socket of our
                // own and wait for it to become writable, without blocking a thread.
                let socket = async_io::Async::new(crate::start_connect_from(to, from)?)?;
                socket.writable().await?;
                crate::connect_result(socket.get_ref())?;
                async_net::TcpStream::from(socket)
            }
        };
        wrap(stream)
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Listener>> {
        let listener = async_net::TcpListener::bind(addr).await?;
        Ok(Box::new(SmolListener(listener)))
    }

    fn timer(&self, deadline: Instant) -> Box<dyn Timer> {
        Box::new(SmolTimer(async_io::Timer::at(deadline)))
    }

    fn spawn(&self, task: BoxFuture<()>) {
        match &self.executor {
            Some(executor) => executor.spawn(task).detach(),
            None => global().spawn(task).detach(),
        }
    }
}

#[async_trait]
impl Listener for SmolListener {
    async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.0.accept().await?;
        wrap(stream)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}
