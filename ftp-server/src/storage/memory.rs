//! [`MemoryStorage`]: a file tree in memory, for tests and embedding.
//!
//! The tree sits behind one mutex that is only ever held for a short, synchronous step, never
//! across an await. Files are [`Bytes`], so readers share the data instead of copying it.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::mem;
use std::ops::Bound;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::{Buf, Bytes, BytesMut};
use ftp_proto::VirtualPath;
use ftp_proto::listing::{DirEntry, FileKind, Metadata};
use ftp_proto::server::{FailureKind, WriteMode};
use futures_io::{AsyncRead, AsyncWrite};

use super::{Capabilities, DirLister, Storage, StorageError, not_root};
use crate::auth::Principal;

/// Entries per [`DirLister::next_page`].
const PAGE: usize = 256;

/// What a node holds.
enum Content {
    File(Bytes),
    /// Children by name; a `BTreeMap` so that listings come sorted.
    Dir(BTreeMap<Bytes, Node>),
}

/// A file or directory.
struct Node {
    id: u64,
    modified: SystemTime,
    content: Content,
}

impl Node {
    fn metadata(&self) -> Metadata {
        let (kind, size, mode) = match &self.content {
            Content::File(data) => (FileKind::File, data.len() as u64, 0o644),
            Content::Dir(_) => (FileKind::Directory, 0, 0o755),
        };
        let mut md = Metadata::new(kind, size)
            .with_modified(self.modified)
            .with_mode(mode);
        md.links = Some(1);
        md.unique = Some(self.id.to_string());
        md
    }

    fn children(&self) -> Result<&BTreeMap<Bytes, Self>, StorageError> {
        match &self.content {
            Content::Dir(children) => Ok(children),
            Content::File(_) => Err(FailureKind::NotADirectory.into()),
        }
    }

    /// The node at `path` below this one.
    fn find_mut(&mut self, path: &VirtualPath) -> Result<&mut Self, StorageError> {
        let mut node = self;
        for name in path.components() {
            node = node
                .children_mut()?
                .get_mut(name)
                .ok_or(FailureKind::NotFound)?;
        }
        Ok(node)
    }

    fn children_mut(&mut self) -> Result<&mut BTreeMap<Bytes, Self>, StorageError> {
        match &mut self.content {
            Content::Dir(children) => Ok(children),
            Content::File(_) => Err(FailureKind::NotADirectory.into()),
        }
    }
}

/// The whole tree and its accounting.
struct Tree {
    root: Node,
    next_id: u64,
    /// Bytes in files plus bytes that open writers have received but not yet committed.
    used: u64,
    quota: Option<u64>,
}

impl Tree {
    fn new(quota: Option<u64>) -> Self {
        let root = Node {
            id: 0,
            modified: SystemTime::now(),
            content: Content::Dir(BTreeMap::new()),
        };
        Self {
            root,
            next_id: 1,
            used: 0,
            quota,
        }
    }

    /// A new node; ids are never reused, so they make `unique` facts.
    fn node_new(next_id: &mut u64, content: Content) -> Node {
        *next_id += 1;
        Node {
            id: *next_id - 1,
            modified: SystemTime::now(),
            content,
        }
    }

    fn node(&self, path: &VirtualPath) -> Result<&Node, StorageError> {
        path.components().try_fold(&self.root, |node, name| {
            node.children()?
                .get(name)
                .ok_or_else(|| FailureKind::NotFound.into())
        })
    }

    fn node_mut(&mut self, path: &VirtualPath) -> Result<&mut Node, StorageError> {
        self.root.find_mut(path)
    }

    /// The children of `path`'s parent, `path`'s name, and the id counter for a new node.
    /// Callers deal with the root (which has no parent) first.
    fn parent_mut(
        &mut self,
        path: &VirtualPath,
    ) -> Result<(&mut BTreeMap<Bytes, Node>, Bytes, &mut u64), StorageError> {
        let name = path.file_name().ok_or(FailureKind::PermissionDenied)?;
        let name = Bytes::copy_from_slice(name);
        let dir = self.root.find_mut(&path.parent())?.children_mut()?;
        Ok((dir, name, &mut self.next_id))
    }

    /// Stores `data` as the file `path`, replacing a file there.
    fn put_file(&mut self, path: &VirtualPath, data: Bytes) -> Result<(), StorageError> {
        let new = data.len() as u64;
        let (dir, name, next_id) = self.parent_mut(path)?;
        let old = match dir.get_mut(&name) {
            Some(Node {
                content: Content::Dir(_),
                ..
            }) => return Err(FailureKind::NotAFile.into()),
            Some(Node {
                content: Content::File(old),
                modified,
                ..
            }) => {
                *modified = SystemTime::now();
                mem::replace(old, data).len() as u64
            }
            None => {
                dir.insert(name, Self::node_new(next_id, Content::File(data)));
                0
            }
        };
        self.used = self.used.saturating_sub(old) + new;
        Ok(())
    }
}

/// Locks the tree. A panic elsewhere never leaves it half-changed (every operation checks
/// before it changes anything), so a poisoned lock is still good.
fn lock(tree: &Mutex<Tree>) -> MutexGuard<'_, Tree> {
    tree.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Refuses the root for operations that would remove or move it.
/// A storage back-end holding everything in memory. Clones share the same tree.
#[derive(Clone)]
pub struct MemoryStorage {
    tree: Arc<Mutex<Tree>>,
}

impl MemoryStorage {
    /// An empty tree: just the root directory.
    pub fn new() -> Self {
        Self {
            tree: Arc::new(Mutex::new(Tree::new(None))),
        }
    }

    /// An empty tree holding at most `max_total_bytes` of file data: a write that would go
    /// over fails with [`io::ErrorKind::QuotaExceeded`] ([`FailureKind::QuotaExceeded`]).
    pub fn with_quota(max_total_bytes: u64) -> Self {
        Self {
            tree: Arc::new(Mutex::new(Tree::new(Some(max_total_bytes)))),
        }
    }

    /// Stores `contents` as the file `path` (resolved from the root), creating missing parent
    /// directories and replacing a file there. The quota is not enforced here.
    pub fn insert_file(
        &self,
        path: impl AsRef<[u8]>,
        contents: impl Into<Bytes>,
    ) -> Result<(), StorageError> {
        let path = VirtualPath::root().resolve(path.as_ref());
        if path.is_root() {
            return Err(FailureKind::NotAFile.into());
        }
        let mut tree = lock(&self.tree);
        let Tree { root, next_id, .. } = &mut *tree;
        let mut node = root;
        for name in path.parent().components() {
            node = node
                .children_mut()?
                .entry(Bytes::copy_from_slice(name))
                .or_insert_with(|| Tree::node_new(next_id, Content::Dir(BTreeMap::new())));
        }
        tree.put_file(&path, contents.into())
    }

    /// The contents of the file `path` (resolved from the root), if there is such a file.
    pub fn read_file(&self, path: impl AsRef<[u8]>) -> Option<Bytes> {
        let path = VirtualPath::root().resolve(path.as_ref());
        match &lock(&self.tree).node(&path).ok()?.content {
            Content::File(data) => Some(data.clone()),
            Content::Dir(_) => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tree> {
        lock(&self.tree)
    }
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tree = self.lock();
        f.debug_struct("MemoryStorage")
            .field("used", &tree.used)
            .field("quota", &tree.quota)
            .finish()
    }
}

/// Streams a file as it was when opened; see [`Storage::open_read`].
pub struct MemoryReader {
    rest: Bytes,
}

impl AsyncRead for MemoryReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest.advance(n);
        Poll::Ready(Ok(n))
    }
}

impl fmt::Debug for MemoryReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReader")
            .field("remaining", &self.rest.len())
            .finish()
    }
}

/// Receives an upload; see [`Storage::open_write`].
///
/// The data is buffered and stored in the tree when the upload is finished, so readers never
/// see a half-written file, and until then they read the old version whole. An upload that
/// broke off ([`Storage::finish_write`] with `complete` false, or a writer dropped
/// unfinished) that was replacing a file is dropped, so the last good version stays; one of a
/// new file, or in place (`REST`, `APPE`), stores what it received, for the client to resume.
/// The data goes to the path the writer was opened with, even if that was renamed meanwhile.
pub struct MemoryWriter {
    tree: Arc<Mutex<Tree>>,
    path: VirtualPath,
    /// The kept start of the file followed by everything written.
    data: BytesMut,
    /// Bytes written and counted against the quota, not yet committed.
    reserved: u64,
    committed: bool,
    /// Replacing a file that existed (`Truncate`): only a complete upload may.
    replaces: bool,
}

impl MemoryWriter {
    /// Ends the upload: stores it, unless it broke off while replacing a file.
    fn finish(&mut self, complete: bool) -> Result<(), StorageError> {
        if complete || !self.replaces {
            return self.commit();
        }
        if !mem::replace(&mut self.committed, true) {
            let mut tree = lock(&self.tree);
            tree.used = tree.used.saturating_sub(mem::take(&mut self.reserved));
            self.data = BytesMut::new();
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        if mem::replace(&mut self.committed, true) {
            return Ok(());
        }
        let mut tree = lock(&self.tree);
        tree.used = tree.used.saturating_sub(mem::take(&mut self.reserved));
        // Taken, not split: a writer not dropped yet must not keep a share of the buffer,
        // or the next upload over this file could not reuse its memory.
        tree.put_file(&self.path, mem::take(&mut self.data).freeze())
    }
}

impl AsyncWrite for MemoryWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.committed {
            return Poll::Ready(Err(io::Error::other("write after close")));
        }
        let n = buf.len() as u64;
        let mut tree = lock(&this.tree);
        // Reserving at write time keeps concurrent uploads from overshooting the quota together.
        if tree.quota.is_some_and(|quota| tree.used + n > quota) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::QuotaExceeded,
                "storage quota exceeded",
            )));
        }
        tree.used += n;
        drop(tree);
        this.reserved += n;
        this.data.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closing finishes the upload as complete (the server calls
    /// [`Storage::finish_write`], which says whether it is).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_mut().commit().map_err(|e| {
            let kind = match e.kind() {
                FailureKind::NotFound => io::ErrorKind::NotFound,
                FailureKind::NotADirectory => io::ErrorKind::NotADirectory,
                FailureKind::NotAFile => io::ErrorKind::IsADirectory,
                _ => io::ErrorKind::Other,
            };
            io::Error::new(kind, e)
        }))
    }
}

impl Drop for MemoryWriter {
    fn drop(&mut self) {
        // Not finished: an upload that broke off. Nobody to report to (the file's directory
        // may have gone away during the upload).
        let _ = self.finish(false);
    }
}

impl fmt::Debug for MemoryWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryWriter")
            .field("path", &self.path)
            .field("len", &self.data.len())
            .field("committed", &self.committed)
            .finish()
    }
}

/// A listing that takes the next page from the live tree each time, resuming after the last
/// name it returned.
pub struct MemoryLister {
    tree: Arc<Mutex<Tree>>,
    path: VirtualPath,
    after: Option<Bytes>,
    done: bool,
}

impl fmt::Debug for MemoryLister {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLister")
            .field("path", &self.path)
            .field("after", &self.after)
            .finish()
    }
}

#[async_trait]
impl DirLister for MemoryLister {
    async fn next_page(&mut self) -> Result<Vec<DirEntry>, StorageError> {
        if self.done {
            return Ok(Vec::new());
        }
        let tree = lock(&self.tree);
        // A directory removed while being listed simply ends the listing.
        let Ok(children) = tree.node(&self.path).and_then(Node::children) else {
            self.done = true;
            return Ok(Vec::new());
        };
        let start = self
            .after
            .as_ref()
            .map_or(Bound::Unbounded, Bound::Excluded);
        let page: Vec<_> = children
            .range::<Bytes, _>((start, Bound::Unbounded))
            .take(PAGE)
            .map(|(name, node)| DirEntry::new(name.clone(), node.metadata()))
            .collect();
        self.done = page.len() < PAGE;
        self.after = page.last().map(|entry| entry.name.clone());
        Ok(page)
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    type Reader = MemoryReader;
    type Writer = MemoryWriter;
    type Lister = MemoryLister;

    fn capabilities(&self) -> Capabilities {
        Capabilities::default().with_set_modified(true)
    }

    async fn finish_write(
        &self,
        mut writer: MemoryWriter,
        complete: bool,
    ) -> Result<(), StorageError> {
        writer.finish(complete)
    }

    async fn metadata(
        &self,
        _user: &Principal,
        path: &VirtualPath,
    ) -> Result<Metadata, StorageError> {
        Ok(self.lock().node(path)?.metadata())
    }

    async fn list(
        &self,
        _user: &Principal,
        path: &VirtualPath,
    ) -> Result<MemoryLister, StorageError> {
        self.lock().node(path)?.children()?;
        Ok(MemoryLister {
            tree: Arc::clone(&self.tree),
            path: path.clone(),
            after: None,
            done: false,
        })
    }

    async fn open_read(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        offset: u64,
    ) -> Result<MemoryReader, StorageError> {
        match &self.lock().node(path)?.content {
            Content::File(data) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                Ok(MemoryReader {
                    rest: data.slice(start..),
                })
            }
            Content::Dir(_) => Err(FailureKind::NotAFile.into()),
        }
    }

    async fn open_write(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<MemoryWriter, StorageError> {
        if path.is_root() {
            return Err(match mode {
                WriteMode::CreateNew => FailureKind::AlreadyExists,
                _ => FailureKind::NotAFile,
            }
            .into());
        }
        let mut tree = self.lock();
        let (dir, name, next_id) = tree.parent_mut(path)?;
        let (kept, freed) = match dir.get_mut(&name) {
            Some(_) if mode == WriteMode::CreateNew => {
                return Err(FailureKind::AlreadyExists.into());
            }
            Some(Node {
                content: Content::Dir(_),
                ..
            }) => return Err(FailureKind::NotAFile.into()),
            Some(Node {
                content: Content::File(data),
                modified,
                ..
            }) => {
                let len = data.len() as u64;
                let keep = match mode {
                    WriteMode::Append => len,
                    WriteMode::At(offset) if offset > len => {
                        let e = io::Error::other("restart offset past end of file");
                        return Err(StorageError::new(FailureKind::LocalError, e));
                    }
                    WriteMode::At(offset) => offset,
                    WriteMode::Truncate | WriteMode::CreateNew => 0,
                    _ => return Err(FailureKind::Unsupported.into()),
                };
                if mode == WriteMode::Truncate {
                    // The old version stays, whole, for its readers and in case the upload
                    // breaks off; the new one replaces it when complete.
                    return Ok(MemoryWriter {
                        tree: Arc::clone(&self.tree),
                        path: path.clone(),
                        data: BytesMut::new(),
                        reserved: 0,
                        committed: false,
                        replaces: true,
                    });
                }
                // Truncate now, as a file system does when the file is opened.
                if keep < len {
                    data.truncate(keep as usize);
                    *modified = SystemTime::now();
                }
                (data.clone(), len - keep)
            }
            None if matches!(mode, WriteMode::At(offset) if offset > 0) => {
                return Err(FailureKind::NotFound.into());
            }
            // A new file appears when its upload is finished; STOU's name (`CreateNew`) is
            // taken at once, so that two uploads cannot pick the same one.
            None if mode != WriteMode::CreateNew => (Bytes::new(), 0),
            None => {
                dir.insert(name, Tree::node_new(next_id, Content::File(Bytes::new())));
                (Bytes::new(), 0)
            }
        };
        tree.used = tree.used.saturating_sub(freed);
        Ok(MemoryWriter {
            tree: Arc::clone(&self.tree),
            path: path.clone(),
            data: BytesMut::from(&kept[..]),
            reserved: 0,
            committed: false,
            replaces: false,
        })
    }

    async fn mkdir(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        if path.is_root() {
            return Err(FailureKind::AlreadyExists.into());
        }
        let mut tree = self.lock();
        let (dir, name, next_id) = tree.parent_mut(path)?;
        if dir.contains_key(&name) {
            return Err(FailureKind::AlreadyExists.into());
        }
        dir.insert(name, Tree::node_new(next_id, Content::Dir(BTreeMap::new())));
        Ok(())
    }

    async fn rmdir(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        not_root(path)?;
        let mut tree = self.lock();
        let (dir, name, _) = tree.parent_mut(path)?;
        if !dir
            .get(&name)
            .ok_or(FailureKind::NotFound)?
            .children()?
            .is_empty()
        {
            return Err(FailureKind::NotEmpty.into());
        }
        dir.remove(&name);
        Ok(())
    }

    async fn delete(&self, _user: &Principal, path: &VirtualPath) -> Result<(), StorageError> {
        not_root(path)?;
        let mut tree = self.lock();
        let (dir, name, _) = tree.parent_mut(path)?;
        let freed = match dir.get(&name).ok_or(FailureKind::NotFound)?.content {
            Content::File(ref data) => data.len() as u64,
            Content::Dir(_) => return Err(FailureKind::NotAFile.into()),
        };
        dir.remove(&name);
        tree.used = tree.used.saturating_sub(freed);
        Ok(())
    }

    async fn rename(
        &self,
        _user: &Principal,
        from: &VirtualPath,
        to: &VirtualPath,
    ) -> Result<(), StorageError> {
        not_root(from)?;
        not_root(to)?;
        let mut tree = self.lock();
        let moving_dir = matches!(tree.node(from)?.content, Content::Dir(_));
        if from == to {
            return Ok(());
        }
        if moving_dir && to.starts_with(from) {
            return Err(FailureKind::NameNotAllowed.into());
        }
        // Check everything before changing anything; the rules are those of POSIX `rename`.
        let replaced = match tree.node(to) {
            Ok(target) => match (&target.content, moving_dir) {
                (Content::Dir(_), false) => return Err(FailureKind::NotAFile.into()),
                (Content::File(_), true) => return Err(FailureKind::NotADirectory.into()),
                (Content::Dir(children), true) if !children.is_empty() => {
                    return Err(FailureKind::NotEmpty.into());
                }
                (Content::File(data), false) => data.len() as u64,
                (Content::Dir(_), true) => 0,
            },
            Err(e) if e.kind() == FailureKind::NotFound => {
                tree.node(&to.parent())?.children()?;
                0
            }
            Err(e) => return Err(e),
        };
        let (dir, name, _) = tree.parent_mut(from)?;
        let node = dir.remove(&name).expect("checked above");
        let (dir, name, _) = tree.parent_mut(to)?;
        dir.insert(name, node);
        tree.used = tree.used.saturating_sub(replaced);
        Ok(())
    }

    async fn set_modified(
        &self,
        _user: &Principal,
        path: &VirtualPath,
        time: SystemTime,
    ) -> Result<(), StorageError> {
        self.lock().node_mut(path)?.modified = time;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use futures_lite::future::block_on;
    use futures_util::io::AsyncWriteExt;

    use super::*;
    use crate::storage::conformance::{self, collect, kind, p, user, write_all};

    fn make() -> ((), MemoryStorage) {
        ((), MemoryStorage::new())
    }

    conformance::conformance_tests!(make);

    /// A replacement is atomic: readers get the old version whole until the upload is
    /// complete, and one that breaks off leaves the old version as it was.
    #[test]
    fn replacing_a_file_is_atomic() {
        let s = MemoryStorage::new();
        block_on(async {
            write_all(&s, "f", WriteMode::Truncate, &[1; 4096])
                .await
                .unwrap();
            let mut w = s
                .open_write(&user(), &p("f"), WriteMode::Truncate)
                .await
                .unwrap();
            w.write_all(&[2; 1000]).await.unwrap();
            assert_eq!(
                s.read_file("f").unwrap(),
                vec![1; 4096],
                "old version during"
            );
            s.finish_write(w, false).await.unwrap();
            assert_eq!(
                s.read_file("f").unwrap(),
                vec![1; 4096],
                "kept after a break"
            );
            let mut w = s
                .open_write(&user(), &p("f"), WriteMode::Truncate)
                .await
                .unwrap();
            w.write_all(&[3; 100]).await.unwrap();
            drop(w);
            assert_eq!(
                s.read_file("f").unwrap(),
                vec![1; 4096],
                "kept after a drop"
            );
            let mut w = s
                .open_write(&user(), &p("f"), WriteMode::Truncate)
                .await
                .unwrap();
            w.write_all(&[4; 100]).await.unwrap();
            s.finish_write(w, true).await.unwrap();
            assert_eq!(s.read_file("f").unwrap(), vec![4; 100]);
        });
    }

    #[test]
    fn quota() {
        let s = MemoryStorage::with_quota(100);
        block_on(async {
            write_all(&s, "a", WriteMode::Truncate, &[1; 60])
                .await
                .unwrap();
            let over = write_all(&s, "b", WriteMode::Truncate, &[2; 60]).await;
            assert_eq!(kind(over), FailureKind::QuotaExceeded);
            write_all(&s, "b", WriteMode::Truncate, &[2; 40])
                .await
                .unwrap();
            // A replacement needs room for both versions until it is complete.
            let over = write_all(&s, "a", WriteMode::Truncate, &[3; 60]).await;
            assert_eq!(kind(over), FailureKind::QuotaExceeded);
            assert_eq!(s.read_file("a").unwrap(), vec![1; 60]);
            s.delete(&user(), &p("b")).await.unwrap();
            write_all(&s, "a", WriteMode::Truncate, &[3; 40])
                .await
                .unwrap();
            // Then the old version's bytes are free again: 40 used.
            write_all(&s, "c", WriteMode::Append, &[4; 60])
                .await
                .unwrap();
            assert_eq!(
                kind(write_all(&s, "c", WriteMode::Append, &[4; 1]).await),
                FailureKind::QuotaExceeded
            );
        });
    }

    /// An interrupted upload of a new file keeps what arrived, for the client to resume; the
    /// file appears only then.
    #[test]
    fn dropped_writer_keeps_data() {
        let s = MemoryStorage::new();
        block_on(async {
            let mut writer = s
                .open_write(&user(), &p("f"), WriteMode::Truncate)
                .await
                .unwrap();
            writer.write_all(b"part").await.unwrap();
            assert_eq!(s.read_file("f"), None, "not there before it is finished");
            drop(writer);
        });
        assert_eq!(s.read_file("/f").unwrap(), "part");
    }

    #[test]
    fn helpers_and_sorted_listing() {
        let s = MemoryStorage::new();
        s.insert_file("/a/b/c.txt", "x").unwrap();
        s.insert_file("/a/a.txt", "y").unwrap();
        assert_eq!(s.read_file("a/b/c.txt").unwrap(), "x");
        assert_eq!(s.read_file("/a/b"), None);
        assert_eq!(s.read_file("/nope"), None);
        assert_eq!(
            kind(s.insert_file("/a/a.txt/d", "")),
            FailureKind::NotADirectory
        );
        // Clones share the tree, across threads too.
        let clone = s.clone();
        std::thread::spawn(move || clone.insert_file("/a/B.txt", "z").unwrap())
            .join()
            .unwrap();
        let names: Vec<_> =
            block_on(async { collect(s.list(&user(), &p("a")).await.unwrap()).await })
                .into_iter()
                .map(|e| e.name)
                .collect();
        assert_eq!(names, ["B.txt", "a.txt", "b"]);
    }
}
