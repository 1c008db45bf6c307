//! Settings of a session: [`ServerConfig`], the [`Features`] it offers and the
//! [`ConnectionInfo`] of its control connection.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use crate::feat::Features;

/// Settings of a [`ServerSession`](super::ServerSession).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Text of the `220` greeting.
    pub greeting: Bytes,
    /// What `FEAT` offers.
    pub features: Features,
    /// Failed logins before the connection is closed with `421`.
    pub max_login_failures: u32,
    /// When the control connection must be secured by `AUTH TLS` (or implicit TLS) before a
    /// login; only with [`Features::tls`](crate::feat::Features::tls) on.
    pub control_tls: ControlTls,
    /// Whether transfers and listings need `PROT P`; only with TLS on.
    pub data_tls: DataTls,
    /// Bytes of commands (and of replies to lines that did not parse) held while a transfer
    /// runs, to be answered in order after it; each held item counts its wire length plus
    /// [`QUEUED_ITEM_OVERHEAD`](super::QUEUED_ITEM_OVERHEAD). Reading never pauses during a
    /// transfer, so `ABOR`, `STAT` and `QUIT` are taken at once however full the queue is; a
    /// command that does not fit is a client flooding the control connection, answered `421`
    /// with the transfer aborted and the connection closed. The default (64 KiB, hundreds of
    /// commands) lets a client pipeline its next files' commands during a download, as
    /// mirroring clients do; `0` holds nothing: only `ABOR`, `STAT` and `QUIT` during a
    /// transfer.
    pub max_queued_bytes: usize,
    /// Allow `PORT`/`EPRT` to addresses other than the control peer, and passive data
    /// connections from anywhere. Opens the FTP bounce attack (RFC 2577): only for proxies and
    /// FXP setups that need it.
    pub dangerous_allow_any_data_peer: bool,
    /// Most entries in a `STAT path` reply (it is held in memory).
    pub max_status_lines: usize,
    /// A connection not logged in this long after it opened is closed (`421`), whatever it
    /// sends meanwhile.
    pub login_timeout: Duration,
    /// A control connection with no complete command for this long is closed (`421`); so is
    /// one whose replies have not been read for this long. Not counted while a transfer runs.
    pub idle_timeout: Duration,
    /// How long the data connection of a transfer may take to open after the `150` (`425`).
    pub data_connect_timeout: Duration,
    /// How long a transfer may move no data before it is aborted (`426`).
    pub data_stall_timeout: Duration,
    /// How long a TLS handshake may take: on the control connection after `234` (then the
    /// connection is closed), and on a data connection from its arrival (then it is refused).
    pub tls_handshake_timeout: Duration,
    /// How long a refused login waits before its `530`, against password guessing.
    pub failed_login_delay: Duration,
    /// The most bytes one `HASH` or X-command checksums (the range's length): a policy
    /// refusal (`550`) past it, as the HASH draft suggests, so that checksums of huge files
    /// cannot tie up the server's disks and CPU. `None`: no limit. The default is 64 GiB
    /// (several minutes of SHA-256 on one core).
    pub max_hash_size: Option<u64>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            greeting: Bytes::from_static(b"FTP server ready."),
            features: Features::default(),
            max_login_failures: 3,
            control_tls: ControlTls::PasswordLogins,
            data_tls: DataTls::Optional,
            max_queued_bytes: 64 << 10,
            dangerous_allow_any_data_peer: false,
            max_status_lines: 10_000,
            login_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(300),
            data_connect_timeout: Duration::from_secs(30),
            data_stall_timeout: Duration::from_secs(300),
            tls_handshake_timeout: Duration::from_secs(15),
            failed_login_delay: Duration::from_secs(1),
            max_hash_size: Some(64 << 30),
        }
    }
}

impl ServerConfig {
    /// Sets [`greeting`](Self::greeting).
    pub fn greeting(&mut self, text: impl Into<Bytes>) -> &mut Self {
        self.greeting = text.into();
        self
    }
    /// Sets [`features`](Self::features).
    pub fn features(&mut self, features: Features) -> &mut Self {
        self.features = features;
        self
    }
    /// Sets [`max_login_failures`](Self::max_login_failures).
    pub fn max_login_failures(&mut self, value: u32) -> &mut Self {
        self.max_login_failures = value;
        self
    }
    /// Sets [`control_tls`](Self::control_tls).
    pub fn control_tls(&mut self, value: ControlTls) -> &mut Self {
        self.control_tls = value;
        self
    }
    /// Sets [`data_tls`](Self::data_tls).
    pub fn data_tls(&mut self, value: DataTls) -> &mut Self {
        self.data_tls = value;
        self
    }
    /// Sets [`max_queued_bytes`](Self::max_queued_bytes).
    pub fn max_queued_bytes(&mut self, value: usize) -> &mut Self {
        self.max_queued_bytes = value;
        self
    }
    /// Sets [`login_timeout`](Self::login_timeout).
    pub fn login_timeout(&mut self, value: Duration) -> &mut Self {
        self.login_timeout = value;
        self
    }
    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(&mut self, value: Duration) -> &mut Self {
        self.idle_timeout = value;
        self
    }
    /// Sets [`data_connect_timeout`](Self::data_connect_timeout).
    pub fn data_connect_timeout(&mut self, value: Duration) -> &mut Self {
        self.data_connect_timeout = value;
        self
    }
    /// Sets [`data_stall_timeout`](Self::data_stall_timeout).
    pub fn data_stall_timeout(&mut self, value: Duration) -> &mut Self {
        self.data_stall_timeout = value;
        self
    }
    /// Sets [`tls_handshake_timeout`](Self::tls_handshake_timeout).
    pub fn tls_handshake_timeout(&mut self, value: Duration) -> &mut Self {
        self.tls_handshake_timeout = value;
        self
    }
    /// Sets [`failed_login_delay`](Self::failed_login_delay).
    pub fn failed_login_delay(&mut self, value: Duration) -> &mut Self {
        self.failed_login_delay = value;
        self
    }
    /// Sets [`max_hash_size`](Self::max_hash_size).
    pub fn max_hash_size(&mut self, value: Option<u64>) -> &mut Self {
        self.max_hash_size = value;
        self
    }
    /// Sets [`max_status_lines`](Self::max_status_lines).
    pub fn max_status_lines(&mut self, value: usize) -> &mut Self {
        self.max_status_lines = value;
        self
    }
    /// Sets [`dangerous_allow_any_data_peer`](Self::dangerous_allow_any_data_peer).
    pub fn dangerous_allow_any_data_peer(&mut self, value: bool) -> &mut Self {
        self.dangerous_allow_any_data_peer = value;
        self
    }
}

/// When a server with TLS wants the control connection secured (RFC 4217 §4, §15.1). Without
/// [`Features::tls`](crate::feat::Features::tls) nothing is required: there is no TLS to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ControlTls {
    /// Plain logins are accepted too.
    Optional,
    /// Logins with a password need TLS first; anonymous logins (the names `anonymous` and
    /// `ftp`, RFC 1635, whose "password" is an e-mail address) may stay plain. The default:
    /// no password crosses the network in the clear once a certificate is configured.
    #[default]
    PasswordLogins,
    /// Every login needs TLS first (`USER` before `AUTH` gets `530`).
    Required,
}

/// Whether a server with TLS wants data connections protected (`PROT P`, RFC 4217 §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DataTls {
    /// `PROT C` and `PROT P` are both accepted.
    #[default]
    Optional,
    /// `PROT C` gets `534`, and a transfer before `PROT P` gets `521`.
    Required,
}

/// The addresses of the control connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The server's end.
    pub local: SocketAddr,
    /// The client's end.
    pub peer: SocketAddr,
}
