//! Interoperability: real clients (Python's ftplib, curl, lftp) against the example server
//! `ftpd`, started by each test on 127.0.0.1 with a fresh temporary root. `scripts/test.sh`
//! installs the clients on a fresh machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{Ftpd, check, tool};
use ftp_test_support::{data, free_port_range};

/// A running `ftpd` with FTPS (a certificate made now, in `dir`), explicit on `addr` and
/// implicit on `implicit`.
struct FtpsD {
    ftpd: Ftpd,
    implicit: SocketAddr,
    /// The certificate, for the clients to trust (so they check it for real).
    cert: PathBuf,
}

impl FtpsD {
    fn start(root: &Path, dir: &Path, extra: &[&str]) -> Self {
        let (cert, key) = ftp_test_support::write_test_certificate(dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
            .args([
                "--bind",
                "127.0.0.1:0",
                "--implicit-bind",
                "127.0.0.1:0",
                "--root",
            ])
            .arg(root)
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut addrs = Vec::new();
        for prefix in ["listening on ", "listening for implicit TLS on "] {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            let addr = line
                .trim()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("unexpected: {line:?}"));
            addrs.push(addr.parse::<SocketAddr>().unwrap());
        }
        Self {
            ftpd: Ftpd {
                child,
                addr: addrs[0],
                addrs: vec![addrs[0]],
            },
            implicit: addrs[1],
            cert,
        }
    }
}

#[test]
fn python_ftplib() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = Ftpd::start(root.path(), &["--user", "alice:s3cret", "--writable"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ftplib_suite.py");
    let out = check(
        tool("python3")
            .arg(script)
            .args([
                "127.0.0.1",
                &server.addr.port().to_string(),
                "alice",
                "s3cret",
            ])
            .arg(work.path())
            .output()
            .unwrap(),
        "ftplib suite",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    // What the server stored is byte for byte what was sent.
    for mode in ["passive", "active"] {
        let sent = std::fs::read(work.path().join(format!("ftplib-{mode}-data.bin"))).unwrap();
        let stored = std::fs::read(root.path().join(format!("ftplib-{mode}/data.bin"))).unwrap();
        assert!(sent == stored, "{mode}: stored file differs");
        let text = std::fs::read(root.path().join(format!("ftplib-{mode}/text.txt"))).unwrap();
        assert_eq!(
            text, b"first line\nsecond line\nthird\n",
            "ASCII upload stored with LF"
        );
    }
}

#[test]
fn curl_list_download_upload_resume_methods() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let payload = data(2 * 1024 * 1024 + 5, 11);
    std::fs::create_dir_all(root.path().join("a/b")).unwrap();
    std::fs::write(root.path().join("a/b/file.bin"), &payload).unwrap();
    let server = Ftpd::start(root.path(), &["--user", "alice:s3cret", "--writable"]);
    let base = format!("ftp://127.0.0.1:{}", server.addr.port());
    let run = |args: &[&str]| -> Output {
        tool("curl")
            .args([
                "--silent",
                "--show-error",
                "--max-time",
                "30",
                "--user",
                "alice:s3cret",
            ])
            .args(args)
            .output()
            .unwrap()
    };
    // Listing.
    let out = check(run(&[&format!("{base}/a/b/")]), "curl list");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rw") && l.ends_with(" file.bin")),
        "{listing}"
    );
    let out = check(run(&["--list-only", &format!("{base}/a/b/")]), "curl NLST");
    // curl lists in TYPE A and converts the CRLF line ends to the local LF.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "file.bin\n");
    // Downloads: passive (EPSV), PASV, active, and every CWD method.
    let dl = work.path().join("dl.bin");
    let dl_s = dl.to_str().unwrap();
    let url = format!("{base}/a/b/file.bin");
    for extra in [
        vec!["--ftp-pasv"],
        vec!["--ftp-pasv", "--disable-epsv"],
        vec!["--ftp-port", "127.0.0.1"],
        vec!["--ftp-port", "127.0.0.1", "--disable-eprt"],
        vec!["--ftp-method", "nocwd"],
        vec!["--ftp-method", "singlecwd"],
        vec!["--ftp-method", "multicwd"],
    ] {
        let _ = std::fs::remove_file(&dl);
        let mut args = extra.clone();
        args.extend(["-o", dl_s, &url]);
        check(run(&args), &format!("curl download {extra:?}"));
        assert!(
            std::fs::read(&dl).unwrap() == payload,
            "download with {extra:?} differs"
        );
    }
    // Resume a download (-C -) from a partial local file.
    std::fs::write(&dl, &payload[..123_456]).unwrap();
    check(run(&["-C", "-", "-o", dl_s, &url]), "curl resume download");
    assert!(
        std::fs::read(&dl).unwrap() == payload,
        "resumed download differs"
    );
    // Upload, into a new directory, and resume an upload (curl uses APPE after SIZE).
    let up = work.path().join("up.bin");
    std::fs::write(&up, &payload).unwrap();
    let up_s = up.to_str().unwrap();
    check(
        run(&[
            "--ftp-create-dirs",
            "-T",
            up_s,
            &format!("{base}/new/dir/up.bin"),
        ]),
        "curl upload",
    );
    assert!(std::fs::read(root.path().join("new/dir/up.bin")).unwrap() == payload);
    std::fs::write(root.path().join("partial.bin"), &payload[..1_000_000]).unwrap();
    check(
        run(&["-C", "-", "-T", up_s, &format!("{base}/partial.bin")]),
        "curl resume upload",
    );
    assert!(
        std::fs::read(root.path().join("partial.bin")).unwrap() == payload,
        "resumed upload differs"
    );
    check(
        run(&[
            "--ftp-port",
            "127.0.0.1",
            "-T",
            up_s,
            &format!("{base}/active-up.bin"),
        ]),
        "curl active upload",
    );
    assert!(std::fs::read(root.path().join("active-up.bin")).unwrap() == payload);
    // A missing file: curl maps our 550 to its "remote file not found" exit status, 78.
    let out = run(&["-o", dl_s, &format!("{base}/missing.bin")]);
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_tree(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for i in 0..200 {
        let sub = match i % 4 {
            0 => PathBuf::new(),
            1 => PathBuf::from("level one"),
            2 => PathBuf::from("level one/niveau deux é"),
            _ => PathBuf::from(format!("dir {}/inner", i % 7)),
        };
        let name = match i % 3 {
            0 => format!("file {i}.txt"),
            1 => format!("résumé-{i}.bin"),
            _ => format!("plain{i}"),
        };
        let rel = sub.join(name);
        std::fs::create_dir_all(dir.join(&sub)).unwrap();
        std::fs::write(dir.join(&rel), data(i * 997 % 70_000, i as u64 + 1)).unwrap();
        files.push(rel);
    }
    files
}

#[test]
fn lftp_mirror_both_ways() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let back = tempfile::tempdir().unwrap();
    let files = write_tree(local.path());
    let server = Ftpd::start(root.path(), &["--user", "alice:s3cret", "--writable"]);
    let lftp = |script: String| {
        check(
            tool("lftp")
                .args(["-u", "alice,s3cret", "-p", &server.addr.port().to_string(), "-e"])
                .arg(format!(
                    "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 15; set ftp:ssl-allow no; {script}; quit"
                ))
                .arg("127.0.0.1")
                .output()
                .unwrap(),
            &script,
        )
    };
    lftp(format!("mirror -R {} /site", local.path().display()));
    for rel in &files {
        let a = std::fs::read(local.path().join(rel)).unwrap();
        let b = std::fs::read(root.path().join("site").join(rel)).unwrap();
        assert!(a == b, "uploaded {} differs", rel.display());
    }
    lftp(format!("mirror /site {}", back.path().display()));
    for rel in &files {
        let a = std::fs::read(local.path().join(rel)).unwrap();
        let b = std::fs::read(back.path().join(rel)).unwrap();
        assert!(a == b, "mirrored back {} differs", rel.display());
    }
    let count = |dir: &Path| walk(dir).len();
    assert_eq!(count(back.path()), files.len());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn ftpd_defaults_serve_anonymous_read_only() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("hello.txt"), b"hello\n").unwrap();
    let server = Ftpd::start(root.path(), &[]);
    let base = format!("ftp://127.0.0.1:{}", server.addr.port());
    let out = check(
        tool("curl")
            .args([
                "--silent",
                "--show-error",
                "--max-time",
                "20",
                &format!("{base}/hello.txt"),
            ])
            .output()
            .unwrap(),
        "anonymous download",
    );
    assert_eq!(out.stdout, b"hello\n");
    let up = root.path().join("hello.txt");
    let out = tool("curl")
        .args(["--silent", "--show-error", "--max-time", "20", "-T"])
        .arg(&up)
        .arg(format!("{base}/copy.txt"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "anonymous upload must fail");
    assert!(!root.path().join("copy.txt").exists());
}

/// A blocking control connection for the tests below that need no outside client.
struct Ctl {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Ctl {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut ctl = Self {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        assert_eq!(ctl.reply().unwrap().0, 220);
        ctl
    }

    fn anonymous(addr: SocketAddr) -> Self {
        let mut ctl = Self::connect(addr);
        assert_eq!(ctl.code("USER anonymous"), 331);
        assert_eq!(ctl.code("PASS guest@example.com"), 230);
        ctl
    }

    /// One reply: its code and the text of its first line; `None` at end of stream. A
    /// multi-line reply ends at the line that starts with its code and a space.
    fn reply(&mut self) -> Option<(u16, String)> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("not a reply: {line:?}"));
        let first = line.get(4..).unwrap_or_default().trim_end().to_owned();
        if line.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let mut more = String::new();
                assert!(self.reader.read_line(&mut more).unwrap() > 0, "cut short");
                if more.starts_with(&end) {
                    break;
                }
            }
        }
        Some((code, first))
    }

    fn cmd(&mut self, line: &str) -> (u16, String) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.reply().expect("a reply")
    }

    fn code(&mut self, line: &str) -> u16 {
        self.cmd(line).0
    }
}

/// Waits for a child to exit, at most `limit`.
fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// With no flags: the current directory, read-only, anonymous, on 127.0.0.1:2121.
#[test]
fn ftpd_without_flags() {
    if let Err(e) = TcpListener::bind("127.0.0.1:2121") {
        eprintln!("skipping ftpd_without_flags: 127.0.0.1:2121 is not free ({e})");
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("here.txt"), b"here\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .current_dir(cwd.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed (by its own PID) however the test ends.
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let _child = Kill(child);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "listening on 127.0.0.1:2121\n");
    let root = std::fs::canonicalize(cwd.path()).unwrap();
    let serving = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no serving line");
        if line.starts_with("ftpd: serving") {
            break line;
        }
    };
    assert_eq!(
        serving.trim_end(),
        format!(
            "ftpd: serving {} (read-only) to anonymous users (read-only)",
            root.display()
        )
    );
    // It does what it says: anonymous reads the directory, writes nothing, and no one else
    // logs in.
    let addr: SocketAddr = "127.0.0.1:2121".parse().unwrap();
    let mut c = Ctl::anonymous(addr);
    assert_eq!(c.cmd("SIZE here.txt"), (213, "5".to_owned()));
    assert_eq!(c.code("STOR new.txt"), 550);
    assert_eq!(c.code("MKD dir"), 550);
    assert_eq!(c.code("DELE here.txt"), 550);
    assert!(!cwd.path().join("new.txt").exists());
    let mut other = Ctl::connect(addr);
    assert_eq!(other.code("USER alice"), 331);
    assert_eq!(other.code("PASS secret"), 530);
}

/// SIGINT: ftpd tells connected clients it is going (421), closes them and exits with 0.
#[test]
fn ftpd_exits_cleanly_on_sigint() {
    let root = tempfile::tempdir().unwrap();
    let mut server = Ftpd::start(root.path(), &[]);
    let mut logged_in = Ctl::anonymous(server.addr);
    let mut greeted = Ctl::connect(server.addr);
    let pid = server.child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success(), "kill -INT {pid}");
    for c in [&mut logged_in, &mut greeted] {
        let (code, text) = c.reply().expect("a 421 before the close");
        assert_eq!(code, 421, "{text}");
        assert!(c.reply().is_none(), "closed after the 421");
    }
    let status = wait_with_limit(&mut server.child, Duration::from_secs(20))
        .expect("ftpd exits after SIGINT");
    assert!(status.success(), "exit status {status}");
    assert_eq!(status.code(), Some(0));
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "no longer listening"
    );
}

/// `--passive-ports A-B`: every PASV and EPSV port is in the range, and works.
#[test]
fn ftpd_passive_ports() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f.txt"), b"contents").unwrap();
    let (first, last) = free_port_range(4);
    let range = format!("{first}-{last}");
    let server = Ftpd::start(root.path(), &["--passive-ports", &range]);
    let mut c = Ctl::anonymous(server.addr);
    assert_eq!(c.code("TYPE I"), 200);
    let mut seen = Vec::new();
    for round in 0..6 {
        let port = if round % 2 == 0 {
            let (code, text) = c.cmd("PASV");
            assert_eq!(code, 227, "{text}");
            ftp_proto::address::parse_pasv_reply(text.as_bytes())
                .unwrap()
                .port()
        } else {
            let (code, text) = c.cmd("EPSV");
            assert_eq!(code, 229, "{text}");
            ftp_proto::address::parse_epsv_reply(text.as_bytes()).unwrap()
        };
        assert!((first..=last).contains(&port), "{port} not in {range}");
        seen.push(port);
        let mut data = TcpStream::connect(("127.0.0.1", port)).unwrap();
        data.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        assert_eq!(c.code("RETR f.txt"), 150);
        let mut got = Vec::new();
        data.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"contents");
        assert_eq!(c.reply().unwrap().0, 226);
    }
    seen.sort_unstable();
    seen.dedup();
    assert!(seen.len() > 1, "the range is used, not one port: {seen:?}");
}

/// `--masquerade IP`: the 227 reply announces that address (the port stays usable locally).
#[test]
fn ftpd_masquerade() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f.txt"), b"masked").unwrap();
    let server = Ftpd::start(root.path(), &["--masquerade", "203.0.113.7"]);
    let mut c = Ctl::anonymous(server.addr);
    let (code, text) = c.cmd("PASV");
    assert_eq!(code, 227, "{text}");
    assert!(text.contains("(203,0,113,7,"), "{text}");
    let announced = ftp_proto::address::parse_pasv_reply(text.as_bytes()).unwrap();
    assert_eq!(announced.ip().octets(), [203, 0, 113, 7]);
    // As curl and lftp do behind NAT: the port, on the control connection's address.
    let mut data = TcpStream::connect(("127.0.0.1", announced.port())).unwrap();
    data.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.code("RETR f.txt"), 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"masked");
    assert_eq!(c.reply().unwrap().0, 226);
    // EPSV carries no address at all.
    let (code, text) = c.cmd("EPSV");
    assert_eq!(code, 229);
    assert!(!text.contains("203"), "{text}");
}

#[test]
fn ftpd_connection_limits() {
    let root = tempfile::tempdir().unwrap();
    let server = Ftpd::start(
        root.path(),
        &["--max-connections", "3", "--max-connections-per-ip", "2"],
    );
    let first = Ctl::anonymous(server.addr);
    let _second = Ctl::connect(server.addr);
    // The third from the same address: 421 and closed.
    let mut third = TcpStream::connect(server.addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut refused = String::new();
    third.read_to_string(&mut refused).unwrap();
    assert!(refused.starts_with("421 "), "{refused:?}");
    // Another address (127.0.0.2 is loopback too) still gets the last place overall.
    let other = Command::new("python3")
        .args(["-c", &format!(
            "import socket; s = socket.create_connection(('127.0.0.1', {}), source_address=('127.0.0.2', 0)); print(s.recv(100).decode().split()[0])",
            server.addr.port()
        )])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&other.stdout).trim(), "220");
    drop(first);
}

/// curl over FTPS, the certificate checked: explicit (`--ssl-reqd`) and implicit (`ftps://`),
/// TLS 1.2 and 1.3, passive mode, listings, downloads, uploads and `-C -` resumes byte
/// for byte; `--ftp-ssl-control` (data in the clear, which the default policy allows); and a
/// plain password login refused.
#[test]
fn curl_over_tls() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let payload = data(3 * 1024 * 1024 + 7, 21);
    std::fs::write(root.path().join("file.bin"), &payload).unwrap();
    let server = FtpsD::start(
        root.path(),
        work.path(),
        &["--user", "alice:s3cret", "--writable"],
    );
    let base = format!("ftp://127.0.0.1:{}", server.ftpd.addr.port());
    let implicit = format!("ftps://127.0.0.1:{}", server.implicit.port());
    let cacert = server.cert.to_str().unwrap().to_owned();
    let run = |args: &[&str]| -> Output {
        tool("curl")
            .args(["--silent", "--show-error", "--max-time", "30"])
            .args(["--user", "alice:s3cret", "--cacert", &cacert])
            .args(args)
            .output()
            .unwrap()
    };
    let out = check(run(&["--ssl-reqd", &format!("{base}/")]), "curl TLS list");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" file.bin"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dl = work.path().join("dl.bin");
    let dl_s = dl.to_str().unwrap();
    let up = work.path().join("up.bin");
    std::fs::write(&up, &payload).unwrap();
    let up_s = up.to_str().unwrap();
    for version in [&["--tlsv1.3"][..], &["--tlsv1.2", "--tls-max", "1.2"][..]] {
        for (how, url) in [("explicit", &base), ("implicit", &implicit)] {
            // Passive only: active FTPS is broken in curl 7.87 to 8.0 (curl#10666, the
            // listening socket taken for a connected one: "sa_addr inet_ntop() failed"),
            // which is Debian 12's curl. ftplib and our own client test active FTPS.
            let what = format!("{how} {version:?}");
            let mut args: Vec<&str> = version.to_vec();
            if how == "explicit" {
                args.push("--ssl-reqd");
            }
            let _ = std::fs::remove_file(&dl);
            let mut get = args.clone();
            let src = format!("{url}/file.bin");
            get.extend(["-o", dl_s, &src]);
            check(run(&get), &format!("curl download {what}"));
            assert!(std::fs::read(&dl).unwrap() == payload, "download {what}");
            let name = format!("up-{}.bin", what.replace([' ', '"', '[', ']', ','], "_"));
            let dst = format!("{url}/{name}");
            let mut put = args.clone();
            put.extend(["-T", up_s, &dst]);
            check(run(&put), &format!("curl upload {what}"));
            assert!(
                std::fs::read(root.path().join(&name)).unwrap() == payload,
                "upload {what} stored differently"
            );
        }
    }
    // Resumes, both ways.
    std::fs::write(&dl, &payload[..777_777]).unwrap();
    check(
        run(&[
            "--ssl-reqd",
            "-C",
            "-",
            "-o",
            dl_s,
            &format!("{base}/file.bin"),
        ]),
        "curl TLS resume download",
    );
    assert!(std::fs::read(&dl).unwrap() == payload);
    std::fs::write(root.path().join("partial.bin"), &payload[..1_234_567]).unwrap();
    check(
        run(&[
            "--ssl-reqd",
            "-C",
            "-",
            "-T",
            up_s,
            &format!("{base}/partial.bin"),
        ]),
        "curl TLS resume upload",
    );
    assert!(std::fs::read(root.path().join("partial.bin")).unwrap() == payload);
    // Control protected, data in the clear (PROT C): allowed by the default policy.
    let _ = std::fs::remove_file(&dl);
    check(
        run(&["--ftp-ssl-control", "-o", dl_s, &format!("{base}/file.bin")]),
        "curl --ftp-ssl-control",
    );
    assert!(std::fs::read(&dl).unwrap() == payload);
    // A password login in the clear is refused: curl's "access denied" exit status, 67.
    let out = run(&[&format!("{base}/")]);
    assert_eq!(
        out.status.code(),
        Some(67),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Python's ftplib.FTP_TLS with the certificate checked: with a session-reusing subclass it
/// moves files byte for byte (passive and active); plain FTP_TLS, which cannot resume, is
/// refused with 425 and a reason; with `--tls-no-session-reuse` plain FTP_TLS works.
#[test]
fn python_ftplib_over_tls() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ftplib_tls.py");
    for (mode, extra) in [("reuse", None), ("plain", Some("--tls-no-session-reuse"))] {
        let root = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let mut args = vec!["--user", "alice:s3cret", "--writable"];
        args.extend(extra);
        let server = FtpsD::start(root.path(), work.path(), &args);
        let out = check(
            tool("python3")
                .arg(&script)
                .args(["127.0.0.1", &server.ftpd.addr.port().to_string()])
                .args(["alice", "s3cret"])
                .arg(&server.cert)
                .arg(work.path())
                .arg(mode)
                .output()
                .unwrap(),
            &format!("ftplib TLS suite ({mode})"),
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
        let tag = if mode == "reuse" { "reuse" } else { "noreuse" };
        let sent = std::fs::read(work.path().join(format!("{tag}.bin"))).unwrap();
        for how in ["pasv", "port"] {
            let stored = std::fs::read(root.path().join(format!("{tag}-{how}.bin"))).unwrap();
            assert!(sent == stored, "{mode} {how}: stored file differs");
        }
    }
}

/// lftp (GnuTLS) with `ftp:ssl-force`: a tree up with `mirror -R` under TLS 1.3 and back with
/// `mirror` under TLS 1.2, byte for byte, every data connection resuming the control
/// connection's session.
#[test]
fn lftp_mirror_over_tls() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let back = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let files = write_tree(local.path());
    let server = FtpsD::start(
        root.path(),
        certs.path(),
        &[
            "--user",
            "alice:s3cret",
            "--writable",
            "--tls",
            "required",
            "--tls-data-required",
        ],
    );
    let lftp = |priority: &str, script: String| {
        check(
            tool("lftp")
                .args([
                    "-u",
                    "alice,s3cret",
                    "-p",
                    &server.ftpd.addr.port().to_string(),
                    "-e",
                ])
                .arg(format!(
                    "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 15; \
                     set ftp:ssl-force true; set ftp:ssl-protect-data true; \
                     set ssl:priority {priority}; set ssl:ca-file {}; {script}; quit",
                    server.cert.display()
                ))
                .arg("127.0.0.1")
                .output()
                .unwrap(),
            &script,
        )
    };
    let tls13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
    let tls12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
    lftp(tls13, format!("mirror -R {} /site", local.path().display()));
    for rel in &files {
        let sent = std::fs::read(local.path().join(rel)).unwrap();
        let stored = std::fs::read(root.path().join("site").join(rel)).unwrap();
        assert!(sent == stored, "{} differs on the server", rel.display());
    }
    lftp(tls12, format!("mirror /site {}", back.path().display()));
    assert_eq!(walk(back.path()).len(), files.len());
    for rel in &files {
        let sent = std::fs::read(local.path().join(rel)).unwrap();
        let got = std::fs::read(back.path().join(rel)).unwrap();
        assert!(
            sent == got,
            "{} differs after the round trip",
            rel.display()
        );
    }
}
