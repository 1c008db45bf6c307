//! `ftp-load`: measures any FTP server with our own client, in the spirit of pyftpdlib's
//! `ftpbench`.
//!
//! ```text
//! ftp-load --host H --port P --user U --password W [--dir REMOTE_WRITABLE_DIR] [--json]
//!          [--only retr,stor,concurrent,sessions,memory,small] [--pid SERVER_PID]
//!          [--size-mib 256] [--streams 64] [--stream-mib 16] [--workers 32]
//!          [--session-seconds 10] [--idle-sessions 1000] [--small-files 1000]
//!          [--max-seconds 120] [--source-ips 127.0.0.1-127.0.0.16]
//!          [--tls | --implicit-tls] [--ca-file FILE | --insecure]
//! ```
//!
//! With `--tls` (`AUTH TLS`) or `--implicit-tls` every session is FTPS with `PROT P`: each
//! data connection runs a TLS handshake that resumes the control connection's session.
//!
//! The measurements, each bounded in count and in time (`--max-seconds` per phase), run in
//! this order: memory first (on a server no transfer has grown), sessions last (they leave
//! the loopback full of sockets in TIME_WAIT, which slows every connection after them):
//! - `memory` (needs `--pid` of the server, Linux): RSS and PSS of the server's process tree
//!   at rest and with `--idle-sessions` idle logged-in sessions open: KiB per session;
//! - `stor`, `retr`: one large file up then down on one session, MiB/s each way (the data is
//!   made on the fly; the download's byte count is checked);
//! - `concurrent`: `--streams` downloads of one file at once, each on its own connection,
//!   the clock started once all are logged in: aggregate MiB/s;
//! - `small`: 1,000 files of 4 KiB up, then down, over one session: files/s each way;
//! - `sessions`: `--workers` workers for `--session-seconds`, each looping over whole
//!   sessions (connect, USER/PASS, EPSV, LIST of a directory of 100 files, QUIT):
//!   sessions/s and the p50 and p99 latency of one session.
//!
//! Everything happens in a new directory `ftp-load-PID` under `--dir` (by default the login
//! directory), removed at the end. The table goes to stdout; with `--json`, stdout carries
//! one JSON line instead and the table goes to stderr. The exit status is 1 when a phase
//! failed. The soft limit on open files is raised to the hard limit first: the memory phase
//! holds a socket per session. Servers that limit connections per client address (ours: 64)
//! can be reached past that limit with `--source-ips` (on Linux all of 127.0.0.0/8 is
//! local), whose addresses the sessions take in turn.

mod net;
mod phases;
mod procmem;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ftp_client::ClientOptions;

use crate::net::{Target, describe, parse_sources};
use crate::phases::{Created, remote_join};
use crate::report::{Json, PhaseReport, table};

/// Measures an FTP server: transfer rates, concurrent downloads, session rate, memory per
/// session, small files.
#[derive(Parser, Debug)]
#[command(name = "ftp-load", version, about)]
pub(crate) struct Args {
    /// The server's host name or address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The server's control port.
    #[arg(long, default_value_t = 21)]
    port: u16,
    /// User name.
    #[arg(long, default_value = "anonymous")]
    user: String,
    /// Password.
    #[arg(long, default_value = "anonymous@")]
    password: String,
    /// A writable directory on the server to work in (a subdirectory is created and removed);
    /// by default the login directory.
    #[arg(long, default_value = "")]
    dir: String,
    /// Print one JSON line with every figure on stdout (the table goes to stderr).
    #[arg(long)]
    json: bool,
    /// Run only these measurements (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Phase>,
    /// The server's process id, for the memory measurement (its descendants count too).
    #[arg(long)]
    pid: Option<u32>,
    /// Size of the single-stream file, MiB.
    #[arg(long, default_value_t = 256)]
    size_mib: u64,
    /// Concurrent downloads.
    #[arg(long, default_value_t = 64)]
    streams: usize,
    /// Size of the file downloaded concurrently, MiB.
    #[arg(long, default_value_t = 16)]
    stream_mib: u64,
    /// Concurrent workers of the session measurement.
    #[arg(long, default_value_t = 32)]
    workers: usize,
    /// Duration of the session measurement, seconds.
    #[arg(long, default_value_t = 10.0)]
    session_seconds: f64,
    /// Most sessions the session measurement runs.
    #[arg(long, default_value_t = 1_000_000)]
    max_sessions: u64,
    /// Files in the directory each session lists.
    #[arg(long, default_value_t = 100)]
    list_entries: usize,
    /// List this existing directory in the session measurement instead of creating one (for
    /// logins that may not write, such as anonymous ones).
    #[arg(long)]
    list_dir: Option<String>,
    /// Idle sessions held open for the memory measurement.
    #[arg(long, default_value_t = 1000)]
    idle_sessions: usize,
    /// Idle sessions opened at once. Logins are costly on servers with a slow password hash
    /// (ours: Argon2id, 19 MiB and tens of milliseconds each), and what many at once allocate
    /// can stay in the server's heap and pass for a cost of the sessions.
    #[arg(long, default_value_t = 16)]
    open_parallelism: usize,
    /// Files of the small-file measurement.
    #[arg(long, default_value_t = 1000)]
    small_files: usize,
    /// Size of each small file, KiB.
    #[arg(long, default_value_t = 4)]
    small_kib: usize,
    /// The longest any one measurement may take, seconds (a transfer still running then is
    /// cut short and reported as such).
    #[arg(long, default_value_t = 120.0)]
    max_seconds: f64,
    /// Time allowed to connect, for each reply, and for a stalled data connection, seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Local addresses to connect from, taken in turn by each session: a comma-separated
    /// list of addresses and IPv4 ranges (127.0.0.1-127.0.0.32).
    #[arg(long)]
    source_ips: Option<String>,
    /// Explicit FTPS (`AUTH TLS`, `PROT P`).
    #[arg(long, conflicts_with = "implicit_tls")]
    tls: bool,
    /// Implicit FTPS (TLS from the first byte; the port is the server's implicit one).
    #[arg(long)]
    implicit_tls: bool,
    /// Check the certificate against this CA file (PEM) instead of the system's roots.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// Check no certificate (self-signed test servers).
    #[arg(long, conflicts_with = "ca_file")]
    insecure: bool,
    /// The client library of the single-stream phase (`stor`, `retr`): ours, or suppaftp's
    /// blocking client, to compare the two against the same server. Plain FTP only.
    #[arg(long, value_enum, default_value_t = Client::Ours)]
    client: Client,
}

/// A client library for `--client`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Client {
    /// ftp-client, on tokio.
    Ours,
    /// suppaftp 12, its blocking client on a thread of its own.
    Suppaftp,
}

impl Args {
    pub(crate) fn max_duration(&self) -> Duration {
        Duration::from_secs_f64(self.max_seconds.max(0.1))
    }

    fn wants(&self, phase: Phase) -> bool {
        self.only.is_empty() || self.only.contains(&phase)
    }
}

/// A measurement `--only` can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Phase {
    Retr,
    Stor,
    Concurrent,
    Sessions,
    Memory,
    Small,
}

// The main task only steers; the load runs on the pool of `phases::Pool`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ftp-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the measurements and prints the results; `Ok(false)` when one failed.
async fn run(args: &Args) -> Result<bool, String> {
    let version = env!("CARGO_PKG_VERSION");
    // The memory measurement holds a socket per session: lift the soft limit to the hard one.
    let nofile = rlimit::increase_nofile_limit(u64::MAX)
        .map_err(|e| format!("cannot raise RLIMIT_NOFILE: {e}"))?;
    let sources = match &args.source_ips {
        Some(spec) => parse_sources(spec).map_err(|e| format!("--source-ips: {e}"))?,
        None => Vec::new(),
    };
    let mut options = ClientOptions::default();
    let timeout = Duration::from_secs_f64(args.timeout.max(0.1));
    options.connect_timeout = timeout;
    options.reply_timeout = timeout;
    options.data_timeout = timeout;
    let tls = if args.tls || args.implicit_tls {
        let checks = if args.insecure {
            ftp_client::ClientTls::dangerous_accept_any_certificate()
        } else if let Some(file) = &args.ca_file {
            ftp_client::ClientTls::with_ca_file(file)
        } else {
            ftp_client::ClientTls::with_system_roots()
        };
        let checks = checks.map_err(|e| format!("TLS: {e}"))?;
        let mode = if args.implicit_tls {
            ftp_client::TlsMode::Implicit
        } else {
            ftp_client::TlsMode::Explicit
        };
        Some((checks, mode))
    } else {
        None
    };
    let target = Target::resolve(
        &args.host,
        args.port,
        args.user.clone(),
        args.password.clone(),
        options,
        sources.clone(),
        tls,
    )
    .await?;

    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    if args.client == Client::Suppaftp && (args.tls || args.implicit_tls) {
        return Err("--client suppaftp runs plain FTP only".into());
    }
    let pool = phases::Pool::new(threads);
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    // Descriptors kept free of idle sessions: /proc, the pool, the cleanup session.
    const SPARE_FDS: u64 = 64;
    let mut idle_sessions = args.idle_sessions;
    if args.wants(Phase::Memory) && args.pid.is_some() {
        let room = usize::try_from(nofile.saturating_sub(SPARE_FDS)).unwrap_or(usize::MAX);
        if room < idle_sessions {
            notes.push(format!(
                "RLIMIT_NOFILE is {nofile}, too low for {} idle sessions: {room} opened; raise \
                 the hard limit (ulimit -Hn) for more",
                args.idle_sessions
            ));
            idle_sessions = room;
        }
    }

    // A first session: the server's name, the credentials, the work directory.
    let mut ftp = target
        .session()
        .await
        .map_err(|e| format!("cannot log in to {}: {}", target.addr(), describe(&e)))?;
    let greeting = String::from_utf8_lossy(ftp.greeting().first_line())
        .trim()
        .to_owned();
    let mut created = Created::default();
    let needs_files = [Phase::Retr, Phase::Stor, Phase::Concurrent, Phase::Small]
        .into_iter()
        .any(|p| args.wants(p))
        || (args.wants(Phase::Sessions) && args.list_dir.is_none());
    let work = remote_join(&args.dir, &format!("ftp-load-{}", std::process::id()));
    if needs_files {
        phases::make_work_dir(&mut ftp, &work, &mut created).await?;
    }
    let _ = ftp.quit().await;
    eprintln!(
        "ftp-load {version}: {} as {} ({greeting}); RLIMIT_NOFILE {nofile}",
        target.addr(),
        args.user
    );

    let mut reports: Vec<PhaseReport> = Vec::new();
    let mut ok = true;
    // Memory first: the transfers after it would leave the server's heap grown and
    // fragmented, and the sessions would fill what the transfers freed.
    if args.wants(Phase::Memory) {
        eprintln!("ftp-load: memory ...");
        let title = "memory per idle session";
        let report = match args.pid {
            Some(pid) => phases::memory(&target, args, pid, idle_sessions)
                .await
                .unwrap_or_else(|e| {
                    ok = false;
                    PhaseReport::failed("memory", title, &e)
                }),
            None => {
                // Asked for by name, a skipped phase is a failure; in a run of all, a note.
                if !args.only.is_empty() {
                    ok = false;
                }
                PhaseReport::skipped("memory", title, "needs --pid of the server")
            }
        };
        reports.push(report);
    }
    if args.wants(Phase::Stor) || args.wants(Phase::Retr) {
        eprintln!("ftp-load: single stream, {} MiB ...", args.size_mib);
        let r = phases::single(&target, args, &work, &mut created).await;
        let mut report = r.unwrap_or_else(|e| {
            ok = false;
            PhaseReport::failed("single", "STOR and RETR, one stream", &e)
        });
        // Keep only the rows asked for (the upload runs anyway: the download needs it).
        if let [stor, retr] = report.rows.as_slice() {
            report.rows = [(stor, Phase::Stor), (retr, Phase::Retr)]
                .into_iter()
                .filter(|(_, phase)| args.wants(*phase))
                .map(|(row, _)| row.clone())
                .collect();
        }
        reports.push(report);
    }
    if args.wants(Phase::Concurrent) {
        eprintln!("ftp-load: {} concurrent streams ...", args.streams);
        let r = phases::concurrent(&pool, &target, args, &work, &mut created).await;
        reports.push(r.unwrap_or_else(|e| {
            ok = false;
            PhaseReport::failed("concurrent", "RETR, concurrent streams", &e)
        }));
    }
    // Small files before sessions: the session phase leaves tens of thousands of loopback
    // sockets in TIME_WAIT, and every connect() and bind to port 0 after it pays for them in
    // the kernel (`__inet_hash_connect`, `inet_csk_get_port`), for every server alike.
    if args.wants(Phase::Small) {
        eprintln!("ftp-load: {} small files ...", args.small_files);
        let r = phases::small(&target, args, &work, &mut created).await;
        reports.push(r.unwrap_or_else(|e| {
            ok = false;
            PhaseReport::failed("small", "small files", &e)
        }));
    }
    if args.wants(Phase::Sessions) {
        eprintln!(
            "ftp-load: sessions, {} workers for {} s ...",
            args.workers, args.session_seconds
        );
        let r = phases::sessions(&pool, &target, args, &work, &mut created).await;
        reports.push(r.unwrap_or_else(|e| {
            ok = false;
            PhaseReport::failed("sessions", "sessions", &e)
        }));
    }
    eprintln!("ftp-load: cleaning up ...");
    let (cleanup_row, cleanup_json) = phases::cleanup(&target, created).await;

    for r in &reports {
        rows.extend(r.rows.iter().cloned());
    }
    rows.push(cleanup_row);
    let mut text = format!(
        "ftp-load {version}: {} as {}, greeting \"{greeting}\"\n\n{}",
        target.addr(),
        args.user,
        table(&rows)
    );
    for note in &notes {
        text.push_str(&format!("note: {note}\n"));
    }
    if args.json {
        eprint!("{text}");
        let json = Json::Obj(vec![
            ("tool", Json::str("ftp-load")),
            ("version", Json::str(version)),
            ("server", Json::str(target.addr().to_string())),
            ("user", Json::str(&args.user)),
            ("greeting", Json::Str(greeting)),
            ("nofile_limit", Json::Int(nofile)),
            (
                "source_ips",
                Json::Arr(sources.iter().map(|ip| Json::str(ip.to_string())).collect()),
            ),
            (
                "phases",
                Json::Obj(
                    reports
                        .into_iter()
                        .map(|r| (r.key, Json::Obj(r.json)))
                        .collect(),
                ),
            ),
            ("cleanup", cleanup_json),
            (
                "notes",
                Json::Arr(notes.into_iter().map(Json::Str).collect()),
            ),
            ("ok", Json::Bool(ok)),
        ]);
        println!("{}", json.encode());
    } else {
        print!("{text}");
    }
    Ok(ok)
}
