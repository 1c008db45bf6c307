//! Zero-copy downloads: binary RETRs from the file-system back-end over plain data connections
//! go out with `sendfile(2)` (the transfer log says `zero_copy=true`), byte for byte what the
//! file holds, from a restart offset and for a RANG range, on both runtimes; ASCII mode, the
//! memory back-end and the option turned off take the copying path and give the same bytes;
//! ABOR stops a zero-copy download that waits for a slow client.
//! Its own test binary: it installs a global subscriber that captures the transfer log.
#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::sync::OnceLock;

use common::{Capture, Client, Rt, options, start};
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::ServerOptions;
use ftp_server::auth::UserTable;
use ftp_server::storage::fs::FsStorage;
use ftp_server::storage::memory::MemoryStorage;

/// The process's log, captured from the first call on.
fn log() -> &'static Capture {
    static LOG: OnceLock<Capture> = OnceLock::new();
    LOG.get_or_init(|| {
        let logs = Capture::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
}

/// The `zero_copy` field of the transfer-log line of the download of `path` by `user`.
fn sent_with_sendfile(user: &str, path: &str) -> Vec<bool> {
    let text = String::from_utf8_lossy(&log().0.lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| {
            l.contains("transfer complete")
                && l.contains("Retrieve")
                && l.contains(&format!("user={user} "))
                && l.contains(&format!("path={path} "))
        })
        .map(|l| l.contains("zero_copy=true"))
        .collect()
}

fn users(name: &str) -> UserTable {
    UserTable::new().with_user(name, b"pw", VirtualPath::root(), Permissions::ALL)
}

/// 3 MiB and a bit: more than the back-end's 64 KiB head and the kernel's socket buffer.
fn contents() -> Vec<u8> {
    (0..3 * 1024 * 1024 + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn downloads_are_exact(rt: Rt, user: &str) {
    log();
    let data = contents();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("big.bin"), &data).unwrap();
    std::fs::write(root.path().join("small.txt"), b"one\ntwo\n").unwrap();
    let text: Vec<u8> = b"line\n".repeat(30_000);
    std::fs::write(root.path().join("text.txt"), &text).unwrap();
    let fs = FsStorage::new(root.path()).unwrap();
    let server = start(rt, fs, users(user), options());
    let mut c = Client::login(server.addr, user, "pw");
    assert_eq!(c.code("TYPE I"), 200);

    assert_eq!(c.retr("RETR big.bin"), (data.clone(), 226));
    // From a restart offset inside the head, and past it.
    assert_eq!(c.code("REST 1000"), 350);
    assert_eq!(c.retr("RETR big.bin"), (data[1000..].to_vec(), 226));
    assert_eq!(c.code("REST 2000000"), 350);
    assert_eq!(c.retr("RETR big.bin"), (data[2_000_000..].to_vec(), 226));
    // A range that starts in the head and ends in the middle of the file.
    assert_eq!(c.code("RANG 70000 2100000"), 350);
    assert_eq!(
        c.retr("RETR big.bin"),
        (data[70_000..=2_100_000].to_vec(), 226)
    );
    // A range that ends inside the head: nothing of the file after it goes.
    assert_eq!(c.code("RANG 10 19"), 350);
    assert_eq!(c.retr("RETR big.bin"), (data[10..20].to_vec(), 226));
    assert_eq!(sent_with_sendfile(user, "/big.bin"), [true; 5]);

    // A file the head holds whole needs no kernel help; ASCII mode converts, so it copies.
    assert_eq!(c.retr("RETR small.txt"), (b"one\ntwo\n".to_vec(), 226));
    assert_eq!(sent_with_sendfile(user, "/small.txt"), [false]);
    assert_eq!(c.code("TYPE A"), 200);
    let crlf: Vec<u8> = b"line\r\n".repeat(30_000);
    assert_eq!(c.retr("RETR text.txt"), (crlf, 226));
    assert_eq!(sent_with_sendfile(user, "/text.txt"), [false]);

    // ABOR during a zero-copy download that waits for the client (1 GiB, sparse): 426 then
    // 226, and the session goes on.
    let huge = std::fs::File::create(root.path().join("huge.bin")).unwrap();
    huge.set_len(1 << 30).unwrap();
    assert_eq!(c.code("TYPE I"), 200);
    let mut conn = c.passive();
    assert_eq!(c.code("RETR huge.bin"), 150);
    let mut some = [1; 1024];
    conn.read_exact(&mut some).unwrap();
    assert_eq!(some, [0; 1024]);
    c.send(b"ABOR\r\n");
    assert_eq!(c.reply().code().as_u16(), 426);
    assert_eq!(c.reply().code().as_u16(), 226);
    drop(conn);
    assert_eq!(c.code("NOOP"), 200);
    assert_eq!(c.code("QUIT"), 221);
}

#[test]
fn zero_copy_downloads_on_tokio() {
    downloads_are_exact(Rt::Tokio, "tokio");
}

#[test]
fn zero_copy_downloads_on_smol() {
    downloads_are_exact(Rt::Smol, "smol");
}

/// The same download with the option off, and from the memory back-end: the copying path.
#[test]
fn other_paths_copy() {
    log();
    let data = contents();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("big.bin"), &data).unwrap();
    let fs = FsStorage::new(root.path()).unwrap();
    let off: ServerOptions = options().zero_copy(false);
    let server = start(Rt::Tokio, fs, users("off"), off);
    let mut c = Client::login(server.addr, "off", "pw");
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.retr("RETR big.bin"), (data.clone(), 226));
    assert_eq!(sent_with_sendfile("off", "/big.bin"), [false]);
    drop(c);
    drop(server);

    let memory = MemoryStorage::new();
    let server = start(Rt::Tokio, memory, users("memory"), options());
    let mut c = Client::login(server.addr, "memory", "pw");
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.stor("STOR big.bin", &data), 226);
    assert_eq!(c.retr("RETR big.bin"), (data, 226));
    assert_eq!(sent_with_sendfile("memory", "/big.bin"), [false]);
}
