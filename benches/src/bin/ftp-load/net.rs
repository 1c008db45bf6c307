//! Sessions to the server under test: one resolved address, the credentials, the client's
//! options, and the source addresses connections are spread over.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use ftp_client::runtime::tokio::TokioRuntime;
use ftp_client::runtime::{BoxFuture, Listener, Runtime, TcpStream, Timer};
use ftp_client::{Client, ClientOptions, Error};

/// The client type every phase uses.
pub(crate) type Ftp = Client;

/// tokio, with outgoing connections (control and passive data alike) bound to one source
/// address. Servers limit connections per client address (ours to 64, by default) and refuse
/// data connections from another address than the control connection's, so a client that
/// spreads its sessions over several addresses keeps each session on one of them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LoadRuntime {
    source: Option<IpAddr>,
}

#[async_trait]
impl Runtime for LoadRuntime {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        TokioRuntime.resolve(host, port).await
    }

    async fn connect(&self, to: SocketAddr, from: Option<SocketAddr>) -> io::Result<TcpStream> {
        let from = from.or(self.source.map(|ip| SocketAddr::new(ip, 0)));
        TokioRuntime.connect(to, from).await
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Listener>> {
        TokioRuntime.bind(addr).await
    }

    fn timer(&self, deadline: Instant) -> Box<dyn Timer> {
        TokioRuntime.timer(deadline)
    }

    fn spawn(&self, task: BoxFuture<()>) {
        TokioRuntime.spawn(task);
    }
}

/// Where and as whom to connect; cheap to clone into tasks.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    addr: SocketAddr,
    user: String,
    password: String,
    options: ClientOptions,
    sources: Vec<IpAddr>,
    next_source: AtomicUsize,
    /// FTPS: how to check the certificate, explicit or implicit, and the name it must carry.
    tls: Option<(ftp_client::ClientTls, ftp_client::TlsMode, String)>,
}

impl Target {
    /// Resolves `host` once, so that no phase measures name resolution.
    pub(crate) async fn resolve(
        host: &str,
        port: u16,
        user: String,
        password: String,
        options: ClientOptions,
        sources: Vec<IpAddr>,
        tls: Option<(ftp_client::ClientTls, ftp_client::TlsMode)>,
    ) -> Result<Self, String> {
        let addrs = TokioRuntime
            .resolve(host, port)
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?;
        // With source addresses, take a server address of their family.
        let addr = addrs
            .iter()
            .find(|a| sources.first().is_none_or(|s| s.is_ipv4() == a.is_ipv4()))
            .copied()
            .ok_or_else(|| format!("{host} resolves to no usable address"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                addr,
                user,
                password,
                options,
                sources,
                next_source: AtomicUsize::new(0),
                tls: tls.map(|(tls, mode)| (tls, mode, host.to_owned())),
            }),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Connects (from the next source address, round robin) and logs in.
    pub(crate) async fn session(&self) -> Result<Ftp, Error> {
        let inner = &*self.inner;
        let source = match inner.sources.len() {
            0 => None,
            n => {
                let i = inner.next_source.fetch_add(1, Ordering::Relaxed) % n;
                inner.sources.get(i).copied()
            }
        };
        let runtime = LoadRuntime { source };
        let options = inner.options.clone();
        let mut ftp = match &inner.tls {
            Some((tls, mode, name)) => {
                let tls = tls.clone();
                Client::connect_tls_addr(runtime, inner.addr, name, options, tls, *mode).await?
            }
            None => Client::connect_addr(runtime, inner.addr, options).await?,
        };
        ftp.login(&inner.user, &inner.password).await?;
        Ok(ftp)
    }
}

/// Why a connection may have failed, for errors that hint at a limit rather than a bug.
pub(crate) fn limit_hint(e: &Error) -> Option<&'static str> {
    let io_hint = |e: &io::Error| match e.raw_os_error() {
        Some(24) => Some("this process ran out of file descriptors (RLIMIT_NOFILE)"),
        Some(99) => Some("no local ports left (EADDRNOTAVAIL): too many sockets in TIME_WAIT?"),
        _ => match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                Some("nothing listens there, or the server's listen backlog overflowed")
            }
            io::ErrorKind::ConnectionReset => Some(
                "the server dropped the connection: its listen backlog, its file descriptor \
                 limit or its connection limits",
            ),
            _ => None,
        },
    };
    match e {
        Error::Io(io) => io_hint(io),
        Error::Closed(_) => Some(
            "the server closed the connection: its limit on connections (in total or per \
             client address; spread them with --source-ips) or its file descriptor limit",
        ),
        _ if e.code() == Some(421) => Some(
            "421: the server's limit on connections (in total or per client address; spread \
             them with --source-ips)",
        ),
        _ => None,
    }
}

/// An error's message with the hint, when there is one.
pub(crate) fn describe(e: &Error) -> String {
    match limit_hint(e) {
        Some(hint) => format!("{e} ({hint})"),
        None => e.to_string(),
    }
}

/// Parses `--source-ips`: comma-separated addresses or IPv4 ranges `A-B`.
pub(crate) fn parse_sources(spec: &str) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            let parse = |s: &str| {
                s.trim()
                    .parse::<std::net::Ipv4Addr>()
                    .map(u32::from)
                    .map_err(|e| format!("{s}: {e}"))
            };
            let (a, b) = (parse(a)?, parse(b)?);
            if a > b || b - a >= 65_536 {
                return Err(format!("{part}: not an increasing range of at most 65536"));
            }
            out.extend((a..=b).map(|n| IpAddr::from(std::net::Ipv4Addr::from(n))));
        } else {
            out.push(part.parse().map_err(|e| format!("{part}: {e}"))?);
        }
    }
    if out.iter().any(IpAddr::is_ipv4) && out.iter().any(IpAddr::is_ipv6) {
        return Err("source addresses must all be IPv4 or all IPv6".to_owned());
    }
    Ok(out)
}
