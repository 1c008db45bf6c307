//! The whole-server fuzz harness (feature `fuzzing`, not a stable API), run by the fuzz target
//! `server_e2e` and, over its committed corpus, by `tests/fuzz_corpus.rs`.
//!
//! A whole server (driver, machine, in-memory back-end) over an in-memory control stream whose
//! bytes come from the fuzzer. Data connections never open (every transfer ends in 425 or is
//! aborted), timers fire at once: what is exercised is the driver's handling of any command
//! stream, including transfers started and aborted, pipelining and end of input.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::auth::Principal;
use crate::runtime::{BoxFuture, Listener, Runtime, TcpStream, Timer};
use crate::storage::memory::MemoryStorage;
use crate::{Options, Server};
use async_executor::Executor;
use async_trait::async_trait;
use ftp_proto::{Permissions, ReplyDecoder, VirtualPath};
use futures_io::{AsyncRead, AsyncWrite};

/// A runtime with no network and no clock: listeners never accept, connections are refused,
/// every sleep ends at once (so each wait for a data connection times out, as it would after
/// its deadline), tasks run on the given executor.
///
/// The executor is held weakly: tasks hold the server, which holds the runtime, and a strong
/// reference would make a cycle that outlives each run.
#[derive(Clone, Debug)]
struct Offline(std::sync::Weak<Executor<'static>>);

#[derive(Debug)]
struct NeverAccepts;

#[async_trait]
impl Listener for NeverAccepts {
    async fn accept(&self) -> io::Result<TcpStream> {
        std::future::pending().await
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(([127, 0, 0, 1], 50000)))
    }
}

/// A timer that has always already fired.
#[derive(Debug)]
struct Fired;

impl Future for Fired {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

impl Timer for Fired {
    fn reset(&mut self, _: Instant) {}
}

#[async_trait]
impl Runtime for Offline {
    async fn resolve(&self, _: &str, _: u16) -> io::Result<Vec<SocketAddr>> {
        Err(io::ErrorKind::NotFound.into())
    }
    async fn bind(&self, _: SocketAddr) -> io::Result<Box<dyn Listener>> {
        Ok(Box::new(NeverAccepts))
    }
    async fn connect(&self, _: SocketAddr, _: Option<SocketAddr>) -> io::Result<TcpStream> {
        Err(io::ErrorKind::ConnectionRefused.into())
    }
    fn timer(&self, _: Instant) -> Box<dyn Timer> {
        Box::new(Fired)
    }
    fn spawn(&self, task: BoxFuture<()>) {
        if let Some(ex) = self.0.upgrade() {
            ex.spawn(task).detach();
        }
    }
}

/// The control stream: reads come from the fuzz input in the chunk sizes it picks, writes are
/// kept for checking.
struct Control {
    input: Vec<u8>,
    pos: usize,
    step: usize,
    output: Vec<u8>,
}

impl AsyncRead for Control {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = (self.input.len() - self.pos).min(self.step).min(buf.len());
        let start = self.pos;
        buf[..n].copy_from_slice(&self.input[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Control {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Everyone is let in with all permissions, except the name `ro` (read-only).
struct Anyone;

#[async_trait]
impl crate::auth::Authenticator for Anyone {
    async fn authenticate(
        &self,
        c: &crate::auth::Credentials,
    ) -> Result<Principal, crate::auth::AuthError> {
        let perms = if c.user == b"ro" {
            Permissions::READ_ONLY
        } else {
            Permissions::ALL
        };
        if c.user == b"bad" {
            return Err(crate::auth::AuthError::InvalidCredentials);
        }
        Ok(Principal::new("fuzz", VirtualPath::root(), perms))
    }
}

/// Runs one session over `data` (first byte: read chunk size) and checks its output.
pub fn run(data: &[u8]) {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let ex = Arc::new(Executor::new());
    let storage = MemoryStorage::new();
    let _ = storage.insert_file("/pub/file.txt", &b"hello\nworld\n"[..]);
    let options = Options::default()
        .failed_login_delay(Duration::ZERO)
        .max_line_len(256);
    let server = Server::new(Offline(Arc::downgrade(&ex)), storage, Anyone, options);
    let control = Control {
        input: input.to_vec(),
        pos: 0,
        step: usize::from(step % 64) + 1,
        output: Vec::new(),
    };
    let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
    let local = SocketAddr::from(([127, 0, 0, 1], 21));
    let output = futures_lite::future::block_on(ex.run(async move {
        // The session owns the stream and drops it at the end; Capture hands it back then.
        let (tx, rx) = std::sync::mpsc::channel();
        let stream = Capture {
            inner: Some(control),
            done: tx,
        };
        server.handle_connection(stream, peer, local).await;
        rx.recv().map(|c| c.output).unwrap_or_default()
    }));
    let mut dec = ReplyDecoder::default();
    let mut buf = bytes::BytesMut::from(&output[..]);
    let mut count = 0;
    while let Some(r) = dec.decode(&mut buf) {
        r.expect("every reply decodes");
        count += 1;
    }
    assert!(buf.is_empty(), "output ends with a whole reply");
    assert!(count >= 1, "at least the greeting");
}

/// Hands the control stream back when the session drops it.
struct Capture {
    inner: Option<Control>,
    done: std::sync::mpsc::Sender<Control>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(c) = self.inner.take() {
            let _ = self.done.send(c);
        }
    }
}

impl Capture {
    fn get(self: Pin<&mut Self>) -> Pin<&mut Control> {
        Pin::new(self.get_mut().inner.as_mut().expect("present until drop"))
    }
}

impl AsyncRead for Capture {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get().poll_read(cx, buf)
    }
}

impl AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get().poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get().poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get().poll_close(cx)
    }
}
