//! The client side: a pure state machine for the login dialogue, whole transfers (`TYPE`, the
//! data channel with its fallbacks, `REST`, the command, the abort rules), renames, and the
//! progress of each command; the parsers of the replies that carry values ([`parse_pathname`],
//! [`parse_size`], [`parse_modified`], [`parse_mlst`]).
//!
//! The driver queues operations ([`ClientSession::login`], [`ClientSession::transfer`],
//! [`ClientSession::rename`], [`ClientSession::command`], ...), each named by an [`OpId`]; it sends what
//! [`ClientSession::poll_command`] gives, and feeds every reply to
//! [`ClientSession::handle_reply`], which says whether the reply continues, completes or fails
//! the operation in flight. One command is in flight at a time, so replies can never be matched
//! to the wrong command.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

use crate::address::{parse_epsv_reply, parse_pasv_reply, resolve_pasv_address};
use crate::arg::{Arg, Secret};
use crate::command::{Command, TransferType};
use crate::reply::{Reply, ReplyCode};

mod connection;
mod replies;

pub use connection::ClientConnection;
pub use replies::{parse_mlst, parse_modified, parse_pathname, parse_size};

/// Names an operation queued on a [`ClientSession`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(u64);

/// Why an operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The server refused (4yz or 5yz); the reply holds its own words.
    #[error("server replied {0}")]
    Rejected(Reply),
    /// The server sent a reply that does not fit the command (say, 331 to `RETR`).
    #[error("unexpected reply {0}")]
    UnexpectedReply(Reply),
    /// The reply had the right code but its text could not be read (a `227` without an address).
    #[error("malformed reply {0}")]
    MalformedReply(Reply),
    /// The server asked for an account (`332`) and none was given.
    #[error("server needs an account: {0}")]
    NeedAccount(Reply),
}

impl ProtocolError {
    /// The server's reply behind the error.
    pub fn reply(&self) -> &Reply {
        match self {
            Self::Rejected(r)
            | Self::UnexpectedReply(r)
            | Self::MalformedReply(r)
            | Self::NeedAccount(r) => r,
        }
    }

    /// Whether the failure is transient (4yz): the same command may work later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Rejected(r) if r.code().is_transient())
    }

    /// Whether the server refused because the path is not there or not accessible (`550`),
    /// the answer to "does this exist" that `SIZE`, `MDTM` and `CWD` give.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Rejected(r) if r.code() == ReplyCode::FILE_NOT_FOUND)
    }
}

/// Where to open a data connection, as negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataTarget {
    /// `229`: connect to the control connection's peer on this port (RFC 2428 §3).
    ExtendedPassive(u16),
    /// `227`: connect to this address (see [`crate::address::resolve_pasv_address`] for servers
    /// that announce a private one).
    Passive(SocketAddrV4),
    /// `PORT`/`EPRT` accepted: accept the server's connection on the driver's listener.
    Active,
}

/// How the data connection of a transfer is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataSetup {
    /// `EPSV`, falling back to `PASV` (and remembering it) when the server does not know it.
    Passive,
    /// `EPRT` for a listener at this address, falling back to `PORT` for IPv4.
    Active(SocketAddr),
}

/// One transfer for [`ClientSession::transfer`]: the command and how to run it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferRequest {
    /// `RETR`, `STOR`, `APPE`, `STOU`, `LIST`, `NLST` or `MLSD`.
    pub command: Command<'static>,
    /// Passive or active.
    pub data: DataSetup,
    /// Resume from this offset (`REST`); 0 sends none.
    pub offset: u64,
    /// The representation type the transfer needs; `TYPE` is sent only when another is in
    /// effect (listings need none).
    pub representation: Option<TransferType>,
}

impl TransferRequest {
    /// A transfer of `command` over a data channel set up as `data`.
    pub fn new(command: Command<'_>, data: DataSetup) -> Self {
        Self {
            command: command.into_owned(),
            data,
            offset: 0,
            representation: None,
        }
    }

    /// Sets [`offset`](Self::offset).
    #[must_use]
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Sets [`representation`](Self::representation).
    #[must_use]
    pub fn with_representation(mut self, representation: TransferType) -> Self {
        self.representation = Some(representation);
        self
    }
}

/// Where a client connects for a `227` reply (`PASV`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PasvAddressPolicy {
    /// The control connection's peer, with the announced port, as curl does since 7.74
    /// (CVE-2020-8284): a server behind NAT often announces an address nobody outside can
    /// reach, and a hostile one could point the client at a third host.
    #[default]
    ControlPeer,
    /// The announced address unless it cannot be right (unspecified, or private while the
    /// server's is public: lftp's `ftp:fix-pasv-address`), for the rare server whose data
    /// connections come from another host than its control connection.
    Announced,
}

impl DataTarget {
    /// The address to connect to for a passive data connection to a server at `peer`, under
    /// `policy`; `None` for [`DataTarget::Active`], where the server connects.
    pub fn passive_addr(self, peer: IpAddr, policy: PasvAddressPolicy) -> Option<SocketAddr> {
        match (self, policy) {
            (Self::ExtendedPassive(port), _) => Some(SocketAddr::new(peer, port)),
            (Self::Passive(announced), PasvAddressPolicy::Announced) => {
                Some(resolve_pasv_address(announced, peer, false))
            }
            (Self::Passive(announced), _) => Some(SocketAddr::new(peer, announced.port())),
            (Self::Active, _) => None,
        }
    }
}

/// What a reply did to the operation in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Progress {
    /// The operation goes on: a 1yz reply (for a transfer: start moving data now), or a step of a
    /// dialogue whose next command is queued.
    Continuing {
        /// The operation.
        op: OpId,
        /// The reply.
        reply: Reply,
    },
    /// The operation succeeded; this is its final reply.
    Done {
        /// The operation.
        op: OpId,
        /// The final reply.
        reply: Reply,
    },
    /// The transfer command of [`ClientSession::transfer`] was accepted (its 1yz): move the
    /// data now; the final reply ends the operation.
    Started {
        /// The operation.
        op: OpId,
        /// The preliminary reply (for `STOU`, it names the file).
        reply: Reply,
    },
    /// The data channel is negotiated.
    DataReady {
        /// The operation.
        op: OpId,
        /// Where to connect (or that the server will connect).
        target: DataTarget,
    },
    /// The operation failed.
    Failed {
        /// The operation.
        op: OpId,
        /// Why.
        error: ProtocolError,
    },
    /// A reply arrived while no command was in flight.
    Unsolicited(Reply),
    /// The server is closing the connection: a `421` that answers no command (RFC 959 §4.2,
    /// "service not available, closing control connection"), as servers send at an idle
    /// timeout or shutdown. Nothing more will be answered.
    Closing(Reply),
}

/// How a command's replies are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 2yz completes; 1yz continues (the usual case).
    Completion,
    /// 3yz completes (`REST`, `RNFR`).
    Intermediate,
}

#[derive(Debug)]
enum Op {
    Greeting,
    Login {
        user: Arg<'static>,
        password: Secret<Arg<'static>>,
        account: Option<Secret<Arg<'static>>>,
        step: LoginStep,
    },
    Command {
        cmd: Command<'static>,
        expect: Expect,
    },
    Passive {
        tried_epsv: bool,
    },
    Active {
        addr: SocketAddr,
        tried_eprt: bool,
    },
    /// A whole transfer: see [`ClientSession::transfer`].
    Transfer(Box<TransferOp>),
    /// `RNFR`, then `RNTO` once the server answers `350`.
    Rename {
        from: Arg<'static>,
        to: Arg<'static>,
        /// `RNFR` was answered; `RNTO` is the command in flight.
        renaming: bool,
    },
    /// `ABOR`; `sent_early` when it was written while another command was in flight.
    Abort {
        sent_early: bool,
    },
    /// `AUTH TLS` (RFC 4217 §4): on `234` nothing more is sent until the driver's handshake.
    AuthTls,
    /// `PBSZ 0`, then `PROT` at `level` once the server accepted it (RFC 4217 §9).
    Protect {
        level: crate::command::ProtectionLevel,
        /// `PBSZ` was answered; `PROT` is the command in flight.
        prot: bool,
    },
}

#[derive(Debug)]
struct TransferOp {
    request: TransferRequest,
    step: TransferStep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransferStep {
    /// Not begun: `TYPE` or the data-channel command goes first.
    Begin,
    Type,
    Data {
        retried: bool,
    },
    /// The data channel is negotiated; the driver opens (or listens for) the connection.
    AwaitData,
    Rest,
    Command,
    /// The transfer command's 1yz came: data moves.
    Started,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoginStep {
    User,
    Pass,
    Acct,
}

/// The client's protocol state machine. See the [module docs](self).
#[derive(Debug)]
pub struct ClientSession {
    queue: VecDeque<(OpId, Op)>,
    current: Option<(OpId, Op)>,
    /// The command of `current` is written and its reply awaited.
    sent: bool,
    outbox: VecDeque<Command<'static>>,
    epsv_refused: bool,
    eprt_refused: bool,
    /// The representation type the server last accepted (`TYPE`).
    type_in_effect: Option<TransferType>,
    /// `AUTH TLS` was accepted and the TLS handshake is not done: nothing may be sent.
    awaiting_handshake: bool,
    /// The server accepted `PROT P`: data connections use TLS.
    data_protected: bool,
    next_id: u64,
}

impl Default for ClientSession {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientSession {
    /// A session for a new connection; it first awaits the greeting ([`Self::GREETING`]).
    pub fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            current: Some((Self::GREETING, Op::Greeting)),
            sent: true,
            outbox: VecDeque::new(),
            epsv_refused: false,
            eprt_refused: false,
            type_in_effect: None,
            awaiting_handshake: false,
            data_protected: false,
            next_id: 1,
        }
    }

    /// Queues `AUTH TLS` (RFC 4217 §4). Once the server answers `234` the operation is done
    /// and the machine sends nothing more, whatever is queued, until the driver has run the
    /// TLS handshake on the control connection and called
    /// [`handshake_done`](Self::handshake_done): a command sent in between would reach the
    /// server in plain text, or be taken for the handshake. A refusal (`502`, `504`, `534`)
    /// fails the operation and the connection stays plain and usable.
    pub fn auth_tls(&mut self) -> OpId {
        self.push(Op::AuthTls)
    }

    /// The driver's TLS handshake on the control connection is complete: sending resumes.
    pub fn handshake_done(&mut self) {
        self.awaiting_handshake = false;
    }

    /// Whether the machine holds its commands for the control connection's TLS handshake.
    pub fn is_awaiting_handshake(&self) -> bool {
        self.awaiting_handshake
    }

    /// Queues `PBSZ 0` and then `PROT P` (`protect`) or `PROT C` as one operation (RFC 4217
    /// §9: `PBSZ` must come first, and for TLS its only value is 0). Done when the server
    /// accepts the `PROT`; from then on [`is_data_protected`](Self::is_data_protected) says
    /// whether data connections use TLS.
    pub fn protect_data(&mut self, protect: bool) -> OpId {
        let level = if protect {
            crate::command::ProtectionLevel::Private
        } else {
            crate::command::ProtectionLevel::Clear
        };
        self.push(Op::Protect { level, prot: false })
    }

    /// Whether the server accepted `PROT P`: the driver runs a TLS handshake (as the TLS
    /// client, whichever end connected, RFC 4217 §7) on each data connection.
    pub fn is_data_protected(&self) -> bool {
        self.data_protected
    }

    /// The operation that awaits the server's greeting (`220`; `120` continues; 4yz/5yz fail).
    pub const GREETING: OpId = OpId(0);

    /// Queues the login dialogue: `USER`, then `PASS` on `331`, then `ACCT` on `332`.
    pub fn login(
        &mut self,
        user: Arg<'_>,
        password: Secret<Arg<'_>>,
        account: Option<Secret<Arg<'_>>>,
    ) -> OpId {
        self.push(Op::Login {
            user: user.into_owned(),
            password: password.into_owned(),
            account: account.map(Secret::into_owned),
            step: LoginStep::User,
        })
    }

    /// Queues one command. `REST`, `RANG` and `RNFR` complete on 3yz; every other command
    /// completes on 2yz and continues on 1yz (transfers: move the data after the 1yz).
    pub fn command(&mut self, cmd: Command<'_>) -> OpId {
        let expect = match cmd {
            Command::Rest(_) | Command::Rang { .. } | Command::Rnfr(_) => Expect::Intermediate,
            _ => Expect::Completion,
        };
        self.push(Op::Command {
            cmd: cmd.into_owned(),
            expect,
        })
    }

    /// Queues a rename: `RNFR from`, then on its `350` `RNTO to` (RFC 959 §4.1.3: RNTO must
    /// follow RNFR at once, so the two go as one operation, with nothing in between). Completes
    /// on the reply to `RNTO`; a refused `RNFR` fails it and no `RNTO` is sent.
    pub fn rename(&mut self, from: Arg<'_>, to: Arg<'_>) -> OpId {
        self.push(Op::Rename {
            from: from.into_owned(),
            to: to.into_owned(),
            renaming: false,
        })
    }

    /// Queues a whole transfer as one operation: `TYPE` when another type is in effect, the
    /// data channel (`EPSV`/`PASV` with the remembered fallback, or `EPRT`/`PORT`), then, once
    /// the driver says the data connection is there ([`data_connected`](Self::data_connected)),
    /// `REST` when resuming and the transfer command. Its progress: [`Progress::Continuing`]
    /// for each step, [`Progress::DataReady`] with where to connect (the machine then waits),
    /// [`Progress::Started`] for the command's 1yz, and [`Progress::Done`] or
    /// [`Progress::Failed`] with the final reply. A server that answers the command with a
    /// final reply at once (no 1yz) ends it with that reply.
    pub fn transfer(&mut self, request: TransferRequest) -> OpId {
        self.push(Op::Transfer(Box::new(TransferOp {
            request,
            step: TransferStep::Begin,
        })))
    }

    /// The driver has the data connection of the transfer `op` (passive: connected; active:
    /// listening): the transfer goes on with `REST` or its command. Does nothing for another
    /// operation or step.
    pub fn data_connected(&mut self, op: OpId) {
        match self.current.take() {
            Some((id, Op::Transfer(mut transfer)))
                if id == op && transfer.step == TransferStep::AwaitData =>
            {
                self.after_data(&mut transfer);
                self.current = Some((id, Op::Transfer(transfer)));
            }
            other => self.current = other,
        }
    }

    /// The driver could not open the data connection of the transfer `op`: the operation ends
    /// here, with nothing more sent (the server has no transfer command to answer). Returns
    /// whether it was waiting for that.
    pub fn cancel_transfer(&mut self, op: OpId) -> bool {
        let waiting = matches!(
            &self.current,
            Some((id, Op::Transfer(t))) if *id == op && t.step == TransferStep::AwaitData
        );
        if waiting {
            self.current = None;
        }
        waiting
    }

    /// The representation type the server last accepted, if any.
    pub fn type_in_effect(&self) -> Option<TransferType> {
        self.type_in_effect
    }

    /// Queues passive-mode negotiation: `EPSV`, falling back to `PASV` when the server does
    /// not know `EPSV` (500, 502) and remembering that for the rest of the session, as curl
    /// does.
    pub fn passive(&mut self) -> OpId {
        self.push(Op::Passive { tried_epsv: false })
    }

    /// Queues active-mode negotiation for a listener at `addr`: `EPRT`, falling back to `PORT`
    /// for IPv4 when the server does not know `EPRT`.
    pub fn active(&mut self, addr: SocketAddr) -> OpId {
        self.push(Op::Active {
            addr,
            tried_eprt: false,
        })
    }

    /// Queues `ABOR`. When a command is in flight (a transfer), `ABOR` is sent at once, ahead of
    /// everything queued, as RFC 959 §4.1.3 means it: the command in flight then gets its own
    /// final reply (`426` when the transfer was cut short, `226` when it had already ended), and
    /// the returned operation completes on the reply to `ABOR` itself (`225` or `226`). With
    /// nothing in flight it is queued like any other command.
    pub fn abort(&mut self) -> OpId {
        let in_flight = self.sent
            && match &self.current {
                Some((_, Op::Command { .. })) => true,
                Some((_, Op::Transfer(t))) => {
                    matches!(t.step, TransferStep::Command | TransferStep::Started)
                }
                _ => false,
            };
        if !in_flight {
            return self.push(Op::Abort { sent_early: false });
        }
        let id = OpId(self.next_id);
        self.next_id += 1;
        self.outbox.push_back(Command::Abor);
        // Behind any earlier early ABOR, so replies are matched in the order they were sent.
        let at = self
            .queue
            .iter()
            .take_while(|(_, op)| matches!(op, Op::Abort { sent_early: true }))
            .count();
        self.queue.insert(at, (id, Op::Abort { sent_early: true }));
        id
    }

    /// The driver gives up the transfer `op` before its final reply: its stream was dropped, or
    /// the caller cuts it short. When its data had not ended (`data_ended` false: a download
    /// not read to its end, any upload not finished), the server must not take the closed data
    /// connection for a complete file, so `ABOR` goes out at once, ahead of everything queued
    /// (see [`abort`](Self::abort)), and its operation is returned. When the data had ended,
    /// only the transfer's final reply is owed; it is taken when it comes, before anything
    /// queued after it, and nothing is sent.
    pub fn abandon_transfer(&mut self, op: OpId, data_ended: bool) -> Option<OpId> {
        let in_flight = matches!(
            &self.current,
            Some((id, Op::Transfer(t))) if *id == op
                && matches!(t.step, TransferStep::Command | TransferStep::Started)
        );
        (in_flight && !data_ended).then(|| self.abort())
    }

    /// Whether the server refused `EPRT` earlier in this session (active mode now uses `PORT`).
    pub fn eprt_refused(&self) -> bool {
        self.eprt_refused
    }

    /// Whether the server refused `EPSV` earlier in this session.
    pub fn epsv_refused(&self) -> bool {
        self.epsv_refused
    }

    /// Whether any operation is queued or in flight.
    pub fn is_busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// Takes the next command to send.
    pub fn poll_command(&mut self) -> Option<Command<'static>> {
        if self.awaiting_handshake {
            return None;
        }
        if self.outbox.is_empty() && self.current.is_none() {
            if let Some(next) = self.queue.pop_front() {
                // An early `ABOR` is already on the wire: await its reply, do not send it again.
                self.sent = matches!(next.1, Op::Abort { sent_early: true });
                self.current = Some(next);
            }
        }
        if !self.sent {
            self.begin_transfer();
            if let Some((_, op)) = &self.current {
                let cmd = self.first_command(op);
                self.sent = true;
                self.outbox.push_back(cmd);
            }
        }
        self.outbox.pop_front()
    }

    /// Feeds one reply and says what it did.
    pub fn handle_reply(&mut self, reply: Reply) -> Progress {
        // An early `ABOR` is on the wire: its reply may come right after the transfer's, before
        // the driver asks for the next command.
        if self.current.is_none()
            && matches!(
                self.queue.front(),
                Some((_, Op::Abort { sent_early: true }))
            )
        {
            self.current = self.queue.pop_front();
            self.sent = true;
        }
        let Some((op_id, op)) = self.current.take() else {
            return Self::unsolicited(reply);
        };
        if !self.sent {
            self.current = Some((op_id, op));
            return Self::unsolicited(reply);
        }
        let code = reply.code();
        // Pure-FTPd, when a download's data connection is closed under it, ends the transfer
        // with a second 1yz ("150 0.000 seconds (measured here), ...") and then answers the
        // ABOR with one 226. With an ABOR on the wire, a second 1yz for a transfer that had
        // started is that server's end of the transfer: the transfer fails (it was cut), and
        // the next reply is the ABOR's, instead of a wait for a reply that never comes.
        let aborting = matches!(
            self.queue.front(),
            Some((_, Op::Abort { sent_early: true }))
        );
        if code.is_preliminary()
            && aborting
            && matches!(&op, Op::Transfer(t) if t.step == TransferStep::Started)
        {
            return Self::finish(op_id, reply, false);
        }
        if code.is_preliminary() {
            let mut op = op;
            let started = match &mut op {
                Op::Transfer(transfer) if transfer.step == TransferStep::Command => {
                    transfer.step = TransferStep::Started;
                    true
                }
                _ => false,
            };
            self.current = Some((op_id, op));
            if started {
                return Progress::Started { op: op_id, reply };
            }
            return Progress::Continuing { op: op_id, reply };
        }
        match op {
            Op::Greeting => Self::finish(op_id, reply, code == ReplyCode::SERVICE_READY),
            Op::Login {
                user,
                password,
                account,
                step,
            } => self.login_reply(op_id, reply, user, password, account, step),
            Op::Command { cmd, expect } => {
                let ok = match expect {
                    Expect::Completion => code.is_completion(),
                    Expect::Intermediate => code.is_intermediate(),
                };
                if let (Command::Type(t), true) = (cmd, ok) {
                    self.type_in_effect = Some(t);
                }
                Self::finish(op_id, reply, ok)
            }
            Op::Abort { .. } => Self::finish(op_id, reply, code.is_completion()),
            Op::AuthTls => {
                let ok = code == ReplyCode::AUTH_OK;
                self.awaiting_handshake = ok;
                Self::finish(op_id, reply, ok)
            }
            Op::Protect { level, prot: false } if code.is_completion() => {
                let op = Op::Protect { level, prot: true };
                self.send_next(op_id, Command::Prot(level), op, reply)
            }
            Op::Protect { level, prot } => {
                let ok = prot && code.is_completion();
                if ok {
                    self.data_protected = level == crate::command::ProtectionLevel::Private;
                }
                Self::finish(op_id, reply, ok)
            }
            Op::Rename {
                from,
                to,
                renaming: false,
            } if code.is_intermediate() => {
                let rnto = Command::Rnto(to.clone());
                let op = Op::Rename {
                    from,
                    to,
                    renaming: true,
                };
                self.send_next(op_id, rnto, op, reply)
            }
            Op::Rename { renaming, .. } => {
                Self::finish(op_id, reply, renaming && code.is_completion())
            }
            Op::Passive { tried_epsv } => {
                let negotiated = self.passive_step(&reply, tried_epsv);
                let retry = Op::Passive { tried_epsv: true };
                self.negotiation_reply(op_id, reply, negotiated, retry)
            }
            Op::Active { addr, tried_eprt } => {
                let negotiated = self.active_step(&reply, addr, tried_eprt);
                let retry = Op::Active {
                    addr,
                    tried_eprt: true,
                };
                self.negotiation_reply(op_id, reply, negotiated, retry)
            }
            Op::Transfer(transfer) => self.transfer_reply(op_id, reply, transfer),
        }
    }

    /// A transfer about to start decides its first step now, when the type in effect is known.
    fn begin_transfer(&mut self) {
        if let Some((_, Op::Transfer(transfer))) = &mut self.current {
            if transfer.step == TransferStep::Begin {
                let wanted = transfer.request.representation;
                transfer.step = if wanted.is_some() && wanted != self.type_in_effect {
                    TransferStep::Type
                } else {
                    TransferStep::Data { retried: false }
                };
            }
        }
    }

    fn unsolicited(reply: Reply) -> Progress {
        if reply.code() == ReplyCode::SERVICE_NOT_AVAILABLE {
            return Progress::Closing(reply);
        }
        Progress::Unsolicited(reply)
    }

    fn push(&mut self, op: Op) -> OpId {
        let id = OpId(self.next_id);
        self.next_id += 1;
        self.queue.push_back((id, op));
        id
    }

    fn first_command(&self, op: &Op) -> Command<'static> {
        match op {
            Op::Greeting => Command::Noop,
            Op::Login { user, .. } => Command::User(user.clone()),
            Op::Command { cmd, .. } => cmd.clone(),
            Op::Abort { .. } => Command::Abor,
            Op::AuthTls => Command::Auth(Arg::from_static("TLS").unwrap_or_default()),
            Op::Protect { .. } => Command::Pbsz(0),
            Op::Rename { from, .. } => Command::Rnfr(from.clone()),
            Op::Transfer(transfer) => match (transfer.step, transfer.request.representation) {
                (TransferStep::Type, Some(t)) => Command::Type(t),
                _ => self.data_command(transfer.request.data),
            },
            Op::Passive { .. } => self.data_command(DataSetup::Passive),
            Op::Active { addr, .. } => self.data_command(DataSetup::Active(*addr)),
        }
    }

    fn finish(op: OpId, reply: Reply, ok: bool) -> Progress {
        if ok {
            return Progress::Done { op, reply };
        }
        let error = if reply.code().is_negative() {
            ProtocolError::Rejected(reply)
        } else {
            ProtocolError::UnexpectedReply(reply)
        };
        Progress::Failed { op, error }
    }

    /// Sends the next command of a multi-step operation and keeps it in flight.
    fn resend(&mut self, op_id: OpId, op: Op, reply: Reply) -> Progress {
        self.current = Some((op_id, op));
        self.sent = false;
        Progress::Continuing { op: op_id, reply }
    }

    /// Queues the next command of a multi-step operation and keeps the operation in flight.
    fn send_next(&mut self, op_id: OpId, cmd: Command<'static>, op: Op, reply: Reply) -> Progress {
        self.outbox.push_back(cmd);
        self.current = Some((op_id, op));
        Progress::Continuing { op: op_id, reply }
    }

    fn login_reply(
        &mut self,
        op_id: OpId,
        reply: Reply,
        user: Arg<'static>,
        password: Secret<Arg<'static>>,
        account: Option<Secret<Arg<'static>>>,
        step: LoginStep,
    ) -> Progress {
        let code = reply.code().as_u16();
        match (step, code) {
            // 230 after USER: no password needed; 202 after PASS or ACCT: superfluous
            // (RFC 959 §5.4 lists 202 for both), the user is logged in.
            (_, 230) | (LoginStep::Pass | LoginStep::Acct, 202) => {
                Progress::Done { op: op_id, reply }
            }
            (LoginStep::User, 331) => {
                let pass = Command::Pass(password.clone());
                let op = Op::Login {
                    user,
                    password,
                    account,
                    step: LoginStep::Pass,
                };
                self.send_next(op_id, pass, op, reply)
            }
            (LoginStep::User | LoginStep::Pass, 332) => match account {
                Some(acct) => {
                    let acct_cmd = Command::Acct(acct.clone());
                    let op = Op::Login {
                        user,
                        password,
                        account: Some(acct),
                        step: LoginStep::Acct,
                    };
                    self.send_next(op_id, acct_cmd, op, reply)
                }
                None => Progress::Failed {
                    op: op_id,
                    error: ProtocolError::NeedAccount(reply),
                },
            },
            _ => Self::finish(op_id, reply, false),
        }
    }

    /// What a negotiation operation (`passive`, `active`) does with what its reply said:
    /// `retry` is the operation again with its fallback command.
    fn negotiation_reply(
        &mut self,
        op_id: OpId,
        reply: Reply,
        negotiated: Negotiated,
        retry: Op,
    ) -> Progress {
        match negotiated {
            Negotiated::Ready(target) => Progress::DataReady { op: op_id, target },
            Negotiated::Retry => self.resend(op_id, retry, reply),
            Negotiated::Failed => Self::finish(op_id, reply, false),
            Negotiated::Malformed => Self::malformed(op_id, reply),
        }
    }

    fn malformed(op: OpId, reply: Reply) -> Progress {
        Progress::Failed {
            op,
            error: ProtocolError::MalformedReply(reply),
        }
    }

    /// What a reply to `EPSV` (or, after a refusal, `PASV`) says.
    fn passive_step(&mut self, reply: &Reply, tried_epsv: bool) -> Negotiated {
        let code = reply.code();
        let used_epsv = !tried_epsv && !self.epsv_refused;
        if used_epsv {
            if code == ReplyCode::EXTENDED_PASSIVE_MODE {
                return match parse_epsv_reply(reply.first_line()) {
                    Ok(port) => Negotiated::Ready(DataTarget::ExtendedPassive(port)),
                    Err(_) => Negotiated::Malformed,
                };
            }
            // 500/502: EPSV unknown. 501/522 appear from servers that know the verb but not
            // the form. Fall back to PASV and remember it (curl and lftp do the same).
            if matches!(code.as_u16(), 500 | 501 | 502 | 522) {
                self.epsv_refused = true;
                return Negotiated::Retry;
            }
            return Negotiated::Failed;
        }
        if code == ReplyCode::PASSIVE_MODE {
            return match parse_pasv_reply(reply.first_line()) {
                Ok(addr) => Negotiated::Ready(DataTarget::Passive(addr)),
                Err(_) => Negotiated::Malformed,
            };
        }
        Negotiated::Failed
    }

    /// What a reply to `EPRT` (or, after a refusal, `PORT`) says.
    fn active_step(&mut self, reply: &Reply, addr: SocketAddr, tried_eprt: bool) -> Negotiated {
        let code = reply.code();
        let unknown = matches!(code.as_u16(), 500 | 502);
        if !tried_eprt || !unknown || addr.is_ipv6() {
            if code.is_completion() {
                return Negotiated::Ready(DataTarget::Active);
            }
            if unknown && !tried_eprt && !self.eprt_refused && addr.is_ipv4() {
                self.eprt_refused = true;
                return Negotiated::Retry;
            }
        }
        Negotiated::Failed
    }

    /// The command that negotiates `setup`'s data channel (after any fallback).
    fn data_command(&self, setup: DataSetup) -> Command<'static> {
        match setup {
            DataSetup::Passive if self.epsv_refused => Command::Pasv,
            DataSetup::Passive => Command::Epsv(None),
            DataSetup::Active(SocketAddr::V4(v4)) if self.eprt_refused => Command::Port(v4),
            DataSetup::Active(addr) => Command::Eprt(addr),
        }
    }

    /// The step after the data channel: `REST` when resuming, else the transfer command.
    fn after_data(&mut self, transfer: &mut TransferOp) {
        if transfer.request.offset > 0 {
            transfer.step = TransferStep::Rest;
            self.outbox
                .push_back(Command::Rest(transfer.request.offset));
        } else {
            transfer.step = TransferStep::Command;
            self.outbox.push_back(transfer.request.command.clone());
        }
    }

    fn transfer_reply(
        &mut self,
        op_id: OpId,
        reply: Reply,
        mut transfer: Box<TransferOp>,
    ) -> Progress {
        let code = reply.code();
        match transfer.step {
            TransferStep::Type => {
                if !code.is_completion() {
                    return Self::finish(op_id, reply, false);
                }
                self.type_in_effect = transfer.request.representation;
                transfer.step = TransferStep::Data { retried: false };
                let cmd = self.data_command(transfer.request.data);
                self.send_next(op_id, cmd, Op::Transfer(transfer), reply)
            }
            TransferStep::Data { retried } => {
                let negotiated = match transfer.request.data {
                    DataSetup::Passive => self.passive_step(&reply, retried),
                    DataSetup::Active(addr) => self.active_step(&reply, addr, retried),
                };
                match negotiated {
                    Negotiated::Ready(target) => {
                        transfer.step = TransferStep::AwaitData;
                        self.current = Some((op_id, Op::Transfer(transfer)));
                        Progress::DataReady { op: op_id, target }
                    }
                    Negotiated::Retry => {
                        transfer.step = TransferStep::Data { retried: true };
                        let cmd = self.data_command(transfer.request.data);
                        self.send_next(op_id, cmd, Op::Transfer(transfer), reply)
                    }
                    Negotiated::Failed => Self::finish(op_id, reply, false),
                    Negotiated::Malformed => Self::malformed(op_id, reply),
                }
            }
            // Nothing was sent: a reply now answers nothing of ours.
            TransferStep::Begin | TransferStep::AwaitData => {
                self.current = Some((op_id, Op::Transfer(transfer)));
                Progress::Unsolicited(reply)
            }
            TransferStep::Rest if code.is_intermediate() => {
                transfer.step = TransferStep::Command;
                let cmd = transfer.request.command.clone();
                self.send_next(op_id, cmd, Op::Transfer(transfer), reply)
            }
            TransferStep::Rest => Self::finish(op_id, reply, false),
            // The 1yz was taken above; a final reply ends the transfer.
            TransferStep::Command | TransferStep::Started => {
                Self::finish(op_id, reply, code.is_completion())
            }
        }
    }
}

/// What a reply to a data-channel command says.
enum Negotiated {
    Ready(DataTarget),
    /// Refused as unknown: the fallback command goes next (`PASV`, `PORT`).
    Retry,
    Failed,
    Malformed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_passive_data_connections_go() {
        let peer: IpAddr = "203.0.113.5".parse().unwrap();
        let private = DataTarget::Passive("10.0.0.7:50000".parse().unwrap());
        let other = DataTarget::Passive("198.51.100.9:50001".parse().unwrap());
        let by_default = PasvAddressPolicy::default();
        assert_eq!(
            private.passive_addr(peer, by_default),
            Some("203.0.113.5:50000".parse().unwrap())
        );
        assert_eq!(
            other.passive_addr(peer, by_default),
            Some("203.0.113.5:50001".parse().unwrap())
        );
        let trusting = PasvAddressPolicy::Announced;
        assert_eq!(
            private.passive_addr(peer, trusting),
            Some("203.0.113.5:50000".parse().unwrap()),
            "private behind a public peer: the peer"
        );
        assert_eq!(
            other.passive_addr(peer, trusting),
            Some("198.51.100.9:50001".parse().unwrap())
        );
        assert_eq!(
            DataTarget::ExtendedPassive(2121).passive_addr(peer, trusting),
            Some("203.0.113.5:2121".parse().unwrap())
        );
        assert_eq!(DataTarget::Active.passive_addr(peer, by_default), None);
    }
}
