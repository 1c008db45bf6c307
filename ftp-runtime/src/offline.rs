//! A runtime with no network and a clock that does what a test needs: for fuzzing whole
//! drivers and for tests that script both ends of a connection in memory.
//!
//! By default connects are refused, listeners never accept, timers never fire and spawned
//! tasks are dropped; each can be set otherwise. The fuzz harnesses of `ftp-server` and
//! `ftp-client` run on it.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;

use crate::{BoxFuture, Listener, Runtime, TcpStream, Timer};

/// Makes the stream every connect and accept gives.
pub type StreamSource = Arc<dyn Fn() -> TcpStream + Send + Sync>;

/// Runs a spawned task (on an executor the test drives).
pub type Spawner = Arc<dyn Fn(BoxFuture<()>) + Send + Sync>;

/// A [`Runtime`] without sockets or a real clock; see the [module docs](self).
#[derive(Clone, Default)]
#[must_use]
pub struct OfflineRuntime {
    streams: Option<StreamSource>,
    timers_fire_at_once: bool,
    spawner: Option<Spawner>,
}

impl fmt::Debug for OfflineRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfflineRuntime")
            .field("streams", &self.streams.is_some())
            .field("timers_fire_at_once", &self.timers_fire_at_once)
            .field("spawns", &self.spawner.is_some())
            .finish()
    }
}

impl OfflineRuntime {
    /// Connects refused, listeners that never accept, timers that never fire, spawned tasks
    /// dropped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every connect succeeds and every listener accepts, each with a stream from `source`.
    pub fn with_streams(mut self, source: impl Fn() -> TcpStream + Send + Sync + 'static) -> Self {
        self.streams = Some(Arc::new(source));
        self
    }

    /// Every timer has fired already: each wait with a deadline ends at once, as it would
    /// once its time is up.
    pub fn with_timers_firing_at_once(mut self) -> Self {
        self.timers_fire_at_once = true;
        self
    }

    /// Spawned tasks go to `spawner`.
    pub fn with_spawner(mut self, spawner: impl Fn(BoxFuture<()>) + Send + Sync + 'static) -> Self {
        self.spawner = Some(Arc::new(spawner));
        self
    }
}

/// A listener of an [`OfflineRuntime`].
struct OfflineListener(Option<StreamSource>);

impl fmt::Debug for OfflineListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OfflineListener")
            .field(&self.0.is_some())
            .finish()
    }
}

#[async_trait]
impl Listener for OfflineListener {
    async fn accept(&self) -> io::Result<TcpStream> {
        match &self.0 {
            Some(source) => Ok(source()),
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(([127, 0, 0, 1], 50000)))
    }
}

/// A timer that fires at once, or never.
#[derive(Debug)]
struct FixedTimer {
    fired: bool,
}

impl Future for FixedTimer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.fired {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Timer for FixedTimer {
    fn reset(&mut self, _: Instant) {}
}

#[async_trait]
impl Runtime for OfflineRuntime {
    async fn resolve(&self, _: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
    }

    async fn connect(&self, _: SocketAddr, _: Option<SocketAddr>) -> io::Result<TcpStream> {
        match &self.streams {
            Some(source) => Ok(source()),
            None => Err(io::ErrorKind::ConnectionRefused.into()),
        }
    }

    async fn bind(&self, _: SocketAddr) -> io::Result<Box<dyn Listener>> {
        Ok(Box::new(OfflineListener(self.streams.clone())))
    }

    fn timer(&self, _: Instant) -> Box<dyn Timer> {
        Box::new(FixedTimer {
            fired: self.timers_fire_at_once,
        })
    }

    fn spawn(&self, task: BoxFuture<()>) {
        if let Some(spawner) = &self.spawner {
            spawner(task);
        }
    }
}

/// An in-memory stream: reads come from a script in chunks of at most `step` bytes, then end;
/// writes are kept (up to a limit, then counted but dropped) in a buffer shared with the test.
#[derive(Debug)]
pub struct ScriptedStream {
    input: Vec<u8>,
    pos: usize,
    step: usize,
    output: Arc<std::sync::Mutex<Vec<u8>>>,
    keep: usize,
}

impl ScriptedStream {
    /// A stream reading `input` at most `step` bytes at a time (at least 1) and keeping at
    /// most `keep` written bytes; gives the buffer the writes go to.
    pub fn new(
        input: impl Into<Vec<u8>>,
        step: usize,
        keep: usize,
    ) -> (Self, Arc<std::sync::Mutex<Vec<u8>>>) {
        let output = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stream = Self::writing_to(input, step, keep, Arc::clone(&output));
        (stream, output)
    }

    /// Like [`new`](Self::new), writing to a buffer the caller has (several streams can share
    /// one).
    pub fn writing_to(
        input: impl Into<Vec<u8>>,
        step: usize,
        keep: usize,
        output: Arc<std::sync::Mutex<Vec<u8>>>,
    ) -> Self {
        Self {
            input: input.into(),
            pos: 0,
            step: step.max(1),
            output,
            keep,
        }
    }
}

impl futures_io::AsyncRead for ScriptedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let rest = this.input.get(this.pos..).unwrap_or_default();
        let n = rest.len().min(this.step).min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        this.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl futures_io::AsyncWrite for ScriptedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut out = self
            .output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = self.keep.saturating_sub(out.len());
        out.extend_from_slice(buf.get(..room.min(buf.len())).unwrap_or_default());
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_streams_read_in_steps_and_keep_what_is_written() {
        use futures_util::{AsyncReadExt, AsyncWriteExt};
        let (mut s, out) = ScriptedStream::new(&b"hello world"[..], 4, 8);
        futures_util::future::FutureExt::now_or_never(async {
            let mut buf = [0u8; 16];
            assert_eq!(s.read(&mut buf).await.unwrap(), 4);
            assert_eq!(&buf[..4], b"hell");
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"o world");
            s.write_all(b"0123456789").await.unwrap();
        })
        .expect("nothing here waits");
        assert_eq!(
            &out.lock().unwrap()[..],
            b"01234567",
            "kept up to the limit"
        );
    }

    #[test]
    fn defaults_refuse_and_wait_for_ever() {
        let rt = OfflineRuntime::new();
        futures_util::future::FutureExt::now_or_never(async {
            assert!(
                rt.connect("127.0.0.1:21".parse().unwrap(), None)
                    .await
                    .is_err()
            );
            let listener = rt.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
            let accept = listener.accept();
            assert!(futures_util::future::FutureExt::now_or_never(accept).is_none());
            let timer = rt.timer(Instant::now());
            assert!(futures_util::future::FutureExt::now_or_never(timer).is_none());
            let fired = OfflineRuntime::new()
                .with_timers_firing_at_once()
                .timer(Instant::now());
            assert!(futures_util::future::FutureExt::now_or_never(fired).is_some());
        })
        .expect("nothing here waits");
    }
}
