//! Interoperability: real clients (Python's ftplib, curl, lftp) against the example server
//! `ftpd`, started by each test on 127.0.0.1 with a fresh temporary root. `scripts/test.sh`
//! installs the clients on a fresh machine.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A running `ftpd`; killed (by its own PID) when dropped.
struct Ftpd {
    child: Child,
    addr: SocketAddr,
}

impl Ftpd {
    fn start(root: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
            .args(["--bind", "127.0.0.1:0", "--root"])
            .arg(root)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"));
        Self {
            addr: addr.parse().unwrap(),
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

fn tool(name: &str) -> Command {
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

fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
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
