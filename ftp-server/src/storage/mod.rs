//! Storage back-ends: where the server's files live.
//!
//! [`Storage`] is the one trait a back-end implements. It touches no server internals: paths
//! arrive as [`VirtualPath`]s (absolute, normalised, never above the root), the user as the
//! [`Principal`] the authenticator returned, and results leave as [`Metadata`], streaming
//! readers and writers, and [`StorageError`]s whose [`StorageErrorKind`] decides the reply.
//! Operations a back-end cannot do keep their default body, which declines with
//! [`StorageErrorKind::Unsupported`]; [`Storage::capabilities`] tells the server what to offer in
//! `FEAT`.
//!
//! Two back-ends come with the crate: [`fs::FsStorage`], jailed to a directory, and
//! [`memory::MemoryStorage`], for tests and embedding.

use std::error::Error as StdError;
use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use ftp_proto::VirtualPath;
use ftp_proto::listing::{DirEntry, Metadata};
use ftp_proto::server::FailureKind;
use futures_io::{AsyncRead, AsyncWrite};

use crate::auth::Principal;

#[cfg(test)]
mod conformance;
pub mod fs;
pub mod memory;

/// How [`Storage::open_write`] opens a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteMode {
    /// Create, or truncate an existing file (`STOR`).
    Truncate,
    /// Create, or append to an existing file (`APPE`).
    Append,
    /// Write from this offset, keeping the bytes before it and dropping those after it
    /// (`REST n` + `STOR`, resuming an upload). Past the end of the file is an error.
    At(u64),
    /// Create a new file; fail with [`StorageErrorKind::AlreadyExists`] if it exists (`STOU`).
    CreateNew,
}

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

/// Why a storage operation failed; decides the FTP reply (see [`StorageErrorKind::failure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// No such file or directory (550).
    NotFound,
    /// Not allowed (550).
    PermissionDenied,
    /// A directory was needed (550).
    NotADirectory,
    /// A file was needed (550).
    IsADirectory,
    /// The name exists already (550).
    AlreadyExists,
    /// The directory is not empty (550).
    NotEmpty,
    /// The name is not allowed by this back-end (553).
    NameNotAllowed,
    /// Out of space for now (452).
    InsufficientStorage,
    /// Over a quota or size limit (552).
    QuotaExceeded,
    /// Busy; try again later (450).
    Busy,
    /// Any other error of the back-end (451).
    Local,
    /// The back-end does not do this (502).
    Unsupported,
}

impl StorageErrorKind {
    /// The protocol failure this kind is reported as: the one mapping table from storage
    /// errors to replies.
    pub fn failure(self) -> FailureKind {
        match self {
            Self::NotFound => FailureKind::NotFound,
            Self::PermissionDenied => FailureKind::PermissionDenied,
            Self::NotADirectory | Self::IsADirectory => FailureKind::WrongKind,
            Self::AlreadyExists => FailureKind::AlreadyExists,
            Self::NotEmpty => FailureKind::NotEmpty,
            Self::NameNotAllowed => FailureKind::NameNotAllowed,
            Self::InsufficientStorage => FailureKind::InsufficientStorage,
            Self::QuotaExceeded => FailureKind::QuotaExceeded,
            Self::Busy => FailureKind::Busy,
            Self::Local => FailureKind::LocalError,
            Self::Unsupported => FailureKind::Unsupported,
        }
    }
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::PermissionDenied => "permission denied",
            Self::NotADirectory => "not a directory",
            Self::IsADirectory => "is a directory",
            Self::AlreadyExists => "already exists",
            Self::NotEmpty => "directory not empty",
            Self::NameNotAllowed => "name not allowed",
            Self::InsufficientStorage => "insufficient storage",
            Self::QuotaExceeded => "quota exceeded",
            Self::Busy => "busy",
            Self::Local => "local error",
            Self::Unsupported => "not supported",
        })
    }
}

/// A storage error: the kind decides the reply, the source is for logs.
#[derive(Debug, thiserror::Error)]
#[error("storage: {kind}")]
pub struct StorageError {
    kind: StorageErrorKind,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl StorageError {
    /// An error of `kind` caused by `source`.
    pub fn new(kind: StorageErrorKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// The kind.
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }
}

impl From<StorageErrorKind> for StorageError {
    fn from(kind: StorageErrorKind) -> Self {
        Self { kind, source: None }
    }
}

impl From<std::io::Error> for StorageError {
    /// Maps an I/O error by its kind; the error itself stays as the source.
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => StorageErrorKind::NotFound,
            K::PermissionDenied => StorageErrorKind::PermissionDenied,
            K::AlreadyExists => StorageErrorKind::AlreadyExists,
            K::NotADirectory => StorageErrorKind::NotADirectory,
            K::IsADirectory => StorageErrorKind::IsADirectory,
            K::DirectoryNotEmpty => StorageErrorKind::NotEmpty,
            K::StorageFull => StorageErrorKind::InsufficientStorage,
            K::QuotaExceeded | K::FileTooLarge => StorageErrorKind::QuotaExceeded,
            K::InvalidFilename | K::InvalidInput => StorageErrorKind::NameNotAllowed,
            K::ResourceBusy | K::WouldBlock | K::Interrupted | K::TimedOut => {
                StorageErrorKind::Busy
            }
            K::Unsupported => StorageErrorKind::Unsupported,
            _ => StorageErrorKind::Local,
        };
        Self::new(kind, e)
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
    /// A streaming writer of file contents. The server calls `poll_close` when the upload
    /// ends; data must be durable (as far as the back-end promises) once it returns `Ok`.
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

    /// Opens the file `path` for writing.
    async fn open_write(
        &self,
        user: &Principal,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<Self::Writer, StorageError>;

    /// Creates the directory `path` (its parent must exist).
    async fn mkdir(&self, _user: &Principal, _path: &VirtualPath) -> Result<(), StorageError> {
        Err(StorageErrorKind::Unsupported.into())
    }

    /// Removes the empty directory `path`.
    async fn rmdir(&self, _user: &Principal, _path: &VirtualPath) -> Result<(), StorageError> {
        Err(StorageErrorKind::Unsupported.into())
    }

    /// Deletes the file (or symbolic link) `path`.
    async fn delete(&self, _user: &Principal, _path: &VirtualPath) -> Result<(), StorageError> {
        Err(StorageErrorKind::Unsupported.into())
    }

    /// Renames `from` to `to`, replacing a file at `to`.
    async fn rename(
        &self,
        _user: &Principal,
        _from: &VirtualPath,
        _to: &VirtualPath,
    ) -> Result<(), StorageError> {
        Err(StorageErrorKind::Unsupported.into())
    }

    /// Sets the modification time of `path`.
    async fn set_modified(
        &self,
        _user: &Principal,
        _path: &VirtualPath,
        _time: SystemTime,
    ) -> Result<(), StorageError> {
        Err(StorageErrorKind::Unsupported.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per kind: the reply each storage error gets.
    #[test]
    fn mapping_table() {
        use StorageErrorKind as K;
        let table = [
            (K::NotFound, 550),
            (K::PermissionDenied, 550),
            (K::NotADirectory, 550),
            (K::IsADirectory, 550),
            (K::AlreadyExists, 550),
            (K::NotEmpty, 550),
            (K::NameNotAllowed, 553),
            (K::InsufficientStorage, 452),
            (K::QuotaExceeded, 552),
            (K::Busy, 450),
            (K::Local, 451),
            (K::Unsupported, 502),
        ];
        for (kind, code) in table {
            assert_eq!(kind.failure().reply_code().as_u16(), code, "{kind:?}");
        }
        let e = StorageError::from(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.kind(), K::NotFound);
        assert!(StdError::source(&e).is_some());
    }
}
