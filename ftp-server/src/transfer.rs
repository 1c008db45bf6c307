//! Data transfers: one background task per transfer, streaming through one buffer.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use ftp_proto::glob::NamePattern;
use ftp_proto::listing::{DirEntry, FactSet, ListFormat, write_entry};
use ftp_proto::server::{
    DataEndpoint, FailureKind, ListSource, Representation, STOU_ATTEMPTS, Transfer, TransferKind,
    WriteMode, unique_name,
};
use ftp_proto::{AsciiDecoder, AsciiEncoder, LogSafe, Permissions, Timestamp, VirtualPath};
use futures_channel::{mpsc, oneshot};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::future::{Either, select};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use ftp_runtime::tls::MaybeTls;
use ftp_runtime::{Listener, TcpStream};

use crate::auth::Principal;
use crate::shared::{PassiveSlot, Shared};
use crate::storage::{DirLister, LocalFile, Storage, StorageError};
use crate::tls::SessionTls;

/// A data connection: plain, or TLS with this end the server.
pub(crate) type DataStream = MaybeTls<TcpStream>;

/// The data connection a passive listener accepted, or why none came; delivered once.
pub(crate) struct PassiveData {
    accepted: oneshot::Receiver<Result<DataStream, FailureKind>>,
    /// Boxed: every session has room for a `PassiveData`.
    held: Box<Held>,
}

/// What a passive listener holds besides its connection.
struct Held {
    /// Fires once the accept task has closed its listener (the port is free again).
    released: oneshot::Receiver<()>,
    /// Counts against the client address's passive listeners until dropped (at once when
    /// the session replaces or drops it, not when the accept task next wakes).
    _slot: PassiveSlot,
}

/// Starts accepting on a passive listener at once, before any transfer command, closing
/// connections `admits` refuses (port stealing, RFC 2577 §5). With `tls` (`PROT P`) the TLS
/// handshake runs as soon as the connection arrives, within the machine's limit: many clients
/// start it right after connecting and send the transfer command only once it is done. The
/// task ends with the first admitted connection, or when the session drops the
/// [`PassiveData`] (a new `PASV`, the session's end).
pub(crate) fn accept_passive<S, A>(
    shared: &Shared<S, A>,
    listener: Box<dyn Listener>,
    slot: PassiveSlot,
    admits: DataEndpoint,
    tls: Option<Arc<SessionTls>>,
) -> PassiveData {
    let (mut tx, accepted) = oneshot::channel();
    let (released_tx, released) = oneshot::channel();
    let runtime = Arc::clone(&shared.runtime);
    let limit = shared.config.tls_handshake_timeout;
    let proxies = shared.options.trusted_proxies.clone();
    shared.runtime.spawn(Box::pin(async move {
        let work = async {
            // Foreign connections are closed; the wait goes on, up to this many of them.
            for _ in 0..16 {
                let mut stream = listener
                    .accept()
                    .await
                    .map_err(|_| FailureKind::DataConnectionFailed)?;
                let mut from = stream.peer_addr();
                // Through a trusted balancer: the client it names is the one checked.
                if proxies
                    .as_deref()
                    .is_some_and(|trusted| crate::proxy::trusted(trusted, from.ip()))
                {
                    match crate::proxy::client_behind(&*runtime, &mut stream, from).await {
                        Some(client) => from = client,
                        None => continue,
                    }
                }
                if !admits.admits(from.ip()) {
                    tracing::warn!(%from, "data connection from a foreign address refused");
                    continue;
                }
                return match &tls {
                    Some(tls) => tls.accept_data(&*runtime, limit, stream).await,
                    None => Ok(MaybeTls::Plain(stream)),
                };
            }
            Err(FailureKind::DataConnectionFailed)
        };
        let result = match select(std::pin::pin!(work), tx.cancellation()).await {
            Either::Left((result, _)) => Some(result),
            Either::Right(_) => None,
        };
        // The port is free again.
        drop(listener);
        let _ = released_tx.send(());
        if let Some(result) = result {
            let _ = tx.send(result);
        }
    }));
    PassiveData {
        accepted,
        held: Box::new(Held {
            released,
            _slot: slot,
        }),
    }
}

impl PassiveData {
    /// Gives up the listener (and a connection it accepted) and waits until its port is free,
    /// so that the next `PASV` can have it at once (with a range of one port, say).
    pub(crate) async fn close(self) {
        let Self { accepted, held } = self;
        drop(accepted);
        let Held { released, _slot } = *held;
        let _ = released.await;
    }
}

/// What an upload may write, and what it started from (for the user's usage afterwards).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UploadPlan {
    /// Bytes the upload may write; `None`: no limit.
    room: Option<u64>,
    /// The file's size before, if it existed.
    old: Option<u64>,
    /// Where the upload starts writing (the restart offset; the old size for `APPE`).
    start: u64,
    /// Whether a quota applies (the usage is to be updated).
    quota: bool,
}

/// The limits of an upload: the largest file (`max_upload_size`) and the user's quota, in
/// bytes (how much the file may grow) and files (a new one must fit); a new file past the
/// file count is refused before its `150`.
async fn upload_plan<S: Storage, A>(
    shared: &Shared<S, A>,
    job: &Job,
) -> Result<UploadPlan, FailureKind> {
    let mode = match &job.transfer.kind {
        TransferKind::Store { mode } => Some(*mode),
        TransferKind::StoreUnique => None,
        _ => return Ok(UploadPlan::default()),
    };
    let (quota_bytes, quota_files) = shared.options.user_quota;
    let quota = quota_bytes.is_some() || quota_files.is_some();
    if shared.options.max_upload_size.is_none() && !quota {
        return Ok(UploadPlan::default());
    }
    // The file's size matters for the quota, and for APPE (where the upload starts); the
    // size limit alone needs no metadata call for STOR.
    let old = match mode {
        Some(m) if quota || m == WriteMode::Append => shared
            .storage
            .metadata(&job.principal, &job.path)
            .await
            .ok()
            .filter(|m| m.kind == ftp_proto::listing::FileKind::File)
            .map(|m| m.size),
        _ => None,
    };
    let start = match mode {
        Some(WriteMode::At(offset)) => offset,
        Some(WriteMode::Append) => old.unwrap_or(0),
        _ => 0,
    };
    let mut room = shared
        .options
        .max_upload_size
        .map(|max| max.saturating_sub(start));
    if quota {
        let usage = shared.usage_of(&job.principal).await;
        if old.is_none() && quota_files.is_some_and(|max| usage.files >= max) {
            return Err(FailureKind::QuotaExceeded);
        }
        if let Some(max) = quota_bytes {
            // The file may grow by what is left; what it held before counts as room.
            let growth = max.saturating_sub(usage.bytes);
            let bytes = growth
                .saturating_add(old.unwrap_or(0))
                .saturating_sub(start);
            room = Some(room.map_or(bytes, |r| r.min(bytes)));
        }
    }
    Ok(UploadPlan {
        room,
        old,
        start,
        quota,
    })
}

/// What a transfer task tells its session.
#[derive(Debug)]
pub(crate) enum TransferEvent {
    /// The file is open; the session sends `150` and then says go.
    Started { unique_name: Option<VirtualPath> },
    /// The data connection is open.
    Connected,
    /// Data moved (at most about once a second).
    Progress,
    /// The transfer ended: bytes moved, or why it failed.
    Finished(Result<u64, FailureKind>),
    /// A checksum (not a transfer) ended.
    Checksummed(Result<ftp_proto::checksum::Digest, FailureKind>),
}

/// Everything a transfer task needs, owned.
pub(crate) struct Job {
    pub(crate) transfer: Transfer,
    pub(crate) principal: Principal,
    /// The path in the storage namespace.
    pub(crate) path: VirtualPath,
    /// The path as the client sees it (for `STOU`'s reply).
    pub(crate) client_path: VirtualPath,
    /// What an upload may write under the size limit and the user's quota (set by `run`).
    pub(crate) plan: UploadPlan,
    /// The session's TLS state, when the data connection is protected (`PROT P`).
    pub(crate) tls: Option<Arc<SessionTls>>,
    pub(crate) local_ip: IpAddr,
}

enum Prepared<S: Storage> {
    Read(S::Reader),
    Write(S::Writer),
    List(Listing<S>),
}

enum Listing<S: Storage> {
    Dir(S::Lister),
    One(DirEntry),
    /// A directory's entries that match a wildcard pattern.
    Matching(S::Lister, NamePattern),
}

/// Runs one transfer to its end, reporting through `events`. `go` says that the 150 is on its
/// way and hands over the passive listener's connection (when the data channel is passive):
/// a transfer refused before it leaves that connection with the session, for the next one.
pub(crate) async fn run<S: Storage, A>(
    shared: Arc<Shared<S, A>>,
    mut job: Job,
    events: mpsc::UnboundedSender<TransferEvent>,
    go: oneshot::Receiver<Option<PassiveData>>,
    abort: oneshot::Receiver<()>,
) {
    let started = Instant::now();
    match upload_plan(&shared, &job).await {
        Ok(plan) => job.plan = plan,
        Err(kind) => {
            tracing::info!(user = %LogSafe(&job.principal.name), path = %job.path, "upload refused: over the user's quota");
            let _ = events.unbounded_send(TransferEvent::Finished(Err(kind)));
            return;
        }
    }
    let (prepared, unique_name) = match prepare(&*shared.storage, &job).await {
        Ok(p) => p,
        Err(e) => {
            crate::shared::log_storage_failure(&e, "transfer refused");
            let _ = events.unbounded_send(TransferEvent::Finished(Err(e.kind())));
            return;
        }
    };
    let _ = events.unbounded_send(TransferEvent::Started { unique_name });
    let Ok(mut passive) = go.await else {
        // The session ended before the 150 went out.
        if let Prepared::Write(w) = prepared {
            let _ = shared.storage.finish_write(w, false).await;
        }
        return;
    };
    let mut abort = abort;
    // ABOR, or the machine's deadline for the data connection, stops the wait at once.
    let opening = open_data(&shared, &job, passive.take(), &shared.options);
    let opened = until_aborted(opening, &mut abort).await;
    let data = match opened {
        Ok(d) => d,
        Err(kind) => {
            if let Prepared::Write(w) = prepared {
                let _ = shared.storage.finish_write(w, false).await;
            }
            let _ = events.unbounded_send(TransferEvent::Finished(Err(kind)));
            return;
        }
    };
    let _ = events.unbounded_send(TransferEvent::Connected);
    let progress = Progress::new(&events);
    let mut zero_copy = false;
    let result = move_data(
        &shared,
        &job,
        prepared,
        data,
        &mut abort,
        progress,
        &mut zero_copy,
    )
    .await;
    match &result {
        Ok(bytes) => {
            let secs = started.elapsed().as_secs_f64().max(1e-6);
            tracing::info!(
                user = %LogSafe(&job.principal.name),
                path = %job.path,
                kind = ?job.transfer.kind,
                bytes,
                zero_copy,
                rate_mib_s = format!("{:.1}", *bytes as f64 / secs / (1024.0 * 1024.0)),
                "transfer complete"
            );
        }
        Err(kind) => {
            tracing::info!(user = %LogSafe(&job.principal.name), path = %job.path, failure = ?kind, "transfer failed")
        }
    }
    let _ = events.unbounded_send(TransferEvent::Finished(result));
}

async fn prepare<S: Storage>(
    storage: &S,
    job: &Job,
) -> Result<(Prepared<S>, Option<VirtualPath>), StorageError> {
    use ftp_proto::server::FailureKind as K;
    let user = &job.principal;
    match &job.transfer.kind {
        TransferKind::Retrieve { offset, .. } => Ok((
            Prepared::Read(storage.open_read(user, &job.path, *offset).await?),
            None,
        )),
        TransferKind::Store { mode } => Ok((
            Prepared::Write(storage.open_write(user, &job.path, *mode).await?),
            None,
        )),
        TransferKind::StoreUnique => store_unique(storage, job).await,
        TransferKind::List { source, .. } => {
            let listing = match source {
                ListSource::Directory => Listing::Dir(storage.list(user, &job.path).await?),
                ListSource::Entry(entry) => Listing::One((**entry).clone()),
                ListSource::Matching(pattern) => {
                    Listing::Matching(storage.list(user, &job.path).await?, pattern.clone())
                }
                _ => return Err(K::Unsupported.into()),
            };
            Ok((Prepared::List(listing), None))
        }
        _ => Err(K::Unsupported.into()),
    }
}

/// `STOU`: the first of the machine's names that can be created.
async fn store_unique<S: Storage>(
    storage: &S,
    job: &Job,
) -> Result<(Prepared<S>, Option<VirtualPath>), StorageError> {
    let mut last = None;
    for attempt in 0..STOU_ATTEMPTS {
        let path = unique_name(&job.path, attempt);
        match storage
            .open_write(&job.principal, &path, WriteMode::CreateNew)
            .await
        {
            Ok(w) => {
                let name = unique_name(&job.client_path, attempt);
                return Ok((Prepared::Write(w), Some(name)));
            }
            Err(e) if e.kind() == FailureKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| FailureKind::AlreadyExists.into()))
}

/// Opens the data connection, with TLS under `PROT P` (this end always the TLS server,
/// RFC 4217 §7); the machine's deadline for it ends the wait (by abort).
async fn open_data<S, A>(
    shared: &Shared<S, A>,
    job: &Job,
    passive: Option<PassiveData>,
    options: &crate::ServerOptions,
) -> Result<DataStream, FailureKind> {
    let runtime = &*shared.runtime;
    let limit = shared.config.tls_handshake_timeout;
    let stream = match job.transfer.data {
        DataEndpoint::Passive { .. } => {
            let passive = passive.ok_or(FailureKind::DataConnectionFailed)?;
            passive
                .accepted
                .await
                .map_err(|_| FailureKind::DataConnectionFailed)??
        }
        DataEndpoint::Active(to) => {
            let from = options
                .active_local_port
                .map(|port| SocketAddr::new(job.local_ip, port));
            let stream = runtime.connect(to, from).await.map_err(|e| {
                tracing::debug!(%to, error = %e, "active data connection failed");
                FailureKind::DataConnectionFailed
            })?;
            MaybeTls::Plain(stream)
        }
        _ => return Err(FailureKind::DataConnectionFailed),
    };
    match (&job.tls, stream) {
        // PROT P: handshaken on arrival, or (active mode, PROT P after PASV) now.
        (Some(_), stream @ MaybeTls::Server(_)) => Ok(stream),
        (Some(tls), MaybeTls::Plain(stream)) => tls.accept_data(runtime, limit, stream).await,
        (None, stream @ MaybeTls::Plain(_)) => Ok(stream),
        // PROT C after a PASV under PROT P: the connection speaks TLS, the transfer must not.
        _ => Err(FailureKind::DataTlsFailed),
    }
}

async fn move_data<S: Storage, A>(
    shared: &Shared<S, A>,
    job: &Job,
    prepared: Prepared<S>,
    mut data: DataStream,
    abort: &mut oneshot::Receiver<()>,
    progress: Progress<'_>,
    zero_copy: &mut bool,
) -> Result<u64, FailureKind> {
    let upload = matches!(prepared, Prepared::Write(_));
    let mut io = Io {
        progress,
        buf: vec![0; shared.options.transfer_buffer],
        pace: Pace::new(shared, &job.principal.name, upload),
        room: job.plan.room,
    };
    let ascii = job.transfer.representation == Representation::Ascii;
    match prepared {
        Prepared::Read(mut reader) => {
            // RANG's length; to the end of the file without one.
            let length = match job.transfer.kind {
                TransferKind::Retrieve {
                    length: Some(n), ..
                } => n,
                _ => u64::MAX,
            };
            let mut sent = 0;
            if let (false, true, MaybeTls::Plain(stream)) =
                (ascii, shared.options.zero_copy, &mut data)
                && stream.can_send_file()
                && let Some(local) = S::local_file(&mut reader)
            {
                let work = io.send_file(local, stream, length);
                match until_aborted(work, abort).await {
                    Ok(Sent::All(n)) => {
                        *zero_copy = true;
                        return finish_data(data, Ok(n), abort).await;
                    }
                    // The kernel cannot send this file: what is left goes the usual way.
                    Ok(Sent::Fallback(n)) => sent = n,
                    Err(kind) => return Err(kind),
                }
            }
            let mut reader = (&mut reader).take(length - sent);
            let work = io.pump(&mut reader, &mut data, ascii, false);
            let result = until_aborted(work, abort).await.map(|n| n + sent);
            finish_data(data, result, abort).await
        }
        Prepared::Write(mut writer) => {
            let work = io.pump(&mut data, &mut writer, ascii, true);
            let mut result = until_aborted(work, abort).await;
            if result.is_ok() {
                // Our close_notify after the client's: a TLS client that waits for it, and
                // reads what is left before it closes, leaves nothing unread to reset on.
                let close = async { data.close().await.map_err(|_| FailureKind::Aborted) };
                if let Err(kind) = until_aborted(close, abort).await {
                    result = Err(kind);
                }
            }
            // The back-end decides what a broken-off upload leaves (see
            // `Storage::finish_write`: the last good version of a replaced file, or what
            // arrived of a new one, for REST or APPE to resume). Not abortable: an
            // interrupted finish could lose what the back-end buffered.
            let finished = shared.storage.finish_write(writer, result.is_ok()).await;
            let result = match (result, finished) {
                (Ok(n), Ok(())) => Ok(n),
                (Ok(_), Err(e)) => Err(e.kind()),
                (Err(kind), _) => Err(kind),
            };
            account_upload(shared, job, &result, ascii);
            result
        }
        Prepared::List(listing) => {
            let TransferKind::List {
                format,
                show_hidden,
                permissions,
                ..
            } = &job.transfer.kind
            else {
                return Err(FailureKind::LocalError);
            };
            let work = io.list(listing, &mut data, *format, *show_hidden, *permissions);
            let result = until_aborted(work, abort).await;
            finish_data(data, result, abort).await
        }
    }
}

/// Keeps the user's usage up to date after an upload: a complete binary one by its size; any
/// other (broken off, ASCII, whose stored size differs) has it counted again next time.
fn account_upload<S: Storage, A>(
    shared: &Shared<S, A>,
    job: &Job,
    result: &Result<u64, FailureKind>,
    ascii: bool,
) {
    let plan = &job.plan;
    if !plan.quota {
        return;
    }
    let name = &job.principal.name;
    match result {
        Ok(written) if !ascii => {
            let mut all = shared.usage_lock();
            if let Some(usage) = all.get_mut(name) {
                let new = plan.start.saturating_add(*written);
                let old = plan.old.unwrap_or(0);
                usage.bytes = usage.bytes.saturating_add(new).saturating_sub(old);
                if plan.old.is_none() {
                    usage.files += 1;
                }
            }
        }
        _ => shared.forget_usage(name),
    }
}

/// `work`, unless the session aborts the transfer first (`ABOR`, one of the machine's
/// deadlines, the session's end).
pub(crate) async fn until_aborted<T>(
    work: impl Future<Output = Result<T, FailureKind>>,
    abort: &mut oneshot::Receiver<()>,
) -> Result<T, FailureKind> {
    match select(std::pin::pin!(work), abort).await {
        Either::Left((result, _)) => result,
        // Sent (ABOR) or dropped (the session is gone): stop either way.
        Either::Right(_) => Err(FailureKind::Aborted),
    }
}

/// Closes the data connection after sending: the client sees end of file only once every byte
/// is flushed.
async fn finish_data<T: AsyncWrite + Unpin>(
    mut data: T,
    result: Result<u64, FailureKind>,
    abort: &mut oneshot::Receiver<()>,
) -> Result<u64, FailureKind> {
    let n = result?;
    let close = async { data.close().await.map_err(|_| FailureKind::Aborted) };
    until_aborted(close, abort).await?;
    Ok(n)
}

/// The most a zero-copy download asks the kernel to send in one call.
const ZERO_COPY_STEP: usize = 4 << 20;

/// How a zero-copy download went: all of it, or the bytes sent before the kernel declined
/// the file.
enum Sent {
    All(u64),
    Fallback(u64),
}

/// `sendfile` cannot take this file (not that the transfer failed): EINVAL and ENOSYS, which
/// std reads as these kinds, or a stream without it.
fn declined(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(e.kind(), K::Unsupported | K::InvalidInput)
}

/// A failed `sendfile`: the peer's side (426), or the file's (by its kind).
fn send_failure(e: std::io::Error) -> FailureKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::BrokenPipe
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::TimedOut
        | K::WriteZero => FailureKind::Aborted,
        _ => StorageError::from(e).kind(),
    }
}

struct Io<'a> {
    progress: Progress<'a>,
    buf: Vec<u8>,
    /// The bandwidth limits this transfer is held to.
    pace: Pace<'a>,
    /// For an upload under a size limit: how many bytes more the file may take.
    room: Option<u64>,
}

/// The bandwidth limits of one transfer's direction: the session's own bucket, and the
/// user's and the server's, shared.
pub(crate) struct Pace<'a> {
    runtime: &'a dyn ftp_runtime::Runtime,
    bandwidth: &'a std::sync::Mutex<crate::shared::Bandwidth>,
    own: Option<ftp_proto::rate::TokenBucket>,
    user: &'a str,
    user_rate: Option<u64>,
    /// 0 uploads, 1 downloads.
    way: usize,
    /// Whether any limit applies (else no lock is taken per chunk).
    limited: bool,
}

impl<'a> Pace<'a> {
    pub(crate) fn new<S, A>(shared: &'a Shared<S, A>, user: &'a str, upload: bool) -> Self {
        let limits = &shared.options.rate_limits;
        let (own, user_rate, server) = if upload {
            (limits.session_up, limits.user_up, limits.server_up)
        } else {
            (limits.session_down, limits.user_down, limits.server_down)
        };
        Self {
            runtime: &*shared.runtime,
            bandwidth: &shared.bandwidth,
            own: crate::shared::bucket(own, Instant::now()),
            user,
            user_rate,
            way: usize::from(!upload),
            limited: own.is_some() || user_rate.is_some() || server.is_some(),
        }
    }

    /// `n` bytes went: pauses as long as the strictest limit asks.
    pub(crate) async fn after(&mut self, n: usize) {
        if !self.limited || n == 0 {
            return;
        }
        let now = Instant::now();
        let n = n as u64;
        let mut wait = self.own.as_mut().map_or(Duration::ZERO, |b| b.take(n, now));
        {
            let mut shared = self
                .bandwidth
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(b) = shared.server.get_mut(self.way).and_then(Option::as_mut) {
                wait = wait.max(b.take(n, now));
            }
            if self.user_rate.is_some() {
                // The user's pair, made at their first transfer (no allocation per chunk after).
                if !shared.users.contains_key(self.user) {
                    let rate = self.user_rate;
                    let pair = [
                        crate::shared::bucket(rate, now),
                        crate::shared::bucket(rate, now),
                    ];
                    shared.users.insert(self.user.to_owned(), pair);
                }
                let pair = shared.users.get_mut(self.user);
                if let Some(b) = pair
                    .and_then(|p| p.get_mut(self.way))
                    .and_then(Option::as_mut)
                {
                    wait = wait.max(b.take(n, now));
                }
            }
        }
        if !wait.is_zero() {
            ftp_runtime::sleep(self.runtime, wait).await;
        }
    }
}

/// Tells the session, now and then, that data moves: the machine's stall timeout counts
/// from the last report.
pub(crate) struct Progress<'a> {
    events: &'a mpsc::UnboundedSender<TransferEvent>,
    last: Instant,
}

impl<'a> Progress<'a> {
    /// At most one report a second, whatever the chunk rate.
    const EVERY: Duration = Duration::from_secs(1);

    pub(crate) fn new(events: &'a mpsc::UnboundedSender<TransferEvent>) -> Self {
        Self {
            events,
            last: Instant::now(),
        }
    }

    pub(crate) fn tick(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.last) >= Self::EVERY {
            self.last = now;
            let _ = self.events.unbounded_send(TransferEvent::Progress);
        }
    }
}

/// Line-end conversion of a copy (RFC 959 §3.1.1.1).
enum Convert {
    Binary,
    /// Stored LF to wire CRLF (downloads in `TYPE A`).
    ToWire(AsciiEncoder),
    /// Wire CRLF to stored LF (uploads in `TYPE A`).
    FromWire(AsciiDecoder),
}

impl Convert {
    fn new(ascii: bool, upload: bool) -> Self {
        match (ascii, upload) {
            (false, _) => Self::Binary,
            (true, false) => Self::ToWire(AsciiEncoder::new()),
            (true, true) => Self::FromWire(AsciiDecoder::new()),
        }
    }

    /// The converted form of `chunk` (empty `chunk`: the end of the stream).
    fn apply<'a>(&mut self, chunk: &'a [u8], scratch: &'a mut BytesMut) -> &'a [u8] {
        scratch.clear();
        match self {
            Self::Binary => return chunk,
            Self::ToWire(encoder) => encoder.encode(chunk, scratch),
            Self::FromWire(decoder) if chunk.is_empty() => decoder.finish(scratch),
            Self::FromWire(decoder) => decoder.decode(chunk, scratch),
        }
        scratch
    }
}

impl Io<'_> {
    /// Copies until `from` ends, counting the bytes on the data connection. Errors on the data
    /// connection abort the transfer (426); errors on the storage side map by their kind.
    async fn pump(
        &mut self,
        from: &mut (impl AsyncRead + Unpin),
        to: &mut (impl AsyncWrite + Unpin),
        ascii: bool,
        upload: bool,
    ) -> Result<u64, FailureKind> {
        let failure = |data_side: bool, e: std::io::Error| {
            if data_side && e.kind() == std::io::ErrorKind::UnexpectedEof {
                // Only TLS reports this (plain TCP ends with a read of 0): the peer closed
                // without close_notify, so the end of the data may be missing.
                FailureKind::DataTlsTruncated
            } else if data_side {
                FailureKind::Aborted
            } else {
                StorageError::from(e).kind()
            }
        };
        let mut convert = Convert::new(ascii, upload);
        let mut scratch = BytesMut::new();
        let mut total = 0u64;
        loop {
            let n = from
                .read(&mut self.buf)
                .await
                .map_err(|e| failure(upload, e))?;
            let out = convert.apply(self.buf.get(..n).unwrap_or_default(), &mut scratch);
            if let Some(room) = self.room.as_mut() {
                // The file would grow past the limit: 552, and the upload is incomplete.
                *room = room
                    .checked_sub(out.len() as u64)
                    .ok_or(FailureKind::QuotaExceeded)?;
            }
            if !out.is_empty() {
                to.write_all(out).await.map_err(|e| failure(!upload, e))?;
            }
            self.progress.tick();
            let moved = if upload { n } else { out.len() };
            total += moved as u64;
            self.pace.after(moved).await;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Sends a local file with the kernel's zero-copy path: its head as bytes, then up to
    /// `length` bytes in all from the file. [`Sent::Fallback`] when the kernel declines the
    /// file before any of it went (a file system without `sendfile`): the reader is untouched
    /// past the head, and the rest is read from it.
    async fn send_file(
        &mut self,
        local: LocalFile<'_>,
        to: &mut TcpStream,
        length: u64,
    ) -> Result<Sent, FailureKind> {
        // A count past usize is no bound on what memory or one call can hold.
        let at_most = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let head = local
            .head
            .get(..at_most(length).min(local.head.len()))
            .unwrap_or_default();
        let mut total = head.len() as u64;
        if !head.is_empty() {
            to.write_all(head).await.map_err(|_| FailureKind::Aborted)?;
            self.progress.tick();
            self.pace.after(head.len()).await;
        }
        // Under a rate limit, steps of the transfer buffer, as copies take; else as much as
        // the socket buffer takes per call.
        let step = if self.pace.limited {
            self.buf.len()
        } else {
            ZERO_COPY_STEP
        };
        let mut offset = local.offset;
        while total < length {
            let want = at_most(length - total).min(step);
            let n = match to.send_file(local.file, offset, want).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if offset == local.offset && declined(&e) => {
                    tracing::debug!(error = %e, "sendfile declined: copying instead");
                    return Ok(Sent::Fallback(total));
                }
                Err(e) => return Err(send_failure(e)),
            };
            offset += n as u64;
            total += n as u64;
            self.progress.tick();
            self.pace.after(n).await;
        }
        Ok(Sent::All(total))
    }

    async fn list<S: Storage>(
        &mut self,
        listing: Listing<S>,
        to: &mut (impl AsyncWrite + Unpin),
        format: ListFormat,
        show_hidden: bool,
        perms: Permissions,
    ) -> Result<u64, FailureKind> {
        let now = wall_clock();
        let mut out = BytesMut::new();
        let mut total = 0u64;
        // The pattern decides which names show (a leading `.` only for `.*`-like ones).
        let write_page =
            |entries: Vec<DirEntry>, pattern: Option<&NamePattern>, out: &mut BytesMut| {
                for mut entry in entries {
                    match pattern {
                        Some(pattern) => match pattern.shown(&entry.name) {
                            Some(name) => entry.name = name,
                            None => continue,
                        },
                        None if !show_hidden && entry.name.first() == Some(&b'.') => continue,
                        None => {}
                    }
                    write_entry(&entry, format, now, perms, out);
                }
            };
        let (mut lister, pattern) = match listing {
            Listing::One(entry) => {
                write_page(vec![entry], None, &mut out);
                (None, None)
            }
            Listing::Dir(lister) => (Some(lister), None),
            Listing::Matching(lister, pattern) => (Some(lister), Some(pattern)),
        };
        if let Some(lister) = lister.as_mut() {
            loop {
                let page = lister.next_page().await.map_err(|e| e.kind())?;
                if page.is_empty() {
                    break;
                }
                write_page(page, pattern.as_ref(), &mut out);
                self.progress.tick();
                if out.len() >= self.buf.len() {
                    to.write_all(&out).await.map_err(|_| FailureKind::Aborted)?;
                    total += out.len() as u64;
                    out.clear();
                }
            }
        }
        to.write_all(&out).await.map_err(|_| FailureKind::Aborted)?;
        Ok(total + out.len() as u64)
    }
}

/// The wall-clock time for listing dates (recent entries show the time, older ones the year);
/// 1970 if the clock cannot be read as a timestamp.
pub(crate) fn wall_clock() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now()).unwrap_or_else(|_| {
        Timestamp::from_unix(0, 0)
            .unwrap_or_else(|_| unreachable!("1970-01-01 is a valid timestamp"))
    })
}

/// The facts this server can fill, for `FEAT`.
pub(crate) const SUPPORTED_FACTS: FactSet = FactSet::DEFAULT.union(FactSet::UNIX_MODE);
