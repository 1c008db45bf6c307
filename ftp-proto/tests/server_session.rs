//! The server machine driven by hand: every rule checked without any I/O.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ftp_proto::listing::{DirEntry, FileKind, ListFormat, Metadata};
use ftp_proto::server::{
    AddressFamily, DataEndpoint, FailureKind, Features, ListSource, Representation, Transfer,
    TransferKind, WriteMode, unique_name,
};
use ftp_proto::{
    Action, ActionId, Command, ConnectionInfo, Outcome, Permissions, Reply, ServerConfig,
    ServerConnection, ServerSession, Timestamp, UserAccess, VirtualPath,
};

struct Harness {
    session: ServerSession,
    /// When the session began.
    t0: Instant,
}

impl Harness {
    fn new() -> Self {
        Self::with(ServerConfig::default(), "127.0.0.1:21", "127.0.0.1:40000")
    }

    fn with(config: ServerConfig, local: &str, peer: &str) -> Self {
        let info = ConnectionInfo {
            local: local.parse().unwrap(),
            peer: peer.parse().unwrap(),
        };
        let t0 = Instant::now();
        let mut h = Self {
            session: ServerSession::new(config, info, t0),
            t0,
        };
        assert_eq!(h.codes(), [220]);
        h
    }

    fn logged_in(permissions: Permissions) -> Self {
        let mut h = Self::new();
        h.login(permissions);
        h
    }

    fn login(&mut self, permissions: Permissions) {
        assert_eq!(self.cmd("USER bench"), [331]);
        assert_eq!(self.cmd("PASS bench"), Vec::<u16>::new());
        let Some(Action::Authenticate {
            id,
            user,
            password,
            host: None,
        }) = self.session.poll_action()
        else {
            panic!("expected Authenticate")
        };
        assert_eq!(
            (user.as_bytes(), password.expose_secret().as_bytes()),
            (&b"bench"[..], &b"bench"[..])
        );
        self.session
            .handle_outcome(id, Outcome::LoggedIn(permissions.into()))
            .unwrap();
        assert_eq!(self.codes(), [230]);
    }

    fn replies(&mut self) -> Vec<Reply> {
        std::iter::from_fn(|| self.session.poll_reply()).collect()
    }

    fn codes(&mut self) -> Vec<u16> {
        self.replies().iter().map(|r| r.code().as_u16()).collect()
    }

    /// Sends a line (parsed, or a parse error), returns the reply codes.
    fn cmd(&mut self, line: &str) -> Vec<u16> {
        match Command::parse(line.to_owned()) {
            Ok(cmd) => self.session.handle_command(cmd),
            Err(e) => self.session.handle_parse_error(e),
        }
        self.codes()
    }

    fn action(&mut self) -> Action {
        self.session.poll_action().expect("an action")
    }

    fn no_action(&mut self) {
        assert_eq!(self.session.poll_action(), None);
    }

    /// Opens a passive listener through EPSV.
    fn epsv(&mut self) {
        assert_eq!(self.cmd("EPSV"), Vec::<u16>::new());
        let Action::OpenPassive {
            id,
            family: AddressFamily::V4,
        } = self.action()
        else {
            panic!()
        };
        self.session
            .handle_outcome(
                id,
                Outcome::PassiveListening("127.0.0.1:50000".parse().unwrap()),
            )
            .unwrap();
        let r = self.replies();
        assert_eq!(
            r[0].to_bytes().as_ref(),
            b"229 Entering Extended Passive Mode (|||50000|)\r\n"
        );
    }

    /// The transfer asked for. A listing asks for its path's metadata first: answered as a
    /// directory.
    fn transfer(&mut self) -> Transfer {
        match self.action() {
            Action::Transfer(t) => t,
            Action::Metadata { id, .. } => {
                self.session
                    .handle_outcome(id, Outcome::Metadata(Box::new(dir())))
                    .unwrap();
                self.transfer()
            }
            other => panic!("expected a transfer, got {other:?}"),
        }
    }

    /// The file is open: the 150 is queued, then the action to start moving data.
    fn started(&mut self, id: ActionId) -> Vec<u16> {
        self.session
            .handle_outcome(id, Outcome::TransferStarting { unique_name: None })
            .unwrap();
        assert_eq!(self.action(), Action::StartData { id });
        self.codes()
    }

    /// Answers the metadata the last command asked for.
    fn metadata(&mut self, meta: Metadata) -> VirtualPath {
        let Action::Metadata { id, path } = self.action() else {
            panic!("expected a metadata action")
        };
        self.session
            .handle_outcome(id, Outcome::Metadata(Box::new(meta)))
            .unwrap();
        path
    }
}

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
            .handle_command(Command::parse("PASS wrong").unwrap());
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
    let Action::Metadata { id, .. } = h.action() else {
        panic!()
    };
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::NotFound))
        .unwrap();
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
    assert_eq!(t.kind, TransferKind::Retrieve { offset: 100 });
    assert_eq!(t.representation, Representation::Binary);
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::NotFound))
        .unwrap();
    assert_eq!(h.codes(), [550]);
    // Consumed: the next RETR starts at 0.
    h.epsv();
    h.cmd("RETR f");
    assert_eq!(h.transfer().kind, TransferKind::Retrieve { offset: 0 });
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
    assert_eq!(h.codes(), [226, 221]);
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
    config.max_queued_commands(2);
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

/// With no room for held commands at all, ABOR, STAT and QUIT still reach the machine through
/// the byte-level connection during a transfer.
#[test]
fn abor_stat_and_quit_are_read_with_no_queue() {
    use bytes::BytesMut;
    use ftp_proto::ServerConnection;
    let mut config = ServerConfig::default();
    config.max_queued_commands(0);
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
    assert_eq!(h.cmd("PORT 127,0,0,1,0,21"), [504], "privileged port");
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
    config.features(features);
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

#[test]
fn tls_negotiation() {
    let mut h = Harness::new();
    assert_eq!(h.cmd("AUTH TLS"), [502], "TLS not configured");
    let mut config = ServerConfig::default();
    let mut features = Features::default();
    features.tls = true;
    config.features(features).require_tls(true);
    let mut h = Harness::with(config, "127.0.0.1:21", "127.0.0.1:40000");
    assert_eq!(h.cmd("USER bench"), [530], "TLS required first");
    assert_eq!(h.cmd("PBSZ 0"), [503]);
    assert_eq!(h.cmd("AUTH XYZ"), [504]);
    assert_eq!(h.cmd("AUTH TLS"), [234]);
    assert_eq!(h.action(), Action::UpgradeTls);
    assert_eq!(h.cmd("PROT P"), [503], "PBSZ first");
    assert_eq!(h.cmd("PBSZ 0"), [200]);
    assert_eq!(h.cmd("PROT S"), [504]);
    assert_eq!(h.cmd("PROT P"), [200]);
    h.login(Permissions::ALL);
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

#[test]
fn directories_and_files() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("CWD pub");
    assert_eq!(h.metadata(dir()).as_bytes(), b"/pub");
    assert_eq!(h.codes(), [250]);
    assert_eq!(
        h.replies_of("PWD"),
        "257 \"/pub\" is the current directory\r\n"
    );
    h.cmd("XCWD missing");
    let Action::Metadata { id, .. } = h.action() else {
        panic!()
    };
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::NotFound))
        .unwrap();
    assert_eq!(h.codes(), [550]);
    assert_eq!(h.session.cwd().as_bytes(), b"/pub");
    // A file is no directory to enter.
    h.cmd("CWD a");
    h.metadata(file(3));
    assert_eq!(h.codes(), [550]);
    // A symbolic link is entered if it leads to a directory, found out by asking.
    h.cmd("CWD link");
    h.metadata(Metadata::new(FileKind::Symlink, 0));
    let Action::ProbeDirectory { id, path } = h.action() else {
        panic!()
    };
    assert_eq!(path.as_bytes(), b"/pub/link");
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::NotFound))
        .unwrap();
    assert_eq!(h.codes(), [550]);
    assert_eq!(h.session.cwd().as_bytes(), b"/pub");
    h.cmd("CWD link");
    h.metadata(Metadata::new(FileKind::Symlink, 0));
    let Action::ProbeDirectory { id, .. } = h.action() else {
        panic!()
    };
    h.session.handle_outcome(id, Outcome::Done).unwrap();
    assert_eq!(h.codes(), [250]);
    assert_eq!(h.session.cwd().as_bytes(), b"/pub/link");
    h.cmd("CDUP");
    assert_eq!(h.metadata(dir()).as_bytes(), b"/pub");
    assert_eq!(h.codes(), [250]);
    h.cmd("CDUP");
    assert!(h.metadata(dir()).is_root());
    assert_eq!(h.codes(), [250]);
    h.cmd("SIZE a");
    h.metadata(file(5_368_709_120));
    assert_eq!(h.replies()[0].to_bytes().as_ref(), b"213 5368709120\r\n");
    // SIZE of a directory or a link: no size to give.
    h.cmd("SIZE d");
    h.metadata(dir());
    assert_eq!(h.codes(), [550]);
    h.cmd("SIZE l");
    h.metadata(Metadata::new(FileKind::Symlink, 9));
    assert_eq!(h.codes(), [550]);
    h.cmd("MDTM a");
    let t = Timestamp::parse(b"20261124082839.5").unwrap();
    h.metadata(file(1).with_modified(t.to_system_time()));
    assert_eq!(
        h.replies()[0].to_bytes().as_ref(),
        b"213 20261124082839\r\n"
    );
    // No time known: a local error, not a made-up time.
    h.cmd("MDTM a");
    h.metadata(file(1));
    assert_eq!(h.codes(), [451]);
    h.cmd("MFMT 20240115000000 old.txt");
    let Action::SetModified { id, time, .. } = h.action() else {
        panic!()
    };
    assert_eq!(time.to_string(), "20240115000000");
    h.session.handle_outcome(id, Outcome::Done).unwrap();
    assert_eq!(
        h.replies()[0].to_bytes().as_ref(),
        b"213 Modify=20240115000000; /old.txt\r\n"
    );
    for (line, verb) in [
        ("DELE x", "Delete"),
        ("RMD d", "RemoveDirectory"),
        ("XRMD d", "RemoveDirectory"),
    ] {
        h.cmd(line);
        let action = h.action();
        assert!(format!("{action:?}").starts_with(verb), "{action:?}");
        let (Action::Delete { id, .. } | Action::RemoveDirectory { id, .. }) = action else {
            panic!()
        };
        h.session
            .handle_outcome(id, Outcome::Failed(FailureKind::PermissionDenied))
            .unwrap();
        assert_eq!(h.codes(), [550]);
    }
    h.epsv();
    h.cmd("STOU");
    let t = h.transfer();
    assert_eq!(
        t.kind,
        TransferKind::Store {
            mode: WriteMode::Unique
        }
    );
    let name = VirtualPath::root().resolve(b"ftp.upload.1");
    h.session
        .handle_outcome(
            t.id,
            Outcome::TransferStarting {
                unique_name: Some(name),
            },
        )
        .unwrap();
    assert_eq!(
        h.replies()[0].to_bytes().as_ref(),
        b"150 FILE: /ftp.upload.1\r\n"
    );
}

impl Harness {
    fn replies_of(&mut self, line: &str) -> String {
        self.session
            .handle_command(Command::parse(line.to_owned()).unwrap());
        self.replies()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.to_bytes()).into_owned())
            .collect()
    }
}

#[test]
fn read_only_users_are_refused_without_asking_storage() {
    let mut h = Harness::logged_in(Permissions::READ_ONLY);
    h.epsv();
    for line in [
        "STOR x",
        "APPE x",
        "STOU",
        "DELE x",
        "RMD x",
        "MKD x",
        "RNFR x",
        "MFMT 20240115000000 x",
    ] {
        assert_eq!(h.cmd(line), [550], "{line}");
        h.no_action();
    }
    h.cmd("RETR x");
    assert!(
        matches!(h.action(), Action::Transfer(_)),
        "the listener is still there for RETR"
    );
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

/// The root is never deleted, renamed or overwritten: the machine answers without asking the
/// back-end, which would otherwise be handed its own root.
#[test]
fn the_root_is_never_deleted_renamed_or_overwritten() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.epsv();
    for (line, code) in [
        ("DELE /", 550),
        ("DELE sub/..", 550),
        ("RMD /", 550),
        ("XRMD ..", 550),
        ("RNFR /", 550),
        ("STOR /", 553),
        ("STOR .", 553),
        ("APPE /", 553),
        ("STOU /", 553),
    ] {
        assert_eq!(h.cmd(line), [code], "{line}");
        h.no_action();
    }
    // RNTO onto the root, after an RNFR that succeeded.
    h.cmd("RNFR a");
    h.metadata(file(1));
    assert_eq!(h.codes(), [350]);
    assert_eq!(h.cmd("RNTO /"), [553]);
    h.no_action();
    assert_eq!(h.cmd("RNTO b"), [503], "the refused RNTO ended the rename");
    // Nothing consumed the passive listener; names below the root still pass.
    h.cmd("STOR /f");
    let t = h.transfer();
    assert_eq!(t.path.as_bytes(), b"/f");
    // A read-only user is told "permission denied", as for any other name.
    let mut h = Harness::logged_in(Permissions::READ_ONLY);
    assert_eq!(h.cmd("DELE /"), [550]);
    assert_eq!(h.cmd("STOR /"), [550]);
    h.no_action();
}

#[test]
fn passive_over_ipv4_uses_227() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("PASV");
    let Action::OpenPassive {
        id,
        family: AddressFamily::V4,
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

#[test]
fn mlst_and_opts_mlst() {
    let mut h = Harness::logged_in(Permissions::ALL);
    let modified = Timestamp::parse(b"20261124082839")
        .unwrap()
        .to_system_time();
    let meta = file(45).with_modified(modified).with_mode(0o644);
    h.cmd("MLST regular.txt");
    assert_eq!(h.metadata(meta.clone()).as_bytes(), b"/regular.txt");
    let text = String::from_utf8(h.replies()[0].to_bytes().to_vec()).unwrap();
    // `perm` comes from what the user may do: read, append and write, delete, rename.
    assert_eq!(
        text,
        "250-Listing /regular.txt\r\n type=file;size=45;modify=20261124082839;perm=rawdf; /regular.txt\r\n250 End\r\n"
    );
    assert_eq!(
        h.replies_of("OPTS MLST size;Type;bogus;UNIX.mode;"),
        "200 MLST OPTS type;size;\r\n"
    );
    h.cmd("MLST regular.txt");
    h.metadata(meta);
    let text = String::from_utf8(h.replies()[0].to_bytes().to_vec()).unwrap();
    assert_eq!(
        text, "250-Listing /regular.txt\r\n type=file;size=45; /regular.txt\r\n250 End\r\n",
        "after OPTS MLST only type and size are sent"
    );
    // A read-only user's directory: enter and list only.
    let mut h = Harness::logged_in(Permissions::READ_ONLY);
    h.cmd("MLST /");
    h.metadata(dir());
    let text = String::from_utf8(h.replies()[0].to_bytes().to_vec()).unwrap();
    assert!(text.contains(" type=dir;perm=el; /\r\n"), "{text}");
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("OPTS MLST type;size;");
    h.codes();
    h.epsv();
    h.cmd("MLSD");
    let t = h.transfer();
    let TransferKind::List {
        format: ListFormat::Machine(facts),
        show_hidden: true,
        ..
    } = t.kind
    else {
        panic!()
    };
    assert_eq!(
        facts,
        ftp_proto::listing::FactSet::TYPE | ftp_proto::listing::FactSet::SIZE
    );
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

fn dir() -> Metadata {
    Metadata::new(FileKind::Directory, 0)
}

fn file(size: u64) -> Metadata {
    Metadata::new(FileKind::File, size)
}

/// The upload-only directory (the anonymous "incoming" directory) is the machine's rule: it
/// decides before any action reaches the driver, and an upload there only creates files.
#[test]
fn upload_only_directory_rules() {
    let mut h = Harness::new();
    assert_eq!(h.cmd("USER anonymous"), [331]);
    h.cmd("PASS x");
    let Action::Authenticate { id, .. } = h.action() else {
        panic!()
    };
    let incoming = VirtualPath::root().resolve(b"incoming");
    let access = UserAccess::new(Permissions::READ_ONLY).with_upload_only(incoming);
    h.session
        .handle_outcome(id, Outcome::LoggedIn(access))
        .unwrap();
    assert_eq!(h.codes(), [230]);
    // Refused without asking the driver: reading or listing inside, changing anything.
    h.epsv();
    for line in [
        "RETR incoming/f",
        "LIST incoming",
        "NLST /incoming/sub",
        "STAT incoming",
        "SIZE incoming/f",
        "MDTM incoming/f",
        "MKD incoming/d",
        "DELE incoming/f",
        "RNFR pub/f",
        "MFMT 20240115000000 pub/f",
        "STOR incoming",
        "STOR pub/f",
    ] {
        assert_eq!(h.cmd(line), [550], "{line}");
        h.no_action();
    }
    assert_eq!(h.cmd("ABOR"), [225]);
    assert_eq!(h.action(), Action::CloseDataChannel);
    // The directory itself can be looked at and entered.
    h.cmd("SIZE incoming");
    assert_eq!(h.metadata(dir()).as_bytes(), b"/incoming");
    assert_eq!(h.codes(), [550], "a directory has no size");
    h.cmd("CWD incoming");
    h.metadata(dir());
    assert_eq!(h.codes(), [250]);
    // Uploads inside create new files, whatever the command asked for.
    for (line, mode) in [
        ("STOR f", WriteMode::CreateNew),
        ("APPE f", WriteMode::CreateNew),
        ("STOU", WriteMode::Unique),
    ] {
        h.epsv();
        assert_eq!(h.cmd(line), Vec::<u16>::new(), "{line}");
        let t = h.transfer();
        assert_eq!(t.kind, TransferKind::Store { mode }, "{line}");
        assert!(t.path.as_bytes().starts_with(b"/incoming/"), "{line}");
        h.session
            .handle_outcome(t.id, Outcome::Failed(FailureKind::AlreadyExists))
            .unwrap();
        assert_eq!(h.codes(), [550]);
    }
    h.epsv();
    h.cmd("REST 10");
    h.codes();
    h.cmd("STOR g");
    assert_eq!(
        h.transfer().kind,
        TransferKind::Store {
            mode: WriteMode::CreateNew
        },
        "no resuming over what is there"
    );
}

/// What `LIST`, `NLST` and `MLSD` send depends on what the path is, decided by the machine.
#[test]
fn listings_of_files_links_and_missing_paths() {
    let mut h = Harness::logged_in(Permissions::ALL);
    // A file: LIST and NLST send its one entry, named by its last component.
    h.epsv();
    h.cmd("LIST pub/a.txt");
    assert_eq!(h.metadata(file(12)).as_bytes(), b"/pub/a.txt");
    let t = h.transfer();
    let TransferKind::List {
        source: ListSource::Entry(entry),
        ..
    } = &t.kind
    else {
        panic!("{t:?}")
    };
    assert_eq!(entry.name.as_ref(), b"a.txt");
    assert_eq!(entry.metadata.size, 12);
    // MLSD of a file: 550 (RFC 3659 §7.1), and the data channel is closed.
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    h.codes();
    h.epsv();
    h.cmd("MLSD a.txt");
    h.metadata(file(1));
    assert_eq!(h.codes(), [550]);
    assert_eq!(h.action(), Action::CloseDataChannel);
    assert_eq!(h.cmd("MLSD"), [425], "no data channel is left");
    // Missing: 550, data channel closed.
    h.epsv();
    h.cmd("LIST missing");
    let Action::Metadata { id, .. } = h.action() else {
        panic!()
    };
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::NotFound))
        .unwrap();
    assert_eq!(h.codes(), [550]);
    assert_eq!(h.action(), Action::CloseDataChannel);
    // A link: listed as a directory when it leads to one, else as its one entry.
    for (probe, directory) in [
        (Outcome::Done, true),
        (Outcome::Failed(FailureKind::WrongKind), false),
    ] {
        h.epsv();
        h.cmd("LIST link");
        h.metadata(Metadata::new(FileKind::Symlink, 0));
        let Action::ProbeDirectory { id, path } = h.action() else {
            panic!()
        };
        assert_eq!(path.as_bytes(), b"/link");
        h.session.handle_outcome(id, probe).unwrap();
        let t = h.transfer();
        let TransferKind::List { source, .. } = &t.kind else {
            panic!()
        };
        assert_eq!(matches!(source, ListSource::Directory), directory);
        h.session
            .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
            .unwrap();
        h.codes();
    }
    // Without a data channel, nothing is asked of storage.
    assert_eq!(h.cmd("LIST"), [425]);
    h.no_action();
}

/// `STAT path`: the driver gathers entries; the machine writes the `ls -l` lines.
#[test]
fn stat_path_reply_is_written_by_the_machine() {
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("STAT pub");
    let Action::StatusListing { id, path, max } = h.action() else {
        panic!()
    };
    assert_eq!((path.as_bytes(), max), (&b"/pub"[..], 10_000));
    let now = Timestamp::parse(b"20261124120000").unwrap();
    let modified = Timestamp::parse(b"20261124082839")
        .unwrap()
        .to_system_time();
    let entries = vec![
        DirEntry::new(&b"a.txt"[..], file(45).with_modified(modified)),
        // A name holding a line end cannot break the reply into two.
        DirEntry::new(&b"evil\r\n226 x"[..], file(1).with_modified(modified)),
    ];
    h.session
        .handle_outcome(id, Outcome::Listed { entries, now })
        .unwrap();
    let text = String::from_utf8(h.replies()[0].to_bytes().to_vec()).unwrap();
    assert_eq!(
        text,
        "213-Status of /pub:\r\n\
         -rw-r--r--    1 ftp      ftp                45 Nov 24 08:28 a.txt\r\n\
         -rw-r--r--    1 ftp      ftp                 1 Nov 24 08:28 evil226 x\r\n\
         213 End of status\r\n"
    );
}

#[test]
fn over_the_limit_is_421_and_close() {
    let info = ConnectionInfo {
        local: "127.0.0.1:21".parse().unwrap(),
        peer: "127.0.0.1:40000".parse().unwrap(),
    };
    let mut conn = ServerConnection::over_limit(ServerConfig::default(), info, 512, Instant::now());
    let mut out = bytes::BytesMut::new();
    assert!(conn.poll_transmit(&mut out));
    assert_eq!(&out[..], b"421 Too many connections, try again later.\r\n");
    assert_eq!(conn.poll_action(), Some(Action::Close));
    assert!(conn.session().is_closed());
    assert!(!conn.wants_read());
}

#[test]
fn stou_names_and_data_peers() {
    let path = VirtualPath::root().resolve(b"up/report.txt");
    let names: Vec<_> = (0..3)
        .map(|n| unique_name(&path, n).as_bytes().to_vec())
        .collect();
    assert_eq!(
        names,
        [
            &b"/up/report.txt"[..],
            b"/up/report.txt.1",
            b"/up/report.txt.2"
        ]
    );
    let peer = "127.0.0.1".parse().unwrap();
    let passive = DataEndpoint::Passive { peer: Some(peer) };
    assert!(passive.admits(peer));
    assert!(passive.admits("::ffff:127.0.0.1".parse().unwrap()));
    assert!(!passive.admits("127.0.0.2".parse().unwrap()));
    assert!(DataEndpoint::Passive { peer: None }.admits("10.0.0.1".parse().unwrap()));
}

/// Every deadline belongs to the machine: the driver passes the time in and sleeps until
/// `poll_timeout`.
#[test]
fn login_deadline_and_idle_timeout_count_commands_not_bytes() {
    let secs = Duration::from_secs;
    let mut h = Harness::new();
    let t0 = h.t0;
    // Before a login, the login deadline (300 s from the start) comes first.
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(300)));
    // NOOPs do not extend it.
    for minute in 1..5 {
        h.session.handle_timeout(t0 + secs(60 * minute));
        assert_eq!(h.cmd("NOOP"), [200]);
    }
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(300)));
    h.session.handle_timeout(t0 + secs(299));
    assert!(!h.session.is_closed());
    h.session.handle_timeout(t0 + secs(300));
    let r = h.replies();
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].to_bytes().as_ref(),
        b"421 Login timeout: closing control connection.\r\n"
    );
    assert_eq!(h.action(), Action::Close);
    assert_eq!(h.session.poll_timeout(), None);

    // Logged in: the idle timeout counts from the last complete command.
    let mut h = Harness::logged_in(Permissions::ALL);
    let t0 = h.t0;
    h.session.handle_timeout(t0 + secs(100));
    assert_eq!(h.cmd("NOOP"), [200]);
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(400)));
    h.session.handle_timeout(t0 + secs(399));
    assert!(!h.session.is_closed());
    h.session.handle_timeout(t0 + secs(400));
    assert_eq!(h.codes(), [421]);
    assert!(h.session.is_closed());

    // Bytes of an unfinished line are no command: they do not keep a connection alive.
    let info = ConnectionInfo {
        local: "127.0.0.1:21".parse().unwrap(),
        peer: "127.0.0.1:40000".parse().unwrap(),
    };
    let t0 = Instant::now();
    let mut conn = ServerConnection::new(ServerConfig::default(), info, 512, t0);
    let mut input = bytes::BytesMut::new();
    for (at, byte) in [(100, b'N'), (200, b'O'), (299, b'O')] {
        conn.handle_timeout(t0 + secs(at));
        input.extend_from_slice(&[byte]);
        conn.handle_input(&mut input);
    }
    assert_eq!(conn.poll_timeout(), Some(t0 + secs(300)));
    conn.handle_timeout(t0 + secs(300));
    assert!(conn.session().is_closed());
}

#[test]
fn data_connection_and_stall_deadlines_abort_the_transfer() {
    let secs = Duration::from_secs;
    let mut h = Harness::logged_in(Permissions::ALL);
    let t0 = h.t0;
    h.epsv();
    h.cmd("RETR f");
    let t = h.transfer();
    // While the file opens and the transfer runs, no idle timeout.
    assert_eq!(h.session.poll_timeout(), None);
    h.session.handle_timeout(t0 + secs(10));
    assert_eq!(h.started(t.id), [150]);
    // The data connection must open within 30 s of the 150.
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(40)));
    h.session.handle_timeout(t0 + secs(40));
    assert_eq!(h.action(), Action::Abort { id: t.id });
    assert_eq!(h.session.poll_timeout(), None, "one abort is enough");
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    let r = h.replies();
    assert_eq!(
        r[0].to_bytes().as_ref(),
        b"425 Can't open data connection: timed out.\r\n"
    );
    assert_eq!(r.len(), 1, "no 226: the client sent no ABOR");
    // The idle timeout counts again from the transfer's end.
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(340)));

    // Once connected, data must keep moving: 300 s without progress aborts.
    h.epsv();
    h.cmd("STOR big");
    let t = h.transfer();
    h.started(t.id);
    h.session.handle_timeout(t0 + secs(50));
    h.session
        .handle_outcome(t.id, Outcome::DataConnected)
        .unwrap();
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(350)));
    h.session.handle_timeout(t0 + secs(200));
    h.session
        .handle_outcome(t.id, Outcome::TransferProgress)
        .unwrap();
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(500)));
    h.session.handle_timeout(t0 + secs(499));
    h.no_action();
    h.session.handle_timeout(t0 + secs(500));
    assert_eq!(h.action(), Action::Abort { id: t.id });
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    assert_eq!(
        h.replies()[0].to_bytes().as_ref(),
        b"426 Data connection stalled; transfer aborted.\r\n"
    );
    assert_eq!(h.cmd("NOOP"), [200], "the session goes on");
}

#[test]
fn replies_nobody_reads_abandon_the_session() {
    let secs = Duration::from_secs;
    let mut h = Harness::logged_in(Permissions::ALL);
    let t0 = h.t0;
    h.cmd("NOOP");
    // The driver could write nothing of 2 KiB of replies.
    h.session.handle_write(0, 2048);
    h.session.handle_timeout(t0 + secs(100));
    h.session.handle_write(0, 2048);
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(300)));
    // Some progress moves the deadline (and a command the idle timeout).
    assert_eq!(h.cmd("NOOP"), [200]);
    h.session.handle_write(10, 2038);
    assert_eq!(h.session.poll_timeout(), Some(t0 + secs(400)));
    h.session.handle_timeout(t0 + secs(400));
    assert!(h.session.is_abandoned() && h.session.is_closed());
    assert_eq!(h.replies(), [], "nothing more is sent");
    assert_eq!(h.action(), Action::Close);
    assert_eq!(h.session.poll_timeout(), None);
    // All written: no deadline of that kind.
    let mut h = Harness::logged_in(Permissions::ALL);
    h.session.handle_write(0, 10);
    h.session.handle_write(10, 0);
    assert_eq!(h.session.poll_timeout(), Some(h.t0 + secs(300)));
}
