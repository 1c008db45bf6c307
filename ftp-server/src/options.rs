//! The server's settings: the protocol machine's ([`ServerConfig`], passed to every session)
//! and the driver's own (ports, limits, buffers), set one way, by a builder that chains by value.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::time::Duration;

use bytes::Bytes;
use ftp_proto::ServerConfig;
use ftp_proto::server::{ControlTls, DataTls, ThrottleConfig};

use crate::tls::TlsConfig;

/// Server settings. `Default` gives safe values: no public address, passive ports from the OS,
/// five minutes of idle time and as long to log in, a one-second pause after each failed login,
/// data connections only from the client's own address.
///
/// ```
/// use std::time::Duration;
/// use ftp_server::ServerOptions;
///
/// let options = ServerOptions::default()
///     .greeting("Welcome.")
///     .passive_ports(50000..=50100)
///     .idle_timeout(Duration::from_secs(120));
/// assert_eq!(options.protocol().idle_timeout, Duration::from_secs(120));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ServerOptions {
    /// What the protocol machine is given (timeouts, limits, the greeting, policies).
    protocol: ServerConfig,
    /// Ports for passive listeners; `None`: a free port of the system's ephemeral range.
    pub(crate) passive_ports: Option<RangeInclusive<u16>>,
    /// The IPv4 address to announce in `227` replies (the public address behind NAT).
    pub(crate) masquerade_address: Option<Ipv4Addr>,
    /// Local port for active-mode connections (20 by tradition; `None`: any).
    pub(crate) active_local_port: Option<u16>,
    /// Longest command line accepted.
    pub(crate) max_line_len: usize,
    /// Buffer size of a transfer (allocated only while it runs).
    pub(crate) transfer_buffer: usize,
    /// Binary downloads over plain data connections sent from local files by the kernel.
    pub(crate) zero_copy: bool,
    /// Most control connections at once.
    pub(crate) max_connections: usize,
    /// Most control connections from one address at once.
    pub(crate) max_connections_per_ip: usize,
    /// Most passive listeners open at once for one client address.
    pub(crate) max_passive_per_ip: usize,
    /// Failed logins per address across connections: delays, then a ban.
    pub(crate) login_throttle: ThrottleConfig,
    /// Connections not logged in yet, in all and from one address.
    pub(crate) max_unauthenticated: usize,
    pub(crate) max_unauthenticated_per_ip: usize,
    /// Logged-in sessions of one user at once.
    pub(crate) max_sessions_per_user: usize,
    /// Bandwidth limits.
    pub(crate) rate_limits: RateLimits,
    /// Largest file an upload may write (`552` past it); `None`: no limit.
    pub(crate) max_upload_size: Option<u64>,
    /// What each user may store under their home: bytes and files.
    pub(crate) user_quota: (Option<u64>, Option<u64>),
    /// The certificate and TLS settings; `None`: no FTPS (`AUTH` gets `502`).
    pub(crate) tls: Option<TlsConfig>,
    /// The PROXY protocol's trusted balancers; `None`: off.
    pub(crate) trusted_proxies: Option<std::sync::Arc<[crate::TrustedProxy]>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            protocol: ServerConfig::default(),
            passive_ports: None,
            masquerade_address: None,
            active_local_port: None,
            max_line_len: 4096,
            transfer_buffer: 64 * 1024,
            zero_copy: true,
            max_connections: 1024,
            max_passive_per_ip: 16,
            login_throttle: ThrottleConfig::default(),
            max_unauthenticated: 256,
            max_unauthenticated_per_ip: 16,
            max_sessions_per_user: 64,
            rate_limits: RateLimits::default(),
            max_upload_size: None,
            user_quota: (None, None),
            max_connections_per_ip: 64,
            tls: None,
            trusted_proxies: None,
        }
    }
}

/// Bandwidth limits in bytes per second, for uploads and downloads apart, per session, per
/// user across all of that user's sessions, and for the whole server; `None` (the default):
/// no limit. Token buckets: a burst of a quarter second's worth (at least 64 KiB), then the
/// rate; listings are not limited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Uploads of one session.
    pub session_up: Option<u64>,
    /// Downloads of one session.
    pub session_down: Option<u64>,
    /// Uploads of all of one user's sessions together.
    pub user_up: Option<u64>,
    /// Downloads of all of one user's sessions together.
    pub user_down: Option<u64>,
    /// Uploads to the whole server.
    pub server_up: Option<u64>,
    /// Downloads from the whole server.
    pub server_down: Option<u64>,
}

/// Setters of the machine's settings: each sets the [`ServerConfig`] field of the same name.
macro_rules! protocol_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.protocol.$name(value);
            self
        }
    )*};
}

impl ServerOptions {
    /// The protocol machine's settings, as every session gets them.
    pub fn protocol(&self) -> &ServerConfig {
        &self.protocol
    }

    /// Text of the `220` greeting.
    pub fn greeting(mut self, text: impl Into<String>) -> Self {
        self.protocol.greeting(Bytes::from(text.into()));
        self
    }

    protocol_setters!(
        /// Close a control connection not logged in this long after it opened (`421`).
        login_timeout: Duration,
        /// Close a control connection with no complete command for this long (`421`), or
        /// whose replies have not been read for this long.
        idle_timeout: Duration,
        /// How long a data connection may take to open after the `150` (`425`).
        data_connect_timeout: Duration,
        /// How long a transfer may move no data before it is aborted (`426`).
        data_stall_timeout: Duration,
        /// Pause before the `530` of a failed login, against password guessing.
        failed_login_delay: Duration,
        /// Failed logins before the connection is closed.
        max_login_failures: u32,
        /// Most entries in a `STAT path` reply (it is held in memory).
        max_status_lines: usize,
        /// Most bytes one `HASH` or X-command checksums (`550` past it; `None`: no limit;
        /// default 64 GiB).
        max_hash_size: Option<u64>,
        /// Bytes of commands held while a transfer runs (see
        /// [`ServerConfig::max_queued_bytes`]).
        max_queued_bytes: usize,
        /// When logins need TLS on the control connection (with a certificate configured;
        /// default: password logins, anonymous ones may stay plain).
        control_tls: ControlTls,
        /// Whether data connections must be protected (`PROT P`; default: optional).
        data_tls: DataTls,
        /// How long a TLS handshake may take, on the control and on data connections.
        tls_handshake_timeout: Duration,
        /// Allow `PORT`/`EPRT` to other addresses than the client's and passive data
        /// connections from anywhere: opens the FTP bounce attack (RFC 2577), only for proxies
        /// and FXP setups that need it.
        dangerous_allow_any_data_peer: bool,
    );

    /// Ports for passive listeners (default: a free port of the system's ephemeral range,
    /// chosen at random by the server; see [`ftp_runtime::bind_in_range`]).
    pub fn passive_ports(mut self, ports: RangeInclusive<u16>) -> Self {
        self.passive_ports = Some(ports);
        self
    }

    /// Turns the PROXY protocol (v1 and v2) on: control connections must come from one of
    /// `trusted` (others are closed at once) and start with a header naming the real client
    /// (one without is closed); every rule about the client's address then applies to that
    /// address. On passive data connections, one from a trusted balancer must carry a header
    /// too, and the address it names must be the control connection's client; others are
    /// checked as ever. Each refusal is logged under `ftp_server::audit`. A v2 `LOCAL` header
    /// (a health check) stands for the balancer itself. Headers are read within 10 seconds.
    ///
    /// Behind a balancer, announce its address in `PASV` replies with
    /// [`masquerade_address`](Self::masquerade_address), and give each instance its own
    /// [`passive_ports`](Self::passive_ports) range, which the balancer sends to it.
    pub fn proxy_protocol(
        mut self,
        trusted: impl IntoIterator<Item = crate::TrustedProxy>,
    ) -> Self {
        self.trusted_proxies = Some(trusted.into_iter().collect());
        self
    }

    /// The IPv4 address to announce in `227` replies (the public address behind NAT).
    pub fn masquerade_address(mut self, ip: Ipv4Addr) -> Self {
        self.masquerade_address = Some(ip);
        self
    }

    /// Local port for active-mode connections (20 by tradition; default: any).
    pub fn active_local_port(mut self, port: u16) -> Self {
        self.active_local_port = Some(port);
        self
    }

    /// Longest command line accepted (default 4096 bytes).
    pub fn max_line_len(mut self, value: usize) -> Self {
        self.max_line_len = value;
        self
    }

    /// Buffer size of a transfer, allocated only while it runs (default 64 KiB, at least 512).
    pub fn transfer_buffer(mut self, value: usize) -> Self {
        self.transfer_buffer = value.max(512);
        self
    }

    /// Whether binary downloads over plain (not TLS) data connections go from a back-end's
    /// local file to the socket with `sendfile(2)`, not through a user-space buffer (default
    /// on; Linux, the built-in runtimes and [`FsStorage`](crate::storage::fs::FsStorage)).
    /// Everything else, and this with it off, reads and writes through the transfer buffer.
    /// A file whose pages are not in the page cache is then read by the kernel on the task's
    /// thread; turn it off where files live on slow disks and many downloads run at once.
    pub fn zero_copy(mut self, value: bool) -> Self {
        self.zero_copy = value;
        self
    }

    /// Most control connections at once (default 1024).
    pub fn max_connections(mut self, value: usize) -> Self {
        self.max_connections = value;
        self
    }

    /// Offers FTPS (RFC 4217): `AUTH TLS` on every listener, and implicit TLS on those served
    /// with [`Server::serve_implicit_tls`](crate::Server::serve_implicit_tls). Password logins
    /// then need TLS unless [`control_tls`](Self::control_tls) says otherwise.
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connections not logged in yet, in all (default 256) and from one address (default 16),
    /// counted apart from the logged-in ones: a flood of idle connections cannot lock users
    /// out. Past either, `421` at connect.
    pub fn max_unauthenticated(mut self, total: usize, per_ip: usize) -> Self {
        self.max_unauthenticated = total;
        self.max_unauthenticated_per_ip = per_ip;
        self
    }

    /// Bandwidth limits (see [`RateLimits`]).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// The largest file an upload may write, counting what a resumed or appended file held
    /// already: past it the upload fails with `552`, and a file it was replacing stays as it
    /// was (default: no limit).
    pub fn max_upload_size(mut self, bytes: u64) -> Self {
        self.max_upload_size = Some(bytes);
        self
    }

    /// What each user may store under their home directory, in bytes and in files (`None`:
    /// no limit; default: none). Checked before an upload (a new file past the file count is
    /// refused with `552` before its `150`) and during it (past the bytes, `552`, and a file
    /// it was replacing stays as it was). A user's usage is counted once by walking their
    /// home (page by page), then kept up to date by the uploads this server completes; other
    /// changes (deletes, renames, broken uploads) have it counted again at the next upload.
    pub fn user_quota(mut self, bytes: Option<u64>, files: Option<u64>) -> Self {
        self.user_quota = (bytes, files);
        self
    }

    /// Logged-in sessions of one user at once (default 64); a login past it gets `421`.
    pub fn max_sessions_per_user(mut self, value: usize) -> Self {
        self.max_sessions_per_user = value;
        self
    }

    /// Password guessing across connections (see [`ThrottleConfig`]): each failed login from
    /// an address within the window adds a growing delay, and so many of them ban it for a
    /// while (`421` at connect, logged at WARN). By default 10 failures in 10 minutes ban an
    /// address for 15 minutes; `ban_after` 0 turns it off.
    pub fn login_throttle(mut self, config: ThrottleConfig) -> Self {
        self.login_throttle = config;
        self
    }

    /// Most passive listeners open at once for one client address (default 16): one address
    /// cannot hold the whole passive port range. Past it, `PASV` and `EPSV` get `425`.
    pub fn max_passive_per_ip(mut self, value: usize) -> Self {
        self.max_passive_per_ip = value;
        self
    }

    /// Most control connections from one address at once (default 64).
    pub fn max_connections_per_ip(mut self, value: usize) -> Self {
        self.max_connections_per_ip = value;
        self
    }
}
