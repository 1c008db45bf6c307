//! The server end to end over real sockets on 127.0.0.1, on tokio and on smol: every test runs
//! once per runtime.

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{Client, Rt, data, options, start, storage, users};
use ftp_proto::listing::{EntryKind, parse_listing, parse_mlsd, parse_mlsx_line};
use ftp_server::auth::UserTable;
use ftp_server::storage::memory::MemoryStorage;
use ftp_test_support::free_port_range;

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
    masquerade_address_in_pasv,
    idle_sessions_time_out,
    login_deadline_holds_whatever_is_sent,
    data_connection_and_stall_deadlines,
    clients_that_read_no_replies_are_dropped,
    abort_before_the_data_connection_opens,
    shutdown_deadline_closes_what_is_left,
);

#[cfg(unix)]
on_both_runtimes!(@unix fs_symlinks_cannot_escape_through_the_server);

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
    // Exactly what is implemented, nothing more: no TLS without a certificate, MFMT because the memory back-end
    // sets modification times.
    assert_eq!(
        c.cmd("FEAT").to_bytes().as_ref(),
        common::FULL_FEAT.as_bytes(),
        "{}",
        c.cmd("FEAT")
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
    let help = c.cmd("HELP");
    assert_eq!(help.code().as_u16(), 214);
    let verbs: Vec<String> = help
        .lines()
        .filter(|l| l.starts_with(b" "))
        .flat_map(|l| {
            String::from_utf8_lossy(l)
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    for verb in ["AUTH", "PBSZ", "PROT", "CCC"] {
        assert!(!verbs.iter().any(|v| v == verb), "{verb} in {verbs:?}");
    }
    for verb in ["RETR", "MLSD", "MFMT", "XPWD"] {
        assert!(verbs.iter().any(|v| v == verb), "{verb} not in {verbs:?}");
    }
    assert_eq!(c.code("AUTH TLS"), 502, "not in HELP, not offered");
    assert_eq!(c.code("HELP AUTH"), 502);
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
    // Missing files: 550, the data channel kept for the next transfer; ABOR drops it.
    let (_, code) = c.retr("RETR nothing-here");
    assert_eq!(code, 550);
    assert_eq!(c.code("ABOR"), 225);
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
    let entry = parse_mlsx_line(&line[1..]).unwrap();
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
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
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
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
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
    // Until the server has seen the drop and finished the upload: 2 s was too short with the
    // other tests and a fuzzer on both cores.
    let deadline = Instant::now() + common::TIMEOUT;
    while Instant::now() < deadline {
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

/// Behind NAT: PASV announces the configured public address, from the configured port range.
fn masquerade_address_in_pasv(rt: Rt) {
    let (first, last) = free_port_range(11);
    let opts = options()
        .masquerade_address("203.0.113.7".parse().unwrap())
        .passive_ports(first..=last);
    let server = start(rt, storage(), users(), opts);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let r = c.cmd("PASV");
    let announced = ftp_proto::address::parse_pasv_reply(r.first_line()).unwrap();
    assert_eq!(announced.ip().octets(), [203, 0, 113, 7]);
    assert!((first..=last).contains(&announced.port()), "{announced}");
    // EPSV carries only the port; the client uses the control connection's address.
    let r = c.cmd("EPSV");
    let port = ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap();
    assert!((first..=last).contains(&port), "{port}");
    // The listener really is on that port, on the control connection's address.
    let mut data_conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(c.code("NLST pub"), 150);
    let mut got = Vec::new();
    data_conn.read_to_end(&mut got).unwrap();
    assert!(got.starts_with(b"readme.txt\r\n"), "{got:?}");
    assert_eq!(c.reply().code().as_u16(), 226);
}

fn idle_sessions_time_out(rt: Rt) {
    let opts = options().idle_timeout(Duration::from_millis(300));
    let server = start(rt, storage(), users(), opts);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(c.reply().code().as_u16(), 421);
    assert!(c.try_reply().is_none());
    for _ in 0..100 {
        if server.connections() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.connections(), 0);
}

/// Waits (bounded) until the server has no connection left.
fn no_connections_left(server: &common::Running) -> bool {
    for _ in 0..150 {
        if server.connections() == 0 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The login deadline counts from the connection: commands before a login do not extend it.
fn login_deadline_holds_whatever_is_sent(rt: Rt) {
    let opts = options().login_timeout(Duration::from_millis(500));
    let server = start(rt, storage(), users(), opts);
    let mut c = Client::connect(server.addr);
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(c.code("NOOP"), 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = c.reply();
    assert_eq!(r.code().as_u16(), 421, "{r}");
    assert!(r.text().contains("Login timeout"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(c.try_reply().is_none(), "closed after the 421");
    assert!(no_connections_left(&server));
    // A login in time is not cut off.
    let mut c = Client::login(server.addr, "alice", "wonderland");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(c.code("NOOP"), 200);
}

/// The data connection must open within its deadline (425), and data must keep moving (426).
fn data_connection_and_stall_deadlines(rt: Rt) {
    let opts = options()
        .data_connect_timeout(Duration::from_millis(300))
        .data_stall_timeout(Duration::from_millis(400));
    let server = start(rt, storage(), users(), opts);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let r = c.cmd("EPSV");
    assert_eq!(r.code().as_u16(), 229);
    assert_eq!(c.code("RETR pub/readme.txt"), 150);
    // Nobody connects.
    let r = c.reply();
    assert_eq!(r.code().as_u16(), 425, "{r}");
    assert_eq!(c.code("NOOP"), 200, "the session goes on");
    // An upload whose data connection opens and then sends nothing.
    let data = c.passive();
    assert_eq!(c.code("STOR stalled.bin"), 150);
    let r = c.reply();
    assert_eq!(r.code().as_u16(), 426, "{r}");
    assert!(r.text().contains("stalled"), "{r}");
    assert!(closes_by_itself(data), "the data connection is closed");
    assert_eq!(c.code("NOOP"), 200);
}

/// A client that sends commands and never reads the replies holds no slot for ever: once the
/// replies make no progress for the idle timeout, the connection is dropped.
fn clients_that_read_no_replies_are_dropped(rt: Rt) {
    let opts = options().idle_timeout(Duration::from_millis(400));
    let server = start(rt, storage(), users(), opts);
    let mut c = Client::login(server.addr, "alice", "wonderland");
    c.ctl
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Far more replies than the socket buffers hold; the writes stop when the server stops
    // reading (it does while its replies cannot go out).
    let burst = b"STAT\r\n".repeat(4096);
    for _ in 0..64 {
        if c.ctl.write_all(&burst).is_err() {
            break;
        }
    }
    assert!(
        no_connections_left(&server),
        "{rt:?}: the session is still there"
    );
}

/// The file-system back-end behind the server: symbolic links cannot lead out of the root.
#[cfg(unix)]
fn fs_symlinks_cannot_escape_through_the_server(rt: Rt) {
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
    let server = start(rt, FsStorage::new(&root).unwrap(), users(), options());
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
fn abort_before_the_data_connection_opens(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = Client::login(server.addr, "alice", "wonderland");
    let r = c.cmd("EPSV");
    assert_eq!(r.code().as_u16(), 229);
    assert_eq!(c.code("RETR pub/readme.txt"), 150);
    let started = Instant::now();
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

/// Reads a data connection until the server closes it; false if it stayed open.
fn closes_by_itself(mut data_conn: TcpStream) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match data_conn.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            // A reset is closed too.
            Err(_) => return true,
        }
    }
}

/// After the shutdown deadline, sessions that are still open are closed: their transfers
/// abort (426), the sessions get 421, and every connection goes.
fn shutdown_deadline_closes_what_is_left(rt: Rt) {
    let storage = storage();
    storage
        .insert_file("/huge.bin", data(64 * 1024 * 1024, 3))
        .unwrap();
    let server = start(rt, storage, users(), options());
    // A download nobody reads: it blocks on a full socket and would outlast any deadline.
    let mut down = Client::login(server.addr, "alice", "wonderland");
    assert_eq!(down.code("TYPE I"), 200);
    let down_data = down.passive();
    assert_eq!(down.code("RETR huge.bin"), 150);
    // An upload whose client sends nothing (the stall timeout is 10 s).
    let mut up = Client::login(server.addr, "alice", "wonderland");
    let up_data = up.passive();
    assert_eq!(up.code("STOR slow.bin"), 150);
    // A client that sends commands but never reads a reply: its session blocks writing to a
    // full socket and cannot even send a 421; it is dropped a moment after the deadline.
    let stuck = Client::login(server.addr, "alice", "wonderland");
    let mut stuck_ctl = stuck.ctl.try_clone().unwrap();
    stuck_ctl
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let bursts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sent = std::sync::Arc::clone(&bursts);
    let flood = std::thread::spawn(move || {
        let burst = "HELP\r\n".repeat(1000);
        for _ in 0..5000 {
            if stuck_ctl.write_all(burst.as_bytes()).is_err() {
                break;
            }
            sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    // Wait until the flood stalls: the server has stopped reading, blocked on its writes.
    let count = || bursts.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..25 {
        let before = count();
        std::thread::sleep(Duration::from_millis(200));
        if count() == before {
            break;
        }
    }
    assert!(count() < 5000, "the server kept reading: it never blocked");
    let started = Instant::now();
    assert!(
        !server.shutdown(Duration::from_millis(500)),
        "three sessions were still busy at the deadline"
    );
    let took = started.elapsed();
    eprintln!("{rt:?} took {took:?}");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(
        server.connections(),
        0,
        "every session closed after the deadline"
    );
    for c in [&mut down, &mut up] {
        let aborted = c.reply();
        assert_eq!(aborted.code().as_u16(), 426, "{aborted}");
        let closing = c.reply();
        assert_eq!(closing.code().as_u16(), 421, "{closing}");
        assert!(c.try_reply().is_none(), "control connection closed");
    }
    assert!(
        closes_by_itself(down_data),
        "download's data connection closed"
    );
    assert!(closes_by_itself(up_data), "upload's data connection closed");
    assert!(
        closes_by_itself(stuck.ctl),
        "the stuck session's control connection closed"
    );
    flood.join().unwrap();
}

/// An idle session costs its future's size plus its buffers; the state of a running command
/// (storage calls, the login) is boxed apart, so the future stays small. ftp-load measures the
/// whole (about 4 KiB an idle session, see benches/README.md); this keeps the part that can
/// silently regrow in check.
#[test]
fn a_session_future_stays_small() {
    use ftp_server::Server;
    use ftp_server::runtime::tokio::TokioRuntime;
    let server = Server::new(
        TokioRuntime,
        MemoryStorage::new(),
        UserTable::new(),
        ftp_server::ServerOptions::default(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = rt.enter();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let stream = tokio::net::UnixStream::from_std(a).unwrap();
    let stream = tokio_util::compat::TokioAsyncReadCompatExt::compat(stream);
    let addr = "127.0.0.1:1".parse().unwrap();
    let session = server.handle_connection(stream, addr, addr);
    let size = size_of_val(&session);
    // 2,464 bytes (debug build) before the action state was boxed, 1,856 after; 1,784 with the
    // machine owning the timers and the ServerConfig shared by all sessions; as much with TLS
    // (the control connection a `MaybeTls`, the handshakes boxed); kept under the bound by
    // boxing the transfer's pending state and what a passive listener holds besides its
    // connection (a slot of its address, the release signal). 2,040 before the PROXY
    // protocol step, 2,080 with it (boxed; see `Server::handle`); 2,096 with the machine's
    // RANG range (one field with REST's offset) and HASH algorithm; 2,104 with `Arg<'a>`,
    // whose borrowed form takes the one niche of `Bytes`, so an `Option<Arg>` is 8 bytes longer.
    assert!(size <= 2104, "a session's future is {size} bytes");
}
