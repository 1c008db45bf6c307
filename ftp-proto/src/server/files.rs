//! File and directory commands: CWD, MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT, MLST,
//! `STAT path`, and the replies to their outcomes.

use bytes::{Bytes, BytesMut};

use super::texts::{reply, reply_owned};
use super::{
    Action, DataChannel, FailureKind, ListFormat, Outcome, Pending, Permissions, ServerSession,
    TransferKind, WriteMode,
};
use crate::arg::Arg;
use crate::command::{Command, ListArgs, Structure, TransferMode};
use crate::listing::MlsxEntry;
use crate::path::VirtualPath;
use crate::reply::{Reply, ReplyCode};
use std::net::SocketAddr;

impl ServerSession {
    pub(super) fn logged_in_cmd(&mut self, cmd: Command) {
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

    pub(super) fn with_permission(&mut self, granted: bool, then: impl FnOnce(&mut Self)) {
        if granted {
            then(self);
        } else {
            self.answer(reply(ReplyCode::FILE_NOT_FOUND, "Permission denied."));
        }
    }

    pub(super) fn resolve_opt(&self, arg: Option<&Arg>) -> VirtualPath {
        arg.map_or_else(|| self.cwd.clone(), |a| self.cwd.resolve(a.as_bytes()))
    }

    /// Resolves a path that names something to delete, rename, or write: the root itself is
    /// never deleted, renamed or overwritten. For the root (`DELE /`, `RMD ..` in `/`, `STOR /`)
    /// it answers `code` (550 for DELE, RMD and RNFR; 553, "file name not allowed", for the
    /// commands that name a file to create, as RFC 959 §5.4 lists) and returns `None`, so no
    /// action reaches the back-end, which would otherwise see its own root.
    pub(super) fn resolve_non_root(&mut self, arg: &Arg, code: ReplyCode) -> Option<VirtualPath> {
        let path = self.cwd.resolve(arg.as_bytes());
        self.non_root(path, code)
    }

    /// `path`, or `None` after answering `code` if it is the root (see
    /// [`resolve_non_root`](Self::resolve_non_root)).
    pub(super) fn non_root(&mut self, path: VirtualPath, code: ReplyCode) -> Option<VirtualPath> {
        if path.is_root() {
            self.answer(reply(code, "The root directory cannot be changed."));
            return None;
        }
        Some(path)
    }

    pub(super) fn cwd_to(&mut self, path: VirtualPath, perms: Permissions) {
        self.with_permission(perms.list, |s| {
            s.start(Pending::Cwd(path.clone()), |id| Action::ChangeDirectory {
                id,
                path,
            })
        });
    }

    pub(super) fn fail(&mut self, kind: FailureKind) {
        self.answer(reply(kind.reply_code(), kind.text()));
    }

    pub(super) fn finish_action(&mut self, pending: Pending, outcome: Outcome) {
        if let Pending::Login = pending {
            return self.login_outcome(outcome);
        }
        if let Outcome::Failed(kind) = outcome {
            return match pending {
                Pending::Passive { .. } => self.answer(reply(
                    ReplyCode::CANT_OPEN_DATA,
                    "Can't open passive connection.",
                )),
                _ => self.fail(kind),
            };
        }
        match (pending, outcome) {
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

    pub(super) fn mlst_reply(&mut self, path: &VirtualPath, entry: &MlsxEntry) {
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
}
