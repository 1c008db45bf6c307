//! # ftp-runtime: the async runtime layer of the FTP workspace
//!
//! What `ftp-server` and `ftp-client` need from an async runtime beyond the control stream:
//! name resolution, outgoing TCP connections (from a chosen local address when asked),
//! listeners, timers and task spawning. One object-safe trait, [`Runtime`], held as
//! `Arc<dyn Runtime>` by both drivers, so that no user ever spells a runtime type in
//! `Server<S, A>` or `Client<S>`; streams and listeners cross it type-erased, as [`TcpStream`]
//! and `Box<dyn Listener>`.
//!
//! Two implementations behave the same way: `tokio::TokioRuntime` (feature `tokio`) and
//! `smol::SmolRuntime` (feature `smol`, on async-io). Both connect without blocking a
//! thread, bind listeners with `SO_REUSEADDR`, set `TCP_NODELAY` on every stream, and count
//! timers from absolute deadlines ([`Runtime::timer`]), so a timer means the same whenever it
//! is first polled. Implement [`Runtime`] to bring another, or to wrap one (a load tool that
//! picks source addresses, a test runtime with no network).
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # fn main() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//!
//! use ftp_runtime::Runtime;
//! use ftp_runtime::tokio::TokioRuntime;
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! rt.block_on(async {
//!     let runtime: Arc<dyn Runtime> = Arc::new(TokioRuntime);
//!     let listener = runtime.bind("127.0.0.1:0".parse().unwrap()).await?;
//!     let addr = listener.local_addr()?;
//!     let client = runtime.connect(addr, None).await?;
//!     let server = listener.accept().await?;
//!     assert_eq!(server.peer_addr(), client.local_addr());
//!     // A timer is a deadline, and can be moved.
//!     let mut timer = runtime.timer(Instant::now() + Duration::from_secs(3600));
//!     timer.reset(Instant::now());
//!     timer.await;
//!     Ok(())
//! })
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```

#![forbid(unsafe_code)]

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_io::{AsyncRead, AsyncWrite};

pub mod offline;
#[cfg(feature = "smol")]
pub mod smol;
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An async runtime as the FTP drivers use it. Object-safe: drivers hold it as
/// `Arc<dyn Runtime>`.
#[async_trait]
pub trait Runtime: Send + Sync + fmt::Debug + 'static {
    /// Resolves a host name (or an address literal) to socket addresses.
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>>;

    /// Connects to `to`; from the local address `from` when given (active mode from port 20,
    /// a load tool's source address), bound with `SO_REUSEADDR` so that several connections
    /// can share it. Never blocks a thread.
    async fn connect(&self, to: SocketAddr, from: Option<SocketAddr>) -> io::Result<TcpStream>;

    /// Binds a listener (with `SO_REUSEADDR` where the platform needs it for quick
    /// rebinding).
    async fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Listener>>;

    /// A timer that fires at `deadline` (at once if it has passed), and can be moved with
    /// [`Timer::reset`].
    fn timer(&self, deadline: Instant) -> Box<dyn Timer>;

    /// Runs `task` in the background.
    fn spawn(&self, task: BoxFuture<()>);
}

/// What drivers take as their runtime: any [`Runtime`] by value, or one already shared as
/// `Arc<dyn Runtime>` (so that a program's parts can use one runtime object).
pub trait IntoRuntime {
    /// The runtime, shared.
    fn into_runtime(self) -> Arc<dyn Runtime>;
}

impl<R: Runtime> IntoRuntime for R {
    fn into_runtime(self) -> Arc<dyn Runtime> {
        Arc::new(self)
    }
}

impl IntoRuntime for Arc<dyn Runtime> {
    fn into_runtime(self) -> Arc<dyn Runtime> {
        self
    }
}

/// A bound TCP listener.
#[async_trait]
pub trait Listener: Send + Sync + fmt::Debug + 'static {
    /// Accepts the next connection; its peer is [`TcpStream::peer_addr`].
    ///
    /// Cancel safety: dropping the future loses no connection.
    async fn accept(&self) -> io::Result<TcpStream>;

    /// The bound address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A resettable timer: a future that completes at its deadline.
pub trait Timer: Future<Output = ()> + Send + Sync + Unpin + fmt::Debug {
    /// Moves the deadline (earlier or later); the timer fires again after it had fired.
    fn reset(&mut self, deadline: Instant);
}

/// What a [`TcpStream`] wraps: any runtime's byte stream.
pub trait RawStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> RawStream for T {}

/// Sets `SO_OOBINLINE`: TCP urgent data stays in the stream.
///
/// FTP clients send `ABOR` the RFC 959 way (§4.1.3): the Telnet Synch, `IAC IP` then `IAC DM`
/// as urgent data (tnftp, inetutils ftp), or the command itself with `MSG_OOB` (Python's
/// `ftplib`, whose last byte, the LF, becomes the urgent byte). Without this option the kernel
/// takes that byte out of the stream, and the server reads `ABOR CR` with the next command
/// glued on, or waits for a line end that never comes. The built-in runtimes set it on every
/// connection they make or accept; servers driven over sockets of their own should set it on
/// control connections before handing them over.
#[cfg(unix)]
pub fn keep_urgent_data_inline(socket: &impl std::os::fd::AsFd) -> io::Result<()> {
    socket2::SockRef::from(socket).set_out_of_band_inline(true)
}

/// Sets `SO_OOBINLINE` (see the Unix version).
#[cfg(windows)]
pub fn keep_urgent_data_inline(socket: &impl std::os::windows::io::AsSocket) -> io::Result<()> {
    socket2::SockRef::from(socket).set_out_of_band_inline(true)
}

/// A stream that sends bytes of a file itself, without copying them through user space
/// (`sendfile(2)` on Linux): the zero-copy path of downloads. The built-in runtimes' TCP
/// streams implement it on Linux; [`TcpStream::with_send_file`] keeps it behind the
/// type-erased stream.
pub trait SendFile {
    /// Sends up to `len` bytes of `file` from `offset` on, returning how many went (0 when
    /// `offset` is at or past the end of the file). Pending until the socket can take some:
    /// the call never waits for the socket, and the file's own read position neither counts
    /// nor moves. Reading the file itself can wait for a disk, as any read can, when its
    /// pages are not in the page cache.
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>>;
}

/// One `sendfile(2)` call on a non-blocking socket: `WouldBlock` when its buffer is full.
#[cfg(all(target_os = "linux", any(feature = "tokio", feature = "smol")))]
pub(crate) fn send_file_now(
    socket: impl std::os::fd::AsFd,
    file: &std::fs::File,
    offset: u64,
    len: usize,
) -> io::Result<usize> {
    let mut offset = offset;
    Ok(rustix::fs::sendfile(socket, file, Some(&mut offset), len)?)
}

/// How a stream sends a file, reached through the type-erased stream (see [`send_file_as`]).
type SendFileFn =
    fn(&mut dyn Any, &mut Context<'_>, &std::fs::File, u64, usize) -> Poll<io::Result<usize>>;

/// What [`TcpStream`] holds: any runtime's stream, which can be had back as its own type.
trait Inner: RawStream {
    fn as_any(&mut self) -> &mut dyn Any;
}

impl<T: RawStream> Inner for T {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// [`SendFile::poll_send_file`] of the `T` that `io` is ([`TcpStream::with_send_file`] pairs
/// them, so the downcast holds).
fn send_file_as<T: SendFile + 'static>(
    io: &mut dyn Any,
    cx: &mut Context<'_>,
    file: &std::fs::File,
    offset: u64,
    len: usize,
) -> Poll<io::Result<usize>> {
    match io.downcast_mut::<T>() {
        Some(io) => io.poll_send_file(cx, file, offset, len),
        None => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
    }
}

/// A connected TCP stream of any runtime, with its two addresses.
pub struct TcpStream {
    io: Box<dyn Inner>,
    /// The stream's own [`SendFile`], when it came with one.
    send_file: Option<SendFileFn>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl TcpStream {
    /// Wraps a runtime's stream whose ends are `local` and `peer`.
    ///
    /// A runtime of your own should set `SO_OOBINLINE` on the socket first (see
    /// [`keep_urgent_data_inline`]) and keep reading after a read that stopped short, as the
    /// built-in ones do.
    pub fn new(io: impl RawStream, local: SocketAddr, peer: SocketAddr) -> Self {
        Self::wrap(io, None, local, peer)
    }

    /// Like [`new`](Self::new), for a stream that can also send files itself
    /// ([`send_file`](Self::send_file) then uses its [`SendFile`]).
    pub fn with_send_file<T: RawStream + SendFile>(
        io: T,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        Self::wrap(io, Some(send_file_as::<T>), local, peer)
    }

    fn wrap(
        io: impl RawStream,
        send_file: Option<SendFileFn>,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        Self {
            io: Box::new(io),
            send_file,
            local,
            peer,
        }
    }

    /// Our end.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The other end.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Whether [`send_file`](Self::send_file) can work: the stream came with a [`SendFile`].
    pub fn can_send_file(&self) -> bool {
        self.send_file.is_some()
    }

    /// Sends up to `len` bytes of `file` from `offset` on without copying them through user
    /// space, as [`SendFile::poll_send_file`]; [`io::ErrorKind::Unsupported`] from a stream
    /// that cannot (copy the bytes then).
    pub fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        match self.send_file {
            // On the stream inside: the box is a `RawStream` too, whose `as_any` is the box.
            Some(send) => send((*self.io).as_any(), cx, file, offset, len),
            None => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
        }
    }

    /// [`poll_send_file`](Self::poll_send_file) as a future.
    pub async fn send_file(
        &mut self,
        file: &std::fs::File,
        offset: u64,
        len: usize,
    ) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_send_file(cx, file, offset, len)).await
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("send_file", &self.can_send_file())
            .finish_non_exhaustive()
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_close(cx)
    }
}

/// Sleeps for `duration` on `runtime`'s timers.
pub async fn sleep(runtime: &dyn Runtime, duration: Duration) {
    runtime.timer(Instant::now() + duration).await;
}

/// Runs `fut` for at most `duration`; `None` when the time ran out first.
pub async fn timeout<T>(
    runtime: &dyn Runtime,
    duration: Duration,
    fut: impl Future<Output = T>,
) -> Option<T> {
    use futures_util::future::{Either, select};
    let fut = std::pin::pin!(fut);
    match select(fut, runtime.timer(Instant::now() + duration)).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(((), _)) => None,
    }
}

/// Binds a listener on `ip`: on the first free port of `ports`, or when `ports` is `None` of
/// the system's ephemeral range (see [`ephemeral_ports`]), trying them in turn from the
/// `start`-th on (a random `start` for each listener spreads them over the range and keeps the
/// next one unpredictable).
///
/// Without a range of its own the listener still gets a port chosen here rather than the
/// kernel's port 0: every data connection a server closes leaves its port in TIME_WAIT for a
/// minute, and Linux's search for a free port 0 walks every such port's bind bucket. After a
/// burst of sessions (20,000 sockets in TIME_WAIT) that search made each passive listener cost
/// milliseconds of kernel time, and a session moving small files went from about 1,500 to 250
/// files a second. A port taken by name binds at once (`SO_REUSEADDR` lets a listener share a
/// port with sockets in TIME_WAIT). After [`EPHEMERAL_TRIES`] ports in use, port 0 decides.
/// Ports in [`reserved_ports`] are never picked from the ephemeral range.
pub async fn bind_in_range(
    runtime: &dyn Runtime,
    ip: IpAddr,
    ports: Option<&RangeInclusive<u16>>,
    start: usize,
) -> io::Result<Box<dyn Listener>> {
    // Ports the administrator reserved (`net.ipv4.ip_local_reserved_ports`) are kept out of
    // the ephemeral range's hand-outs, as the kernel keeps them out of its own port 0; a
    // range of the server's own is taken as configured.
    let (range, tries, reserved) = match ports {
        Some(range) => (range.clone(), usize::MAX, &[][..]),
        None => (ephemeral_ports(), EPHEMERAL_TRIES, reserved_ports()),
    };
    let mut error = io::Error::new(io::ErrorKind::AddrInUse, "the port range is empty");
    for port in candidate_ports(&range, start, reserved).take(tries) {
        match runtime.bind(SocketAddr::new(ip, port)).await {
            Ok(listener) => return Ok(listener),
            Err(e) => error = e,
        }
    }
    if ports.is_none() {
        return runtime.bind(SocketAddr::new(ip, 0)).await;
    }
    Err(error)
}

/// The ports of `range` from its `start`-th on, wrapping around, each once, less those in
/// `reserved`.
fn candidate_ports<'a>(
    range: &RangeInclusive<u16>,
    start: usize,
    reserved: &'a [RangeInclusive<u16>],
) -> impl Iterator<Item = u16> + 'a {
    let (first, last) = (usize::from(*range.start()), usize::from(*range.end()));
    let len = (last + 1).saturating_sub(first);
    (0..len)
        .filter_map(move |i| u16::try_from(first + start.wrapping_add(i) % len).ok())
        .filter(move |port| !reserved.iter().any(|r| r.contains(port)))
}

/// A random `start` for [`bind_in_range`]: SipHash, under this process's random keys, of a
/// counter, so each listener lands at an unpredictable place in its range (in sequence a third
/// party could predict the next port and connect first, failing the victim's transfer).
pub fn random_start() -> usize {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEYS: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = KEYS.get_or_init(std::hash::RandomState::new).build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    // Truncation is fine: any bits of a random value are random.
    #[allow(clippy::cast_possible_truncation)]
    let start = hasher.finish() as usize;
    start
}

/// Ports of the system's ephemeral range tried by [`bind_in_range`] before it lets the kernel
/// choose.
pub const EPHEMERAL_TRIES: usize = 16;

/// The range the system hands out for port 0: on Linux `net.ipv4.ip_local_port_range` (read
/// once), elsewhere (or when it cannot be read) IANA's dynamic ports, 49152-65535.
pub fn ephemeral_ports() -> RangeInclusive<u16> {
    static RANGE: std::sync::OnceLock<RangeInclusive<u16>> = std::sync::OnceLock::new();
    RANGE
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
                .ok()
                .and_then(|text| parse_port_range(&text))
                .unwrap_or(49152..=65535)
        })
        .clone()
}

/// The ports of `net.ipv4.ip_local_reserved_ports` on Linux (read once; none elsewhere or
/// when it cannot be read), which [`bind_in_range`] skips in the ephemeral range.
pub fn reserved_ports() -> &'static [RangeInclusive<u16>] {
    static RESERVED: std::sync::OnceLock<Vec<RangeInclusive<u16>>> = std::sync::OnceLock::new();
    RESERVED.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_reserved_ports")
            .map(|text| parse_reserved_ports(&text))
            .unwrap_or_default()
    })
}

/// The most ranges of reserved ports kept: each costs a comparison per port tried.
const MAX_RESERVED_RANGES: usize = 256;

/// `"8080,9000-9100\n"` as ranges; entries that are not a port or a range of ports are left
/// out (the kernel writes only valid ones).
fn parse_reserved_ports(text: &str) -> Vec<RangeInclusive<u16>> {
    text.trim()
        .split(',')
        .filter_map(|entry| {
            let entry = entry.trim();
            let (first, last) = entry.split_once('-').unwrap_or((entry, entry));
            let (first, last): (u16, u16) = (first.parse().ok()?, last.parse().ok()?);
            (first <= last).then_some(first..=last)
        })
        .take(MAX_RESERVED_RANGES)
        .collect()
}

/// `"32768\t60999\n"` as a range; `None` unless it is two ports, the first not above the
/// second and neither 0.
fn parse_port_range(text: &str) -> Option<RangeInclusive<u16>> {
    let mut words = text.split_ascii_whitespace();
    let first: u16 = words.next()?.parse().ok()?;
    let last: u16 = words.next()?.parse().ok()?;
    (first != 0 && first <= last && words.next().is_none()).then_some(first..=last)
}

/// A non-blocking TCP socket bound to `from` (with `SO_REUSEADDR`) whose connect to `to` is
/// under way; for runtimes whose own connect cannot bind first. Wait for it to become
/// writable, then check [`connect_result`].
#[cfg(feature = "smol")]
pub(crate) fn start_connect_from(
    to: SocketAddr,
    from: SocketAddr,
) -> io::Result<std::net::TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&from.into())?;
    match socket.connect(&to.into()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || in_progress(&e) => {}
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

/// Whether a connect started by [`start_connect_from`] and now writable succeeded.
#[cfg(feature = "smol")]
pub(crate) fn connect_result(stream: &std::net::TcpStream) -> io::Result<()> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    // Writable without an error but not connected cannot happen on Linux; elsewhere, asking
    // for the peer tells.
    stream.peer_addr().map(drop)
}

#[cfg(all(unix, feature = "smol"))]
fn in_progress(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINPROGRESS)
}

#[cfg(all(not(unix), feature = "smol"))]
fn in_progress(_: &io::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use std::ops::RangeInclusive;

    use super::{candidate_ports, parse_port_range, parse_reserved_ports};

    #[test]
    fn candidates_wrap_and_skip_reserved_ports() {
        let all: Vec<u16> = candidate_ports(&(100..=104), 3, &[]).collect();
        assert_eq!(all, [103, 104, 100, 101, 102]);
        let reserved = [101..=102, 104..=104];
        let left: Vec<u16> = candidate_ports(&(100..=104), 3, &reserved).collect();
        assert_eq!(left, [103, 100]);
        // A start past the range's length wraps; an empty range gives nothing.
        assert_eq!(candidate_ports(&(100..=104), 5 + 1, &[]).next(), Some(101));
        let empty = RangeInclusive::new(5, 4);
        assert_eq!(candidate_ports(&empty, 0, &[]).next(), None);
        assert_eq!(
            candidate_ports(&(65535..=65535), usize::MAX, &[]).collect::<Vec<_>>(),
            [65535]
        );
    }

    #[test]
    fn reserved_ports_parse() {
        assert_eq!(parse_reserved_ports("\n"), vec![]);
        assert_eq!(parse_reserved_ports(""), vec![]);
        assert_eq!(
            parse_reserved_ports("8080,33000-33010,60999\n"),
            vec![8080..=8080, 33000..=33010, 60999..=60999]
        );
        // What the kernel would never write is left out, the rest kept.
        assert_eq!(
            parse_reserved_ports("x,9-3,70000,40000-40001"),
            vec![40000..=40001]
        );
    }

    #[test]
    fn port_range_from_proc() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some(32768..=60999));
        assert_eq!(parse_port_range("1024 1024"), Some(1024..=1024));
        assert_eq!(parse_port_range("60999\t32768\n"), None);
        assert_eq!(parse_port_range("0 100"), None);
        assert_eq!(parse_port_range("32768"), None);
        assert_eq!(parse_port_range("32768 60999 1"), None);
        assert_eq!(parse_port_range("a b"), None);
    }
}
