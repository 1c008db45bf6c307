//! What the example programs' tests share: `ftpd` started on 127.0.0.1 with a fresh root,
//! and the third-party programs they drive.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// A running `ftpd`; killed (by its own PID) when dropped.
pub struct Ftpd {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every address it listens on (`--bind` repeated).
    pub addrs: Vec<SocketAddr>,
}

impl Ftpd {
    /// `ftpd --bind 127.0.0.1:0 --root ROOT EXTRA...`.
    pub fn start(root: &Path, extra: &[&str]) -> Self {
        Self::start_on(&["127.0.0.1:0"], root, extra)
    }

    /// `ftpd` listening on each of `binds`; `addr` is the first, [`Ftpd::addrs`] all.
    pub fn start_on(binds: &[&str], root: &Path, extra: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ftpd"));
        command
            .arg("--root")
            .arg(root)
            .args(extra)
            .env("RUST_LOG", "warn");
        Self::spawn(command, binds)
    }

    /// Runs `command` (an `ftpd` with its other flags, environment and stderr) with a
    /// `--bind` for each of `binds`, and waits for its `listening on` lines.
    pub fn spawn(mut command: Command, binds: &[&str]) -> Self {
        for bind in binds {
            command.args(["--bind", bind]);
        }
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let addrs = binds
            .iter()
            .map(|_| {
                let mut line = String::new();
                out.read_line(&mut line).unwrap();
                line.trim()
                    .strip_prefix("listening on ")
                    .unwrap_or_else(|| panic!("unexpected: {line:?}"))
                    .parse()
                    .unwrap()
            })
            .collect::<Vec<SocketAddr>>();
        Self {
            addr: addrs[0],
            addrs,
            child,
        }
    }
}

impl Drop for Ftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{name} is not installed: run scripts/test.sh, which installs it"
    );
    Command::new(name)
}

pub fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
