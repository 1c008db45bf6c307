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
//! [`max_queued_bytes`](ServerConfig::max_queued_bytes) of them.
//!
//! Rules it follows (RFC 959 unless noted): a 220 greeting; 530 for commands that need a login;
//! 503 for `PASS` without `USER`, `RNTO` without `RNFR` and other bad sequences; `REST` applies
//! to the next transfer command only; `RNFR` must be followed by `RNTO`; one data connection per
//! transfer, 425 without one; `PORT`/`EPRT` only to the control peer and never to a port below
//! 1024 (RFC 2577); `EPSV ALL` refuses the other data-channel commands (RFC 2428); `ABOR`
//! during a transfer yields 426 for the transfer and 226 for the `ABOR`; `QUIT` during a
//! transfer closes after it ends; the user name is never confirmed or denied before the password.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::access::{Permissions, UserAccess};
use crate::arg::Arg;
use crate::checksum::HashAlgorithm;
use crate::command::{Command, ParseError};
use crate::framing::DecodeError;
use crate::glob::NamePattern;
use crate::listing::{FactSet, ListFormat, Metadata};
use crate::path::VirtualPath;
use crate::reply::{Reply, ReplyCode};
use crate::time::Timestamp;

mod action;
mod checksum;
mod config;
mod connection;
mod data;
mod files;
mod info;
mod login;
mod texts;
mod throttle;
mod timers;
mod tls;

pub use crate::feat::Features;
pub use action::{
    Action, ActionId, AddressFamily, DataEndpoint, FailureKind, ListSource, Outcome, Refusal,
    Representation, STOU_ATTEMPTS, Transfer, TransferKind, UnexpectedOutcome, WriteMode,
    unique_name,
};
pub use config::{ConnectionInfo, ControlTls, DataTls, ServerConfig};
pub use connection::ServerConnection;
use texts::{reply, reply_owned};
pub use throttle::{Failure as LoginFailure, LoginThrottle, ThrottleConfig};

#[derive(Clone, Debug)]
enum Phase {
    AwaitingUser,
    AwaitingPass {
        user: Arg<'static>,
    },
    AwaitingAccount {
        user: Arg<'static>,
    },
    LoggedIn {
        user: Arg<'static>,
        access: UserAccess,
    },
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
    /// The metadata of the directory to enter.
    Cwd(VirtualPath),
    /// Whether the symbolic link to enter leads to a directory.
    CwdProbe(VirtualPath),
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
    /// The metadata of the file to checksum.
    ChecksumMeta(Box<checksum::ChecksumRequest>),
    /// The metadata of what `LIST`, `NLST` or `MLSD` names.
    ListMeta(ListRequest),
    /// Whether the symbolic link to list leads to a directory.
    ListProbe(ListRequest, Box<Metadata>),
    /// A refused login, answered once the failed-login delay has passed.
    LoginDelay(Instant),
    /// The TLS handshake on the control connection after `234`: nothing is read meanwhile, so
    /// no plain text sent after `AUTH` can pass for a command (the STARTTLS injection).
    TlsHandshake(Instant),
    /// Boxed: the largest state, and every session holds room for one pending action.
    Transfer(Box<Running>),
}

/// A transfer in flight.
#[derive(Debug)]
struct Running {
    /// The data channel the transfer took: set up again if the transfer is refused before its
    /// 150 (see `transfer_outcome`).
    channel: DataChannel,
    listing: bool,
    unique: bool,
    /// The 150 is sent.
    started: bool,
    /// Why an abort was asked for, if one was.
    abort: Option<AbortBy>,
    /// Since when the data connection is awaited (from the 150 until it opens).
    data_wait: Option<Instant>,
    /// When data last moved, once the data connection is open.
    last_progress: Option<Instant>,
    /// Not a transfer but a checksum (`HASH`, `XCRC`...): what its reply needs.
    checksum: Option<Box<checksum::ChecksumRequest>>,
}

/// Who or what asked for a transfer to be aborted: that decides its replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AbortBy {
    /// `ABOR`: 426 for the transfer, then 226 for the `ABOR`.
    Client,
    /// The session is closing (a flood of commands, end of input): nobody reads replies.
    Closing,
    /// No data connection within the data-connection timeout: 425.
    DataTimeout,
    /// No data moved within the stall timeout: 426.
    Stalled,
}

/// A listing asked for, while what its path names is found out.
#[derive(Debug)]
struct ListRequest {
    path: VirtualPath,
    format: ListFormat,
    show_hidden: bool,
    /// The last component's wildcards (`LIST` and `NLST`), used when no such name exists;
    /// boxed, as it is rare and every session holds room for a pending action.
    pattern: Option<Box<NamePattern>>,
}

/// Where the next transfer starts (and ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Restart {
    /// `REST n`: the next `RETR` or `STOR` starts at `n`.
    At(u64),
    /// `RANG start end`: the next `RETR` or `HASH` is of these bytes, both ends included.
    Range(u64, u64),
}

#[derive(Debug)]
enum Queued {
    Command(Command<'static>),
    Reply(Reply),
}

/// What each command or reply held during a transfer counts beyond its wire length (see
/// [`ServerConfig::max_queued_bytes`]): its share of the queue's own memory.
pub const QUEUED_ITEM_OVERHEAD: usize = 64;

impl Queued {
    /// What this item counts against [`ServerConfig::max_queued_bytes`].
    fn cost(&self) -> usize {
        let wire = match self {
            Self::Command(cmd) => cmd.to_bytes().len(),
            Self::Reply(r) => r.to_bytes().len(),
        };
        wire + QUEUED_ITEM_OVERHEAD
    }
}

/// The server's protocol state machine. See the [module docs](self) for the driver contract.
#[derive(Debug)]
pub struct ServerSession {
    /// Shared by all the sessions of a server: the driver builds it once.
    config: Arc<ServerConfig>,
    info: ConnectionInfo,
    phase: Phase,
    login_failures: u32,
    host: Option<Arg<'static>>,
    cwd: VirtualPath,
    representation: Representation,
    data: DataChannel,
    epsv_all: bool,
    /// From `REST` or `RANG`, for the next transfer or `HASH` (one field: the two exclude each
    /// other, and every session holds it).
    restart: Option<Restart>,
    /// The algorithm of `HASH`, chosen with `OPTS HASH`.
    hash_algorithm: HashAlgorithm,
    rnfr: Option<VirtualPath>,
    utf8: bool,
    mlst_facts: FactSet,
    control_tls: bool,
    pbsz: bool,
    protected: bool,
    pending: Option<(ActionId, Pending)>,
    queued: VecDeque<Queued>,
    /// What `queued` counts against the limit.
    queued_bytes: usize,
    quit_after_transfer: bool,
    shutting_down: bool,
    closed: bool,
    replies: VecDeque<Reply>,
    actions: VecDeque<Action>,
    next_id: u64,
    /// The time last given: what every event is stamped with.
    now: Instant,
    /// When the session began (the login deadline counts from it).
    started_at: Instant,
    /// When the last complete command arrived or the last transfer ended (the idle timeout
    /// counts from it).
    last_command: Instant,
    /// Since when replies wait unsent, the client not reading them.
    output_blocked: Option<Instant>,
    /// The replies were not read in time: the driver drops the connection.
    abandoned: bool,
}

impl ServerSession {
    /// A session for a new control connection; the greeting is queued at once.
    /// `now` starts the login deadline.
    ///
    /// `config` is a [`ServerConfig`], or one shared as `Arc<ServerConfig>` by every session of
    /// a server (one copy of the settings, not one per connection).
    pub fn new(config: impl Into<Arc<ServerConfig>>, info: ConnectionInfo, now: Instant) -> Self {
        let config = config.into();
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
            restart: None,
            hash_algorithm: HashAlgorithm::Sha256,
            rnfr: None,
            utf8: true,
            mlst_facts,
            control_tls: false,
            pbsz: false,
            protected: false,
            pending: None,
            queued: VecDeque::new(),
            queued_bytes: 0,
            quit_after_transfer: false,
            shutting_down: false,
            closed: false,
            replies: VecDeque::new(),
            actions: VecDeque::new(),
            next_id: 0,
            now,
            started_at: now,
            last_command: now,
            output_blocked: None,
            abandoned: false,
        };
        session.replies.push_back(greeting);
        session
    }

    /// A session for a connection from an address banned by the [`LoginThrottle`] (too many
    /// failed logins): `421` instead of the greeting, then [`Action::Close`].
    pub fn banned(
        config: impl Into<Arc<ServerConfig>>,
        info: ConnectionInfo,
        now: Instant,
    ) -> Self {
        Self::refusing(
            config,
            info,
            now,
            "Too many failed logins from your address; try again later.",
        )
    }

    /// A session for a connection the server will not serve (over its connection limits):
    /// instead of the greeting, `421` (RFC 959 §4.2: service not available, closing), then
    /// [`Action::Close`].
    pub fn over_limit(
        config: impl Into<Arc<ServerConfig>>,
        info: ConnectionInfo,
        now: Instant,
    ) -> Self {
        Self::refusing(config, info, now, "Too many connections, try again later.")
    }

    /// `421 text` instead of the greeting, then close.
    fn refusing(
        config: impl Into<Arc<ServerConfig>>,
        info: ConnectionInfo,
        now: Instant,
        text: &'static str,
    ) -> Self {
        let mut session = Self::new(config, info, now);
        session.replies.clear();
        session.close_with(reply(ReplyCode::SERVICE_NOT_AVAILABLE, text));
        session
    }

    /// Whether the driver should read and feed more commands. False while an action other than a
    /// transfer is in flight and after the session closed. Always true during a transfer, so
    /// that `ABOR` can be read (see [`ServerConfig::max_queued_bytes`] for what bounds the
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
    pub fn user(&self) -> Option<&Arg<'static>> {
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
        matches!(self.pending, Some((_, Pending::Transfer(_))))
    }

    /// Feeds one parsed command. Its time (for the idle timeout) is the time last given to
    /// [`handle_timeout`](Self::handle_timeout).
    pub fn handle_command(&mut self, cmd: Command<'_>) {
        if self.closed {
            return;
        }
        // The session keeps what it queues and the paths it hands out in actions; a command
        // from `Command::parse_owned` moves here without a copy.
        let cmd = cmd.into_owned();
        self.last_command = self.now;
        if let Some((id, Pending::Transfer(run))) = &mut self.pending {
            match cmd {
                Command::Abor if run.abort.is_none() => {
                    run.abort = Some(AbortBy::Client);
                    let id = *id;
                    self.actions.push_back(Action::Abort { id });
                }
                // QUIT is answered after the transfer and after every command held before it
                // (RFC 959: the reply comes once the transfer is done); nothing after it is.
                Command::Quit if !self.quit_after_transfer => {
                    self.quit_after_transfer = true;
                    self.queued.push_back(Queued::Command(Command::Quit));
                }
                Command::Quit => {}
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
        self.last_command = self.now;
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
        self.last_command = self.now;
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
        if let Some((_, Pending::Transfer(run))) = &self.pending
            && run.started
        {
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
        if let Pending::Transfer(run) = pending {
            return self.transfer_outcome(id, outcome, run);
        }
        self.finish_action(pending, outcome);
        self.run_queued();
        Ok(())
    }

    /// Takes the next reply to send.
    pub fn poll_reply(&mut self) -> Option<Reply> {
        pop_and_release(&mut self.replies)
    }

    /// Takes the next action to perform.
    pub fn poll_action(&mut self) -> Option<Action> {
        pop_and_release(&mut self.actions)
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
    /// done, within [`ServerConfig::max_queued_bytes`]. Past that the client is flooding the
    /// control connection: `421`, the transfer aborted, and close, so memory stays bounded
    /// however long the transfer runs. After `QUIT` nothing is held: the session closes when
    /// the transfer ends, and nothing after `QUIT` would be answered.
    fn hold(&mut self, q: Queued) {
        if self.quit_after_transfer {
            return;
        }
        let cost = q.cost();
        if self.queued_bytes + cost <= self.config.max_queued_bytes {
            self.queued_bytes += cost;
            self.queued.push_back(q);
            return;
        }
        if let Some((id, Pending::Transfer(run))) = &mut self.pending {
            if run.abort.is_none() {
                run.abort = Some(AbortBy::Closing);
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
        self.clear_queue();
        self.actions.push_back(Action::Close);
    }

    fn clear_queue(&mut self) {
        self.queued.clear();
        self.queued_bytes = 0;
    }

    fn run_queued(&mut self) {
        while self.pending.is_none() && !self.closed {
            let Some(q) = pop_and_release(&mut self.queued) else {
                break;
            };
            self.queued_bytes = self.queued_bytes.saturating_sub(q.cost());
            match q {
                Queued::Command(cmd) => self.dispatch(cmd),
                Queued::Reply(r) => self.answer(r),
            }
        }
    }

    fn permissions(&self) -> Option<Permissions> {
        self.access().map(|a| a.permissions)
    }

    /// What the logged-in user may do, and where.
    fn access(&self) -> Option<&UserAccess> {
        match &self.phase {
            Phase::LoggedIn { access, .. } => Some(access),
            _ => None,
        }
    }

    fn dispatch(&mut self, cmd: Command<'static>) {
        // RFC 959 §4.1.1: RNFR must be followed at once by RNTO; REST by the transfer it
        // applies to. Any other command clears them. Data-channel setup and TYPE are let through
        // REST because clients send them in between (FileZilla and lftp send PASV after REST).
        if !matches!(cmd, Command::Rnto(_)) {
            self.rnfr = None;
        }
        // Data-channel setup and TYPE keep either.
        let setup = matches!(
            cmd,
            Command::Rest(_)
                | Command::Rang { .. }
                | Command::Pasv
                | Command::Epsv(_)
                | Command::Port(_)
                | Command::Eprt(_)
                | Command::Type(_)
        );
        let kept = setup
            || match self.restart {
                Some(Restart::At(_)) => {
                    matches!(cmd, Command::Retr(_) | Command::Stor(_) | Command::Appe(_))
                }
                // RANG (draft-bryan-ftp-range) applies to the next RETR, or HASH here; STOR
                // and APPE see it only to refuse it.
                Some(Restart::Range(..)) => matches!(
                    cmd,
                    Command::Retr(_) | Command::Hash(_) | Command::Stor(_) | Command::Appe(_)
                ),
                None => true,
            };
        if !kept {
            self.restart = None;
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
            Command::Ccc => self.ccc(),
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
}

/// Takes the front of `queue`, and gives its buffer back once the queue is empty. An idle
/// session then holds no queue memory: the action queue kept 644 bytes after the login
/// (four slots of `Action`) and the reply queue 252, together a fifth of an idle session
/// (massif, 500 sessions). Refilling costs one small allocation per command.
fn pop_and_release<T>(queue: &mut VecDeque<T>) -> Option<T> {
    let item = queue.pop_front();
    if queue.is_empty() && queue.capacity() > 0 {
        *queue = VecDeque::new();
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle session holds no queue buffers: each queue gives its memory back once drained.
    #[test]
    fn drained_queues_hold_no_memory() {
        let info = ConnectionInfo {
            local: "127.0.0.1:21".parse().unwrap(),
            peer: "127.0.0.1:40000".parse().unwrap(),
        };
        let mut s = ServerSession::new(ServerConfig::default(), info, Instant::now());
        assert_eq!(s.poll_reply().map(|r| r.code().as_u16()), Some(220));
        assert_eq!(s.replies.capacity(), 0);
        s.handle_command(Command::parse("USER bench").unwrap());
        assert_eq!(s.poll_reply().map(|r| r.code().as_u16()), Some(331));
        assert!(s.poll_reply().is_none());
        s.handle_command(Command::parse("PASS secret").unwrap());
        assert!(matches!(s.poll_action(), Some(Action::Authenticate { .. })));
        assert!(s.poll_action().is_none());
        assert_eq!((s.replies.capacity(), s.actions.capacity()), (0, 0));
        assert_eq!(s.queued.capacity(), 0);
    }
}
