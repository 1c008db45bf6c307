//! Safe defaults a public server needs, over real sockets on 127.0.0.1 on both runtimes:
//! passive ports that cannot be predicted, a bound on the passive listeners one address holds,
//! ports freed as soon as their transfer is over, and time limits a client cannot stretch.

#[macro_use]
mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{Client, Rt, options, start, storage, users};

on_both_runtimes!(
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
    let (first, last) = ftp_test_support::free_port_range(400);
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
    assert!(next_in_line < 4, "ports handed out in sequence: {ports:?}");
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
