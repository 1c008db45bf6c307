//! The example client `ftp` against the example server `ftpd`, both as the user runs them:
//! the one-shot subcommands, credentials from the URL, the environment and ~/.netrc, and the
//! interactive shell driven through stdin.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// A running `ftpd` with user `u`/`p` (writable) and anonymous read-only access; killed (by
/// its own PID) when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(root: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
            .args([
                "--bind",
                "127.0.0.1:0",
                "--user",
                "u:p",
                "--writable",
                "--anonymous",
            ])
            .arg("--root")
            .arg(root)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let addr = stdout
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned))
            .expect("ftpd did not start");
        Self { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("ftp://u:p@{}/{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ftp ARGS` in `dir`, with a HOME of its own (no stray ~/.netrc) and no FTP_* variables.
fn ftp(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ftp"));
    cmd.args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("FTP_USER")
        .env_remove("FTP_PASSWORD")
        .stdin(Stdio::null());
    cmd
}

fn ok(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a terminal: no progress bar, nothing extra on stderr.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn tree(files: &[(&str, &[u8])], root: &Path) {
    for (name, contents) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

#[test]
fn one_shot_subcommands_in_both_modes() {
    let srv_root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let server = Server::start(srv_root.path());
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(local.path().join("big.bin"), &big).unwrap();

    for (mode, active) in [("passive", &[][..]), ("active", &["--active"][..])] {
        let dir = format!("{mode}/");
        // put into a directory URL keeps the file name; the directory must exist.
        std::fs::create_dir_all(srv_root.path().join(mode)).unwrap();
        let url = server.url(&dir);
        ok(ftp(
            local.path(),
            &[&["put"], active, &["big.bin", &url]].concat(),
        ));
        assert_eq!(
            std::fs::read(srv_root.path().join(mode).join("big.bin")).unwrap(),
            big
        );

        let out = ok(ftp(local.path(), &[&["ls"], active, &[&url]].concat()));
        let listing = String::from_utf8(out.stdout).unwrap();
        assert!(
            listing
                .lines()
                .any(|l| l.ends_with(" big.bin") && l.contains("1500000")),
            "{listing}"
        );

        let file_url = server.url(&format!("{mode}/big.bin"));
        ok(ftp(
            local.path(),
            &[&["get"], active, &[&file_url, "copy.bin"]].concat(),
        ));
        assert_eq!(std::fs::read(local.path().join("copy.bin")).unwrap(), big);

        // --resume continues from the local file's size.
        std::fs::write(local.path().join("part.bin"), &big[..400_000]).unwrap();
        ok(ftp(
            local.path(),
            &[&["get"], active, &["--resume", &file_url, "part.bin"]].concat(),
        ));
        assert_eq!(std::fs::read(local.path().join("part.bin")).unwrap(), big);

        // put --resume continues from the remote size.
        std::fs::write(srv_root.path().join(mode).join("up.bin"), &big[..99_999]).unwrap();
        let up_url = server.url(&format!("{mode}/up.bin"));
        ok(ftp(
            local.path(),
            &[&["put"], active, &["--resume", "big.bin", &up_url]].concat(),
        ));
        assert_eq!(
            std::fs::read(srv_root.path().join(mode).join("up.bin")).unwrap(),
            big
        );
    }

    // Failures: exit status 1 and the server's reply on stderr; no empty file left behind.
    let out = ftp(local.path(), &["get", &server.url("missing.bin")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("550"), "{stderr}");
    assert!(!local.path().join("missing.bin").exists());
    let bad_login = format!("ftp://u:wrong@{}/", server.addr);
    let out = ftp(local.path(), &["ls", &bad_login]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("530"));
    let out = ftp(local.path(), &["ls", "http://nope/"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn mirror_up_and_down_and_credentials() {
    let srv_root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let server = Server::start(srv_root.path());
    let files: &[(&str, &[u8])] = &[
        ("site/index.html", b"<h1>home</h1>\n"),
        ("site/a dir/with space.txt", b"spaces\n"),
        ("site/ünï/cödé.txt", "utf-8 names\n".as_bytes()),
        ("site/deep/er/still/file.bin", &[0, 1, 2, 255, 254, 13, 10]),
    ];
    tree(files, local.path());

    // The contents of site/ become those of the remote www/ (created, with its parent).
    ok(ftp(
        local.path(),
        &["mirror", "--quiet", "site", &server.url("pub/www")],
    ));
    for (name, contents) in files {
        let on_server = srv_root
            .path()
            .join("pub/www")
            .join(name.strip_prefix("site/").unwrap());
        assert_eq!(std::fs::read(&on_server).unwrap(), *contents, "{name}");
    }

    // Back down, with the user from the environment instead of the URL.
    let down_url = format!("ftp://{}/pub/www", server.addr);
    let mut cmd = ftp(
        local.path(),
        &["mirror", "--quiet", "--download", &down_url, "back"],
    );
    cmd.env("FTP_USER", "u").env("FTP_PASSWORD", "p");
    ok(cmd);
    for (name, contents) in files {
        let back = local
            .path()
            .join("back")
            .join(name.strip_prefix("site/").unwrap());
        assert_eq!(std::fs::read(&back).unwrap(), *contents, "{name}");
    }

    // ~/.netrc: its machine entry logs in as u (a write needs it: anonymous is read-only).
    let host_only = format!("ftp://{}/pub/from-netrc.txt", server.addr);
    std::fs::write(
        local.path().join(".netrc"),
        "machine 127.0.0.1\n  login u\n  password p\n",
    )
    .unwrap();
    ok(ftp(local.path(), &["put", "site/index.html", &host_only]));
    assert!(srv_root.path().join("pub/from-netrc.txt").is_file());
    std::fs::remove_file(local.path().join(".netrc")).unwrap();

    // No credentials anywhere: anonymous, which may read but not write.
    let out = ok(ftp(
        local.path(),
        &["ls", &format!("ftp://{}/pub/", server.addr)],
    ));
    assert!(String::from_utf8_lossy(&out.stdout).contains("from-netrc.txt"));
    let out = ftp(local.path(), &["put", "site/index.html", &host_only])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("550"));
}

#[test]
fn interactive_shell_from_stdin() {
    let srv_root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let server = Server::start(srv_root.path());
    std::fs::write(local.path().join("one.txt"), b"first\nsecond\n").unwrap();
    std::fs::write(local.path().join("two.txt"), b"2\n").unwrap();
    std::fs::write(local.path().join("skip.dat"), b"not matched").unwrap();
    let (host, port) = server.addr.rsplit_once(':').unwrap();
    let script = format!(
        "help\nopen {host} {port}\nuser u p\nmkdir box\ncd box\npwd\nput one.txt\n\
         mput *.txt\nls\ndir\nsize one.txt\nrename two.txt deux.txt\nascii\nget one.txt a.txt\n\
         binary\nactive\nget one.txt b.txt\npassive\nmkdir sub\nrmdir sub\ndelete deux.txt\n\
         status\nnonsense\ncd /\nmget none*\nbye\n"
    );
    let mut child = ftp(local.path(), &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // One command failed on purpose (`nonsense`), so the status says so.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.trim(),
        "ftp: unknown command \"nonsense\" (try help)"
    );
    assert!(stdout.contains("mget PATTERN"), "help printed");
    assert!(stdout.contains("/box"), "{stdout}");
    assert!(stdout.contains("one.txt 13"), "size: {stdout}");
    assert!(stdout.contains("Active mode on.") && stdout.contains("Type set to A"));
    assert!(stdout.contains("211"), "server status: {stdout}");
    let remote = srv_root.path().join("box");
    assert_eq!(
        std::fs::read(remote.join("one.txt")).unwrap(),
        b"first\nsecond\n"
    );
    assert!(!remote.join("two.txt").exists() && !remote.join("deux.txt").exists());
    assert!(!remote.join("skip.dat").exists() && !remote.join("sub").exists());
    // ASCII and binary downloads of a LF file give the same bytes locally.
    for copy in ["a.txt", "b.txt"] {
        assert_eq!(
            std::fs::read(local.path().join(copy)).unwrap(),
            b"first\nsecond\n"
        );
    }
}

/// FTPS with the example programs as users run them: `ftpd --tls-cert/--tls-key
/// --implicit-bind`, and `ftp` with `--tls`, `ftps://` URLs, `--ca-file`, `--insecure`, one-shot
/// and in the shell; a certificate that does not check out is refused; `ftpd --tls required`
/// without a certificate refuses to start.
#[test]
fn ftps_with_both_programs() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (cert, key) = ftp_test_support::write_test_certificate(work.path());
    let payload = ftp_test_support::data(700_000, 9);
    std::fs::write(work.path().join("local.bin"), &payload).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .args(["--bind", "127.0.0.1:0", "--implicit-bind", "127.0.0.1:0"])
        .args(["--user", "u:p", "--writable", "--tls", "required"])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--root")
        .arg(root.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = |prefix: &str| {
        let line = lines.next().unwrap().unwrap();
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line:?}"))
            .to_owned()
    };
    let explicit = next("listening on ");
    let implicit = next("listening for implicit TLS on ");
    let server = Server {
        child,
        addr: explicit,
    };
    let ca = cert.to_str().unwrap();
    let dir = work.path();
    ok(ftp(
        dir,
        &[
            "put",
            "--tls",
            "--ca-file",
            ca,
            "local.bin",
            &server.url("up.bin"),
        ],
    ));
    assert!(std::fs::read(root.path().join("up.bin")).unwrap() == payload);
    let back = format!("ftps://u:p@{implicit}/up.bin");
    ok(ftp(dir, &["get", "--ca-file", ca, &back, "back.bin"]));
    assert!(std::fs::read(dir.join("back.bin")).unwrap() == payload);
    ok(ftp(
        dir,
        &["get", "--insecure", "--active", &back, "active.bin"],
    ));
    assert!(std::fs::read(dir.join("active.bin")).unwrap() == payload);
    let out = ok(ftp(dir, &["ls", "--tls", "--ca-file", ca, &server.url("")]));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" up.bin"));
    // Without a trusted certificate the connection is refused, and so is plain text.
    let out = ftp(dir, &["ls", "--tls", &server.url("")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate"));
    let out = ftp(dir, &["ls", &server.url("")]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("530"),
        "{out:?}"
    );
    // The shell, with the same flags.
    let mut shell = ftp(dir, &["--tls", "--ca-file", ca, &server.url("")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    shell
        .stdin
        .take()
        .unwrap()
        .write_all(b"ls\nget up.bin shell.bin\nbye\n")
        .unwrap();
    let out = shell.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(TLS)") && text.contains("up.bin"), "{text}");
    assert!(std::fs::read(dir.join("shell.bin")).unwrap() == payload);
    drop(server);
    // A TLS policy without a certificate: ftpd refuses to start instead of running plain.
    let out = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .args(["--bind", "127.0.0.1:0", "--tls", "required"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-cert"));
}

/// `ftp` for scripts: standard output and /dev/null as targets, a summary on stderr (plurals
/// right, `--quiet` silences it), errors that say which side failed and name it, and the
/// one-shot rm, mkdir and mv.
#[test]
fn cli_for_scripts() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    tree(
        &[("pub/a.txt", b"hello"), ("pub/sub/b.bin", b"bb")],
        root.path(),
    );
    let server = Server::start(root.path());
    let out = ok(ftp(local.path(), &["get", &server.url("pub/a.txt"), "-"]));
    assert_eq!(out.stdout, b"hello");
    assert!(!local.path().join("-").exists());
    ok(ftp(
        local.path(),
        &["get", &server.url("pub/a.txt"), "/dev/null"],
    ));
    // The summary, not on a terminal too.
    let out = ftp(
        local.path(),
        &["mirror", "--download", &server.url("pub/sub"), "copy"],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "1 new, 0 changed, 0 deleted, 0 unchanged, 0 directories, 2 bytes\n"
    );
    // Which side failed, named.
    let fails = |args: &[&str]| {
        let out = ftp(local.path(), args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(
        fails(&["get", &server.url("pub/a.txt"), "/nonexistent/dir/x"]),
        "ftp: /nonexistent/dir/x: No such file or directory\n"
    );
    let err = fails(&["get", &server.url("pub/missing.txt")]);
    assert!(
        err.starts_with(&format!("ftp: {}/pub/missing.txt: ", server.addr)) && err.contains("550"),
        "{err}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert_eq!(
        fails(&["ls", &format!("ftp://127.0.0.1:{port}/")]),
        format!("ftp: 127.0.0.1:{port}: connection refused\n")
    );
    let err = fails(&["put", "/nonexistent/y", &server.url("pub/")]);
    assert_eq!(err, "ftp: /nonexistent/y: No such file or directory\n");
    // rm, mkdir, mv.
    ok(ftp(local.path(), &["mkdir", &server.url("pub/new/deeper")]));
    assert!(root.path().join("pub/new/deeper").is_dir());
    ok(ftp(
        local.path(),
        &["mv", &server.url("pub/a.txt"), "renamed.txt"],
    ));
    assert_eq!(
        std::fs::read(root.path().join("pub/renamed.txt")).unwrap(),
        b"hello"
    );
    ok(ftp(local.path(), &["rm", &server.url("pub/renamed.txt")]));
    assert!(!root.path().join("pub/renamed.txt").exists());
    let err = fails(&["rm", &server.url("pub/renamed.txt")]);
    assert!(
        err.contains("/pub/renamed.txt: ") && err.contains("550"),
        "{err}"
    );
}

/// Ctrl-C (SIGINT) during a transfer says how to resume it.
#[cfg(unix)]
#[test]
fn interrupted_download_says_how_to_resume() {
    use std::io::Read;
    // A server that logs in and then never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        s.write_all(b"220 hello\r\n").unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        for reply in [&b"331 pw\r\n"[..], b"230 in\r\n"] {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            s.write_all(reply).unwrap();
        }
        // Hold the session until the client is gone.
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("ftp://u:p@127.0.0.1:{port}/big.iso");
    let child = ftp(dir.path(), &["get", &url, "big.iso"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("ftp get --resume {url} big.iso")),
        "{err}"
    );
    server.join().unwrap();
}

/// `put --verify` and `get --verify`: the server's checksum against the local file's, a
/// line on stderr when they match; exit status 1 naming the file and both checksums when a
/// resume was made onto a damaged partial file; exit status 1 when the server has no
/// checksums (pyftpdlib).
#[test]
fn verify_after_put_and_get() {
    let srv_root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let server = Server::start(srv_root.path());
    let big: Vec<u8> = (0..2_500_000u32).map(|i| (i * 13 % 253) as u8).collect();
    std::fs::write(local.path().join("big.bin"), &big).unwrap();
    let sha256 = String::from_utf8(
        Command::new("sha256sum")
            .arg(local.path().join("big.bin"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split_whitespace()
    .next()
    .unwrap()
    .to_owned();
    let run = |args: &[&str]| ftp(local.path(), args).output().unwrap();
    let out = run(&["put", "--verify", "big.bin", &server.url("big.bin")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!("verified {}/big.bin: SHA-256 {sha256}", server.addr)
    );
    let out = run(&["get", "--verify", &server.url("big.bin"), "copy.bin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(local.path().join("copy.bin")).unwrap(), big);

    // A partial upload damaged on the server: the resume sends only the rest, and the
    // checksum shows the difference.
    let mut damaged = big[..1_000_000].to_vec();
    damaged[500] ^= 0xff;
    std::fs::write(srv_root.path().join("part.bin"), &damaged).unwrap();
    let out = run(&[
        "put",
        "--resume",
        "--verify",
        "big.bin",
        &server.url("part.bin"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("part.bin: checksums differ: SHA-256")
            && stderr.contains(&format!("{sha256} locally")),
        "{stderr}"
    );

    // A server without checksums: the transfer happens, the verification cannot.
    let py_root = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut py = Command::new("python3")
        .args([
            "-m",
            "pyftpdlib",
            "-i",
            "127.0.0.1",
            "-w",
            "-u",
            "u",
            "-P",
            "p",
            "-p",
        ])
        .arg(port.to_string())
        .arg("-d")
        .arg(py_root.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "pyftpdlib did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("ftp://u:p@127.0.0.1:{port}/big.bin");
    let out = run(&["put", "--verify", "big.bin", &url]);
    let _ = py.kill();
    let _ = py.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot verify"), "{stderr}");
    assert_eq!(std::fs::read(py_root.path().join("big.bin")).unwrap(), big);
}
