//! The client's errors.

use std::io;
use std::net::SocketAddr;

use ftp_proto::{InvalidArg, ProtocolError, Reply, ReplyError};

/// What an operation waited for when its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Connecting the control connection.
    Connect,
    /// A reply on the control connection.
    Reply,
    /// Opening a data connection (connecting in passive mode, the server's connection in
    /// active mode).
    DataConnect,
    /// Data on an open data connection (a stalled transfer).
    Data,
    /// A TLS handshake, on the control or a data connection.
    TlsHandshake,
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused or answered out of turn; the reply holds its code and words.
    #[error(transparent)]
    Server(#[from] ProtocolError),
    /// The server's bytes were not FTP replies (or broke the configured limits).
    #[error("unreadable reply: {0}")]
    BadReply(#[from] ReplyError),
    /// A reply had the right code but could not be understood (`213 abc` to `SIZE`).
    #[error("malformed reply {0}")]
    MalformedReply(Reply),
    /// The server closed the control connection, with its last words when it said any (`421`).
    #[error("connection closed by the server{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<Reply>),
    /// The time set in [`ClientOptions`](crate::ClientOptions) ran out.
    #[error("timed out waiting for {0:?}")]
    Timeout(Stage),
    /// A socket or file failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// An argument cannot be sent (it holds CR, LF or NUL).
    #[error(transparent)]
    InvalidArgument(#[from] InvalidArg),
    /// An active-mode data connection came from another host than the server (refused, so that
    /// nobody else can inject or steal the data).
    #[error("data connection from {0}, which is not the server")]
    ForeignDataConnection(SocketAddr),
    /// A listing was larger than [`ClientOptions::max_listing_bytes`](crate::ClientOptions::max_listing_bytes).
    #[error("listing larger than {0} bytes")]
    ListingTooLarge(usize),
    /// An earlier error (a timeout, an unreadable reply) left the control connection out of
    /// step; open a new connection.
    #[error("the control connection is unusable after an earlier error")]
    Broken,
    /// A TLS handshake failed (the certificate did not check out, the server refused); for
    /// the control connection, the connection is then unusable.
    #[error("TLS: {0}")]
    Tls(io::Error),
    /// A listing held a line that no parser understands (a mirror must not go on as if the
    /// entry were not there).
    #[error("listing line not understood: {0:?}")]
    UnparsableListing(String),
    /// What failed, and on which remote path (the tree helpers name the path they were at).
    #[error("{path}: {source}")]
    AtPath {
        /// The remote path, lossy UTF-8.
        path: String,
        /// What failed there.
        source: Box<Self>,
    },
}

impl Error {
    /// The server's reply behind the error, when there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Self::Server(e) => Some(e.reply()),
            Self::MalformedReply(r) => Some(r),
            Self::Closed(r) => r.as_ref(),
            Self::AtPath { source, .. } => source.reply(),
            _ => None,
        }
    }

    /// This error, naming the remote `path` it happened at.
    pub fn at_path(self, path: &[u8]) -> Self {
        match self {
            e @ Self::AtPath { .. } => e,
            e => Self::AtPath {
                path: String::from_utf8_lossy(path).into_owned(),
                source: Box::new(e),
            },
        }
    }

    /// The server's reply code behind the error, when there is one.
    pub fn code(&self) -> Option<u16> {
        self.reply().map(|r| r.code().as_u16())
    }

    /// Whether the server said the failure is transient (4yz): the same request may work later.
    pub fn is_transient(&self) -> bool {
        self.reply().is_some_and(|r| r.code().is_transient())
    }

    /// Whether the server does not know the command or that parameter (`500`, `502`, `504`):
    /// a feature it lacks, not a failure of this request.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.code(), Some(500 | 502 | 504))
    }

    /// Whether the path named was not found or not accessible (`550`), the answer to "does
    /// this exist" that `SIZE`, `MDTM` and `CWD` give.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Server(e) => e.is_not_found(),
            Self::AtPath { source, .. } => source.is_not_found(),
            _ => false,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            Error::Timeout(_) => Self::new(io::ErrorKind::TimedOut, e),
            e => Self::other(e),
        }
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
