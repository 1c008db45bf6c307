//! The server side: a pure state machine that turns commands into replies and actions.
//!
//! [`ServerSession`] decides every reply. What needs the outside world (checking a password,
//! opening a listener, touching storage, moving data) it asks for as an [`Action`], and it takes
//! the result back as an [`Outcome`] tied to the action by its [`ActionId`]. It reads no clock and
//! does no I/O, so every rule below is testable without sockets.
//!
//! Driver contract: after every `handle_*` call, drain [`ServerSession::poll_reply`] and
//! [`ServerSession::poll_action`] until both return `None`, then wait for I/O. Feed commands only
//! while [`ServerSession::wants_read`] is true; that keeps pipelined commands answered in order
//! with bounded buffering. During a transfer it stays true, so `ABOR`, `STAT` and `QUIT` are
//! always seen at once; other commands are held, at most
//! [`max_queued_commands`](ServerConfig::max_queued_commands) of them.
//!
//! Rules it follows (RFC 959 unless noted): a 220 greeting; 530 for commands that need a login;
//! 503 for `PASS` without `USER`, `RNTO` without `RNFR` and other bad sequences; `REST` applies
//! to the next transfer command only; `RNFR` must be followed by `RNTO`; one data connection per
//! transfer, 425 without one; `PORT`/`EPRT` only to the control peer and never to a port below
//! 1024 (RFC 2577); `EPSV ALL` refuses the other data-channel commands (RFC 2428); `ABOR`
//! during a transfer yields 426 for the transfer and 226 for the `ABOR`; `QUIT` during a
//! transfer closes after it ends; the user name is never confirmed or denied before the password.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use bytes::{Bytes, BytesMut};

use crate::address::{self, is_same_ip};
use crate::arg::{Arg, Secret};
use crate::command::{
    Command, EpsvArg, ListArgs, ParseError, ProtectionLevel, Structure, TransferMode, TransferType,
};
use crate::framing::{DecodeError, LineDecoder};
use crate::listing::{FactSet, MlsxEntry};
use crate::path::VirtualPath;
use crate::reply::{Reply, ReplyCode};
use crate::time::Timestamp;

/// Ties an [`Outcome`] to the [`Action`] that asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(u64);

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

    fn protocol_number(self) -> u16 {
        match self {
            Self::V4 => 1,
            Self::V6 => 2,
        }
    }
}

/// What a logged-in user may do. The machine refuses what is not granted with 550 before any
/// action reaches the driver; a back-end may still refuse more, path by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Permissions {
    /// List directories, read metadata, change directory.
    pub list: bool,
    /// Download files.
    pub read: bool,
    /// Upload, append, set modification times.
    pub write: bool,
    /// Delete files and remove directories.
    pub delete: bool,
    /// Create directories.
    pub mkdir: bool,
    /// Rename files and directories.
    pub rename: bool,
}

impl Permissions {
    /// Everything.
    pub const ALL: Self = Self {
        list: true,
        read: true,
        write: true,
        delete: true,
        mkdir: true,
        rename: true,
    };
    /// List and read only: the default for anonymous users.
    pub const READ_ONLY: Self = Self {
        list: true,
        read: true,
        write: false,
        delete: false,
        mkdir: false,
        rename: false,
    };
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

/// The result of an action, fed back with [`ServerSession::handle_outcome`].
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

/// Settings of a [`ServerSession`].
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

#[derive(Clone, Debug)]
enum Phase {
    AwaitingUser,
    AwaitingPass { user: Arg },
    AwaitingAccount { user: Arg },
    LoggedIn { user: Arg, permissions: Permissions },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataChannel {
    None,
    Passive,
    Active(SocketAddr),
}

#[derive(Debug)]
enum Pending {
    Login,
    Passive {
        extended: bool,
    },
    Cwd(VirtualPath),
    Mkd(VirtualPath),
    Rmd,
    Dele,
    Rnfr(VirtualPath),
    Rnto,
    Size,
    Mdtm,
    Mfmt(VirtualPath, Timestamp),
    Mlst(VirtualPath),
    StatPath(VirtualPath),
    Transfer {
        listing: bool,
        started: bool,
        abort_requested: bool,
        unique: bool,
    },
}

#[derive(Debug)]
enum Queued {
    Command(Command),
    Reply(Reply),
}

/// The server's protocol state machine. See the [module docs](self) for the driver contract.
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    info: ConnectionInfo,
    phase: Phase,
    login_failures: u32,
    host: Option<Arg>,
    cwd: VirtualPath,
    representation: Representation,
    data: DataChannel,
    epsv_all: bool,
    rest: Option<u64>,
    rnfr: Option<VirtualPath>,
    utf8: bool,
    mlst_facts: FactSet,
    control_tls: bool,
    pbsz: bool,
    protected: bool,
    pending: Option<(ActionId, Pending)>,
    queued: VecDeque<Queued>,
    quit_after_transfer: bool,
    shutting_down: bool,
    closed: bool,
    replies: VecDeque<Reply>,
    actions: VecDeque<Action>,
    next_id: u64,
}

fn reply(code: ReplyCode, text: &'static str) -> Reply {
    Reply::from_static(code, text)
}

/// Builds a reply from text that may hold client bytes; line ends are cut out so the reply
/// stays one line.
fn reply_owned(code: ReplyCode, text: Vec<u8>) -> Reply {
    let clean: Vec<u8> = text
        .into_iter()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    Reply::new(code, clean).unwrap_or_else(|_| Reply::from_static(code, ""))
}

impl ServerSession {
    /// A session for a new control connection; the greeting is queued at once.
    pub fn new(config: ServerConfig, info: ConnectionInfo) -> Self {
        let greeting = reply_owned(ReplyCode::SERVICE_READY, config.greeting.to_vec());
        let mlst_facts = config.features.mlst;
        let mut session = Self {
            config,
            info,
            phase: Phase::AwaitingUser,
            login_failures: 0,
            host: None,
            cwd: VirtualPath::root(),
            representation: Representation::Ascii,
            data: DataChannel::None,
            epsv_all: false,
            rest: None,
            rnfr: None,
            utf8: true,
            mlst_facts,
            control_tls: false,
            pbsz: false,
            protected: false,
            pending: None,
            queued: VecDeque::new(),
            quit_after_transfer: false,
            shutting_down: false,
            closed: false,
            replies: VecDeque::new(),
            actions: VecDeque::new(),
            next_id: 0,
        };
        session.replies.push_back(greeting);
        session
    }

    /// Whether the driver should read and feed more commands. False while an action other than a
    /// transfer is in flight and after the session closed. Always true during a transfer, so
    /// that `ABOR` can be read (see [`ServerConfig::max_queued_commands`] for what bounds the
    /// commands held meanwhile).
    pub fn wants_read(&self) -> bool {
        if self.closed {
            return false;
        }
        matches!(self.pending, None | Some((_, Pending::Transfer { .. })))
    }

    /// Whether the session has ended (after `QUIT`, too many failed logins, a timeout or a
    /// shutdown). The driver closes the connection once the replies are sent.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&Arg> {
        match &self.phase {
            Phase::LoggedIn { user, .. } => Some(user),
            _ => None,
        }
    }

    /// The current directory.
    pub fn cwd(&self) -> &VirtualPath {
        &self.cwd
    }

    /// The current representation type.
    pub fn representation(&self) -> Representation {
        self.representation
    }

    /// Whether a transfer is running.
    pub fn is_transferring(&self) -> bool {
        matches!(self.pending, Some((_, Pending::Transfer { .. })))
    }

    /// Feeds one parsed command.
    pub fn handle_command(&mut self, cmd: Command) {
        if self.closed {
            return;
        }
        if let Some((
            id,
            Pending::Transfer {
                abort_requested, ..
            },
        )) = &mut self.pending
        {
            match cmd {
                Command::Abor if !*abort_requested => {
                    *abort_requested = true;
                    let id = *id;
                    self.actions.push_back(Action::Abort { id });
                }
                Command::Quit => self.quit_after_transfer = true,
                Command::Stat(None) => self
                    .replies
                    .push_back(reply(ReplyCode::SYSTEM_STATUS, "Transfer in progress.")),
                cmd => self.hold(Queued::Command(cmd)),
            }
            return;
        }
        if self.pending.is_some() {
            self.hold(Queued::Command(cmd));
            return;
        }
        self.dispatch(cmd);
    }

    /// Feeds a command line that did not parse: the reply is 500, 501, 504 or 522 as
    /// [`ParseError::reply_code`] says, in order with the other replies.
    pub fn handle_parse_error(&mut self, err: ParseError) {
        let text: &'static str = match err.reply_code().as_u16() {
            500 => "Syntax error, command unrecognized.",
            504 => "Command not implemented for that parameter.",
            522 => "Network protocol not supported, use (1,2).",
            _ => "Syntax error in parameters or arguments.",
        };
        self.answer_in_order(reply(err.reply_code(), text));
    }

    /// Feeds a framing error (a line over the limit): `500`, and the session carries on.
    pub fn handle_decode_error(&mut self, err: DecodeError) {
        match err {
            DecodeError::LineTooLong { .. } => {
                self.answer_in_order(reply(ReplyCode::SYNTAX_ERROR, "Command line too long."))
            }
            _ => self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Connection closed.",
            )),
        }
    }

    /// The driver's idle timer fired: `421` and close.
    pub fn handle_timeout(&mut self) {
        self.close_with(reply(
            ReplyCode::SERVICE_NOT_AVAILABLE,
            "Timeout: closing control connection.",
        ));
    }

    /// The server is shutting down: `421` and close, at once when idle or after the running
    /// transfer ends.
    pub fn handle_shutdown(&mut self) {
        if self.is_transferring() {
            self.shutting_down = true;
        } else {
            self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Server shutting down.",
            ));
        }
    }

    /// The shutdown deadline passed with this session still open: whatever is in flight is
    /// abandoned (a transfer that had sent its `150` gets `426`), then `421` and close. The
    /// driver aborts the running transfer when it performs the [`Action::Close`] that follows;
    /// outcomes arriving after that are refused as unexpected.
    pub fn handle_shutdown_deadline(&mut self) {
        if self.closed {
            return;
        }
        if let Some((_, Pending::Transfer { started: true, .. })) = self.pending {
            self.answer(reply(
                ReplyCode::TRANSFER_ABORTED,
                "Server shutting down; transfer aborted.",
            ));
        }
        self.pending = None;
        self.close_with(reply(
            ReplyCode::SERVICE_NOT_AVAILABLE,
            "Server shutting down.",
        ));
    }

    /// Feeds the outcome of the action `id`. Once the session has closed, the outcome of the
    /// action that was in flight is taken without a reply.
    pub fn handle_outcome(
        &mut self,
        id: ActionId,
        outcome: Outcome,
    ) -> Result<(), UnexpectedOutcome> {
        let Some((pending_id, pending)) = self.pending.take() else {
            return Err(UnexpectedOutcome { id });
        };
        if pending_id != id {
            self.pending = Some((pending_id, pending));
            return Err(UnexpectedOutcome { id });
        }
        if self.closed {
            // Closed with the action in flight (end of input, a flood of commands during a
            // transfer): nobody reads replies any more.
            return Ok(());
        }
        if let Pending::Transfer {
            listing,
            started,
            abort_requested,
            unique,
        } = pending
        {
            return self.transfer_outcome(id, outcome, listing, started, abort_requested, unique);
        }
        self.finish_action(pending, outcome);
        self.run_queued();
        Ok(())
    }

    /// Takes the next reply to send.
    pub fn poll_reply(&mut self) -> Option<Reply> {
        self.replies.pop_front()
    }

    /// Takes the next action to perform.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn next_id(&mut self) -> ActionId {
        self.next_id += 1;
        ActionId(self.next_id)
    }

    fn start(&mut self, pending: Pending, action: impl FnOnce(ActionId) -> Action) {
        let id = self.next_id();
        self.actions.push_back(action(id));
        self.pending = Some((id, pending));
    }

    fn answer(&mut self, r: Reply) {
        self.replies.push_back(r);
    }

    /// Replies now, or after the running action if commands are queued behind it.
    fn answer_in_order(&mut self, r: Reply) {
        if self.pending.is_some() {
            self.hold(Queued::Reply(r));
        } else {
            self.answer(r);
        }
    }

    /// Holds a command (or a reply to a line that did not parse) until the action in flight is
    /// done, within [`ServerConfig::max_queued_commands`]. Past that the client is flooding the
    /// control connection: `421`, the transfer aborted, and close, so memory stays bounded
    /// however long the transfer runs. After `QUIT` nothing is held: the session closes when
    /// the transfer ends, and nothing after `QUIT` would be answered.
    fn hold(&mut self, q: Queued) {
        if self.quit_after_transfer {
            return;
        }
        if self.queued.len() < self.config.max_queued_commands {
            self.queued.push_back(q);
            return;
        }
        if let Some((
            id,
            Pending::Transfer {
                abort_requested, ..
            },
        )) = &mut self.pending
        {
            if !*abort_requested {
                *abort_requested = true;
                let id = *id;
                self.actions.push_back(Action::Abort { id });
            }
        }
        self.close_with(reply(
            ReplyCode::SERVICE_NOT_AVAILABLE,
            "Too many commands during the transfer; closing.",
        ));
    }

    fn close_with(&mut self, r: Reply) {
        if self.closed {
            return;
        }
        self.answer(r);
        self.closed = true;
        self.queued.clear();
        self.actions.push_back(Action::Close);
    }

    fn run_queued(&mut self) {
        while self.pending.is_none() && !self.closed {
            match self.queued.pop_front() {
                Some(Queued::Command(cmd)) => self.dispatch(cmd),
                Some(Queued::Reply(r)) => self.answer(r),
                None => break,
            }
        }
    }

    fn permissions(&self) -> Option<Permissions> {
        match &self.phase {
            Phase::LoggedIn { permissions, .. } => Some(*permissions),
            _ => None,
        }
    }

    fn dispatch(&mut self, cmd: Command) {
        // RFC 959 §4.1.1: RNFR must be followed at once by RNTO; REST by the transfer it
        // applies to. Any other command clears them. Data-channel setup and TYPE are let through
        // REST because clients send them in between (FileZilla and lftp send PASV after REST).
        if !matches!(cmd, Command::Rnto(_)) {
            self.rnfr = None;
        }
        let keeps_rest = matches!(
            cmd,
            Command::Retr(_)
                | Command::Stor(_)
                | Command::Appe(_)
                | Command::Rest(_)
                | Command::Pasv
                | Command::Epsv(_)
                | Command::Port(_)
                | Command::Eprt(_)
                | Command::Type(_)
        );
        if !keeps_rest {
            self.rest = None;
        }
        let logged_in = self.permissions().is_some();
        // Before login only the login itself (USER, PASS, ACCT, and HOST, which RFC 7151 §3
        // puts before USER), what RFC 4217 runs before it (AUTH, PBSZ, PROT, CCC), session
        // housekeeping (QUIT, REIN, NOOP) and the questions clients ask first (FEAT, OPTS, as
        // RFC 2389 §3 allows; SYST, HELP, LANG, RFC 2640 §4.1) are answered. An unknown verb
        // still gets 500: nothing is revealed by saying we do not know it. Everything else,
        // SITE and SMNT included, is 530 (RFC 959 §5.4 lists 530 for both).
        let open_before_login = matches!(
            cmd,
            Command::User(_)
                | Command::Pass(_)
                | Command::Acct(_)
                | Command::Quit
                | Command::Noop
                | Command::Feat
                | Command::Help(_)
                | Command::Syst
                | Command::Auth(_)
                | Command::Pbsz(_)
                | Command::Prot(_)
                | Command::Ccc
                | Command::Host(_)
                | Command::Opts(_)
                | Command::Lang(_)
                | Command::Rein
                | Command::Unknown { .. }
        );
        if !logged_in && !open_before_login {
            return self.answer(reply(
                ReplyCode::NOT_LOGGED_IN,
                "Please login with USER and PASS.",
            ));
        }
        match cmd {
            Command::User(user) => self.user_cmd(user),
            Command::Pass(password) => self.pass_cmd(password),
            Command::Acct(account) => self.acct_cmd(account),
            Command::Quit => {
                self.close_with(reply(ReplyCode::CLOSING, "Goodbye."));
            }
            Command::Rein => self.rein(),
            Command::Noop => self.answer(reply(ReplyCode::OK, "NOOP ok.")),
            Command::Syst => self.answer(reply(ReplyCode::SYSTEM_TYPE, "UNIX Type: L8")),
            Command::Feat => self.feat(),
            Command::Help(topic) => self.help(topic),
            Command::Opts(opts) => self.opts(opts),
            Command::Lang(tag) => self.lang(tag),
            Command::Host(host) => self.host_cmd(host),
            Command::Auth(mech) => self.auth(mech),
            Command::Pbsz(_) => self.pbsz(),
            Command::Prot(level) => self.prot(level),
            Command::Ccc => self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "CCC not supported.")),
            Command::Smnt(_) => {
                self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "SMNT not implemented."))
            }
            Command::Site(_) => self.answer(reply(
                ReplyCode::NOT_IMPLEMENTED,
                "SITE commands not implemented.",
            )),
            Command::Unknown { .. } => {
                self.answer(reply(ReplyCode::SYNTAX_ERROR, "Unknown command."))
            }
            cmd => self.logged_in_cmd(cmd),
        }
    }

    fn logged_in_cmd(&mut self, cmd: Command) {
        let perms = self.permissions().unwrap_or_default();
        match cmd {
            Command::Cwd(dir) | Command::Xcwd(dir) => {
                self.cwd_to(self.cwd.resolve(dir.as_bytes()), perms)
            }
            Command::Cdup | Command::Xcup => self.cwd_to(self.cwd.parent(), perms),
            Command::Pwd | Command::Xpwd => {
                let mut text = self.cwd.quoted().to_vec();
                text.extend_from_slice(b" is the current directory");
                self.answer(reply_owned(ReplyCode::PATH_CREATED, text));
            }
            Command::Mkd(dir) | Command::Xmkd(dir) => {
                let path = self.cwd.resolve(dir.as_bytes());
                self.with_permission(perms.mkdir, |s| {
                    s.start(Pending::Mkd(path.clone()), |id| Action::MakeDirectory {
                        id,
                        path,
                    });
                });
            }
            Command::Rmd(dir) | Command::Xrmd(dir) => {
                self.with_permission(perms.delete, |s| {
                    let Some(path) = s.resolve_non_root(&dir, ReplyCode::FILE_NOT_FOUND) else {
                        return;
                    };
                    s.start(Pending::Rmd, |id| Action::RemoveDirectory { id, path })
                });
            }
            Command::Dele(file) => {
                self.with_permission(perms.delete, |s| {
                    let Some(path) = s.resolve_non_root(&file, ReplyCode::FILE_NOT_FOUND) else {
                        return;
                    };
                    s.start(Pending::Dele, |id| Action::Delete { id, path })
                });
            }
            Command::Rnfr(from) => {
                self.with_permission(perms.rename, |s| {
                    let Some(path) = s.resolve_non_root(&from, ReplyCode::FILE_NOT_FOUND) else {
                        return;
                    };
                    s.start(Pending::Rnfr(path.clone()), |id| Action::Exists {
                        id,
                        path,
                    });
                });
            }
            Command::Rnto(to) => match self.rnfr.take() {
                None => self.answer(reply(ReplyCode::BAD_SEQUENCE, "RNFR required first.")),
                Some(from) => {
                    self.with_permission(perms.rename, |s| {
                        let Some(to) = s.resolve_non_root(&to, ReplyCode::NAME_NOT_ALLOWED) else {
                            return;
                        };
                        s.start(Pending::Rnto, |id| Action::Rename { id, from, to })
                    });
                }
            },
            Command::Size(file) if self.config.features.size => {
                let path = self.cwd.resolve(file.as_bytes());
                self.with_permission(perms.list, |s| {
                    s.start(Pending::Size, |id| Action::Size { id, path })
                });
            }
            Command::Mdtm(file) if self.config.features.mdtm => {
                let path = self.cwd.resolve(file.as_bytes());
                self.with_permission(perms.list, |s| {
                    s.start(Pending::Mdtm, |id| Action::Modified { id, path })
                });
            }
            Command::Mfmt { time, path } if self.config.features.mfmt => {
                let path = self.cwd.resolve(path.as_bytes());
                self.with_permission(perms.write, |s| {
                    s.start(Pending::Mfmt(path.clone(), time), |id| {
                        Action::SetModified { id, path, time }
                    });
                });
            }
            Command::Mlst(target) if !self.config.features.mlst.is_empty() => {
                let path = self.resolve_opt(target.as_ref());
                self.with_permission(perms.list, |s| {
                    s.start(Pending::Mlst(path.clone()), |id| Action::Facts { id, path })
                });
            }
            Command::Stat(None) => self.status(),
            Command::Stat(Some(target)) => {
                let path = self.cwd.resolve(target.as_bytes());
                self.with_permission(perms.list, |s| {
                    s.start(Pending::StatPath(path.clone()), |id| {
                        Action::StatusListing { id, path }
                    });
                });
            }
            Command::Type(t) => self.set_type(t),
            Command::Mode(TransferMode::Stream) => {
                self.answer(reply(ReplyCode::OK, "Mode set to S."))
            }
            Command::Mode(_) => self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only stream mode is supported.",
            )),
            Command::Stru(Structure::File) => {
                self.answer(reply(ReplyCode::OK, "Structure set to F."))
            }
            Command::Stru(_) => self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only file structure is supported.",
            )),
            Command::Allo { .. } => self.answer(reply(ReplyCode::SUPERFLUOUS, "ALLO not needed.")),
            Command::Rest(offset) => {
                self.rest = Some(offset);
                let text =
                    format!("Restarting at {offset}. Send STOR or RETR to initiate transfer.");
                self.answer(reply_owned(
                    ReplyCode::FILE_ACTION_PENDING,
                    text.into_bytes(),
                ));
            }
            Command::Abor => {
                if self.data != DataChannel::None {
                    self.data = DataChannel::None;
                    self.actions.push_back(Action::CloseDataChannel);
                }
                self.answer(reply(
                    ReplyCode::DATA_OPEN_NO_TRANSFER,
                    "No transfer to abort.",
                ));
            }
            Command::Port(addr) => self.active(SocketAddr::V4(addr)),
            Command::Eprt(addr) => self.active(addr),
            Command::Pasv => self.pasv(),
            Command::Epsv(arg) => self.epsv(arg),
            Command::Retr(file) => {
                let offset = self.rest.take().unwrap_or(0);
                let path = self.cwd.resolve(file.as_bytes());
                self.transfer(perms.read, path, TransferKind::Retrieve { offset }, false);
            }
            Command::Stor(file) => {
                let mode = self.rest.take().map_or(WriteMode::Truncate, WriteMode::At);
                self.with_permission(perms.write, |s| {
                    let Some(path) = s.resolve_non_root(&file, ReplyCode::NAME_NOT_ALLOWED) else {
                        return;
                    };
                    s.transfer(true, path, TransferKind::Store { mode }, false);
                });
            }
            Command::Appe(file) => {
                self.rest = None;
                self.with_permission(perms.write, |s| {
                    let Some(path) = s.resolve_non_root(&file, ReplyCode::NAME_NOT_ALLOWED) else {
                        return;
                    };
                    let mode = WriteMode::Append;
                    s.transfer(true, path, TransferKind::Store { mode }, false);
                });
            }
            Command::Stou(base) => {
                let name = base.as_ref().map_or(&b"ftp.upload"[..], Arg::as_bytes);
                let path = self.cwd.resolve(name);
                self.with_permission(perms.write, |s| {
                    // The driver derives the new name from the last component; the root has
                    // none.
                    let Some(path) = s.non_root(path, ReplyCode::NAME_NOT_ALLOWED) else {
                        return;
                    };
                    let mode = WriteMode::Unique;
                    s.transfer(true, path, TransferKind::Store { mode }, false);
                });
            }
            Command::List(args) => self.list(perms, &args, ListFormat::Long),
            Command::Nlst(args) => self.list(perms, &args, ListFormat::Names),
            Command::Mlsd(dir) if !self.config.features.mlst.is_empty() => {
                let args = ListArgs {
                    flags: None,
                    path: dir,
                };
                self.list(perms, &args, ListFormat::Machine(self.mlst_facts));
            }
            _ => self.answer(reply(
                ReplyCode::NOT_IMPLEMENTED,
                "Command not implemented.",
            )),
        }
    }

    fn with_permission(&mut self, granted: bool, then: impl FnOnce(&mut Self)) {
        if granted {
            then(self);
        } else {
            self.answer(reply(ReplyCode::FILE_NOT_FOUND, "Permission denied."));
        }
    }

    fn resolve_opt(&self, arg: Option<&Arg>) -> VirtualPath {
        arg.map_or_else(|| self.cwd.clone(), |a| self.cwd.resolve(a.as_bytes()))
    }

    /// Resolves a path that names something to delete, rename, or write: the root itself is
    /// never deleted, renamed or overwritten. For the root (`DELE /`, `RMD ..` in `/`, `STOR /`)
    /// it answers `code` (550 for DELE, RMD and RNFR; 553, "file name not allowed", for the
    /// commands that name a file to create, as RFC 959 §5.4 lists) and returns `None`, so no
    /// action reaches the back-end, which would otherwise see its own root.
    fn resolve_non_root(&mut self, arg: &Arg, code: ReplyCode) -> Option<VirtualPath> {
        let path = self.cwd.resolve(arg.as_bytes());
        self.non_root(path, code)
    }

    /// `path`, or `None` after answering `code` if it is the root (see
    /// [`resolve_non_root`](Self::resolve_non_root)).
    fn non_root(&mut self, path: VirtualPath, code: ReplyCode) -> Option<VirtualPath> {
        if path.is_root() {
            self.answer(reply(code, "The root directory cannot be changed."));
            return None;
        }
        Some(path)
    }

    fn cwd_to(&mut self, path: VirtualPath, perms: Permissions) {
        self.with_permission(perms.list, |s| {
            s.start(Pending::Cwd(path.clone()), |id| Action::ChangeDirectory {
                id,
                path,
            })
        });
    }

    fn user_cmd(&mut self, user: Arg) {
        if self.config.require_tls && !self.control_tls {
            return self.answer(reply(
                ReplyCode::NOT_LOGGED_IN,
                "TLS required: send AUTH TLS first.",
            ));
        }
        // USER at any time starts a new login (RFC 959 §4.1.1 allows a change of user).
        self.phase = Phase::AwaitingPass { user };
        self.answer(reply(
            ReplyCode::NEED_PASSWORD,
            "Please specify the password.",
        ));
    }

    fn pass_cmd(&mut self, password: Secret<Arg>) {
        match &self.phase {
            Phase::AwaitingPass { user } => {
                let user = user.clone();
                let host = self.host.clone();
                self.start(Pending::Login, |id| Action::Authenticate {
                    id,
                    user,
                    password,
                    host,
                });
            }
            Phase::LoggedIn { .. } => {
                self.answer(reply(ReplyCode::SUPERFLUOUS, "Already logged in."))
            }
            _ => self.answer(reply(ReplyCode::BAD_SEQUENCE, "Login with USER first.")),
        }
    }

    fn acct_cmd(&mut self, account: Secret<Arg>) {
        match &self.phase {
            Phase::AwaitingAccount { user } => {
                let user = user.clone();
                self.start(Pending::Login, |id| Action::Account { id, user, account });
            }
            Phase::LoggedIn { .. } => {
                self.answer(reply(ReplyCode::SUPERFLUOUS, "ACCT not needed."))
            }
            _ => self.answer(reply(
                ReplyCode::BAD_SEQUENCE,
                "Login with USER and PASS first.",
            )),
        }
    }

    fn rein(&mut self) {
        if self.data != DataChannel::None {
            self.actions.push_back(Action::CloseDataChannel);
        }
        let fresh = Self::new(self.config.clone(), self.info);
        // Keep what REIN does not reset: the id counter (ids stay unique) and the TLS state of
        // the control connection, which REIN cannot undo.
        let (next_id, control_tls, failures) =
            (self.next_id, self.control_tls, self.login_failures);
        let replies = std::mem::take(&mut self.replies);
        let actions = std::mem::take(&mut self.actions);
        *self = fresh;
        self.next_id = next_id;
        self.control_tls = control_tls;
        self.login_failures = failures;
        self.replies = replies;
        self.actions = actions;
        self.answer(reply(
            ReplyCode::SERVICE_READY,
            "Service ready for new user.",
        ));
    }

    fn feat(&mut self) {
        let f = self.config.features;
        let mlst = (!f.mlst.is_empty()).then(|| {
            let mut line = BytesMut::from(&b" MLST "[..]);
            self.mlst_facts.write_feat(f.mlst, &mut line);
            line.freeze()
        });
        // Every line is backed by code: HOST (RFC 7151) by `host_cmd`, which hands the name to
        // the authenticator; LANG (RFC 2640) by `lang`, English only; TVFS (RFC 3659 §6) by
        // `VirtualPath`, one tree of `/`-separated names; UTF8 by `opts`.
        let fixed = [
            (f.tls, " AUTH TLS"),
            (true, " EPRT"),
            (true, " EPSV"),
            (true, " HOST"),
            (true, " LANG EN*"),
            (f.mdtm, " MDTM"),
            (f.mfmt, " MFMT"),
        ];
        let after = [
            (f.tls, " PBSZ"),
            (f.tls, " PROT"),
            (f.rest_stream, " REST STREAM"),
            (f.size, " SIZE"),
            (true, " TVFS"),
            (true, " UTF8"),
        ];
        let pick = |list: &[(bool, &'static str)]| -> Vec<Bytes> {
            list.iter()
                .filter(|(on, _)| *on)
                .map(|(_, t)| Bytes::from_static(t.as_bytes()))
                .collect()
        };
        let mut lines: Vec<Bytes> = vec![Bytes::from_static(b"Features:")];
        lines.extend(pick(&fixed));
        lines.extend(mlst);
        lines.extend(pick(&after));
        lines.push(Bytes::from_static(b"End"));
        match Reply::multiline(ReplyCode::SYSTEM_STATUS, lines) {
            Ok(r) => self.answer(r),
            Err(_) => self.answer(reply(ReplyCode::LOCAL_ERROR, "Local error.")),
        }
    }

    /// The verbs this session answers (other than with `502`), in `HELP`'s order.
    fn implemented_verbs(&self) -> Vec<&'static str> {
        let f = self.config.features;
        let mlst = !f.mlst.is_empty();
        [
            ("ABOR", true),
            ("ACCT", true),
            ("ALLO", true),
            ("APPE", true),
            ("AUTH", f.tls),
            ("CDUP", true),
            ("CWD", true),
            ("DELE", true),
            ("EPRT", true),
            ("EPSV", true),
            ("FEAT", true),
            ("HELP", true),
            ("HOST", true),
            ("LANG", true),
            ("LIST", true),
            ("MDTM", f.mdtm),
            ("MFMT", f.mfmt),
            ("MKD", true),
            ("MLSD", mlst),
            ("MLST", mlst),
            ("MODE", true),
            ("NLST", true),
            ("NOOP", true),
            ("OPTS", true),
            ("PASS", true),
            ("PASV", true),
            ("PBSZ", f.tls),
            ("PORT", true),
            ("PROT", f.tls),
            ("PWD", true),
            ("QUIT", true),
            ("REIN", true),
            ("REST", true),
            ("RETR", true),
            ("RMD", true),
            ("RNFR", true),
            ("RNTO", true),
            ("SIZE", f.size),
            ("STAT", true),
            ("STOR", true),
            ("STOU", true),
            ("STRU", true),
            ("SYST", true),
            ("TYPE", true),
            ("USER", true),
            ("XCUP", true),
            ("XCWD", true),
            ("XMKD", true),
            ("XPWD", true),
            ("XRMD", true),
        ]
        .into_iter()
        .filter_map(|(verb, on)| on.then_some(verb))
        .collect()
    }

    fn help(&mut self, topic: Option<Arg>) {
        // CCC, SMNT and SITE are always answered 502, AUTH, PBSZ and PROT without TLS, and the
        // extensions the back-end lacks: HELP lists none of them.
        let verbs = self.implemented_verbs();
        match topic {
            None => {
                let rows = verbs.chunks(14).map(|row| {
                    let mut line = String::new();
                    for verb in row {
                        line.push_str(&format!(" {verb:<4}"));
                    }
                    Bytes::from(line.trim_end().to_owned())
                });
                let lines = std::iter::once(Bytes::from_static(
                    b"The following commands are recognized.",
                ))
                .chain(rows)
                .chain(std::iter::once(Bytes::from_static(b"Help OK.")));
                if let Ok(r) = Reply::multiline(ReplyCode::HELP, lines) {
                    self.answer(r);
                }
            }
            Some(topic) => {
                let known = verbs
                    .iter()
                    .any(|v| v.as_bytes().eq_ignore_ascii_case(topic.as_bytes()));
                if known {
                    let mut text = b"Syntax: ".to_vec();
                    text.extend(topic.as_bytes().iter().map(u8::to_ascii_uppercase));
                    text.extend_from_slice(b" (see RFC 959 and its extensions)");
                    self.answer(reply_owned(ReplyCode::HELP, text));
                } else {
                    self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "Unknown command."));
                }
            }
        }
    }

    fn opts(&mut self, opts: crate::command::Opts) {
        let name = opts.name.as_bytes();
        let value = opts.value.as_ref().map(Arg::as_bytes).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"UTF8") || name.eq_ignore_ascii_case(b"UTF-8") {
            // Paths are passed through as bytes either way; clients such as FileZilla and
            // Windows Explorer only look for the 200.
            if value.eq_ignore_ascii_case(b"ON") || value.is_empty() {
                self.utf8 = true;
                self.answer(reply(ReplyCode::OK, "UTF8 mode enabled."));
            } else if value.eq_ignore_ascii_case(b"OFF") {
                self.utf8 = false;
                self.answer(reply(ReplyCode::OK, "UTF8 mode disabled."));
            } else {
                self.answer(reply(
                    ReplyCode::PARAMETER_SYNTAX_ERROR,
                    "Use OPTS UTF8 ON or OFF.",
                ));
            }
        } else if name.eq_ignore_ascii_case(b"MLST") && !self.config.features.mlst.is_empty() {
            // RFC 3659 §7.9: unknown facts are ignored; the reply lists the facts now in use.
            self.mlst_facts = FactSet::parse_opts(value).intersection(self.config.features.mlst);
            let mut text = BytesMut::from(&b"MLST OPTS "[..]);
            self.mlst_facts.write_opts(&mut text);
            self.answer(reply_owned(ReplyCode::OK, text.to_vec()));
        } else {
            self.answer(reply(
                ReplyCode::PARAMETER_SYNTAX_ERROR,
                "Option not understood.",
            ));
        }
    }

    fn lang(&mut self, tag: Option<Arg>) {
        // RFC 2640 §4.1: only English is offered; no tag means the default.
        let english = tag.as_ref().is_none_or(|t| {
            let t = t.as_bytes();
            t.eq_ignore_ascii_case(b"EN")
                || t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(b"EN-"))
        });
        if english {
            self.answer(reply(ReplyCode::OK, "Using language EN."));
        } else {
            self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Unsupported language.",
            ));
        }
    }

    fn host_cmd(&mut self, host: Arg) {
        // RFC 7151 §3: HOST comes before USER; afterwards it is a bad sequence.
        if matches!(self.phase, Phase::AwaitingUser) {
            self.host = Some(host);
            self.answer(reply(ReplyCode::SERVICE_READY, "Host accepted."));
        } else {
            self.answer(reply(
                ReplyCode::BAD_SEQUENCE,
                "HOST must come before USER.",
            ));
        }
    }

    fn auth(&mut self, mech: Arg) {
        if !self.config.features.tls {
            return self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "AUTH not supported."));
        }
        if self.control_tls {
            return self.answer(reply(ReplyCode::BAD_SEQUENCE, "Already using TLS."));
        }
        // RFC 4217 §4: "TLS", and "SSL" which older clients still send, as TLS.
        let m = mech.as_bytes();
        if ["TLS", "TLS-C", "SSL", "TLS-P"]
            .iter()
            .any(|x| m.eq_ignore_ascii_case(x.as_bytes()))
        {
            self.control_tls = true;
            self.answer(reply(ReplyCode::AUTH_OK, "AUTH TLS successful."));
            self.actions.push_back(Action::UpgradeTls);
        } else {
            self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Unsupported AUTH mechanism.",
            ));
        }
    }

    fn pbsz(&mut self) {
        if !self.config.features.tls {
            self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "PBSZ not supported."));
        } else if !self.control_tls {
            self.answer(reply(ReplyCode::BAD_SEQUENCE, "PBSZ requires AUTH first."));
        } else {
            // RFC 4217 §9: for TLS the buffer size is always 0.
            self.pbsz = true;
            self.answer(reply(ReplyCode::OK, "PBSZ=0"));
        }
    }

    fn prot(&mut self, level: ProtectionLevel) {
        if !self.config.features.tls {
            return self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "PROT not supported."));
        }
        if !self.pbsz {
            return self.answer(reply(ReplyCode::BAD_SEQUENCE, "PROT requires PBSZ first."));
        }
        match level {
            ProtectionLevel::Clear => {
                self.protected = false;
                self.answer(reply(ReplyCode::OK, "Protection level set to C."));
            }
            ProtectionLevel::Private => {
                self.protected = true;
                self.answer(reply(ReplyCode::OK, "Protection level set to P."));
            }
            // RFC 4217 §9: S and E are not meaningful with TLS.
            _ => self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only PROT C and P are supported.",
            )),
        }
    }

    fn set_type(&mut self, t: TransferType) {
        match t {
            TransferType::Ascii(crate::command::FormatControl::NonPrint) => {
                self.representation = Representation::Ascii;
                self.answer(reply(ReplyCode::OK, "Switching to ASCII mode."));
            }
            TransferType::Image | TransferType::Local(8) => {
                self.representation = Representation::Binary;
                self.answer(reply(ReplyCode::OK, "Switching to Binary mode."));
            }
            _ => self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Unsupported type.",
            )),
        }
    }

    fn status(&mut self) {
        let mut lines: Vec<Vec<u8>> = vec![b"FTP server status:".to_vec()];
        lines.push(format!("     Connected to {}", self.info.peer.ip()).into_bytes());
        if let Some(user) = self.user() {
            let mut l = b"     Logged in as ".to_vec();
            l.extend_from_slice(user.as_bytes());
            lines.push(l);
        }
        let t = match self.representation {
            Representation::Ascii => "ASCII",
            Representation::Binary => "BINARY",
        };
        lines.push(format!("     TYPE: {t}; STRUcture: File; MODE: Stream").into_bytes());
        let data = match self.data {
            DataChannel::None => "No data connection",
            DataChannel::Passive => "Passive listener open",
            DataChannel::Active(_) => "Active mode address set",
        };
        lines.push(format!("     {data}").into_bytes());
        lines.push(
            format!(
                "     Control connection is {}",
                if self.control_tls {
                    "TLS"
                } else {
                    "plain text"
                }
            )
            .into_bytes(),
        );
        lines.push(b"End of status".to_vec());
        let lines = lines.into_iter().map(|l| {
            l.into_iter()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect::<Vec<u8>>()
        });
        if let Ok(r) = Reply::multiline(ReplyCode::SYSTEM_STATUS, lines) {
            self.answer(r);
        }
    }

    fn local_family(&self) -> AddressFamily {
        AddressFamily::of(self.info.local.ip())
    }

    fn active(&mut self, addr: SocketAddr) {
        if self.epsv_all {
            return self.answer(reply(
                ReplyCode::BAD_SEQUENCE,
                "Only EPSV is allowed after EPSV ALL.",
            ));
        }
        let family = self.local_family();
        if AddressFamily::of(addr.ip()) != family {
            let text = match family {
                AddressFamily::V4 => "Network protocol not supported, use (1).",
                AddressFamily::V6 => "Network protocol not supported, use (2).",
            };
            return self.answer(reply(ReplyCode::PROTOCOL_NOT_SUPPORTED, text));
        }
        // RFC 2577 §3: no connections to third parties (bounce) or to privileged ports.
        let third_party = !is_same_ip(addr.ip(), self.info.peer.ip())
            && !self.config.dangerous_allow_any_data_peer;
        if third_party || addr.port() < 1024 {
            return self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Illegal PORT command.",
            ));
        }
        if self.data == DataChannel::Passive {
            self.actions.push_back(Action::CloseDataChannel);
        }
        self.data = DataChannel::Active(addr);
        self.answer(reply(
            ReplyCode::OK,
            "PORT command successful. Consider using PASV.",
        ));
    }

    fn pasv(&mut self) {
        if self.epsv_all {
            return self.answer(reply(
                ReplyCode::BAD_SEQUENCE,
                "Only EPSV is allowed after EPSV ALL.",
            ));
        }
        if self.local_family() != AddressFamily::V4 {
            return self.answer(reply(
                ReplyCode::PROTOCOL_NOT_SUPPORTED,
                "PASV needs IPv4; use EPSV.",
            ));
        }
        self.start(Pending::Passive { extended: false }, |id| {
            Action::OpenPassive {
                id,
                family: AddressFamily::V4,
            }
        });
    }

    fn epsv(&mut self, arg: Option<EpsvArg>) {
        let family = self.local_family();
        match arg {
            Some(EpsvArg::All) => {
                self.epsv_all = true;
                self.answer(reply(ReplyCode::OK, "EPSV ALL ok."));
            }
            Some(EpsvArg::Protocol(p)) if p != family.protocol_number() => {
                let text = match family {
                    AddressFamily::V4 => "Network protocol not supported, use (1).",
                    AddressFamily::V6 => "Network protocol not supported, use (2).",
                };
                self.answer(reply(ReplyCode::PROTOCOL_NOT_SUPPORTED, text));
            }
            _ => self.start(Pending::Passive { extended: true }, |id| {
                Action::OpenPassive { id, family }
            }),
        }
    }

    fn data_endpoint(&mut self) -> Option<DataEndpoint> {
        let endpoint = match std::mem::replace(&mut self.data, DataChannel::None) {
            DataChannel::None => return None,
            DataChannel::Passive => DataEndpoint::Passive {
                peer: (!self.config.dangerous_allow_any_data_peer).then_some(self.info.peer.ip()),
            },
            DataChannel::Active(addr) => DataEndpoint::Active(addr),
        };
        Some(endpoint)
    }

    fn transfer(&mut self, granted: bool, path: VirtualPath, kind: TransferKind, listing: bool) {
        if !granted {
            return self.answer(reply(ReplyCode::FILE_NOT_FOUND, "Permission denied."));
        }
        let Some(data) = self.data_endpoint() else {
            return self.answer(reply(
                ReplyCode::CANT_OPEN_DATA,
                "Use PORT, EPRT, PASV or EPSV first.",
            ));
        };
        let unique = matches!(
            kind,
            TransferKind::Store {
                mode: WriteMode::Unique
            }
        );
        let representation = if listing {
            Representation::Ascii
        } else {
            self.representation
        };
        let protected = self.protected;
        self.start(
            Pending::Transfer {
                listing,
                started: false,
                abort_requested: false,
                unique,
            },
            |id| {
                Action::Transfer(Transfer {
                    id,
                    kind,
                    path,
                    representation,
                    data,
                    protected,
                })
            },
        );
    }

    fn list(&mut self, perms: Permissions, args: &ListArgs, format: ListFormat) {
        let path = self.resolve_opt(args.path.as_ref());
        let show_hidden = matches!(format, ListFormat::Machine(_)) || args.shows_hidden();
        self.transfer(
            perms.list,
            path,
            TransferKind::List {
                format,
                show_hidden,
            },
            true,
        );
    }

    fn fail(&mut self, kind: FailureKind) {
        self.answer(reply(kind.reply_code(), kind.text()));
    }

    fn finish_action(&mut self, pending: Pending, outcome: Outcome) {
        if let Outcome::Failed(kind) = outcome {
            return match pending {
                Pending::Passive { .. } => self.answer(reply(
                    ReplyCode::CANT_OPEN_DATA,
                    "Can't open passive connection.",
                )),
                Pending::Login => self.login_rejected(),
                _ => self.fail(kind),
            };
        }
        match (pending, outcome) {
            (Pending::Login, Outcome::LoggedIn(permissions)) => {
                let user = match std::mem::replace(&mut self.phase, Phase::AwaitingUser) {
                    Phase::AwaitingPass { user }
                    | Phase::AwaitingAccount { user }
                    | Phase::LoggedIn { user, .. } => user,
                    Phase::AwaitingUser => Arg::default(),
                };
                self.phase = Phase::LoggedIn { user, permissions };
                self.login_failures = 0;
                self.cwd = VirtualPath::root();
                self.answer(reply(ReplyCode::LOGGED_IN, "Login successful."));
            }
            (Pending::Login, Outcome::NeedAccount) => {
                if let Phase::AwaitingPass { user } =
                    std::mem::replace(&mut self.phase, Phase::AwaitingUser)
                {
                    self.phase = Phase::AwaitingAccount { user };
                    self.answer(reply(ReplyCode::NEED_ACCOUNT, "Need account for login."));
                } else {
                    self.login_rejected();
                }
            }
            (Pending::Login, _) => self.login_rejected(),
            (Pending::Passive { extended }, Outcome::PassiveListening(addr)) => {
                self.passive_open(extended, addr)
            }
            (Pending::Cwd(path), Outcome::Done) => {
                self.cwd = path;
                self.answer(reply(
                    ReplyCode::FILE_ACTION_OK,
                    "Directory successfully changed.",
                ));
            }
            (Pending::Mkd(path), Outcome::Done) => {
                let mut text = path.quoted().to_vec();
                text.extend_from_slice(b" created");
                self.answer(reply_owned(ReplyCode::PATH_CREATED, text));
            }
            (Pending::Rmd, Outcome::Done) => {
                self.answer(reply(ReplyCode::FILE_ACTION_OK, "Directory removed."))
            }
            (Pending::Dele, Outcome::Done) => {
                self.answer(reply(ReplyCode::FILE_ACTION_OK, "File deleted."))
            }
            (Pending::Rnfr(path), Outcome::Done) => {
                self.rnfr = Some(path);
                self.answer(reply(ReplyCode::FILE_ACTION_PENDING, "Ready for RNTO."));
            }
            (Pending::Rnto, Outcome::Done) => {
                self.answer(reply(ReplyCode::FILE_ACTION_OK, "Rename successful."))
            }
            (Pending::Size, Outcome::Size(n)) => self.answer(reply_owned(
                ReplyCode::FILE_STATUS,
                n.to_string().into_bytes(),
            )),
            (Pending::Mdtm, Outcome::Modified(t)) => {
                // Whole seconds: many clients read exactly 14 digits (RFC 3659 allows either).
                let t = t.with_nanos(0).unwrap_or(t);
                self.answer(reply_owned(
                    ReplyCode::FILE_STATUS,
                    t.to_string().into_bytes(),
                ));
            }
            (Pending::Mfmt(path, time), Outcome::Done) => {
                let mut text = format!("Modify={time}; ").into_bytes();
                text.extend_from_slice(path.as_bytes());
                self.answer(reply_owned(ReplyCode::FILE_STATUS, text));
            }
            (Pending::Mlst(path), Outcome::Facts(entry)) => self.mlst_reply(&path, &entry),
            (Pending::StatPath(path), Outcome::Lines(lines)) => {
                let mut first = b"Status of ".to_vec();
                first.extend_from_slice(path.as_bytes());
                first.push(b':');
                let all = std::iter::once(first)
                    .chain(lines.into_iter().map(|l| l.to_vec()))
                    .chain(std::iter::once(b"End of status".to_vec()))
                    .map(|l| {
                        l.into_iter()
                            .filter(|&b| b != b'\r' && b != b'\n')
                            .collect::<Vec<u8>>()
                    });
                match Reply::multiline(ReplyCode::FILE_STATUS, all) {
                    Ok(r) => self.answer(r),
                    Err(_) => self.fail(FailureKind::LocalError),
                }
            }
            // An outcome of the wrong shape is a driver bug; answer as a local error rather
            // than leave the client waiting.
            _ => self.fail(FailureKind::LocalError),
        }
    }

    fn login_rejected(&mut self) {
        self.phase = Phase::AwaitingUser;
        self.login_failures += 1;
        self.answer(reply(ReplyCode::NOT_LOGGED_IN, "Login incorrect."));
        if self.login_failures >= self.config.max_login_failures {
            self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Too many failed logins.",
            ));
        }
    }

    fn passive_open(&mut self, extended: bool, addr: SocketAddr) {
        if extended {
            self.data = DataChannel::Passive;
            return self.answer(address::epsv_reply(addr.port()));
        }
        match addr {
            SocketAddr::V4(v4) => {
                self.data = DataChannel::Passive;
                self.answer(address::pasv_reply(v4));
            }
            SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
                Some(ip) => {
                    self.data = DataChannel::Passive;
                    self.answer(address::pasv_reply(std::net::SocketAddrV4::new(
                        ip,
                        v6.port(),
                    )));
                }
                None => {
                    self.actions.push_back(Action::CloseDataChannel);
                    self.answer(reply(
                        ReplyCode::CANT_OPEN_DATA,
                        "No IPv4 address for PASV; use EPSV.",
                    ));
                }
            },
        }
    }

    fn mlst_reply(&mut self, path: &VirtualPath, entry: &MlsxEntry) {
        let mut first = b"Listing ".to_vec();
        first.extend_from_slice(path.as_bytes());
        // RFC 3659 §7.2: the entry line starts with one space; the name is the full path.
        let mut line = BytesMut::from(&b" "[..]);
        let mut named = entry.clone();
        named.name = Bytes::copy_from_slice(path.as_bytes());
        named.encode(self.mlst_facts, &mut line);
        let lines = [
            Bytes::from(first),
            line.freeze(),
            Bytes::from_static(b"End"),
        ];
        match Reply::multiline(ReplyCode::FILE_ACTION_OK, lines) {
            Ok(r) => self.answer(r),
            Err(_) => self.fail(FailureKind::LocalError),
        }
    }

    fn transfer_outcome(
        &mut self,
        id: ActionId,
        outcome: Outcome,
        listing: bool,
        started: bool,
        abort_requested: bool,
        unique: bool,
    ) -> Result<(), UnexpectedOutcome> {
        match outcome {
            Outcome::TransferStarting { unique_name } if !started => {
                let text: Vec<u8> = match (unique, unique_name) {
                    // RFC 1123 §4.1.2.9: the 150 of STOU names the file.
                    (true, Some(name)) => {
                        let mut t = b"FILE: ".to_vec();
                        t.extend_from_slice(name.as_bytes());
                        t
                    }
                    _ if listing => b"Here comes the directory listing.".to_vec(),
                    _ => match self.representation {
                        Representation::Ascii => b"Opening ASCII mode data connection.".to_vec(),
                        Representation::Binary => b"Opening BINARY mode data connection.".to_vec(),
                    },
                };
                self.answer(reply_owned(ReplyCode::FILE_STATUS_OK, text));
                self.pending = Some((
                    id,
                    Pending::Transfer {
                        listing,
                        started: true,
                        abort_requested,
                        unique,
                    },
                ));
                return Ok(());
            }
            Outcome::TransferComplete { .. } => {
                let text = if listing {
                    "Directory send OK."
                } else {
                    "Transfer complete."
                };
                self.answer(reply(ReplyCode::CLOSING_DATA, text));
            }
            Outcome::Failed(kind) if abort_requested => {
                let _ = kind;
                self.answer(reply(
                    ReplyCode::TRANSFER_ABORTED,
                    "Connection closed; transfer aborted.",
                ));
            }
            Outcome::Failed(kind) => self.fail(kind),
            _ => self.fail(FailureKind::LocalError),
        }
        if abort_requested {
            self.answer(reply(ReplyCode::CLOSING_DATA, "ABOR successful."));
        }
        if self.quit_after_transfer {
            self.close_with(reply(ReplyCode::CLOSING, "Goodbye."));
        } else if self.shutting_down {
            self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Server shutting down.",
            ));
        }
        self.run_queued();
        Ok(())
    }
}

/// A [`ServerSession`] with its line decoder: bytes in, bytes and actions out.
#[derive(Debug)]
pub struct ServerConnection {
    decoder: LineDecoder,
    session: ServerSession,
}

impl ServerConnection {
    /// A connection with the given session settings and line limit.
    pub fn new(config: ServerConfig, info: ConnectionInfo, max_line_len: usize) -> Self {
        Self {
            decoder: LineDecoder::new(max_line_len),
            session: ServerSession::new(config, info),
        }
    }

    /// Decodes and feeds commands from the front of `input` while the session wants them.
    /// Bytes not yet consumed stay in `input`.
    pub fn handle_input(&mut self, input: &mut BytesMut) {
        self.handle_input_with(input, |_| {});
    }

    /// Like [`handle_input`](Self::handle_input), showing each parsed command (or parse error)
    /// to `inspect` before the session takes it: for logs. `Command`'s `Display` redacts
    /// passwords.
    pub fn handle_input_with(
        &mut self,
        input: &mut BytesMut,
        mut inspect: impl FnMut(&Result<Command, ParseError>),
    ) {
        while self.session.wants_read() {
            match self.decoder.decode(input) {
                None => break,
                Some(Ok(line)) => {
                    let parsed = Command::parse(line);
                    inspect(&parsed);
                    match parsed {
                        Ok(cmd) => self.session.handle_command(cmd),
                        Err(e) => self.session.handle_parse_error(e),
                    }
                }
                Some(Err(e)) => self.session.handle_decode_error(e),
            }
        }
    }

    /// The control connection reached end of input: what is left of a line is dropped and the
    /// session closes (no reply can be read any more).
    pub fn handle_eof(&mut self, input: &mut BytesMut) {
        self.handle_input(input);
        input.clear();
        if !self.session.closed {
            self.session.closed = true;
            self.session.queued.clear();
            if let Some((id, Pending::Transfer { .. })) = &self.session.pending {
                let id = *id;
                self.session.actions.push_back(Action::Abort { id });
            }
            self.session.actions.push_back(Action::Close);
        }
    }

    /// Appends every queued reply, in wire form, to `out`. Returns whether anything was written.
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        let mut wrote = false;
        while let Some(r) = self.session.poll_reply() {
            r.encode(out);
            wrote = true;
        }
        wrote
    }

    /// See [`ServerSession::poll_action`].
    pub fn poll_action(&mut self) -> Option<Action> {
        self.session.poll_action()
    }

    /// See [`ServerSession::handle_outcome`].
    pub fn handle_outcome(
        &mut self,
        id: ActionId,
        outcome: Outcome,
    ) -> Result<(), UnexpectedOutcome> {
        self.session.handle_outcome(id, outcome)
    }

    /// See [`ServerSession::wants_read`].
    pub fn wants_read(&self) -> bool {
        self.session.wants_read()
    }

    /// The session.
    pub fn session(&self) -> &ServerSession {
        &self.session
    }

    /// The session, mutably (for timeouts and shutdown).
    pub fn session_mut(&mut self) -> &mut ServerSession {
        &mut self.session
    }
}
