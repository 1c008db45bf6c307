//! ftpd: an FTP and FTPS server on tokio, serving one directory.
//!
//! With no flags it serves the current directory read-only to anonymous users on
//! 127.0.0.1:2121. `RUST_LOG=debug` shows every command and reply.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

mod config;
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::auth::{AnonymousPolicy, Reloadable, UserTable};
use ftp_server::proto::server::ControlTls;
use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
use ftp_server::storage::Storage;
use ftp_server::storage::fs::FsStorage;
use ftp_server::storage::object::ObjectStorage;
use ftp_server::{Server, ServerOptions, TlsConfig};

/// ftpd: an FTP and FTPS server (RFC 959, RFC 4217) that serves one directory.
///
/// With no flags it serves the current directory read-only to anonymous users on
/// 127.0.0.1:2121. Users come from `--users-file FILE` (hashes made by `ftpd hash-password`);
/// `--user NAME:PASSWORD` is for trying things out (the password is visible in the process
/// list). `RUST_LOG=debug` logs every command and reply.
#[derive(Parser, Debug, Clone)]
#[command(name = "ftpd", version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Subcommand>,
    /// Settings from a TOML file: every flag below under its own name (`max-connections =
    /// 1024`, `bind = ["0.0.0.0:21"]`, `writable = true`) and users as `[[user]]` tables with
    /// `name`, `password-hash`, `root`, `permissions`, `tls-required`. Flags given on the
    /// command line override the file. SIGHUP reloads the file's users (and --users-file)
    /// without dropping a session. See examples/ftpd.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the --config file (and the users, certificates and root it names), say what is
    /// wrong on which line, and exit: 0 when all is well.
    #[arg(long, requires = "config")]
    check_config: bool,
    /// The users of the --config file.
    #[arg(skip)]
    file_users: Vec<config::FileUser>,
    /// Address to listen on (repeatable: `--bind 127.0.0.1:21 --bind [::1]:21`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2121")]
    bind: Vec<SocketAddr>,
    /// Directory to serve (every user's root).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Serve an object store instead of --root: `s3://BUCKET/PREFIX` (the prefix is every
    /// user's root). Region and credentials come from the usual environment variables
    /// (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE).
    /// Several instances may serve one bucket behind a load balancer.
    #[arg(long, value_name = "URL", value_parser = parse_storage)]
    storage: Option<(String, String)>,
    /// The S3 endpoint, for S3-compatible servers (MinIO, Ceph, moto, ...): path-style
    /// requests to this URL.
    #[arg(long, value_name = "URL", requires = "storage")]
    s3_endpoint: Option<String>,
    /// Expect the PROXY protocol (v1 or v2) from a load balancer on every control connection
    /// (and on passive data connections from it): the header names the real client, whom
    /// limits, bans and checks apply to. Needs --trusted-proxy; announce the balancer's
    /// address with --masquerade.
    #[arg(long, requires = "trusted_proxies")]
    proxy_protocol: bool,
    /// An address or network (ADDR[/PREFIX], repeatable) the balancer connects from; with
    /// --proxy-protocol, connections from anywhere else are closed.
    #[arg(
        long = "trusted-proxy",
        value_name = "ADDR[/PREFIX]",
        requires = "proxy_protocol"
    )]
    trusted_proxies: Vec<ftp_server::TrustedProxy>,
    /// A user, as NAME:PASSWORD (repeatable), for trying things out: the password shows in
    /// the process list. The password is hashed at start-up.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// Users from FILE: one `name:PHC-hash[:root[:permissions]]` per line (`ftpd
    /// hash-password` makes the hash; root inside --root, `/` by default; permissions `ro`,
    /// `rw` or a list such as `list,read,write`, by default what --writable says); `#` starts
    /// a comment.
    #[arg(long, value_name = "FILE")]
    users_file: Option<PathBuf>,
    /// Remember a password that passed its Argon2 check for this many seconds, so that the
    /// same user's next sessions log in without another one (FileZilla's extra connections,
    /// parallel mirrors); failures are never remembered. 0: every login hashes.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    login_cache_seconds: u64,
    /// Close a connection that has not logged in this many seconds after it opened (421).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    login_timeout: u64,
    /// Close a connection that sent no complete command (or read no reply) for this many
    /// seconds (421).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    idle_timeout: u64,
    /// Ban an address after this many failed logins within --ban-seconds, on any number of
    /// connections (421 at connect, logged at WARN); failures before that wait longer each
    /// time. 0: no bans.
    #[arg(long, value_name = "N", default_value_t = 10)]
    ban_after: u32,
    /// How long a ban lasts, and how far back failed logins count.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    ban_seconds: u64,
    /// Allow anonymous logins (read-only) alongside the users; on by default when no user is given.
    #[arg(long)]
    anonymous: bool,
    /// The anonymous users' root, a directory inside --root (default: all of it).
    #[arg(long, value_name = "DIR", value_parser = parse_virtual_dir)]
    anonymous_root: Option<String>,
    /// Let anonymous users upload (only: no downloads, listings, overwrites or deletions
    /// there) into this directory of their root, the "incoming" directory.
    #[arg(long, value_name = "DIR", value_parser = parse_virtual_dir)]
    anonymous_upload_dir: Option<String>,
    /// Let the users (never anonymous) upload, delete, rename and create directories.
    #[arg(long)]
    writable: bool,
    /// Passive data ports, as FIRST-LAST.
    #[arg(long, value_parser = parse_range)]
    passive_ports: Option<RangeInclusive<u16>>,
    /// Public IPv4 address to announce in PASV replies (behind NAT).
    #[arg(long)]
    masquerade: Option<Ipv4Addr>,
    /// Most connections at once; more are answered 421 and closed. Each idle session costs
    /// about 4 KiB of memory and a file descriptor (raise `ulimit -n` to match).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Most connections at once from one IP address.
    #[arg(long, default_value_t = 64)]
    max_connections_per_ip: usize,
    /// Most connections not logged in yet, in all (counted apart from logged-in ones, so that
    /// a flood of idle connections cannot lock users out).
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_unauthenticated: usize,
    /// Most connections not logged in yet from one IP address.
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_unauthenticated_per_ip: usize,
    /// Most logged-in sessions of one user at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_sessions_per_user: usize,
    /// The largest file an upload may write, in bytes (552 past it; the file it was replacing
    /// stays as it was).
    #[arg(long, value_name = "BYTES")]
    max_upload_size: Option<u64>,
    /// The most bytes one checksum (HASH, XSHA256, XCRC...) reads: 556 (550 for the
    /// X-commands) past it, so that checksums cannot tie up disks and CPU. 0: no limit.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
    max_hash_size: u64,
    /// Send binary downloads over plain data connections through a buffer, not straight
    /// from the file with sendfile(2) (the default on Linux): for files on slow disks, where
    /// the kernel's read of a file the page cache does not hold would wait on a server thread.
    #[arg(long)]
    no_zero_copy: bool,
    /// What each user may store under their home, in bytes (552 past it).
    #[arg(long, value_name = "BYTES")]
    quota_bytes: Option<u64>,
    /// How many files each user may store under their home (a new one past it: 552).
    #[arg(long, value_name = "N")]
    quota_files: Option<u64>,
    /// Bandwidth limits, bytes per second: DIRECTION:SCOPE=RATE with DIRECTION up or down and
    /// SCOPE session, user (all of a user's sessions) or server, e.g. `--rate down:user=1048576`
    /// (repeatable).
    #[arg(long = "rate", value_name = "DIR:SCOPE=BYTES", value_parser = parse_rate)]
    rates: Vec<(bool, Scope, u64)>,
    /// FTPS: the certificate chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// FTPS: the certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// FTPS with a throw-away self-signed certificate made at start-up (its SHA-256
    /// fingerprint is printed): for trying TLS clients, not for production.
    #[arg(long, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// When logins need TLS: off (no FTPS even with a certificate), optional, passwords
    /// (password logins need it, anonymous ones may stay plain: the default with a
    /// certificate), or required.
    #[arg(long, value_enum, default_value_t = TlsMode::Passwords)]
    tls: TlsMode,
    /// Require PROT P: no file or listing crosses the network in the clear.
    #[arg(long)]
    tls_data_required: bool,
    /// Accept protected data connections that do not resume the control connection's TLS
    /// session (Python's ftplib does not): weaker, anyone reaching the passive port from the
    /// client's address first gets the data.
    #[arg(long)]
    tls_no_session_reuse: bool,
    /// Also listen for implicit FTPS (TLS from the first byte; port 990 by custom).
    #[arg(long, value_name = "ADDR")]
    implicit_bind: Option<SocketAddr>,
}

#[derive(clap::Subcommand, Debug, Clone)]
enum Subcommand {
    /// Reads a password (from the terminal without echo, or one line of standard input) and
    /// prints its Argon2id PHC hash, for a line of --users-file.
    HashPassword,
}

/// `ftpd hash-password`.
fn hash_password() -> Result<(), Box<dyn std::error::Error>> {
    let password = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err("empty password".into());
    }
    println!("{}", ftp_server::auth::hash_password(password.as_bytes()));
    Ok(())
}

/// A directory named from the server's root: `/incoming`.
fn parse_virtual_dir(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!("{text:?}: expected a path starting with /"));
    }
    Ok(text.to_owned())
}

/// The arguments: the command line, over the --config file's settings when one is named.
fn arguments() -> Result<Args, Box<dyn std::error::Error>> {
    use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
    let cli: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let args = Args::parse_from(&cli);
    let Some(path) = args.config.clone() else {
        return Ok(args);
    };
    let cmd = Args::command();
    let file = config::load(&path, &cmd)?;
    let given = cmd.clone().get_matches_from(&cli);
    let mut argv = vec![cli.first().cloned().unwrap_or_else(|| "ftpd".into())];
    for (id, words) in &file.flags {
        if given.value_source(id) != Some(ValueSource::CommandLine) {
            argv.extend(words.iter().cloned());
        }
    }
    argv.extend(cli.iter().skip(1).cloned());
    let merged = cmd.try_get_matches_from(&argv).map_err(|e| {
        config::ConfigError::new(
            &path,
            None,
            format!("{} (with the command line)", config::clap_reason(&e)),
        )
    })?;
    let mut args = Args::from_arg_matches(&merged)?;
    args.file_users = file.users;
    Ok(args)
}

/// The users: `--user`, `--users-file`, the config file's `[[user]]` tables, and anonymous
/// access as the flags say; with whether anonymous access is on and whether named users are
/// there. Read again on SIGHUP.
fn user_table(args: &Args) -> Result<(UserTable, bool, bool), Box<dyn std::error::Error>> {
    let permissions = if args.writable {
        Permissions::ALL
    } else {
        Permissions::READ_ONLY
    };
    let mut table = UserTable::new();
    for spec in &args.users {
        let (name, password) = spec
            .split_once(':')
            .ok_or_else(|| format!("--user {spec:?}: expected NAME:PASSWORD"))?;
        table = table.with_user(name, password.as_bytes(), VirtualPath::root(), permissions);
    }
    if let Some(file) = &args.users_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--users-file {}: {e}", file.display()))?;
        table = table
            .with_users_file(&text, permissions)
            .map_err(|e| format!("--users-file {}: {e}", file.display()))?;
    }
    for user in &args.file_users {
        table = table
            .with_user_hash(
                user.name.clone(),
                user.hash.clone(),
                user.root.clone(),
                user.permissions.unwrap_or(permissions),
            )
            .map_err(|e| format!("user {:?} (line {}): {e}", user.name, user.line))?;
        if user.tls_required {
            table = table.require_tls_for(&user.name, user.protected_data_required);
        }
    }
    table = table.credential_cache((args.login_cache_seconds > 0).then(|| {
        let mut cache = ftp_server::auth::CredentialCacheConfig::default();
        cache.ttl = Duration::from_secs(args.login_cache_seconds);
        cache
    }));
    let named_users =
        !args.users.is_empty() || args.users_file.is_some() || !args.file_users.is_empty();
    let anonymous = args.anonymous || !named_users;
    if anonymous {
        let root = args
            .anonymous_root
            .as_deref()
            .map_or_else(VirtualPath::root, |r| {
                VirtualPath::root().resolve(r.as_bytes())
            });
        let policy = match &args.anonymous_upload_dir {
            Some(dir) => {
                AnonymousPolicy::ReadOnlyWithUpload(VirtualPath::root().resolve(dir.as_bytes()))
            }
            None => AnonymousPolicy::ReadOnly,
        };
        table = table.with_anonymous(policy, root);
    }
    Ok((table, anonymous, named_users))
}

/// SIGHUP: the users again, from the --config file and --users-file as they are now. A file
/// that does not check out changes nothing (and the log says why).
#[cfg(unix)]
async fn reload_on_hangup(mut args: Args, users: std::sync::Arc<Reloadable<UserTable>>) {
    use clap::CommandFactory;
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangups.recv().await.is_some() {
        let loaded: Result<_, Box<dyn std::error::Error>> = match &args.config {
            Some(path) => config::load(path, &Args::command())
                .map(|f| f.users)
                .map_err(Into::into),
            None => Ok(Vec::new()),
        };
        let result = loaded.and_then(|file_users| {
            args.file_users = file_users;
            user_table(&args)
        });
        match result {
            Ok((table, _, _)) => {
                users.replace(table);
                tracing::info!("users reloaded");
            }
            Err(e) => tracing::error!("users not reloaded, the ones in place stay: {e}"),
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_args: Args, _users: std::sync::Arc<Reloadable<UserTable>>) {
    std::future::pending().await
}

/// SIGINT (Ctrl-C), caught from this call on: the handler is in place once it returns, not
/// at the future's first poll as with `tokio::signal::ctrl_c`.
#[cfg(unix)]
fn interrupts() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupts = signal(SignalKind::interrupt())?;
    Ok(async move {
        interrupts.recv().await;
    })
}

/// Ctrl-C, caught from the future's first poll.
#[cfg(not(unix))]
fn interrupts() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// `--check-config`: what can be checked without serving: the file and the command line
/// together, the users, the certificate, the root.
fn check_config(args: &Args) -> Result<String, Box<dyn std::error::Error>> {
    let (_table, anonymous, _) = user_table(args)?;
    tls_config(args)?;
    if args.storage.is_none() {
        FsStorage::new(&args.root)
            .map_err(|e| format!("cannot serve {}: {e}", args.root.display()))?;
    }
    let users = args.users.len() + args.file_users.len();
    let file = if args.users_file.is_some() {
        " and a users file"
    } else {
        ""
    };
    let anonymous = if anonymous { ", anonymous access" } else { "" };
    Ok(format!("{users} users{file}{anonymous}"))
}

/// `--storage s3://bucket/prefix`: (bucket, prefix).
fn parse_storage(text: &str) -> Result<(String, String), String> {
    let rest = text
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{text:?}: expected s3://BUCKET[/PREFIX]"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("{text:?}: no bucket"));
    }
    Ok((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

/// Who a `--rate` limit applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Session,
    User,
    Server,
}

/// `--rate up:session=1000000`: (upload, scope, bytes per second).
fn parse_rate(text: &str) -> Result<(bool, Scope, u64), String> {
    let usage = || format!("{text:?}: expected up|down:session|user|server=BYTES_PER_SECOND");
    let (what, rate) = text.split_once('=').ok_or_else(usage)?;
    let (direction, scope) = what.split_once(':').ok_or_else(usage)?;
    let upload = match direction {
        "up" => true,
        "down" => false,
        _ => return Err(usage()),
    };
    let scope = match scope {
        "session" => Scope::Session,
        "user" => Scope::User,
        "server" => Scope::Server,
        _ => return Err(usage()),
    };
    let rate: u64 = rate.parse().map_err(|_| usage())?;
    if rate == 0 {
        return Err(format!("{text:?}: a rate of 0 would stop every transfer"));
    }
    Ok((upload, scope, rate))
}

/// `--tls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TlsMode {
    Off,
    Optional,
    Passwords,
    Required,
}

/// The TLS configuration the flags ask for, if any.
fn tls_config(args: &Args) -> Result<Option<TlsConfig>, Box<dyn std::error::Error>> {
    if args.tls == TlsMode::Off {
        return Ok(None);
    }
    let config = if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        TlsConfig::from_pem_files(cert, key)?
    } else if args.tls_self_signed {
        let mut names = vec!["localhost".to_owned()];
        names.extend(args.bind.iter().map(|b| b.ip().to_string()));
        let made = rcgen::generate_simple_self_signed(names)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, made.cert.der());
        let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        eprintln!("ftpd: self-signed certificate, SHA-256 {}", hex.join(":"));
        TlsConfig::from_pem(
            made.cert.pem().as_bytes(),
            made.signing_key.serialize_pem().as_bytes(),
        )?
    } else if matches!(args.tls, TlsMode::Optional | TlsMode::Required)
        || args.tls_data_required
        || args.tls_no_session_reuse
    {
        // A TLS policy asked for with nothing to serve TLS with: refuse rather than run plain.
        return Err("the TLS flags need --tls-cert and --tls-key, or --tls-self-signed".into());
    } else {
        return Ok(None);
    };
    Ok(Some(
        config.require_session_reuse(!args.tls_no_session_reuse),
    ))
}

/// Descriptors a session may use at once: its control connection, a passive listener and a
/// data connection; and what the server needs besides (listeners, logs, files being served).
const FDS_PER_SESSION: u64 = 3;
const FDS_SPARE: u64 = 64;

/// Raises the open-file limit to the hard limit, and lowers `max_connections` (with a
/// warning) when even that cannot cover it: past the limit, `accept` fails in a loop.
#[cfg(unix)]
fn fit_open_files(max_connections: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.maximum != limit.current {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            eprintln!("ftpd: cannot raise the open-file limit: {e}");
            limit = getrlimit(Resource::Nofile);
        }
    }
    let Some(files) = limit.current else {
        return max_connections; // unlimited
    };
    let fits =
        usize::try_from(files.saturating_sub(FDS_SPARE) / FDS_PER_SESSION).unwrap_or(usize::MAX);
    if fits < max_connections {
        eprintln!(
            "ftpd: warning: {files} open files allow {fits} connections; --max-connections \
             lowered from {max_connections} (raise the hard limit, `ulimit -Hn`, for more)"
        );
        return fits.max(1);
    }
    max_connections
}

#[cfg(not(unix))]
fn fit_open_files(max_connections: usize) -> usize {
    max_connections
}

fn parse_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let (a, b) = text.split_once('-').ok_or("expected FIRST-LAST")?;
    let (a, b): (u16, u16) = (
        a.parse().map_err(|e| format!("{e}"))?,
        b.parse().map_err(|e| format!("{e}"))?,
    );
    if a == 0 || a > b {
        return Err("expected 1 <= FIRST <= LAST".into());
    }
    Ok(a..=b)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match arguments() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("ftpd: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Subcommand::HashPassword) = args.command {
        return match hash_password() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ftpd: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.check_config {
        let path = args.config.as_deref().unwrap_or(std::path::Path::new("?"));
        return match check_config(&args) {
            Ok(summary) => {
                println!("{}: OK ({summary})", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ftpd: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only for a terminal: logs redirected to a file stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftpd: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    match args.storage.clone() {
        Some((bucket, prefix)) => {
            let storage = ObjectStorage::s3(&bucket, &prefix, args.s3_endpoint.as_deref())
                .map_err(|e| format!("cannot serve s3://{bucket}/{prefix}: {e}"))?;
            // A wrong bucket or credentials show at start-up, not at the first login.
            storage
                .operator()
                .check()
                .await
                .map_err(|e| format!("cannot reach s3://{bucket}/{prefix}: {e}"))?;
            serve(args, storage, format!("s3://{bucket}/{prefix}")).await
        }
        None => {
            let storage = FsStorage::new(&args.root)
                .map_err(|e| format!("cannot serve {}: {e}", args.root.display()))?;
            let root = std::fs::canonicalize(&args.root)?;
            serve(args, storage, root.display().to_string()).await
        }
    }
}

async fn serve<S: Storage>(
    args: Args,
    storage: S,
    what: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let (table, anonymous, named_users) = user_table(&args)?;
    let users = std::sync::Arc::new(Reloadable::new(table));
    let mut throttle = ftp_server::proto::server::ThrottleConfig::default();
    throttle
        .ban_after(args.ban_after)
        .ban(Duration::from_secs(args.ban_seconds.max(1)))
        .window(Duration::from_secs(args.ban_seconds.max(1)));
    let max_connections = fit_open_files(args.max_connections);
    let mut rates = ftp_server::RateLimits::default();
    for &(upload, scope, rate) in &args.rates {
        let slot = match (upload, scope) {
            (true, Scope::Session) => &mut rates.session_up,
            (false, Scope::Session) => &mut rates.session_down,
            (true, Scope::User) => &mut rates.user_up,
            (false, Scope::User) => &mut rates.user_down,
            (true, Scope::Server) => &mut rates.server_up,
            (false, Scope::Server) => &mut rates.server_down,
        };
        *slot = Some(rate);
    }
    let mut options = ServerOptions::default()
        .max_unauthenticated(args.max_unauthenticated, args.max_unauthenticated_per_ip)
        .max_sessions_per_user(args.max_sessions_per_user)
        .rate_limits(rates)
        .user_quota(args.quota_bytes, args.quota_files)
        .login_throttle(throttle)
        .login_timeout(Duration::from_secs(args.login_timeout.max(1)))
        .idle_timeout(Duration::from_secs(args.idle_timeout.max(1)))
        .max_connections(max_connections)
        .max_connections_per_ip(args.max_connections_per_ip)
        .max_hash_size((args.max_hash_size > 0).then_some(args.max_hash_size))
        .zero_copy(!args.no_zero_copy);
    if let Some(max) = args.max_upload_size {
        options = options.max_upload_size(max);
    }
    if let Some(ports) = args.passive_ports.clone() {
        options = options.passive_ports(ports);
    }
    if let Some(ip) = args.masquerade {
        options = options.masquerade_address(ip);
    }
    if args.proxy_protocol {
        options = options.proxy_protocol(args.trusted_proxies.iter().copied());
    }
    let tls = tls_config(&args)?;
    if args.implicit_bind.is_some() && tls.is_none() {
        return Err("--implicit-bind needs --tls-cert and --tls-key, or --tls-self-signed".into());
    }
    if let Some(tls) = tls.clone() {
        options = options.tls(tls).control_tls(match args.tls {
            TlsMode::Optional => ControlTls::Optional,
            TlsMode::Required => ControlTls::Required,
            _ => ControlTls::PasswordLogins,
        });
        if args.tls_data_required {
            options = options.data_tls(ftp_server::proto::server::DataTls::Required);
        }
    }
    let mut listeners = Vec::new();
    for bind in &args.bind {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        listeners.push(listener);
    }
    let server = Server::new(
        TokioRuntime,
        storage,
        std::sync::Arc::clone(&users),
        options,
    );
    tokio::spawn(reload_on_hangup(args.clone(), users));
    let who = match (anonymous, named_users) {
        (true, false) => "anonymous users (read-only)".to_owned(),
        (true, true) => "its users and anonymous users (read-only)".to_owned(),
        (false, _) => "its users".to_owned(),
    };
    let mode = if args.writable {
        "writable for users"
    } else {
        "read-only"
    };
    eprintln!("ftpd: serving {what} ({mode}) to {who}");
    if args.proxy_protocol {
        let from: Vec<String> = args
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        eprintln!("ftpd: PROXY protocol from {}", from.join(", "));
    }
    let implicit = match args.implicit_bind {
        Some(bind) => Some(tokio::net::TcpListener::bind(bind).await?),
        None => None,
    };
    if tls.is_some() {
        let reuse = if args.tls_no_session_reuse {
            "not required"
        } else {
            "required"
        };
        eprintln!("ftpd: FTPS with AUTH TLS (data connections' TLS session reuse {reuse})");
    }
    // Listened for before the first "listening on" line: a SIGINT from then on shuts down
    // cleanly, where before its handler is in place it would kill the process.
    let interrupted = interrupts()?;
    let mut serving = tokio::task::JoinSet::new();
    for listener in listeners {
        println!("listening on {}", listener.local_addr()?);
        let server = server.clone();
        serving.spawn(async move { server.serve(TokioListener::new(listener)).await });
    }
    let implicit_serving = async {
        match implicit {
            Some(listener) => {
                println!("listening for implicit TLS on {}", listener.local_addr()?);
                server
                    .serve_implicit_tls(TokioListener::new(listener))
                    .await
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        Some(result) = serving.join_next() => result??,
        result = implicit_serving => result?,
        () = interrupted => {
            eprintln!("ftpd: shutting down");
            let clean = server.shutdown_handle().shutdown(Duration::from_secs(30)).await;
            if !clean {
                eprintln!("ftpd: connections still open after 30 s were closed");
            }
        }
    }
    Ok(())
}
