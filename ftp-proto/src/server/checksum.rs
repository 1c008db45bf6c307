//! Checksums of files: `HASH` with `OPTS HASH` and `RANG` (draft-bryan-ftpext-hash-02,
//! draft-bryan-ftp-range-08), and the legacy `XCRC`, `XMD5`, `XSHA1`, `XSHA256`, `XSHA512`.
//!
//! The file's metadata comes first: a checksum is only of a plain file the user may read, of
//! at most [`ServerConfig::max_hash_size`](super::ServerConfig::max_hash_size) bytes, and the
//! range is checked against its size here. The checksum itself then runs like a transfer
//! without a data connection: commands are read meanwhile, `ABOR` cancels it (`426`, then
//! `226`), `QUIT` waits for it, the stall timeout applies between the driver's progress
//! reports, and the driver only feeds the file's bytes through a
//! [`Hasher`](crate::checksum::Hasher).

use super::texts::{reply, reply_owned};
use super::{
    Action, DataChannel, FailureKind, Outcome, Pending, Representation, Restart, Running,
    ServerSession,
};
use crate::access::PathUse;
use crate::arg::Arg;
use crate::checksum::{Digest, HashAlgorithm};
use crate::listing::{FileKind, Metadata};
use crate::path::VirtualPath;
use crate::reply::ReplyCode;

/// A checksum asked for, while the file's metadata is fetched and while it runs.
#[derive(Debug)]
pub(super) struct ChecksumRequest {
    path: VirtualPath,
    /// The name as the client gave it, for the `213` reply.
    name: Arg<'static>,
    algorithm: HashAlgorithm,
    /// The first byte and the byte after the last; `None`: the file's end.
    range: (u64, Option<u64>),
    /// A legacy X-command: answered `250 hex`.
    legacy: bool,
}

impl ServerSession {
    /// `HASH name` (with the range of a `RANG` before it) or a legacy X-command.
    pub(super) fn checksum(
        &mut self,
        name: Arg<'static>,
        algorithm: HashAlgorithm,
        range: Option<(u64, Option<u64>)>,
        legacy: bool,
    ) {
        let read = self.permissions().is_some_and(|p| p.read);
        let path = self.cwd.resolve(name.as_bytes());
        if !self.allowed(read, &path, PathUse::Read) {
            return;
        }
        if let Some((start, Some(end))) = range
            && end < start
        {
            return self.answer(reply(
                ReplyCode::PARAMETER_SYNTAX_ERROR,
                "The range ends before it starts.",
            ));
        }
        let request = Box::new(ChecksumRequest {
            path: path.clone(),
            name,
            algorithm,
            range: range.unwrap_or((0, None)),
            legacy,
        });
        self.start(Pending::ChecksumMeta(request), |id| Action::Metadata {
            id,
            path,
        });
    }

    /// The file's metadata is known: refuse, or start the checksum.
    pub(super) fn checksum_metadata(
        &mut self,
        mut request: Box<ChecksumRequest>,
        outcome: Outcome,
    ) {
        let meta: Box<Metadata> = match outcome {
            Outcome::Metadata(meta) => meta,
            Outcome::Failed(kind) => return self.fail(kind),
            _ => return self.fail(FailureKind::LocalError),
        };
        // As SIZE: a checksum is of a plain file; a link or directory has none to give.
        // HASH says so with 553 (draft-bryan-ftpext-hash §3.5), the X-commands with 550 (as
        // ProFTPD's mod_digest).
        if meta.kind != FileKind::File {
            let code = if request.legacy {
                ReplyCode::FILE_NOT_FOUND
            } else {
                ReplyCode::NAME_NOT_ALLOWED
            };
            return self.answer(reply(code, "Not a plain file."));
        }
        let (start, end) = request.range;
        let end = end.map_or(meta.size, |e| e.min(meta.size));
        if start > meta.size {
            return self.answer(reply(
                ReplyCode::PARAMETER_SYNTAX_ERROR,
                "The range starts past the end of the file.",
            ));
        }
        let length = end.saturating_sub(start);
        if self.config.max_hash_size.is_some_and(|max| length > max) {
            // The draft's policy refusal (556 for HASH; 550 for the X-commands, as ProFTPD):
            // permanent, so clients do not retry.
            let code = if request.legacy {
                ReplyCode::FILE_NOT_FOUND
            } else {
                ReplyCode::HASH_POLICY_REFUSED
            };
            return self.answer(reply(code, "File too large to checksum on this server."));
        }
        request.range = (start, Some(end));
        let path = request.path.clone();
        let algorithm = request.algorithm;
        let run = Running {
            channel: DataChannel::None,
            listing: false,
            unique: false,
            // No 150 and no data connection: it runs at once, and the stall timeout counts.
            started: true,
            abort: None,
            data_wait: None,
            last_progress: Some(self.now),
            checksum: Some(request),
        };
        self.start(Pending::Transfer(Box::new(run)), |id| Action::Checksum {
            id,
            path,
            algorithm,
            offset: start,
            length,
        });
    }

    /// The reply to a finished checksum: `213 SHA-256 0-49 hex name` for `HASH` (the range
    /// as the draft writes it, its end included; an empty file is `0-0`; lower-case hex, as
    /// the draft asks), `250 HEX` for the legacy commands (upper case, as ProFTPD's mod_digest
    /// and Serv-U answer them).
    pub(super) fn checksum_done(&mut self, request: &ChecksumRequest, digest: &Digest) {
        if digest.as_bytes().len() != request.algorithm.digest_len() {
            return self.fail(FailureKind::LocalError);
        }
        if request.legacy {
            return self.answer(reply_owned(
                ReplyCode::FILE_ACTION_OK,
                digest.to_hex().to_ascii_uppercase().into_bytes(),
            ));
        }
        let (start, end) = request.range;
        let last = end.unwrap_or(start).saturating_sub(1).max(start);
        let mut text = format!("{} {start}-{last} {} ", request.algorithm, digest).into_bytes();
        text.extend_from_slice(request.name.as_bytes());
        self.answer(reply_owned(ReplyCode::FILE_STATUS, text));
    }

    /// `OPTS HASH` (the algorithm in use) and `OPTS HASH name` (choose one).
    pub(super) fn opts_hash(&mut self, value: &[u8]) {
        if value.is_empty() {
            let name = self.hash_algorithm.name();
            return self.answer(reply_owned(ReplyCode::OK, name.as_bytes().to_vec()));
        }
        match HashAlgorithm::from_name(value) {
            Some(algorithm) => {
                self.hash_algorithm = algorithm;
                self.answer(reply_owned(
                    ReplyCode::OK,
                    algorithm.name().as_bytes().to_vec(),
                ));
            }
            None => self.answer(reply(
                ReplyCode::PARAMETER_SYNTAX_ERROR,
                "Unknown algorithm, current selection not changed.",
            )),
        }
    }

    /// `RANG start end`: the range of the next `HASH` or `RETR`; `RANG 1 0` clears it. Only
    /// in `TYPE I` (draft-bryan-ftp-range §3.2: a range of stored bytes), as in ProFTPD.
    pub(super) fn rang(&mut self, start: u64, end: u64) {
        self.restart = None;
        if self.representation != Representation::Binary {
            return self.answer(reply(
                ReplyCode::REQUEST_ABORTED_PAGE_TYPE,
                "RANG needs TYPE I.",
            ));
        }
        if start == 1 && end == 0 {
            return self.answer(reply(ReplyCode::FILE_ACTION_PENDING, "Range cleared."));
        }
        if end < start || i64::try_from(end).is_err() {
            return self.answer(reply(ReplyCode::PARAMETER_SYNTAX_ERROR, "Invalid range."));
        }
        self.restart = Some(Restart::Range(start, end));
        let text = format!("Restarting at {start}. Ending at {end}.");
        self.answer(reply_owned(
            ReplyCode::FILE_ACTION_PENDING,
            text.into_bytes(),
        ));
    }
}
