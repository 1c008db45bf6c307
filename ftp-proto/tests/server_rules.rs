//! The server machine's rules that once lived in the driver, and its deadlines: access
//! (the upload-only directory), what listings and `STAT path` send, over-limit refusals, `STOU`
//! names, data peers, and every timeout.

use std::time::{Duration, Instant};

use ftp_proto::listing::{DirEntry, FileKind, ListFormat, Metadata};
use ftp_proto::server::{
    DataEndpoint, FailureKind, ListSource, TransferKind, WriteMode, unique_name,
};
use ftp_proto::{
    Action, ConnectionInfo, Outcome, Permissions, ServerConfig, ServerConnection, Timestamp,
    UserAccess, VirtualPath,
};

mod harness;

use harness::{Harness, dir, file};

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
    let create = TransferKind::Store {
        mode: WriteMode::CreateNew,
    };
    for (line, kind) in [
        ("STOR f", create.clone()),
        ("APPE f", create),
        ("STOU", TransferKind::StoreUnique),
    ] {
        h.epsv();
        assert_eq!(h.cmd(line), Vec::<u16>::new(), "{line}");
        let t = h.transfer();
        assert_eq!(t.kind, kind, "{line}");
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
    // MLSD of a file: 550 (RFC 3659 §7.1). A transfer refused before its 150 leaves the data
    // channel set up for the next one (as vsftpd and pyftpdlib do), the listing too.
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    assert_eq!(h.codes(), [426]);
    h.cmd("MLSD a.txt");
    h.metadata(file(1));
    assert_eq!(h.codes(), [550]);
    h.no_action();
    // Missing: 550, the data channel kept.
    h.cmd("LIST missing");
    h.metadata_fails(FailureKind::NotFound);
    assert_eq!(h.codes(), [550]);
    h.no_action();
    // A link: listed as a directory when it leads to one, else as its one entry; MLSD of a
    // link to a file is refused as MLSD of a file is.
    for (probe, directory) in [
        (Outcome::Done, true),
        (Outcome::Failed(FailureKind::NotADirectory), false),
    ] {
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
    h.cmd("MLSD link");
    h.metadata(Metadata::new(FileKind::Symlink, 0));
    let Action::ProbeDirectory { id, .. } = h.action() else {
        panic!()
    };
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::NotADirectory))
        .unwrap();
    assert_eq!(h.codes(), [550]);
    h.no_action();
    // A transfer that started (its 150 sent) and failed uses its data channel up.
    h.cmd("RETR a.txt");
    let t = h.transfer();
    h.session
        .handle_outcome(t.id, Outcome::TransferStarting { unique_name: None })
        .unwrap();
    assert_eq!(h.codes(), [150]);
    assert_eq!(h.action(), Action::StartData { id: t.id });
    h.session
        .handle_outcome(t.id, Outcome::Failed(FailureKind::DataConnectionFailed))
        .unwrap();
    assert_eq!(h.codes(), [425]);
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
    h.metadata_fails(FailureKind::NotFound);
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
    assert_eq!(t.kind, TransferKind::StoreUnique);
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
