//! ftpd as an administrator runs it: users from a file with Argon2id hashes made by
//! `ftpd hash-password` (no password in the process list), a wrong line named, and the
//! `--login-timeout` / `--idle-timeout` flags, and bans after failed logins.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Ftpd;
use ftp_test_support::rss_kib;

fn hash_password(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}

/// A raw control connection: sends lines, reads reply codes.
struct Control(BufReader<TcpStream>);

impl Control {
    fn connect(addr: std::net::SocketAddr) -> Self {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c = Self(BufReader::new(s));
        assert_eq!(c.reply(), Some(220));
        c
    }

    /// The next reply's code; `None` once the server closed.
    fn reply(&mut self) -> Option<u16> {
        loop {
            let mut line = String::new();
            if self.0.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if line.as_bytes().get(3) == Some(&b' ') {
                return line.get(..3)?.parse().ok();
            }
        }
    }

    fn cmd(&mut self, line: &str) -> Option<u16> {
        self.0
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.reply()
    }
}

#[test]
fn users_file_with_hashes_and_permissions() {
    let root = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("dave")).unwrap();
    std::fs::write(root.path().join("dave/notes.txt"), b"notes").unwrap();
    let hash = hash_password("correct horse");
    let users = dir.path().join("users");
    std::fs::write(
        &users,
        format!("# ftpd users\ncarol:{hash}\ndave:{hash}:/dave:ro\n"),
    )
    .unwrap();
    let server = Ftpd::start(
        root.path(),
        &["--users-file", users.to_str().unwrap(), "--writable"],
    );
    // The command line names the file, never a password.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", server.child.id())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains("horse"));
    let mut c = Control::connect(server.addr);
    assert_eq!(c.cmd("USER carol"), Some(331));
    assert_eq!(c.cmd("PASS correct horse"), Some(230));
    assert_eq!(c.cmd("MKD made-by-carol"), Some(257));
    let mut d = Control::connect(server.addr);
    assert_eq!(d.cmd("USER dave"), Some(331));
    assert_eq!(d.cmd("PASS wrong"), Some(530));
    assert_eq!(d.cmd("USER dave"), Some(331));
    assert_eq!(d.cmd("PASS correct horse"), Some(230));
    // dave's root is /dave, read-only.
    assert_eq!(d.cmd("SIZE notes.txt"), Some(213));
    assert_eq!(d.cmd("MKD nope"), Some(550));
    assert!(!root.path().join("dave/nope").exists());
    // Anonymous is off when users are named, unless --anonymous.
    let mut a = Control::connect(server.addr);
    assert_eq!(a.cmd("USER anonymous"), Some(331));
    assert_eq!(a.cmd("PASS x@"), Some(530));
}

#[test]
fn a_wrong_users_file_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "# ok\nbob:not-a-hash\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .args(["--bind", "127.0.0.1:0", "--users-file"])
        .arg(&users)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "--users-file {}: line 2: not an Argon2 PHC hash",
            users.display()
        )),
        "{err}"
    );
}

#[test]
fn login_and_idle_timeouts_from_flags() {
    let root = tempfile::tempdir().unwrap();
    let server = Ftpd::start(
        root.path(),
        &["--login-timeout", "1", "--idle-timeout", "2"],
    );
    // Not logged in: closed after a second, NOOPs or not.
    let mut c = Control::connect(server.addr);
    let start = Instant::now();
    assert_eq!(c.cmd("NOOP"), Some(200));
    assert_eq!(c.reply(), Some(421));
    assert_eq!(c.reply(), None);
    assert!(start.elapsed() < Duration::from_secs(4));
    // Logged in and idle: closed after two.
    let mut c = Control::connect(server.addr);
    assert_eq!(c.cmd("USER anonymous"), Some(331));
    assert_eq!(c.cmd("PASS x@"), Some(230));
    let start = Instant::now();
    assert_eq!(c.reply(), Some(421));
    let idle = start.elapsed();
    assert!(
        idle >= Duration::from_millis(1500) && idle < Duration::from_secs(5),
        "{idle:?}"
    );
}

#[test]
fn failed_logins_ban_an_address() {
    let root = tempfile::tempdir().unwrap();
    let server = Ftpd::start(
        root.path(),
        &["--user", "u:p", "--ban-after", "2", "--ban-seconds", "30"],
    );
    for _ in 0..2 {
        let mut c = Control::connect(server.addr);
        assert_eq!(c.cmd("USER u"), Some(331));
        assert_eq!(c.cmd("PASS wrong"), Some(530));
    }
    let s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    assert!(line.starts_with("421 Too many failed logins"), "{line:?}");
}

/// ftpd raises its open-file limit to the hard limit, and lowers --max-connections, with a
/// warning, when even that cannot cover it.
#[cfg(target_os = "linux")]
#[test]
fn open_file_limit_is_raised_or_connections_lowered() {
    let root = tempfile::tempdir().unwrap();
    let run = |soft: u32, hard: u32| {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" --bind 127.0.0.1:0 --root \"$1\""
            ))
            .arg(env!("CARGO_BIN_EXE_ftpd"))
            .arg(root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening on "), "{line:?}");
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let files = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap()
            .split_whitespace()
            .nth(3)
            .unwrap()
            .to_owned();
        (files, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (files, stderr) = run(256, 8192);
    assert_eq!(files, "8192", "the soft limit is raised to the hard one");
    assert!(!stderr.contains("warning"), "{stderr}");
    let (files, stderr) = run(200, 200);
    assert_eq!(files, "200");
    assert!(
        stderr.contains("200 open files allow 45 connections; --max-connections lowered from 1024"),
        "{stderr}"
    );
}

#[test]
fn rate_and_upload_size_flags() {
    let root = tempfile::tempdir().unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .args(["--bind", "127.0.0.1:0", "--rate", "sideways:user=10"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected up|down:session|user|server="));
    let server = Ftpd::start(
        root.path(),
        &[
            "--user",
            "u:p",
            "--writable",
            "--max-upload-size",
            "10",
            "--rate",
            "up:server=1000000",
        ],
    );
    let mut c = Control::connect(server.addr);
    assert_eq!(c.cmd("USER u"), Some(331));
    assert_eq!(c.cmd("PASS p"), Some(230));
    let mut data = c.epsv(server.addr);
    assert_eq!(c.cmd("STOR big.txt"), Some(150));
    let _ = data.write_all(b"more than ten bytes");
    drop(data);
    assert_eq!(c.reply(), Some(552));
    assert!(
        !root.path().join("big.txt").exists()
            || std::fs::metadata(root.path().join("big.txt"))
                .unwrap()
                .len()
                <= 10
    );
}

#[test]
fn quota_flags() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("only.txt"), b"one file").unwrap();
    let server = Ftpd::start(
        root.path(),
        &["--user", "u:p", "--writable", "--quota-files", "1"],
    );
    let mut c = Control::connect(server.addr);
    assert_eq!(c.cmd("USER u"), Some(331));
    assert_eq!(c.cmd("PASS p"), Some(230));
    assert_eq!(c.cmd("EPSV"), Some(229));
    // A second file is past the quota: refused before any 150.
    assert_eq!(c.cmd("STOR second.txt"), Some(552));
    assert!(!root.path().join("second.txt").exists());
}

/// After a flood of password logins, ftpd's threads and memory go back to about where they
/// were: the hashing workers end and give their Argon2 buffers back to the system.
#[cfg(target_os = "linux")]
#[test]
fn memory_returns_to_rest_after_a_login_flood() {
    let root = tempfile::tempdir().unwrap();
    let server = Ftpd::start(
        root.path(),
        &[
            "--user",
            "u:p",
            "--ban-after",
            "0",
            "--max-unauthenticated-per-ip",
            "200",
            "--max-connections-per-ip",
            "200",
        ],
    );
    let pid = server.child.id();
    let addr = server.addr;
    // One login first: what a server that has served a login holds at rest.
    let mut c = Control::connect(addr);
    assert_eq!(c.cmd("USER u"), Some(331));
    assert_eq!(c.cmd("PASS p"), Some(230));
    drop(c);
    std::thread::sleep(Duration::from_secs(12));
    let at_rest = rss_kib(pid);
    let logins: Vec<_> = (0..100)
        .map(|_| {
            std::thread::spawn(move || {
                let s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut c = Control(BufReader::new(s));
                match c.reply() {
                    Some(220) => {
                        let _ = c.cmd("USER u");
                        c.cmd("PASS p")
                    }
                    other => other,
                }
            })
        })
        .collect();
    let codes: Vec<Option<u16>> = logins.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        codes.iter().all(|c| matches!(c, Some(230 | 421) | None)),
        "{codes:?}"
    );
    let peak = rss_kib(pid);
    std::thread::sleep(Duration::from_secs(12));
    let after = rss_kib(pid);
    eprintln!(
        "ftpd resident memory: {at_rest} KiB at rest, {peak} KiB after the flood, {after} KiB 12 s later"
    );
    assert!(
        after < at_rest + 8 * 1024,
        "{after} KiB 12 s after the flood, {at_rest} KiB at rest"
    );
}

impl Control {
    /// `EPSV`, then the data connection.
    fn epsv(&mut self, addr: std::net::SocketAddr) -> TcpStream {
        self.0.get_mut().write_all(b"EPSV\r\n").unwrap();
        let mut line = String::new();
        self.0.read_line(&mut line).unwrap();
        let port: u16 = line
            .split("|||")
            .nth(1)
            .and_then(|rest| rest.split('|').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("EPSV: {line:?}"));
        let data = TcpStream::connect((addr.ip(), port)).unwrap();
        data.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        data
    }
}

/// A soak against ftpd in its own process: good clients uploading and downloading beside
/// others that fail logins and drop transfers part way. Afterwards its resident memory is
/// back near where it was at rest.
#[cfg(target_os = "linux")]
#[test]
fn ftpd_memory_returns_to_rest_after_a_soak() {
    use std::io::Read;
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("big.bin"),
        ftp_test_support::data(4 << 20, 1),
    )
    .unwrap();
    let server = Ftpd::start(
        root.path(),
        &[
            "--user",
            "u:p",
            "--writable",
            "--ban-after",
            "0",
            "--max-unauthenticated-per-ip",
            "200",
            "--max-connections-per-ip",
            "200",
        ],
    );
    let (pid, addr) = (server.child.id(), server.addr);
    let login = move || {
        let mut c = Control::connect(addr);
        assert_eq!(c.cmd("USER u"), Some(331));
        assert_eq!(c.cmd("PASS p"), Some(230));
        assert_eq!(c.cmd("TYPE I"), Some(200));
        c
    };
    let good_round = move |c: &mut Control, name: &str, body: &[u8]| {
        let mut d = c.epsv(addr);
        assert_eq!(c.cmd(&format!("STOR {name}")), Some(150));
        d.write_all(body).unwrap();
        drop(d);
        assert_eq!(c.reply(), Some(226));
        let mut d = c.epsv(addr);
        assert_eq!(c.cmd(&format!("RETR {name}")), Some(150));
        let mut got = Vec::new();
        d.read_to_end(&mut got).unwrap();
        assert_eq!(c.reply(), Some(226));
        assert!(got == body, "{name} came back different");
    };
    // Warm up once (a login, an upload, a download), then rest.
    good_round(
        &mut login(),
        "warm.bin",
        &ftp_test_support::data(100_000, 2),
    );
    std::thread::sleep(Duration::from_secs(12));
    let at_rest = rss_kib(pid);
    let end = Instant::now() + Duration::from_secs(4);
    let mut threads = Vec::new();
    for worker in 0..3u64 {
        threads.push(std::thread::spawn(move || {
            let mut c = login();
            let mut i = 0;
            while Instant::now() < end {
                let body = ftp_test_support::data(200_000, worker * 1000 + i);
                good_round(&mut c, &format!("w{worker}.bin"), &body);
                i += 1;
            }
        }));
    }
    threads.push(std::thread::spawn(move || {
        while Instant::now() < end {
            let mut c = login();
            let mut d = c.epsv(addr);
            assert_eq!(c.cmd("RETR big.bin"), Some(150));
            let mut some = vec![0; 100_000];
            let _ = d.read_exact(&mut some);
            // Dropped part way, data and control.
        }
    }));
    threads.push(std::thread::spawn(move || {
        while Instant::now() < end {
            let mut c = login();
            let mut d = c.epsv(addr);
            assert_eq!(c.cmd("STOR w0.bin"), Some(150));
            let _ = d.write_all(&ftp_test_support::data(150_000, 9));
            drop(c);
            std::thread::sleep(Duration::from_millis(20));
        }
    }));
    threads.push(std::thread::spawn(move || {
        while Instant::now() < end {
            let mut c = Control::connect(addr);
            assert_eq!(c.cmd("USER u"), Some(331));
            assert_eq!(c.cmd("PASS wrong"), Some(530));
        }
    }));
    for t in threads {
        t.join().unwrap();
    }
    let peak = rss_kib(pid);
    std::thread::sleep(Duration::from_secs(12));
    let after = rss_kib(pid);
    eprintln!(
        "ftpd resident memory: {at_rest} KiB at rest, {peak} KiB after the soak, {after} KiB 12 s later"
    );
    assert!(
        after < at_rest + 8 * 1024,
        "{after} KiB 12 s after the soak, {at_rest} KiB at rest"
    );
}
