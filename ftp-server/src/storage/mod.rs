//! Storage back-ends: where the server's files live.
//!
//! [`Storage`] is the one trait a back-end implements. It touches no server internals: paths
//! arrive as [`VirtualPath`]s (absolute, normalised, never above the root), the user as the
//! [`Principal`] the authenticator returned, and results leave as [`Metadata`], streaming
//! readers and writers, and [`StorageError`]s whose [`FailureKind`] decides the reply.
//! Operations a back-end cannot do keep their default body, which declines with
//! [`FailureKind::Unsupported`]; [`Storage::capabilities`] tells the server what to offer in
//! `FEAT`.
//!
//! Two back-ends come with the crate: [`fs::FsStorage`], jailed to a directory, and
//! [`memory::MemoryStorage`], for tests and embedding; with the feature `opendal` (`s3` for
//! Amazon S3 and S3-compatible stores), `object::ObjectStorage` serves an object store.

use std::error::Error as StdError;
use std::time::SystemTime;

use async_trait::async_trait;
use ftp_proto::VirtualPath;
use ftp_proto::listing::{DirEntry, Metadata};
use ftp_proto::server::{FailureKind, WriteMode};
use futures_io::{AsyncRead, AsyncWrite};

use crate::auth::Principal;

#[cfg(test)]
mod conformance;
pub mod fs;
pub mod memory;
#[cfg(feature = "opendal")]
pub mod object;

/// What a back-end supports beyond reading and listing, so that `FEAT` and the replies offer
/// exactly what works.
///
/// `Default` claims nothing beyond what every back-end has, matching the trait's default
/// methods that decline: a back-end that implements [`Storage::set_modified`] says so in its
/// [`Storage::capabilities`].
///
/// ```
/// use ftp_server::storage::Capabilities;
///
/// assert!(!Capabilities::default().set_modified);
/// assert!(Capabilities::default().with_set_modified(true).set_modified);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// [`Storage::set_modified`] works (`MFMT`). Off by default.
    pub set_modified: bool,
}

impl Capabilities {
    /// Sets [`set_modified`](Self::set_modified).
    #[must_use]
    pub fn with_set_modified(mut self, value: bool) -> Self {
        self.set_modified = value;
        self
    }
}

/// A storage error: the kind decides the reply, the source is for logs.
#[derive(Debug, thiserror::Error)]
#[error("storage: {kind}")]
pub struct StorageError {
    kind: FailureKind,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl StorageError {
    /// An error of `kind` caused by `source`.
    pub fn new(kind: FailureKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// The kind.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }
}

impl From<FailureKind> for StorageError {
    fn from(kind: FailureKind) -> Self {
        Self { kind, source: None }
    }
}

impl From<std::io::Error> for StorageError {
    /// Maps an I/O error by its kind; the error itself stays as the source.
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => FailureKind::NotFound,
            K::PermissionDenied => FailureKind::PermissionDenied,
            K::AlreadyExists => FailureKind::AlreadyExists,
            K::NotADirectory => FailureKind::NotADirectory,
            K::IsADirectory => FailureKind::NotAFile,
            K::DirectoryNotEmpty => FailureKind::NotEmpty,
            K::StorageFull => FailureKind::InsufficientStorage,
            K::QuotaExceeded | K::FileTooLarge => FailureKind::QuotaExceeded,
            K::InvalidFilename | K::InvalidInput => FailureKind::NameNotAllowed,
            K::ResourceBusy | K::WouldBlock | K::Interrupted | K::TimedOut => FailureKind::Busy,
            K::Unsupported => FailureKind::Unsupported,
            _ => FailureKind::LocalError,
        };
        Self::new(kind, e)
    }
}

/// The root itself may not be removed, renamed or replaced: `PermissionDenied` for it.
pub(crate) fn not_root(path: &VirtualPath) -> Result<(), StorageError> {
    if path.is_root() {
        Err(FailureKind::PermissionDenied.into())
    } else {
        Ok(())
    }
}

/// A reader's local file, as [`Storage::local_file`] shows it: send `head` first, then the
/// file from `offset` to its end.
#[derive(Debug)]
#[non_exhaustive]
pub struct LocalFile<'a> {
    /// Bytes the reader had already read from the file (taken out of it).
    pub head: bytes::Bytes,
    /// The open file.
    pub file: &'a std::fs::File,
    /// Where in the file the bytes after `head` start.
    pub offset: u64,
}

impl<'a> LocalFile<'a> {
    /// A view of `file` whose bytes from `offset` on follow `head`.
    pub fn new(head: bytes::Bytes, file: &'a std::fs::File, offset: u64) -> Self {
        Self { head, file, offset }
    }
}

/// A directory listing delivered in pages, so a huge directory never sits in memory whole.
#[async_trait]
pub trait DirLister: Send + 'static {
    /// The next entries; an empty page means the end.
    async fn next_page(&mut self) -> Result<Vec<DirEntry>, StorageError>;
}

/// A storage back-end. See the [module docs](self).
///
/// Every method takes the user (for back-ends that decide per user) and a path inside the
/// back-end's namespace; the server has already normalised it and joined it to the user's home.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// A streaming reader of file contents.
    type Reader: AsyncRead + Send + Unpin + 'static;
    /// A streaming writer of file contents. The server ends every upload with
    /// [`finish_write`](Self::finish_write), whose default closes it (`poll_close`); data must
    /// be durable (as far as the back-end promises) once that returns `Ok`.
    type Writer: AsyncWrite + Send + Unpin + 'static;
    /// A paged directory listing.
    type Lister: DirLister;

    /// What this back-end supports beyond the required methods. The default,
    /// [`Capabilities::default`], claims nothing: override it when overriding
    /// [`set_modified`](Self::set_modified).
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Metadata of `path` (a symbolic link itself, not its target).
    async fn metadata(
        &self,
        user: &Principal,
        path: &VirtualPath,
    ) -> Result<Metadata, StorageError>;

    /// Lists the directory `path`.
    async fn list(
        &self,
        user: &Principal,
        path: &VirtualPath,
    ) -> Result<Self::Lister, StorageError>;

    /// Opens the file `path` for reading from `offset`.
    async fn open_read(
        &self,
        user: &Principal,
        path: &VirtualPath,
        offset: u64,
    ) -> Result<Self::Reader, StorageError>;

    /// The local file behind `reader`, for zero-copy downloads: the server sends binary
    /// downloads over plain (not TLS) data connections straight from it with `sendfile(2)`
    /// where the runtime can, instead of reading through `reader`. `None`, the default, for a
    /// reader that is not a local file (the server then reads it as usual). The view is taken
    /// before the first read, and `reader` is not read after it.
    fn local_file(reader: &mut Self::Reader) -> Option<LocalFile<'_>> {
        let _ = reader;
        None
    }

    /// Opens the file `path` for writing.
    async fn open_write(
        &self,
        user: &Principal,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<Self::Writer, StorageError>;

    /// Ends an upload: `complete` says whether the whole file arrived (the client closed the
    /// data connection cleanly) or the upload broke off (an abort, a dropped connection, an
    /// error). The default closes the writer either way, which writes in place.
    ///
    /// Back-ends that can should make [`WriteMode::Truncate`] atomic, as both built-in ones
    /// do: the new content replaces the old file only when `complete`, so that a failed
    /// upload leaves the last good version intact and no reader sees a mix; when there was no
    /// file before, a broken-off upload keeps what arrived under the file's name, where
    /// `curl -C -` and `lftp put -c` resume it. `Append` and `At` write in place.
    async fn finish_write(&self, writer: Self::Writer, complete: bool) -> Result<(), StorageError> {
        let _ = complete;
        let mut writer = writer;
        futures_util::AsyncWriteExt::close(&mut writer)
            .await
            .map_err(StorageError::from)
    }

    /// Creates the directory `path` (its parent must exist).
    async fn mkdir(&self, _user: &Principal, _path: &VirtualPath) -> Result<(), StorageError> {
        Err(FailureKind::Unsupported.into())
    }

    /// Removes the empty directory `path`.
    async fn rmdir(&self, _user: &Principal, _path: &VirtualPath) -> Result<(), StorageError> {
        Err(FailureKind::Unsupported.into())
    }

    /// Deletes the file (or symbolic link) `path`.
    async fn delete(&self, _user: &Principal, _path: &VirtualPath) -> Result<(), StorageError> {
        Err(FailureKind::Unsupported.into())
    }

    /// Renames `from` to `to`, replacing a file at `to`.
    async fn rename(
        &self,
        _user: &Principal,
        _from: &VirtualPath,
        _to: &VirtualPath,
    ) -> Result<(), StorageError> {
        Err(FailureKind::Unsupported.into())
    }

    /// Sets the modification time of `path`.
    async fn set_modified(
        &self,
        _user: &Principal,
        _path: &VirtualPath,
        _time: SystemTime,
    ) -> Result<(), StorageError> {
        Err(FailureKind::Unsupported.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per I/O error kind: the failure (and so the reply) it becomes.
    #[test]
    fn io_errors_map_by_kind() {
        use FailureKind as K;
        use std::io::ErrorKind as Io;
        let table = [
            (Io::NotFound, K::NotFound, 550),
            (Io::PermissionDenied, K::PermissionDenied, 550),
            (Io::NotADirectory, K::NotADirectory, 550),
            (Io::IsADirectory, K::NotAFile, 550),
            (Io::AlreadyExists, K::AlreadyExists, 550),
            (Io::DirectoryNotEmpty, K::NotEmpty, 550),
            (Io::InvalidFilename, K::NameNotAllowed, 553),
            (Io::StorageFull, K::InsufficientStorage, 452),
            (Io::FileTooLarge, K::QuotaExceeded, 552),
            (Io::ResourceBusy, K::Busy, 450),
            (Io::Other, K::LocalError, 451),
            (Io::Unsupported, K::Unsupported, 502),
        ];
        for (io, kind, code) in table {
            let e = StorageError::from(std::io::Error::from(io));
            assert_eq!(
                (e.kind(), e.kind().reply_code().as_u16()),
                (kind, code),
                "{io:?}"
            );
            assert!(
                StdError::source(&e).is_some(),
                "the I/O error stays as the source"
            );
        }
    }
}
