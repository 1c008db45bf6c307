//! FTPS end to end on both runtimes, driven by a blocking rustls client written here, so that
//! every step can be bent: data-connection theft (a stranger's full handshake, another
//! session's ticket), uploads cut off without close_notify, handshakes that stall or get
//! garbage, commands out of order. Each gets a clear reply or a clean close, and the server
//! goes on serving its other sessions.

#[macro_use]
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{Rt, TIMEOUT, data, options, start, storage, users};
use ftp_proto::{Reply, ReplyDecoder};
use ftp_server::runtime::tls::rustls;
use ftp_server::{ServerOptions, TlsConfig};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

on_both_runtimes!(
    protected_transfers_both_ways,
    data_connection_theft_is_refused,
    another_sessions_ticket_is_refused,
    upload_without_close_notify_fails,
    out_of_order_and_hostile_control_input,
    stalled_data_handshake,
);

/// A server with a fresh certificate (handshakes limited to 1 s), and a client configuration
/// that trusts it.
fn tls_server(rt: Rt) -> (common::Running, Arc<ClientConfig>) {
    let (cert, key) = ftp_test_support::test_certificate();
    let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let options = options()
        .tls(tls)
        .tls_handshake_timeout(Duration::from_secs(1));
    let server = start(rt, storage(), users(), options);
    (server, client_config(&cert))
}

/// A client configuration trusting `cert`, with its own session cache.
fn client_config(cert: &str) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = ftp_server::runtime::tls::provider().unwrap();
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut config = config;
    // As ftp-client does: rustls spends each TLS 1.3 ticket once, so each data connection
    // asks for the next one (RFC 9149); without it, a rustls client has the control
    // connection's four tickets.
    config.send_ticket_request = Some(rustls::client::TicketRequest {
        new_session_count: 4,
        resumption_count: 1,
    });
    Arc::new(config)
}

fn name() -> ServerName<'static> {
    ServerName::try_from("127.0.0.1").unwrap()
}

/// A control connection, plain or TLS, with a reply decoder.
struct Ctl<S> {
    io: S,
    decoder: ReplyDecoder,
    buf: BytesMut,
}

impl<S: Read + Write> Ctl<S> {
    fn try_reply(&mut self) -> Option<Reply> {
        loop {
            if let Some(r) = self.decoder.decode(&mut self.buf) {
                return Some(r.unwrap());
            }
            let mut chunk = [0u8; 4096];
            let n = match self.io.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => 0,
                Err(e) => panic!("reading a reply: {e}"),
            };
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn reply(&mut self) -> Reply {
        self.try_reply().expect("a reply")
    }

    fn cmd(&mut self, line: &str) -> Reply {
        self.io.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.io.flush().unwrap();
        self.reply()
    }

    fn code(&mut self, line: &str) -> u16 {
        self.cmd(line).code().as_u16()
    }

    fn epsv(&mut self) -> u16 {
        let r = self.cmd("EPSV");
        assert_eq!(r.code().as_u16(), 229, "{r}");
        ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap()
    }
}

type TlsCtl = Ctl<StreamOwned<ClientConnection, TcpStream>>;

fn plain(addr: SocketAddr) -> Ctl<TcpStream> {
    let io = TcpStream::connect(addr).unwrap();
    io.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut c = Ctl {
        io,
        decoder: ReplyDecoder::default(),
        buf: BytesMut::new(),
    };
    assert_eq!(c.reply().code().as_u16(), 220);
    c
}

/// AUTH TLS, the handshake, the login, PBSZ 0 and PROT P.
fn secured(addr: SocketAddr, config: &Arc<ClientConfig>) -> TlsCtl {
    let mut c = plain(addr);
    assert_eq!(c.code("AUTH TLS"), 234);
    assert!(c.buf.is_empty());
    let conn = ClientConnection::new(Arc::clone(config), name()).unwrap();
    let mut c = Ctl {
        io: StreamOwned::new(conn, c.io),
        decoder: c.decoder,
        buf: c.buf,
    };
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wonderland"), 230);
    assert_eq!(c.code("PBSZ 0"), 200);
    assert_eq!(c.code("PROT P"), 200);
    assert_eq!(c.code("TYPE I"), 200);
    c
}

/// A TLS data connection to `port` with `config` (resuming whatever its cache holds).
fn tls_data(port: u16, config: &Arc<ClientConfig>) -> StreamOwned<ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let conn = ClientConnection::new(Arc::clone(config), name()).unwrap();
    StreamOwned::new(conn, tcp)
}

/// Everything a stranger's data connection gets: what it reads before the server ends it.
fn read_all_lossy(io: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match io.read(&mut chunk) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
}

fn download(c: &mut TlsCtl, config: &Arc<ClientConfig>, path: &str) -> Vec<u8> {
    let port = c.epsv();
    let mut d = tls_data(port, config);
    assert_eq!(c.code(&format!("RETR {path}")), 150);
    let mut out = Vec::new();
    if let Err(e) = d.read_to_end(&mut out) {
        panic!("download of {path}: {e} after {} bytes", out.len());
    }
    let r = c.reply();
    assert_eq!(r.code().as_u16(), 226, "{r}");
    out
}

fn upload(c: &mut TlsCtl, config: &Arc<ClientConfig>, path: &str, bytes: &[u8]) -> Reply {
    let port = c.epsv();
    let mut d = tls_data(port, config);
    assert_eq!(c.code(&format!("STOR {path}")), 150);
    d.write_all(bytes).unwrap();
    d.conn.send_close_notify();
    d.flush().unwrap();
    d.sock.shutdown(Shutdown::Write).unwrap();
    let r = c.reply();
    // Read the server's close_notify before the socket goes.
    let _ = read_all_lossy(&mut d);
    r
}

fn protected_transfers_both_ways(rt: Rt) {
    let (server, config) = tls_server(rt);
    let mut c = secured(server.addr, &config);
    let payload = data(3 * 1024 * 1024 + 17, 5);
    for i in 0..3 {
        let r = upload(&mut c, &config, &format!("/up{i}.bin"), &payload);
        assert_eq!(r.code().as_u16(), 226, "{r}");
    }
    for i in 0..3 {
        assert!(download(&mut c, &config, &format!("/up{i}.bin")) == payload);
    }
    let listing = {
        let port = c.epsv();
        let mut d = tls_data(port, &config);
        assert_eq!(c.code("NLST /"), 150);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        assert_eq!(c.reply().code().as_u16(), 226);
        String::from_utf8(out).unwrap()
    };
    assert!(listing.contains("up2.bin"), "{listing}");
    assert_eq!(c.code("QUIT"), 221);
}

/// PASV under PROT P, and a stranger on the same address reaches the port first with a full
/// handshake: it gets nothing, the transfer gets 425 with the reason, and the session goes on.
fn data_connection_theft_is_refused(rt: Rt) {
    let (server, config) = tls_server(rt);
    let mut c = secured(server.addr, &config);
    let port = c.epsv();
    let thief_config = client_config_like(&config);
    let mut thief = tls_data(port, &thief_config);
    let stolen = read_all_lossy(&mut thief);
    assert!(stolen.is_empty(), "the thief read {} bytes", stolen.len());
    let r = c.cmd("RETR /pub/readme.txt");
    let r = if r.code().as_u16() == 150 {
        c.reply()
    } else {
        r
    };
    assert_eq!(r.code().as_u16(), 425, "{r}");
    assert!(r.to_string().contains("not resumed"), "{r}");
    // The real client, resuming its session, still gets its file.
    assert_eq!(
        download(&mut c, &config, "/pub/readme.txt"),
        b"line one\nline two\n"
    );
}

/// A second session's data connection presents its own session to the first session's port:
/// that session is not this control connection's, so it is refused like a stranger.
fn another_sessions_ticket_is_refused(rt: Rt) {
    let (server, config) = tls_server(rt);
    let mut a = secured(server.addr, &config);
    let other = client_config_like(&config);
    let mut b = secured(server.addr, &other);
    // B's cache now holds B's session for the same server name.
    assert_eq!(download(&mut b, &other, "/pub/readme.txt").len(), 18);
    let port = a.epsv();
    let mut intruder = tls_data(port, &other);
    assert!(read_all_lossy(&mut intruder).is_empty());
    let r = a.cmd("RETR /pub/readme.txt");
    let r = if r.code().as_u16() == 150 {
        a.reply()
    } else {
        r
    };
    assert_eq!(r.code().as_u16(), 425, "{r}");
    assert_eq!(download(&mut a, &config, "/pub/readme.txt").len(), 18);
    assert_eq!(download(&mut b, &other, "/pub/readme.txt").len(), 18);
}

/// The same trust, a cache of its own: another client on the same machine.
fn client_config_like(config: &Arc<ClientConfig>) -> Arc<ClientConfig> {
    let mut fresh = (**config).clone();
    fresh.resumption = rustls::client::Resumption::in_memory_sessions(16);
    Arc::new(fresh)
}

/// An upload whose data connection ends without close_notify (a reset, an attacker's FIN)
/// may be cut short: 426, never 226.
fn upload_without_close_notify_fails(rt: Rt) {
    let (server, config) = tls_server(rt);
    let mut c = secured(server.addr, &config);
    let port = c.epsv();
    // No ticket asked for on this one (same cache): nothing unread, so the end is a clean FIN
    // without close_notify, not a reset.
    let mut quiet = (*config).clone();
    quiet.send_ticket_request = None;
    let mut d = tls_data(port, &Arc::new(quiet));
    assert_eq!(c.code("STOR /cut.bin"), 150);
    d.write_all(&data(200_000, 3)).unwrap();
    d.flush().unwrap();
    d.sock.shutdown(Shutdown::Both).unwrap();
    let r = c.reply();
    assert_eq!(r.code().as_u16(), 426, "{r}");
    assert!(r.to_string().contains("close_notify"), "{r}");
    // The session goes on, and a whole upload is a whole file.
    let payload = data(100_000, 4);
    assert_eq!(
        upload(&mut c, &config, "/whole.bin", &payload)
            .code()
            .as_u16(),
        226
    );
    assert!(download(&mut c, &config, "/whole.bin") == payload);
}

fn out_of_order_and_hostile_control_input(rt: Rt) {
    let (server, config) = tls_server(rt);
    // Password logins need TLS first (a certificate is configured); anonymous ones do not.
    let mut p = plain(server.addr);
    let r = p.cmd("USER alice");
    assert_eq!(r.code().as_u16(), 530, "{r}");
    assert!(r.to_string().contains("AUTH TLS"), "{r}");
    assert_eq!(p.code("PBSZ 0"), 503);
    assert_eq!(p.code("PROT P"), 503);
    assert_eq!(p.code("USER anonymous"), 331);
    assert_eq!(p.code("PASS guest@"), 230);
    // PROT before PBSZ, and the levels TLS has no use for.
    let mut c = plain(server.addr);
    assert_eq!(c.code("AUTH TLS"), 234);
    let conn = ClientConnection::new(Arc::clone(&config), name()).unwrap();
    let mut c = Ctl {
        io: StreamOwned::new(conn, c.io),
        decoder: c.decoder,
        buf: c.buf,
    };
    assert_eq!(c.code("PROT P"), 503);
    assert_eq!(c.code("PBSZ 0"), 200);
    assert_eq!(c.code("PROT S"), 536);
    assert_eq!(c.code("CCC"), 534);
    assert_eq!(c.code("AUTH TLS"), 503);
    // Garbage instead of a ClientHello: a clean close.
    let mut g = plain(server.addr);
    assert_eq!(g.code("AUTH TLS"), 234);
    g.io.write_all(b"USER alice\r\nPASS wonderland\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = g.io.read_to_end(&mut rest);
    assert!(!rest.starts_with(b"331"), "plain text taken for commands");
    // A handshake that never starts: closed at the handshake deadline (1 s here).
    let mut s = plain(server.addr);
    assert_eq!(s.code("AUTH TLS"), 234);
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = s.io.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(10));
    // Meanwhile the other sessions are served.
    let mut ok = secured(server.addr, &config);
    assert_eq!(download(&mut ok, &config, "/pub/readme.txt").len(), 18);
    assert_eq!(p.code("NOOP"), 200);
}

/// A data connection that connects and never handshakes: refused at the deadline.
fn stalled_data_handshake(rt: Rt) {
    let (server, config) = tls_server(rt);
    let mut c = secured(server.addr, &config);
    let port = c.epsv();
    let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let r = c.cmd("RETR /pub/readme.txt");
    let r = if r.code().as_u16() == 150 {
        c.reply()
    } else {
        r
    };
    assert_eq!(r.code().as_u16(), 425, "{r}");
    assert_eq!(download(&mut c, &config, "/pub/readme.txt").len(), 18);
}

/// Implicit FTPS on a listener of its own: a plain client, one that sends nothing and one that
/// sends garbage are closed; a TLS client gets the greeting and is served.
#[test]
fn implicit_listener() {
    use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
    let (cert, key) = ftp_test_support::test_certificate();
    let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let options: ServerOptions = options()
        .tls(tls)
        .tls_handshake_timeout(Duration::from_secs(1));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = ftp_server::Server::new(TokioRuntime, storage(), users(), options);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        server
            .serve_implicit_tls(TokioListener::new(listener))
            .await
    });
    let config = client_config(&cert);
    // Plain text: no greeting in the clear, a close.
    let mut plain_client = TcpStream::connect(addr).unwrap();
    plain_client.set_read_timeout(Some(TIMEOUT)).unwrap();
    plain_client.write_all(b"USER anonymous\r\n").unwrap();
    let mut got = Vec::new();
    let _ = plain_client.read_to_end(&mut got);
    assert!(
        !got.starts_with(b"220"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    // Silence: closed at the handshake deadline.
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(TIMEOUT)).unwrap();
    let started = Instant::now();
    let _ = silent.read_to_end(&mut got);
    assert!(started.elapsed() < Duration::from_secs(10));
    // A TLS client: greeting, login, a protected download.
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let conn = ClientConnection::new(Arc::clone(&config), name()).unwrap();
    let mut c = Ctl {
        io: StreamOwned::new(conn, tcp),
        decoder: ReplyDecoder::default(),
        buf: BytesMut::new(),
    };
    assert_eq!(c.reply().code().as_u16(), 220);
    assert_eq!(c.code("AUTH TLS"), 503, "already secured");
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wonderland"), 230);
    assert_eq!(c.code("PBSZ 0"), 200);
    assert_eq!(c.code("PROT P"), 200);
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(download(&mut c, &config, "/pub/readme.txt").len(), 18);
    runtime.shutdown_background();
}
