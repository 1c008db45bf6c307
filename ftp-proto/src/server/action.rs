//! What the machine asks of its driver ([`Action`]) and what comes back ([`Outcome`]).

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;

use crate::arg::{Arg, Secret};
use crate::listing::{FactSet, MlsxEntry};
use crate::path::VirtualPath;
use crate::reply::ReplyCode;
use crate::time::Timestamp;

use super::Permissions;

/// Ties an [`Outcome`] to the [`Action`] that asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(pub(super) u64);

/// An IP address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4 (network protocol 1 in RFC 2428).
    V4,
    /// IPv6 (network protocol 2).
    V6,
}

impl AddressFamily {
    /// The family of an address; IPv4-mapped IPv6 counts as IPv4.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    pub(super) fn protocol_number(self) -> u16 {
        match self {
            Self::V4 => 1,
            Self::V6 => 2,
        }
    }
}

/// Where the data connection of a transfer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataEndpoint {
    /// Accept on the passive listener opened by the last [`Action::OpenPassive`]. When `peer` is
    /// set, accept only a connection from that address (RFC 2577 port stealing); close others.
    Passive {
        /// The only address a data connection may come from.
        peer: Option<IpAddr>,
    },
    /// Connect to this address (already checked against the control connection's peer).
    Active(SocketAddr),
}

/// How the bytes of a transfer are represented on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Representation {
    /// `TYPE A`: convert line ends (see [`crate::AsciiEncoder`], [`crate::AsciiDecoder`]).
    Ascii,
    /// `TYPE I` (or `L 8`): bytes as stored.
    Binary,
}

/// How an upload writes its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteMode {
    /// `STOR`: create or truncate.
    Truncate,
    /// `APPE`: create or append.
    Append,
    /// `REST n` then `STOR`: write from offset `n`, keeping what is before it.
    At(u64),
    /// `STOU`: create a new file whose name the driver picks near the given path.
    Unique,
}

/// The output form of a directory listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListFormat {
    /// `LIST`: `ls -l` lines (see [`crate::listing::format_list_line`]).
    Long,
    /// `NLST`: names only.
    Names,
    /// `MLSD`: RFC 3659 fact lines, with the facts given.
    Machine(FactSet),
}

/// What a transfer moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferKind {
    /// `RETR`: send the file from `offset`.
    Retrieve {
        /// Start here (from `REST`), in stored bytes.
        offset: u64,
    },
    /// `STOR`, `APPE`, `STOU`: receive into the file.
    Store {
        /// How to open the file.
        mode: WriteMode,
    },
    /// `LIST`, `NLST`, `MLSD`: send a listing of `path` (a directory, or for LIST and NLST a
    /// file).
    List {
        /// The line format.
        format: ListFormat,
        /// Include names that start with `.` (`LIST -a`; always for MLSD).
        show_hidden: bool,
    },
}

/// A transfer over a data connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transfer {
    /// Answer with [`Outcome::TransferStarting`], then [`Outcome::TransferComplete`] or
    /// [`Outcome::Failed`].
    pub id: ActionId,
    /// What moves.
    pub kind: TransferKind,
    /// The file or directory.
    pub path: VirtualPath,
    /// Line-end conversion (listings are always sent with CRLF line ends).
    pub representation: Representation,
    /// Where the data connection comes from.
    pub data: DataEndpoint,
    /// Whether the data connection must use TLS (`PROT P`, RFC 4217).
    pub protected: bool,
}

/// What the machine asks its driver to do. Each action with an id expects exactly one
/// [`Outcome`] back (a transfer: a start, then an end).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Check these credentials. Answer [`Outcome::LoggedIn`], [`Outcome::NeedAccount`] or
    /// [`Outcome::LoginRejected`]; slow down failures as policy asks.
    Authenticate {
        /// Answer with this id.
        id: ActionId,
        /// The name from `USER`.
        user: Arg,
        /// The password from `PASS`; the machine keeps no copy.
        password: Secret<Arg>,
        /// The virtual host from `HOST` (RFC 7151), if any.
        host: Option<Arg>,
    },
    /// Check the account from `ACCT` after [`Outcome::NeedAccount`].
    Account {
        /// Answer with this id.
        id: ActionId,
        /// The name from `USER`.
        user: Arg,
        /// The account.
        account: Secret<Arg>,
    },
    /// Send the queued replies (the last is `234`), then run a TLS handshake on the control
    /// connection (RFC 4217 §4). No outcome.
    UpgradeTls,
    /// Open a passive listener of this family, replacing any open one. Answer
    /// [`Outcome::PassiveListening`] with the address to announce (the public one behind NAT).
    OpenPassive {
        /// Answer with this id.
        id: ActionId,
        /// The listener's address family.
        family: AddressFamily,
    },
    /// Close any passive listener; the data-channel setup changed. No outcome.
    CloseDataChannel,
    /// Check that `path` is a directory the user may enter. Answer [`Outcome::Done`].
    ChangeDirectory {
        /// Answer with this id.
        id: ActionId,
        /// The directory.
        path: VirtualPath,
    },
    /// Create a directory. Answer [`Outcome::Done`].
    MakeDirectory {
        /// Answer with this id.
        id: ActionId,
        /// The new directory.
        path: VirtualPath,
    },
    /// Remove an empty directory. Answer [`Outcome::Done`].
    RemoveDirectory {
        /// Answer with this id.
        id: ActionId,
        /// The directory.
        path: VirtualPath,
    },
    /// Delete a file. Answer [`Outcome::Done`].
    Delete {
        /// Answer with this id.
        id: ActionId,
        /// The file.
        path: VirtualPath,
    },
    /// Check that `path` exists (for `RNFR`). Answer [`Outcome::Done`].
    Exists {
        /// Answer with this id.
        id: ActionId,
        /// The path.
        path: VirtualPath,
    },
    /// Rename. Answer [`Outcome::Done`].
    Rename {
        /// Answer with this id.
        id: ActionId,
        /// From `RNFR`.
        from: VirtualPath,
        /// From `RNTO`.
        to: VirtualPath,
    },
    /// The size of a file in bytes. Answer [`Outcome::Size`].
    Size {
        /// Answer with this id.
        id: ActionId,
        /// The file.
        path: VirtualPath,
    },
    /// The modification time of a file. Answer [`Outcome::Modified`].
    Modified {
        /// Answer with this id.
        id: ActionId,
        /// The file.
        path: VirtualPath,
    },
    /// Set the modification time (`MFMT`). Answer [`Outcome::Done`].
    SetModified {
        /// Answer with this id.
        id: ActionId,
        /// The file.
        path: VirtualPath,
        /// The new time.
        time: Timestamp,
    },
    /// The MLSx facts of one path (`MLST`). Answer [`Outcome::Facts`].
    Facts {
        /// Answer with this id.
        id: ActionId,
        /// The path.
        path: VirtualPath,
    },
    /// A listing of `path` in `ls -l` form for `STAT path`, sent on the control connection.
    /// Answer [`Outcome::Lines`] (cap the count: the reply is held in memory).
    StatusListing {
        /// Answer with this id.
        id: ActionId,
        /// The directory or file.
        path: VirtualPath,
    },
    /// Run a transfer.
    Transfer(Transfer),
    /// Abort the running transfer: close its data connection, then report it
    /// [`Outcome::Failed`] with [`FailureKind::Aborted`] (or complete, if it already had).
    Abort {
        /// The transfer's id.
        id: ActionId,
    },
    /// Send the queued replies, then close the control connection. No outcome.
    Close,
}

/// Why an action failed; decides the reply code (one table, [`FailureKind::reply_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// No such file or directory (550).
    NotFound,
    /// Not allowed (550).
    PermissionDenied,
    /// Not a directory where one is needed, or a directory where a file is (550).
    WrongKind,
    /// Already exists (550).
    AlreadyExists,
    /// Directory not empty (550).
    NotEmpty,
    /// The name is not allowed (553).
    NameNotAllowed,
    /// Out of space for now (452).
    InsufficientStorage,
    /// Over a quota or size limit (552).
    QuotaExceeded,
    /// Busy or temporarily unavailable (450).
    Busy,
    /// A local error while processing (451).
    LocalError,
    /// The operation is not supported by this back-end (502).
    Unsupported,
    /// The data connection could not be opened (425).
    DataConnectionFailed,
    /// The data connection broke during the transfer, or the transfer was aborted (426).
    Aborted,
}

impl FailureKind {
    /// The reply code for this failure.
    pub fn reply_code(self) -> ReplyCode {
        match self {
            Self::NotFound
            | Self::PermissionDenied
            | Self::WrongKind
            | Self::AlreadyExists
            | Self::NotEmpty => ReplyCode::FILE_NOT_FOUND,
            Self::NameNotAllowed => ReplyCode::NAME_NOT_ALLOWED,
            Self::InsufficientStorage => ReplyCode::INSUFFICIENT_STORAGE,
            Self::QuotaExceeded => ReplyCode::EXCEEDED_STORAGE,
            Self::Busy => ReplyCode::FILE_UNAVAILABLE,
            Self::LocalError => ReplyCode::LOCAL_ERROR,
            Self::Unsupported => ReplyCode::NOT_IMPLEMENTED,
            Self::DataConnectionFailed => ReplyCode::CANT_OPEN_DATA,
            Self::Aborted => ReplyCode::TRANSFER_ABORTED,
        }
    }

    /// The default reply text.
    pub fn text(self) -> &'static str {
        match self {
            Self::NotFound => "No such file or directory.",
            Self::PermissionDenied => "Permission denied.",
            Self::WrongKind => "Not a plain file or not a directory.",
            Self::AlreadyExists => "File exists.",
            Self::NotEmpty => "Directory not empty.",
            Self::NameNotAllowed => "File name not allowed.",
            Self::InsufficientStorage => "Insufficient storage space.",
            Self::QuotaExceeded => "Exceeded storage allocation.",
            Self::Busy => "File unavailable, try again later.",
            Self::LocalError => "Local error in processing.",
            Self::Unsupported => "Operation not supported.",
            Self::DataConnectionFailed => "Can't open data connection.",
            Self::Aborted => "Connection closed; transfer aborted.",
        }
    }
}

/// The result of an action, fed back with [`ServerSession::handle_outcome`](super::ServerSession::handle_outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Credentials accepted.
    LoggedIn(Permissions),
    /// Credentials accepted so far; an account is needed (`332`).
    NeedAccount,
    /// Credentials refused. The reply never says whether the user exists.
    LoginRejected,
    /// The passive listener is open; announce this address.
    PassiveListening(SocketAddr),
    /// The operation succeeded.
    Done,
    /// A file size.
    Size(u64),
    /// A modification time.
    Modified(Timestamp),
    /// Facts for `MLST`.
    Facts(Box<MlsxEntry>),
    /// Listing lines for `STAT path`, without line ends.
    Lines(Vec<Bytes>),
    /// The file is open and the data connection is about to be used (`150`). For `STOU`, the
    /// name the driver picked.
    TransferStarting {
        /// The unique file created by `STOU`.
        unique_name: Option<VirtualPath>,
    },
    /// The transfer finished and the data connection is closed (`226`).
    TransferComplete {
        /// Bytes moved on the data connection.
        bytes: u64,
    },
    /// The operation failed.
    Failed(FailureKind),
}

/// An outcome that matched no action in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("outcome for {id:?} matches no action in flight")]
pub struct UnexpectedOutcome {
    /// The id that was given.
    pub id: ActionId,
}
