//! Settings of a session: [`ServerConfig`], the [`Features`] it offers and the
//! [`ConnectionInfo`] of its control connection.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::listing::FactSet;

/// The extensions a server offers in `FEAT` (RFC 2389) and accepts. A driver turns off what its
/// back-end cannot do, so `FEAT` lists exactly what is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    /// `SIZE` (RFC 3659).
    pub size: bool,
    /// `MDTM` (RFC 3659).
    pub mdtm: bool,
    /// `MFMT`.
    pub mfmt: bool,
    /// `MLST` and `MLSD` with these facts (RFC 3659); empty turns both off.
    pub mlst: FactSet,
    /// `REST STREAM` (RFC 3659).
    pub rest_stream: bool,
    /// `AUTH TLS`, `PBSZ`, `PROT` (RFC 4217): the driver can run TLS.
    pub tls: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            size: true,
            mdtm: true,
            mfmt: true,
            mlst: FactSet::DEFAULT,
            rest_stream: true,
            tls: false,
        }
    }
}

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
    /// Refuse `USER` until `AUTH TLS` has secured the control connection.
    pub require_tls: bool,
    /// Commands (and replies to lines that did not parse) held while a transfer runs, to be
    /// answered in order after it. Reading never pauses during a transfer, so `ABOR`, `STAT` and
    /// `QUIT` are taken at once however full the queue is; one command more than this is a
    /// client flooding the control connection, answered `421` with the transfer aborted and the
    /// connection closed. `0` holds nothing: only `ABOR`, `STAT` and `QUIT` during a transfer.
    pub max_queued_commands: usize,
    /// Allow `PORT`/`EPRT` to addresses other than the control peer, and passive data
    /// connections from anywhere. Opens the FTP bounce attack (RFC 2577): only for proxies and
    /// FXP setups that need it.
    pub dangerous_allow_any_data_peer: bool,
    /// Most entries in a `STAT path` reply (it is held in memory).
    pub max_status_lines: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            greeting: Bytes::from_static(b"FTP server ready."),
            features: Features::default(),
            max_login_failures: 3,
            require_tls: false,
            max_queued_commands: 16,
            dangerous_allow_any_data_peer: false,
            max_status_lines: 10_000,
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
    /// Sets [`require_tls`](Self::require_tls).
    pub fn require_tls(&mut self, value: bool) -> &mut Self {
        self.require_tls = value;
        self
    }
    /// Sets [`max_queued_commands`](Self::max_queued_commands).
    pub fn max_queued_commands(&mut self, value: usize) -> &mut Self {
        self.max_queued_commands = value;
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

/// The addresses of the control connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The server's end.
    pub local: SocketAddr,
    /// The client's end.
    pub peer: SocketAddr,
}
