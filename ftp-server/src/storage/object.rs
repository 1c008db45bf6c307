//! An object-store back-end on [OpenDAL](https://opendal.apache.org): S3 (feature `s3`) and
//! every other service an OpenDAL [`Operator`] reaches.
//!
//! Object stores have keys, not directories; [`ObjectStorage`] maps one onto the other:
//!
//! - A file `/a/b` is the object `a/b` under the operator's root.
//! - A directory `/a` is the prefix `a/`: it exists when any key starts with it, or when its
//!   marker object `a/` (what `MKD` writes) exists. `RMD` removes only an empty one (nothing
//!   under the prefix but its marker); `CWD` into a prefix that holds nothing fails.
//! - Reads stream ranges of the object (`REST` + `RETR` reads from the offset); a download
//!   that ends short of the size the object had when it was opened is an error, never a short
//!   `226`.
//! - Uploads stream as multipart uploads, in parts of [`ObjectOptions::write_chunk`]: nothing
//!   holds a whole file, and the object appears (or replaces the old one) only when the
//!   upload completes. A broken-off upload that replaced an object is aborted, so the old one
//!   stays; one that created a new object keeps what arrived, as the file-system back-end
//!   does, so that `REST` + `STOR` can resume it.
//! - Objects are immutable, so `APPE` and `REST n` + `STOR` write a new object: the kept part
//!   of the old one (all of it for `APPE`, its first `n` bytes for `REST`) streams through
//!   the server into the new upload before the client's data. Resuming costs reading what is
//!   kept once more; the old object stays until the new one is complete.
//! - Listings stream page by page ([`ObjectOptions::page`] entries), so a prefix of 100,000
//!   objects never sits in memory; names and sizes come from the store's listing, with no
//!   request per entry.
//! - `RNFR`/`RNTO` copy, then delete: not atomic (a failure between the two leaves both, and
//!   a reader may see both for a moment), a directory is copied object by object (at most
//!   [`ObjectOptions::max_rename_objects`] of them, else `550`), and the time is that of
//!   copying the bytes inside the store (large objects go by multipart copy).
//! - `MDTM` and `SIZE` come from the object's metadata; `MFMT` is declined (`502`): stores
//!   set the time themselves.
//! - Keys are UTF-8: other names are refused with `553`.
//!
//! Errors map to replies: not found and refused to `550`, `EntityTooLarge` to `552`, rate
//! limiting to `450`, and transient back-end failures to `451`. Retrying is the operator's
//! job: [`ObjectStorage::s3`] adds OpenDAL's retry layer (with back-off, only where a retry
//! is safe) and its timeout layer.
//!
//! OpenDAL's HTTP services run on tokio. Every call to the store runs on the tokio runtime
//! given to [`ObjectStorage::new`] (the current one by default), and data crosses to the
//! session through bounded channels, so the server itself may run on any executor.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use ftp_proto::VirtualPath;
use ftp_proto::listing::{DirEntry, FileKind, Metadata};
use ftp_proto::server::{FailureKind, WriteMode};
use futures_channel::{mpsc, oneshot};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{StreamExt, TryStreamExt};
use opendal::{ErrorKind, Operator};

use super::{DirLister, Storage, StorageError, not_root};
use crate::auth::Principal;

/// Tunables of an [`ObjectStorage`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ObjectOptions {
    /// Downloads as ranged requests of this many bytes, [`concurrency`](Self::concurrency) at
    /// once; `None` (the default): one streaming request from the offset to the end, which
    /// every store serves well (moto, for one, reads a whole object for each range).
    pub read_chunk: Option<usize>,
    /// Bytes per uploaded part (default 8 MiB; S3 needs at least 5 MiB but for the last).
    pub write_chunk: usize,
    /// Requests in flight per transfer (default 2): each holds up to one chunk (parts of
    /// uploads; ranges of downloads with a `read_chunk`).
    pub concurrency: usize,
    /// Entries per listing page handed to the server (default 256).
    pub page: usize,
    /// Most objects a directory rename copies (default 10,000).
    pub max_rename_objects: usize,
}

impl Default for ObjectOptions {
    fn default() -> Self {
        Self {
            read_chunk: None,
            write_chunk: 8 << 20,
            concurrency: 2,
            page: 256,
            max_rename_objects: 10_000,
        }
    }
}

/// A [`Storage`] on an OpenDAL [`Operator`]. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct ObjectStorage {
    op: Operator,
    runtime: tokio::runtime::Handle,
    options: ObjectOptions,
}

/// How many uploaded bytes the session batches before handing them to the store's task.
const BATCH: usize = 256 << 10;

impl ObjectStorage {
    /// Serves `op`, running its calls on the current tokio runtime.
    ///
    /// # Errors
    /// Outside a tokio runtime; use [`with_runtime`](Self::with_runtime) then.
    pub fn new(op: Operator) -> io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        Ok(Self::with_runtime(op, runtime))
    }

    /// Serves `op`, running its calls on `runtime`.
    ///
    /// OpenDAL's HTTP services need a process-wide HTTP transport: unless the program
    /// installed one, this installs reqwest with rustls, on this crate's crypto provider
    /// (also installed as the process default when there is none).
    pub fn with_runtime(op: Operator, runtime: tokio::runtime::Handle) -> Self {
        static TRANSPORT: std::sync::Once = std::sync::Once::new();
        TRANSPORT.call_once(|| {
            if let Ok(provider) = ftp_runtime::tls::provider() {
                let _ = Arc::unwrap_or_clone(provider).install_default();
            }
            opendal::HttpTransporter::install_default(
                opendal_http_transport_reqwest::ReqwestTransport::default(),
            );
        });
        Self {
            op,
            runtime,
            options: ObjectOptions::default(),
        }
    }

    /// Replaces the tunables.
    #[must_use]
    pub fn options(mut self, options: ObjectOptions) -> Self {
        self.options = options;
        self
    }

    /// The operator.
    pub fn operator(&self) -> &Operator {
        &self.op
    }

    /// An S3 bucket (or a `prefix` in it) with OpenDAL's retry and timeout layers. The region
    /// and the credentials come from the environment as AWS tools read them
    /// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_PROFILE`, ...); `endpoint` is for S3-compatible servers (path-style requests).
    ///
    /// # Errors
    /// Outside a tokio runtime, or when OpenDAL refuses the configuration.
    #[cfg(feature = "s3")]
    pub fn s3(bucket: &str, prefix: &str, endpoint: Option<&str>) -> io::Result<Self> {
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| "us-east-1".to_owned());
        let mut builder = opendal::services::S3::default()
            .bucket(bucket)
            .root(&format!("/{}", prefix.trim_matches('/')))
            .region(&region);
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint(endpoint);
        }
        let op = Operator::new(builder)
            .map_err(io::Error::other)?
            .layer(opendal::layers::RetryLayer::new().with_jitter())
            .layer(opendal::layers::TimeoutLayer::new());
        Self::new(op)
    }

    /// Runs `work` on the store's runtime.
    async fn run<T, F>(&self, work: impl FnOnce(Operator) -> F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StorageError>> + Send + 'static,
    {
        let task = AbortOnDrop(self.runtime.spawn(work(self.op.clone())));
        match task.await {
            Ok(result) => result,
            Err(e) => Err(StorageError::new(FailureKind::LocalError, e)),
        }
    }
}

/// A task of the store's runtime, aborted when its owner goes.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The key of the file `path` (no leading `/`); names must be UTF-8.
fn file_key(path: &VirtualPath) -> Result<String, StorageError> {
    let relative = &path.as_bytes()[1..];
    match std::str::from_utf8(relative) {
        Ok(key) => Ok(key.to_owned()),
        Err(e) => Err(StorageError::new(FailureKind::NameNotAllowed, e)),
    }
}

/// The prefix of the directory `path`: `a/b/`, or `/` for the root.
fn dir_key(path: &VirtualPath) -> Result<String, StorageError> {
    if path.is_root() {
        return Ok("/".to_owned());
    }
    Ok(file_key(path)? + "/")
}

/// The failure an OpenDAL error is.
fn failure(e: opendal::Error) -> StorageError {
    let kind = match e.kind() {
        ErrorKind::NotFound => FailureKind::NotFound,
        ErrorKind::PermissionDenied => FailureKind::PermissionDenied,
        ErrorKind::AlreadyExists | ErrorKind::ConditionNotMatch => FailureKind::AlreadyExists,
        ErrorKind::IsADirectory => FailureKind::NotAFile,
        ErrorKind::NotADirectory => FailureKind::NotADirectory,
        ErrorKind::RateLimited => FailureKind::Busy,
        ErrorKind::Unsupported => FailureKind::Unsupported,
        _ if e.message().contains("EntityTooLarge") || e.to_string().contains("EntityTooLarge") => {
            FailureKind::QuotaExceeded
        }
        _ => FailureKind::LocalError,
    };
    StorageError::new(kind, e)
}

fn to_io(e: StorageError) -> io::Error {
    io::Error::other(e)
}

fn directory(modified: Option<std::time::SystemTime>) -> Metadata {
    let mut md = Metadata::new(FileKind::Directory, 0);
    md.modified = modified;
    md
}

fn file(md: &opendal::Metadata) -> Metadata {
    let mut out = Metadata::new(FileKind::File, md.content_length());
    out.modified = md.last_modified().map(Into::into);
    out
}

/// Whether anything lies under the prefix `dir` (its marker included).
async fn prefix_exists(op: &Operator, dir: &str) -> Result<bool, StorageError> {
    let lister = op.lister_with(dir).limit(1).await;
    match lister {
        Ok(mut lister) => Ok(lister.try_next().await.map_err(failure)?.is_some()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(failure(e)),
    }
}

/// What `path` is, or `None`.
async fn stat(op: &Operator, path: &VirtualPath) -> Result<Option<Metadata>, StorageError> {
    if path.is_root() {
        return Ok(Some(directory(None)));
    }
    let key = file_key(path)?;
    match op.stat(&key).await {
        Ok(md) if md.is_dir() => return Ok(Some(directory(md.last_modified().map(Into::into)))),
        Ok(md) => return Ok(Some(file(&md))),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(failure(e)),
    }
    let dir = key + "/";
    if prefix_exists(op, &dir).await? {
        return Ok(Some(directory(None)));
    }
    Ok(None)
}

/// Why `path` does not exist: an ancestor that is a file makes it `NotADirectory`.
async fn missing(op: &Operator, path: &VirtualPath) -> StorageError {
    let mut parent = path.parent();
    // Bounded: paths are short, and this runs only on failures.
    for _ in 0..32 {
        if parent.is_root() {
            break;
        }
        if let Ok(key) = file_key(&parent) {
            if let Ok(md) = op.stat(&key).await {
                if !md.is_dir() {
                    return FailureKind::NotADirectory.into();
                }
            }
        }
        parent = parent.parent();
    }
    FailureKind::NotFound.into()
}

/// What `path` is; not there is an error.
async fn existing(op: &Operator, path: &VirtualPath) -> Result<Metadata, StorageError> {
    match stat(op, path).await? {
        Some(md) => Ok(md),
        None => Err(missing(op, path).await),
    }
}

/// `path`'s parent must be a directory.
async fn parent_is_dir(op: &Operator, path: &VirtualPath) -> Result<(), StorageError> {
    let parent = path.parent();
    if parent.is_root() {
        return Ok(());
    }
    match existing(op, &parent).await?.kind {
        FileKind::Directory => Ok(()),
        _ => Err(FailureKind::NotADirectory.into()),
    }
}

#[async_trait]
impl Storage for ObjectStorage {
    type Reader = ObjectReader;
    type Writer = ObjectWriter;
    type Lister = ObjectLister;

    async fn metadata(
        &self,
        _user: &Principal,
        path: &VirtualPath,
    ) -> Result<Metadata, StorageError> {
        let path = path.clone();
        self.run(|op| async move { existing(&op, &path).await })
            .await
    }

    async fn list(
        &self,
        _user: &Principal,
        path: &VirtualPath,
    ) -> Result<Self::Lister, StorageError> {
        let dir = dir_key(path)?;
        let page = self.options.page.max(1);
        let (tx, mut pages) = mpsc::channel(1);
        let task = AbortOnDrop(
            self.runtime
                .spawn(list_pages(self.op.clone(), dir, page, tx)),
        );
        // One request for a directory that exists: the listing itself shows it (its marker or
        // anything under it). Only an empty answer costs a look at what the name is.
        let (first, seen) = match pages.next().await {
            Some(first) => first?,
            None => (Vec::new(), false),
        };
        if !seen && !path.is_root() {
            let path = path.clone();
            self.run(|op| async move {
                match existing(&op, &path).await?.kind {
                    FileKind::Directory => Ok(()),
                    _ => Err(FailureKind::NotADirectory.into()),
                }
            })
            .await?;
        }
        Ok(ObjectLister {
            first: Some(first),
            pages,
            _task: task,
        })
    }

    async fn open_read(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        offset: u64,
    ) -> Result<Self::Reader, StorageError> {
        let key = file_key(path)?;
        let path = path.clone();
        let md = self
            .run(|op| async move { existing(&op, &path).await })
            .await?;
        if md.kind != FileKind::File {
            return Err(FailureKind::NotAFile.into());
        }
        let remaining = md.size.saturating_sub(offset);
        let (tx, chunks) = mpsc::channel(1);
        let task = (remaining > 0).then(|| {
            let (op, options) = (self.op.clone(), self.options.clone());
            AbortOnDrop(
                self.runtime
                    .spawn(read_range(op, options, key, offset..md.size, tx)),
            )
        });
        Ok(ObjectReader {
            chunks,
            current: Bytes::new(),
            remaining,
            _task: task,
        })
    }

    async fn open_write(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<Self::Writer, StorageError> {
        let key = file_key(path)?;
        if path.is_root() {
            return Err(FailureKind::NotAFile.into());
        }
        let target = path.clone();
        let before = self
            .run(|op| async move {
                let before = stat(&op, &target).await?;
                if before.is_none() {
                    parent_is_dir(&op, &target).await?;
                }
                Ok(before)
            })
            .await?;
        let old = match before {
            Some(md) if md.kind == FileKind::Directory => {
                return Err(if mode == WriteMode::CreateNew {
                    FailureKind::AlreadyExists
                } else {
                    FailureKind::NotAFile
                }
                .into());
            }
            Some(md) => Some(md.size),
            None => None,
        };
        // How much of the old object the new one starts with.
        let keep = match (mode, old) {
            (WriteMode::CreateNew, Some(_)) => return Err(FailureKind::AlreadyExists.into()),
            (WriteMode::Append, Some(size)) => size,
            (WriteMode::At(0), _) => 0,
            (WriteMode::At(_), None) => return Err(FailureKind::NotFound.into()),
            (WriteMode::At(at), Some(size)) if at > size => {
                return Err(StorageError::new(
                    FailureKind::LocalError,
                    "restart offset past the end of the object",
                ));
            }
            (WriteMode::At(at), Some(_)) => at,
            _ => 0,
        };
        let create_new = mode == WriteMode::CreateNew;
        // A broken-off upload keeps what arrived unless it was replacing an object from its
        // start (the old one then stays whole).
        let keep_partial = old.is_none() || keep > 0;
        let failed = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel(2);
        let task = self.runtime.spawn(upload(
            self.op.clone(),
            self.options.clone(),
            Upload {
                key,
                keep,
                create_new,
                keep_partial,
            },
            rx,
            Arc::clone(&failed),
        ));
        Ok(ObjectWriter {
            tx: Some(tx),
            buf: BytesMut::new(),
            failed,
            keep_partial,
            closing: None,
            _task: Some(AbortOnDrop(task)),
        })
    }

    async fn finish_write(&self, writer: Self::Writer, complete: bool) -> Result<(), StorageError> {
        let commit = complete || writer.keep_partial;
        writer.finish(commit).await
    }

    async fn mkdir(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        if path.is_root() {
            return Err(FailureKind::AlreadyExists.into());
        }
        let dir = dir_key(path)?;
        let path = path.clone();
        self.run(|op| async move {
            if stat(&op, &path).await?.is_some() {
                return Err(FailureKind::AlreadyExists.into());
            }
            parent_is_dir(&op, &path).await?;
            op.create_dir(&dir).await.map_err(failure)
        })
        .await
    }

    async fn rmdir(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        not_root(path)?;
        let dir = dir_key(path)?;
        let path = path.clone();
        self.run(|op| async move {
            if existing(&op, &path).await?.kind != FileKind::Directory {
                return Err(FailureKind::NotADirectory.into());
            }
            let mut lister = op.lister_with(&dir).limit(2).await.map_err(failure)?;
            while let Some(entry) = lister.try_next().await.map_err(failure)? {
                if entry.path() != dir {
                    return Err(FailureKind::NotEmpty.into());
                }
            }
            op.delete(&dir).await.map_err(failure)
        })
        .await
    }

    async fn delete(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        not_root(path)?;
        let key = file_key(path)?;
        let path = path.clone();
        self.run(|op| async move {
            if existing(&op, &path).await?.kind != FileKind::File {
                return Err(FailureKind::NotAFile.into());
            }
            op.delete(&key).await.map_err(failure)
        })
        .await
    }

    async fn rename(
        &self,
        _user: &Principal,
        from: &VirtualPath,
        to: &VirtualPath,
    ) -> Result<(), StorageError> {
        not_root(from)?;
        not_root(to)?;
        let (from_key, to_key) = (file_key(from)?, file_key(to)?);
        let (from, to) = (from.clone(), to.clone());
        let max = self.options.max_rename_objects;
        self.run(|op| async move {
            let source = existing(&op, &from).await?;
            parent_is_dir(&op, &to).await?;
            let target = stat(&op, &to).await?;
            if source.kind != FileKind::Directory {
                if target.is_some_and(|t| t.kind == FileKind::Directory) {
                    return Err(FailureKind::NotAFile.into());
                }
                op.copy(&from_key, &to_key).await.map_err(failure)?;
                return op.delete(&from_key).await.map_err(failure);
            }
            if to.as_bytes().starts_with(&[from.as_bytes(), b"/"].concat()) {
                return Err(StorageError::new(
                    FailureKind::PermissionDenied,
                    "a directory cannot move into itself",
                ));
            }
            if target.is_some() {
                return Err(FailureKind::AlreadyExists.into());
            }
            let (from_dir, to_dir) = (from_key + "/", to_key + "/");
            // Collected first (bounded), so that copies never show up in the listing.
            let mut keys = Vec::new();
            let mut lister = op
                .lister_with(&from_dir)
                .recursive(true)
                .await
                .map_err(failure)?;
            while let Some(entry) = lister.try_next().await.map_err(failure)? {
                if keys.len() == max {
                    return Err(StorageError::new(
                        FailureKind::Unsupported,
                        format!("a directory of more than {max} objects is not renamed"),
                    ));
                }
                keys.push(entry.path().to_owned());
            }
            if !keys.contains(&from_dir) {
                keys.push(from_dir.clone());
            }
            for key in &keys {
                let new = format!("{to_dir}{}", &key[from_dir.len()..]);
                if key.ends_with('/') {
                    op.create_dir(&new).await.map_err(failure)?;
                } else {
                    op.copy(key, &new).await.map_err(failure)?;
                }
            }
            for key in &keys {
                match op.delete(key).await {
                    Err(e) if e.kind() != ErrorKind::NotFound => return Err(failure(e)),
                    _ => {}
                }
            }
            Ok(())
        })
        .await
    }
}

/// Sends `item`, waiting for room; false when the receiver is gone.
async fn send<T>(tx: &mut mpsc::Sender<T>, item: T) -> bool {
    if futures_util::future::poll_fn(|cx| tx.poll_ready(cx))
        .await
        .is_err()
    {
        return false;
    }
    tx.start_send(item).is_ok()
}

/// The listing task: pages of entries under `dir`, its marker left out.
///
/// Each page comes with whether anything at all (the directory's marker included) was under
/// the prefix so far; the first page is sent even when empty.
async fn list_pages(
    op: Operator,
    dir: String,
    page: usize,
    mut tx: mpsc::Sender<Result<(Vec<DirEntry>, bool), StorageError>>,
) {
    let mut lister = match op.lister_with(&dir).await {
        Ok(lister) => lister,
        Err(e) => {
            send(&mut tx, Err(failure(e))).await;
            return;
        }
    };
    let mut entries = Vec::with_capacity(page);
    let (mut seen, mut sent) = (false, false);
    loop {
        match lister.try_next().await {
            Ok(Some(entry)) => {
                seen = true;
                if entry.path() == dir {
                    continue;
                }
                let (path, md) = entry.into_parts();
                let name = path.trim_end_matches('/');
                let name = name.rsplit('/').next().unwrap_or(name);
                if name.is_empty() {
                    continue;
                }
                let metadata = if md.is_dir() {
                    directory(md.last_modified().map(Into::into))
                } else {
                    file(&md)
                };
                entries.push(DirEntry::new(
                    Bytes::copy_from_slice(name.as_bytes()),
                    metadata,
                ));
                if entries.len() == page {
                    let full = std::mem::replace(&mut entries, Vec::with_capacity(page));
                    if !send(&mut tx, Ok((full, seen))).await {
                        return;
                    }
                    sent = true;
                }
            }
            Ok(None) => {
                if !entries.is_empty() || !sent {
                    send(&mut tx, Ok((entries, seen))).await;
                }
                return;
            }
            Err(e) => {
                send(&mut tx, Err(failure(e))).await;
                return;
            }
        }
    }
}

/// A listing of an [`ObjectStorage`] directory, page by page.
#[derive(Debug)]
pub struct ObjectLister {
    /// The first page, read before the listing was handed out (to know the directory exists).
    first: Option<Vec<DirEntry>>,
    pages: mpsc::Receiver<Result<(Vec<DirEntry>, bool), StorageError>>,
    _task: AbortOnDrop<()>,
}

impl<T> std::fmt::Debug for AbortOnDrop<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AbortOnDrop")
    }
}

#[async_trait]
impl DirLister for ObjectLister {
    async fn next_page(&mut self) -> Result<Vec<DirEntry>, StorageError> {
        if let Some(first) = self.first.take().filter(|page| !page.is_empty()) {
            return Ok(first);
        }
        match self.pages.next().await {
            Some(page) => page.map(|(entries, _)| entries),
            None => Ok(Vec::new()),
        }
    }
}

/// The download task: the range's bytes as the store delivers them.
async fn read_range(
    op: Operator,
    options: ObjectOptions,
    key: String,
    range: std::ops::Range<u64>,
    mut tx: mpsc::Sender<io::Result<Bytes>>,
) {
    let reader = match options.read_chunk {
        Some(chunk) => {
            op.reader_with(&key)
                .chunk(chunk)
                .concurrent(options.concurrency)
                .await
        }
        None => op.reader(&key).await,
    };
    let stream = match reader {
        Ok(reader) => reader.into_bytes_stream(range).await,
        Err(e) => Err(e),
    };
    let mut stream = match stream {
        Ok(stream) => stream,
        Err(e) => {
            send(&mut tx, Err(to_io(failure(e)))).await;
            return;
        }
    };
    while let Some(chunk) = stream.next().await {
        let failed = chunk.is_err();
        if !send(&mut tx, chunk).await || failed {
            return;
        }
    }
}

/// A download from an [`ObjectStorage`].
#[derive(Debug)]
pub struct ObjectReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    /// Bytes still to come: a stream that ends before is an error, not a short file.
    remaining: u64,
    _task: Option<AbortOnDrop<()>>,
}

impl AsyncRead for ObjectReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        while this.current.is_empty() {
            if this.remaining == 0 {
                return Poll::Ready(Ok(0));
            }
            match ready!(this.chunks.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => this.current = chunk,
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the object ended before its size",
                    )));
                }
            }
        }
        let n = buf.len().min(this.current.len());
        let n = n.min(usize::try_from(this.remaining).unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&this.current[..n]);
        bytes::Buf::advance(&mut this.current, n);
        this.remaining -= n as u64;
        Poll::Ready(Ok(n))
    }
}

/// What an upload task writes.
struct Upload {
    key: String,
    /// Bytes of the old object the new one starts with.
    keep: u64,
    create_new: bool,
    /// Whether a writer dropped without finishing keeps what arrived.
    keep_partial: bool,
}

/// What the session hands the upload task.
enum Part {
    Data(Bytes),
    Finish {
        commit: bool,
        done: oneshot::Sender<Result<(), StorageError>>,
    },
}

/// The upload task: the kept part of the old object, then the session's bytes, then commit
/// or abort.
async fn upload(
    op: Operator,
    options: ObjectOptions,
    job: Upload,
    mut rx: mpsc::Receiver<Part>,
    failed: Arc<Mutex<Option<String>>>,
) {
    let fail = |e: &StorageError| {
        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
    };
    let conditional = job.create_new && op.info().capability().write_with_if_not_exists;
    let writer = op
        .writer_with(&job.key)
        .chunk(options.write_chunk)
        .concurrent(options.concurrency)
        .if_not_exists(conditional)
        .await;
    let mut writer = match writer {
        Ok(writer) => writer,
        Err(e) => return drain_failed(rx, failure(e), &fail).await,
    };
    if job.keep > 0 {
        let kept = async {
            let reader = op.reader(&job.key).await.map_err(failure)?;
            let mut old = reader
                .into_bytes_stream(0..job.keep)
                .await
                .map_err(failure)?;
            while let Some(chunk) = old.next().await {
                writer.write(chunk?).await.map_err(failure)?;
            }
            Ok::<_, StorageError>(())
        };
        if let Err(e) = kept.await {
            let _ = writer.abort().await;
            return drain_failed(rx, e, &fail).await;
        }
    }
    while let Some(part) = rx.next().await {
        match part {
            Part::Data(bytes) => {
                if let Err(e) = writer.write(bytes).await {
                    let _ = writer.abort().await;
                    return drain_failed(rx, failure(e), &fail).await;
                }
            }
            Part::Finish { commit, done } => {
                let result = if commit {
                    writer.close().await.map(drop).map_err(failure)
                } else {
                    writer.abort().await.map_err(failure)
                };
                let _ = done.send(result);
                return;
            }
        }
    }
    // The writer was dropped without finishing.
    if job.keep_partial {
        let _ = writer.close().await;
    } else {
        let _ = writer.abort().await;
    }
}

/// After a failure: records it, and answers a finish with it.
async fn drain_failed(
    mut rx: mpsc::Receiver<Part>,
    e: StorageError,
    fail: &impl Fn(&StorageError),
) {
    fail(&e);
    rx.close();
    while let Some(part) = rx.next().await {
        if let Part::Finish { done, .. } = part {
            let _ = done.send(Err(e));
            return;
        }
    }
}

type Closing = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

/// An upload to an [`ObjectStorage`]: a multipart upload that completes when the server
/// finishes it.
pub struct ObjectWriter {
    tx: Option<mpsc::Sender<Part>>,
    buf: BytesMut,
    /// Why the upload task stopped, for the writes after.
    failed: Arc<Mutex<Option<String>>>,
    keep_partial: bool,
    closing: Option<Closing>,
    _task: Option<AbortOnDrop<()>>,
}

impl std::fmt::Debug for ObjectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl ObjectWriter {
    fn broken(&self) -> io::Error {
        let why = self
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        io::Error::new(
            io::ErrorKind::BrokenPipe,
            why.unwrap_or_else(|| "the upload to the object store stopped".to_owned()),
        )
    }

    /// Hands what is buffered to the upload task, then commits (or aborts) and waits.
    async fn finish(mut self, commit: bool) -> Result<(), StorageError> {
        let Some(mut tx) = self.tx.take() else {
            return Err(to_storage(self.broken()));
        };
        let task = self._task.take();
        let rest = self.buf.split().freeze();
        let (done, result) = oneshot::channel();
        if (!rest.is_empty() && !send(&mut tx, Part::Data(rest)).await)
            || !send(&mut tx, Part::Finish { commit, done }).await
        {
            drop(task);
            return Err(to_storage(self.broken()));
        }
        let outcome = result.await;
        drop(task);
        match outcome {
            Ok(result) => result,
            Err(_) => Err(to_storage(self.broken())),
        }
    }
}

fn to_storage(e: io::Error) -> StorageError {
    StorageError::new(FailureKind::LocalError, e)
}

impl AsyncWrite for ObjectWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.buf.len() >= BATCH {
            let Some(tx) = this.tx.as_mut() else {
                return Poll::Ready(Err(this.broken()));
            };
            if ready!(tx.poll_ready(cx)).is_err() {
                return Poll::Ready(Err(this.broken()));
            }
            let batch = this.buf.split().freeze();
            if tx.start_send(Part::Data(batch)).is_err() {
                return Poll::Ready(Err(this.broken()));
            }
        }
        let n = data.len().min(BATCH);
        this.buf.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Parts go to the store in whole chunks; durability comes with the commit.
        Poll::Ready(Ok(()))
    }

    /// Commits the upload, as [`Storage::finish_write`] with a complete upload does.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.closing.is_none() {
            let writer = Self {
                tx: self.tx.take(),
                buf: std::mem::take(&mut self.buf),
                failed: Arc::clone(&self.failed),
                keep_partial: self.keep_partial,
                closing: None,
                _task: self._task.take(),
            };
            self.closing = Some(Box::pin(
                async move { writer.finish(true).await.map_err(to_io) },
            ));
        }
        let closing = self.closing.as_mut().expect("set above");
        let result = ready!(closing.as_mut().poll(cx));
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance::conformance_tests;

    /// A runtime for the store's calls, kept for the test's length.
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    #[cfg(feature = "s3")]
    mod s3 {
        use super::*;

        /// A fresh prefix in the test S3 server's bucket (moto, started once per process).
        fn s3() -> (tokio::runtime::Runtime, ObjectStorage) {
            let rt = runtime();
            use ftp_test_support::s3;
            let builder = opendal::services::S3::default()
                .endpoint(&s3::shared().endpoint())
                .bucket(s3::BUCKET)
                .region("us-east-1")
                .access_key_id(s3::ACCESS_KEY)
                .secret_access_key(s3::SECRET_KEY)
                .disable_config_load()
                .disable_ec2_metadata()
                .root(&s3::unique_prefix());
            let op = Operator::new(builder)
                .unwrap()
                .layer(opendal::layers::RetryLayer::new());
            let storage = ObjectStorage::with_runtime(op, rt.handle().clone());
            (rt, storage)
        }

        conformance_tests!(s3; objects);
    }

    #[test]
    fn names_must_be_utf8() {
        let path = VirtualPath::root().resolve(b"raw \xff");
        assert_eq!(
            file_key(&path).unwrap_err().kind(),
            FailureKind::NameNotAllowed
        );
        assert_eq!(dir_key(&VirtualPath::root()).unwrap(), "/");
        assert_eq!(
            dir_key(&VirtualPath::root().resolve(b"a/b")).unwrap(),
            "a/b/"
        );
    }
}
