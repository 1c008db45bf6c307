//! `ftp mirror` against `ftpd`, the two jobs it is for. Web publishing: a site pushed, a few
//! files changed, added and removed locally, pushed again: only the changes cross the wire
//! (counted from the server's transfer log) and `diff -r` finds the trees equal. Remote backup:
//! large files uploaded with --verify, the control connection cut mid-run by a proxy in the
//! test, the run repeated: it continues the cut file instead of starting it over, and every
//! file is verified; with retries a single run gets through the cut by itself.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use common::Ftpd;

/// `ftpd` serving `root` to u/p (writable), its log (INFO, the transfer log) in `log`.
fn server(root: &Path, log: &Path, extra: &[&str]) -> Ftpd {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ftpd"));
    command
        .args([
            "--user",
            "u:p",
            "--writable",
            "--login-cache-seconds",
            "600",
        ])
        .arg("--root")
        .arg(root)
        .args(extra)
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(log).unwrap());
    Ftpd::spawn(command, &["127.0.0.1:0"])
}

fn ftp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ftp"))
        .args(args)
        .env_remove("FTP_USER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Uploads the server's log shows as complete, by path.
fn stores(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("transfer complete") && l.contains("Store"))
        .filter_map(|l| {
            let path = l.split(" path=").nth(1)?;
            Some(path.split(' ').next()?.to_owned())
        })
        .collect()
}

fn write(root: &Path, name: &str, data: &[u8], age: Duration) {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

fn diff(a: &Path, b: &Path, exclude: &[&str]) -> Output {
    let mut cmd = Command::new("diff");
    cmd.arg("-r");
    for x in exclude {
        cmd.args(["-x", x]);
    }
    cmd.arg(a).arg(b).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn web_publishing_sends_only_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (site, root, log) = (
        dir.path().join("site"),
        dir.path().join("srv"),
        dir.path().join("log"),
    );
    std::fs::create_dir_all(&root).unwrap();
    let hour = Duration::from_secs(3600);
    let logo: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    write(&site, "index.html", b"<h1>Home</h1>\n", hour);
    write(&site, "css/site.css", b"body { color: #333 }\n", hour);
    write(&site, "img/logo.png", &logo, hour);
    write(&site, "about/index.html", b"<p>About us</p>\n", hour);
    write(&site, "about/team.html", b"<p>Team</p>\n", hour);
    write(&site, "draft.tmp", b"not for the web\n", hour);
    let srv = server(&root, &log, &[]);
    let url = format!("ftp://u:p@{}/www", srv.addr);
    let site_s = site.to_str().unwrap();

    let out = ftp(&["mirror", "--delete", "--exclude", "*.tmp", site_s, &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "5 new, 0 changed, 0 deleted, 0 unchanged, 3 directories, 300063 bytes"
    );
    let www = root.join("www");
    assert!(diff(&site, &www, &["draft.tmp"]).status.success());
    assert!(!www.join("draft.tmp").exists());
    assert_eq!(stores(&log).len(), 5);
    // The modification times came along (MFMT): the next run sees nothing to do.
    let out = ftp(&["mirror", "--delete", "--exclude", "*.tmp", site_s, &url]);
    assert_eq!(
        stderr(&out).trim(),
        "0 new, 0 changed, 0 deleted, 5 unchanged, 0 directories, 0 bytes"
    );
    assert_eq!(stores(&log).len(), 5, "nothing went over the wire");

    // An edit of the same size, a new page, a section removed.
    write(&site, "index.html", b"<h1>HOME</h1>\n", Duration::ZERO);
    write(&site, "news.html", b"<p>News</p>\n", Duration::ZERO);
    std::fs::remove_dir_all(site.join("about")).unwrap();
    // A dry run says so and changes nothing.
    let out = ftp(&[
        "mirror",
        "--dry-run",
        "--delete",
        "--exclude",
        "*.tmp",
        site_s,
        &url,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let planned = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(planned, "changed index.html\nnew news.html\ndelete about\n");
    assert!(www.join("about/team.html").exists());
    assert_eq!(stores(&log).len(), 5);

    let out = ftp(&["mirror", "--delete", "--exclude", "*.tmp", site_s, &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "1 new, 1 changed, 1 deleted, 2 unchanged, 0 directories, 26 bytes"
    );
    let sent = stores(&log);
    assert_eq!(sent.len(), 7, "{sent:?}");
    assert!(
        sent[5..]
            .iter()
            .all(|p| p.ends_with("index.html") || p.ends_with("news.html"))
    );
    assert!(diff(&site, &www, &["draft.tmp"]).status.success());
    assert!(!www.join("about").exists());

    // Downloading the site back, in parallel, equals it too; a second run copies nothing.
    let back = dir.path().join("back");
    let out = ftp(&[
        "mirror",
        "--download",
        "--parallel",
        "3",
        &url,
        back.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(diff(&site, &back, &["draft.tmp"]).status.success());
    let out = ftp(&["mirror", "--download", &url, back.to_str().unwrap()]);
    assert!(stderr(&out).contains(" 0 bytes"), "{}", stderr(&out));
    // Times came down too.
    let t = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let skew = t(&site.join("img/logo.png"))
        .duration_since(t(&back.join("img/logo.png")))
        .unwrap_or_default();
    assert!(skew < Duration::from_secs(2), "{skew:?}");
}

/// Forwards control connections to `to` until told to cut them all (once).
struct CuttingProxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
}

impl CuttingProxy {
    fn start(to: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cut);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(to) else {
                    continue;
                };
                let flag = Arc::clone(&flag);
                std::thread::spawn(move || {
                    let pairs = [
                        (client.try_clone().unwrap(), server.try_clone().unwrap()),
                        (server.try_clone().unwrap(), client.try_clone().unwrap()),
                    ];
                    for (mut from, mut to) in pairs {
                        from.set_read_timeout(Some(Duration::from_millis(50)))
                            .unwrap();
                        let flag = Arc::clone(&flag);
                        std::thread::spawn(move || {
                            let mut buf = [0u8; 4096];
                            loop {
                                if flag.swap(false, Ordering::SeqCst) {
                                    // The cut: both ends of this connection go.
                                    let _ = from.shutdown(std::net::Shutdown::Both);
                                    let _ = to.shutdown(std::net::Shutdown::Both);
                                    return;
                                }
                                match from.read(&mut buf) {
                                    Ok(0) => break,
                                    Ok(n) => {
                                        if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                                            break;
                                        }
                                    }
                                    Err(e)
                                        if e.kind() == std::io::ErrorKind::WouldBlock
                                            || e.kind() == std::io::ErrorKind::TimedOut => {}
                                    Err(_) => break,
                                }
                            }
                            let _ = to.shutdown(std::net::Shutdown::Write);
                        });
                    }
                });
            }
        });
        Self { addr, cut }
    }
}

/// Waits until the upload in progress in `dir` (ftpd writes it to a `.ftpd-part-` file
/// beside the target until it is complete) holds at least `bytes`, then cuts.
fn cut_when(cut: &AtomicBool, dir: &Path, bytes: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let biggest = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".ftpd-part-"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        if biggest >= bytes {
            cut.store(true, Ordering::SeqCst);
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never got that far"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn backup_resumes_after_a_cut_and_verifies_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let (backup, root, log) = (
        dir.path().join("backup"),
        dir.path().join("srv"),
        dir.path().join("log"),
    );
    std::fs::create_dir_all(&root).unwrap();
    const MIB: usize = 1 << 20;
    for (i, name) in ["db.dump", "mail.tar", "photos/2026.tar"]
        .iter()
        .enumerate()
    {
        let data: Vec<u8> = (0..3 * MIB).map(|j| ((j * (i + 3)) % 253) as u8).collect();
        write(&backup, name, &data, Duration::from_secs(60));
    }
    // 1 MiB/s up (a burst of one second): a file takes two seconds or more, time for the
    // cut to land mid-file.
    let srv = server(&root, &log, &["--rate", "up:session=1048576"]);
    let proxy = CuttingProxy::start(srv.addr);
    let url = format!("ftp://u:p@{}/backups", proxy.addr);
    let src = backup.to_str().unwrap();

    // First run, no retries: cut during the first file; it fails, naming the files.
    let cutter = {
        let (dir, cut) = (root.join("backups"), Arc::clone(&proxy.cut));
        std::thread::spawn(move || cut_when(&cut, &dir, 3 * MIB as u64 / 2))
    };
    let out = ftp(&["mirror", "--verify", "--retries", "0", src, &url]);
    cutter.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("ftp: db.dump: "), "{}", stderr(&out));
    // What arrived of the new file is kept (as ftpd does, so that it can be resumed).
    let partial = std::fs::metadata(root.join("backups/db.dump"))
        .unwrap()
        .len();
    assert!(partial > 0 && partial < 3 * MIB as u64, "{partial}");

    // The run repeated: the cut file continues from what the server has (checked by RANG and
    // HASH), the rest follow, every file verified.
    let out = ftp(&["mirror", "--verify", src, &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stderr(&out);
    let sent: u64 = summary
        .trim()
        .rsplit(", ")
        .next()
        .and_then(|s| s.strip_suffix(" bytes"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    // The rest of the cut file and the two never started: nothing sent twice.
    assert_eq!(sent, 3 * MIB as u64 - partial + 6 * MIB as u64, "{summary}");
    assert!(diff(&backup, &root.join("backups"), &[]).status.success());
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains(&format!("At({partial})")),
        "the resumed STOR starts at the cut"
    );
    assert!(
        log_text.contains("checksum computed"),
        "verified by the server's checksums"
    );

    // A single run with retries gets through a cut by itself.
    std::fs::remove_dir_all(root.join("backups")).unwrap();
    let cutter = {
        let (dir, cut) = (root.join("backups"), Arc::clone(&proxy.cut));
        std::thread::spawn(move || cut_when(&cut, &dir, 2 * MIB as u64))
    };
    let out = ftp(&["mirror", "--verify", "--retries", "3", src, &url]);
    cutter.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(diff(&backup, &root.join("backups"), &[]).status.success());
}
