//! File and directory commands: CWD, MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT, MLST,
//! `STAT path`, and the replies to their outcomes. Every path is checked here against the
//! user's [`UserAccess`](crate::UserAccess) before an action reaches the driver, and every
//! reply is chosen here from the facts the driver reports ([`Outcome::Metadata`]).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use super::texts::{reply, reply_owned};
use super::{
    Action, FailureKind, ListFormat, Outcome, Pending, Restart, ServerSession, TransferKind,
    WriteMode,
};
use crate::access::{PathUse, Permissions};
use crate::arg::Arg;
use crate::command::{Command, ListArgs, Structure, TransferMode};
use crate::listing::{DirEntry, FileKind, Metadata, mlsx_entry, write_entry};
use crate::path::VirtualPath;
use crate::reply::{Reply, ReplyCode};
use crate::time::Timestamp;

impl ServerSession {
    pub(super) fn logged_in_cmd(&mut self, cmd: Command<'static>) {
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
                let Some(path) = self.changeable(perms.mkdir, &dir, ReplyCode::FILE_NOT_FOUND)
                else {
                    return;
                };
                self.start(Pending::Mkd(path.clone()), |id| Action::MakeDirectory {
                    id,
                    path,
                });
            }
            Command::Rmd(dir) | Command::Xrmd(dir) => {
                let Some(path) = self.changeable(perms.delete, &dir, ReplyCode::FILE_NOT_FOUND)
                else {
                    return;
                };
                self.start(Pending::Rmd, |id| Action::RemoveDirectory { id, path })
            }
            Command::Dele(file) => {
                let Some(path) = self.changeable(perms.delete, &file, ReplyCode::FILE_NOT_FOUND)
                else {
                    return;
                };
                self.start(Pending::Dele, |id| Action::Delete { id, path })
            }
            Command::Rnfr(from) => {
                let Some(path) = self.changeable(perms.rename, &from, ReplyCode::FILE_NOT_FOUND)
                else {
                    return;
                };
                self.start(Pending::Rnfr(path.clone()), |id| Action::Metadata {
                    id,
                    path,
                });
            }
            Command::Rnto(to) => match self.rnfr.take() {
                None => self.answer(reply(ReplyCode::BAD_SEQUENCE, "RNFR required first.")),
                Some(from) => {
                    let Some(to) = self.changeable(perms.rename, &to, ReplyCode::NAME_NOT_ALLOWED)
                    else {
                        return;
                    };
                    self.start(Pending::Rnto, |id| Action::Rename { id, from, to })
                }
            },
            Command::Size(file) if self.config.features.size => {
                let path = self.cwd.resolve(file.as_bytes());
                self.look(perms.list, path, PathUse::Look, Pending::Size);
            }
            Command::Mdtm(file) if self.config.features.mdtm => {
                let path = self.cwd.resolve(file.as_bytes());
                self.look(perms.list, path, PathUse::Look, Pending::Mdtm);
            }
            Command::Mfmt { time, path } if self.config.features.mfmt => {
                let Some(path) = self.changeable(perms.write, &path, ReplyCode::FILE_NOT_FOUND)
                else {
                    return;
                };
                self.start(Pending::Mfmt(path.clone(), time), |id| {
                    Action::SetModified { id, path, time }
                });
            }
            Command::Mlst(target) if !self.config.features.mlst.is_empty() => {
                let path = self.resolve_opt(target.as_ref());
                self.look(perms.list, path.clone(), PathUse::Look, Pending::Mlst(path));
            }
            Command::Stat(None) => self.status(),
            Command::Stat(Some(target)) => {
                let path = self.cwd.resolve(target.as_bytes());
                if self.allowed(perms.list, &path, PathUse::Read) {
                    let max = self.config.max_status_lines;
                    self.start(Pending::StatPath(path.clone()), |id| {
                        Action::StatusListing { id, path, max }
                    });
                }
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
            // An offset no file can have (files are at most i64::MAX bytes: offsets are
            // signed in every seek call): refused here, where the client sees why, instead of
            // failing the transfer after it with an unrelated reply.
            Command::Rest(offset) if i64::try_from(offset).is_err() => {
                self.restart = None;
                self.answer(reply(
                    ReplyCode::PARAMETER_SYNTAX_ERROR,
                    "Restart offset out of range.",
                ));
            }
            Command::Rest(offset) => {
                self.restart = Some(Restart::At(offset));
                let text =
                    format!("Restarting at {offset}. Send STOR or RETR to initiate transfer.");
                self.answer(reply_owned(
                    ReplyCode::FILE_ACTION_PENDING,
                    text.into_bytes(),
                ));
            }
            Command::Abor => {
                self.forget_data_channel();
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
                // RANG's ends are both included (draft-bryan-ftp-range §3).
                let (offset, length) = match self.restart.take() {
                    Some(Restart::Range(start, end)) => (start, Some(end - start + 1)),
                    Some(Restart::At(offset)) => (offset, None),
                    None => (0, None),
                };
                let path = self.cwd.resolve(file.as_bytes());
                if self.allowed(perms.read, &path, PathUse::Read) {
                    self.transfer(path, TransferKind::Retrieve { offset, length });
                }
            }
            Command::Hash(file) if self.config.features.hash => {
                let range = match self.restart.take() {
                    Some(Restart::Range(start, end)) => Some((start, Some(end + 1))),
                    _ => None,
                };
                self.checksum(file, self.hash_algorithm, range, false);
            }
            Command::XChecksum {
                algorithm,
                path,
                range,
            } if self.config.features.hash => {
                let range = range.map(|(start, end)| (start, Some(end)));
                self.checksum(path, algorithm, range, true)
            }
            Command::Rang { start, end } if self.config.features.hash => self.rang(start, end),
            Command::Stor(_) | Command::Appe(_)
                if matches!(self.restart, Some(Restart::Range(..))) =>
            {
                // The draft lets RANG pick the bytes an upload overwrites; a plain STOR in its
                // place would truncate the file, so it is refused instead.
                self.restart = None;
                self.answer(reply(
                    ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                    "RANG is not supported for uploads; use REST.",
                ));
            }
            Command::Stor(file) => {
                let mode = match self.restart.take() {
                    Some(Restart::At(offset)) => WriteMode::At(offset),
                    _ => WriteMode::Truncate,
                };
                self.store(self.cwd.resolve(file.as_bytes()), mode);
            }
            Command::Appe(file) => {
                self.restart = None;
                self.store(self.cwd.resolve(file.as_bytes()), WriteMode::Append);
            }
            Command::Stou(base) => {
                let name = base.as_ref().map_or(&b"ftp.upload"[..], Arg::as_bytes);
                // The names tried come from the last component; the root has none.
                if let Some((path, _)) =
                    self.upload_target(self.cwd.resolve(name), WriteMode::CreateNew)
                {
                    self.transfer(path, TransferKind::StoreUnique);
                }
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

    /// Whether `granted` and the user's upload-only directory allow `use_` of `path`; when
    /// not, answers 550 (the same reply whichever refused, and whether or not `path` exists).
    pub(super) fn allowed(&mut self, granted: bool, path: &VirtualPath, use_: PathUse) -> bool {
        let allowed = granted && self.access().is_some_and(|a| a.allows(path, use_));
        if !allowed {
            self.fail(FailureKind::PermissionDenied);
        }
        allowed
    }

    /// Asks for the metadata of `path` when the user may `use_` it.
    fn look(&mut self, granted: bool, path: VirtualPath, use_: PathUse, pending: Pending) {
        if self.allowed(granted, &path, use_) {
            self.start(pending, |id| Action::Metadata { id, path });
        }
    }

    pub(super) fn resolve_opt(&self, arg: Option<&Arg<'_>>) -> VirtualPath {
        arg.map_or_else(|| self.cwd.clone(), |a| self.cwd.resolve(a.as_bytes()))
    }

    /// The path `arg` names, to create, delete, rename or set the time of, if `granted` and the
    /// user's access allow it (else 550) and it is not the root: a user's root is never
    /// created, deleted, renamed or overwritten. For the root (`DELE /`, `RMD ..` in `/`,
    /// `RNTO /`) it answers `code` (550 for DELE, RMD and RNFR; 553, "file name not allowed",
    /// for the commands that name a file to create, as RFC 959 §5.4 lists), so no action reaches
    /// the back-end, which would otherwise see its own root.
    fn changeable(&mut self, granted: bool, arg: &Arg<'_>, code: ReplyCode) -> Option<VirtualPath> {
        let path = self.cwd.resolve(arg.as_bytes());
        if !granted {
            self.fail(FailureKind::PermissionDenied);
            return None;
        }
        let path = self.non_root(path, code)?;
        self.allowed(true, &path, PathUse::Change).then_some(path)
    }

    /// `path`, or `None` after answering `code` if it is the root (see
    /// [`changeable`](Self::changeable)).
    pub(super) fn non_root(&mut self, path: VirtualPath, code: ReplyCode) -> Option<VirtualPath> {
        if path.is_root() {
            self.answer(reply(code, "The root directory cannot be changed."));
            return None;
        }
        Some(path)
    }

    /// The path a `STOR`, `APPE` or `STOU` writes to and how, if the user may upload there:
    /// the root is never overwritten (553), and in an upload-only directory files are only
    /// created, never overwritten or appended to.
    pub(super) fn upload_target(
        &mut self,
        path: VirtualPath,
        mode: WriteMode,
    ) -> Option<(VirtualPath, WriteMode)> {
        let Some(create_only) = self.access().and_then(|a| a.upload(&path)) else {
            self.fail(FailureKind::PermissionDenied);
            return None;
        };
        let path = self.non_root(path, ReplyCode::NAME_NOT_ALLOWED)?;
        let mode = if create_only {
            WriteMode::CreateNew
        } else {
            mode
        };
        Some((path, mode))
    }

    fn store(&mut self, path: VirtualPath, mode: WriteMode) {
        if let Some((path, mode)) = self.upload_target(path, mode) {
            self.transfer(path, TransferKind::Store { mode });
        }
    }

    pub(super) fn cwd_to(&mut self, path: VirtualPath, perms: Permissions) {
        self.look(perms.list, path.clone(), PathUse::Enter, Pending::Cwd(path));
    }

    pub(super) fn fail(&mut self, kind: FailureKind) {
        self.answer(reply(kind.reply_code(), kind.text()));
    }

    pub(super) fn finish_action(&mut self, pending: Pending, outcome: Outcome) {
        match pending {
            Pending::Login => return self.login_outcome(outcome),
            Pending::TlsHandshake(_) => return self.tls_outcome(outcome),
            Pending::ListMeta(request) => return self.list_metadata(request, outcome),
            Pending::ChecksumMeta(request) => return self.checksum_metadata(request, outcome),
            Pending::ListProbe(request, meta) => return self.list_probed(request, *meta, outcome),
            _ => {}
        }
        if let Outcome::Failed(kind) = outcome {
            return match pending {
                Pending::Passive { .. } => self.answer(reply(
                    ReplyCode::CANT_OPEN_DATA,
                    "Can't open passive connection.",
                )),
                // A link that leads nowhere listable is no directory.
                Pending::CwdProbe(_) => self.fail(FailureKind::NotADirectory),
                _ => self.fail(kind),
            };
        }
        match (pending, outcome) {
            (Pending::Passive { extended }, Outcome::PassiveListening(addr)) => {
                self.passive_open(extended, addr)
            }
            (Pending::Cwd(path), Outcome::Metadata(meta)) => match meta.kind {
                FileKind::Directory => self.changed_dir(path),
                // A link is a directory if it can be listed (inside the root).
                FileKind::Symlink => {
                    self.start(Pending::CwdProbe(path.clone()), |id| {
                        Action::ProbeDirectory { id, path }
                    });
                }
                FileKind::File | FileKind::Other => self.fail(FailureKind::NotADirectory),
            },
            (Pending::CwdProbe(path), Outcome::Done) => self.changed_dir(path),
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
            (Pending::Rnfr(path), Outcome::Metadata(_)) => {
                self.rnfr = Some(path);
                self.answer(reply(ReplyCode::FILE_ACTION_PENDING, "Ready for RNTO."));
            }
            (Pending::Rnto, Outcome::Done) => {
                self.answer(reply(ReplyCode::FILE_ACTION_OK, "Rename successful."))
            }
            // RFC 3659 §4: the size of a file; a directory or link has none to give.
            (Pending::Size, Outcome::Metadata(meta)) if meta.kind == FileKind::File => self.answer(
                reply_owned(ReplyCode::FILE_STATUS, meta.size.to_string().into_bytes()),
            ),
            (Pending::Size, Outcome::Metadata(_)) => self.fail(FailureKind::NotAFile),
            (Pending::Mdtm, Outcome::Metadata(meta)) => {
                let time = meta
                    .modified
                    .and_then(|t| Timestamp::from_system_time(t).ok());
                match time {
                    // Whole seconds: many clients read exactly 14 digits (RFC 3659 allows
                    // either).
                    Some(t) => self.answer(reply_owned(
                        ReplyCode::FILE_STATUS,
                        t.with_nanos(0).unwrap_or(t).to_string().into_bytes(),
                    )),
                    None => self.fail(FailureKind::LocalError),
                }
            }
            (Pending::Mfmt(path, time), Outcome::Done) => {
                let mut text = format!("Modify={time}; ").into_bytes();
                text.extend_from_slice(path.as_bytes());
                self.answer(reply_owned(ReplyCode::FILE_STATUS, text));
            }
            (Pending::Mlst(path), Outcome::Metadata(meta)) => self.mlst_reply(&path, &meta),
            (Pending::StatPath(path), Outcome::Listed { entries, now }) => {
                self.stat_reply(&path, &entries, now)
            }
            // An outcome of the wrong shape is a driver bug; answer as a local error rather
            // than leave the client waiting.
            _ => self.fail(FailureKind::LocalError),
        }
    }

    fn changed_dir(&mut self, path: VirtualPath) {
        self.cwd = path;
        self.answer(reply(
            ReplyCode::FILE_ACTION_OK,
            "Directory successfully changed.",
        ));
    }

    /// `213-Status of path:`, the entries as `ls -l` lines, `213 End of status`.
    fn stat_reply(&mut self, path: &VirtualPath, entries: &[DirEntry], now: Timestamp) {
        let mut first = b"Status of ".to_vec();
        first.extend_from_slice(path.as_bytes());
        first.push(b':');
        let perms = self.permissions().unwrap_or_default();
        let mut line = BytesMut::new();
        let lines = entries.iter().map(|entry| {
            line.clear();
            write_entry(entry, ListFormat::Long, now, perms, &mut line);
            // One reply line each: the CRLF goes, and so does any line end in a name.
            line.iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect::<Vec<u8>>()
        });
        let all = std::iter::once(first)
            .chain(lines.collect::<Vec<_>>())
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

    /// `250-Listing path`, the facts of `path` (RFC 3659 §7.2: one space, then the facts and
    /// the full path), `250 End`.
    pub(super) fn mlst_reply(&mut self, path: &VirtualPath, meta: &Metadata) {
        let mut first = b"Listing ".to_vec();
        first.extend_from_slice(path.as_bytes());
        let perms = self.permissions().unwrap_or_default();
        let entry = mlsx_entry(Bytes::copy_from_slice(path.as_bytes()), meta, perms);
        let mut line = BytesMut::from(&b" "[..]);
        entry.encode(self.mlst_facts, &mut line);
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
