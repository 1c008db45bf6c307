//! [`FsStorage`]: files in a local directory, jailed to it.
//!
//! Every path operation goes through one [`cap_std::fs::Dir`] opened on the root, so neither
//! `..` nor a symbolic link (absolute or relative) can reach outside it: cap-std refuses such
//! paths with a permission error, which becomes [`FailureKind::PermissionDenied`]. Links
//! that stay inside the root are followed as usual. Every blocking call runs on the
//! [`blocking`] thread pool, so the back-end works under any executor.

use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;

use async_trait::async_trait;
use blocking::{Unblock, unblock};
use bytes::{Buf, Bytes};
use cap_std::fs::{Dir, OpenOptions, ReadDir};
use ftp_proto::VirtualPath;
use ftp_proto::listing::{DirEntry, FileKind, Metadata};
use ftp_proto::server::{FailureKind, WriteMode};
use futures_io::{AsyncRead, AsyncWrite};

use super::{Capabilities, DirLister, LocalFile, Storage, StorageError, not_root};
use crate::auth::Principal;

/// Entries per [`DirLister::next_page`].
const PAGE: usize = 256;

/// Bytes buffered between a transfer and its blocking thread. `Unblock` defaults to 8 MiB,
/// which is a lot per concurrent transfer; this still keeps the thread busy.
const PIPE: usize = 256 * 1024;

/// A storage back-end on a local directory. Cloning shares the root handle.
#[derive(Clone, Debug)]
pub struct FsStorage {
    root: Arc<Dir>,
}

impl FsStorage {
    /// `STOR`: the upload goes to a temporary file beside the target, which
    /// [`finish_write`](Storage::finish_write) renames over it once complete.
    async fn open_replacing(&self, rel: PathBuf) -> Result<FsWriter, StorageError> {
        let root = Arc::clone(&self.root);
        let (file, replacing) = self
            .run(move |dir| {
                let existed = match dir.metadata(&rel) {
                    Ok(md) => {
                        check_regular(&md)?;
                        true
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                    Err(e) => return Err(e),
                };
                let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
                // A few tries, in case a name is taken (it never should be).
                let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
                for _ in 0..4 {
                    let part = parent.join(part_name());
                    let mut options = OpenOptions::new();
                    options.write(true).create_new(true);
                    match dir.open_with(&part, &options) {
                        Ok(file) => {
                            let replacing = Replacing {
                                root,
                                part,
                                target: rel,
                                existed,
                            };
                            return Ok((file.into_std(), replacing));
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                        Err(e) => return Err(e),
                    }
                }
                Err(last)
            })
            .await?;
        Ok(FsWriter::new(file, Some(replacing)))
    }

    /// Opens `root`, which must be an existing directory, as the storage root.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
        Ok(Self {
            root: Arc::new(dir),
        })
    }

    /// Runs `f` on the root off the executor.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Dir) -> io::Result<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let root = Arc::clone(&self.root);
        Ok(unblock(move || f(&root)).await?)
    }
}

/// The path relative to the root that `path` names; the root itself is `.`. An upload's
/// temporary file (see [`PART_PREFIX`]) is never named: not served, listed, renamed or
/// deleted by anyone.
fn relative(path: &VirtualPath) -> Result<PathBuf, StorageError> {
    if path.is_root() {
        return Ok(PathBuf::from("."));
    }
    if path.components().any(is_part_name) {
        return Err(FailureKind::NotFound.into());
    }
    path.components().map(os_name).collect()
}

/// Where an upload that replaces a file (`STOR`) goes until it is complete: a hidden file in
/// the same directory, renamed over the old one at the end (see [`FsStorage::finish_write`]).
const PART_PREFIX: &str = ".ftpd-part-";

fn is_part_name(name: &[u8]) -> bool {
    name.starts_with(PART_PREFIX.as_bytes())
}

/// A fresh temporary name: random (SipHash with this process's keys over a counter), so that
/// concurrent uploads never share one and nobody can guess one.
fn part_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static KEYS: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
    let mut hasher = KEYS.get_or_init(std::hash::RandomState::new).build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{PART_PREFIX}{:016x}", hasher.finish())
}

/// An upload that replaces its target when complete.
#[derive(Debug)]
struct Replacing {
    root: Arc<Dir>,
    /// The temporary file, relative to the root.
    part: PathBuf,
    target: PathBuf,
    /// Whether the target existed when the upload began.
    existed: bool,
}

impl Replacing {
    /// Puts the upload in place (blocking): over the target when `complete`; when it broke
    /// off, under the target's name only if there was no file before (and none appeared
    /// meanwhile: a hard link never replaces), else it is dropped and the old file stays.
    fn finish(self, complete: bool) -> io::Result<()> {
        let dir = &self.root;
        if complete {
            return dir.rename(&self.part, dir, &self.target);
        }
        if !self.existed {
            let _ = dir.hard_link(&self.part, dir, &self.target);
        }
        dir.remove_file(&self.part)
    }
}

/// One path component as the OS sees it.
#[cfg(unix)]
fn os_name(name: &[u8]) -> Result<&OsStr, StorageError> {
    use std::os::unix::ffi::OsStrExt;
    Ok(OsStr::from_bytes(name))
}

/// One path component as the OS sees it: elsewhere names must be UTF-8.
#[cfg(not(unix))]
fn os_name(name: &[u8]) -> Result<&OsStr, StorageError> {
    std::str::from_utf8(name)
        .map(OsStr::new)
        .map_err(|e| StorageError::new(FailureKind::NameNotAllowed, e))
}

/// A name or link target as raw bytes.
#[cfg(unix)]
fn os_bytes(name: OsString) -> Bytes {
    use std::os::unix::ffi::OsStringExt;
    name.into_vec().into()
}

/// A name or link target as raw bytes.
#[cfg(not(unix))]
fn os_bytes(name: OsString) -> Bytes {
    name.to_string_lossy().into_owned().into()
}

/// Converts cap-std metadata; `target` is the link target of a symbolic link.
fn convert(md: &cap_std::fs::Metadata, target: Option<Bytes>) -> Metadata {
    let file_type = md.file_type();
    let kind = if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    let mut out = Metadata::new(kind, md.len());
    out.modified = md.modified().ok().map(cap_std::time::SystemTime::into_std);
    out.symlink_target = target;
    #[cfg(unix)]
    {
        use cap_std::fs::MetadataExt;
        out.mode = Some(md.mode() & 0o7777);
        out.links = Some(md.nlink());
        // Numeric ids: looking names up would mean a user database the jail should not need.
        out.owner = Some(md.uid().to_string());
        out.group = Some(md.gid().to_string());
        out.unique = Some(format!("{:x}-{:x}", md.dev(), md.ino()));
    }
    out
}

/// The lstat of `path` in `dir`, with the target if it is a symbolic link.
fn lstat(dir: &Dir, path: &Path) -> io::Result<Metadata> {
    let md = dir.symlink_metadata(path)?;
    let target = if md.file_type().is_symlink() {
        Some(os_bytes(dir.read_link_contents(path)?.into_os_string()))
    } else {
        None
    };
    Ok(convert(&md, target))
}

/// Refuses what is not a regular file before opening it: opening a FIFO would block a thread
/// until a writer appears, and a directory is the wrong kind.
fn check_regular(md: &cap_std::fs::Metadata) -> io::Result<()> {
    if md.is_dir() {
        Err(io::ErrorKind::IsADirectory.into())
    } else if !md.is_file() {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "not a regular file",
        ))
    } else {
        Ok(())
    }
}

/// Refuses the root for operations that would remove or move it.
/// How much of a file is read at once when it is opened: a file this small is served from
/// memory with no further trip to a blocking thread (most files of a web site or a mail
/// spool), a larger one streams on after it.
const HEAD: usize = 64 * 1024;

/// Streams a file's contents; see [`Storage::open_read`].
#[derive(Debug)]
pub struct FsReader {
    /// The start of the file, read when it was opened, served first.
    head: Bytes,
    /// The rest; `None` when the head held it all.
    rest: Option<Rest>,
}

/// The part of a file after its head.
#[derive(Debug)]
enum Rest {
    /// Not read yet: the file, its position where the head ended. A zero-copy download sends
    /// it from here ([`Storage::local_file`]).
    Open(std::fs::File, u64),
    /// Streaming from a blocking thread.
    Streaming(Unblock<std::fs::File>),
}

impl FsReader {
    fn local_file(&mut self) -> Option<LocalFile<'_>> {
        match self.rest.as_ref()? {
            Rest::Open(file, offset) => Some(LocalFile::new(
                std::mem::take(&mut self.head),
                file,
                *offset,
            )),
            Rest::Streaming(_) => None,
        }
    }
}

impl AsyncRead for FsReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !self.head.is_empty() {
            let n = buf.len().min(self.head.len());
            let chunk = self.head.split_to(n);
            if let Some(dst) = buf.get_mut(..n) {
                dst.copy_from_slice(&chunk);
            }
            return Poll::Ready(Ok(n));
        }
        let rest = &mut self.rest;
        if let Some(Rest::Open(..)) = rest
            && let Some(Rest::Open(file, _)) = rest.take()
        {
            *rest = Some(Rest::Streaming(Unblock::with_capacity(PIPE, file)));
        }
        match rest {
            Some(Rest::Streaming(rest)) => Pin::new(rest).poll_read(cx, buf),
            _ => Poll::Ready(Ok(0)),
        }
    }
}

/// Streams an upload into a file; see [`Storage::open_write`].
///
/// The first 64 KiB are kept in memory: an upload that small reaches the file in one
/// trip to a blocking thread when the writer is closed. A larger one streams on through a
/// bounded pipe to a blocking thread. `poll_close` waits until everything has reached the
/// file (it does not `fsync`) and reports any write error. The server always closes a
/// finished upload. A writer dropped without closing (an interrupted upload) leaves what had
/// reached the file, like any file system, and writes what it held in memory in the
/// background; bytes still in the pipe may be lost.
#[derive(Debug)]
pub struct FsWriter {
    state: WriterState,
    /// For a replacing upload: where it goes once finished (taken then).
    replacing: Option<Box<Replacing>>,
}

#[derive(Debug)]
enum WriterState {
    /// Fewer than `HEAD` bytes written so far, all in `held`.
    Holding {
        file: std::fs::File,
        held: Vec<u8>,
    },
    /// Streaming; `backlog` (what was held) goes into the pipe before anything else.
    Streaming {
        pipe: Unblock<std::fs::File>,
        backlog: Bytes,
    },
    /// Writing what was held, at close.
    Closing(blocking::Task<io::Result<()>>),
    /// Renaming a complete replacing upload over its target, at close.
    Placing(blocking::Task<io::Result<()>>),
    Closed,
}

impl FsWriter {
    fn new(file: std::fs::File, replacing: Option<Replacing>) -> Self {
        Self {
            state: WriterState::Holding {
                file,
                held: Vec::new(),
            },
            replacing: replacing.map(Box::new),
        }
    }

    /// Moves from holding to streaming, and writes the backlog into the pipe.
    fn poll_stream(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<&mut Unblock<std::fs::File>>> {
        self.state = match std::mem::replace(&mut self.state, WriterState::Closed) {
            WriterState::Holding { file, held } => WriterState::Streaming {
                pipe: Unblock::with_capacity(PIPE, file),
                backlog: Bytes::from(held),
            },
            other => other,
        };
        match &mut self.state {
            WriterState::Streaming { pipe, backlog } => {
                while !backlog.is_empty() {
                    let n = ready!(Pin::new(&mut *pipe).poll_write(cx, backlog))?;
                    if n == 0 {
                        return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                    }
                    backlog.advance(n);
                }
                Poll::Ready(Ok(pipe))
            }
            _ => Poll::Ready(Err(io::Error::other("write after close"))),
        }
    }
}

impl AsyncWrite for FsWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let WriterState::Holding { held, .. } = &mut self.state {
            if held.len() + buf.len() <= HEAD {
                held.extend_from_slice(buf);
                return Poll::Ready(Ok(buf.len()));
            }
        }
        let pipe = ready!(self.poll_stream(cx))?;
        Pin::new(pipe).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.state {
            // Held bytes reach the file at close; nothing is on its way before that.
            WriterState::Holding { .. } | WriterState::Closed => Poll::Ready(Ok(())),
            WriterState::Closing(_) | WriterState::Placing(_) => Poll::Ready(Ok(())),
            WriterState::Streaming { .. } => {
                let pipe = ready!(self.poll_stream(cx))?;
                Pin::new(pipe).poll_flush(cx)
            }
        }
    }

    /// Closing ends the upload as complete: the data reaches the file, and a replacing
    /// upload is renamed over its target ([`FsStorage::finish_write`] ends a broken-off one).
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let written = ready!(self.as_mut().poll_close_data(cx));
        if written.is_err() {
            return Poll::Ready(written);
        }
        if let Some(replacing) = self.replacing.take() {
            self.state = WriterState::Placing(unblock(move || replacing.finish(true)));
        }
        match &mut self.state {
            WriterState::Placing(task) => {
                let placed = ready!(Pin::new(task).poll(cx));
                self.state = WriterState::Closed;
                Poll::Ready(placed)
            }
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl FsWriter {
    /// Gets every byte to the file. A replacing upload that fits in what is held (a small
    /// file) is put in place in the same blocking call, one hand-off to the blocking threads
    /// and back instead of two: it is then left `Placing` for [`FsWriter::poll_close`].
    fn poll_close_data(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                WriterState::Holding { .. } => {
                    let replacing = self.replacing.take();
                    self.state = match std::mem::replace(&mut self.state, WriterState::Closed) {
                        WriterState::Holding { file, held } => {
                            let placing = replacing.is_some();
                            let task = unblock(move || settle(Some((file, held)), replacing, true));
                            if placing {
                                WriterState::Placing(task)
                            } else {
                                WriterState::Closing(task)
                            }
                        }
                        other => other,
                    };
                }
                WriterState::Closing(task) => {
                    let result = ready!(Pin::new(task).poll(cx));
                    self.state = WriterState::Closed;
                    return Poll::Ready(result);
                }
                WriterState::Streaming { .. } => {
                    let pipe = ready!(self.poll_stream(cx))?;
                    ready!(Pin::new(pipe).poll_close(cx))?;
                    self.state = WriterState::Closed;
                    return Poll::Ready(Ok(()));
                }
                WriterState::Closed | WriterState::Placing(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl Drop for FsWriter {
    fn drop(&mut self) {
        // Not finished: an upload that broke off. What it sent is written, as it would have
        // streamed, then put where a broken-off upload goes (see `Replacing::finish`).
        let held = match std::mem::replace(&mut self.state, WriterState::Closed) {
            WriterState::Holding { file, held } => Some((file, held)),
            // Every byte arrived and is on its way to the file, or the upload is being put
            // in place: let that finish rather than lose the bytes or leave the temporary
            // file behind.
            WriterState::Closing(task) | WriterState::Placing(task) => {
                task.detach();
                None
            }
            _ => None,
        };
        let replacing = self.replacing.take();
        if held.as_ref().is_some_and(|(_, h)| !h.is_empty()) || replacing.is_some() {
            unblock(move || {
                let _ = settle(held, replacing, false);
            })
            .detach();
        }
    }
}

/// Writes what an upload held, if anything, and closes its file, then puts a replacing upload
/// in place (blocking): over its target when `complete` and the write went through, else
/// where a broken-off upload goes. A failed write is the error reported.
fn settle(
    held: Option<(std::fs::File, Vec<u8>)>,
    replacing: Option<Box<Replacing>>,
    complete: bool,
) -> io::Result<()> {
    use std::io::Write;
    let written = match held {
        Some((mut file, held)) => {
            let written = file.write_all(&held);
            drop(file);
            written
        }
        None => Ok(()),
    };
    let placed = replacing.map_or(Ok(()), |r| r.finish(complete && written.is_ok()));
    written.and(placed)
}

/// A directory listing read a page at a time on a blocking thread.
#[derive(Debug)]
pub struct FsLister {
    /// The listed directory (for link targets) and its entries; `None` once exhausted.
    state: Option<(Dir, ReadDir)>,
}

#[async_trait]
impl DirLister for FsLister {
    async fn next_page(&mut self) -> Result<Vec<DirEntry>, StorageError> {
        let Some((dir, mut entries)) = self.state.take() else {
            return Ok(Vec::new());
        };
        let (state, page) = unblock(move || {
            let mut page = Vec::with_capacity(PAGE);
            while page.len() < PAGE {
                match entries.next() {
                    None => return (None, Ok(page)),
                    Some(Err(e)) => return (None, Err(e)),
                    Some(Ok(entry)) => {
                        let name = entry.file_name();
                        if is_part_name(name.as_encoded_bytes()) {
                            continue;
                        }
                        // An entry deleted since the directory was read is simply skipped.
                        if let Ok(md) = lstat(&dir, Path::new(&name)) {
                            page.push(DirEntry::new(os_bytes(name), md));
                        }
                    }
                }
            }
            (Some((dir, entries)), Ok(page))
        })
        .await;
        self.state = state;
        Ok(page?)
    }
}

#[async_trait]
impl Storage for FsStorage {
    type Reader = FsReader;
    type Writer = FsWriter;
    type Lister = FsLister;

    fn local_file(reader: &mut FsReader) -> Option<LocalFile<'_>> {
        reader.local_file()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default().with_set_modified(true)
    }

    async fn metadata(
        &self,
        _user: &Principal,
        path: &VirtualPath,
    ) -> Result<Metadata, StorageError> {
        let rel = relative(path)?;
        self.run(move |dir| lstat(dir, &rel)).await
    }

    async fn list(&self, _user: &Principal, path: &VirtualPath) -> Result<FsLister, StorageError> {
        let rel = relative(path)?;
        let state = self
            .run(move |dir| {
                let listed = dir.open_dir(&rel)?;
                let entries = listed.entries()?;
                Ok((listed, entries))
            })
            .await?;
        Ok(FsLister { state: Some(state) })
    }

    async fn open_read(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        offset: u64,
    ) -> Result<FsReader, StorageError> {
        let rel = relative(path)?;
        let (head, file) = self
            .run(move |dir| {
                let md = dir.metadata(&rel)?;
                check_regular(&md)?;
                let mut file = dir.open(&rel)?.into_std();
                // Past the end is fine: reading there yields nothing.
                file.seek(SeekFrom::Start(offset))?;
                // Sized from the metadata, so that a small file takes one read and the
                // probe for its end, not a read per doubling of the buffer; a file that
                // grew meanwhile still reads up to HEAD.
                let expected = md.len().saturating_sub(offset).min(HEAD as u64) as usize;
                let mut head = Vec::with_capacity(expected);
                (&mut file).take(HEAD as u64).read_to_end(&mut head)?;
                // Short of HEAD: that was the end of the file.
                let rest = (head.len() == HEAD).then(|| Rest::Open(file, offset + HEAD as u64));
                Ok((head, rest))
            })
            .await?;
        Ok(FsReader {
            head: Bytes::from(head),
            rest: file,
        })
    }

    async fn open_write(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<FsWriter, StorageError> {
        let rel = relative(path)?;
        if mode == WriteMode::Truncate {
            return self.open_replacing(rel).await;
        }
        let file = self
            .run(move |dir| {
                let mut options = OpenOptions::new();
                match mode {
                    WriteMode::Append => options.append(true).create(true),
                    WriteMode::At(offset) => options.write(true).create(offset == 0),
                    // `O_EXCL` never follows a link and fails on anything existing.
                    WriteMode::CreateNew => options.write(true).create_new(true),
                    // A mode this back-end does not know yet.
                    _ => return Err(io::ErrorKind::Unsupported.into()),
                };
                if mode != WriteMode::CreateNew {
                    match dir.metadata(&rel) {
                        Ok(md) => check_regular(&md)?,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                let file = dir.open_with(&rel, &options)?;
                let mut file = file.into_std();
                if let WriteMode::At(offset) = mode {
                    if offset > file.metadata()?.len() {
                        return Err(io::Error::other("restart offset past end of file"));
                    }
                    file.set_len(offset)?;
                    file.seek(SeekFrom::Start(offset))?;
                }
                Ok(file)
            })
            .await?;
        Ok(FsWriter::new(file, None))
    }

    async fn finish_write(&self, writer: FsWriter, complete: bool) -> Result<(), StorageError> {
        let mut writer = writer;
        // Complete: closing renames a replacing upload over its target.
        let replacing = if complete {
            None
        } else {
            writer.replacing.take()
        };
        let closed = futures_util::AsyncWriteExt::close(&mut writer).await;
        drop(writer);
        if let Some(replacing) = replacing {
            unblock(move || replacing.finish(false)).await?;
        }
        Ok(closed?)
    }

    async fn mkdir(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        let rel = relative(path)?;
        self.run(move |dir| dir.create_dir(rel)).await
    }

    async fn rmdir(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        not_root(path)?;
        let rel = relative(path)?;
        self.run(move |dir| dir.remove_dir(rel)).await
    }

    async fn delete(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        not_root(path)?;
        let rel = relative(path)?;
        self.run(move |dir| {
            // `unlink` removes a link itself, never its target; refuse directories explicitly
            // since some systems report them as a plain permission error.
            if dir.symlink_metadata(&rel)?.is_dir() {
                return Err(io::ErrorKind::IsADirectory.into());
            }
            dir.remove_file(rel)
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
        let (from, to) = (relative(from)?, relative(to)?);
        self.run(move |dir| dir.rename(from, dir, to)).await
    }

    async fn set_modified(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        time: SystemTime,
    ) -> Result<(), StorageError> {
        let rel = relative(path)?;
        self.run(move |dir| {
            // cap-std has no `set_times` without cap-fs-ext; a read-only handle (which also
            // works on directories) and `futimens` through std do the same.
            let md = dir.metadata(&rel)?;
            if !md.is_dir() {
                check_regular(&md)?;
            }
            dir.open(&rel)?.into_std().set_modified(time)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use futures_lite::future::block_on;
    use futures_util::io::AsyncReadExt;

    use super::*;
    use crate::storage::conformance::{self, collect, kind, p, read_all, user, write_all};

    /// A fresh root inside a temporary directory; the guard keeps it alive.
    fn make() -> (tempfile::TempDir, FsStorage) {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("root")).unwrap();
        let storage = FsStorage::new(tmp.path().join("root")).unwrap();
        (tmp, storage)
    }

    conformance::conformance_tests!(make);

    /// Links out of the root, absolute and relative, to a directory and to a file: nothing
    /// reads, lists, writes or creates anything through them.
    #[cfg(unix)]
    #[test]
    fn symlinks_cannot_escape() {
        use std::os::unix::fs::symlink;
        let (tmp, s) = make();
        let (root, outside) = (tmp.path().join("root"), tmp.path().join("outside"));
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("secret"), "secret").unwrap();
        let before = fs::metadata(outside.join("secret"))
            .unwrap()
            .modified()
            .unwrap();
        symlink("/etc", root.join("etc")).unwrap();
        symlink(&outside, root.join("abs")).unwrap();
        symlink("../outside", root.join("rel")).unwrap();
        symlink(outside.join("secret"), root.join("abs_file")).unwrap();
        symlink("../outside/secret", root.join("rel_file")).unwrap();
        fs::write(root.join("inside"), "inside").unwrap();
        let u = user();
        block_on(async {
            for link in ["etc", "abs", "rel"] {
                // The link itself is visible, as a link.
                assert_eq!(
                    s.metadata(&u, &p(link)).await.unwrap().kind,
                    FileKind::Symlink
                );
                let inner = p(format!("{link}/secret"));
                let passwd = p(format!("{link}/passwd"));
                assert_eq!(
                    kind(s.list(&u, &p(link)).await),
                    FailureKind::PermissionDenied,
                    "{link}"
                );
                assert_eq!(
                    kind(s.open_read(&u, &inner, 0).await),
                    FailureKind::PermissionDenied
                );
                assert_eq!(
                    kind(s.open_read(&u, &passwd, 0).await),
                    FailureKind::PermissionDenied
                );
                assert_eq!(
                    kind(s.metadata(&u, &inner).await),
                    FailureKind::PermissionDenied
                );
                for mode in [
                    WriteMode::Truncate,
                    WriteMode::Append,
                    WriteMode::At(0),
                    WriteMode::CreateNew,
                ] {
                    let new = p(format!("{link}/new"));
                    assert_eq!(
                        kind(s.open_write(&u, &new, mode).await),
                        FailureKind::PermissionDenied
                    );
                    assert_eq!(
                        kind(s.open_write(&u, &inner, mode).await),
                        FailureKind::PermissionDenied
                    );
                }
                assert!(s.mkdir(&u, &p(format!("{link}/dir"))).await.is_err());
                assert!(
                    s.rename(&u, &p("inside"), &p(format!("{link}/moved")))
                        .await
                        .is_err()
                );
                assert!(s.rename(&u, &inner, &p("stolen")).await.is_err());
                assert!(s.delete(&u, &inner).await.is_err());
                assert!(
                    s.set_modified(&u, &inner, SystemTime::UNIX_EPOCH)
                        .await
                        .is_err()
                );
            }
            for link in ["abs_file", "rel_file"] {
                assert_eq!(
                    kind(s.open_read(&u, &p(link), 0).await),
                    FailureKind::PermissionDenied
                );
                for mode in [WriteMode::Truncate, WriteMode::Append, WriteMode::At(0)] {
                    assert_eq!(
                        kind(s.open_write(&u, &p(link), mode).await),
                        FailureKind::PermissionDenied
                    );
                }
                assert!(
                    s.set_modified(&u, &p(link), SystemTime::UNIX_EPOCH)
                        .await
                        .is_err()
                );
                assert!(s.list(&u, &p(link)).await.is_err());
            }
        });
        let names: Vec<_> = fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"]);
        assert_eq!(fs::read(outside.join("secret")).unwrap(), b"secret");
        assert_eq!(
            fs::metadata(outside.join("secret"))
                .unwrap()
                .modified()
                .unwrap(),
            before
        );
        assert_eq!(fs::read(root.join("inside")).unwrap(), b"inside");
    }

    /// A link inside the root lists as a link with its target, is followed for reading, and
    /// deleting it removes the link only.
    #[cfg(unix)]
    #[test]
    fn symlinks_inside() {
        let (tmp, s) = make();
        let root = tmp.path().join("root");
        fs::write(root.join("target.txt"), "data").unwrap();
        std::os::unix::fs::symlink("target.txt", root.join("ln")).unwrap();
        let u = user();
        block_on(async {
            let entries = collect(s.list(&u, &VirtualPath::root()).await.unwrap()).await;
            let ln = entries.iter().find(|e| e.name == "ln").unwrap();
            assert_eq!(ln.metadata.kind, FileKind::Symlink);
            assert_eq!(
                ln.metadata.symlink_target.as_deref(),
                Some(&b"target.txt"[..])
            );
            let md = s.metadata(&u, &p("ln")).await.unwrap();
            assert_eq!(
                (md.kind, md.symlink_target),
                (FileKind::Symlink, Some(Bytes::from("target.txt")))
            );
            assert_eq!(read_all(&s, "ln", 0).await, b"data");
            s.delete(&u, &p("ln")).await.unwrap();
        });
        assert!(!root.join("ln").exists());
        assert_eq!(fs::read(root.join("target.txt")).unwrap(), b"data");
    }

    /// Unix facts come through: mode bits, link count, owner and a unique id.
    #[cfg(unix)]
    #[test]
    fn unix_metadata() {
        let (_tmp, s) = make();
        block_on(async {
            write_all(&s, "f", WriteMode::Truncate, b"abc")
                .await
                .unwrap();
            let md = s.metadata(&user(), &p("f")).await.unwrap();
            assert!(md.mode.is_some_and(|m| m & 0o600 == 0o600 && m <= 0o7777));
            assert_eq!(md.links, Some(1));
            assert!(md.owner.is_some() && md.group.is_some());
            let unique = md.unique.unwrap();
            s.rename(&user(), &p("f"), &p("g")).await.unwrap();
            // A rename keeps the inode, so the unique fact follows the file.
            assert_eq!(
                s.metadata(&user(), &p("g")).await.unwrap().unique.unwrap(),
                unique
            );
            let mut reader = s.open_read(&user(), &p("g"), 1).await.unwrap();
            let mut out = String::new();
            reader.read_to_string(&mut out).await.unwrap();
            assert_eq!(out, "bc");
        });
    }

    /// A small replacing upload (held, then written, closed and renamed in one blocking
    /// call) replaces its target and leaves no temporary file; one dropped before its close
    /// leaves the old file as it was; a large one streams and replaces too.
    #[test]
    fn replacing_uploads_small_and_large() {
        let (tmp, s) = make();
        let root = tmp.path().join("root");
        let names = || {
            let mut n: Vec<_> = fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            n.sort();
            n
        };
        block_on(async {
            write_all(&s, "f", WriteMode::Truncate, b"old")
                .await
                .unwrap();
            write_all(&s, "f", WriteMode::Truncate, b"new contents")
                .await
                .unwrap();
            assert_eq!(fs::read(root.join("f")).unwrap(), b"new contents");
            assert_eq!(names(), ["f"]);

            let mut broken = s
                .open_write(&user(), &p("f"), WriteMode::Truncate)
                .await
                .unwrap();
            futures_util::io::AsyncWriteExt::write_all(&mut broken, b"partial")
                .await
                .unwrap();
            drop(broken);
            // The drop finishes on a blocking thread: wait for the temporary file to go.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while names() != ["f"] && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert_eq!(names(), ["f"]);
            assert_eq!(fs::read(root.join("f")).unwrap(), b"new contents");

            let large: Vec<u8> = (0..HEAD * 3 + 7).map(|i| (i % 251) as u8).collect();
            write_all(&s, "f", WriteMode::Truncate, &large)
                .await
                .unwrap();
            assert_eq!(fs::read(root.join("f")).unwrap(), large);
            assert_eq!(names(), ["f"]);
            assert_eq!(read_all(&s, "f", HEAD as u64 + 1).await, &large[HEAD + 1..]);
        });
    }
}
