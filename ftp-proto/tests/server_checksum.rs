//! The checksum commands in the server machine: `HASH`, `OPTS HASH`, `RANG` and the legacy
//! X-commands, with every reply decided from what the driver reports.

use std::time::Duration;

use ftp_proto::checksum::{Digest, HashAlgorithm, digest};
use ftp_proto::listing::{FileKind, Metadata};
use ftp_proto::server::{FailureKind, TransferKind};
use ftp_proto::{Action, ActionId, Outcome, Permissions, ServerConfig, VirtualPath};

mod harness;

use harness::{Harness, dir, file};

/// The checksum action the last command led to, once the metadata is given.
fn checksum_of(
    h: &mut Harness,
    meta: Metadata,
) -> (ActionId, VirtualPath, HashAlgorithm, u64, u64) {
    h.metadata(meta);
    match h.action() {
        Action::Checksum {
            id,
            path,
            algorithm,
            offset,
            length,
        } => (id, path, algorithm, offset, length),
        other => panic!("expected a checksum, got {other:?}"),
    }
}

fn text(h: &mut Harness) -> Vec<String> {
    h.replies()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.to_bytes()).trim_end().to_owned())
        .collect()
}

#[test]
fn hash_of_a_file_in_the_algorithm_chosen() {
    let mut h = Harness::logged_in(Permissions::READ_ONLY);
    h.cmd("CWD /d");
    h.metadata(dir());
    h.replies();
    h.cmd("HASH my file.bin");
    let (id, path, alg, offset, length) = checksum_of(&mut h, file(50));
    assert_eq!(
        (path.as_bytes(), alg, offset, length),
        (&b"/d/my file.bin"[..], HashAlgorithm::Sha256, 0, 50)
    );
    assert!(h.session.wants_read(), "ABOR must be readable meanwhile");
    let d = digest(HashAlgorithm::Sha256, &[7; 50]);
    h.session
        .handle_outcome(id, Outcome::Checksum(d.clone()))
        .unwrap();
    // The range's end is included (draft-bryan-ftpext-hash §3.2); the name as given.
    assert_eq!(text(&mut h), [format!("213 SHA-256 0-49 {d} my file.bin")]);

    assert_eq!(h.replies_of("OPTS HASH"), "200 SHA-256\r\n");
    assert_eq!(h.replies_of("OPTS HASH md5"), "200 MD5\r\n");
    assert_eq!(
        h.replies_of("OPTS HASH SHA-3"),
        "501 Unknown algorithm, current selection not changed.\r\n"
    );
    assert_eq!(
        h.replies_of("OPTS HASH"),
        "200 MD5\r\n",
        "a refused choice changes nothing"
    );
    h.cmd("HASH empty");
    let (id, _, alg, _, length) = checksum_of(&mut h, file(0));
    assert_eq!((alg, length), (HashAlgorithm::Md5, 0));
    let d = digest(HashAlgorithm::Md5, b"");
    h.session
        .handle_outcome(id, Outcome::Checksum(d.clone()))
        .unwrap();
    assert_eq!(text(&mut h), [format!("213 MD5 0-0 {d} empty")]);
    // FEAT stars the algorithm in use.
    let feat = h.replies_of("FEAT");
    assert!(
        feat.contains(" HASH SHA-256;SHA-512;SHA-1;MD5*;CRC32\r\n"),
        "{feat}"
    );
    assert!(feat.contains(" RANG STREAM\r\n"), "{feat}");
    assert!(
        feat.contains(" XCRC\r\n XMD5\r\n XSHA1\r\n XSHA256\r\n XSHA512\r\n"),
        "{feat}"
    );
}

#[test]
fn refusals_come_from_the_metadata() {
    let mut h = Harness::logged_in(Permissions::READ_ONLY);
    h.cmd("HASH nothing");
    h.metadata_fails(FailureKind::NotFound);
    assert_eq!(h.codes(), [550]);
    h.cmd("HASH dir");
    h.metadata(dir());
    assert_eq!(
        h.codes(),
        [553],
        "a directory has no checksum (the draft's 553)"
    );
    h.cmd("XMD5 dir");
    h.metadata(dir());
    assert_eq!(h.codes(), [550], "ProFTPD's 550 for the X-commands");
    h.no_action();
    h.cmd("XCRC link");
    h.metadata(Metadata::new(FileKind::Symlink, 4));
    assert_eq!(h.codes(), [550], "neither has a link, as with SIZE");
    // A user without read permission learns nothing, and storage is not asked.
    let mut h = Harness::logged_in(Permissions {
        read: false,
        ..Permissions::ALL
    });
    assert_eq!(h.cmd("HASH f"), [550]);
    h.no_action();
    // Not logged in.
    let mut h = Harness::new();
    assert_eq!(h.cmd("HASH f"), [530]);
    assert_eq!(h.cmd("XSHA256 f"), [530]);
}

#[test]
fn size_limit_is_a_policy_refusal() {
    let mut config = ServerConfig::default();
    config.max_hash_size = Some(1000);
    let mut h = Harness::with(config, "127.0.0.1:21", "127.0.0.1:40000");
    h.login(Permissions::READ_ONLY);
    h.cmd("HASH big");
    h.metadata(file(1001));
    assert_eq!(
        text(&mut h),
        ["556 File too large to checksum on this server."]
    );
    h.no_action();
    h.cmd("XCRC big");
    h.metadata(file(1001));
    assert_eq!(h.codes(), [550]);
    h.cmd("TYPE I");
    h.replies();
    // A range within the limit of the same file is fine.
    assert_eq!(h.cmd("RANG 1 1000"), [350]);
    h.cmd("HASH big");
    let (_, _, _, offset, length) = checksum_of(&mut h, file(1001));
    assert_eq!((offset, length), (1, 1000));
}

#[test]
fn rang_sets_the_range_of_the_next_hash_or_retr_only() {
    let mut h = Harness::logged_in(Permissions::ALL);
    assert_eq!(
        h.cmd("RANG 10 19"),
        [551],
        "a range of stored bytes needs TYPE I"
    );
    assert_eq!(h.cmd("TYPE I"), [200]);
    assert_eq!(
        h.replies_of("RANG 10 19"),
        "350 Restarting at 10. Ending at 19.\r\n"
    );
    h.cmd("HASH f");
    let (id, _, _, offset, length) = checksum_of(&mut h, file(100));
    assert_eq!((offset, length), (10, 10));
    let d = digest(HashAlgorithm::Sha256, &[0; 10]);
    h.session
        .handle_outcome(id, Outcome::Checksum(d.clone()))
        .unwrap();
    assert_eq!(text(&mut h), [format!("213 SHA-256 10-19 {d} f")]);
    // Used up: the next HASH is of the whole file.
    h.cmd("HASH f");
    let (id, _, _, offset, length) = checksum_of(&mut h, file(100));
    assert_eq!((offset, length), (0, 100));
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::LocalError))
        .unwrap();
    assert_eq!(h.codes(), [451]);
    // A range past the end is cut at the end; one that starts past it is refused.
    h.cmd("RANG 90 200");
    h.cmd("HASH f");
    let (id, _, _, offset, length) = checksum_of(&mut h, file(100));
    assert_eq!((offset, length), (90, 10));
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    h.replies();
    h.cmd("RANG 101 200");
    h.cmd("HASH f");
    h.metadata(file(100));
    assert_eq!(h.codes(), [501]);
    // RANG 1 0 clears; any other command in between drops it too.
    h.cmd("RANG 5 6");
    assert_eq!(h.cmd("RANG 1 0"), [350]);
    h.cmd("HASH f");
    let (id, _, _, offset, _) = checksum_of(&mut h, file(100));
    assert_eq!(offset, 0);
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    h.replies();
    h.cmd("RANG 5 6");
    assert_eq!(h.cmd("NOOP"), [200]);
    h.cmd("HASH f");
    assert_eq!(checksum_of(&mut h, file(100)).3, 0);
    // Bad ranges.
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("TYPE I");
    assert_eq!(h.cmd("RANG 9 3"), [501]);
    assert_eq!(h.cmd(&format!("RANG 0 {}", u64::MAX)), [501]);
    // RETR takes it as offset and length, ends included, and REST is dropped by it.
    h.epsv();
    h.cmd("REST 4");
    h.cmd("RANG 100 199");
    h.cmd("RETR f");
    assert_eq!(
        h.transfer().kind,
        TransferKind::Retrieve {
            offset: 100,
            length: Some(100)
        }
    );
    // An upload is refused rather than turned into a plain STOR (which would truncate).
    let mut h = Harness::logged_in(Permissions::ALL);
    h.cmd("TYPE I");
    h.epsv();
    h.cmd("RANG 0 9");
    assert_eq!(h.cmd("STOR f"), [504]);
    h.no_action();
    h.cmd("RANG 0 9");
    assert_eq!(h.cmd("APPE f"), [504]);
    assert_eq!(
        h.cmd("STOR f"),
        Vec::<u16>::new(),
        "the range is gone: a plain STOR"
    );
    assert!(matches!(h.transfer().kind, TransferKind::Store { .. }));
}

#[test]
fn legacy_commands_answer_250_hex() {
    let mut h = Harness::logged_in(Permissions::READ_ONLY);
    for (line, alg, offset, length) in [
        ("XCRC f", HashAlgorithm::Crc32, 0, 64),
        ("XMD5 f", HashAlgorithm::Md5, 0, 64),
        ("XSHA1 f", HashAlgorithm::Sha1, 0, 64),
        ("XSHA256 f 8 16", HashAlgorithm::Sha256, 8, 8),
        ("XSHA512 \"f\" 60", HashAlgorithm::Sha512, 0, 60),
    ] {
        h.cmd(line);
        let (id, _, got, o, l) = checksum_of(&mut h, file(64));
        assert_eq!((got, o, l), (alg, offset, length), "{line}");
        let d = digest(alg, &[1; 3]);
        h.session
            .handle_outcome(id, Outcome::Checksum(d.clone()))
            .unwrap();
        let hex = d.to_hex().to_ascii_uppercase();
        assert_eq!(text(&mut h), [format!("250 {hex}")], "{line}");
    }
    // The X-commands do not change the algorithm of HASH.
    assert_eq!(h.replies_of("OPTS HASH"), "200 SHA-256\r\n");
    assert_eq!(
        h.cmd("XCRC f 9 3"),
        [501],
        "the range ends before it starts"
    );
    // A digest of the wrong length is the driver's error, never shown as a checksum.
    h.cmd("XCRC f");
    let (id, ..) = checksum_of(&mut h, file(64));
    h.session
        .handle_outcome(id, Outcome::Checksum(Digest::new(vec![0; 3])))
        .unwrap();
    assert_eq!(h.codes(), [451]);
}

#[test]
fn abor_quit_and_stall_during_a_checksum() {
    let mut config = ServerConfig::default();
    config.data_stall_timeout = Duration::from_secs(30);
    let mut h = Harness::with(config, "127.0.0.1:21", "127.0.0.1:40000");
    h.login(Permissions::READ_ONLY);
    h.cmd("HASH f");
    let (id, ..) = checksum_of(&mut h, file(1 << 30));
    assert_eq!(
        h.cmd("PWD"),
        Vec::<u16>::new(),
        "held until the checksum ends"
    );
    assert_eq!(h.cmd("ABOR"), Vec::<u16>::new());
    assert_eq!(h.action(), Action::Abort { id });
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    assert_eq!(
        text(&mut h),
        [
            "426 Checksum aborted.",
            "226 ABOR successful.",
            "257 \"/\" is the current directory"
        ]
    );

    // Progress keeps it alive; silence past the stall timeout aborts it.
    h.cmd("HASH f");
    let (id, ..) = checksum_of(&mut h, file(1 << 30));
    let t = h.t0 + Duration::from_secs(20);
    h.session.handle_timeout(t);
    h.session
        .handle_outcome(id, Outcome::TransferProgress)
        .unwrap();
    h.session.handle_timeout(t + Duration::from_secs(29));
    h.no_action();
    h.session.handle_timeout(t + Duration::from_secs(31));
    assert_eq!(h.action(), Action::Abort { id });
    h.session
        .handle_outcome(id, Outcome::Failed(FailureKind::Aborted))
        .unwrap();
    assert_eq!(text(&mut h), ["451 Storage stalled; checksum aborted."]);

    // QUIT waits for the checksum's reply.
    h.cmd("HASH f");
    let (id, ..) = checksum_of(&mut h, file(3));
    assert_eq!(h.cmd("QUIT"), Vec::<u16>::new());
    let d = digest(HashAlgorithm::Sha256, b"abc");
    h.session.handle_outcome(id, Outcome::Checksum(d)).unwrap();
    assert_eq!(h.codes(), [213, 221]);
    assert!(h.session.is_closed());
}

#[test]
fn off_when_the_driver_has_no_checksums() {
    let mut config = ServerConfig::default();
    config.features.hash = false;
    let mut h = Harness::with(config, "127.0.0.1:21", "127.0.0.1:40000");
    h.login(Permissions::READ_ONLY);
    for line in ["HASH f", "XCRC f", "XSHA256 f", "RANG 0 1"] {
        assert_eq!(h.cmd(line), [502], "{line}");
    }
    assert_eq!(h.cmd("OPTS HASH"), [501]);
    let feat = h.replies_of("FEAT");
    assert!(!feat.contains("HASH") && !feat.contains("RANG"), "{feat}");
    let help = h.replies_of("HELP");
    assert!(!help.contains("HASH") && !help.contains("XCRC"), "{help}");
}
