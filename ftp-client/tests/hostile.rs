//! A hostile or broken server: replies split across reads, huge and endless replies, garbage,
//! data connections that never open or stall, and a server that hangs up. The client must
//! return errors within its timeouts, never hang, never panic, never buffer without bound.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{on_smol, on_tokio};
use ftp_client::runtime::Runtime;
use ftp_client::runtime::smol::SmolRuntime;
use ftp_client::runtime::tokio::TokioRuntime;
use ftp_client::{Client, ClientOptions, DataMode, Error, Stage};
use futures_util::AsyncReadExt;

/// The timeouts the hostile tests run with; every failure must come within a small margin.
const LIMIT: Duration = Duration::from_millis(800);
const MARGIN: Duration = Duration::from_secs(5);

fn options() -> ClientOptions {
    let mut o = ClientOptions::default();
    o.connect_timeout = LIMIT;
    o.reply_timeout = LIMIT;
    o.data_timeout = LIMIT;
    o.replies
        .max_line_len(1024)
        .max_reply_bytes(64 << 10)
        .max_lines(1000);
    o
}

/// A one-connection server running `script` on its own thread.
fn serve(script: impl FnOnce(Conn) + Send + 'static) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        script(Conn { stream, reader });
    });
    (addr, handle)
}

struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) {
        // The client may hang up first; that is what several tests expect.
        let _ = self.stream.write_all(bytes);
    }

    /// Reads one command line (without CRLF); empty when the client closed.
    fn command(&mut self) -> String {
        let mut line = String::new();
        let _ = self.reader.read_line(&mut line);
        line.trim_end().to_owned()
    }

    fn expect(&mut self, verb: &str, reply: &[u8]) {
        let line = self.command();
        assert!(line.starts_with(verb), "expected {verb}, got {line:?}");
        self.send(reply);
    }

    /// Greets, accepts any login.
    fn logged_in(mut self) -> Self {
        self.send(b"220 hostile\r\n");
        self.expect("USER", b"331 pw\r\n");
        self.expect("PASS", b"230 in\r\n");
        self
    }

    /// Waits until the client closes the control connection.
    fn drain(mut self) {
        let mut sink = Vec::new();
        let _ = self.reader.read_to_end(&mut sink);
    }
}

async fn login(rt: impl Runtime, addr: SocketAddr) -> Client {
    let mut ftp = Client::connect_addr(rt, addr, options()).await.unwrap();
    ftp.login("u", "p").await.unwrap();
    ftp
}

fn within_limits(start: Instant) {
    assert!(
        start.elapsed() < LIMIT + MARGIN,
        "took {:?}, timeouts are {LIMIT:?}",
        start.elapsed()
    );
}

#[test]
fn replies_split_at_every_byte() {
    let (addr, server) = serve(|mut c| {
        let script: &[&[u8]] = &[
            b"220-Welcome\r\n220-  to a slow server\r\n220 ready\r\n",
            b"331 Password required\r\n",
            b"230-Logged in.\r\n230-123 inner lines begin with digits\r\n230 done\r\n",
        ];
        for (i, reply) in script.iter().enumerate() {
            if i > 0 {
                c.command();
            }
            for byte in reply.iter() {
                c.send(std::slice::from_ref(byte));
                c.stream.flush().unwrap();
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        c.expect("QUIT", b"221 bye\r\n");
    });
    on_tokio(async move {
        let mut ftp = Client::connect_addr(TokioRuntime, addr, options())
            .await
            .unwrap();
        assert_eq!(ftp.greeting().lines().count(), 3);
        let reply = ftp.login("u", "p").await.unwrap();
        assert_eq!(reply.code().as_u16(), 230);
        assert_eq!(reply.lines().count(), 3);
        assert_eq!(ftp.quit().await.unwrap().code().as_u16(), 221);
    });
    server.join().unwrap();
}

#[test]
fn endless_multiline_reply_is_an_error_not_a_hang() {
    let (addr, server) = serve(|c| {
        let mut c = c.logged_in();
        c.command();
        c.send(b"211-Features:\r\n");
        // An endless reply: stops only when the client hangs up.
        let line = b" FEATURE-THAT-NEVER-ENDS 1234567890\r\n".repeat(100);
        let start = Instant::now();
        while c.stream.write_all(&line).is_ok() && start.elapsed() < Duration::from_secs(30) {}
    });
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        let start = Instant::now();
        let err = ftp.features().await.unwrap_err();
        within_limits(start);
        assert!(
            matches!(err, Error::BadReply(_) | Error::Timeout(Stage::Reply)),
            "{err:?}"
        );
        // Out of step now: the client says so instead of guessing.
        assert!(matches!(ftp.noop().await, Err(Error::Broken)));
    });
    server.join().unwrap();
}

#[test]
fn endless_line_without_line_end_is_refused() {
    let (addr, server) = serve(|mut c| {
        let junk = [b'x'; 8192];
        let start = Instant::now();
        c.send(b"220 ");
        while c.stream.write_all(&junk).is_ok() && start.elapsed() < Duration::from_secs(30) {}
    });
    on_smol(async move {
        let start = Instant::now();
        let err = Client::connect_addr(SmolRuntime::default(), addr, options())
            .await
            .unwrap_err();
        within_limits(start);
        assert!(
            matches!(err, Error::BadReply(_) | Error::Timeout(_)),
            "{err:?}"
        );
    });
    server.join().unwrap();
}

#[test]
fn garbage_and_silence_and_hangups() {
    // Not FTP at all.
    let (addr, server) = serve(|mut c| {
        c.send(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        c.drain();
    });
    on_tokio(async move {
        let err = Client::connect_addr(TokioRuntime, addr, options())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::BadReply(_)), "{err:?}");
    });
    server.join().unwrap();

    // A server that accepts and never says a word.
    let (addr, server) = serve(|c| c.drain());
    on_tokio(async move {
        let start = Instant::now();
        let err = Client::connect_addr(TokioRuntime, addr, options())
            .await
            .unwrap_err();
        within_limits(start);
        assert!(matches!(err, Error::Timeout(Stage::Reply)), "{err:?}");
    });
    server.join().unwrap();

    // 421 and a hang-up in the middle of a session.
    let (addr, server) = serve(|c| {
        let mut c = c.logged_in();
        c.command();
        c.send(b"421 Service not available, closing control connection\r\n");
    });
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        let err = ftp.pwd().await.unwrap_err();
        // 421 as the reply to PWD: a refusal that carries the server's words.
        assert_eq!(err.code(), Some(421), "{err:?}");
        let err = ftp.noop().await.unwrap_err();
        assert!(
            matches!(err, Error::Closed(_) | Error::Broken | Error::Io(_)),
            "{err:?}"
        );
    });
    server.join().unwrap();
}

#[test]
fn passive_data_connection_that_stalls_or_never_opens() {
    // EPSV names a port that accepts but never sends: the read times out.
    let (addr, server) = serve(|c| {
        let data = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = data.local_addr().unwrap().port();
        let mut c = c.logged_in();
        c.expect("TYPE", b"200 ok\r\n");
        c.expect(
            "EPSV",
            format!("229 Entering Extended Passive Mode (|||{port}|)\r\n").as_bytes(),
        );
        let (_held, _) = data.accept().unwrap();
        c.expect("RETR", b"150 here it comes (not)\r\n");
        // The client gives up on the data and aborts.
        c.expect("ABOR", b"426 aborted\r\n226 ABOR ok\r\n");
        c.expect("NOOP", b"200 still here\r\n");
        c.drain();
    });
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        let mut r = ftp.retr("f", 0).await.unwrap();
        let start = Instant::now();
        let mut buf = Vec::new();
        let err = r.read_to_end(&mut buf).await.unwrap_err();
        within_limits(start);
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err:?}");
        drop(r);
        // The dropped transfer is aborted first, then the connection serves on.
        assert_eq!(ftp.noop().await.unwrap().code().as_u16(), 200);
    });
    server.join().unwrap();

    // EPSV names a port where nothing listens.
    let (addr, server) = serve(|c| {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let mut c = c.logged_in();
        c.expect("TYPE", b"200 ok\r\n");
        c.expect("EPSV", format!("229 (|||{port}|)\r\n").as_bytes());
        c.expect("NOOP", b"200 ok\r\n");
        c.drain();
    });
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        let err = ftp.retr("f", 0).await.unwrap_err();
        assert!(
            matches!(err, Error::Io(_) | Error::Timeout(Stage::DataConnect)),
            "{err:?}"
        );
        // Nothing was sent for the transfer, so the session goes on.
        ftp.noop().await.unwrap();
    });
    server.join().unwrap();
}

#[test]
fn active_data_connection_that_never_comes_and_pasv_fallback_to_peer() {
    // Active mode: the server accepts EPRT and RETR but never connects.
    let (addr, server) = serve(|c| {
        let mut c = c.logged_in();
        c.expect("TYPE", b"200 ok\r\n");
        c.expect("EPRT", b"200 EPRT ok\r\n");
        c.expect("RETR", b"150 connecting (not)\r\n");
        c.expect("ABOR", b"425 no connection\r\n225 nothing to abort\r\n");
        c.expect("NOOP", b"200 ok\r\n");
        c.drain();
    });
    on_smol(async move {
        let mut ftp = login(SmolRuntime::default(), addr).await;
        ftp.set_data_mode(DataMode::Active { bind: None });
        let start = Instant::now();
        let err = ftp.retr("f", 0).await.unwrap_err();
        within_limits(start);
        assert!(matches!(err, Error::Timeout(Stage::DataConnect)), "{err:?}");
        ftp.noop().await.unwrap();
    });
    server.join().unwrap();

    // EPSV unknown, and the 227 names a private address of another host (NAT): the client
    // connects to the control connection's peer instead, and remembers to use PASV.
    let (addr, server) = serve(|c| {
        let data = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = data.local_addr().unwrap().port();
        let pasv = format!(
            "227 Entering Passive Mode (10,9,8,7,{},{})\r\n",
            port >> 8,
            port & 255
        );
        let mut c = c.logged_in();
        c.expect("TYPE", b"200 ok\r\n");
        c.expect("EPSV", b"500 EPSV not understood\r\n");
        c.expect("PASV", pasv.as_bytes());
        let (mut d, _) = data.accept().unwrap();
        c.expect("RETR", b"150 ok\r\n");
        d.write_all(b"behind NAT").unwrap();
        drop(d);
        c.send(b"226 done\r\n");
        c.expect("PASV", pasv.as_bytes());
        let (d, _) = data.accept().unwrap();
        c.expect("NLST", b"150 ok\r\n");
        drop(d);
        c.send(b"226 done\r\n");
        c.drain();
    });
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        let mut body = Vec::new();
        ftp.retr("f", 0)
            .await
            .unwrap()
            .read_to_end(&mut body)
            .await
            .unwrap();
        assert_eq!(body, b"behind NAT");
        assert!(ftp.epsv_refused());
        assert!(ftp.nlst("").await.unwrap().is_empty());
    });
    server.join().unwrap();
}

#[test]
fn foreign_active_connection_and_oversized_listing_are_refused() {
    // A data connection to our active-mode listener from another address than the server's
    // is refused. 127.0.0.2 is another host as far as addresses go (Linux routes all of
    // 127/8 to loopback).
    let (addr, server) = serve(|c| {
        let mut c = c.logged_in();
        c.expect("TYPE", b"200 ok\r\n");
        let eprt = c.command();
        let port: u16 = eprt
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        c.send(b"200 ok\r\n");
        c.expect("RETR", b"150 ok\r\n");
        let from = socket_from("127.0.0.2");
        let _ = from.connect(("127.0.0.1", port));
        c.expect("ABOR", b"426 aborted\r\n226 ok\r\n");
        c.expect("NOOP", b"200 ok\r\n");
        c.drain();
    });
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        ftp.set_data_mode(DataMode::Active { bind: None });
        let err = ftp.retr("f", 0).await.unwrap_err();
        assert!(
            matches!(err, Error::ForeignDataConnection(a) if a.ip().to_string() == "127.0.0.2"),
            "{err:?}"
        );
        // The refused transfer is aborted before the next command.
        ftp.noop().await.unwrap();
    });
    server.join().unwrap();

    // A listing larger than the configured bound ends in an error, not in memory growth.
    let (addr, server) = serve(|c| {
        let data = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = data.local_addr().unwrap().port();
        let mut c = c.logged_in();
        c.expect("EPSV", format!("229 (|||{port}|)\r\n").as_bytes());
        let (mut d, _) = data.accept().unwrap();
        c.expect("LIST", b"150 ok\r\n");
        let line = b"-rw-r--r-- 1 ftp ftp 0 Jan 01 2020 name\r\n".repeat(100);
        let start = Instant::now();
        while d.write_all(&line).is_ok() && start.elapsed() < Duration::from_secs(30) {}
        c.expect("ABOR", b"426 aborted\r\n226 ok\r\n");
        c.drain();
    });
    on_tokio(async move {
        let mut o = options();
        o.max_listing_bytes = 100_000;
        let mut ftp = Client::connect_addr(TokioRuntime, addr, o).await.unwrap();
        ftp.login("u", "p").await.unwrap();
        let err = ftp.list("").await.unwrap_err();
        assert!(matches!(err, Error::ListingTooLarge(100_000)), "{err:?}");
    });
    server.join().unwrap();
}

/// A std socket bound to `ip` (port 0), to connect from.
fn socket_from(ip: &str) -> ConnectFrom {
    ConnectFrom(ip.parse().unwrap())
}

struct ConnectFrom(std::net::IpAddr);

impl ConnectFrom {
    fn connect(&self, to: (&str, u16)) -> std::io::Result<TcpStream> {
        // std cannot bind before connecting; tokio's TcpSocket can, on a small runtime.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let from = SocketAddr::new(self.0, 0);
        let to: SocketAddr = format!("{}:{}", to.0, to.1).parse().unwrap();
        rt.block_on(async move {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(from)?;
            let stream = socket.connect(to).await?;
            stream.into_std()
        })
    }
}

/// A server whose one directory `pub` lists `listing` (no MLST: read from LIST, from inside
/// the directory as the client lists them), for `download_tree("pub", ..)`.
fn serve_listing(listing: &'static [u8]) -> (SocketAddr, JoinHandle<()>) {
    serve(move |c| {
        let data = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = data.local_addr().unwrap().port();
        let mut c = c.logged_in();
        c.expect("FEAT", b"211-Features:\r\n SIZE\r\n211 End\r\n");
        c.expect("PWD", b"257 \"/\"\r\n");
        c.expect("CWD pub", b"250 ok\r\n");
        c.expect("EPSV", format!("229 (|||{port}|)\r\n").as_bytes());
        let (mut d, _) = data.accept().unwrap();
        c.expect("LIST", b"150 ok\r\n");
        d.write_all(listing).unwrap();
        drop(d);
        c.send(b"226 done\r\n");
        c.expect("CWD /", b"250 back\r\n");
        c.drain();
    })
}

#[test]
fn a_listing_cannot_make_download_tree_write_outside_its_directory() {
    // No MLST: the tree is read from LIST, whose names are taken as they are; the server
    // lists `../escaped` in the tree being downloaded. (MLSD names are cut to their last
    // component, so there `../escaped` would become `escaped`, inside.)
    let (addr, server) = serve_listing(
        b"-rw-r--r-- 1 ftp ftp 4 Jan 01  2020 ../escaped\r\n\
          -rw-r--r-- 1 ftp ftp 4 Jan 01  2020 fine\r\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("inside");
    let target2 = target.clone();
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        let err = ftp.download_tree("pub", &target2).await.unwrap_err();
        assert!(err.to_string().contains("unsafe name"), "{err}");
    });
    server.join().unwrap();
    assert!(!dir.path().join("escaped").exists());
    assert_eq!(
        std::fs::read_dir(&target).unwrap().count(),
        0,
        "nothing was downloaded"
    );
}

/// A listing line that no parser reads (inetutils ftpd sends `ls`'s complaints as listing
/// lines) fails the mirror, naming the directory, instead of a success with files missing.
#[test]
fn an_unparsable_listing_line_fails_download_tree() {
    let (addr, server) = serve_listing(
        b"total 8\r\n-rw-r--r-- 1 ftp ftp 4 Jan 01  2020 fine\r\n\
          big file: Permission denied\r\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy");
    let target2 = target.clone();
    on_tokio(async move {
        let mut ftp = login(TokioRuntime, addr).await;
        let err = ftp.download_tree("pub", &target2).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "pub: listing line not understood: \"big file: Permission denied\""
        );
    });
    server.join().unwrap();
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}
