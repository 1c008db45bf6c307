//! The server machine driven by hand: every rule checked without any I/O.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ftp_proto::listing::ListFormat;
use ftp_proto::server::{
    AddressFamily, ControlTls, DataEndpoint, DataTls, FailureKind, Features, ListSource, Refusal,
    Representation, TransferKind, WriteMode,
};
use ftp_proto::{Action, Command, ConnectionInfo, Outcome, Permissions, ServerConfig, UserAccess};

fn info(local: &str, peer: &str) -> ConnectionInfo {
    ConnectionInfo {
        local: local.parse().unwrap(),
        peer: peer.parse().unwrap(),
    }
}

mod harness;

use harness::{Harness, file};

#[test]
fn login_gating_and_sequencing() {
    let mut h = Harness::new();
    for line in [
        "PWD", "LIST", "RETR x", "CWD /", "MKD d", "STOR f", "PASV", "SIZE x", "STAT",
    ] {
        assert_eq!(h.cmd(line), [530], "{line}");
    }
    h.no_action();
    assert_eq!(h.cmd("PASS x"), [503]);
    assert_eq!(h.cmd("ACCT x"), [503]);
    assert_eq!(h.cmd("FEAT"), [211]);
    assert_eq!(h.cmd("SYST"), [215]);
    assert_eq!(h.cmd("NOOP"), [200]);
    assert_eq!(h.cmd("XYZZY"), [500]);
    h.login(Permissions::ALL);
    assert_eq!(h.cmd("PASS again"), [202]);
    assert_eq!(h.cmd("PWD"), [257]);
}

/// Before login every command but the login, TLS set-up and housekeeping ones is 530, and no
/// action reaches the driver.
#[test]
fn everything_else_needs_a_login() {
    let mut h = Harness::new();
    for line in [
        "SITE CHMOD 644 x",
        "SITE HELP",
        "SMNT /",
        "CWD pub",
        "XCWD pub",
        "CDUP",
        "XCUP",
        "PWD",
        "XPWD",
        "MKD d",
        "XMKD d",
        "RMD d",
        "XRMD d",
        "DELE f",
        "RNFR a",
        "RNTO b",
        "SIZE f",
        "MDTM f",
        "MFMT 20240115000000 f",
        "MLST f",
        "MLSD",
        "LIST",
        "NLST",
        "STAT",
        "STAT f",
        "TYPE I",
        "MODE S",
        "STRU F",
        "ALLO 10",
        "REST 5",
        "PORT 127,0,0,1,195,80",
        "EPRT |1|127.0.0.1|50000|",
        "PASV",
        "EPSV",
        "EPSV ALL",
        "RETR f",
        "STOR f",
        "STOU",
        "APPE f",
        "ABOR",
    ] {
        assert_eq!(h.cmd(line), [530], "{line}");
        h.no_action();
    }
    for (line, code) in [
        ("NOOP", 200),
        ("SYST", 215),
        ("FEAT", 211),
        ("HELP", 214),
        ("OPTS UTF8 ON", 200),
        ("LANG EN", 200),
        ("AUTH TLS", 502),
        ("CCC", 502),
        ("XYZZY", 500),
        ("HOST ftp.example.com", 220),
        ("REIN", 220),
        ("ACCT x", 503),
        ("PASS x", 503),
        ("USER bench", 331),
        ("QUIT", 221),
    ] {
        assert_eq!(h.cmd(line), [code], "{line}");
    }
}

#[test]
fn failed_logins_look_alike_and_end_the_session() {
    let mut h = Harness::new();
    let mut texts = Vec::new();
    for (i, user) in ["nobody", "bench", "root"].into_iter().enumerate() {
        let at = h.t0 + Duration::from_secs(10 * i as u64);
        h.session.handle_timeout(at);
        assert_eq!(h.cmd(&format!("USER {user}")), [331]);
        h.session
            .handle_command(Command::parse_owned("PASS wrong").unwrap());
        let Action::Authenticate { id, .. } = h.action() else {
            panic!()
        };
        h.session
            .handle_outcome(id, Outcome::LoginRejected)
            .unwrap();
        // The 530 waits for the failed-login delay, and so does every later command.
        assert_eq!(h.replies(), []);
        assert!(!h.session.wants_read());
        h.session.handle_timeout(at + Duration::from_millis(999));
        assert_eq!(h.replies(), []);
        h.session.handle_timeout(at + Duration::from_secs(1));
        texts.push(h.replies());
    }
    assert_eq!(
        texts[0], texts[1],
        "the reply must not tell which user exists"
    );
    let last: Vec<u16> = texts[2].iter().map(|r| r.code().as_u16()).collect();
    assert_eq!(last, [530, 421]);
    assert_eq!(h.action(), Action::Close);
    assert!(h.session.is_closed() && !h.session.wants_read());
}

#[test]
fn account_dialogue() {
    let mut h = Harness::new();
    h.cmd("USER acme");
    h.cmd("PASS pw");
    let Action::Authenticate { id, .. } = h.action() else {
        panic!()
    };
    h.session.handle_outcome(id, Outcome::NeedAccount).unwrap();
    assert_eq!(h.codes(), [332]);
    assert_eq!(h.cmd("ACCT sales"), Vec::<u16>::new());
    let Action::Account { id, user, account } = h.action() else {
        panic!()
    };
    assert_eq!(
        (user.as_bytes(), account.expose_secret().as_bytes()),
        (&b"acme"[..], &b"sales"[..])
    );
    h.session
        .handle_outcome(id, Outcome::LoggedIn(Permissions::READ_ONLY.into()))
        .unwrap();
    assert_eq!(h.codes(), [230]);
    assert_eq!(h.session.user().unwrap().as_bytes(), b"acme");
}

#[test]
fn rename_needs_rnfr_first() {
    let mut h = Harness::logged_in(Permissions::ALL);
    assert_eq!(h.cmd("RNTO b"), [503]);
    assert_eq!(h.cmd("RNFR a"), Vec::<u16>::new());
    assert_eq!(h.metadata(file(1)).as_bytes(), b"/a");
    assert_eq!(h.codes(), [350]);
    // Any other command in between cancels the rename.
    assert_eq!(h.cmd("NOOP"), [200]);
    assert_eq!(h.cmd("RNTO b"), [503]);
    // A missing source is a 550 and no rename follows.
    h.cmd("RNFR missing");
    h.metadata_fails(FailureKind::NotFound);
    assert_eq!(h.codes(), [550]);
    assert_eq!(h.cmd("RNTO b"), [503]);
    // The full dialogue.
    h.cmd("RNFR a");
    h.metadata(file(1));
    h.codes();
    assert_eq!(h.cmd("RNTO dir/b"), Vec::<u16>::new());
    let Action::Rename { id, from, to } = h.action() else {
        panic!()
    };
    assert_eq!(
        (from.as_bytes(), to.as_bytes()),
        (&b"/a"[..], &b"/dir/b"[..])
    );
    h.session.handle_outcome(id, Outcome::Done).unwrap();
    assert_eq!(h.codes(), [250]);
}

#[test]
fn rest_applies_to_the_next_transfer_only() {
    let mut h = Harness::logged_in(Permissions::ALL);
    assert_eq!(h.cmd("REST 100"), [350]);
    // Data-channel setup in between keeps it (clients send PASV after REST).
    h.epsv();
    assert_eq!(h.cmd("TYPE I"), [200]);
    h.cmd("RETR f");
    let t = h.transfer();
    assert_eq!(
        t.kind,
        TransferKind::Retrieve {
            offset: 100,
            length: None
        }
    );
    assert_eq!(t.representation, Representation::Binary);
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::NotFound))
        .unwrap();
    assert_eq!(h.codes(), [550]);
    // Consumed: the next RETR starts at 0.
    h.epsv();
    h.cmd("RETR f");
    assert_eq!(
        h.transfer().kind,
        TransferKind::Retrieve {
            offset: 0,
            length: None
        }
    );
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("REST 7");
    assert_eq!(h.cmd("NOOP"), [200]);
    h.epsv();
    h.cmd("STOR f");
    assert_eq!(
        h.transfer().kind,
        TransferKind::Store {
            mode: WriteMode::Truncate
        }
    );
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("REST 7");
    h.epsv();
    h.cmd("STOR f");
    assert_eq!(
        h.transfer().kind,
        TransferKind::Store {
            mode: WriteMode::At(7)
        }
    );
}

#[test]
fn retrieve_flow_and_one_transfer_per_listener() {
    let mut h = Harness::logged_in(Permissions::ALL);
    assert_eq!(h.cmd("RETR f"), [425]);
    h.no_action();
    h.epsv();
    h.cmd("RETR dir/../f");
    let t = h.transfer();
    assert_eq!(t.path.as_bytes(), b"/f");
    assert_eq!(
        t.data,
        DataEndpoint::Passive {
            peer: Some("127.0.0.1".parse().unwrap())
        }
    );
    assert!(h.session.is_transferring());
    assert!(
        h.session.wants_read(),
        "reading goes on during a transfer, so ABOR can be seen"
    );
    h.session
        .handle_outcome(t.id, Outcome::TransferStarting { unique_name: None })
        .unwrap();
    let r = h.replies();
    assert_eq!(
        r[0].to_bytes().as_ref(),
        b"150 Opening ASCII mode data connection.\r\n"
    );
    h.session
        .handle_outcome(t.id, Outcome::TransferComplete { bytes: 45 })
        .unwrap();
    assert_eq!(h.codes(), [226]);
    assert_eq!(
        h.cmd("RETR f"),
        [425],
        "the listener served its one transfer"
    );
    // Outcomes for unknown ids are refused, and change nothing.
    assert!(h.session.handle_outcome(t.id, Outcome::Done).is_err());
}

#[test]
fn abort_during_transfer() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    h.cmd("STOR big");
    let t = h.transfer();
    assert_eq!(h.started(t.id), [150]);
    assert!(
        h.session.wants_read(),
        "ABOR must be readable during a transfer"
    );
    assert_eq!(h.cmd("ABOR"), Vec::<u16>::new());
    assert_eq!(h.action(), Action::Abort { id: t.id });
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    assert_eq!(h.codes(), [426, 226]);
    assert_eq!(h.cmd("NOOP"), [200], "the control connection stays usable");
    // ABOR when idle.
    assert_eq!(h.cmd("ABOR"), [225]);
    // A transfer that completes as the ABOR arrives: 226 for it, 226 for the ABOR.
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    assert_eq!(h.started(t.id), [150]);
    assert_eq!(h.cmd("ABOR"), Vec::<u16>::new());
    h.session
        .handle_outcome(t.id, Outcome::TransferComplete { bytes: 1 })
        .unwrap();
    assert_eq!(h.codes(), [226, 226]);
}

#[test]
fn pipelined_commands_wait_for_the_transfer_and_quit_waits_too() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    assert_eq!(h.started(t.id), [150]);
    assert_eq!(h.cmd("PWD"), Vec::<u16>::new());
    assert_eq!(h.cmd("BAD\u{1}"), Vec::<u16>::new());
    assert_eq!(h.cmd("TYPE I"), Vec::<u16>::new());
    assert_eq!(h.cmd("QUIT"), Vec::<u16>::new());
    h.session
        .handle_outcome(t.id, Outcome::TransferComplete { bytes: 10 })
        .unwrap();
    // Everything held before QUIT is answered, in order, then QUIT.
    assert_eq!(h.codes(), [226, 257, 500, 200, 221]);
    assert_eq!(h.action(), Action::Close);
    // Without QUIT the queued commands run in order after the 226.
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    h.cmd("PWD");
    h.cmd("NOOP x");
    h.cmd("TYPE I");
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::NotFound))
        .unwrap();
    assert_eq!(h.codes(), [550, 257, 501, 200]);
}

#[test]
fn queue_is_bounded_while_transferring() {
    let mut config = ServerConfig::default();
    // Room for two NOOPs (or a PWD and a NOOP): 6 bytes on the wire each, plus the overhead.
    config.max_queued_bytes(2 * (6 + ftp_proto::server::QUEUED_ITEM_OVERHEAD));
    let mut h = Harness::with(config.clone(), "127.0.0.1:21", "127.0.0.1:40000");
    h.login(Permissions::ALL);
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    h.cmd("NOOP");
    assert!(h.session.wants_read());
    h.cmd("NOOP");
    assert!(h.session.wants_read(), "a full queue does not stop reading");
    // STAT and ABOR are still taken at once with the queue full.
    assert_eq!(h.cmd("STAT"), [211]);
    assert_eq!(h.cmd("ABOR"), Vec::<u16>::new());
    assert_eq!(h.action(), Action::Abort { id: t.id });
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    assert_eq!(h.codes(), [426, 226, 200, 200]);
    assert!(h.session.wants_read());
    // One command (or unparsable line) too many: 421, the transfer aborted, the session closed,
    // and nothing is held or answered after that.
    for extra in ["NOOP", "BAD\u{1}"] {
        let mut h = Harness::with(config.clone(), "127.0.0.1:21", "127.0.0.1:40000");
        h.login(Permissions::ALL);
        h.epsv();
        h.cmd("RETR f");
        let t = h.transfer();
        h.cmd("PWD");
        h.cmd("NOOP");
        assert_eq!(h.cmd(extra), [421], "{extra}");
        assert_eq!(h.action(), Action::Abort { id: t.id });
        assert_eq!(h.action(), Action::Close);
        assert!(h.session.is_closed() && !h.session.wants_read());
        h.session
            .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
            .unwrap();
        assert_eq!(h.codes(), Vec::<u16>::new());
        h.no_action();
    }
}

/// The default bound is in bytes, roomy enough for a mirroring client that pipelines the next
/// files' commands during a download; QUIT during a transfer answers everything held before it
/// and nothing after.
#[test]
fn pipelining_during_a_transfer_and_quit() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    for i in 0..200 {
        assert_eq!(h.cmd(&format!("SIZE dir/file-{i}.bin")), Vec::<u16>::new());
    }
    h.cmd("PWD");
    assert_eq!(h.cmd("QUIT"), Vec::<u16>::new());
    assert_eq!(
        h.cmd("NOOP"),
        Vec::<u16>::new(),
        "nothing after QUIT is held"
    );
    assert!(!h.session.is_closed());
    h.session
        .handle_outcome(t.id, Outcome::TransferComplete { bytes: 1 })
        .unwrap();
    assert_eq!(h.codes(), [226]);
    let mut codes = Vec::new();
    for _ in 0..200 {
        h.metadata_fails(FailureKind::NotFound);
        codes.extend(h.codes());
    }
    assert_eq!(codes.len(), 202);
    assert!(codes[..200].iter().all(|&c| c == 550), "{codes:?}");
    assert_eq!(codes[200..], [257, 221]);
    assert_eq!(h.action(), Action::Close);
    assert!(h.session.is_closed());
}

/// With no room for held commands at all, ABOR, STAT and QUIT still reach the machine through
/// the byte-level connection during a transfer.
#[test]
fn abor_stat_and_quit_are_read_with_no_queue() {
    use bytes::BytesMut;
    use ftp_proto::ServerConnection;
    let mut config = ServerConfig::default();
    config.max_queued_bytes(0);
    let info = ConnectionInfo {
        local: "127.0.0.1:21".parse().unwrap(),
        peer: "127.0.0.1:40000".parse().unwrap(),
    };
    let mut conn = ServerConnection::new(config, info, 512, Instant::now());
    let mut out = BytesMut::new();
    let feed = |conn: &mut ServerConnection, bytes: &[u8]| {
        let mut input = BytesMut::from(bytes);
        conn.handle_input(&mut input);
        assert!(input.is_empty(), "every byte is read: {input:?}");
    };
    feed(&mut conn, b"USER bench\r\nPASS bench\r\n");
    let Some(Action::Authenticate { id, .. }) = conn.poll_action() else {
        panic!()
    };
    conn.handle_outcome(id, Outcome::LoggedIn(Permissions::ALL.into()))
        .unwrap();
    feed(&mut conn, b"EPSV\r\n");
    let Some(Action::OpenPassive { id, .. }) = conn.poll_action() else {
        panic!()
    };
    conn.handle_outcome(
        id,
        Outcome::PassiveListening("127.0.0.1:50000".parse().unwrap()),
    )
    .unwrap();
    feed(&mut conn, b"RETR big\r\n");
    let Some(Action::Transfer(t)) = conn.poll_action() else {
        panic!()
    };
    conn.handle_outcome(t.id, Outcome::TransferStarting { unique_name: None })
        .unwrap();
    // The data connection is used only after the 150 is written: the action comes after it.
    assert!(conn.poll_transmit(&mut out));
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.lines().last().unwrap().starts_with("150 "), "{text}");
    assert_eq!(conn.poll_action(), Some(Action::StartData { id: t.id }));
    out.clear();
    assert!(conn.wants_read());
    feed(&mut conn, b"STAT\r\nABOR\r\nQUIT\r\n");
    assert_eq!(conn.poll_action(), Some(Action::Abort { id: t.id }));
    conn.handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    conn.poll_transmit(&mut out);
    let text = String::from_utf8(out.to_vec()).unwrap();
    let codes: Vec<&str> = text.lines().map(|l| &l[..3]).collect();
    assert_eq!(codes, ["211", "426", "226", "221"], "{text}");
    assert_eq!(conn.poll_action(), Some(Action::Close));
}

#[test]
fn no_reading_while_an_action_is_in_flight() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("MKD new dir");
    assert!(!h.session.wants_read());
    let Action::MakeDirectory { id, path } = h.action() else {
        panic!()
    };
    h.session.handle_outcome(id, Outcome::Done).unwrap();
    assert_eq!(
        h.replies()[0].to_bytes().as_ref(),
        b"257 \"/new dir\" created\r\n"
    );
    assert!(h.session.wants_read());
    assert_eq!(path.as_bytes(), b"/new dir");
}

#[test]
fn port_and_eprt_refuse_bounces() {
    let mut h = Harness::logged_in(Permissions::ALL);
    assert_eq!(h.cmd("PORT 10,0,0,9,200,1"), [504], "third-party address");
    // Each refusal is reported for the audit log.
    assert_eq!(
        h.action(),
        Action::Refused(Refusal::Bounce {
            to: "10.0.0.9:51201".parse().unwrap()
        })
    );
    assert_eq!(h.cmd("PORT 127,0,0,1,0,21"), [504], "privileged port");
    assert_eq!(
        h.action(),
        Action::Refused(Refusal::PrivilegedPort {
            to: "127.0.0.1:21".parse().unwrap()
        })
    );
    assert_eq!(h.cmd("EPRT |2|::1|50000|"), [522], "wrong family");
    assert_eq!(h.cmd("PORT 1,2,3"), [501]);
    assert_eq!(h.cmd("PORT 127,0,0,1,195,80"), [200]);
    h.cmd("LIST -la");
    let t = h.transfer();
    assert_eq!(
        t.data,
        DataEndpoint::Active("127.0.0.1:50000".parse().unwrap())
    );
    assert_eq!(
        t.kind,
        TransferKind::List {
            format: ListFormat::Long,
            show_hidden: true,
            source: ListSource::Directory,
            permissions: Permissions::ALL,
        }
    );
    assert_eq!(t.representation, Representation::Ascii);
    // With the dangerous switch, third parties are allowed (FXP).
    let mut config = ServerConfig::default();
    config.dangerous_allow_any_data_peer(true);
    let mut h = Harness::with(config, "127.0.0.1:21", "127.0.0.1:40000");
    h.login(Permissions::ALL);
    assert_eq!(h.cmd("EPRT |1|10.0.0.9|50000|"), [200]);
}

#[test]
fn epsv_all_and_ipv6() {
    let mut h = Harness::with(ServerConfig::default(), "[::1]:21", "[::1]:40000");
    h.login(Permissions::ALL);
    assert_eq!(h.cmd("PASV"), [522]);
    assert_eq!(h.cmd("EPSV 1"), [522]);
    assert_eq!(h.cmd("EPRT |2|::1|50000|"), [200]);
    assert_eq!(h.cmd("EPSV ALL"), [200]);
    assert_eq!(h.cmd("PORT 127,0,0,1,195,80"), [503]);
    assert_eq!(h.cmd("EPRT |2|::1|50000|"), [503]);
    assert_eq!(h.cmd("EPSV"), Vec::<u16>::new());
    let Action::OpenPassive {
        family: AddressFamily::V6,
        ..
    } = h.action()
    else {
        panic!("an IPv6 listener")
    };
}

#[test]
fn representation_mode_structure() {
    let mut h = Harness::logged_in(Permissions::ALL);
    for (line, code) in [
        ("TYPE A", 200),
        ("TYPE A N", 200),
        ("TYPE I", 200),
        ("TYPE L 8", 200),
        ("TYPE L 7", 504),
        ("TYPE E", 504),
        ("TYPE A T", 504),
        ("TYPE Z", 504),
        ("MODE S", 200),
        ("MODE B", 504),
        ("MODE C", 504),
        ("STRU F", 200),
        ("STRU R", 504),
        ("STRU P", 504),
        ("ALLO 100", 202),
        ("SITE CHMOD 644 x", 502),
        ("SMNT /", 502),
    ] {
        assert_eq!(h.cmd(line), [code], "{line}");
    }
}

#[test]
fn feat_lists_exactly_what_is_enabled() {
    let mut h = Harness::new();
    let text = h.replies_of("FEAT");
    assert!(
        text.starts_with("211-Features:\r\n") && text.ends_with("211 End\r\n"),
        "{text}"
    );
    for f in [
        " EPRT",
        " EPSV",
        " MDTM",
        " MFMT",
        " REST STREAM",
        " SIZE",
        " UTF8",
        " MLST ",
    ] {
        assert!(text.contains(&format!("\r\n{f}")), "{f} missing in {text}");
    }
    assert!(!text.contains("AUTH"), "no TLS configured: {text}");
    let mut config = ServerConfig::default();
    let mut features = Features::default();
    features.mfmt = false;
    features.size = false;
    features.tls = true;
    config.features(features).control_tls(ControlTls::Optional);
    let mut h = Harness::with(config, "127.0.0.1:21", "127.0.0.1:40000");
    let text = h.replies_of("FEAT");
    assert!(!text.contains("MFMT") && !text.contains("SIZE"), "{text}");
    assert!(
        text.contains(" AUTH TLS\r\n") && text.contains(" PROT\r\n"),
        "{text}"
    );
    h.login(Permissions::ALL);
    assert_eq!(h.cmd("SIZE f"), [502]);
    assert_eq!(h.cmd("MFMT 20261124082839 f"), [502]);
}

fn tls_config(control: ControlTls, data: DataTls) -> ServerConfig {
    let mut config = ServerConfig::default();
    let mut features = Features::default();
    features.tls = true;
    config
        .features(features)
        .control_tls(control)
        .data_tls(data);
    config
}

fn tls_harness(control: ControlTls, data: DataTls) -> Harness {
    Harness::with(tls_config(control, data), "127.0.0.1:21", "127.0.0.1:40000")
}

/// `AUTH TLS` with the driver's handshake reported back.
fn upgrade(h: &mut Harness) {
    assert_eq!(h.cmd("AUTH TLS"), [234]);
    let Action::UpgradeTls { id } = h.action() else {
        panic!("expected UpgradeTls")
    };
    assert!(
        !h.session.wants_read(),
        "nothing is read during the handshake"
    );
    h.session.handle_outcome(id, Outcome::Done).unwrap();
    assert!(h.session.is_control_tls());
}

#[test]
fn tls_negotiation() {
    let mut h = Harness::new();
    assert_eq!(h.cmd("AUTH TLS"), [502], "TLS not configured");
    let mut h = tls_harness(ControlTls::Required, DataTls::Optional);
    assert_eq!(h.cmd("USER anonymous"), [530], "TLS required first");
    assert_eq!(h.cmd("PBSZ 0"), [503]);
    assert_eq!(h.cmd("PROT P"), [503]);
    assert_eq!(h.cmd("CCC"), [503], "nothing to clear");
    assert_eq!(h.cmd("AUTH XYZ"), [504]);
    upgrade(&mut h);
    assert_eq!(h.cmd("AUTH TLS"), [503], "already secured");
    assert_eq!(h.cmd("PROT P"), [503], "PBSZ first");
    assert_eq!(h.cmd("PBSZ 0"), [200]);
    assert_eq!(h.cmd("PROT S"), [536]);
    assert_eq!(h.cmd("PROT E"), [536]);
    assert_eq!(h.cmd("PROT C"), [200]);
    assert_eq!(h.cmd("PROT P"), [200]);
    assert_eq!(h.cmd("CCC"), [534], "refused honestly");
    assert_eq!(h.cmd("REIN"), [502], "no way back to plain text");
    h.login(Permissions::ALL);
    assert_eq!(h.cmd("PASV"), Vec::<u16>::new());
    let Action::OpenPassive {
        id,
        admits,
        protected: true,
        ..
    } = h.action()
    else {
        panic!("a protected listener: the handshake starts on arrival")
    };
    assert!(admits.admits("127.0.0.1".parse().unwrap()));
    assert!(!admits.admits("127.0.0.2".parse().unwrap()));
    h.session
        .handle_outcome(
            id,
            Outcome::PassiveListening("127.0.0.1:50000".parse().unwrap()),
        )
        .unwrap();
    assert_eq!(h.codes(), [227]);
    h.epsv();
    h.cmd("NLST");
    let t = h.transfer();
    assert!(t.protected);
    assert_eq!(
        t.kind,
        TransferKind::List {
            format: ListFormat::Names,
            show_hidden: false,
            source: ListSource::Directory,
            permissions: Permissions::ALL,
        }
    );
}

/// Plain text pipelined behind `AUTH TLS` is never taken for commands (the STARTTLS
/// injection): it stays unread for the driver to hand to the TLS layer.
#[test]
fn nothing_after_auth_is_read_as_a_command() {
    let mut conn = ftp_proto::ServerConnection::new(
        tls_config(ControlTls::Optional, DataTls::Optional),
        info("127.0.0.1:21", "127.0.0.1:40000"),
        4096,
        Instant::now(),
    );
    let mut out = BytesMut::new();
    conn.poll_transmit(&mut out);
    let mut input = BytesMut::from(&b"AUTH TLS\r\nUSER evil\r\nPASS x\r\n"[..]);
    conn.handle_input(&mut input);
    assert_eq!(&input[..], b"USER evil\r\nPASS x\r\n");
    out.clear();
    conn.poll_transmit(&mut out);
    assert_eq!(&out[..], b"234 AUTH TLS successful.\r\n");
    assert!(matches!(
        conn.poll_action(),
        Some(Action::UpgradeTls { .. })
    ));
    assert_eq!(conn.poll_action(), None);
}

#[test]
fn tls_handshake_failure_or_timeout_closes_silently() {
    let mut h = tls_harness(ControlTls::Optional, DataTls::Optional);
    assert_eq!(h.cmd("AUTH TLS"), [234]);
    let Action::UpgradeTls { id } = h.action() else {
        panic!()
    };
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::LocalError))
        .unwrap();
    assert_eq!(h.codes(), Vec::<u16>::new());
    assert_eq!(h.action(), Action::Close);
    let mut h = tls_harness(ControlTls::Optional, DataTls::Optional);
    assert_eq!(h.cmd("AUTH SSL"), [234]);
    assert!(matches!(h.action(), Action::UpgradeTls { .. }));
    let due = h.session.poll_timeout().unwrap();
    assert_eq!(due, h.t0 + Duration::from_secs(15));
    h.session.handle_timeout(due);
    assert_eq!(h.codes(), Vec::<u16>::new());
    assert_eq!(h.action(), Action::Close);
}

#[test]
fn password_logins_need_tls_by_default_anonymous_may_stay_plain() {
    let mut h = tls_harness(ControlTls::default(), DataTls::Optional);
    let text = h.replies_of("USER bench");
    assert!(
        text.starts_with("530 TLS required for password logins"),
        "{text}"
    );
    assert_eq!(h.cmd("USER anonymous"), [331]);
    assert_eq!(h.cmd("PASS me@example.com"), Vec::<u16>::new());
    let Action::Authenticate { id, .. } = h.action() else {
        panic!()
    };
    let mut anon = UserAccess::new(Permissions::READ_ONLY);
    anon.anonymous = true;
    h.session
        .handle_outcome(id, Outcome::LoggedIn(anon))
        .unwrap();
    assert_eq!(h.codes(), [230]);
    // A real user called "ftp" does not slip through on the anonymous name.
    let mut h = tls_harness(ControlTls::default(), DataTls::Optional);
    assert_eq!(h.cmd("USER ftp"), [331]);
    h.cmd("PASS secret");
    let Action::Authenticate { id, .. } = h.action() else {
        panic!()
    };
    h.session
        .handle_outcome(id, Outcome::LoggedIn(Permissions::ALL.into()))
        .unwrap();
    assert_eq!(h.codes(), [530]);
    assert_eq!(h.cmd("PWD"), [530], "not logged in");
    // Over TLS the same login passes.
    let mut h = tls_harness(ControlTls::default(), DataTls::Optional);
    upgrade(&mut h);
    h.login(Permissions::ALL);
}

#[test]
fn per_user_policies() {
    let mut h = tls_harness(ControlTls::Optional, DataTls::Optional);
    assert_eq!(h.cmd("USER bench"), [331], "optional: plain USER is fine");
    h.cmd("PASS bench");
    let Action::Authenticate { id, .. } = h.action() else {
        panic!()
    };
    let mut strict = UserAccess::new(Permissions::ALL);
    strict.require_tls = true;
    h.session
        .handle_outcome(id, Outcome::LoggedIn(strict))
        .unwrap();
    let text = h.replies_of("NOOP");
    assert!(text.starts_with("530 TLS required for this user"), "{text}");
    // A user whose data must be protected: 521 until PROT P.
    let mut h = tls_harness(ControlTls::Optional, DataTls::Optional);
    upgrade(&mut h);
    h.cmd("USER bench");
    h.cmd("PASS bench");
    let Action::Authenticate { id, .. } = h.action() else {
        panic!()
    };
    let mut strict = UserAccess::new(Permissions::ALL);
    strict.require_protected_data = true;
    h.session
        .handle_outcome(id, Outcome::LoggedIn(strict))
        .unwrap();
    assert_eq!(h.codes(), [230]);
    h.epsv();
    assert_eq!(h.cmd("RETR f"), [521]);
    assert_eq!(h.cmd("PBSZ 0"), [200]);
    assert_eq!(h.cmd("PROT C"), [534]);
    assert_eq!(h.cmd("PROT P"), [200]);
    assert_eq!(h.cmd("RETR f"), Vec::<u16>::new());
    assert!(h.transfer().protected);
}

#[test]
fn protected_data_required_by_the_server() {
    let mut h = tls_harness(ControlTls::Optional, DataTls::Required);
    upgrade(&mut h);
    h.login(Permissions::ALL);
    h.epsv();
    let text = h.replies_of("STOR f");
    assert!(
        text.starts_with("521 Data connections must be protected"),
        "{text}"
    );
    assert_eq!(h.cmd("PBSZ 0"), [200]);
    assert_eq!(h.cmd("PROT C"), [534]);
    // AUTH TLS-P of the drafts sets PROT P at once.
    let mut h = tls_harness(ControlTls::Optional, DataTls::Required);
    assert_eq!(h.cmd("AUTH TLS-P"), [234]);
    let Action::UpgradeTls { id } = h.action() else {
        panic!()
    };
    h.session.handle_outcome(id, Outcome::Done).unwrap();
    assert!(h.session.is_data_protected());
    // Implicit TLS: secured from the start, AUTH is a bad sequence, PBSZ works at once.
    let mut h = tls_harness(ControlTls::Required, DataTls::Optional);
    h.session.set_implicit_tls();
    assert_eq!(h.cmd("AUTH TLS"), [503]);
    assert_eq!(h.cmd("PBSZ 0"), [200]);
    h.login(Permissions::ALL);
}

#[test]
fn rein_host_timeout_and_shutdown() {
    let mut h = Harness::new();
    assert_eq!(h.cmd("HOST ftp.example.com"), [220]);
    h.cmd("USER bench");
    h.cmd("PASS bench");
    let Action::Authenticate { id, host, .. } = h.action() else {
        panic!()
    };
    assert_eq!(host.unwrap().as_bytes(), b"ftp.example.com");
    h.session
        .handle_outcome(id, Outcome::LoggedIn(Permissions::ALL.into()))
        .unwrap();
    h.codes();
    assert_eq!(h.cmd("HOST other"), [503]);
    h.epsv();
    assert_eq!(h.cmd("REIN"), [220]);
    assert_eq!(h.action(), Action::CloseDataChannel);
    assert_eq!(h.cmd("PWD"), [530]);
    h.session.handle_timeout(h.t0 + Duration::from_secs(301));
    assert_eq!(h.codes(), [421]);
    assert_eq!(h.action(), Action::Close);
    // Shutdown waits for a running transfer.
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    h.session.handle_shutdown();
    assert!(!h.session.is_closed());
    h.session
        .handle_outcome(t.id, Outcome::TransferComplete { bytes: 3 })
        .unwrap();
    assert_eq!(h.codes(), [226, 421]);
    assert!(h.session.is_closed());
}

#[test]
fn parse_errors_get_replies_and_the_session_goes_on() {
    let mut h = Harness::logged_in(Permissions::ALL);
    assert_eq!(h.cmd(""), [500]);
    assert_eq!(h.cmd("RETR"), [501]);
    assert_eq!(h.cmd("TYPE X"), [504]);
    assert_eq!(h.cmd("EPRT |7|x|1|"), [522]);
    assert_eq!(h.cmd("PORT 127,0,0,1,256,1"), [501]);
    h.session
        .handle_decode_error(ftp_proto::DecodeError::LineTooLong { limit: 10 });
    assert_eq!(h.codes(), [500]);
    assert_eq!(h.cmd("NOOP"), [200]);
    assert_eq!(h.cmd("OPTS UTF8 ON"), [200]);
    assert_eq!(h.cmd("OPTS FOO"), [501]);
    assert_eq!(h.cmd("LANG EN"), [200]);
    assert_eq!(h.cmd("LANG fr"), [504]);
    assert_eq!(h.cmd("HELP"), [214]);
    assert_eq!(h.cmd("HELP retr"), [214]);
    assert_eq!(h.cmd("HELP FOO"), [502]);
    assert_eq!(h.cmd("STAT"), [211]);
}

#[test]
fn passive_over_ipv4_uses_227() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("PASV");
    let Action::OpenPassive {
        id,
        family: AddressFamily::V4,
        ..
    } = h.action()
    else {
        panic!()
    };
    let announced: SocketAddr = "203.0.113.9:50001".parse().unwrap();
    h.session
        .handle_outcome(id, Outcome::PassiveListening(announced))
        .unwrap();
    assert_eq!(
        h.replies()[0].to_bytes().as_ref(),
        b"227 Entering Passive Mode (203,0,113,9,195,81).\r\n"
    );
    h.cmd("PASV");
    let Action::OpenPassive { id, .. } = h.action() else {
        panic!()
    };
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::LocalError))
        .unwrap();
    assert_eq!(h.codes(), [425]);
}

/// HELP names only verbs answered with something other than 502: no AUTH, PBSZ or PROT while
/// TLS is off, never CCC, SMNT or SITE, and none of the extensions turned off.
#[test]
fn help_lists_only_implemented_verbs() {
    let verbs = |h: &mut Harness| -> Vec<String> {
        let text = h.replies_of("HELP");
        assert!(
            text.starts_with("214-") && text.ends_with("214 Help OK.\r\n"),
            "{text}"
        );
        text.lines()
            .skip(1)
            .filter(|l| l.starts_with(' '))
            .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    };
    let mut h = Harness::new();
    let plain = verbs(&mut h);
    for verb in ["AUTH", "PBSZ", "PROT", "CCC", "SMNT", "SITE"] {
        assert!(!plain.iter().any(|v| v == verb), "{verb} in {plain:?}");
        assert_eq!(h.cmd(&format!("HELP {verb}")), [502], "{verb}");
    }
    for verb in [
        "RETR", "MLSD", "MFMT", "SIZE", "EPSV", "XPWD", "HOST", "LANG",
    ] {
        assert!(
            plain.iter().any(|v| v == verb),
            "{verb} missing in {plain:?}"
        );
    }
    // What HELP lists, the machine answers; CCC, SMNT and SITE, which it never implements, get 502.
    h.login(Permissions::ALL);
    for line in [
        "AUTH TLS",
        "PBSZ 0",
        "PROT P",
        "CCC",
        "SMNT /",
        "SITE CHMOD 644 f",
    ] {
        assert_eq!(h.cmd(line), [502], "{line}");
    }
    let mut config = ServerConfig::default();
    let mut features = Features::default();
    features.tls = true;
    features.mfmt = false;
    features.size = false;
    features.mlst = ftp_proto::listing::FactSet::EMPTY;
    config.features(features);
    let mut h = Harness::with(config, "127.0.0.1:21", "127.0.0.1:40000");
    let tls = verbs(&mut h);
    for verb in ["AUTH", "PBSZ", "PROT"] {
        assert!(tls.iter().any(|v| v == verb), "{verb} missing in {tls:?}");
    }
    for verb in ["MFMT", "SIZE", "MLSD", "MLST", "CCC"] {
        assert!(!tls.iter().any(|v| v == verb), "{verb} in {tls:?}");
        assert_eq!(h.cmd(&format!("HELP {verb}")), [502], "{verb}");
    }
    assert_eq!(h.cmd("HELP auth"), [214]);
}

/// The shutdown deadline: a running transfer gets 426, then 421 and Close; an idle session
/// just 421; outcomes after that are refused.
#[test]
fn shutdown_deadline_ends_a_running_transfer() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    assert_eq!(h.started(t.id), [150]);
    h.session.handle_shutdown();
    assert!(
        !h.session.is_closed(),
        "the graceful phase waits for the transfer"
    );
    h.session.handle_shutdown_deadline();
    assert_eq!(h.codes(), [426, 421]);
    assert_eq!(h.action(), Action::Close);
    assert!(h.session.is_closed());
    assert!(
        h.session
            .handle_outcome(t.id, Outcome::TransferComplete { bytes: 1 })
            .is_err()
    );
    assert_eq!(h.codes(), Vec::<u16>::new());
    h.session.handle_shutdown_deadline();
    assert_eq!(h.codes(), Vec::<u16>::new(), "once closed, nothing more");
    // A transfer that never sent its 150 gets only the 421.
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    h.cmd("STOR f");
    let _ = h.transfer();
    h.session.handle_shutdown_deadline();
    assert_eq!(h.codes(), [421]);
    assert_eq!(h.action(), Action::Close);
    // An idle session.
    let mut h = Harness::logged_in(Permissions::ALL);
    h.session.handle_shutdown_deadline();
    assert_eq!(h.codes(), [421]);
    assert_eq!(h.action(), Action::Close);
}
