//! `HASH`, `OPTS HASH`, `RANG` and the X-commands end to end over real sockets, on tokio and on
//! smol: every checksum the server gives equals what `sha256sum`, `sha512sum`, `sha1sum`,
//! `md5sum` and `crc32` print for the same bytes on disk; ABOR stops a long one.

#[macro_use]
mod common;

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use common::{Client, Rt, options, start, users};
use ftp_server::RateLimits;
use ftp_server::storage::fs::FsStorage;

on_both_runtimes!(
    checksums_equal_the_system_tools,
    ranges_and_legacy_commands,
    abor_stops_a_checksum_and_the_session_goes_on,
    refusals,
);

/// What the coreutils tool (or `crc32`, from libarchive-zip-perl) prints for a file: its first
/// word, in lower case.
fn tool(name: &str, file: &Path) -> String {
    let out = Process::new(name)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{name} (scripts/test.sh installs it): {e}"));
    assert!(out.status.success(), "{name} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_ascii_lowercase()
}

/// Bytes no chunk size divides: 3 MiB and a bit, a pattern that differs per position.
fn contents(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1])
        .collect()
}

fn fixture() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let data = contents((3 << 20) + 12_345);
    std::fs::write(dir.path().join("big file.bin"), &data).unwrap();
    std::fs::write(dir.path().join("empty"), b"").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    (dir, data)
}

fn checksums_equal_the_system_tools(rt: Rt) {
    let (dir, _) = fixture();
    let server = start(rt, FsStorage::new(dir.path()).unwrap(), users(), options());
    let mut c = Client::login(server.addr, "reader", "books");
    let feat = c.cmd("FEAT").to_string();
    assert!(
        feat.contains(" HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32\n"),
        "{feat}"
    );
    let file = dir.path().join("big file.bin");
    let size = std::fs::metadata(&file).unwrap().len();
    for (name, sum) in [
        ("SHA-256", "sha256sum"),
        ("SHA-512", "sha512sum"),
        ("SHA-1", "sha1sum"),
        ("MD5", "md5sum"),
        ("CRC32", "crc32"),
    ] {
        assert_eq!(
            c.cmd(&format!("OPTS HASH {name}")).to_string(),
            format!("200 {name}")
        );
        let expected = tool(sum, &file);
        assert_eq!(
            c.cmd("HASH big file.bin").to_string(),
            format!("213 {name} 0-{} {expected} big file.bin", size - 1),
            "{name}"
        );
    }
    // An empty file: the checksum of nothing.
    c.cmd("OPTS HASH SHA-256");
    let empty = tool("sha256sum", &dir.path().join("empty"));
    assert_eq!(
        c.cmd("HASH empty").to_string(),
        format!("213 SHA-256 0-0 {empty} empty")
    );
}

fn ranges_and_legacy_commands(rt: Rt) {
    let (dir, data) = fixture();
    let server = start(rt, FsStorage::new(dir.path()).unwrap(), users(), options());
    let mut c = Client::login(server.addr, "reader", "books");
    let slice = |from: usize, to: usize| {
        let path = dir.path().join(format!("slice-{from}-{to}"));
        std::fs::write(&path, &data[from..to]).unwrap();
        path
    };
    // RANG: both ends included; the range spans chunk boundaries.
    c.cmd("OPTS HASH MD5");
    assert_eq!(c.code("RANG 1000 2100000"), 551, "only in TYPE I");
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.code("RANG 1000 2100000"), 350);
    let expected = tool("md5sum", &slice(1000, 2_100_001));
    assert_eq!(
        c.cmd("HASH big file.bin").to_string(),
        format!("213 MD5 1000-2100000 {expected} big file.bin")
    );
    // X-commands: 250 and the hex in upper case; ProFTPD's "path start end" form (end
    // excluded), FlashFXP's quoted path and GlobalSCAPE's end alone.
    let whole = dir.path().join("big file.bin");
    for (line, sum, file) in [
        ("XCRC big file.bin", "crc32", whole.clone()),
        ("XMD5 \"big file.bin\"", "md5sum", whole.clone()),
        ("XSHA1 big file.bin", "sha1sum", whole),
        (
            "XSHA256 big file.bin 5 3000000",
            "sha256sum",
            slice(5, 3_000_000),
        ),
        (
            "XSHA512 \"big file.bin\" 3000000",
            "sha512sum",
            slice(0, 3_000_000),
        ),
    ] {
        let expected = tool(sum, &file);
        let expected = expected.to_ascii_uppercase();
        assert_eq!(c.cmd(line).to_string(), format!("250 {expected}"), "{line}");
    }
    // RETR with RANG: exactly the range, then 226.
    assert_eq!(c.code("RANG 10 19"), 350);
    let (got, code) = c.retr("RETR big file.bin");
    assert_eq!((got.as_slice(), code), (&data[10..20], 226));
    let (got, _) = c.retr("RETR big file.bin");
    assert_eq!(got.len(), data.len(), "the range was used up");
}

fn abor_stops_a_checksum_and_the_session_goes_on(rt: Rt) {
    let (dir, _) = fixture();
    // At 256 KiB/s the 3 MiB file would take twelve seconds.
    let mut limits = RateLimits::default();
    limits.session_down = Some(256 << 10);
    let server = start(
        rt,
        FsStorage::new(dir.path()).unwrap(),
        users(),
        options().rate_limits(limits),
    );
    let mut c = Client::login(server.addr, "reader", "books");
    let begun = Instant::now();
    c.send(b"HASH big file.bin\r\n");
    std::thread::sleep(Duration::from_millis(300));
    c.send(b"ABOR\r\n");
    assert_eq!(c.reply().to_string(), "426 Checksum aborted.");
    assert_eq!(c.reply().code().as_u16(), 226);
    assert!(
        begun.elapsed() < Duration::from_secs(6),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(c.code("NOOP"), 200);
    // The same limit makes a small range quick.
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.code("RANG 0 1023"), 350);
    assert_eq!(c.code("HASH big file.bin"), 213);
}

fn refusals(rt: Rt) {
    let (dir, _) = fixture();
    let server = start(
        rt,
        FsStorage::new(dir.path()).unwrap(),
        users(),
        options().max_hash_size(Some(1 << 20)),
    );
    let mut c = Client::login(server.addr, "reader", "books");
    assert_eq!(c.code("HASH missing"), 550);
    assert_eq!(c.code("HASH sub"), 553);
    assert_eq!(c.code("HASH ../../etc/passwd"), 550);
    assert_eq!(
        c.cmd("HASH big file.bin").to_string(),
        "556 File too large to checksum on this server."
    );
    assert_eq!(c.code("XCRC big file.bin"), 550);
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.code("RANG 0 1048575"), 350);
    assert_eq!(c.code("HASH big file.bin"), 213, "a range within the limit");
    assert_eq!(c.code("OPTS HASH SHA-3"), 501);
    assert_eq!(c.code("RANG 9 1"), 501);
    let mut anon = Client::connect(server.addr);
    assert_eq!(anon.code("HASH big file.bin"), 530);
}
