//! The server end to end over real sockets on 127.0.0.1, on tokio and on smol: every test runs
//! once per runtime.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Client, Rt, data, options, start};
use ftp_proto::listing::{EntryKind, parse_listing, parse_mlsd};
use ftp_proto::{Permissions, VirtualPath};
use ftp_server::auth::{AnonymousPolicy, UserTable};
use ftp_server::storage::memory::MemoryStorage;

fn users() -> UserTable {
    UserTable::new()
        .with_user(
            "alice",
            b"wonderland",
            VirtualPath::root(),
            Permissions::ALL,
        )
        .with_user(
            "reader",
            b"books",
            VirtualPath::root(),
            Permissions::READ_ONLY,
        )
        .with_anonymous(
            AnonymousPolicy::ReadOnlyWithUpload(VirtualPath::root().resolve(b"incoming")),
            VirtualPath::root(),
        )
}

fn storage() -> MemoryStorage {
    let s = MemoryStorage::new();
    s.insert_file("/pub/readme.txt", &b"line one\nline two\n"[..])
        .unwrap();
    s.insert_file("/pub/.hidden", &b"x"[..]).unwrap();
    s.insert_file("/pub/with spaces.txt", &b"spaces"[..])
        .unwrap();
    s.insert_file("/pub/résumé ünï.txt", &b"utf8"[..]).unwrap();
    s.insert_file("/incoming/.keep", &b""[..]).unwrap();
    s
}

macro_rules! on_both_runtimes {
    ($($name:ident),* $(,)?) => {
        mod tokio_rt { $(#[test] fn $name() { super::$name(super::Rt::Tokio) })* }
        mod smol_rt { $(#[test] fn $name() { super::$name(super::Rt::Smol) })* }
    };
}

on_both_runtimes!(
    login_and_basics,
    upload_download_resume_append_unique,
    listings,
    ascii_mode_converts_line_ends,
    active_mode,
    abort_during_transfer,
    pipelined_commands_answered_in_order,
    bad_input_gets_clear_replies,
    path_traversal_stays_inside,
    client_vanishing_mid_transfer,
    permissions_and_anonymous_upload,
    quit_waits_for_the_transfer,
    graceful_shutdown,
    rename_mkdir_rmdir_delete_mdtm_mfmt,
);

fn login_and_basics(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::connect(server.addr);
    assert_eq!(c.code("PWD"), 530);
    assert_eq!(c.code("PASS x"), 503);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wrong"), 530);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wonderland"), 230);
    assert_eq!(
        c.cmd("PWD").to_bytes().as_ref(),
        b"257 \"/\" is the current directory\r\n"
    );
    assert_eq!(c.cmd("SYST").to_bytes().as_ref(), b"215 UNIX Type: L8\r\n");
    let feat = c.cmd("FEAT");
    let lines: Vec<String> = feat
        .lines()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    for f in [
        " EPSV",
        " EPRT",
        " MDTM",
        " MFMT",
        " REST STREAM",
        " SIZE",
        " UTF8",
    ] {
        assert!(lines.iter().any(|l| l == f), "{f} missing: {lines:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(" MLST type*;size*;modify*;perm*;")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("AUTH")),
        "no TLS yet: {lines:?}"
    );
    assert_eq!(c.code("CWD pub"), 250);
    assert_eq!(
        c.cmd("PWD").to_bytes().as_ref(),
        b"257 \"/pub\" is the current directory\r\n"
    );
    assert_eq!(c.code("CWD nowhere"), 550);
    assert_eq!(c.code("CDUP"), 250);
    assert_eq!(
        c.cmd("SIZE pub/readme.txt").to_bytes().as_ref(),
        b"213 18\r\n"
    );
    assert_eq!(c.code("SIZE pub"), 550);
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.code("MODE S"), 200);
    assert_eq!(c.code("MODE B"), 504);
    assert_eq!(c.code("STRU F"), 200);
    assert_eq!(c.code("NOOP"), 200);
    assert_eq!(c.code("HELP"), 214);
    assert_eq!(c.code("STAT"), 211);
    let stat = c.cmd("STAT /pub");
    assert_eq!(stat.code().as_u16(), 213);
    assert!(stat.text().contains("readme.txt"), "{stat}");
    assert_eq!(c.code("OPTS UTF8 ON"), 200);
    assert_eq!(c.code("QUIT"), 221);
    assert!(c.try_reply().is_none(), "closed after QUIT");
}

fn upload_download_resume_append_unique(rt: Rt) {
    let storage = storage();
    let server = start(rt, storage.clone(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    let payload = data(3 * 1024 * 1024 + 17, 7);
    assert_eq!(c.stor("STOR big.bin", &payload), 226);
    assert_eq!(
        storage.read_file("/big.bin").unwrap().as_ref(),
        &payload[..]
    );
    let (got, code) = c.retr("RETR big.bin");
    assert_eq!(code, 226);
    assert!(got == payload, "downloaded bytes differ");
    // Resume a download.
    assert_eq!(c.code("REST 1000000"), 350);
    let (tail, code) = c.retr("RETR big.bin");
    assert_eq!((code, tail.len()), (226, payload.len() - 1_000_000));
    assert!(tail[..] == payload[1_000_000..]);
    // Resume an upload: REST + STOR keeps the head and rewrites from the offset.
    assert_eq!(c.stor("STOR part.bin", &payload[..500_000]), 226);
    assert_eq!(c.code("REST 400000"), 350);
    assert_eq!(c.stor("STOR part.bin", &payload[400_000..]), 226);
    assert!(storage.read_file("/part.bin").unwrap().as_ref() == &payload[..]);
    // APPE.
    assert_eq!(c.stor("APPE log.txt", b"one\n"), 226);
    assert_eq!(c.stor("APPE log.txt", b"two\n"), 226);
    assert_eq!(
        storage.read_file("/log.txt").unwrap().as_ref(),
        b"one\ntwo\n"
    );
    // STOU never overwrites and names the file in its 150.
    let mut data_conn = c.passive();
    let first = c.cmd("STOU log.txt");
    assert_eq!(first.code().as_u16(), 150);
    assert_eq!(first.first_line().as_ref(), b"FILE: /log.txt.1");
    data_conn.write_all(b"unique").unwrap();
    drop(data_conn);
    assert_eq!(c.reply().code().as_u16(), 226);
    assert_eq!(storage.read_file("/log.txt.1").unwrap().as_ref(), b"unique");
    assert_eq!(
        storage.read_file("/log.txt").unwrap().as_ref(),
        b"one\ntwo\n"
    );
    // Missing files.
    let (_, code) = c.retr("RETR nothing-here");
    assert_eq!(code, 550);
    // No data connection set up.
    assert_eq!(c.code("RETR big.bin"), 425);
}

fn listings(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let (list, code) = c.retr("LIST pub");
    assert_eq!(code, 226);
    let entries: Vec<_> = parse_listing(&list).map(Result::unwrap).collect();
    let names: Vec<_> = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .collect();
    assert_eq!(names, ["readme.txt", "résumé ünï.txt", "with spaces.txt"]);
    assert_eq!(entries[0].size, Some(18));
    assert_eq!(entries[0].kind, EntryKind::File);
    let (list, _) = c.retr("LIST -la pub");
    let names: Vec<_> = parse_listing(&list)
        .map(|e| String::from_utf8_lossy(&e.unwrap().name).into_owned())
        .collect();
    assert!(names.contains(&".hidden".to_owned()), "{names:?}");
    let (nlst, code) = c.retr("NLST pub");
    assert_eq!(code, 226);
    assert_eq!(
        nlst,
        b"readme.txt\r\nr\xc3\xa9sum\xc3\xa9 \xc3\xbcn\xc3\xaf.txt\r\nwith spaces.txt\r\n"
    );
    let (mlsd, code) = c.retr("MLSD /");
    assert_eq!(code, 226);
    let facts: Vec<_> = parse_mlsd(&mlsd).map(Result::unwrap).collect();
    let pubdir = facts.iter().find(|e| e.name.as_ref() == b"pub").unwrap();
    assert_eq!(pubdir.to_list_entry().kind, EntryKind::Directory);
    let mlst = c.cmd("MLST pub/readme.txt");
    assert_eq!(mlst.code().as_u16(), 250);
    let line = mlst.lines().nth(1).unwrap();
    let entry = ftp_proto::listing::parse_mlsx_line(&line[1..]).unwrap();
    assert_eq!(entry.facts.size, Some(18));
    assert_eq!(entry.name.as_ref(), b"/pub/readme.txt");
    // LIST of a file lists the file.
    let (one, _) = c.retr("LIST pub/readme.txt");
    assert_eq!(parse_listing(&one).count(), 1);
    let (_, code) = c.retr("MLSD pub/readme.txt");
    assert_eq!(code, 550);
}

fn ascii_mode_converts_line_ends(rt: Rt) {
    let storage = storage();
    let server = start(rt, storage.clone(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE A"), 200);
    let (got, _) = c.retr("RETR pub/readme.txt");
    assert_eq!(got, b"line one\r\nline two\r\n");
    assert_eq!(c.stor("STOR up.txt", b"a\r\nb\r\nc"), 226);
    assert_eq!(storage.read_file("/up.txt").unwrap().as_ref(), b"a\nb\nc");
    assert_eq!(c.code("TYPE I"), 200);
    let (got, _) = c.retr("RETR pub/readme.txt");
    assert_eq!(got, b"line one\nline two\n");
}

fn active_mode(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let listener = c.active();
    assert_eq!(c.code("RETR pub/readme.txt"), 150);
    let (mut data_conn, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    data_conn.read_to_end(&mut got).unwrap();
    // TYPE A is the default (RFC 959 §3.1.1.1): CRLF on the wire.
    assert_eq!(got, b"line one\r\nline two\r\n");
    assert_eq!(c.reply().code().as_u16(), 226);
    // EPRT works the same way.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_eq!(c.code(&format!("EPRT |1|127.0.0.1|{port}|")), 200);
    assert_eq!(c.code("NLST pub"), 150);
    let (mut data_conn, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    data_conn.read_to_end(&mut got).unwrap();
    assert!(got.starts_with(b"readme.txt\r\n"));
    assert_eq!(c.reply().code().as_u16(), 226);
    // Bounce attempts are refused.
    assert_eq!(c.code("PORT 10,1,2,3,200,1"), 504);
    assert_eq!(c.code(&format!("PORT 127,0,0,1,0,{}", 21)), 504);
    // A client that never accepts: 425 after the connect timeout is not tested here (slow);
    // a closed port fails fast.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert_eq!(c.code(&format!("EPRT |1|127.0.0.1|{port}|")), 200);
    let first = c.cmd("RETR pub/readme.txt");
    assert_eq!(first.code().as_u16(), 150);
    assert_eq!(c.reply().code().as_u16(), 425);
    assert_eq!(c.code("NOOP"), 200);
}

fn abort_during_transfer(rt: Rt) {
    let storage = storage();
    storage
        .insert_file("/huge.bin", data(64 * 1024 * 1024, 3))
        .unwrap();
    let server = start(rt, storage, users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    let mut data_conn = c.passive();
    assert_eq!(c.code("RETR huge.bin"), 150);
    let mut some = [0u8; 1024];
    data_conn.read_exact(&mut some).unwrap();
    // Stop reading; the server blocks on a full socket until ABOR.
    c.send(b"\xff\xf4\xff\xf2ABOR\r\n");
    assert_eq!(c.reply().code().as_u16(), 426);
    assert_eq!(c.reply().code().as_u16(), 226);
    assert_eq!(c.code("NOOP"), 200, "the control connection stays usable");
    let (got, code) = c.retr("RETR pub/readme.txt");
    assert_eq!((code, got.len()), (226, 18));
    // ABOR with nothing running.
    assert_eq!(c.code("ABOR"), 225);
}

fn pipelined_commands_answered_in_order(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::connect(server.addr);
    c.send(
        b"USER alice\r\nPASS wonderland\r\nPWD\r\nCWD pub\r\nPWD\r\nSIZE readme.txt\r\nNOOP\r\n",
    );
    let codes: Vec<u16> = (0..7).map(|_| c.reply().code().as_u16()).collect();
    assert_eq!(codes, [331, 230, 257, 250, 257, 213, 200]);
}

fn bad_input_gets_clear_replies(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let long = format!("RETR {}\r\n", "a".repeat(10_000));
    c.send(long.as_bytes());
    assert_eq!(c.reply().code().as_u16(), 500);
    assert_eq!(c.code("NOOP"), 200, "usable after an overlong line");
    c.send(b"RETR a\0b\r\n");
    assert_eq!(c.reply().code().as_u16(), 501);
    c.send(b"CWD \xc3\x28\xfe\r\n");
    assert_eq!(
        c.reply().code().as_u16(),
        550,
        "invalid UTF-8 is just a name that does not exist"
    );
    assert_eq!(c.code("XYZZY"), 500);
    assert_eq!(c.code("RNTO x"), 503);
    assert_eq!(c.code("PORT 1,2,3"), 501);
    assert_eq!(c.code("EPRT |9|x|1|"), 522);
    assert_eq!(c.code("TYPE Q"), 504);
    assert_eq!(c.code("LIST"), 425);
    // Another session is unaffected by all this.
    let mut other = Client::login(server.addr, "reader", "books");
    assert_eq!(other.code("NOOP"), 200);
    assert_eq!(c.code("NOOP"), 200);
}

fn path_traversal_stays_inside(rt: Rt) {
    let storage = storage();
    let server = start(rt, storage.clone(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("CWD ../../../.."), 250);
    assert_eq!(
        c.cmd("PWD").to_bytes().as_ref(),
        b"257 \"/\" is the current directory\r\n"
    );
    assert_eq!(c.stor("STOR ../../escape.txt", b"x"), 226);
    assert!(
        storage.read_file("/escape.txt").is_some(),
        "clamped at the root"
    );
    let (_, code) = c.retr("RETR ../../../etc/passwd");
    assert_eq!(code, 550);
    assert_eq!(c.code("DELE /"), 550);
    assert_eq!(c.code("RMD /"), 550);
}

fn client_vanishing_mid_transfer(rt: Rt) {
    let storage = storage();
    let server = start(rt, storage, users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let mut data_conn = c.passive();
    assert_eq!(c.code("STOR partial.bin"), 150);
    data_conn.write_all(&data(100_000, 9)).unwrap();
    // The client disappears: both connections drop.
    drop(data_conn);
    drop(c);
    // The server keeps serving and keeps the bytes it received.
    let mut other = Client::login(server.addr, "alice", "wonderland");
    let mut size = 0;
    for _ in 0..100 {
        let r = other.cmd("SIZE partial.bin");
        if r.code().as_u16() == 213 {
            size = String::from_utf8_lossy(r.first_line())
                .parse::<usize>()
                .unwrap();
            if size == 100_000 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(size, 100_000);
    // A client vanishing during a download.
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let payload = data(8 * 1024 * 1024, 1);
    assert_eq!(c.stor("STOR big.bin", &payload), 226);
    let mut data_conn = c.passive();
    assert_eq!(c.code("RETR big.bin"), 150);
    let mut head = [0u8; 100];
    data_conn.read_exact(&mut head).unwrap();
    drop(data_conn);
    assert_eq!(
        c.reply().code().as_u16() / 100,
        4,
        "426 (or 451) for the broken download"
    );
    assert_eq!(c.code("NOOP"), 200);
    for _ in 0..100 {
        if server.connections() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.connections(), 2, "the vanished session is gone");
}

fn permissions_and_anonymous_upload(rt: Rt) {
    let storage = storage();
    let server = start(rt, storage.clone(), users(), options());
    let mut r = Client::login(server.addr, "reader", "books");
    assert_eq!(r.code("DELE pub/readme.txt"), 550);
    assert_eq!(r.code("MKD x"), 550);
    let (got, _) = r.retr("RETR pub/readme.txt");
    assert_eq!(got, b"line one\r\nline two\r\n");
    let mut a = Client::login(server.addr, "anonymous", "guest@example.com");
    assert_eq!(a.code("TYPE I"), 200);
    let (got, _) = a.retr("RETR pub/readme.txt");
    assert_eq!(got, b"line one\nline two\n");
    assert_eq!(a.stor("STOR pub/nope.txt", b"x"), 550);
    assert_eq!(a.stor("STOR incoming/drop.txt", b"dropped"), 226);
    assert_eq!(
        storage.read_file("/incoming/drop.txt").unwrap().as_ref(),
        b"dropped"
    );
    assert_eq!(
        a.stor("STOR incoming/drop.txt", b"overwrite"),
        550,
        "no overwrite"
    );
    let (_, code) = a.retr("RETR incoming/drop.txt");
    assert_eq!(code, 550, "upload-only: no download");
    let (_, code) = a.retr("LIST incoming");
    assert_eq!(code, 550, "upload-only: no listing");
    assert_eq!(a.code("CWD incoming"), 250);
    assert_eq!(a.code("DELE drop.txt"), 550);
    assert_eq!(a.code("RNFR drop.txt"), 550);
}

fn quit_waits_for_the_transfer(rt: Rt) {
    let storage = storage();
    storage
        .insert_file("/mid.bin", data(2 * 1024 * 1024, 5))
        .unwrap();
    let server = start(rt, storage, users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    let mut data_conn = c.passive();
    assert_eq!(c.code("RETR mid.bin"), 150);
    c.send(b"QUIT\r\n");
    let mut got = Vec::new();
    data_conn.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 2 * 1024 * 1024);
    assert_eq!(c.reply().code().as_u16(), 226);
    assert_eq!(c.reply().code().as_u16(), 221);
    assert!(c.try_reply().is_none());
}

fn graceful_shutdown(rt: Rt) {
    let storage = storage();
    storage
        .insert_file("/mid.bin", data(4 * 1024 * 1024, 5))
        .unwrap();
    let server = std::sync::Arc::new(start(rt, storage, users(), options()));
    let mut idle = Client::login(server.addr, "alice", "wonderland");
    let mut busy = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(busy.code("TYPE I"), 200);
    let mut data_conn = busy.passive();
    assert_eq!(busy.code("RETR mid.bin"), 150);
    // Shut down while the download is still running (nobody reads it yet).
    let s = std::sync::Arc::clone(&server);
    let stopping = std::thread::spawn(move || s.shutdown(Duration::from_secs(20)));
    assert_eq!(
        idle.reply().code().as_u16(),
        421,
        "idle sessions close at once"
    );
    assert!(idle.try_reply().is_none());
    // The running transfer finishes, then its session closes.
    let mut got = Vec::new();
    data_conn.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 4 * 1024 * 1024);
    assert_eq!(busy.reply().code().as_u16(), 226);
    assert_eq!(busy.reply().code().as_u16(), 421);
    assert!(
        stopping.join().unwrap(),
        "every connection closed before the deadline"
    );
    assert_eq!(server.connections(), 0);
    let refused = TcpStream::connect(server.addr).map(|mut s| {
        let mut b = [0u8; 1];
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.read(&mut b).unwrap_or(0)
    });
    assert_eq!(refused.unwrap_or(0), 0, "no longer accepting");
}

fn rename_mkdir_rmdir_delete_mdtm_mfmt(rt: Rt) {
    let storage = storage();
    let server = start(rt, storage.clone(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(
        c.cmd("MKD new dir").to_bytes().as_ref(),
        b"257 \"/new dir\" created\r\n"
    );
    assert_eq!(c.code("MKD new dir"), 550);
    assert_eq!(c.stor("STOR new dir/f.txt", b"f"), 226);
    assert_eq!(c.code("RMD new dir"), 550, "not empty");
    assert_eq!(c.code("RNFR new dir/f.txt"), 350);
    assert_eq!(c.code("RNTO g.txt"), 250);
    assert_eq!(storage.read_file("/g.txt").unwrap().as_ref(), b"f");
    assert_eq!(c.code("RMD new dir"), 250);
    assert_eq!(c.code("RNFR missing"), 550);
    assert_eq!(c.code("MFMT 20240115000000 g.txt"), 213);
    assert_eq!(
        c.cmd("MDTM g.txt").to_bytes().as_ref(),
        b"213 20240115000000\r\n"
    );
    assert_eq!(c.code("DELE g.txt"), 250);
    assert_eq!(c.code("DELE g.txt"), 550);
}

/// Behind NAT: PASV announces the configured public address.
#[test]
fn masquerade_address_in_pasv() {
    let mut opts = options();
    opts.masquerade_address("203.0.113.7".parse().unwrap())
        .passive_ports(40100..=40110);
    let server = start(Rt::Tokio, storage(), users(), opts);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let r = c.cmd("PASV");
    let announced = ftp_proto::address::parse_pasv_reply(r.first_line()).unwrap();
    assert_eq!(announced.ip().octets(), [203, 0, 113, 7]);
    assert!((40100..=40110).contains(&announced.port()), "{announced}");
    // EPSV carries only the port; the client uses the control connection's address.
    let r = c.cmd("EPSV");
    let port = ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap();
    assert!((40100..=40110).contains(&port));
}

#[test]
fn idle_sessions_time_out() {
    let mut opts = options();
    opts.idle_timeout(Duration::from_millis(300));
    let server = start(Rt::Smol, storage(), users(), opts);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(c.reply().code().as_u16(), 421);
    assert!(c.try_reply().is_none());
}

/// The file-system back-end behind the server: symbolic links cannot lead out of the root.
#[cfg(unix)]
#[test]
fn fs_symlinks_cannot_escape_through_the_server() {
    use ftp_server::storage::fs::FsStorage;
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    let outside = top.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), b"secret").unwrap();
    std::fs::write(root.join("inside.txt"), b"inside").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink("inside.txt", root.join("ok-link.txt")).unwrap();
    let server = start(
        Rt::Tokio,
        FsStorage::new(&root).unwrap(),
        users(),
        options(),
    );
    let mut c = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    assert_eq!(c.code("CWD escape"), 550);
    assert_eq!(c.retr("RETR escape/secret.txt").1, 550);
    assert_eq!(c.retr("RETR link.txt").1, 550);
    assert_eq!(
        c.retr("LIST escape").1 / 100,
        2,
        "the link itself may be listed as a link"
    );
    assert_eq!(c.stor("STOR escape/new.txt", b"x"), 550);
    assert_eq!(c.code("MKD escape/dir"), 550);
    assert_eq!(c.retr("RETR ok-link.txt"), (b"inside".to_vec(), 226));
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "nothing created outside the root"
    );
}

/// ABOR while the server still waits for the client to open the data connection ends the wait
/// at once (426, then 226), not after the data-connection timeout.
#[test]
fn abort_before_the_data_connection_opens() {
    for rt in [Rt::Tokio, Rt::Smol] {
        let server = start(rt, storage(), users(), options());
        let mut c = Client::login(server.addr, "alice", "wonderland");
        let r = c.cmd("EPSV");
        assert_eq!(r.code().as_u16(), 229);
        assert_eq!(c.code("RETR pub/readme.txt"), 150);
        let started = std::time::Instant::now();
        c.send(b"ABOR\r\n");
        assert_eq!(c.reply().code().as_u16(), 426);
        assert_eq!(c.reply().code().as_u16(), 226);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{rt:?}: took {:?}",
            started.elapsed()
        );
        assert_eq!(c.code("NOOP"), 200);
    }
}
