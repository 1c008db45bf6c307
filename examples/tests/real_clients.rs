//! What real clients do on day one, against `ftpd` on 127.0.0.1: Python's ftplib aborting a
//! transfer (ABOR with MSG_OOB), Node's basic-ftp asking for a missing file, `mget *` in tnftp
//! and inetutils ftp, ncftpget with a wildcard, and ftpd on several addresses at once.
//! `scripts/test.sh` installs the clients on a fresh machine.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{Ftpd, check, tool};
use ftp_test_support::{data, sha256};

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

fn user_server(root: &Path) -> Ftpd {
    Ftpd::start(root, &["--user", "alice:s3cret", "--writable"])
}

#[test]
fn ftplib_abort_mid_retr_and_stor() {
    let root = tempfile::tempdir().unwrap();
    let big = data(32 << 20, 11);
    std::fs::write(root.path().join("big.bin"), &big).unwrap();
    let server = user_server(root.path());
    let out = check(
        tool("python3")
            .arg(script("ftplib_abort.py"))
            .args([
                "127.0.0.1",
                &server.addr.port().to_string(),
                "alice",
                "s3cret",
            ])
            .output()
            .unwrap(),
        "ftplib abort()",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), format!("OK {}", sha256(&big)));
    assert_eq!(
        std::fs::read(root.path().join("whole.bin")).unwrap(),
        b"whole file\n"
    );
}

#[test]
fn basic_ftp_keeps_its_session_after_a_missing_file() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("hello.txt"), b"hello from ftpd\n").unwrap();
    std::fs::write(root.path().join("big.bin"), data(1 << 20, 2)).unwrap();
    let server = user_server(root.path());
    let peers = std::env::var("FTP_PEERS").unwrap_or_else(|_| "/opt/ftp-peers".into());
    let modules = Path::new(&peers).join("node/node_modules");
    assert!(
        modules.join("basic-ftp").is_dir(),
        "basic-ftp is not installed in {}: run scripts/test.sh, which installs it",
        modules.display()
    );
    let out = check(
        tool("node")
            .arg(script("basic_ftp_missing.js"))
            .args([
                "127.0.0.1",
                &server.addr.port().to_string(),
                "alice",
                "s3cret",
            ])
            .arg(work.path())
            .env("NODE_PATH", &modules)
            .output()
            .unwrap(),
        "basic-ftp",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    assert_eq!(
        std::fs::read(work.path().join("hello.txt")).unwrap(),
        b"hello from ftpd\n"
    );
    assert_eq!(
        std::fs::read(root.path().join("copy.txt")).unwrap(),
        b"hello from ftpd\n"
    );
}

/// A root for `mget *`: two files and a directory (which mget skips).
fn mget_root() -> (tempfile::TempDir, Vec<(&'static str, Vec<u8>)>) {
    let root = tempfile::tempdir().unwrap();
    let files = vec![
        ("one.bin", data(300_000, 1)),
        ("two.txt", b"two\n".to_vec()),
        ("three.bin", data(70_000, 3)),
    ];
    for (name, contents) in &files {
        std::fs::write(root.path().join(name), contents).unwrap();
    }
    std::fs::create_dir(root.path().join("sub")).unwrap();
    (root, files)
}

/// Drives a classic Unix client (tnftp, inetutils ftp) with commands on standard input.
fn classic_mget(program: &str, flags: &[&str]) {
    let (root, files) = mget_root();
    let work = tempfile::tempdir().unwrap();
    let server = user_server(root.path());
    let mut child = tool(program)
        .args(flags)
        .current_dir(work.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let commands = format!(
        "open 127.0.0.1 {}\nuser alice s3cret\nbinary\nmget *\nquit\n",
        server.addr.port()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    let out = check(
        wait_output(child, Duration::from_secs(60)),
        &format!("{program} mget"),
    );
    for (name, contents) in &files {
        let got = std::fs::read(work.path().join(name)).unwrap_or_else(|e| {
            panic!(
                "{program}: {name} not fetched ({e}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(&got == contents, "{program}: {name} differs");
    }
}

fn wait_output(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn tnftp_mget_star() {
    // -n: no auto-login, -i: no prompt per file, -p: passive mode.
    classic_mget("tnftp", &["-n", "-i", "-p"]);
}

#[test]
fn inetutils_ftp_mget_star() {
    classic_mget("inetutils-ftp", &["-n", "-i", "-p"]);
}

#[test]
fn ncftpget_with_a_wildcard() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("dir")).unwrap();
    for (name, seed) in [("f1.bin", 1), ("f2.bin", 2), ("g.bin", 3)] {
        std::fs::write(root.path().join("dir").join(name), data(50_000, seed)).unwrap();
    }
    let server = user_server(root.path());
    check(
        tool("ncftpget")
            .args(["-u", "alice", "-p", "s3cret", "-P"])
            .arg(server.addr.port().to_string())
            .args(["-V", "127.0.0.1"])
            .arg(work.path())
            .arg("/dir/f*.bin")
            .output()
            .unwrap(),
        "ncftpget",
    );
    let mut got: Vec<String> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["f1.bin", "f2.bin"]);
    assert_eq!(
        std::fs::read(work.path().join("f2.bin")).unwrap(),
        data(50_000, 2)
    );
}

#[test]
fn ftpd_listens_on_several_addresses() {
    let root = tempfile::tempdir().unwrap();
    let server = Ftpd::start_on(&["127.0.0.1:0", "[::1]:0"], root.path(), &[]);
    assert_eq!(server.addrs.len(), 2);
    assert!(server.addrs[0].is_ipv4() && server.addrs[1].is_ipv6());
    for addr in &server.addrs {
        let ctl = TcpStream::connect(addr).unwrap();
        ctl.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut greeting = String::new();
        BufReader::new(ctl).read_line(&mut greeting).unwrap();
        assert!(greeting.starts_with("220 "), "{addr}: {greeting:?}");
    }
}

#[test]
fn help_says_what_each_program_is() {
    for (program, says) in [
        (env!("CARGO_BIN_EXE_ftpd"), "ftpd: an FTP and FTPS server"),
        (env!("CARGO_BIN_EXE_ftp"), "ftp: an FTP and FTPS client"),
    ] {
        let out = check(
            std::process::Command::new(program)
                .arg("--help")
                .output()
                .unwrap(),
            program,
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(says), "{program} --help:\n{text}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("repeatable"), "--bind is repeatable:\n{text}");
}
