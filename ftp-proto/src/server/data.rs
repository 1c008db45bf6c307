//! The data channel: TYPE, PORT/EPRT, PASV/EPSV, and transfers with their 1yz/2yz replies.

use std::net::SocketAddr;

use super::texts::{reply, reply_owned};
use super::{
    AbortBy, Action, ActionId, AddressFamily, DataChannel, DataEndpoint, FailureKind, ListRequest,
    ListSource, Outcome, Pending, Refusal, Representation, Running, ServerSession, Transfer,
    TransferKind, UnexpectedOutcome,
};
use crate::access::{PathUse, Permissions};
use crate::address::{self, is_same_ip};
use crate::command::{EpsvArg, FormatControl, ListArgs, TransferType};
use crate::glob::NamePattern;
use crate::listing::{DirEntry, FileKind, ListFormat, Metadata};
use crate::path::VirtualPath;
use crate::reply::ReplyCode;

impl ServerSession {
    pub(super) fn set_type(&mut self, t: TransferType) {
        match t {
            TransferType::Ascii(FormatControl::NonPrint) => {
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

    pub(super) fn local_family(&self) -> AddressFamily {
        AddressFamily::of(self.info.local.ip())
    }

    pub(super) fn active(&mut self, addr: SocketAddr) {
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
            let refusal = if third_party {
                Refusal::Bounce { to: addr }
            } else {
                Refusal::PrivilegedPort { to: addr }
            };
            self.actions.push_back(Action::Refused(refusal));
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

    pub(super) fn pasv(&mut self) {
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
        let (admits, protected) = (self.passive_admits(), self.protected);
        self.start(Pending::Passive { extended: false }, |id| {
            Action::OpenPassive {
                id,
                family: AddressFamily::V4,
                admits,
                protected,
            }
        });
    }

    pub(super) fn epsv(&mut self, arg: Option<EpsvArg>) {
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
            _ => {
                let (admits, protected) = (self.passive_admits(), self.protected);
                self.start(Pending::Passive { extended: true }, |id| {
                    Action::OpenPassive {
                        id,
                        family,
                        admits,
                        protected,
                    }
                });
            }
        }
    }

    /// Who may connect to a passive listener (RFC 2577 §5).
    fn passive_admits(&self) -> DataEndpoint {
        DataEndpoint::Passive {
            peer: (!self.config.dangerous_allow_any_data_peer).then_some(self.info.peer.ip()),
        }
    }

    pub(super) fn data_endpoint(&mut self) -> Option<DataEndpoint> {
        let endpoint = match std::mem::replace(&mut self.data, DataChannel::None) {
            DataChannel::None => return None,
            DataChannel::Passive => self.passive_admits(),
            DataChannel::Active(addr) => DataEndpoint::Active(addr),
        };
        Some(endpoint)
    }

    /// Starts a transfer on the data channel set up before (425 without one).
    pub(super) fn transfer(&mut self, path: VirtualPath, kind: TransferKind) {
        // Before the data channel is taken: it stays set up for the transfer after PROT P.
        if self.refuse_unprotected_data() {
            return;
        }
        let channel = self.data;
        let Some(data) = self.data_endpoint() else {
            return self.no_data_channel();
        };
        let listing = matches!(kind, TransferKind::List { .. });
        let unique = matches!(kind, TransferKind::StoreUnique);
        let representation = if listing {
            Representation::Ascii
        } else {
            self.representation
        };
        let protected = self.protected;
        self.start(
            Pending::Transfer(Box::new(Running {
                channel,
                listing,
                unique,
                started: false,
                abort: None,
                data_wait: None,
                last_progress: None,
                checksum: None,
            })),
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

    fn no_data_channel(&mut self) {
        self.answer(reply(
            ReplyCode::CANT_OPEN_DATA,
            "Use PORT, EPRT, PASV or EPSV first.",
        ));
    }

    /// `LIST`, `NLST`, `MLSD`: what the path is decides what is sent, so its metadata comes
    /// first (once the data channel is known to be set up).
    pub(super) fn list(&mut self, perms: Permissions, args: &ListArgs<'_>, format: ListFormat) {
        let path = self.resolve_opt(args.path.as_ref());
        let show_hidden = matches!(format, ListFormat::Machine(_)) || args.shows_hidden();
        if !self.allowed(perms.list, &path, PathUse::Read) {
            return;
        }
        if self.data == DataChannel::None {
            return self.no_data_channel();
        }
        // Wildcards are LIST's and NLST's (RFC 3659 §7.1 gives MLSD none), as in vsftpd.
        let pattern = match (&format, &args.path) {
            (ListFormat::Machine(_), _) | (_, None) => None,
            (_, Some(arg)) => NamePattern::from_arg(arg.as_bytes()).map(Box::new),
        };
        let request = ListRequest {
            path: path.clone(),
            format,
            show_hidden,
            pattern,
        };
        self.start(Pending::ListMeta(request), |id| Action::Metadata {
            id,
            path,
        });
    }

    /// The listed path's metadata arrived: a directory is listed; a file is listed as its one
    /// entry by `LIST` and `NLST` and refused by `MLSD` (RFC 3659 §7.1: MLSD names a
    /// directory); a symbolic link is listed as a directory if it leads to one.
    pub(super) fn list_metadata(&mut self, request: ListRequest, outcome: Outcome) {
        let meta = match outcome {
            Outcome::Metadata(meta) => meta,
            // No such name: its wildcards are expanded in its directory. A name that exists
            // literally (`a*b`) is listed as itself.
            Outcome::Failed(FailureKind::NotFound) if request.pattern.is_some() => {
                return self.list_matching(request);
            }
            Outcome::Failed(kind) => return self.list_refused(kind),
            _ => return self.list_refused(FailureKind::LocalError),
        };
        match meta.kind {
            FileKind::Directory => self.list_transfer(request, ListSource::Directory),
            FileKind::Symlink => {
                let path = request.path.clone();
                self.start(Pending::ListProbe(request, meta), |id| {
                    Action::ProbeDirectory { id, path }
                });
            }
            FileKind::File | FileKind::Other
                if matches!(request.format, ListFormat::Machine(_)) =>
            {
                self.list_refused(FailureKind::NotADirectory)
            }
            FileKind::File | FileKind::Other => {
                let entry = DirEntry::for_path(&request.path, *meta);
                self.list_transfer(request, ListSource::Entry(Box::new(entry)));
            }
        }
    }

    /// Whether the listed symbolic link leads to a directory: if not, the link itself is the
    /// one entry listed by `LIST` and `NLST`, and `MLSD` is refused as for a file (RFC 3659
    /// §7.1; a client that asks `MLSD` of a link to a file would otherwise take the link for a
    /// directory holding itself).
    pub(super) fn list_probed(&mut self, request: ListRequest, meta: Metadata, outcome: Outcome) {
        match outcome {
            Outcome::Done => self.list_transfer(request, ListSource::Directory),
            _ if matches!(request.format, ListFormat::Machine(_)) => {
                self.list_refused(FailureKind::NotADirectory)
            }
            _ => {
                let entry = DirEntry::for_path(&request.path, meta);
                self.list_transfer(request, ListSource::Entry(Box::new(entry)));
            }
        }
    }

    /// Lists the entries of the pattern's directory that match it.
    fn list_matching(&mut self, mut request: ListRequest) {
        let Some(pattern) = request.pattern.take() else {
            return self.list_refused(FailureKind::NotFound);
        };
        let perms = self.permissions().unwrap_or_default();
        request.path = request.path.parent();
        if !self.allowed(perms.list, &request.path, PathUse::Read) {
            return;
        }
        self.list_transfer(request, ListSource::Matching(*pattern));
    }

    fn list_transfer(&mut self, request: ListRequest, source: ListSource) {
        let ListRequest {
            path,
            format,
            show_hidden,
            ..
        } = request;
        let permissions = self.permissions().unwrap_or_default();
        let kind = TransferKind::List {
            format,
            show_hidden,
            source,
            permissions,
        };
        self.transfer(path, kind);
    }

    /// A listing that will not happen: its data channel stays set up for the next transfer, as
    /// a refused transfer's does (see `transfer_outcome`).
    fn list_refused(&mut self, kind: FailureKind) {
        self.fail(kind);
    }

    /// Drops the data channel set up for the next transfer, closing its listener if any.
    pub(super) fn forget_data_channel(&mut self) {
        if self.data != DataChannel::None {
            self.data = DataChannel::None;
            self.actions.push_back(Action::CloseDataChannel);
        }
    }

    pub(super) fn passive_open(&mut self, extended: bool, addr: SocketAddr) {
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

    pub(super) fn transfer_outcome(
        &mut self,
        id: ActionId,
        outcome: Outcome,
        mut run: Box<Running>,
    ) -> Result<(), UnexpectedOutcome> {
        match outcome {
            Outcome::TransferStarting { unique_name } if !run.started => {
                let text: Vec<u8> = match (run.unique, unique_name) {
                    // RFC 1123 §4.1.2.9: the 150 of STOU names the file.
                    (true, Some(name)) => {
                        let mut t = b"FILE: ".to_vec();
                        t.extend_from_slice(name.as_bytes());
                        t
                    }
                    _ if run.listing => b"Here comes the directory listing.".to_vec(),
                    _ => match self.representation {
                        Representation::Ascii => b"Opening ASCII mode data connection.".to_vec(),
                        Representation::Binary => b"Opening BINARY mode data connection.".to_vec(),
                    },
                };
                self.answer(reply_owned(ReplyCode::FILE_STATUS_OK, text));
                // The data connection is used only once the 150 is on its way (RFC 959 §5.4:
                // the preliminary reply comes first; clients that read the data before the
                // reply would otherwise see a transfer they did not know had started).
                self.actions.push_back(Action::StartData { id });
                run.started = true;
                run.data_wait = Some(self.now);
                self.pending = Some((id, Pending::Transfer(run)));
                return Ok(());
            }
            Outcome::DataConnected if run.started && run.last_progress.is_none() => {
                run.data_wait = None;
                run.last_progress = Some(self.now);
                self.pending = Some((id, Pending::Transfer(run)));
                return Ok(());
            }
            Outcome::TransferProgress if run.last_progress.is_some() => {
                run.last_progress = Some(self.now);
                self.pending = Some((id, Pending::Transfer(run)));
                return Ok(());
            }
            Outcome::Checksum(digest) if run.checksum.is_some() => {
                if let Some(request) = run.checksum.take() {
                    self.checksum_done(&request, &digest);
                }
            }
            Outcome::TransferComplete { .. } if run.checksum.is_none() => {
                let text = if run.listing {
                    "Directory send OK."
                } else {
                    "Transfer complete."
                };
                self.answer(reply(ReplyCode::CLOSING_DATA, text));
            }
            Outcome::Failed(kind) if run.checksum.is_some() => match run.abort {
                Some(AbortBy::Client | AbortBy::Closing) => {
                    self.answer(reply(ReplyCode::TRANSFER_ABORTED, "Checksum aborted."))
                }
                Some(_) => self.answer(reply(
                    ReplyCode::LOCAL_ERROR,
                    "Storage stalled; checksum aborted.",
                )),
                None => self.fail(kind),
            },
            Outcome::Failed(kind) => match run.abort {
                Some(AbortBy::Client | AbortBy::Closing) => self.answer(reply(
                    ReplyCode::TRANSFER_ABORTED,
                    "Connection closed; transfer aborted.",
                )),
                Some(AbortBy::DataTimeout) => self.answer(reply(
                    ReplyCode::CANT_OPEN_DATA,
                    "Can't open data connection: timed out.",
                )),
                Some(AbortBy::Stalled) => self.answer(reply(
                    ReplyCode::TRANSFER_ABORTED,
                    "Data connection stalled; transfer aborted.",
                )),
                None => {
                    // Refused before its 150 (no such file, no permission): the data channel
                    // stays set up for the next transfer, a connection already made to it
                    // included, as in vsftpd and pyftpdlib. Closing it reset the connection
                    // the client had opened, and Node's basic-ftp then dropped its session.
                    if !run.started && self.data == DataChannel::None {
                        self.data = run.channel;
                    }
                    self.fail(kind)
                }
            },
            _ => self.fail(FailureKind::LocalError),
        }
        if run.abort == Some(AbortBy::Client) {
            self.answer(reply(ReplyCode::CLOSING_DATA, "ABOR successful."));
        }
        // The idle timeout counts again from the end of the transfer.
        self.last_command = self.now;
        // After QUIT, the QUIT itself is held at the end of the queue.
        if self.shutting_down {
            self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Server shutting down.",
            ));
        }
        self.run_queued();
        Ok(())
    }
}
