//! The everyday jobs: copy a file or a directory tree between the local disk and the server,
//! and resume an interrupted transfer (the remote-backup and web-publishing cases).
//!
//! Local file I/O runs on a thread pool ([`blocking`]), so these helpers work on any runtime
//! without blocking it, and stream through one buffer of [`ClientOptions::buffer_size`] bytes.
//!
//! [`ClientOptions::buffer_size`]: crate::ClientOptions::buffer_size

use std::path::{Path, PathBuf};

use blocking::{Unblock, unblock};
use bytes::Bytes;
use ftp_proto::checksum::{Digest, HashAlgorithm, Hasher};
use ftp_proto::listing::{EntryKind, FactType, ListEntry, MlsxEntry};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt};

use crate::client::Client;
use crate::error::{Error, Result};
pub use crate::observer::ProgressObserver;

/// What a tree copy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeStats {
    /// Files copied.
    pub files: u64,
    /// Directories created (or found present).
    pub dirs: u64,
    /// Bytes moved.
    pub bytes: u64,
}

/// A local file's checksum beside the server's, from [`Client::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// The algorithm both were computed with.
    pub algorithm: HashAlgorithm,
    /// The local file's.
    pub local: Digest,
    /// The server's.
    pub remote: Digest,
}

impl Verification {
    /// Whether the two files hold the same bytes (as far as the algorithm can tell).
    pub fn matches(&self) -> bool {
        self.local == self.remote
    }
}

/// The checksum of a local file, read in 1 MiB blocks on a blocking thread.
pub async fn local_digest(path: &Path, algorithm: HashAlgorithm) -> Result<Digest> {
    let path = path.to_owned();
    unblock(move || -> std::io::Result<Digest> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut hasher = Hasher::new(algorithm);
        let mut buf = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(hasher.finish());
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
    })
    .await
    .map_err(Error::Io)
}

/// What a resume did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resumed {
    /// Bytes the destination already held and that were not sent again.
    pub skipped: u64,
    /// Bytes sent now.
    pub transferred: u64,
}

/// Joins a remote directory and a name with `/` (FTP paths are `/`-separated on every server
/// this crate knows; `""` and `"."` mean the working directory).
pub fn join_remote(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() || dir == b"." {
        return name.to_vec();
    }
    let mut path = dir.to_vec();
    if !path.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

#[cfg(unix)]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}

/// A remote name as a local path: its bytes as they are on Unix (FTP names need not be UTF-8),
/// converted lossily elsewhere. It is not checked; a name from a server may hold `/` or `..`.
#[cfg(unix)]
pub fn local_name(name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(name))
}

/// A remote name as a local path: its bytes as they are on Unix (FTP names need not be UTF-8),
/// converted lossily elsewhere. It is not checked; a name from a server may hold `/` or `..`.
#[cfg(not(unix))]
pub fn local_name(name: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(name).into_owned())
}

/// Whether a remote name may become a local file name: no separators, no `.`/`..`, no NUL. A
/// hostile server must not write outside the destination directory.
fn is_safe_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name != b"."
        && name != b".."
        && !name.iter().any(|&b| b == b'/' || b == b'\\' || b == 0)
}

/// A local file's error, naming the file (`/nonexistent/x: No such file or directory`), so
/// that it is not taken for the server's.
fn local_error(path: &Path, e: std::io::Error) -> std::io::Error {
    let text = e.to_string();
    // std appends " (os error N)": the path and the reason are what a user needs.
    let reason = text.split(" (os error").next().unwrap_or(&text);
    std::io::Error::new(e.kind(), format!("{}: {reason}", path.display()))
}

async fn local_len(path: &Path) -> Result<Option<u64>> {
    let owned = path.to_owned();
    let meta = unblock(move || std::fs::metadata(owned)).await;
    match meta {
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(local_error(path, e).into()),
    }
}

/// Copies `from` into `to` through one buffer; gives the bytes copied.
async fn copy<F, T>(
    from: &mut F,
    to: &mut T,
    buffer_size: usize,
    progress: &mut Option<Box<dyn ProgressObserver>>,
) -> Result<u64>
where
    F: AsyncRead + Unpin,
    T: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; buffer_size.max(512)];
    let mut total = 0u64;
    loop {
        let n = from.read(&mut buf).await.map_err(Error::from_io)?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            return Ok(total);
        };
        to.write_all(chunk).await.map_err(Error::from_io)?;
        total += n as u64;
        if let Some(p) = progress.as_mut() {
            p.advance(n as u64);
        }
    }
}

/// Ends the progress report of one file whatever the outcome.
fn report_end<T>(progress: &mut Option<Box<dyn ProgressObserver>>, result: Result<T>) -> Result<T> {
    if let Some(p) = progress.as_mut() {
        p.finish();
    }
    result
}

impl<S> Client<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Uploads the local file `local` to `remote`, from byte `offset` of both on (`REST` +
    /// `STOR`; 0 replaces the remote file). Gives the bytes sent.
    pub async fn upload_file(
        &mut self,
        local: impl AsRef<Path>,
        remote: impl AsRef<[u8]>,
        offset: u64,
    ) -> Result<u64> {
        let path = local.as_ref().to_owned();
        let (file, len) = unblock(move || -> std::io::Result<(std::fs::File, u64)> {
            use std::io::{Seek, SeekFrom};
            let open = || -> std::io::Result<(std::fs::File, u64)> {
                let mut file = std::fs::File::open(&path)?;
                let len = file.metadata()?.len();
                file.seek(SeekFrom::Start(offset))?;
                Ok((file, len))
            };
            open().map_err(|e| local_error(&path, e))
        })
        .await?;
        let buffer_size = self.options.buffer_size;
        let mut file = Unblock::with_capacity(buffer_size, file);
        let mut progress = self.progress.take();
        if let Some(p) = progress.as_mut() {
            p.start(remote.as_ref(), offset, Some(len));
        }
        let result = async {
            let mut upload = self.stor(remote, offset).await?;
            let sent = copy(&mut file, &mut upload, buffer_size, &mut progress).await?;
            upload.finish().await?;
            Ok(sent)
        }
        .await;
        let result = report_end(&mut progress, result);
        self.progress = progress;
        result
    }

    /// Downloads `remote` into the local file `local`, from byte `offset` on (`REST` +
    /// `RETR`; the local file is truncated to `offset` first, so 0 replaces it). Gives the
    /// bytes received. The file is complete only when this returns `Ok`.
    pub async fn download_file(
        &mut self,
        remote: impl AsRef<[u8]>,
        local: impl AsRef<Path>,
        offset: u64,
    ) -> Result<u64> {
        let path = local.as_ref().to_owned();
        let buffer_size = self.options.buffer_size;
        let mut progress = self.progress.take();
        if let Some(p) = progress.as_mut() {
            // Worth a round trip only when somebody shows the total.
            let total = self.file_size(remote.as_ref()).await.ok();
            p.start(remote.as_ref(), offset, total);
        }
        let result = async {
            // The local file is touched only once the server has accepted the download, so a
            // refused one (550) leaves no empty file behind.
            let mut download = self.retr(remote, offset).await?;
            let (file, regular) = unblock(move || -> std::io::Result<(std::fs::File, bool)> {
                use std::io::{Seek, SeekFrom};
                let open = || -> std::io::Result<(std::fs::File, bool)> {
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(&path)?;
                    // `/dev/null`, a pipe, a terminal: written as they are, never truncated
                    // or synced (both fail with EINVAL there).
                    let regular = file.metadata()?.is_file();
                    if regular {
                        file.set_len(offset)?;
                        file.seek(SeekFrom::Start(offset))?;
                    }
                    Ok((file, regular))
                };
                open().map_err(|e| local_error(&path, e))
            })
            .await?;
            let mut file = Unblock::with_capacity(buffer_size, file);
            let received = copy(&mut download, &mut file, buffer_size, &mut progress).await?;
            drop(download);
            file.flush().await?;
            let file = file.into_inner().await;
            if regular {
                unblock(move || file.sync_all()).await?;
            }
            Ok(received)
        }
        .await;
        let result = report_end(&mut progress, result);
        self.progress = progress;
        result
    }

    /// Installs (or with `None` removes) the [`ProgressObserver`] of the file helpers.
    pub fn set_progress(&mut self, progress: Option<Box<dyn ProgressObserver>>) {
        self.progress = progress;
    }

    /// Continues an interrupted upload: sends only what the remote file lacks (its size by
    /// [`file_size`](Self::file_size): `SIZE`, else `MLST` or `LIST`).
    /// A missing remote file is uploaded whole; one that is already as long is left alone.
    pub async fn resume_upload(
        &mut self,
        local: impl AsRef<Path>,
        remote: impl AsRef<[u8]>,
    ) -> Result<Resumed> {
        let local = local.as_ref();
        let total = local_len(local).await?.ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} does not exist", local.display()),
            ))
        })?;
        let have = match self.file_size(remote.as_ref()).await {
            Ok(n) => n,
            Err(e) if e.is_not_found() => 0,
            Err(e) => return Err(e),
        };
        if have >= total {
            return Ok(Resumed {
                skipped: have,
                transferred: 0,
            });
        }
        let transferred = self.upload_file(local, remote, have).await?;
        Ok(Resumed {
            skipped: have,
            transferred,
        })
    }

    /// Continues an interrupted download: fetches only what the local file lacks of the remote
    /// one (by [`file_size`](Self::file_size)). A missing local file is downloaded whole; one that is already as long
    /// is left alone.
    pub async fn resume_download(
        &mut self,
        remote: impl AsRef<[u8]>,
        local: impl AsRef<Path>,
    ) -> Result<Resumed> {
        let local = local.as_ref();
        let have = local_len(local).await?.unwrap_or(0);
        let total = self.file_size(remote.as_ref()).await?;
        if have >= total {
            return Ok(Resumed {
                skipped: have,
                transferred: 0,
            });
        }
        let transferred = self.download_file(remote, local, have).await?;
        Ok(Resumed {
            skipped: have,
            transferred,
        })
    }

    /// Compares a local file with the server's checksum of a remote one (see
    /// [`hash`](Self::hash)), in the strongest algorithm the server offers (SHA-256 through
    /// its legacy command when it lists none: servers offer those without saying so). The
    /// local file is hashed on a blocking thread, streaming. [`Error::is_unsupported`] when
    /// the server computes no checksum at all.
    pub async fn verify(
        &mut self,
        local: impl AsRef<Path>,
        remote: impl AsRef<[u8]>,
    ) -> Result<Verification> {
        let algorithm = self
            .checksum_algorithms()
            .await?
            .first()
            .copied()
            .unwrap_or(HashAlgorithm::Sha256);
        let remote = self.hash(remote.as_ref(), algorithm).await?;
        let local = local_digest(local.as_ref(), algorithm).await?;
        Ok(Verification {
            algorithm,
            local,
            remote,
        })
    }

    /// Creates the remote directory `path` and its missing parents (like `mkdir -p`).
    pub async fn mkdir_all(&mut self, path: impl AsRef<[u8]>) -> Result<()> {
        let path = path.as_ref();
        let mut prefix = Vec::with_capacity(path.len());
        for (i, part) in path.split(|&b| b == b'/').enumerate() {
            if i > 0 {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(part);
            if part.is_empty() || part == b"." {
                continue;
            }
            self.ensure_dir(&prefix).await?;
        }
        Ok(())
    }

    /// `MKD`, taking "already exists" for success: when `MKD` is refused, the directory is
    /// there if `CWD` into it works (the client then returns to where it was).
    async fn ensure_dir(&mut self, path: &[u8]) -> Result<()> {
        match self.mkdir(path).await {
            Ok(_) => Ok(()),
            Err(Error::Server(refused)) => {
                let back = self.pwd().await?;
                if self.cwd(path).await.is_ok() {
                    self.cwd(&back).await?;
                    Ok(())
                } else {
                    Err(Error::Server(refused))
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Uploads the tree under the local directory `local` so that it becomes the contents of
    /// the remote directory `remote` (created if missing, with its parents). Files present on
    /// both sides are replaced; nothing is deleted. Symbolic links are followed.
    pub async fn upload_tree(
        &mut self,
        local: impl AsRef<Path>,
        remote: impl AsRef<[u8]>,
    ) -> Result<TreeStats> {
        let mut stats = TreeStats::default();
        let mut todo = vec![(local.as_ref().to_owned(), remote.as_ref().to_vec())];
        while let Some((dir, remote_dir)) = todo.pop() {
            self.mkdir_all(&remote_dir).await?;
            stats.dirs += 1;
            let read = dir.clone();
            let mut entries = unblock(move || -> std::io::Result<Vec<(PathBuf, bool)>> {
                let mut out = Vec::new();
                for entry in std::fs::read_dir(read)? {
                    let path = entry?.path();
                    let is_dir = std::fs::metadata(&path)?.is_dir();
                    out.push((path, is_dir));
                }
                Ok(out)
            })
            .await?;
            entries.sort();
            for (path, is_dir) in entries {
                let Some(name) = path.file_name() else {
                    continue;
                };
                let target = join_remote(&remote_dir, &name_bytes(name));
                if is_dir {
                    todo.push((path, target));
                } else {
                    stats.bytes += self
                        .upload_file(&path, &target, 0)
                        .await
                        .map_err(|e| e.at_path(&target))?;
                    stats.files += 1;
                }
            }
        }
        Ok(stats)
    }

    /// Downloads the tree under the remote directory `remote` into the local directory
    /// `local` (created if missing). Listings use `MLSD` when the server announces `MLST`,
    /// else `LIST` as the server formats it; remote names that could step out of `local` (a
    /// `/`, `..`) are refused. Remote symbolic links in a `LIST` are skipped (their kind is
    /// unknown without following them).
    pub async fn download_tree(
        &mut self,
        remote: impl AsRef<[u8]>,
        local: impl AsRef<Path>,
    ) -> Result<TreeStats> {
        let use_mlsd = self.features().await?.supports_mlsx();
        let mut stats = TreeStats::default();
        let mut todo = vec![(remote.as_ref().to_vec(), local.as_ref().to_owned())];
        while let Some((remote_dir, dir)) = todo.pop() {
            let create = dir.clone();
            unblock(move || std::fs::create_dir_all(create)).await?;
            stats.dirs += 1;
            let entries = self
                .entries(&remote_dir, use_mlsd)
                .await
                .map_err(|e| e.at_path(&remote_dir))?;
            for (name, is_dir) in entries {
                if !is_safe_name(&name) {
                    return Err(Error::Io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "the server listed an unsafe name {:?}",
                            String::from_utf8_lossy(&name)
                        ),
                    )));
                }
                let source = join_remote(&remote_dir, &name);
                let target = dir.join(local_name(&name));
                if is_dir {
                    todo.push((source, target));
                } else {
                    stats.bytes += self
                        .download_file(&source, &target, 0)
                        .await
                        .map_err(|e| e.at_path(&source))?;
                    stats.files += 1;
                }
            }
        }
        Ok(stats)
    }

    /// The files and subdirectories of a remote directory, as (name, is a directory).
    async fn entries(&mut self, dir: &[u8], use_mlsd: bool) -> Result<Vec<(Bytes, bool)>> {
        // The directory's own bytes, whatever they are: a name that is not UTF-8 is listed
        // under that name, not a lossy copy of it.
        let path = dir;
        let mut out = Vec::new();
        if use_mlsd {
            for entry in self.mlsd_checked(path).await? {
                out.extend(mlsd_child(&entry));
            }
        } else {
            for entry in self.list_checked(path).await? {
                out.extend(list_child(&entry));
            }
        }
        Ok(out)
    }
}

/// A file or directory of an MLSD listing, as its name and whether it is a directory; `None`
/// for anything else (links, the `cdir` and `pdir` entries).
pub(crate) fn mlsd_child(entry: &MlsxEntry) -> Option<(Bytes, bool)> {
    let is_dir = match entry.facts.kind {
        Some(FactType::File) => false,
        Some(FactType::Dir) => true,
        _ => return None,
    };
    // Some servers give full paths in MLSD; the last component is the name.
    let name = match entry.name.iter().rposition(|&b| b == b'/') {
        Some(slash) => entry.name.slice(slash + 1..),
        None => entry.name.clone(),
    };
    Some((name, is_dir))
}

/// The same for a LIST line: files and directories other than `.` and `..`.
pub(crate) fn list_child(entry: &ListEntry) -> Option<(Bytes, bool)> {
    let is_dir = match entry.kind {
        EntryKind::File => false,
        EntryKind::Directory => true,
        _ => return None,
    };
    (entry.name.as_ref() != b"." && entry.name.as_ref() != b"..")
        .then(|| (entry.name.clone(), is_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths_join_with_one_slash() {
        assert_eq!(join_remote(b"", b"a"), b"a");
        assert_eq!(join_remote(b".", b"a"), b"a");
        assert_eq!(join_remote(b"/", b"a"), b"/a");
        assert_eq!(join_remote(b"pub/", b"a"), b"pub/a");
        assert_eq!(join_remote(b"pub", b"a b"), b"pub/a b");
    }

    #[test]
    fn names_that_could_escape_are_unsafe() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"..\\x", b"a\0"] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
        for good in [&b"a"[..], b"...", b".hidden", "é t".as_bytes()] {
            assert!(is_safe_name(good), "{good:?}");
        }
    }
}
