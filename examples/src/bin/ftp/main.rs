//! A minimal FTP client on tokio: an interactive shell like the classic Unix `ftp`, and
//! one-shot subcommands for scripts.
//!
//! ```text
//! ftp [URL]                                   interactive shell (type `help`)
//! ftp ls [--active] URL                       list a directory
//! ftp get [--active] [--resume] URL [LOCAL]   download a file
//! ftp put [--active] [--resume] LOCAL URL     upload a file
//! ftp mirror [--delete] [--checksum] [--exclude GLOB]... [--parallel N] [--dry-run]
//!            [--verify] LOCAL_DIR URL         the remote directory becomes LOCAL_DIR's copy
//! ftp mirror --download URL LOCAL_DIR         and the other way round
//! ```
//!
//! URLs are `ftp://user:password@host:port/path`, the path relative to the login directory
//! (`%2F` at its start makes it absolute). Without a user in the URL, credentials come from
//! `FTP_USER` and `FTP_PASSWORD`, then from `~/.netrc`, else the login is anonymous. On
//! failure the exit status is 1 and the server's reply (code and text) is on stderr. When
//! stderr is a terminal, transfers show a progress bar.

mod shell;
mod url;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ftp_client::mirror::{ChangeKind, Compare, Connect, Mirror, MirrorOptions, TreeProgress};
use ftp_client::runtime::tokio::TokioRuntime;
use ftp_client::tree::{ProgressObserver, local_name};
use ftp_client::{Client, ClientOptions, ClientTls, DataMode, TlsMode};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;

use crate::url::{FtpUrl, netrc_lookup};

/// ftp: an FTP and FTPS client, an interactive shell and one-shot commands for scripts.
///
/// URLs are ftp://user:password@host:port/path (ftps:// for implicit FTPS, --tls for explicit
/// AUTH TLS), the path relative to the login directory. Without a user in the URL, credentials
/// come from FTP_USER and FTP_PASSWORD, then ~/.netrc, else the login is anonymous.
#[derive(Parser, Debug)]
#[command(name = "ftp", version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    tls: TlsArgs,
    /// Open this URL (or host name) in the interactive shell.
    target: Option<String>,
}

/// FTPS settings, for every command and the shell.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct TlsArgs {
    /// Explicit FTPS: AUTH TLS after the greeting, then PROT P (ftps:// URLs are implicit FTPS).
    #[arg(long, global = true)]
    tls: bool,
    /// Check the server's certificate against the CA certificates in FILE (PEM) instead of the
    /// system's roots.
    #[arg(long, global = true, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Check no certificate at all (self-signed test servers): encrypted, but anyone in the
    /// middle can read and change everything.
    #[arg(long, global = true, conflicts_with = "ca_file")]
    insecure: bool,
}

impl TlsArgs {
    /// How to check certificates, when `url` or the flags ask for TLS.
    fn client_tls(&self, url: &FtpUrl) -> Result<Option<(ClientTls, TlsMode)>, Failure> {
        let mode = match (url.implicit_tls, self.tls) {
            (true, _) => TlsMode::Implicit,
            (false, true) => TlsMode::Explicit,
            (false, false) => return Ok(None),
        };
        let tls = if self.insecure {
            ClientTls::dangerous_accept_any_certificate()?
        } else if let Some(file) = &self.ca_file {
            ClientTls::with_ca_file(file)?
        } else {
            ClientTls::with_system_roots()?
        };
        Ok(Some((tls, mode)))
    }
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List a directory (the server's LIST output).
    Ls {
        /// Active mode: the server connects to us (EPRT/PORT).
        #[arg(long)]
        active: bool,
        /// The URL, ftp://user:password@host:port/path (user, password and port optional)
        url: String,
    },
    /// Download a file.
    Get {
        /// Active mode: the server connects to us (EPRT/PORT).
        #[arg(long)]
        active: bool,
        /// Continue from the size of LOCAL.
        #[arg(long)]
        resume: bool,
        /// Afterwards compare the server's checksum of the file (HASH, or XSHA256/XMD5/XCRC)
        /// with the local copy's; a difference or a server without checksums fails.
        #[arg(long)]
        verify: bool,
        /// The URL, ftp://user:password@host:port/path (user, password and port optional)
        url: String,
        /// Where to save it (default: the remote file's name; `-`: standard output).
        local: Option<PathBuf>,
    },
    /// Upload a file (to URL, or into URL when it ends with `/`).
    Put {
        /// Active mode: the server connects to us (EPRT/PORT).
        #[arg(long)]
        active: bool,
        /// Continue from the size of the remote file.
        #[arg(long)]
        resume: bool,
        /// Afterwards compare the server's checksum of the file (HASH, or XSHA256/XMD5/XCRC)
        /// with the local file's; a difference or a server without checksums fails.
        #[arg(long)]
        verify: bool,
        /// The file to upload.
        local: PathBuf,
        /// The URL, ftp://user:password@host:port/path (user, password and port optional)
        url: String,
    },
    /// Make a remote directory's contents those of a local one (created if missing), or with
    /// --download the other way round: only new and changed files are copied (by size and
    /// modification time; modification times are kept), and with --delete what the source
    /// no longer has goes from the target.
    Mirror {
        /// Download: `mirror --download URL LOCAL_DIR`.
        #[arg(long)]
        download: bool,
        /// Active mode: the server connects to us (EPRT/PORT).
        #[arg(long)]
        active: bool,
        /// No summary line on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Delete from the target what the source does not have (never what --exclude
        /// leaves out).
        #[arg(long)]
        delete: bool,
        /// Copy only files newer on the source side (keep a newer target whatever its size).
        #[arg(long, conflicts_with = "checksum")]
        only_newer: bool,
        /// Compare files of equal size by checksum (the server's HASH or XSHA256...).
        #[arg(long)]
        checksum: bool,
        /// Leave out names matching GLOB (`*.tmp`; with a `/`, a path from the top:
        /// `cache/**`); repeatable.
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Only files matching GLOB (repeatable; directories are still walked).
        #[arg(long, value_name = "GLOB")]
        include: Vec<String>,
        /// Copy N files at once, each over a session of its own.
        #[arg(long, value_name = "N", default_value_t = 1)]
        parallel: usize,
        /// Say what would change, and change nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
        /// Compare every copied file's checksum with the server's.
        #[arg(long)]
        verify: bool,
        /// Further attempts of a file after a transient failure (4xx, a dropped connection),
        /// continuing where it stopped.
        #[arg(long, value_name = "N", default_value_t = 3)]
        retries: u32,
        /// LOCAL_DIR (upload) or URL (download).
        from: String,
        /// URL (upload) or LOCAL_DIR (download).
        to: String,
    },
    /// Delete a remote file.
    Rm {
        /// The file's URL.
        url: String,
    },
    /// Create a remote directory (and its missing parents).
    Mkdir {
        /// The directory's URL.
        url: String,
    },
    /// Rename a remote file or directory (RNFR/RNTO).
    Mv {
        /// The URL of what to rename.
        url: String,
        /// The new name or path (relative to the login directory, as in URLs, or to the
        /// file's directory when it has no `/`).
        new_name: String,
    },
}

/// Why a command failed, for stderr.
type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let Some(cmd) = args.command else {
        return shell::run(args.target, args.tls).await;
    };
    let resume_hint = resume_hint(&cmd);
    let result = tokio::select! {
        result = one_shot(cmd, &args.tls) => result,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("\nftp: interrupted; {resume_hint}");
            return ExitCode::from(130);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What to type to finish what an interrupted command started.
fn resume_hint(cmd: &Cmd) -> String {
    let quote = |s: &str| {
        if s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/:._-@%+=".contains(&b))
        {
            s.to_owned()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    match cmd {
        Cmd::Get { url, local, .. } => {
            let local = local
                .as_ref()
                .map(|l| format!(" {}", quote(&l.to_string_lossy())))
                .unwrap_or_default();
            format!(
                "to continue the download: ftp get --resume {}{local}",
                quote(url)
            )
        }
        Cmd::Put { url, local, .. } => format!(
            "to continue the upload: ftp put --resume {} {}",
            quote(&local.to_string_lossy()),
            quote(url)
        ),
        Cmd::Mirror { .. } => "run the same mirror again to copy what is missing".into(),
        _ => "nothing was left half done".into(),
    }
}

/// `host:port/path`: which remote thing an error is about.
fn remote_label(url: &FtpUrl, path: &[u8]) -> String {
    let path = String::from_utf8_lossy(path);
    let sep = if path.starts_with('/') { "" } else { "/" };
    format!("{}:{}{sep}{path}", url.host, url.port)
}

/// `1 file`, `2 files`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A remote operation's failure, naming what it was about (local failures name their file).
fn at(url: &FtpUrl, path: &[u8]) -> impl Fn(ftp_client::Error) -> Failure + use<> {
    let label = remote_label(url, path);
    move |e: ftp_client::Error| match e {
        // The library names local files in its I/O errors and tree paths itself.
        e @ (ftp_client::Error::Io(_) | ftp_client::Error::AtPath { .. }) => e.into(),
        e => format!("{label}: {e}").into(),
    }
}

async fn one_shot(cmd: Cmd, tls: &TlsArgs) -> Result<(), Failure> {
    match cmd {
        Cmd::Ls { active, url } => {
            let url = FtpUrl::parse(&url)?;
            let mut ftp = open(&url, active, tls).await?;
            let path = remote_arg(&url.path);
            for line in ftp.list_lines(path).await.map_err(at(&url, path))? {
                println!("{}", String::from_utf8_lossy(&line));
            }
            ftp.quit().await?;
        }
        Cmd::Get {
            active,
            resume,
            verify,
            url,
            local,
        } => {
            let url = FtpUrl::parse(&url)?;
            let local = match local {
                Some(l) => l,
                None => local_name(url.file_name().ok_or("the URL names no file")?),
            };
            let mut ftp = open(&url, active, tls).await?;
            let fail = at(&url, &url.path);
            if local.as_os_str() == "-" {
                to_stdout(&mut ftp, &url.path).await.map_err(&fail)?;
            } else if resume {
                ftp.resume_download(&url.path, &local)
                    .await
                    .map_err(&fail)?;
            } else {
                ftp.download_file(&url.path, &local, 0)
                    .await
                    .map_err(&fail)?;
            }
            if verify {
                if local.as_os_str() == "-" {
                    return Err("--verify needs a local file, not standard output".into());
                }
                verified(&mut ftp, &local, &url, &url.path).await?;
            }
            ftp.quit().await?;
        }
        Cmd::Put {
            active,
            resume,
            verify,
            local,
            url,
        } => {
            let url = FtpUrl::parse(&url)?;
            let remote = if url.is_dir() {
                let name = local.file_name().ok_or("LOCAL names no file")?;
                ftp_client::tree::join_remote(remote_arg(&url.path), name.as_encoded_bytes())
            } else {
                url.path.clone()
            };
            let mut ftp = open(&url, active, tls).await?;
            let fail = at(&url, &remote);
            if resume {
                ftp.resume_upload(&local, &remote).await.map_err(&fail)?;
            } else {
                ftp.upload_file(&local, &remote, 0).await.map_err(&fail)?;
            }
            if verify {
                verified(&mut ftp, &local, &url, &remote).await?;
            }
            ftp.quit().await?;
        }
        Cmd::Mirror {
            download,
            active,
            quiet,
            delete,
            only_newer,
            checksum,
            exclude,
            include,
            parallel,
            dry_run,
            verify,
            retries,
            from,
            to,
        } => {
            let (url, local) = if download { (from, to) } else { (to, from) };
            let url = FtpUrl::parse(&url)?;
            let mut ftp = open(&url, active, tls).await?;
            // The tree's bar, not one per file.
            ftp.set_progress(None);
            let remote = remote_arg(&url.path).to_vec();
            let fail = at(&url, &remote);
            let mut options = MirrorOptions::default();
            options.delete = delete;
            options.compare = if checksum {
                Compare::Checksum
            } else if only_newer {
                Compare::OnlyNewer
            } else {
                Compare::SizeAndTime
            };
            options.exclude = exclude;
            options.include = include;
            options.parallel = parallel.max(1);
            options.dry_run = dry_run;
            options.verify = verify;
            options.retries = retries;
            let (more_url, more_tls) = (url.clone(), tls.clone());
            let connect: Connect<ftp_client::runtime::TcpStream> = Box::new(move || {
                let (url, tls) = (more_url.clone(), more_tls.clone());
                Box::pin(async move {
                    let mut ftp = open(&url, active, &tls)
                        .await
                        .map_err(|e| ftp_client::Error::Io(std::io::Error::other(e.to_string())))?;
                    ftp.set_progress(None);
                    Ok(ftp)
                })
            });
            let bar = Arc::new(TreeBar::new());
            let mirror = Mirror::new(options)
                .connect_with(connect)
                .progress(Arc::clone(&bar) as Arc<dyn TreeProgress>);
            let report = if download {
                mirror.download(&mut ftp, &remote, Path::new(&local)).await
            } else {
                mirror.upload(&mut ftp, Path::new(&local), &remote).await
            };
            bar.finish();
            let report = report.map_err(&fail)?;
            if dry_run {
                for change in &report.changes {
                    let what = match change.kind {
                        ChangeKind::New => "new",
                        ChangeKind::Changed => "changed",
                        ChangeKind::Deleted => "delete",
                        ChangeKind::Directory => "mkdir",
                        _ => "?",
                    };
                    println!("{what} {}", change.path);
                }
            }
            for (path, e) in &report.failed {
                eprintln!("ftp: {path}: {e}");
            }
            if !quiet {
                eprintln!("{}", report.summary());
            }
            let failed = report.failed.len();
            // After a cut the session may be gone: the report is what counts.
            let _ = ftp.quit().await;
            if failed > 0 {
                return Err(
                    format!("{} not mirrored", plural(failed as u64, "file", "files")).into(),
                );
            }
        }
        Cmd::Rm { url } => {
            let url = FtpUrl::parse(&url)?;
            let mut ftp = open(&url, false, tls).await?;
            ftp.delete(&url.path).await.map_err(at(&url, &url.path))?;
            ftp.quit().await?;
        }
        Cmd::Mkdir { url } => {
            let url = FtpUrl::parse(&url)?;
            let mut ftp = open(&url, false, tls).await?;
            let path = remote_arg(&url.path);
            ftp.mkdir_all(path).await.map_err(at(&url, path))?;
            ftp.quit().await?;
        }
        Cmd::Mv { url, new_name } => {
            let url = FtpUrl::parse(&url)?;
            let from = remote_arg(&url.path).to_vec();
            // A bare name stays in the same directory, as `mv` in a shell would not, but as
            // a rename of one file is meant.
            let to = if new_name.contains('/') {
                new_name.into_bytes()
            } else {
                let dir = match from.iter().rposition(|&b| b == b'/') {
                    Some(slash) => &from[..=slash],
                    None => &[][..],
                };
                [dir, new_name.as_bytes()].concat()
            };
            let mut ftp = open(&url, false, tls).await?;
            ftp.rename(&from, &to).await.map_err(at(&url, &from))?;
            ftp.quit().await?;
        }
    }
    Ok(())
}

/// `--verify`: the server's checksum of `remote` against `local`'s; one line on stderr when
/// they match, an error naming the file and both checksums when not.
async fn verified(
    ftp: &mut Client,
    local: &Path,
    url: &FtpUrl,
    remote: &[u8],
) -> Result<(), Failure> {
    let label = remote_label(url, remote);
    let v = ftp.verify(local, remote).await.map_err(|e| -> Failure {
        if e.is_unsupported() {
            format!("{label}: cannot verify: the server computes no checksums (HASH, XSHA256)")
                .into()
        } else {
            at(url, remote)(e)
        }
    })?;
    if !v.matches() {
        return Err(format!(
            "{label}: checksums differ: {} {} locally ({}), {} on the server",
            v.algorithm,
            v.local,
            local.display(),
            v.remote
        )
        .into());
    }
    eprintln!("verified {label}: {} {}", v.algorithm, v.local);
    Ok(())
}

/// `ftp get URL -`: the file to standard output, as it arrives.
async fn to_stdout(ftp: &mut Client, path: &[u8]) -> Result<(), ftp_client::Error> {
    use futures_util::AsyncReadExt;
    use std::io::Write;
    let mut download = ftp.retr(path, 0).await?;
    let mut buf = vec![0u8; 64 << 10];
    let mut out = std::io::stdout().lock();
    loop {
        let n = download.read(&mut buf).await?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        out.write_all(chunk)?;
    }
    out.flush()?;
    drop(out);
    download.finish().await?;
    Ok(())
}

/// A URL path as a command argument: without a trailing `/` (but `/` itself stays).
fn remote_arg(path: &[u8]) -> &[u8] {
    match path.strip_suffix(b"/") {
        Some(b"") | None => path,
        Some(trimmed) => trimmed,
    }
}

/// User, password and account for `url`: the URL's own, else `FTP_USER`/`FTP_PASSWORD`, else
/// `~/.netrc`, else anonymous.
fn credentials(url: &FtpUrl) -> (String, String, Option<String>) {
    let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let netrc = || {
        let home = std::env::var_os("HOME")?;
        let text = std::fs::read_to_string(Path::new(&home).join(".netrc")).ok()?;
        netrc_lookup(&text, &url.host)
    };
    if let Some(user) = &url.user {
        let from_netrc = || netrc().filter(|e| e.login.as_ref() == Some(user));
        let password = url
            .password
            .clone()
            .or_else(|| env("FTP_PASSWORD"))
            .or_else(|| from_netrc().and_then(|e| e.password))
            .unwrap_or_default();
        return (user.clone(), password, from_netrc().and_then(|e| e.account));
    }
    if let Some(user) = env("FTP_USER") {
        return (user, env("FTP_PASSWORD").unwrap_or_default(), None);
    }
    if let Some(entry) = netrc() {
        if let Some(login) = entry.login {
            return (login, entry.password.unwrap_or_default(), entry.account);
        }
    }
    ("anonymous".into(), "anonymous@".into(), None)
}

/// Connects (with TLS when the URL or the flags ask) and logs in as [`credentials`] says.
pub(crate) async fn open(url: &FtpUrl, active: bool, tls: &TlsArgs) -> Result<Client, Failure> {
    let mut options = ClientOptions::default();
    if active {
        options.data_mode = DataMode::Active { bind: None };
    }
    let connected = match tls.client_tls(url)? {
        Some((tls, mode)) => {
            Client::connect_tls(TokioRuntime, &url.host, url.port, options, tls, mode).await
        }
        None => Client::connect(TokioRuntime, &url.host, url.port, options).await,
    };
    let mut ftp = connected.map_err(|e| connect_failure(url, e))?;
    let (user, password, account) = credentials(url);
    match account {
        Some(acct) => ftp.login_with_account(&user, &password, &acct).await?,
        None => ftp.login(&user, &password).await?,
    };
    if std::io::stderr().is_terminal() {
        ftp.set_progress(Some(Box::new(Bar::new())));
    }
    Ok(ftp)
}

/// `127.0.0.1:2999: connection refused`: the server named, and the reason without std's
/// `(os error 111)`.
fn connect_failure(url: &FtpUrl, e: ftp_client::Error) -> Failure {
    let reason = match &e {
        ftp_client::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "timed out".to_owned(),
            _ => {
                let text = io.to_string();
                text.split(" (os error").next().unwrap_or(&text).to_owned()
            }
        },
        e => e.to_string(),
    };
    format!("{}:{}: {reason}", url.host, url.port).into()
}

/// The progress of a whole mirror on stderr (a terminal only): files and bytes done, rate,
/// ETA, from every session.
struct TreeBar {
    bar: ProgressBar,
    files: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl TreeBar {
    fn new() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            files: 0.into(),
            total: 0.into(),
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl TreeProgress for TreeBar {
    fn planned(&self, files: u64, bytes: u64) {
        self.total
            .store(files, std::sync::atomic::Ordering::Relaxed);
        if std::io::stderr().is_terminal() && files > 0 {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.bar.set_length(bytes);
            self.bar.set_style(
                ProgressStyle::with_template(
                    "{msg} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            self.bar.set_message(format!("0/{files} files"));
        }
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn file_done(&self, _path: &str) {
        let done = self
            .files
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
        self.bar.set_message(format!("{done}/{total} files"));
    }
}

/// A progress bar on stderr: bytes, rate, ETA.
pub(crate) struct Bar(ProgressBar);

impl Bar {
    pub(crate) fn new() -> Self {
        Self(ProgressBar::hidden())
    }
}

impl ProgressObserver for Bar {
    fn start(&mut self, remote: &[u8], offset: u64, total: Option<u64>) {
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg:20!} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg:20!} {spinner} {bytes} {binary_bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_position(offset);
        bar.set_message(String::from_utf8_lossy(remote).into_owned());
        self.0 = bar;
    }

    fn advance(&mut self, bytes: u64) {
        self.0.inc(bytes);
    }

    fn finish(&mut self) {
        self.0.finish();
    }
}
