//! Mirroring a directory tree to or from a server, the way web sites are published and backups
//! sent: only what changed goes over the wire (by size and modification time, or by checksum
//! where the server offers one), what no longer exists on the source side can be deleted
//! (never outside the target), names can be excluded or included by pattern, modification
//! times are kept (`MFMT` up, the file's time down), several files move at once over sessions
//! of their own, a dry run lists what would change, and transient failures (4yz replies,
//! dropped connections) are retried with back-off, resuming instead of starting over.
//!
//! ```no_run
//! # async fn f(mut ftp: ftp_client::Client) -> ftp_client::Result<()> {
//! use ftp_client::mirror::{Mirror, MirrorOptions};
//! let mut options = MirrorOptions::default();
//! options.delete = true;
//! options.exclude.push("*.tmp".into());
//! let report = Mirror::new(options).upload(&mut ftp, "site".as_ref(), b"/var/www").await?;
//! println!("{}", report.summary());
//! # Ok(()) }
//! ```
//!
//! Downloads go to a `.NAME.ftp-part` file beside the target, renamed over it once complete:
//! an interrupted download never leaves a half file under the real name, and the next attempt
//! (or run) continues the part. An interrupted upload of a new file is continued from what
//! the server has; a file that existed before is continued only when the server's checksum of
//! what it has (`RANG` and `HASH`) equals the start of the local file, and sent whole
//! otherwise.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use blocking::unblock;
use ftp_proto::checksum::HashAlgorithm;
use ftp_proto::listing::ListTime;
use ftp_proto::{Timestamp, TransferType};
use futures_io::{AsyncRead, AsyncWrite};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::observer::ProgressObserver;
use crate::tree::{join_remote, list_child, local_digest, local_name, mlsd_child};

/// When a file on the source side is copied over the one on the target side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compare {
    /// When the target lacks it, the sizes differ, or the source is newer (the default).
    #[default]
    SizeAndTime,
    /// When the target lacks it or the source is newer: a target that is newer is kept, whatever
    /// its size (lftp's `--only-newer`).
    OnlyNewer,
    /// When the target lacks it, the sizes differ, or the server's checksum differs from the
    /// local file's (every file of the same size is hashed on both sides).
    Checksum,
    /// Always.
    Always,
}

/// How a mirror runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MirrorOptions {
    /// What counts as changed.
    pub compare: Compare,
    /// Delete what the target has and the source does not (off by default). Only inside the
    /// target, and never what the patterns leave out.
    pub delete: bool,
    /// Leave out the files and directories matching any of these shell patterns (`*.tmp`,
    /// `cache/**`): a pattern without `/` is matched against names, one with `/` against the
    /// path from the tree's top.
    pub exclude: Vec<String>,
    /// When not empty, only the files matching one of these (directories are still walked).
    pub include: Vec<String>,
    /// Give copied files the source's modification time (on by default; `MFMT` on the server,
    /// where it has it).
    pub preserve_times: bool,
    /// Files copied at once, each over a session of its own (needs [`Mirror::connect_with`]).
    pub parallel: usize,
    /// Plan only: report what would change and change nothing.
    pub dry_run: bool,
    /// Compare each copied file's checksum with the server's, and those of the files of
    /// equal size left alone (copied again when they differ); fails where the server has no
    /// checksums.
    pub verify: bool,
    /// Further attempts of a file after a transient failure.
    pub retries: u32,
    /// The wait before the first retry; doubled each time.
    pub retry_delay: Duration,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        Self {
            compare: Compare::default(),
            delete: false,
            exclude: Vec::new(),
            include: Vec::new(),
            preserve_times: true,
            parallel: 1,
            dry_run: false,
            verify: false,
            retries: 3,
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// What changed (or, in a dry run, would change).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A file the target did not have.
    New,
    /// A file the target had in another version.
    Changed,
    /// A file or directory deleted from the target.
    Deleted,
    /// A directory created on the target.
    Directory,
}

/// One change, with its path from the top of the tree (`/`-separated).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The path from the top of the tree.
    pub path: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The file's size.
    pub bytes: u64,
}

/// What a mirror did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct MirrorReport {
    /// What changed, in order.
    pub changes: Vec<Change>,
    /// Files left as they were.
    pub unchanged: u64,
    /// Bytes sent or received.
    pub transferred: u64,
    /// Files that could not be copied or deleted, with why (after the retries).
    pub failed: Vec<(String, Error)>,
    /// Nothing was changed: the changes are what would have been made.
    pub dry_run: bool,
}

impl MirrorReport {
    /// Whether everything was copied (or would be).
    pub fn is_ok(&self) -> bool {
        self.failed.is_empty()
    }

    fn count(&self, kind: &ChangeKind) -> usize {
        self.changes.iter().filter(|c| &c.kind == kind).count()
    }

    /// One line: `3 new, 1 changed, 2 deleted, 40 unchanged, 1 directory, 12345 bytes`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} new, {} changed, {} deleted, {} unchanged, {} {}, {} bytes",
            self.count(&ChangeKind::New),
            self.count(&ChangeKind::Changed),
            self.count(&ChangeKind::Deleted),
            self.unchanged,
            self.count(&ChangeKind::Directory),
            if self.count(&ChangeKind::Directory) == 1 {
                "directory"
            } else {
                "directories"
            },
            self.transferred
        );
        if self.dry_run {
            s.push_str(" (dry run: nothing changed)");
        }
        if !self.failed.is_empty() {
            s.push_str(&format!(", {} failed", self.failed.len()));
        }
        s
    }
}

/// The progress of a whole tree: told the totals once planned, then bytes and files as they
/// go, from every session.
pub trait TreeProgress: Send + Sync {
    /// What is to be copied.
    fn planned(&self, files: u64, bytes: u64) {
        let _ = (files, bytes);
    }
    /// Bytes moved.
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }
    /// A file done (copied or failed for good).
    fn file_done(&self, path: &str) {
        let _ = path;
    }
}

/// Opens another session (logged in, in the same directory), for parallel copies and for
/// retries after a dropped connection.
pub type Connect<S> =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Client<S>>> + Send>> + Send + Sync>;

/// A mirror: the options, and how to open more sessions.
pub struct Mirror<S = ftp_runtime::TcpStream> {
    options: MirrorOptions,
    connect: Option<Connect<S>>,
    progress: Option<Arc<dyn TreeProgress>>,
}

impl<S> std::fmt::Debug for Mirror<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("options", &self.options)
            .field("connect", &self.connect.is_some())
            .finish_non_exhaustive()
    }
}

/// An entry of one side: a directory, or a file with its size and time.
#[derive(Clone, Copy, Debug)]
struct Entry {
    dir: bool,
    size: u64,
    /// Seconds since the epoch, when known exactly enough to compare.
    mtime: Option<i64>,
}

/// One file to copy.
#[derive(Clone, Debug)]
struct Job {
    rel: String,
    /// `/`-joined bytes from the top.
    rel_bytes: Vec<u8>,
    size: u64,
    mtime: Option<i64>,
    /// The target had a file there (it is replaced, not created).
    replaces: bool,
    /// The target's size, for resuming an upload.
    target_size: u64,
}

/// Modification times closer than this are the same (FAT's two seconds).
const TIME_SLACK: i64 = 2;

impl<S> Mirror<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// A mirror with these options.
    pub fn new(options: MirrorOptions) -> Self {
        Self {
            options,
            connect: None,
            progress: None,
        }
    }

    /// How to open more sessions: for [`MirrorOptions::parallel`] and to retry after the
    /// connection dropped.
    pub fn connect_with(mut self, connect: Connect<S>) -> Self {
        self.connect = Some(connect);
        self
    }

    /// Reports the tree's progress.
    pub fn progress(mut self, progress: Arc<dyn TreeProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Makes the remote directory `remote` hold what `local` holds.
    pub async fn upload(
        &self,
        client: &mut Client<S>,
        local: &Path,
        remote: &[u8],
    ) -> Result<MirrorReport> {
        let source = self.walk_local(local).await?;
        client.mkdir_all(remote).await?;
        let target = self.walk_remote(client, remote).await?;
        self.run(client, true, local, remote, source, target).await
    }

    /// Makes the local directory `local` hold what the remote directory `remote` holds.
    pub async fn download(
        &self,
        client: &mut Client<S>,
        remote: &[u8],
        local: &Path,
    ) -> Result<MirrorReport> {
        let source = self.walk_remote(client, remote).await?;
        let create = local.to_owned();
        unblock(move || std::fs::create_dir_all(create)).await?;
        let target = self.walk_local(local).await?;
        self.run(client, false, local, remote, source, target).await
    }

    /// Whether the patterns leave `rel` out (`dir`: a directory, which `include` never leaves
    /// out).
    fn left_out(&self, rel: &str, dir: bool) -> bool {
        let excluded = self.options.exclude.iter().any(|p| pattern_matches(p, rel));
        let included = dir
            || self.options.include.is_empty()
            || self.options.include.iter().any(|p| pattern_matches(p, rel));
        excluded || !included
    }

    async fn walk_local(&self, top: &Path) -> Result<BTreeMap<String, Entry>> {
        let mut out = BTreeMap::new();
        let mut todo = vec![(top.to_owned(), String::new())];
        while let Some((dir, rel)) = todo.pop() {
            let read = dir.clone();
            let listed = unblock(
                move || -> std::io::Result<Vec<(String, std::fs::Metadata)>> {
                    let mut v = Vec::new();
                    for entry in std::fs::read_dir(&read)? {
                        let entry = entry?;
                        let Ok(name) = entry.file_name().into_string() else {
                            continue;
                        };
                        // Symbolic links are followed, as the tree helpers do.
                        let meta = std::fs::metadata(entry.path())?;
                        v.push((name, meta));
                    }
                    Ok(v)
                },
            )
            .await;
            let listed = match listed {
                Ok(l) => l,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel.is_empty() => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            for (name, meta) in listed {
                if name.starts_with(".") && name.ends_with(".ftp-part") {
                    continue;
                }
                let path = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                if self.left_out(&path, meta.is_dir()) {
                    continue;
                }
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| Timestamp::from_system_time(t).ok())
                    .map(|t| t.unix_seconds());
                let entry = Entry {
                    dir: meta.is_dir(),
                    size: meta.len(),
                    mtime,
                };
                if entry.dir {
                    todo.push((dir.join(&name), path.clone()));
                } else if !meta.is_file() {
                    continue;
                }
                out.insert(path, entry);
            }
        }
        Ok(out)
    }

    async fn walk_remote(
        &self,
        client: &mut Client<S>,
        top: &[u8],
    ) -> Result<BTreeMap<String, Entry>> {
        let use_mlsd = client.features().await?.supports_mlsx();
        let mut out = BTreeMap::new();
        let mut todo = vec![(top.to_vec(), String::new())];
        while let Some((dir, rel)) = todo.pop() {
            let listed = match remote_entries(client, &dir, use_mlsd).await {
                Ok(l) => l,
                Err(e) if e.is_not_found() && rel.is_empty() => Vec::new(),
                Err(e) => return Err(e.at_path(&dir)),
            };
            for (name, entry) in listed {
                let Ok(name) = String::from_utf8(name) else {
                    continue;
                };
                if !safe_name(&name) {
                    return Err(Error::Io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("the server listed an unsafe name {name:?}"),
                    )));
                }
                let path = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                if self.left_out(&path, entry.dir) {
                    continue;
                }
                if entry.dir {
                    todo.push((join_remote(&dir, name.as_bytes()), path.clone()));
                }
                out.insert(path, entry);
            }
        }
        Ok(out)
    }

    /// Compares, then copies, then deletes.
    async fn run(
        &self,
        client: &mut Client<S>,
        upload: bool,
        local: &Path,
        remote: &[u8],
        source: BTreeMap<String, Entry>,
        target: BTreeMap<String, Entry>,
    ) -> Result<MirrorReport> {
        let o = &self.options;
        let mut report = MirrorReport {
            dry_run: o.dry_run,
            ..MirrorReport::default()
        };
        let algorithm = if o.compare == Compare::Checksum || o.verify {
            let offered = client.checksum_algorithms().await?;
            Some(offered.first().copied().ok_or_else(|| {
                Error::Io(std::io::Error::other(
                    "the server computes no checksums (HASH, XSHA256...): --checksum and \
                     --verify cannot work",
                ))
            })?)
        } else {
            None
        };
        let mut dirs = Vec::new();
        let mut jobs = VecDeque::new();
        for (rel, s) in &source {
            let t = target.get(rel);
            if s.dir {
                match t {
                    Some(t) if t.dir => {}
                    Some(_) => report.failed.push((
                        rel.clone(),
                        Error::Io(std::io::Error::other(
                            "a file on the target where the source has a directory",
                        )),
                    )),
                    None => dirs.push(rel.clone()),
                }
                continue;
            }
            let changed = match t {
                None => Some(ChangeKind::New),
                Some(t) if t.dir => {
                    report.failed.push((
                        rel.clone(),
                        Error::Io(std::io::Error::other(
                            "a directory on the target where the source has a file",
                        )),
                    ));
                    continue;
                }
                Some(t) => {
                    let newer = match (s.mtime, t.mtime) {
                        (Some(a), Some(b)) => a > b + TIME_SLACK,
                        _ => false,
                    };
                    let mut differs = match o.compare {
                        Compare::Always => true,
                        Compare::OnlyNewer => newer || (s.mtime.is_none() && s.size != t.size),
                        Compare::SizeAndTime | Compare::Checksum => s.size != t.size || newer,
                    };
                    // By checksum: what size and time cannot tell; with --verify also, so that
                    // every file on the target is checked, not only the ones copied now.
                    let by_checksum = o.compare == Compare::Checksum
                        || (o.verify && o.compare != Compare::OnlyNewer);
                    if by_checksum && s.size == t.size && (!differs || !newer) {
                        if let Some(alg) = algorithm {
                            let (l, r) = paths(local, remote, rel);
                            let (here, there) = if upload {
                                (local_digest(&l, alg).await?, client.hash(&r, alg).await?)
                            } else {
                                (client.hash(&r, alg).await?, local_digest(&l, alg).await?)
                            };
                            differs = here != there;
                        }
                    }
                    differs.then_some(ChangeKind::Changed)
                }
            };
            match changed {
                None => report.unchanged += 1,
                Some(kind) => {
                    report.changes.push(Change {
                        path: rel.clone(),
                        kind: kind.clone(),
                        bytes: s.size,
                    });
                    jobs.push_back(Job {
                        rel: rel.clone(),
                        rel_bytes: rel.as_bytes().to_vec(),
                        size: s.size,
                        mtime: s.mtime,
                        replaces: kind == ChangeKind::Changed,
                        target_size: t.map_or(0, |t| t.size),
                    });
                }
            }
        }
        let mut deletions: Vec<(String, bool)> = Vec::new();
        if o.delete {
            for (rel, t) in &target {
                if source.contains_key(rel) {
                    continue;
                }
                // Inside a directory that goes as a whole: that one deletion covers it.
                let parent_goes = deletions
                    .iter()
                    .any(|(d, is_dir)| *is_dir && rel.starts_with(&format!("{d}/")));
                if !parent_goes {
                    deletions.push((rel.clone(), t.dir));
                }
            }
        }
        for d in &dirs {
            report.changes.push(Change {
                path: d.clone(),
                kind: ChangeKind::Directory,
                bytes: 0,
            });
        }
        for (rel, _) in &deletions {
            report.changes.push(Change {
                path: rel.clone(),
                kind: ChangeKind::Deleted,
                bytes: target.get(rel).map_or(0, |t| t.size),
            });
        }
        if let Some(p) = &self.progress {
            p.planned(jobs.len() as u64, jobs.iter().map(|j| j.size).sum());
        }
        if o.dry_run {
            return Ok(report);
        }
        // Directories first, parents before children (the map is in order).
        for d in &dirs {
            let (l, r) = paths(local, remote, d);
            let made = if upload {
                client.mkdir_all(&r).await
            } else {
                unblock(move || std::fs::create_dir_all(l))
                    .await
                    .map_err(Error::Io)
            };
            if let Err(e) = made {
                report.failed.push((d.clone(), e));
            }
        }
        let queue = Mutex::new(jobs);
        let results = Mutex::new(Vec::new());
        let work = Work {
            mirror: self,
            upload,
            local,
            remote,
            queue: &queue,
            results: &results,
            algorithm,
        };
        let mut extra = Vec::new();
        if let Some(connect) = &self.connect {
            for _ in 1..o.parallel.max(1) {
                match connect().await {
                    Ok(c) => extra.push(c),
                    Err(_) => break,
                }
            }
        }
        {
            let mut workers = vec![work.worker(client)];
            for c in &mut extra {
                workers.push(work.worker(c));
            }
            futures_util::future::join_all(workers).await;
        }
        for c in extra {
            let _ = c.quit().await;
        }
        for (rel, outcome) in results.into_inner().unwrap_or_else(PoisonError::into_inner) {
            match outcome {
                Ok(bytes) => report.transferred += bytes,
                Err(e) => report.failed.push((rel, e)),
            }
        }
        // Deletions last: the new files are in place before the old ones go.
        for (rel, dir) in deletions.iter().rev() {
            let (l, r) = paths(local, remote, rel);
            let gone = if upload {
                if *dir {
                    remove_remote_tree(client, &r).await
                } else {
                    client.delete(&r).await.map(drop)
                }
            } else {
                let dir = *dir;
                unblock(move || {
                    if dir {
                        std::fs::remove_dir_all(l)
                    } else {
                        std::fs::remove_file(l)
                    }
                })
                .await
                .map_err(Error::Io)
            };
            if let Err(e) = gone {
                report.failed.push((rel.clone(), e));
            }
        }
        Ok(report)
    }
}

/// What the workers share.
struct Work<'a, S> {
    mirror: &'a Mirror<S>,
    upload: bool,
    local: &'a Path,
    remote: &'a [u8],
    queue: &'a Mutex<VecDeque<Job>>,
    results: &'a Mutex<Vec<(String, Result<u64>)>>,
    algorithm: Option<HashAlgorithm>,
}

impl<S> Work<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Takes files off the queue until it is empty, over `client`.
    async fn worker(&self, client: &mut Client<S>) {
        let mut own: Option<Client<S>> = None;
        let mut no_mfmt = false;
        loop {
            let job = self
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front();
            let Some(job) = job else {
                break;
            };
            let mut attempt = 0;
            let mut delay = self.mirror.options.retry_delay;
            let mut resume = false;
            let outcome = loop {
                let c = own.as_mut().unwrap_or(&mut *client);
                let result = self.copy(c, &job, resume, &mut no_mfmt).await;
                match result {
                    Err(e) if attempt < self.mirror.options.retries && retryable(&e) => {
                        attempt += 1;
                        ftp_runtime::sleep(&*runtime_of(c), delay).await;
                        delay = delay.saturating_mul(2);
                        resume = true;
                        if !e.is_transient() {
                            // The connection is gone: a new one, if we can make one.
                            match &self.mirror.connect {
                                Some(connect) => match connect().await {
                                    Ok(fresh) => own = Some(fresh),
                                    Err(e) => break Err(e),
                                },
                                None => break Err(e),
                            }
                        }
                    }
                    other => break other,
                }
            };
            if let Some(p) = &self.mirror.progress {
                p.file_done(&job.rel);
            }
            self.results
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((job.rel.clone(), outcome));
        }
        if let Some(c) = own {
            let _ = c.quit().await;
        }
    }

    /// One attempt at one file; gives the bytes moved.
    async fn copy(
        &self,
        client: &mut Client<S>,
        job: &Job,
        retrying: bool,
        no_mfmt: &mut bool,
    ) -> Result<u64> {
        let (local, remote) = paths(self.local, self.remote, &job.rel);
        let _ = &job.rel_bytes;
        let observer = self
            .mirror
            .progress
            .clone()
            .map(|p| Box::new(Forward(p)) as Box<dyn ProgressObserver>);
        client.set_progress(observer);
        let moved = if self.upload {
            let offset = self
                .upload_offset(client, job, &local, &remote, retrying)
                .await?;
            let sent = client.upload_file(&local, &remote, offset).await?;
            if self.mirror.options.preserve_times && !*no_mfmt {
                if let Some(secs) = job.mtime {
                    let time = Timestamp::from_unix(u64::try_from(secs).unwrap_or(0), 0)
                        .map_err(|e| Error::Io(std::io::Error::other(e)))?;
                    match client.set_mtime(&remote, time).await {
                        Ok(_) => {}
                        // No MFMT here: the next runs compare by size (the copy is newer).
                        Err(e) if e.is_unsupported() => *no_mfmt = true,
                        Err(e) => return Err(e),
                    }
                }
            }
            sent
        } else {
            self.download(client, job, &local, &remote).await?
        };
        client.set_progress(None);
        if self.mirror.options.verify {
            if let Some(alg) = self.algorithm {
                let here = local_digest(&local, alg).await?;
                let there = client.hash(&remote, alg).await?;
                if here != there {
                    return Err(Error::Io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "checksums differ after the copy: {alg} {here} here, {there} on the server"
                        ),
                    )));
                }
            }
        }
        Ok(moved)
    }

    /// Where an upload starts: 0, or what the server already has of it when that is known to
    /// be the start of the local file (ours, from this run; or equal by checksum).
    async fn upload_offset(
        &self,
        client: &mut Client<S>,
        job: &Job,
        local: &Path,
        remote: &[u8],
        retrying: bool,
    ) -> Result<u64> {
        let have = if retrying {
            match client.file_size(remote).await {
                Ok(n) => n,
                Err(e) if e.is_not_found() => return Ok(0),
                Err(e) => return Err(e),
            }
        } else {
            job.target_size
        };
        if have == 0 || have >= job.size {
            return Ok(0);
        }
        if retrying && !job.replaces {
            // A new file: what the server holds is what this run sent.
            return Ok(have);
        }
        // A file that was there before: the start must be checked (a server that keeps the
        // old version after a broken-off replacement has that one, not ours).
        if let Some(alg) = self.algorithm.or(Some(HashAlgorithm::Sha256)) {
            if client.features().await?.supports("RANG") {
                let there = client.hash_range(remote, alg, 0..have).await;
                if let Ok(there) = there {
                    let here = prefix_digest(local, alg, have).await?;
                    if here == there {
                        return Ok(have);
                    }
                }
            }
        }
        Ok(0)
    }

    /// Downloads into the part file, continuing it, then renames it over the target and gives
    /// it the source's time.
    async fn download(
        &self,
        client: &mut Client<S>,
        job: &Job,
        local: &Path,
        remote: &[u8],
    ) -> Result<u64> {
        let name = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let part = local.with_file_name(format!(".{name}.ftp-part"));
        let probe = part.clone();
        let have = unblock(move || std::fs::metadata(probe).map(|m| m.len()).unwrap_or(0)).await;
        let offset = if have < job.size { have } else { 0 };
        let got = client.download_file(remote, &part, offset).await?;
        let (from, to, mtime) = (part, local.to_owned(), job.mtime);
        let preserve = self.mirror.options.preserve_times;
        unblock(move || -> std::io::Result<()> {
            if preserve {
                if let Some(secs) = mtime {
                    let time = SystemTime::UNIX_EPOCH
                        + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
                    std::fs::File::options()
                        .write(true)
                        .open(&from)?
                        .set_modified(time)?;
                }
            }
            std::fs::rename(&from, &to)
        })
        .await?;
        Ok(got)
    }
}

/// The client's runtime, for the back-off sleeps.
fn runtime_of<S>(client: &Client<S>) -> Arc<dyn ftp_runtime::Runtime> {
    Arc::clone(&client.runtime)
}

/// A failure worth another attempt: the server said "try later" (4yz), or the connection or
/// a data connection broke.
fn retryable(e: &Error) -> bool {
    match e {
        Error::AtPath { source, .. } => retryable(source),
        e if e.is_transient() => true,
        Error::Closed(_) | Error::Timeout(_) | Error::Broken | Error::BadReply(_) => true,
        Error::Io(io) => !matches!(
            io.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::InvalidData
        ),
        _ => false,
    }
}

/// Per-file progress of one session, summed into the tree's.
struct Forward(Arc<dyn TreeProgress>);

impl ProgressObserver for Forward {
    fn start(&mut self, _path: &[u8], _offset: u64, _total: Option<u64>) {}
    fn advance(&mut self, bytes: u64) {
        self.0.advance(bytes);
    }
    fn finish(&mut self) {}
}

/// The local path and the remote path of `rel` under the two tops.
fn paths(local: &Path, remote: &[u8], rel: &str) -> (PathBuf, Vec<u8>) {
    let mut l = local.to_owned();
    for part in rel.split('/') {
        l.push(local_name(part.as_bytes()));
    }
    (l, join_remote(remote, rel.as_bytes()))
}

/// A remote name that may become a path under the target: no separators, no `.` or `..`.
fn safe_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// The entries of a remote directory with their sizes and exact times (MLSD's `modify`; a
/// `LIST` gives times too imprecise to compare, so there only sizes count).
async fn remote_entries<S>(
    client: &mut Client<S>,
    dir: &[u8],
    use_mlsd: bool,
) -> Result<Vec<(Vec<u8>, Entry)>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut out = Vec::new();
    if use_mlsd {
        for e in client.mlsd_checked(dir).await? {
            if let Some((name, dir)) = mlsd_child(&e) {
                let entry = Entry {
                    dir,
                    size: e.facts.size.unwrap_or(0),
                    mtime: e.facts.modify.map(|t| t.unix_seconds()),
                };
                out.push((name.to_vec(), entry));
            }
        }
    } else {
        for e in client.list_checked(dir).await? {
            if let Some((name, dir)) = list_child(&e) {
                let mtime = match e.modified {
                    Some(ListTime::Exact(t)) => Some(t.unix_seconds()),
                    _ => None,
                };
                let entry = Entry {
                    dir,
                    size: e.size.unwrap_or(0),
                    mtime,
                };
                out.push((name.to_vec(), entry));
            }
        }
    }
    Ok(out)
}

/// Deletes a remote directory and everything under it, children first.
async fn remove_remote_tree<S>(client: &mut Client<S>, top: &[u8]) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let use_mlsd = client.features().await?.supports_mlsx();
    let mut dirs = vec![top.to_vec()];
    let mut order = Vec::new();
    while let Some(dir) = dirs.pop() {
        for (name, entry) in remote_entries(client, &dir, use_mlsd).await? {
            if !safe_name(&String::from_utf8_lossy(&name)) {
                continue;
            }
            let path = join_remote(&dir, &name);
            if entry.dir {
                dirs.push(path);
            } else {
                client.delete(&path).await?;
            }
        }
        order.push(dir);
    }
    for dir in order.iter().rev() {
        client.rmdir(dir).await?;
    }
    Ok(())
}

/// The checksum of the first `len` bytes of a local file.
async fn prefix_digest(
    path: &Path,
    algorithm: HashAlgorithm,
    len: u64,
) -> Result<ftp_proto::checksum::Digest> {
    let path = path.to_owned();
    unblock(move || -> std::io::Result<ftp_proto::checksum::Digest> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?.take(len);
        let mut hasher = ftp_proto::checksum::Hasher::new(algorithm);
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

/// Whether the path `rel` (from the tree's top, `/`-separated) matches `pattern`: against its
/// last component when the pattern has no `/`, else component by component, `**` standing
/// for any number of them.
pub fn pattern_matches(pattern: &str, rel: &str) -> bool {
    if !pattern.contains('/') {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        return ftp_proto::glob::matches(pattern.as_bytes(), name.as_bytes());
    }
    let p: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let r: Vec<&str> = rel.split('/').collect();
    components_match(&p, &r)
}

fn components_match(p: &[&str], r: &[&str]) -> bool {
    match (p.split_first(), r.split_first()) {
        (None, None) => true,
        (Some((&"**", rest)), _) => {
            components_match(rest, r) || (!r.is_empty() && components_match(p, &r[1..]))
        }
        (Some((first, rest)), Some((name, names))) => {
            ftp_proto::glob::matches(first.as_bytes(), name.as_bytes())
                && components_match(rest, names)
        }
        _ => false,
    }
}

impl<S> Client<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// [`upload_tree`](Client::upload_tree) with [`MirrorOptions`]: only what changed,
    /// deletions, patterns, kept times, a dry run, retries (over this one session; use
    /// [`Mirror`] with [`Mirror::connect_with`] for parallel copies and reconnections).
    pub async fn upload_tree_with(
        &mut self,
        local: impl AsRef<Path>,
        remote: impl AsRef<[u8]>,
        options: MirrorOptions,
    ) -> Result<MirrorReport> {
        Mirror::new(options)
            .upload(self, local.as_ref(), remote.as_ref())
            .await
    }

    /// [`download_tree`](Client::download_tree) with [`MirrorOptions`] (see
    /// [`upload_tree_with`](Self::upload_tree_with)).
    pub async fn download_tree_with(
        &mut self,
        remote: impl AsRef<[u8]>,
        local: impl AsRef<Path>,
        options: MirrorOptions,
    ) -> Result<MirrorReport> {
        Mirror::new(options)
            .download(self, remote.as_ref(), local.as_ref())
            .await
    }
}

impl<S> Client<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// The server's checksum of the bytes `range` of a file (`RANG`, then `HASH`; `TYPE I`,
    /// which `RANG` needs).
    pub async fn hash_range(
        &mut self,
        path: impl AsRef<[u8]>,
        algorithm: HashAlgorithm,
        range: std::ops::Range<u64>,
    ) -> Result<ftp_proto::checksum::Digest> {
        if range.is_empty() {
            return Err(Error::Io(std::io::Error::other("an empty range")));
        }
        self.set_type(TransferType::Image).await?;
        // Before RANG: any other command in between would clear the range.
        if !self.select_hash(algorithm).await? {
            return Err(Error::Io(std::io::Error::other(
                "the server has no HASH for this algorithm, so no checksum of a range",
            )));
        }
        let rang = ftp_proto::Command::Rang {
            start: range.start,
            end: range.end - 1,
        };
        self.run(rang).await?;
        let hashed = self
            .run(ftp_proto::Command::Hash(crate::client::arg(path)?))
            .await;
        let parsed = hashed
            .as_ref()
            .ok()
            .and_then(ftp_proto::checksum::parse_hash_reply);
        // The draft writes the range's last byte, ProFTPD the byte after it; a server whose
        // HASH ignores RANG (ProFTPD's does) answers for the whole file, and keeps the range
        // for the next transfer: it is cleared (`RANG 1 0`) so no upload takes it.
        match parsed {
            Some(r)
                if r.algorithm == algorithm
                    && r.range.0 == range.start
                    && (r.range.1 == range.end - 1 || r.range.1 == range.end) =>
            {
                Ok(r.digest)
            }
            _ => {
                let _ = self
                    .run(ftp_proto::Command::Rang { start: 1, end: 0 })
                    .await;
                match hashed {
                    Err(e) => Err(e),
                    Ok(reply) => Err(Error::MalformedReply(reply)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("*.tmp", "a/b/c.tmp"));
        assert!(!pattern_matches("*.tmp", "a/b/c.tmp.keep"));
        assert!(pattern_matches("cache/**", "cache/x/y"));
        assert!(pattern_matches("**/node_modules", "a/b/node_modules"));
        assert!(pattern_matches("a/*/c", "a/b/c"));
        assert!(!pattern_matches("a/*/c", "a/b/x/c"));
        assert!(pattern_matches("a/**/c", "a/b/x/c"));
        assert!(pattern_matches("/top.txt", "top.txt"));
        assert!(!pattern_matches("/top.txt", "sub/top.txt"));
    }

    #[test]
    fn what_is_retried() {
        assert!(retryable(&Error::Closed(None)));
        assert!(retryable(&Error::Broken));
        assert!(!retryable(&Error::Io(std::io::ErrorKind::NotFound.into())));
        assert!(retryable(&Error::Io(
            std::io::ErrorKind::ConnectionReset.into()
        )));
    }

    #[test]
    fn report_summary() {
        let mut r = MirrorReport::default();
        r.changes.push(Change {
            path: "a".into(),
            kind: ChangeKind::New,
            bytes: 3,
        });
        r.unchanged = 4;
        r.transferred = 3;
        assert_eq!(
            r.summary(),
            "1 new, 0 changed, 0 deleted, 4 unchanged, 0 directories, 3 bytes"
        );
    }
}
