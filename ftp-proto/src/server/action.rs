//! What the machine asks of its driver ([`Action`]) and what comes back ([`Outcome`]).

use std::net::{IpAddr, SocketAddr};

use crate::access::{Permissions, UserAccess};
use crate::arg::{Arg, Secret};
use crate::checksum::{Digest, HashAlgorithm};
use crate::glob::NamePattern;
use crate::listing::{DirEntry, ListFormat, Metadata};
use crate::path::VirtualPath;
use crate::reply::ReplyCode;
use crate::time::Timestamp;

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

impl DataEndpoint {
    /// Whether a passive data connection from `from` may be used (RFC 2577 §5, port stealing:
    /// only from the control connection's peer, unless that check was turned off). The driver
    /// closes any other connection and goes on waiting.
    pub fn admits(&self, from: IpAddr) -> bool {
        match self {
            Self::Passive { peer } => peer.is_none_or(|p| crate::address::is_same_ip(p, from)),
            Self::Active(_) => false,
        }
    }
}

/// How the bytes of a transfer are represented on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Representation {
    /// `TYPE A`: convert line ends (see [`crate::AsciiEncoder`], [`crate::AsciiDecoder`]).
    Ascii,
    /// `TYPE I` (or `L 8`): bytes as stored.
    Binary,
}

/// How an upload writes its file: what the machine asks for, and what a storage back-end's
/// `open_write` is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteMode {
    /// `STOR`: create, or truncate an existing file.
    Truncate,
    /// `APPE`: create, or append to an existing file.
    Append,
    /// `REST n` then `STOR`: write from offset `n`, keeping the bytes before it and dropping
    /// those after it (resuming an upload). Past the end of the file is an error.
    At(u64),
    /// Create a new file; fail with [`FailureKind::AlreadyExists`] if the name exists (uploads
    /// into an upload-only directory, see [`UserAccess::upload_only`](crate::UserAccess::upload_only),
    /// and each name `STOU` tries).
    CreateNew,
}

/// How many names `STOU` tries (see [`unique_name`]) before it gives up.
pub const STOU_ATTEMPTS: u32 = 100;

/// The `attempt`-th name `STOU` tries for `path`: the name itself, then `name.1`, `name.2`...
/// in the same directory (the scheme of vsftpd's and ProFTPD's `STOU`).
pub fn unique_name(path: &VirtualPath, attempt: u32) -> VirtualPath {
    if attempt == 0 {
        return path.clone();
    }
    let base = path.file_name().unwrap_or_default();
    let name = [base, format!(".{attempt}").as_bytes()].concat();
    path.parent().join(&name)
}

/// What a listing transfer sends.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListSource {
    /// The entries of the directory at the transfer's path.
    Directory,
    /// This one entry (`LIST file`, and a symbolic link that is not a listable directory).
    Entry(Box<DirEntry>),
    /// The entries of the directory at the transfer's path whose names match, each shown as
    /// [`NamePattern::shown`] names it (`NLST dir/f*.bin`).
    Matching(NamePattern),
}

/// What a transfer moves.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferKind {
    /// `RETR`: send the file from `offset`. A back-end refuses a directory (`IsADirectory`).
    Retrieve {
        /// Start here (from `REST` or `RANG`), in stored bytes.
        offset: u64,
        /// Send at most this many bytes (from `RANG`); `None`: to the end of the file.
        length: Option<u64>,
    },
    /// `STOR`, `APPE`: receive into the file.
    Store {
        /// How to open the file.
        mode: WriteMode,
    },
    /// `STOU`: receive into a new file, under the first free name of
    /// [`unique_name`]`(path, 0..`[`STOU_ATTEMPTS`]`)`, each tried with
    /// [`WriteMode::CreateNew`]; the name taken goes in [`Outcome::TransferStarting`].
    StoreUnique,
    /// `LIST`, `NLST`, `MLSD`: send a listing, each entry written with
    /// [`write_entry`](crate::listing::write_entry).
    List {
        /// The line format.
        format: ListFormat,
        /// Include names that start with `.` (`LIST -a`; always for MLSD).
        show_hidden: bool,
        /// A directory's entries, or one entry.
        source: ListSource,
        /// What the user may do, for the MLSx `perm` fact.
        permissions: Permissions,
    },
}

/// A transfer over a data connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transfer {
    /// Answer with [`Outcome::TransferStarting`] once the file is open (or
    /// [`Outcome::Failed`]), wait for [`Action::StartData`], then answer
    /// [`Outcome::DataConnected`] when the data connection opens, [`Outcome::TransferProgress`]
    /// now and then while data moves, and [`Outcome::TransferComplete`] or
    /// [`Outcome::Failed`] at the end. The machine's timeouts abort it with [`Action::Abort`].
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
        user: Arg<'static>,
        /// The password from `PASS`; the machine keeps no copy.
        password: Secret<Arg<'static>>,
        /// The virtual host from `HOST` (RFC 7151), if any.
        host: Option<Arg<'static>>,
    },
    /// Check the account from `ACCT` after [`Outcome::NeedAccount`].
    Account {
        /// Answer with this id.
        id: ActionId,
        /// The name from `USER`.
        user: Arg<'static>,
        /// The account.
        account: Secret<Arg<'static>>,
    },
    /// Send the queued replies (the last is `234`), then run a TLS handshake (as the TLS
    /// server) on the control connection (RFC 4217 §4). Bytes the client sent after `AUTH`
    /// and not yet fed to the machine are the start of its handshake, never commands. Answer
    /// [`Outcome::Done`] once the handshake is complete, or [`Outcome::Failed`] (the session
    /// then closes without a word: the client speaks TLS, and nothing plain can reach it).
    UpgradeTls {
        /// Answer with this id.
        id: ActionId,
    },
    /// Open a passive listener of this family, replacing any open one. Answer
    /// [`Outcome::PassiveListening`] with the address to announce (the public one behind NAT).
    OpenPassive {
        /// Answer with this id.
        id: ActionId,
        /// The listener's address family.
        family: AddressFamily,
        /// Who may connect ([`DataEndpoint::admits`]): accept connections as they arrive and
        /// close the others, from the start, before any transfer command.
        admits: DataEndpoint,
        /// Whether data connections are protected (`PROT P`) now: then run the TLS handshake
        /// as soon as a connection arrives, as many clients start it before they send the
        /// transfer command and wait for it to finish.
        protected: bool,
    },
    /// Close any passive listener; the data-channel setup changed. No outcome.
    CloseDataChannel,
    /// The metadata of `path`, not following a final symbolic link. Answer
    /// [`Outcome::Metadata`]. The machine decides from it what `SIZE`, `MDTM`, `MLST`, `CWD`,
    /// `RNFR`, `LIST`, `NLST`, `MLSD` and `STAT path` answer.
    Metadata {
        /// Answer with this id.
        id: ActionId,
        /// The path.
        path: VirtualPath,
    },
    /// Check whether `path`, a symbolic link, leads to a directory the user may list (inside
    /// the root). Answer [`Outcome::Done`] when it does.
    ProbeDirectory {
        /// Answer with this id.
        id: ActionId,
        /// The link.
        path: VirtualPath,
    },
    /// What `STAT path` shows, sent on the control connection (the reply is held in memory,
    /// hence the cap): the first `max` entries of the directory `path`, or, when `path` is not
    /// a directory, `path` itself as the one entry (named by its last component). Answer
    /// [`Outcome::Listed`]; the machine writes the `ls -l` lines and the reply.
    StatusListing {
        /// Answer with this id.
        id: ActionId,
        /// The directory or file.
        path: VirtualPath,
        /// At most this many entries.
        max: usize,
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
    /// Rename. Answer [`Outcome::Done`].
    Rename {
        /// Answer with this id.
        id: ActionId,
        /// From `RNFR`.
        from: VirtualPath,
        /// From `RNTO`.
        to: VirtualPath,
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
    /// Compute the checksum of `length` bytes of the file `path` from `offset` (the machine
    /// has checked that it is a plain file and that the range lies inside it). Report
    /// [`Outcome::TransferProgress`] now and then (about once a second) while it runs, then
    /// [`Outcome::Checksum`], or [`Outcome::Failed`] (a file that ends before the range does
    /// is [`FailureKind::LocalError`]). [`Action::Abort`] with this id cancels it (answer
    /// [`FailureKind::Aborted`]).
    Checksum {
        /// Answer with this id.
        id: ActionId,
        /// The file.
        path: VirtualPath,
        /// The algorithm.
        algorithm: HashAlgorithm,
        /// The first byte.
        offset: u64,
        /// How many bytes.
        length: u64,
    },
    /// Run a transfer.
    Transfer(Transfer),
    /// The `150` of the transfer is sent: open the data connection and move the data. No
    /// outcome of its own (the transfer's end is its outcome).
    StartData {
        /// The transfer's id.
        id: ActionId,
    },
    /// Abort the running transfer: close its data connection, then report it
    /// [`Outcome::Failed`] with [`FailureKind::Aborted`] (or complete, if it already had).
    Abort {
        /// The transfer's id.
        id: ActionId,
    },
    /// Send the queued replies, then close the control connection. No outcome.
    Close,
    /// Something refused as an attack, for the audit log (the reply is already queued).
    /// Nothing to do but log it. No outcome.
    Refused(Refusal),
}

/// An attack the machine refused, for the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// `PORT`/`EPRT` to another host than the client (the FTP bounce attack, RFC 2577 §3).
    Bounce {
        /// Where the client asked the server to connect.
        to: SocketAddr,
    },
    /// `PORT`/`EPRT` to a privileged port (below 1024, RFC 2577 §3).
    PrivilegedPort {
        /// Where the client asked the server to connect.
        to: SocketAddr,
    },
}

impl Action {
    /// The id to answer the action with; `None` for the actions that take no outcome
    /// ([`Action::CloseDataChannel`], [`Action::StartData`],
    /// [`Action::Abort`], whose transfer answers under its own id, and [`Action::Close`]).
    pub fn id(&self) -> Option<ActionId> {
        match self {
            Self::Authenticate { id, .. }
            | Self::Account { id, .. }
            | Self::OpenPassive { id, .. }
            | Self::Metadata { id, .. }
            | Self::ProbeDirectory { id, .. }
            | Self::StatusListing { id, .. }
            | Self::MakeDirectory { id, .. }
            | Self::RemoveDirectory { id, .. }
            | Self::Delete { id, .. }
            | Self::Rename { id, .. }
            | Self::SetModified { id, .. }
            | Self::Checksum { id, .. }
            | Self::UpgradeTls { id } => Some(*id),
            Self::Transfer(t) => Some(t.id),
            Self::CloseDataChannel
            | Self::StartData { .. }
            | Self::Abort { .. }
            | Self::Close
            | Self::Refused(_) => None,
        }
    }
}

/// Why an action failed: what a storage back-end, the authenticator's driver or a transfer
/// reports, and what decides the reply code (one table, [`FailureKind::reply_code`], one text
/// each, [`FailureKind::text`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// No such file or directory (550).
    NotFound,
    /// Not allowed (550).
    PermissionDenied,
    /// Not a directory where one is needed (`CWD`, `MLSD`, `RMD` of a file) (550).
    NotADirectory,
    /// Not a plain file where one is needed (`RETR`, `SIZE` of a directory) (550).
    NotAFile,
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
    /// The TLS handshake on a protected data connection failed or took too long (425).
    DataTlsFailed,
    /// A protected data connection did not resume the control connection's TLS session: it
    /// may come from someone else (data-connection theft), and is refused (425).
    DataTlsNotResumed,
    /// An upload over TLS ended without close_notify: the file may be cut short, so the
    /// transfer failed (426), whatever arrived.
    DataTlsTruncated,
    /// A login over the user's limit of sessions at once: `421`, and the connection closes.
    TooManySessions,
}

impl FailureKind {
    /// The reply code for this failure.
    pub fn reply_code(self) -> ReplyCode {
        match self {
            Self::NotFound
            | Self::PermissionDenied
            | Self::NotADirectory
            | Self::NotAFile
            | Self::AlreadyExists
            | Self::NotEmpty => ReplyCode::FILE_NOT_FOUND,
            Self::NameNotAllowed => ReplyCode::NAME_NOT_ALLOWED,
            Self::InsufficientStorage => ReplyCode::INSUFFICIENT_STORAGE,
            Self::QuotaExceeded => ReplyCode::EXCEEDED_STORAGE,
            Self::Busy => ReplyCode::FILE_UNAVAILABLE,
            Self::LocalError => ReplyCode::LOCAL_ERROR,
            Self::Unsupported => ReplyCode::NOT_IMPLEMENTED,
            Self::DataConnectionFailed => ReplyCode::CANT_OPEN_DATA,
            Self::Aborted | Self::DataTlsTruncated => ReplyCode::TRANSFER_ABORTED,
            Self::DataTlsFailed | Self::DataTlsNotResumed => ReplyCode::CANT_OPEN_DATA,
            Self::TooManySessions => ReplyCode::SERVICE_NOT_AVAILABLE,
        }
    }

    /// The default reply text.
    pub fn text(self) -> &'static str {
        match self {
            Self::NotFound => "No such file or directory.",
            Self::PermissionDenied => "Permission denied.",
            Self::NotADirectory => "Not a directory.",
            Self::NotAFile => "Not a plain file.",
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
            Self::DataTlsFailed => "TLS handshake on the data connection failed.",
            Self::DataTlsNotResumed => {
                "TLS session of data connection not resumed: it must reuse the control connection's session."
            }
            Self::DataTlsTruncated => {
                "Data connection closed without TLS close_notify: transfer incomplete."
            }
            Self::TooManySessions => "Too many sessions for this user; try again later.",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::PermissionDenied => "permission denied",
            Self::NotADirectory => "not a directory",
            Self::NotAFile => "not a plain file",
            Self::AlreadyExists => "already exists",
            Self::NotEmpty => "directory not empty",
            Self::NameNotAllowed => "name not allowed",
            Self::InsufficientStorage => "insufficient storage",
            Self::QuotaExceeded => "quota exceeded",
            Self::Busy => "busy",
            Self::LocalError => "local error",
            Self::Unsupported => "not supported",
            Self::DataConnectionFailed => "data connection failed",
            Self::Aborted => "aborted",
            Self::DataTlsFailed => "data connection TLS handshake failed",
            Self::DataTlsNotResumed => "data connection did not resume the TLS session",
            Self::DataTlsTruncated => "upload ended without TLS close_notify",
            Self::TooManySessions => "too many sessions for the user",
        })
    }
}

/// The result of an action, fed back with [`ServerSession::handle_outcome`](super::ServerSession::handle_outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Credentials accepted, with what the user may do.
    LoggedIn(UserAccess),
    /// Credentials accepted so far; an account is needed (`332`).
    NeedAccount,
    /// Credentials refused. The reply never says whether the user exists.
    LoginRejected,
    /// The passive listener is open; announce this address.
    PassiveListening(SocketAddr),
    /// The operation succeeded.
    Done,
    /// The metadata of a path.
    Metadata(Box<Metadata>),
    /// Directory entries for `STAT path`, and the current time (for the `ls -l` dates).
    Listed {
        /// The entries, at most as many as asked for.
        entries: Vec<DirEntry>,
        /// Now.
        now: Timestamp,
    },
    /// The file is open and the data connection is about to be used (`150`). For `STOU`, the
    /// name the driver picked.
    TransferStarting {
        /// The unique file created by `STOU`.
        unique_name: Option<VirtualPath>,
    },
    /// The data connection of the transfer is open (after [`Action::StartData`]): the wait
    /// for it ends, the stall timeout starts.
    DataConnected,
    /// Data of the transfer moved (report it now and then, not per byte: about once a second
    /// is plenty): the stall timeout counts from here.
    TransferProgress,
    /// The transfer finished and the data connection is closed (`226`).
    TransferComplete {
        /// Bytes moved on the data connection.
        bytes: u64,
    },
    /// The checksum of an [`Action::Checksum`].
    Checksum(Digest),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per kind: the reply every failure gets, whoever reported it.
    #[test]
    fn failure_reply_table() {
        use FailureKind as K;
        let table = [
            (K::NotFound, 550),
            (K::PermissionDenied, 550),
            (K::NotADirectory, 550),
            (K::NotAFile, 550),
            (K::AlreadyExists, 550),
            (K::NotEmpty, 550),
            (K::NameNotAllowed, 553),
            (K::InsufficientStorage, 452),
            (K::QuotaExceeded, 552),
            (K::Busy, 450),
            (K::LocalError, 451),
            (K::Unsupported, 502),
            (K::DataConnectionFailed, 425),
            (K::Aborted, 426),
        ];
        for (kind, code) in table {
            assert_eq!(kind.reply_code().as_u16(), code, "{kind:?}");
            assert!(kind.text().ends_with('.') && !kind.to_string().ends_with('.'));
        }
    }

    #[test]
    fn unique_names_stay_in_the_directory() {
        let root_file = VirtualPath::root().resolve(b"f");
        assert_eq!(unique_name(&root_file, 2).as_bytes(), b"/f.2");
    }
}
