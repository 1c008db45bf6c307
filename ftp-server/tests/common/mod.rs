//! Test support: a server on 127.0.0.1:0 on either runtime, and a small blocking FTP client
//! built on ftp-proto's reply decoder (so a failing test never hangs: every read has a timeout).

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ftp_proto::{Permissions, Reply, ReplyDecoder, VirtualPath};
use ftp_server::auth::{AnonymousPolicy, Authenticator, UserTable};
use ftp_server::runtime::smol::{SmolListener, SmolRuntime};
use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
use ftp_server::storage::Storage;
use ftp_server::storage::memory::MemoryStorage;
use ftp_server::{Server, ServerOptions};

pub const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug)]
pub enum Rt {
    Tokio,
    Smol,
}

/// A running server; stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send + Sync>>,
    /// Starts graceful shutdown and waits up to the deadline; returns whether all closed.
    shutdown: Box<dyn Fn(Duration) -> bool + Send + Sync>,
    connections: Box<dyn Fn() -> usize + Send + Sync>,
}

impl Running {
    pub fn shutdown(&self, deadline: Duration) -> bool {
        (self.shutdown)(deadline)
    }

    pub fn connections(&self) -> usize {
        (self.connections)()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// Test options: fast failures so tests stay quick.
pub fn options() -> ServerOptions {
    let mut throttle = ftp_proto::server::ThrottleConfig::default();
    throttle
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(40));
    ServerOptions::default()
        .login_throttle(throttle)
        .failed_login_delay(Duration::from_millis(10))
        .data_connect_timeout(Duration::from_secs(5))
        .data_stall_timeout(Duration::from_secs(10))
}

pub fn start<S: Storage, A: Authenticator>(
    rt: Rt,
    storage: S,
    auth: A,
    options: ServerOptions,
) -> Running {
    start_on(rt, "127.0.0.1:0".parse().unwrap(), storage, auth, options)
}

/// A server listening on `bind` (port 0: any free one).
pub fn start_on<S: Storage, A: Authenticator>(
    rt: Rt,
    bind: SocketAddr,
    storage: S,
    auth: A,
    options: ServerOptions,
) -> Running {
    match rt {
        Rt::Tokio => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let server = Server::new(TokioRuntime, storage, auth, options);
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(bind))
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let s = server.clone();
            runtime.spawn(async move { s.serve(TokioListener::new(listener)).await.unwrap() });
            let handle = runtime.handle().clone();
            let s2 = server.clone();
            Running {
                addr,
                shutdown: Box::new(move |d| {
                    let h = s2.shutdown_handle();
                    handle.block_on(async move { h.shutdown(d).await })
                }),
                connections: Box::new(move || server.connections()),
                stop: Some(Box::new(move || runtime.shutdown_background())),
            }
        }
        Rt::Smol => {
            let ex = Arc::new(async_executor::Executor::new());
            let (stop_tx, stop_rx) = async_channel_like();
            for _ in 0..2 {
                let ex = Arc::clone(&ex);
                let stop_rx = stop_rx.clone();
                std::thread::spawn(move || {
                    async_io::block_on(ex.run(async move {
                        let _ = stop_rx.recv().await;
                    }))
                });
            }
            let server = Server::new(SmolRuntime::new(Arc::clone(&ex)), storage, auth, options);
            let listener = async_io::block_on(async_net::TcpListener::bind(bind)).unwrap();
            let addr = listener.local_addr().unwrap();
            let s = server.clone();
            ex.spawn(async move { s.serve(SmolListener::new(listener)).await.unwrap() })
                .detach();
            let s2 = server.clone();
            Running {
                addr,
                shutdown: Box::new(move |d| {
                    let h = s2.shutdown_handle();
                    async_io::block_on(async move { h.shutdown(d).await })
                }),
                connections: Box::new(move || server.connections()),
                stop: Some(Box::new(move || stop_tx.close())),
            }
        }
    }
}

/// A server that never calls `serve`: a thread of the test accepts each connection on its own
/// std listener and hands it to `Server::handle_connection` with the socket's two addresses.
pub fn start_self_accepting<S: Storage, A: Authenticator>(
    rt: Rt,
    storage: S,
    auth: A,
    options: ServerOptions,
) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = move || {
        let (stream, peer) = listener.accept().ok()?;
        let local = stream.local_addr().ok()?;
        assert_eq!(local, addr);
        stream.set_nonblocking(true).ok()?;
        Some((stream, peer, local))
    };
    match rt {
        Rt::Tokio => {
            use tokio_util::compat::TokioAsyncReadCompatExt;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let server = Server::new(TokioRuntime, storage, auth, options);
            let handle = runtime.handle().clone();
            let s = server.clone();
            std::thread::spawn(move || {
                while let Some((stream, peer, local)) = accepted() {
                    let _entered = handle.enter();
                    let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                        return;
                    };
                    let s = s.clone();
                    handle.spawn(async move {
                        s.handle_connection(stream.compat(), peer, local).await;
                    });
                }
            });
            let handle = runtime.handle().clone();
            let s2 = server.clone();
            Running {
                addr,
                shutdown: Box::new(move |d| {
                    let h = s2.shutdown_handle();
                    handle.block_on(async move { h.shutdown(d).await })
                }),
                connections: Box::new(move || server.connections()),
                stop: Some(Box::new(move || runtime.shutdown_background())),
            }
        }
        Rt::Smol => {
            let ex = Arc::new(async_executor::Executor::new());
            let (stop_tx, stop_rx) = async_channel_like();
            for _ in 0..2 {
                let ex = Arc::clone(&ex);
                let stop_rx = stop_rx.clone();
                std::thread::spawn(move || {
                    async_io::block_on(ex.run(async move {
                        let _ = stop_rx.recv().await;
                    }))
                });
            }
            let server = Server::new(SmolRuntime::new(Arc::clone(&ex)), storage, auth, options);
            let s = server.clone();
            let spawner = Arc::clone(&ex);
            std::thread::spawn(move || {
                while let Some((stream, peer, local)) = accepted() {
                    let Ok(stream) = async_net::TcpStream::try_from(stream) else {
                        return;
                    };
                    let s = s.clone();
                    spawner
                        .spawn(async move { s.handle_connection(stream, peer, local).await })
                        .detach();
                }
            });
            let s2 = server.clone();
            Running {
                addr,
                shutdown: Box::new(move |d| {
                    let h = s2.shutdown_handle();
                    async_io::block_on(async move { h.shutdown(d).await })
                }),
                connections: Box::new(move || server.connections()),
                stop: Some(Box::new(move || stop_tx.close())),
            }
        }
    }
}

/// A minimal broadcast-on-close channel from futures-channel (a closed sender wakes every receiver).
fn async_channel_like() -> (Closer, Waiter) {
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    (
        Closer(Some(tx)),
        Waiter(futures_util::future::FutureExt::shared(rx)),
    )
}

pub struct Closer(Option<futures_channel::oneshot::Sender<()>>);
impl Closer {
    fn close(mut self) {
        self.0.take();
    }
}

#[derive(Clone)]
pub struct Waiter(futures_util::future::Shared<futures_channel::oneshot::Receiver<()>>);
impl Waiter {
    async fn recv(self) -> Result<(), futures_channel::oneshot::Canceled> {
        self.0.await
    }
}

/// A blocking FTP client for tests.
pub struct Client {
    pub ctl: TcpStream,
    decoder: ReplyDecoder,
    buf: BytesMut,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Self {
        let ctl = TcpStream::connect(addr).unwrap();
        ctl.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut c = Self {
            ctl,
            decoder: ReplyDecoder::default(),
            buf: BytesMut::new(),
        };
        assert_eq!(c.reply().code().as_u16(), 220);
        c
    }

    /// A client on a connected stream; the greeting (or refusal) is not read yet.
    pub fn over(ctl: TcpStream) -> Self {
        ctl.set_read_timeout(Some(TIMEOUT)).unwrap();
        Self {
            ctl,
            decoder: ReplyDecoder::default(),
            buf: BytesMut::new(),
        }
    }

    /// Connects from `from` (127.0.0.2 and up play other addresses), greeting not read.
    pub fn connect_from(from: std::net::IpAddr, to: SocketAddr) -> Self {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(to), Type::STREAM, None).unwrap();
        socket.bind(&SocketAddr::new(from, 0).into()).unwrap();
        socket.connect(&to.into()).unwrap();
        Self::over(socket.into())
    }

    pub fn login(addr: SocketAddr, user: &str, pass: &str) -> Self {
        let mut c = Self::connect(addr);
        assert_eq!(c.code(&format!("USER {user}")), 331);
        assert_eq!(c.code(&format!("PASS {pass}")), 230);
        c
    }

    /// Reads one reply; `None` at end of stream.
    pub fn try_reply(&mut self) -> Option<Reply> {
        loop {
            if let Some(r) = self.decoder.decode(&mut self.buf) {
                return Some(r.unwrap());
            }
            let mut chunk = [0u8; 4096];
            let n = self.ctl.read(&mut chunk).expect("reply within the timeout");
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub fn reply(&mut self) -> Reply {
        self.try_reply().expect("a reply, not end of stream")
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.ctl.write_all(bytes).unwrap();
    }

    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    pub fn code(&mut self, line: &str) -> u16 {
        self.cmd(line).code().as_u16()
    }

    /// `EPSV`, then connects the data channel.
    pub fn passive(&mut self) -> TcpStream {
        let r = self.cmd("EPSV");
        assert_eq!(r.code().as_u16(), 229, "{r}");
        let port = ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap();
        let data = TcpStream::connect((self.ctl.peer_addr().unwrap().ip(), port)).unwrap();
        data.set_read_timeout(Some(TIMEOUT)).unwrap();
        data
    }

    /// `PORT` to a fresh listener on 127.0.0.1.
    pub fn active(&mut self) -> TcpListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        assert_eq!(
            self.code(&format!("PORT {}", ftp_proto::address::format_port(addr))),
            200
        );
        listener
    }

    /// A download over a passive connection: (bytes, final reply code).
    pub fn retr(&mut self, line: &str) -> (Vec<u8>, u16) {
        let mut data = self.passive();
        let first = self.cmd(line);
        if !first.code().is_preliminary() {
            return (Vec::new(), first.code().as_u16());
        }
        let mut out = Vec::new();
        data.read_to_end(&mut out).unwrap();
        (out, self.reply().code().as_u16())
    }

    /// An upload over a passive connection; returns the final reply code.
    pub fn stor(&mut self, line: &str, contents: &[u8]) -> u16 {
        let mut data = self.passive();
        let first = self.cmd(line);
        if !first.code().is_preliminary() {
            return first.code().as_u16();
        }
        data.write_all(contents).unwrap();
        drop(data);
        self.reply().code().as_u16()
    }
}

/// Users of the end-to-end tests: alice (everything), reader (read-only), anonymous (read-only
/// with an upload directory).
pub fn users() -> UserTable {
    UserTable::new()
        .with_user(
            "alice",
            b"wonderland",
            VirtualPath::root(),
            Permissions::ALL,
        )
        .with_user(
            "reader",
            b"books",
            VirtualPath::root(),
            Permissions::READ_ONLY,
        )
        .with_anonymous(
            AnonymousPolicy::ReadOnlyWithUpload(VirtualPath::root().resolve(b"incoming")),
            VirtualPath::root(),
        )
}

/// The files the end-to-end tests start from.
pub fn storage() -> MemoryStorage {
    let s = MemoryStorage::new();
    s.insert_file("/pub/readme.txt", &b"line one\nline two\n"[..])
        .unwrap();
    s.insert_file("/pub/.hidden", &b"x"[..]).unwrap();
    s.insert_file("/pub/with spaces.txt", &b"spaces"[..])
        .unwrap();
    s.insert_file("/pub/résumé ünï.txt", &b"utf8"[..]).unwrap();
    s.insert_file("/incoming/.keep", &b""[..]).unwrap();
    s
}

/// Runs each named test once on tokio and once on smol.
#[allow(unused_macros)]
macro_rules! on_both_runtimes {
    ($($name:ident),* $(,)?) => {
        mod tokio_rt { $(#[test] fn $name() { super::$name(super::Rt::Tokio) })* }
        mod smol_rt { $(#[test] fn $name() { super::$name(super::Rt::Smol) })* }
    };
    // A second list (cfg-gated by the caller) needs modules of its own names.
    (@unix $($name:ident),* $(,)?) => {
        mod tokio_rt_unix { $(#[test] fn $name() { super::$name(super::Rt::Tokio) })* }
        mod smol_rt_unix { $(#[test] fn $name() { super::$name(super::Rt::Smol) })* }
    };
}

/// `FEAT` of a server whose back-end sets modification times.
pub const FULL_FEAT: &str = "211-Features:\r\n EPRT\r\n EPSV\r\n \
    HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32\r\n HOST\r\n LANG EN*\r\n MDTM\r\n MFMT\r\n \
    MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;\r\n RANG STREAM\r\n REST STREAM\r\n \
    SIZE\r\n TVFS\r\n UTF8\r\n XCRC\r\n XMD5\r\n XSHA1\r\n XSHA256\r\n XSHA512\r\n211 End\r\n";

/// Deterministic test data, the same in every suite.
#[allow(unused_imports)]
pub use ftp_test_support::data;

/// A log writer for a test's global subscriber: every line it is given, kept in memory.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
