//! A soak, bounded in time: many clients at once (well-behaved ones uploading, checking and
//! overwriting a shared file; others failing logins, aborting transfers and dropping their
//! connections mid-transfer, overwriting the same file). Afterwards every file a
//! well-behaved client uploaded is intact (sha256), the shared file is one of their uploads
//! whole, no passive port or descriptor is left behind, and the server is idle. Its own test
//! binary: it counts the process's descriptors.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Client, Rt, data, options, start, users};
use ftp_server::storage::fs::FsStorage;
use ftp_test_support::sha256;

const SOAK: Duration = Duration::from_secs(5);

/// Ports something listens on (TCP over IPv4), from /proc/net/tcp: state 0A is LISTEN.
fn listening_ports() -> HashSet<u16> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            let port = local.rsplit(':').next()?;
            (state == "0A").then(|| u16::from_str_radix(port, 16).ok())?
        })
        .collect()
}

/// The resident memory of this process (the server and the soak's clients), KiB.
fn rss_kib() -> u64 {
    ftp_test_support::rss_kib(std::process::id())
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn soak(rt: Rt) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("pub")).unwrap();
    std::fs::write(root.path().join("pub/big.bin"), data(8 << 20, 1)).unwrap();
    let (first, last) = ftp_test_support::free_port_range(120);
    let mut throttle = ftp_proto::server::ThrottleConfig::default();
    throttle.ban_after(0);
    let server = start(
        rt,
        FsStorage::new(root.path()).unwrap(),
        users(),
        options()
            .passive_ports(first..=last)
            .max_passive_per_ip(200)
            .login_throttle(throttle),
    );
    let addr = server.addr;
    let before = open_descriptors();
    let rss_before = rss_kib();
    let end = Instant::now() + SOAK;
    // What the well-behaved clients stored as the shared file, whole.
    let shared_versions = Arc::new(Mutex::new(HashSet::new()));
    let mut threads = Vec::new();
    for worker in 0..4u64 {
        let versions = Arc::clone(&shared_versions);
        threads.push(std::thread::spawn(move || {
            let mut mine = Vec::new();
            let mut c = Client::login(addr, "alice", "wonderland");
            assert_eq!(c.code("TYPE I"), 200);
            let mut i = 0u64;
            while Instant::now() < end {
                let body = data(50_000 + (i as usize % 7) * 10_000, worker * 1000 + i);
                let name = format!("/pub/w{worker}-{i}.bin");
                assert_eq!(c.stor(&format!("STOR {name}"), &body), 226, "{name}");
                let (got, code) = c.retr(&format!("RETR {name}"));
                assert!(code == 226 && got == body, "{name} came back different");
                mine.push((name, sha256(&body)));
                let shared = data(300_000, 7_000_000 + worker * 1000 + i);
                versions.lock().unwrap().insert(sha256(&shared));
                assert_eq!(c.stor("STOR /pub/shared.bin", &shared), 226);
                i += 1;
            }
            assert_eq!(c.code("QUIT"), 221);
            mine
        }));
    }
    let mut rogues = Vec::new();
    for kind in 0..4u64 {
        rogues.push(std::thread::spawn(move || {
            let mut n = 0;
            while Instant::now() < end {
                n += 1;
                match kind {
                    // Failed logins.
                    0 => {
                        let mut c = Client::connect(addr);
                        assert_eq!(c.code("USER alice"), 331);
                        assert_eq!(c.code("PASS wrong"), 530);
                    }
                    // A download aborted, or its connection dropped, part way.
                    1 => {
                        let mut c = Client::login(addr, "alice", "wonderland");
                        let mut d = c.passive();
                        assert_eq!(c.code("RETR /pub/big.bin"), 150);
                        let mut some = vec![0; 100_000];
                        let _ = d.read_exact(&mut some);
                        if n % 2 == 0 {
                            c.send(b"ABOR\r\n");
                            let _ = c.try_reply();
                        }
                    }
                    // An upload over the shared file, cut off by a dropped connection.
                    2 => {
                        let mut c = Client::login(addr, "alice", "wonderland");
                        let mut d = c.passive();
                        assert_eq!(c.code("STOR /pub/shared.bin"), 150);
                        let _ = d.write_all(&data(120_000, 99));
                        drop(c);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    // Connections that say nothing, or half a command, and go.
                    _ => {
                        let mut c = Client::connect(addr);
                        c.send(b"NO");
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
            n
        }));
    }
    let mine: Vec<(String, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let rogue_rounds: u64 = rogues.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(
        mine.len() >= 8 && rogue_rounds >= 8,
        "{} uploads, {rogue_rounds} rogue rounds",
        mine.len()
    );
    // Every well-behaved upload is intact on disk.
    for (name, sha) in &mine {
        let on_disk = std::fs::read(root.path().join(name.trim_start_matches('/'))).unwrap();
        assert_eq!(&sha256(&on_disk), sha, "{name}");
    }
    let shared = std::fs::read(root.path().join("pub/shared.bin")).unwrap();
    assert!(
        shared_versions.lock().unwrap().contains(&sha256(&shared)),
        "the shared file is not one of the complete uploads"
    );
    // Nothing left behind: sessions, temporary files, passive ports, descriptors.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} sessions still open",
            server.connections()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let leftovers: Vec<String> = std::fs::read_dir(root.path().join("pub"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ftpd-part-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let listening = listening_ports();
    assert!(
        listening.contains(&addr.port()),
        "the control listener is seen"
    );
    let busy: Vec<u16> = (first..=last).filter(|p| listening.contains(p)).collect();
    assert!(busy.is_empty(), "passive ports still listening: {busy:?}");
    let after = open_descriptors();
    assert!(
        after <= before + 4,
        "descriptors: {before} before, {after} after"
    );
    let rss_after = rss_kib();
    eprintln!("resident memory: {rss_before} KiB before the soak, {rss_after} KiB after");
}

#[test]
fn soak_on_both_runtimes() {
    // Resident memory is shown, not asserted: the clients share the process, and its
    // allocator's arenas move by some 20 MiB from run to run. ftpd's own memory after a
    // flood is asserted in examples/tests/ftpd_admin.rs, in a process of its own.
    soak(Rt::Tokio);
    soak(Rt::Smol);
}
