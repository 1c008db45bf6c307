//! The [`Runtime`] for tokio (feature `tokio`): `tokio::net`, `tokio::time`, `tokio::spawn`.
//! Streams are adapted to `futures-io` by [`TokioStream`]. Must be used from inside a tokio
//! runtime with its time and I/O drivers enabled.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;
use futures_io::{AsyncRead, AsyncWrite};
use socket2::SockRef;
use tokio::io::Interest;

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
    crate::keep_urgent_data_inline(&stream)?;
    let (local, peer) = (stream.local_addr()?, stream.peer_addr()?);
    #[cfg(target_os = "linux")]
    return Ok(TcpStream::with_send_file(TokioStream(stream), local, peer));
    #[cfg(not(target_os = "linux"))]
    return Ok(TcpStream::new(TokioStream(stream), local, peer));
}

/// A tokio TCP stream as a `futures-io` stream.
///
/// Reads go through `try_io`, which keeps the socket's readiness after a read that filled less
/// than the buffer (tokio's own `poll_read` drops it then, and waits for new data). With
/// `SO_OOBINLINE` the kernel ends a read at the urgent mark, so the bytes after it (the rest of
/// an `ABOR` sent as the Telnet Synch or with `MSG_OOB`) are already there and would otherwise
/// wait for the client's next packet, which never comes while it awaits the reply.
#[derive(Debug)]
pub struct TokioStream(tokio::net::TcpStream);

impl AsyncRead for TokioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        use std::io::Read;
        let stream = &self.0;
        loop {
            std::task::ready!(stream.poll_read_ready(cx))?;
            match stream.try_io(Interest::READABLE, || (&*SockRef::from(stream)).read(buf)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

impl AsyncWrite for TokioStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.0), cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.0), cx)
    }
}

/// `sendfile(2)` once tokio says the socket can take more; its readiness is cleared when the
/// socket buffer fills (`WouldBlock`), as for a write.
#[cfg(target_os = "linux")]
impl crate::SendFile for TokioStream {
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        let stream = &self.0;
        loop {
            std::task::ready!(stream.poll_write_ready(cx))?;
            match stream.try_io(Interest::WRITABLE, || {
                crate::send_file_now(stream, file, offset, len)
            }) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
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
