//! Streaming: transfers never hold a file in memory. In its own test binary so that no other
//! test allocates in the same process while memory is measured.

mod common;

use std::io::Read;

use common::{Client, Rt, options, start};
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::auth::UserTable;

fn users() -> UserTable {
    UserTable::new().with_user(
        "alice",
        b"wonderland",
        VirtualPath::root(),
        Permissions::ALL,
    )
}

/// A 4 GiB download streams through the transfer buffer: the process's memory does not grow
/// with the file.
#[cfg(target_os = "linux")]
#[test]
fn huge_download_streams_in_constant_memory() {
    use ftp_server::storage::fs::FsStorage;
    let root = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(root.path().join("huge.bin")).unwrap();
    file.set_len(4 << 30).unwrap(); // sparse: no disk space used
    let server = start(
        Rt::Tokio,
        FsStorage::new(root.path()).unwrap(),
        users(),
        options(),
    );
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    let rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .unwrap()
            .to_owned();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    let mut data_conn = c.passive();
    assert_eq!(c.code("RETR huge.bin"), 150);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    // The baseline is taken once the transfer runs at full speed, buffers and all.
    let mut before = None;
    let mut peak = 0;
    loop {
        let n = data_conn.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
        if total % (256 << 20) < n as u64 {
            let now = rss();
            before.get_or_insert(now);
            peak = peak.max(now);
        }
    }
    let before = before.unwrap();
    assert_eq!(total, 4 << 30);
    assert_eq!(c.reply().code().as_u16(), 226);
    assert!(
        peak < before + (16 << 20),
        "RSS grew from {before} to {peak} bytes"
    );
}
