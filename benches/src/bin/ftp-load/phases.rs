//! The measurements. Each is bounded in count and in time, cleans up its own connections, and
//! records what it created on the server so that the end of the run can remove it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{AsyncReadExt, AsyncWriteExt, StreamExt, stream};
use tokio::sync::Barrier;
use tokio_util::task::LocalPoolHandle;

use crate::net::{Ftp, Target, describe};
use crate::procmem::{Usage, tree_usage};
use crate::report::{Json, PhaseReport, Row, fmt_num};
use crate::{Args, Client};

const MIB: f64 = 1024.0 * 1024.0;
/// The buffer downloads read into.
const READ_BUF: usize = 256 << 10;
/// The block uploads write (the same bytes again and again: data made on the fly).
const WRITE_BUF: usize = 1 << 20;

/// Tasks run on a pool of single-threaded runtimes, one per core: the client's futures are
/// not `Send` (its transfer futures borrow the whole client across an await, and the client
/// is not `Sync`), so they cannot move between the threads of a multi-threaded runtime.
pub(crate) type Pool = LocalPoolHandle;

/// Files and directories created on the server, removed at the end (deepest first).
#[derive(Debug, Default)]
pub(crate) struct Created {
    files: Vec<String>,
    dirs: Vec<String>,
}

/// Adds what happened to an error.
pub(crate) trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, String>;
}

impl<T> Context<T> for Result<T, ftp_client::Error> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, String> {
        self.map_err(|e| format!("{}: {}", what(), describe(&e)))
    }
}

impl<T> Context<T> for Result<T, io::Error> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, String> {
        self.map_err(|e| format!("{}: {e}", what()))
    }
}

/// One transfer's outcome.
#[derive(Clone, Copy, Debug)]
struct Transfer {
    bytes: u64,
    elapsed: Duration,
    /// Stopped at the time limit before the end.
    cut: bool,
}

impl Transfer {
    fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / MIB / self.elapsed.as_secs_f64()
    }
}

/// Bytes to upload: not all alike, so that no layer can compress them away.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            // xorshift32
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// `name` inside the remote directory `dir` (`""` is the login directory).
pub(crate) fn remote_join(dir: &str, name: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Creates the work directory the other phases fill.
pub(crate) async fn make_work_dir(
    ftp: &mut Ftp,
    dir: &str,
    created: &mut Created,
) -> Result<(), String> {
    ftp.mkdir(dir)
        .await
        .ctx(|| format!("MKD {dir} (is --dir a writable directory?)"))?;
    created.dirs.push(dir.to_owned());
    Ok(())
}

/// Uploads `size` bytes made from `block` to `path`, stopping early at `deadline`.
async fn upload(
    ftp: &mut Ftp,
    path: &str,
    size: u64,
    block: &[u8],
    deadline: Option<Instant>,
) -> Result<Transfer, String> {
    let start = Instant::now();
    let mut w = ftp.stor(path, 0).await.ctx(|| format!("STOR {path}"))?;
    let (mut sent, mut cut) = (0u64, false);
    while sent < size {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            cut = true;
            break;
        }
        let n = usize::try_from(size - sent).map_or(block.len(), |left| left.min(block.len()));
        let chunk = block.get(..n).unwrap_or(block);
        w.write_all(chunk)
            .await
            .ctx(|| format!("STOR {path} after {sent} bytes"))?;
        sent += chunk.len() as u64;
    }
    w.finish()
        .await
        .ctx(|| format!("STOR {path}: the final reply"))?;
    Ok(Transfer {
        bytes: sent,
        elapsed: start.elapsed(),
        cut,
    })
}

/// Downloads `path`, counting its bytes, stopping early (`ABOR`) at `deadline`.
async fn download(
    ftp: &mut Ftp,
    path: &str,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> Result<Transfer, String> {
    let start = Instant::now();
    let mut r = ftp.retr(path, 0).await.ctx(|| format!("RETR {path}"))?;
    let (mut got, mut cut) = (0u64, false);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            cut = true;
            r.abort().await.ctx(|| format!("ABOR of RETR {path}"))?;
            break;
        }
        let n = r
            .read(buf)
            .await
            .ctx(|| format!("RETR {path} after {got} bytes"))?;
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    Ok(Transfer {
        bytes: got,
        elapsed: start.elapsed(),
        cut,
    })
}

/// The single-stream phase with suppaftp's blocking client, the way its documentation
/// transfers a stream: `put_with_stream` and `retr_as_stream`, binary type, passive mode
/// (its default), the same block written and the same buffer read as with ours. No time
/// limit: suppaftp has no way to cut a transfer short but dropping it.
fn suppaftp_single(
    addr: std::net::SocketAddr,
    user: &str,
    password: &str,
    path: &str,
    size: u64,
    block: &[u8],
) -> Result<(Transfer, Transfer), String> {
    use std::io::{Read, Write};
    let e = |what: &str| {
        let what = what.to_owned();
        move |e: suppaftp::FtpError| format!("suppaftp, {what}: {e}")
    };
    let mut ftp = suppaftp::FtpStream::connect(addr).map_err(e("connect"))?;
    ftp.login(user, password).map_err(e("login"))?;
    ftp.transfer_type(suppaftp::types::FileType::Binary)
        .map_err(e("TYPE I"))?;
    let start = Instant::now();
    let mut w = ftp.put_with_stream(path).map_err(e("STOR"))?;
    let mut sent = 0u64;
    while sent < size {
        let n = usize::try_from(size - sent).map_or(block.len(), |left| left.min(block.len()));
        let chunk = block.get(..n).unwrap_or(block);
        w.write_all(chunk)
            .map_err(|err| format!("suppaftp, STOR after {sent} bytes: {err}"))?;
        sent += chunk.len() as u64;
    }
    w.finish().map_err(e("STOR's final reply"))?;
    let up = Transfer {
        bytes: sent,
        elapsed: start.elapsed(),
        cut: false,
    };
    let start = Instant::now();
    let mut r = ftp.retr_as_stream(path).map_err(e("RETR"))?;
    let mut buf = vec![0u8; READ_BUF];
    let mut got = 0u64;
    loop {
        let n = r
            .read(&mut buf)
            .map_err(|err| format!("suppaftp, RETR after {got} bytes: {err}"))?;
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    r.finish().map_err(e("RETR's final reply"))?;
    let down = Transfer {
        bytes: got,
        elapsed: start.elapsed(),
        cut: false,
    };
    let _ = ftp.quit();
    Ok((up, down))
}

fn cut_note(t: &Transfer, limit: Duration) -> String {
    if t.cut {
        format!(", cut at the {} s limit", limit.as_secs_f64())
    } else {
        String::new()
    }
}

/// 1. One large file up, then down, on one session.
pub(crate) async fn single(
    target: &Target,
    args: &Args,
    work: &str,
    created: &mut Created,
) -> Result<PhaseReport, String> {
    let path = remote_join(work, "big.bin");
    let size = args.size_mib << 20;
    let limit = args.max_duration();
    let block = pattern(WRITE_BUF);
    created.files.push(path.clone());
    let (up, down) = match args.client {
        Client::Ours => {
            let mut ftp = target.session().await.ctx(|| "connect and log in".into())?;
            let up = upload(&mut ftp, &path, size, &block, Some(Instant::now() + limit)).await?;
            let mut buf = vec![0u8; READ_BUF];
            let down = download(&mut ftp, &path, &mut buf, Some(Instant::now() + limit)).await?;
            let _ = ftp.quit().await;
            (up, down)
        }
        Client::Suppaftp => {
            let (addr, user, password) = (target.addr(), args.user.clone(), args.password.clone());
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                suppaftp_single(addr, &user, &password, &path, size, &block)
            })
            .await
            .map_err(|e| format!("the suppaftp thread: {e}"))??
        }
    };
    if !down.cut && down.bytes != up.bytes {
        return Err(format!(
            "RETR {path} gave {} bytes, STOR sent {}",
            down.bytes, up.bytes
        ));
    }
    let label = match args.client {
        Client::Ours => format!("{} MiB", args.size_mib),
        Client::Suppaftp => format!("{} MiB, suppaftp", args.size_mib),
    };
    Ok(PhaseReport {
        key: "single",
        json: vec![
            ("size_bytes", Json::Int(size)),
            ("stor_bytes", Json::Int(up.bytes)),
            ("stor_seconds", Json::num(up.elapsed.as_secs_f64())),
            ("stor_mib_s", Json::num(up.mib_per_s())),
            ("stor_cut", Json::Bool(up.cut)),
            ("retr_bytes", Json::Int(down.bytes)),
            ("retr_seconds", Json::num(down.elapsed.as_secs_f64())),
            ("retr_mib_s", Json::num(down.mib_per_s())),
            ("retr_cut", Json::Bool(down.cut)),
        ],
        rows: vec![
            Row::new(
                format!("STOR, one stream, {label}"),
                fmt_num(up.mib_per_s()),
                format!(
                    "MiB/s ({:.0} MiB in {:.2} s{})",
                    up.bytes as f64 / MIB,
                    up.elapsed.as_secs_f64(),
                    cut_note(&up, limit)
                ),
            ),
            Row::new(
                format!("RETR, one stream, {label}"),
                fmt_num(down.mib_per_s()),
                format!(
                    "MiB/s ({:.0} MiB in {:.2} s, byte count checked{})",
                    down.bytes as f64 / MIB,
                    down.elapsed.as_secs_f64(),
                    cut_note(&down, limit)
                ),
            ),
        ],
    })
}

/// 2. Many downloads of one file at once, each on its own connection.
pub(crate) async fn concurrent(
    pool: &Pool,
    target: &Target,
    args: &Args,
    work: &str,
    created: &mut Created,
) -> Result<PhaseReport, String> {
    let streams = args.streams.max(1);
    let size = args.stream_mib << 20;
    let limit = args.max_duration();
    let path = remote_join(work, "concurrent.bin");
    {
        // Upload on a session of its own, closed before the downloads: a server limiting
        // connections per address (ours: 64) must have room for every stream.
        let mut ftp = target.session().await.ctx(|| "connect and log in".into())?;
        created.files.push(path.clone());
        let up = upload(&mut ftp, &path, size, &pattern(WRITE_BUF), None).await?;
        let _ = ftp.quit().await;
        if up.bytes != size {
            return Err(format!("STOR {path} sent {} of {size} bytes", up.bytes));
        }
    }
    // Everyone connects and logs in first; the clock starts when all are ready.
    let barrier = Arc::new(Barrier::new(streams + 1));
    let mut tasks = Vec::with_capacity(streams);
    for _ in 0..streams {
        let (target, barrier, path) = (target.clone(), barrier.clone(), path.clone());
        tasks.push(pool.spawn_pinned(move || async move {
            let session = target.session().await;
            barrier.wait().await;
            let mut ftp = session.ctx(|| "connect and log in".into())?;
            let mut buf = vec![0u8; READ_BUF];
            let t = download(&mut ftp, &path, &mut buf, Some(Instant::now() + limit)).await?;
            let end = Instant::now();
            let _ = ftp.quit().await;
            if !t.cut && t.bytes != size {
                return Err(format!("RETR {path} gave {} of {size} bytes", t.bytes));
            }
            Ok::<_, String>((t, end))
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    let (mut done, mut failed, mut first_error) = (Vec::new(), 0usize, None);
    for task in tasks {
        match task.await {
            Ok(Ok(result)) => done.push(result),
            Ok(Err(e)) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(format!("task failed: {e}"));
            }
        }
    }
    if done.is_empty() {
        return Err(format!(
            "every stream failed, the first: {}",
            first_error.unwrap_or_default()
        ));
    }
    let end = done.iter().map(|(_, end)| *end).max().unwrap_or(start);
    let elapsed = end.duration_since(start).as_secs_f64();
    let bytes: u64 = done.iter().map(|(t, _)| t.bytes).sum();
    let aggregate = bytes as f64 / MIB / elapsed;
    let slowest = done
        .iter()
        .map(|(t, _)| t.mib_per_s())
        .fold(f64::INFINITY, f64::min);
    let cut = done.iter().filter(|(t, _)| t.cut).count();
    let mut detail = format!(
        "MiB/s aggregate ({} of {streams} streams, {:.0} MiB in {elapsed:.2} s; slowest stream {} MiB/s",
        done.len(),
        bytes as f64 / MIB,
        fmt_num(slowest)
    );
    if cut > 0 {
        detail.push_str(&format!(
            "; {cut} cut at the {} s limit",
            limit.as_secs_f64()
        ));
    }
    detail.push(')');
    let mut rows = vec![Row::new(
        format!("RETR, {streams} streams x {} MiB", args.stream_mib),
        fmt_num(aggregate),
        detail,
    )];
    if let Some(e) = &first_error {
        rows.push(Row::new(
            "  failed streams",
            failed.to_string(),
            format!("first: {e}"),
        ));
    }
    Ok(PhaseReport {
        key: "concurrent",
        json: vec![
            ("streams", Json::Int(streams as u64)),
            ("size_bytes", Json::Int(size)),
            ("completed", Json::Int(done.len() as u64)),
            ("failed", Json::Int(failed as u64)),
            ("cut", Json::Int(cut as u64)),
            ("bytes", Json::Int(bytes)),
            ("seconds", Json::num(elapsed)),
            ("aggregate_mib_s", Json::num(aggregate)),
            ("slowest_stream_mib_s", Json::num(slowest)),
            ("first_error", first_error.map_or(Json::Null, Json::Str)),
        ],
        rows,
    })
}

/// What one worker of the session phase saw.
#[derive(Debug, Default)]
struct WorkerStats {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

/// One whole session: connect, log in, `LIST` (through `EPSV`) a directory, `QUIT`.
async fn one_session(target: &Target, dir: &str, entries: usize) -> Result<(), String> {
    let mut ftp = target.session().await.ctx(|| "connect and log in".into())?;
    let listing = ftp.list(dir).await.ctx(|| format!("LIST {dir}"))?;
    if listing.len() < entries {
        return Err(format!(
            "LIST {dir} gave {} entries, expected {entries}",
            listing.len()
        ));
    }
    ftp.quit().await.ctx(|| "QUIT".into())?;
    Ok(())
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 3. Whole sessions, back to back from many workers, for a fixed time.
pub(crate) async fn sessions(
    pool: &Pool,
    target: &Target,
    args: &Args,
    work: &str,
    created: &mut Created,
) -> Result<PhaseReport, String> {
    let entries = args.list_entries;
    let dir = match &args.list_dir {
        Some(existing) => existing.clone(),
        None => remote_join(work, "list"),
    };
    if args.list_dir.is_none() {
        let mut ftp = target.session().await.ctx(|| "connect and log in".into())?;
        ftp.mkdir(&dir).await.ctx(|| format!("MKD {dir}"))?;
        created.dirs.push(dir.clone());
        let block = pattern(100);
        for i in 0..entries {
            let path = remote_join(&dir, &format!("entry-{i:05}.txt"));
            created.files.push(path.clone());
            upload(&mut ftp, &path, block.len() as u64, &block, None).await?;
        }
        let _ = ftp.quit().await;
    }
    let workers = args.workers.max(1);
    let seconds = args.session_seconds.max(0.1);
    let claimed = Arc::new(AtomicU64::new(0));
    let max = args.max_sessions;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (target, dir, claimed) = (target.clone(), dir.clone(), claimed.clone());
        tasks.push(pool.spawn_pinned(move || async move {
            let mut stats = WorkerStats::default();
            while Instant::now() < deadline && claimed.fetch_add(1, Ordering::Relaxed) < max {
                let t0 = Instant::now();
                match one_session(&target, &dir, entries).await {
                    Ok(()) => stats.latencies.push(t0.elapsed()),
                    Err(e) => {
                        stats.errors += 1;
                        stats.first_error.get_or_insert(e);
                        // A refusing server answers at once; do not spin on it.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            stats
        }));
    }
    let mut all = WorkerStats::default();
    for task in tasks {
        match task.await {
            Ok(stats) => {
                all.latencies.extend(stats.latencies);
                all.errors += stats.errors;
                if all.first_error.is_none() {
                    all.first_error = stats.first_error;
                }
            }
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert(format!("worker failed: {e}"));
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let done = all.latencies.len();
    if done == 0 {
        return Err(format!(
            "no session completed, the first error: {}",
            all.first_error.unwrap_or_default()
        ));
    }
    all.latencies.sort_unstable();
    let (p50, p99) = (
        percentile(&all.latencies, 0.50),
        percentile(&all.latencies, 0.99),
    );
    let rate = done as f64 / elapsed;
    let mut rows = vec![
        Row::new(
            format!("sessions, {workers} workers"),
            fmt_num(rate),
            format!(
                "sessions/s ({done} in {elapsed:.2} s: connect, USER/PASS, EPSV, LIST of {entries}, QUIT)"
            ),
        ),
        Row::new(
            "  session latency p50",
            fmt_num(ms(p50)),
            format!("ms (p99 {} ms)", fmt_num(ms(p99))),
        ),
    ];
    if let Some(e) = &all.first_error {
        rows.push(Row::new(
            "  failed sessions",
            all.errors.to_string(),
            format!("first: {e}"),
        ));
    }
    Ok(PhaseReport {
        key: "sessions",
        json: vec![
            ("workers", Json::Int(workers as u64)),
            ("list_entries", Json::Int(entries as u64)),
            ("seconds", Json::num(elapsed)),
            ("completed", Json::Int(done as u64)),
            ("errors", Json::Int(all.errors)),
            ("sessions_per_s", Json::num(rate)),
            ("p50_ms", Json::num(ms(p50))),
            ("p99_ms", Json::num(ms(p99))),
            ("first_error", all.first_error.map_or(Json::Null, Json::Str)),
        ],
        rows,
    })
}

/// How long the memory phase lets a server settle before each reading. Longer than a server
/// keeps what a burst of logins took on a timer: ftpd's hash workers drop their 19 MiB
/// Argon2 buffers after 1 s without work. With 0.5 s the baseline still held the buffer of
/// the first login, which went during the loaded reading, and the figure per session came out
/// negative.
const SETTLE: Duration = Duration::from_secs(2);

/// 4. The server's memory at rest and with many idle, logged-in sessions.
pub(crate) async fn memory(
    target: &Target,
    args: &Args,
    pid: u32,
    wanted: usize,
) -> Result<PhaseReport, String> {
    let limit = args.max_duration();
    // The first session (the work directory's) has just logged in: what it left on a timer
    // goes first, so "cold" is the server before any session of this phase.
    tokio::time::sleep(SETTLE).await;
    let cold = tree_usage(pid)?;
    let deadline = Instant::now() + limit;
    // A warm-up round at the same parallelism, closed before the baseline: what a server
    // grows once and keeps (worker threads, allocator arenas, a password hash's buffers held
    // by the allocator) is not a cost of each session.
    let parallel = args.open_parallelism.max(1);
    let warm_up = open_sessions(target, wanted.min(parallel), parallel, deadline).await;
    close_sessions(
        warm_up.into_iter().filter_map(Result::ok).collect(),
        parallel,
    )
    .await;
    tokio::time::sleep(SETTLE).await;
    let rest = tree_usage(pid)?;
    let results = open_sessions(target, wanted, parallel, deadline).await;
    let (mut clients, mut failed, mut first_error) = (Vec::new(), 0usize, None);
    for r in results {
        match r {
            Ok(c) => clients.push(c),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let opened = clients.len();
    // Let the server settle (allocations after login, lazily touched pages, buffers a burst
    // of logins held).
    tokio::time::sleep(SETTLE).await;
    let loaded = tree_usage(pid);
    close_sessions(clients, parallel).await;
    let loaded = loaded?;
    if opened == 0 {
        return Err(format!(
            "no session opened, the first error: {}",
            first_error.unwrap_or_default()
        ));
    }
    let per = |after: u64, before: u64| (after as f64 - before as f64) / opened as f64;
    let rss_per = per(loaded.rss_kib, rest.rss_kib);
    let pss_per = per(loaded.pss_kib, rest.pss_kib);
    let cold_rss_per = per(loaded.rss_kib, cold.rss_kib);
    let cold_pss_per = per(loaded.pss_kib, cold.pss_kib);
    let procs = |u: &Usage| match u.processes {
        1 => String::new(),
        n => format!(", {n} processes"),
    };
    let mut rows = vec![
        Row::new(
            format!("memory per idle session ({opened} of {wanted})"),
            fmt_num(rss_per),
            format!(
                "KiB RSS (pid {pid}: {} -> {} KiB{})",
                rest.rss_kib,
                loaded.rss_kib,
                procs(&loaded)
            ),
        ),
        Row::new(
            "",
            fmt_num(pss_per),
            format!("KiB PSS ({} -> {} KiB)", rest.pss_kib, loaded.pss_kib),
        ),
        Row::new(
            "  from a cold server",
            fmt_num(cold_rss_per),
            format!(
                "KiB RSS, {} KiB PSS (before the warm-up: {} KiB RSS)",
                fmt_num(cold_pss_per),
                cold.rss_kib
            ),
        ),
    ];
    if let Some(e) = &first_error {
        rows.push(Row::new(
            "  sessions not opened",
            failed.to_string(),
            format!("first: {e}"),
        ));
    }
    Ok(PhaseReport {
        key: "memory",
        json: vec![
            ("pid", Json::Int(u64::from(pid))),
            ("wanted", Json::Int(wanted as u64)),
            ("opened", Json::Int(opened as u64)),
            ("failed", Json::Int(failed as u64)),
            ("processes", Json::Int(loaded.processes as u64)),
            ("rss_cold_kib", Json::Int(cold.rss_kib)),
            ("pss_cold_kib", Json::Int(cold.pss_kib)),
            ("rss_rest_kib", Json::Int(rest.rss_kib)),
            ("rss_loaded_kib", Json::Int(loaded.rss_kib)),
            ("pss_rest_kib", Json::Int(rest.pss_kib)),
            ("pss_loaded_kib", Json::Int(loaded.pss_kib)),
            ("rss_kib_per_session", Json::num(rss_per)),
            ("pss_kib_per_session", Json::num(pss_per)),
            ("cold_rss_kib_per_session", Json::num(cold_rss_per)),
            ("cold_pss_kib_per_session", Json::num(cold_pss_per)),
            ("first_error", first_error.map_or(Json::Null, Json::Str)),
        ],
        rows,
    })
}

/// Opens `n` logged-in sessions, `parallel` at a time, until `deadline`.
async fn open_sessions(
    target: &Target,
    n: usize,
    parallel: usize,
    deadline: Instant,
) -> Vec<Result<Ftp, String>> {
    stream::iter(0..n)
        .map(|_| {
            let target = target.clone();
            async move {
                if Instant::now() >= deadline {
                    return Err("the phase's time limit ran out".to_owned());
                }
                target.session().await.ctx(|| "connect and log in".into())
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await
}

/// Polite goodbyes, a few at a time; a failure here changes no figure.
async fn close_sessions(clients: Vec<Ftp>, parallel: usize) {
    stream::iter(clients)
        .for_each_concurrent(parallel, |c| async move {
            let _ = c.quit().await;
        })
        .await;
}

/// 5. Many small files up, then down, over one session.
pub(crate) async fn small(
    target: &Target,
    args: &Args,
    work: &str,
    created: &mut Created,
) -> Result<PhaseReport, String> {
    let dir = remote_join(work, "small");
    let size = args.small_kib << 10;
    let limit = args.max_duration();
    let mut ftp = target.session().await.ctx(|| "connect and log in".into())?;
    ftp.mkdir(&dir).await.ctx(|| format!("MKD {dir}"))?;
    created.dirs.push(dir.clone());
    let block = pattern(size);

    let start = Instant::now();
    let deadline = start + limit;
    let mut paths = Vec::with_capacity(args.small_files);
    for i in 0..args.small_files {
        if Instant::now() >= deadline {
            break;
        }
        let path = remote_join(&dir, &format!("f{i:05}.bin"));
        created.files.push(path.clone());
        upload(&mut ftp, &path, size as u64, &block, None).await?;
        paths.push(path);
    }
    let up_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let deadline = start + limit;
    let mut buf = vec![0u8; READ_BUF];
    let mut downloaded = 0usize;
    for path in &paths {
        if Instant::now() >= deadline {
            break;
        }
        let t = download(&mut ftp, path, &mut buf, None).await?;
        if t.bytes != size as u64 {
            return Err(format!("RETR {path} gave {} of {size} bytes", t.bytes));
        }
        downloaded += 1;
    }
    let down_s = start.elapsed().as_secs_f64();
    let _ = ftp.quit().await;

    let (up_rate, down_rate) = (paths.len() as f64 / up_s, downloaded as f64 / down_s);
    let kib = args.small_kib;
    Ok(PhaseReport {
        key: "small",
        json: vec![
            ("file_bytes", Json::Int(size as u64)),
            ("stored", Json::Int(paths.len() as u64)),
            ("stor_seconds", Json::num(up_s)),
            ("stor_files_s", Json::num(up_rate)),
            ("retrieved", Json::Int(downloaded as u64)),
            ("retr_seconds", Json::num(down_s)),
            ("retr_files_s", Json::num(down_rate)),
        ],
        rows: vec![
            Row::new(
                format!("STOR small files, {kib} KiB, one session"),
                fmt_num(up_rate),
                format!("files/s ({} in {up_s:.2} s)", paths.len()),
            ),
            Row::new(
                format!("RETR small files, {kib} KiB, one session"),
                fmt_num(down_rate),
                format!("files/s ({downloaded} in {down_s:.2} s, sizes checked)"),
            ),
        ],
    })
}

/// Removes what the run created, best effort, on a session of its own. Gives the rows and
/// JSON of the outcome.
pub(crate) async fn cleanup(target: &Target, created: Created) -> (Row, Json) {
    let total = created.files.len() + created.dirs.len();
    if total == 0 {
        return (
            Row::new("cleanup", "-".to_owned(), "nothing created"),
            Json::Obj(vec![("removed", Json::Int(0)), ("failed", Json::Int(0))]),
        );
    }
    let mut ftp = match target.session().await {
        Ok(ftp) => ftp,
        Err(e) => {
            let msg = format!("cannot connect to clean up: {}", describe(&e));
            return (
                Row::new("cleanup", "failed".to_owned(), msg.clone()),
                Json::Obj(vec![
                    ("removed", Json::Int(0)),
                    ("failed", Json::Int(total as u64)),
                    ("error", Json::Str(msg)),
                ]),
            );
        }
    };
    let (mut removed, mut failed, mut first_error) = (0u64, 0u64, None);
    for file in &created.files {
        match ftp.delete(file).await {
            Ok(_) => removed += 1,
            // Never made (a phase that stopped early) is as good as removed.
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(format!("DELE {file}: {}", describe(&e)));
                if matches!(e, ftp_client::Error::Broken | ftp_client::Error::Closed(_)) {
                    break;
                }
            }
        }
    }
    for dir in created.dirs.iter().rev() {
        match ftp.rmdir(dir).await {
            Ok(_) => removed += 1,
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(format!("RMD {dir}: {}", describe(&e)));
            }
        }
    }
    let _ = ftp.quit().await;
    let detail = match &first_error {
        None => "files and directories removed".to_owned(),
        Some(e) => format!("{failed} not removed, first: {e}"),
    };
    (
        Row::new("cleanup", removed.to_string(), detail),
        Json::Obj(vec![
            ("removed", Json::Int(removed)),
            ("failed", Json::Int(failed)),
            ("first_error", first_error.map_or(Json::Null, Json::Str)),
        ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_latencies() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn remote_paths() {
        assert_eq!(remote_join("", "a"), "a");
        assert_eq!(remote_join("/up/", "a"), "/up/a");
        assert_eq!(remote_join("up", "a"), "up/a");
    }

    #[test]
    fn pattern_is_not_uniform() {
        let p = pattern(4096);
        assert_eq!(p.len(), 4096);
        assert!(p.iter().any(|&b| b != p[0]));
    }
}
