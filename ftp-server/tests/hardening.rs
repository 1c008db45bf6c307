//! Safe defaults a public server needs, over real sockets on 127.0.0.1 on both runtimes:
//! passive ports that cannot be predicted, a bound on the passive listeners one address holds,
//! ports freed as soon as their transfer is over, and time limits a client cannot stretch.

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Client, Rt, data, options, start, storage, users};
use ftp_server::RateLimits;
use ftp_server::storage::Storage;
use ftp_server::storage::fs::FsStorage;
use ftp_server::storage::memory::MemoryStorage;

on_both_runtimes!(
    concurrent_uploads_of_one_name_never_mix_fs,
    concurrent_uploads_of_one_name_never_mix_memory,
    a_reader_gets_the_old_version_whole_fs,
    a_reader_gets_the_old_version_whole_memory,
    a_broken_upload_keeps_the_last_good_version_fs,
    a_broken_upload_keeps_the_last_good_version_memory,
    concurrent_stou_never_collide,
    password_guessing_across_connections_is_banned,
    connections_not_logged_in_are_limited_apart,
    sessions_per_user_are_limited,
    bandwidth_limits_per_session_user_and_server,
    uploads_past_the_size_limit_get_552,
    user_quota_in_bytes_and_files,
    passive_ports_are_not_handed_out_in_sequence,
    one_address_holds_a_bounded_number_of_passive_listeners,
    a_port_is_free_again_after_its_transfer,
    login_deadline_is_not_extended_by_commands,
    idle_timeout_counts_complete_commands,
);

fn epsv_port(c: &mut Client) -> u16 {
    let r = c.cmd("EPSV");
    assert_eq!(r.code().as_u16(), 229, "{r}");
    ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap()
}

/// One after another, passive ports land at random places in the range: a third party that
/// saw one port cannot tell the next (it would connect first and fail the transfer, 425).
fn passive_ports_are_not_handed_out_in_sequence(rt: Rt) {
    let (first, last) = ftp_test_support::free_port_range(60);
    let server = start(
        rt,
        storage(),
        users(),
        options().passive_ports(first..=last),
    );
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let ports: Vec<u16> = (0..24).map(|_| epsv_port(&mut c)).collect();
    assert!(
        ports.iter().all(|p| (first..=last).contains(p)),
        "{ports:?}"
    );
    let next_in_line = ports.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(next_in_line < 8, "ports handed out in sequence: {ports:?}");
}

fn one_address_holds_a_bounded_number_of_passive_listeners(rt: Rt) {
    let server = start(rt, storage(), users(), options().max_passive_per_ip(2));
    let mut a = Client::login(server.addr, "alice", "wonderland");
    let mut b = Client::login(server.addr, "alice", "wonderland");
    let mut c = Client::login(server.addr, "alice", "wonderland");
    epsv_port(&mut a);
    epsv_port(&mut b);
    assert_eq!(c.code("EPSV"), 425, "a third listener for the same address");
    // A new EPSV in the same session replaces its listener: still two.
    epsv_port(&mut a);
    assert_eq!(c.code("PASV"), 425);
    // A session that ends frees its listener.
    assert_eq!(b.code("QUIT"), 221);
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.code("EPSV") != 229 {
        assert!(Instant::now() < deadline, "the slot was never freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// With a range of one port, transfers one after another (and sessions one after another)
/// all get it: the listener closes as soon as its connection arrived, or its transfer was
/// refused and the channel dropped.
fn a_port_is_free_again_after_its_transfer(rt: Rt) {
    let (port, _) = ftp_test_support::free_port_range(1);
    let server = start(rt, storage(), users(), options().passive_ports(port..=port));
    for _ in 0..2 {
        let mut c = Client::login(server.addr, "alice", "wonderland");
        assert_eq!(c.code("TYPE I"), 200);
        for _ in 0..3 {
            let (got, code) = c.retr("RETR /pub/readme.txt");
            assert_eq!((got.len(), code), (18, 226));
        }
        // Refused before any connection: ABOR drops the channel and its listener.
        assert_eq!(epsv_port(&mut c), port);
        assert_eq!(c.code("RETR /pub/missing"), 550);
        assert_eq!(c.code("ABOR"), 225);
        assert_eq!(epsv_port(&mut c), port);
        assert_eq!(c.code("QUIT"), 221);
    }
}

/// Reads until the server closes; gives the last reply line.
fn closed_with(c: &mut Client, within: Duration) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while let Some(r) = c.try_reply() {
        last = r.to_string();
        assert!(start.elapsed() < within, "still open after {within:?}");
    }
    let mut rest = Vec::new();
    let _ = c.ctl.read_to_end(&mut rest);
    last
}

/// A connection that does not log in is closed at the login deadline, however busy it keeps
/// itself (NOOPs and single bytes do not extend it).
fn login_deadline_is_not_extended_by_commands(rt: Rt) {
    let server = start(
        rt,
        storage(),
        users(),
        options().login_timeout(Duration::from_secs(1)),
    );
    let mut c = Client::connect(server.addr);
    let opened = Instant::now();
    let mut noops = 0;
    while opened.elapsed() < Duration::from_millis(700) {
        assert_eq!(c.code("NOOP"), 200);
        c.send(b"N");
        std::thread::sleep(Duration::from_millis(100));
        c.send(b"OOP\r\n");
        assert_eq!(c.reply().code().as_u16(), 200);
        noops += 2;
    }
    assert!(noops >= 4);
    let last = closed_with(&mut c, Duration::from_secs(5));
    assert!(last.starts_with("421 Login timeout"), "{last}");
    assert!(opened.elapsed() < Duration::from_secs(3));
}

/// The idle timeout counts complete commands: one byte of an unfinished line now and then
/// does not keep a logged-in connection open.
fn idle_timeout_counts_complete_commands(rt: Rt) {
    let server = start(
        rt,
        storage(),
        users(),
        options().idle_timeout(Duration::from_secs(1)),
    );
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let since = Instant::now();
    for b in b"NOO" {
        c.send(&[*b]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let last = closed_with(&mut c, Duration::from_secs(5));
    assert!(last.starts_with("421 Timeout"), "{last}");
    assert!(since.elapsed() < Duration::from_secs(3));
}

/// alice in binary mode.
fn alice(addr: std::net::SocketAddr) -> Client {
    let mut c = Client::login(addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    c
}

/// A file-system root with /pub (so the common users' homes exist) and a reader of it.
fn fs_root() -> (tempfile::TempDir, FsStorage) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("pub")).unwrap();
    let fs = FsStorage::new(root.path()).unwrap();
    (root, fs)
}

const SIZE: usize = 6 << 20;

/// Two sessions upload the same name at the same time, in interleaved chunks: both get 226,
/// and the file is one of the two uploads, whole.
fn concurrent_uploads_never_mix<S: Storage>(rt: Rt, storage: S, read: impl Fn() -> Vec<u8>) {
    let server = start(rt, storage, users(), options());
    let (one, two) = (data(SIZE, 1), data(SIZE, 2));
    let mut a = alice(server.addr);
    let mut b = alice(server.addr);
    let mut da = a.passive();
    let mut db = b.passive();
    assert_eq!(a.code("STOR /pub/same.bin"), 150);
    assert_eq!(b.code("STOR /pub/same.bin"), 150);
    for (ca, cb) in one.chunks(256 << 10).zip(two.chunks(256 << 10)) {
        da.write_all(ca).unwrap();
        db.write_all(cb).unwrap();
    }
    drop(da);
    assert_eq!(a.reply().code().as_u16(), 226);
    drop(db);
    assert_eq!(b.reply().code().as_u16(), 226);
    let stored = read();
    assert!(stored == two || stored == one, "a mix of both uploads");
    // No temporary file is left or shown.
    let (names, code) = a.retr("NLST -a /pub");
    assert_eq!(code, 226);
    let names = String::from_utf8(names).unwrap();
    let shown: Vec<&str> = names.lines().filter(|n| *n != ".keep").collect();
    assert_eq!(shown, ["same.bin"]);
}

fn concurrent_uploads_of_one_name_never_mix_fs(rt: Rt) {
    let (root, fs) = fs_root();
    let path = root.path().join("pub/same.bin");
    concurrent_uploads_never_mix(rt, fs, || std::fs::read(&path).unwrap());
}

fn concurrent_uploads_of_one_name_never_mix_memory(rt: Rt) {
    let memory = MemoryStorage::new();
    memory.insert_file("/pub/.keep", &b""[..]).unwrap();
    let m = memory.clone();
    concurrent_uploads_never_mix(rt, memory, move || {
        m.read_file("/pub/same.bin").unwrap().to_vec()
    });
}

/// A download that starts before another session overwrites the file gets the old version,
/// whole, and its 226 means it.
fn a_reader_gets_the_old_version_whole<S: Storage>(rt: Rt, storage: S) {
    let server = start(rt, storage, users(), options());
    let (old, new) = (data(SIZE, 3), data(SIZE / 2, 4));
    let mut w = alice(server.addr);
    assert_eq!(w.stor("STOR /pub/f.bin", &old), 226);
    let mut r = alice(server.addr);
    let mut dr = r.passive();
    assert_eq!(r.code("RETR /pub/f.bin"), 150);
    let mut first = vec![0; 64 << 10];
    dr.read_exact(&mut first).unwrap();
    // Overwritten while the download is under way.
    assert_eq!(w.stor("STOR /pub/f.bin", &new), 226);
    let mut rest = Vec::new();
    dr.read_to_end(&mut rest).unwrap();
    first.extend_from_slice(&rest);
    assert_eq!(r.reply().code().as_u16(), 226);
    assert!(
        first == old,
        "the reader got {} bytes, not the old version",
        first.len()
    );
    let (now, code) = r.retr("RETR /pub/f.bin");
    assert!(code == 226 && now == new);
}

fn a_reader_gets_the_old_version_whole_fs(rt: Rt) {
    let (_root, fs) = fs_root();
    a_reader_gets_the_old_version_whole(rt, fs);
}

fn a_reader_gets_the_old_version_whole_memory(rt: Rt) {
    let memory = MemoryStorage::new();
    memory.insert_file("/pub/.keep", &b""[..]).unwrap();
    a_reader_gets_the_old_version_whole(rt, memory);
}

/// An upload that breaks off (ABOR, or the control connection dropped) over an existing file
/// leaves the last good version; one of a new file keeps what arrived, and REST + STOR
/// resumes it.
fn a_broken_upload_keeps_the_last_good_version<S: Storage>(rt: Rt, storage: S) {
    let server = start(rt, storage, users(), options());
    let good = data(1 << 20, 5);
    let mut c = alice(server.addr);
    assert_eq!(c.stor("STOR /pub/backup.tar", &good), 226);
    // ABOR mid-upload.
    let mut d = c.passive();
    assert_eq!(c.code("STOR /pub/backup.tar"), 150);
    d.write_all(&data(300_000, 6)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    c.send(b"ABOR\r\n");
    assert_eq!(c.reply().code().as_u16(), 426);
    assert_eq!(c.reply().code().as_u16(), 226);
    drop(d);
    let (got, code) = c.retr("RETR /pub/backup.tar");
    assert!(code == 226 && got == good, "the last good version is gone");
    // The control connection drops mid-upload.
    let mut gone = alice(server.addr);
    let mut d = gone.passive();
    assert_eq!(gone.code("STOR /pub/backup.tar"), 150);
    d.write_all(&data(200_000, 7)).unwrap();
    drop(gone);
    std::thread::sleep(Duration::from_millis(300));
    drop(d);
    std::thread::sleep(Duration::from_millis(300));
    let (got, code) = c.retr("RETR /pub/backup.tar");
    assert!(code == 226 && got == good, "the last good version is gone");
    // A new file that breaks off keeps what arrived, under its name: resumable.
    let fresh = data(800_000, 8);
    let mut d = c.passive();
    assert_eq!(c.code("STOR /pub/new.bin"), 150);
    d.write_all(&fresh[..500_000]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    c.send(b"ABOR\r\n");
    assert_eq!(c.reply().code().as_u16(), 426);
    assert_eq!(c.reply().code().as_u16(), 226);
    drop(d);
    let reply = c.cmd("SIZE /pub/new.bin");
    let size: usize = String::from_utf8_lossy(reply.first_line().as_ref())
        .trim()
        .parse()
        .unwrap();
    assert!(size > 0 && size <= 500_000, "{size}");
    assert_eq!(c.code(&format!("REST {size}")), 350);
    assert_eq!(c.stor("STOR /pub/new.bin", &fresh[size..]), 226);
    let (got, code) = c.retr("RETR /pub/new.bin");
    assert!(code == 226 && got == fresh, "the resumed upload differs");
}

fn a_broken_upload_keeps_the_last_good_version_fs(rt: Rt) {
    let (_root, fs) = fs_root();
    a_broken_upload_keeps_the_last_good_version(rt, fs);
}

fn a_broken_upload_keeps_the_last_good_version_memory(rt: Rt) {
    let memory = MemoryStorage::new();
    memory.insert_file("/pub/.keep", &b""[..]).unwrap();
    a_broken_upload_keeps_the_last_good_version(rt, memory);
}

/// STOU from many sessions at once: every upload gets a name of its own.
fn concurrent_stou_never_collide(rt: Rt) {
    let (root, fs) = fs_root();
    let server = start(rt, fs, users(), options());
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut c = alice(addr);
                assert_eq!(c.code("CWD /pub"), 250);
                let mut d = c.passive();
                let first = c.cmd("STOU");
                assert_eq!(first.code().as_u16(), 150, "{first}");
                d.write_all(&data(100_000, 100 + i)).unwrap();
                drop(d);
                assert_eq!(c.reply().code().as_u16(), 226);
                String::from_utf8_lossy(first.first_line().as_ref()).into_owned()
            })
        })
        .collect();
    let mut names: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 6, "{names:?}");
    let mut contents: Vec<Vec<u8>> = std::fs::read_dir(root.path().join("pub"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    contents.sort();
    let mut expected: Vec<Vec<u8>> = (0..6).map(|i| data(100_000, 100 + i)).collect();
    expected.sort();
    assert!(
        contents == expected,
        "every STOU upload whole, in a file of its own"
    );
}

/// Failed logins from one address, each on a connection of its own, ban that address for a
/// while: `421` at connect, and no verdict on the connections it still has; other addresses
/// log in as usual, and the ban ends on time.
fn password_guessing_across_connections_is_banned(rt: Rt) {
    let mut throttle = ftp_proto::server::ThrottleConfig::default();
    throttle
        .ban_after(3)
        .ban(Duration::from_millis(1500))
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(20));
    let server = start(rt, storage(), users(), options().login_throttle(throttle));
    let here: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let elsewhere: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    // Open before the ban, used after it.
    let mut kept = Client::connect(server.addr);
    for _ in 0..3 {
        let mut c = Client::connect(server.addr);
        assert_eq!(c.code("USER alice"), 331);
        assert_eq!(c.code("PASS guess"), 530);
        assert_eq!(c.code("QUIT"), 221);
    }
    let mut refused = Client::connect_from(here, server.addr);
    let r = refused.reply();
    assert_eq!(
        r.to_string(),
        "421 Too many failed logins from your address; try again later."
    );
    assert!(refused.try_reply().is_none(), "closed after the 421");
    // The right password on a connection already open: no verdict during the ban.
    assert_eq!(kept.code("USER alice"), 331);
    assert_eq!(kept.code("PASS wonderland"), 530);
    // Another address is not held to it.
    let mut other = Client::connect_from(elsewhere, server.addr);
    assert_eq!(other.reply().code().as_u16(), 220);
    assert_eq!(other.code("USER alice"), 331);
    assert_eq!(other.code("PASS wonderland"), 230);
    // The ban ends.
    std::thread::sleep(Duration::from_millis(1700));
    let mut again = Client::connect(server.addr);
    assert_eq!(again.code("USER alice"), 331);
    assert_eq!(again.code("PASS wonderland"), 230);
}

/// Connections that have not logged in are counted apart, per address and in all: one address
/// cannot hold more than its share idle, and a connection that logs in frees its place.
fn connections_not_logged_in_are_limited_apart(rt: Rt) {
    let server = start(rt, storage(), users(), options().max_unauthenticated(4, 2));
    let from = |last: u8| -> Client {
        let ip = std::net::IpAddr::from([127, 0, 0, last]);
        Client::connect_from(ip, server.addr)
    };
    let mut a = from(1);
    assert_eq!(a.reply().code().as_u16(), 220);
    let mut b = from(1);
    assert_eq!(b.reply().code().as_u16(), 220);
    let mut third = from(1);
    let r = third.reply();
    assert_eq!(r.code().as_u16(), 421, "{r}");
    assert!(third.try_reply().is_none());
    // Another address has places of its own.
    let mut c = from(2);
    assert_eq!(c.reply().code().as_u16(), 220);
    let mut d = from(2);
    assert_eq!(d.reply().code().as_u16(), 220);
    // Four in all: a third address finds none.
    let mut e = from(3);
    assert_eq!(e.reply().code().as_u16(), 421);
    // A login frees its place.
    assert_eq!(a.code("USER alice"), 331);
    assert_eq!(a.code("PASS wonderland"), 230);
    let mut f = from(1);
    assert_eq!(f.reply().code().as_u16(), 220);
    assert_eq!(b.code("NOOP"), 200);
    assert_eq!(a.code("PWD"), 257);
}

/// A user's logged-in sessions at once are limited; past it, 421 and the connection closes.
fn sessions_per_user_are_limited(rt: Rt) {
    let server = start(rt, storage(), users(), options().max_sessions_per_user(2));
    let mut one = Client::login(server.addr, "alice", "wonderland");
    let _two = Client::login(server.addr, "alice", "wonderland");
    let mut three = Client::connect(server.addr);
    assert_eq!(three.code("USER alice"), 331);
    let r = three.cmd("PASS wonderland");
    assert_eq!(
        r.to_string(),
        "421 Too many sessions for this user; try again later."
    );
    assert!(three.try_reply().is_none(), "closed after the 421");
    // Other users are not affected; a session that ends frees its place.
    let _reader = Client::login(server.addr, "reader", "books");
    assert_eq!(one.code("QUIT"), 221);
    drop(one);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = Client::connect(server.addr);
        assert_eq!(c.code("USER alice"), 331);
        if c.code("PASS wonderland") == 230 {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const MIB: usize = 1 << 20;

/// Bandwidth limits hold: a session's downloads and uploads, a user's downloads across two
/// sessions at once, and the server's. (Lower bounds only: 2 MiB at 1 MiB/s, after a burst of
/// 256 KiB, cannot take less than 1.75 s.)
fn bandwidth_limits_per_session_user_and_server(rt: Rt) {
    let files = storage();
    files.insert_file("/big.bin", data(2 * MIB, 9)).unwrap();
    files.insert_file("/half.bin", data(MIB, 10)).unwrap();
    let at_most = |limits: RateLimits| {
        let server = start(rt, files.clone(), users(), options().rate_limits(limits));
        (server, Instant::now())
    };
    let mut limits = RateLimits::default();
    limits.session_down = Some(MIB as u64);
    limits.session_up = Some(MIB as u64);
    let (server, _) = at_most(limits);
    let mut c = alice(server.addr);
    let t = Instant::now();
    let (got, code) = c.retr("RETR /big.bin");
    assert!(code == 226 && got.len() == 2 * MIB);
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "download at {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    assert_eq!(c.stor("STOR /up.bin", &data(2 * MIB, 11)), 226);
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "upload at {:?}",
        t.elapsed()
    );
    // Per user, across two sessions at once; then the same for the whole server.
    for scope in ["user", "server"] {
        let mut limits = RateLimits::default();
        match scope {
            "user" => limits.user_down = Some(MIB as u64),
            _ => limits.server_down = Some(MIB as u64),
        }
        let (server, start) = at_most(limits);
        let addr = server.addr;
        let both: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut c = alice(addr);
                    c.retr("RETR /half.bin")
                })
            })
            .collect();
        for t in both {
            let (got, code) = t.join().unwrap();
            assert!(code == 226 && got.len() == MIB);
        }
        assert!(
            start.elapsed() >= Duration::from_millis(1500),
            "{scope}: two sessions at {:?}",
            start.elapsed()
        );
    }
}

/// An upload that would make a file larger than the limit fails with 552, and the file it
/// was replacing stays as it was; APPE counts what the file held.
fn uploads_past_the_size_limit_get_552(rt: Rt) {
    let server = start(rt, storage(), users(), options().max_upload_size(100_000));
    let mut c = alice(server.addr);
    let small = data(50_000, 12);
    assert_eq!(c.stor("STOR /pub/f.bin", &small), 226);
    let mut d = c.passive();
    assert_eq!(c.code("STOR /pub/f.bin"), 150);
    let _ = d.write_all(&data(150_000, 13));
    drop(d);
    let r = c.reply();
    assert_eq!(r.to_string(), "552 Exceeded storage allocation.");
    let (got, code) = c.retr("RETR /pub/f.bin");
    assert!(code == 226 && got == small, "the old version stays");
    let mut d = c.passive();
    assert_eq!(c.code("APPE /pub/f.bin"), 150);
    let _ = d.write_all(&data(60_000, 14));
    drop(d);
    assert_eq!(c.reply().code().as_u16(), 552);
    // Within the limit, APPE works.
    let mut d = c.passive();
    assert_eq!(c.code("APPE /pub/f.bin"), 150);
    d.write_all(&data(40_000, 15)).unwrap();
    drop(d);
    assert_eq!(c.reply().code().as_u16(), 226);
    assert_eq!(c.cmd("SIZE /pub/f.bin").to_string(), "213 90000");
}

/// Each user's quota: bytes checked during an upload (552, the replaced file kept), files
/// before it (a new file past the count: 552 before any 150); deletes give room back.
fn user_quota_in_bytes_and_files(rt: Rt) {
    let files = MemoryStorage::new();
    files.insert_file("/pub/old.bin", data(20_000, 1)).unwrap();
    let server = start(
        rt,
        files,
        users(),
        options().user_quota(Some(100_000), Some(3)),
    );
    let mut c = alice(server.addr);
    // 20,000 bytes and 1 file in use.
    assert_eq!(c.stor("STOR /pub/a.bin", &data(60_000, 2)), 226);
    // 80,000 in use: 30,000 more do not fit.
    assert_eq!(c.stor("STOR /pub/b.bin", &data(30_000, 3)), 552);
    assert_eq!(c.stor("STOR /pub/b.bin", &data(15_000, 4)), 226);
    // Three files: a fourth is refused before its 150.
    let _d = c.passive();
    assert_eq!(
        c.cmd("STOR /pub/c.bin").to_string(),
        "552 Exceeded storage allocation."
    );
    // Replacing a file counts its old size as room: 95,000 - 60,000 + 60,000 fits.
    assert_eq!(c.stor("STOR /pub/a.bin", &data(65_000, 5)), 226);
    // Over by replacing: 552, and the file stays as it was.
    assert_eq!(c.stor("STOR /pub/a.bin", &data(90_000, 6)), 552);
    let (got, code) = c.retr("RETR /pub/a.bin");
    assert!(code == 226 && got == data(65_000, 5));
    // Three files again after a good upload: a delete gives room back.
    assert_eq!(c.stor("STOR /pub/b.bin", &data(1_000, 8)), 226);
    let _d = c.passive();
    assert_eq!(c.code("STOR /pub/c.bin"), 552);
    assert_eq!(c.code("DELE /pub/old.bin"), 250);
    assert_eq!(c.stor("STOR /pub/c.bin", &data(20_000, 7)), 226);
}
