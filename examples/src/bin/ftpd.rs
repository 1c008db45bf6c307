//! A minimal FTP server on tokio.
//!
//! With no flags it serves the current directory read-only to anonymous users on
//! 127.0.0.1:2121. `RUST_LOG=debug` shows every command.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::auth::{AnonymousPolicy, UserTable};
use ftp_server::runtime::tokio::{TokioListener, TokioRuntime};
use ftp_server::storage::fs::FsStorage;
use ftp_server::{Server, ServerOptions};

/// A minimal FTP server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2121")]
    bind: SocketAddr,
    /// Directory to serve (every user's root).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// A user, as NAME:PASSWORD (repeatable). The password is hashed at start-up.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// Allow anonymous logins (read-only) alongside the users; on by default when no user is given.
    #[arg(long)]
    anonymous: bool,
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
    let args = Args::parse();
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
    let storage = FsStorage::new(&args.root)
        .map_err(|e| format!("cannot serve {}: {e}", args.root.display()))?;
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
    let anonymous = args.anonymous || args.users.is_empty();
    if anonymous {
        table = table.with_anonymous(AnonymousPolicy::ReadOnly, VirtualPath::root());
    }
    let mut options = ServerOptions::default()
        .max_connections(args.max_connections)
        .max_connections_per_ip(args.max_connections_per_ip);
    if let Some(ports) = args.passive_ports.clone() {
        options = options.passive_ports(ports);
    }
    if let Some(ip) = args.masquerade {
        options = options.masquerade_address(ip);
    }
    let root = std::fs::canonicalize(&args.root)?;
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    let addr = listener.local_addr()?;
    let server = Server::new(TokioRuntime, storage, table, options);
    let who = match (anonymous, args.users.len()) {
        (true, 0) => "anonymous users (read-only)".to_owned(),
        (true, n) => format!("{n} user(s) and anonymous users (read-only)"),
        (false, n) => format!("{n} user(s)"),
    };
    let mode = if args.writable {
        "writable for users"
    } else {
        "read-only"
    };
    eprintln!("ftpd: serving {} ({mode}) to {who}", root.display());
    println!("listening on {addr}");
    let serving = server.serve(TokioListener::new(listener));
    tokio::select! {
        result = serving => result?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("ftpd: shutting down");
            let clean = server.shutdown_handle().shutdown(Duration::from_secs(30)).await;
            if !clean {
                eprintln!("ftpd: connections still open after 30 s were closed");
            }
        }
    }
    Ok(())
}
