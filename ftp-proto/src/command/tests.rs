//! Known answers of the command grammar, both ways.

use std::net::Ipv4Addr;

use super::*;

fn arg(s: &str) -> Arg<'_> {
    Arg::try_from(s).unwrap()
}

/// Parses both ways, borrowing and owning, and checks that they agree.
fn parse(s: &[u8]) -> Result<Command<'_>, ParseError> {
    let borrowed = Command::parse(s);
    assert_eq!(
        borrowed,
        Command::parse_owned(Bytes::copy_from_slice(s)),
        "{s:?}"
    );
    borrowed
}

fn kind(s: &[u8]) -> ParseErrorKind {
    parse(s).unwrap_err().kind
}

/// Known answers both ways: the line parses to the value, and the value encodes to the line.
#[test]
fn known_answers() {
    let v4 = |a, b, c, d, p| SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), p);
    let table: Vec<(&[u8], Command<'_>)> = vec![
        (b"USER bench", Command::User(arg("bench"))),
        (
            b"PASS hunter 2",
            Command::Pass(Secret::new(arg("hunter 2"))),
        ),
        (b"ACCT acme", Command::Acct(Secret::new(arg("acme")))),
        (
            b"CWD /pub/with spaces ",
            Command::Cwd(arg("/pub/with spaces ")),
        ),
        (b"CDUP", Command::Cdup),
        (b"SMNT /mnt", Command::Smnt(arg("/mnt"))),
        (b"REIN", Command::Rein),
        (b"QUIT", Command::Quit),
        (
            b"PORT 127,0,0,1,82,98",
            Command::Port(v4(127, 0, 0, 1, 21090)),
        ),
        (b"PASV", Command::Pasv),
        (
            b"TYPE A",
            Command::Type(TransferType::Ascii(FormatControl::NonPrint)),
        ),
        (
            b"TYPE A T",
            Command::Type(TransferType::Ascii(FormatControl::Telnet)),
        ),
        (
            b"TYPE E C",
            Command::Type(TransferType::Ebcdic(FormatControl::Asa)),
        ),
        (b"TYPE I", Command::Type(TransferType::Image)),
        (b"TYPE L 8", Command::Type(TransferType::Local(8))),
        (b"STRU F", Command::Stru(Structure::File)),
        (b"STRU R", Command::Stru(Structure::Record)),
        (b"MODE S", Command::Mode(TransferMode::Stream)),
        (b"MODE B", Command::Mode(TransferMode::Block)),
        (
            b"RETR r\xc3\xa9sum\xc3\xa9 \xc3\xbcn\xc3\xaf.txt",
            Command::Retr(arg("résumé ünï.txt")),
        ),
        (b"STOR a b", Command::Stor(arg("a b"))),
        (b"STOU", Command::Stou(None)),
        (b"STOU base", Command::Stou(Some(arg("base")))),
        (b"APPE log", Command::Appe(arg("log"))),
        (
            b"ALLO 1024",
            Command::Allo {
                size: 1024,
                record: None,
            },
        ),
        (
            b"ALLO 1024 R 80",
            Command::Allo {
                size: 1024,
                record: Some(80),
            },
        ),
        (b"REST 18446744073709551615", Command::Rest(u64::MAX)),
        (b"RNFR old", Command::Rnfr(arg("old"))),
        (b"RNTO new", Command::Rnto(arg("new"))),
        (b"ABOR", Command::Abor),
        (b"DELE x", Command::Dele(arg("x"))),
        (b"RMD d", Command::Rmd(arg("d"))),
        (b"MKD d", Command::Mkd(arg("d"))),
        (b"PWD", Command::Pwd),
        (b"LIST", Command::List(ListArgs::default())),
        (
            b"LIST -la",
            Command::List(ListArgs {
                flags: Some(arg("-la")),
                path: None,
            }),
        ),
        (
            b"LIST -l -a /pub",
            Command::List(ListArgs {
                flags: Some(arg("-l -a")),
                path: Some(arg("/pub")),
            }),
        ),
        (
            b"LIST pub dir",
            Command::List(ListArgs {
                flags: None,
                path: Some(arg("pub dir")),
            }),
        ),
        (
            b"NLST -a x",
            Command::Nlst(ListArgs {
                flags: Some(arg("-a")),
                path: Some(arg("x")),
            }),
        ),
        (b"SITE CHMOD 644 x", Command::Site(arg("CHMOD 644 x"))),
        (b"SYST", Command::Syst),
        (b"STAT", Command::Stat(None)),
        (b"STAT /pub", Command::Stat(Some(arg("/pub")))),
        (b"HELP", Command::Help(None)),
        (b"HELP RETR", Command::Help(Some(arg("RETR")))),
        (b"NOOP", Command::Noop),
        (b"AUTH TLS", Command::Auth(arg("TLS"))),
        (b"PBSZ 0", Command::Pbsz(0)),
        (b"PROT P", Command::Prot(ProtectionLevel::Private)),
        (b"PROT C", Command::Prot(ProtectionLevel::Clear)),
        (b"CCC", Command::Ccc),
        (b"FEAT", Command::Feat),
        (
            b"OPTS UTF8 ON",
            Command::Opts(Opts {
                name: Verb::new("UTF8").unwrap(),
                value: Some(arg("ON")),
            }),
        ),
        (
            b"OPTS MLST type;size;",
            Command::Opts(Opts {
                name: Verb::new("MLST").unwrap(),
                value: Some(arg("type;size;")),
            }),
        ),
        (
            b"EPRT |1|132.235.1.2|6275|",
            Command::Eprt("132.235.1.2:6275".parse().unwrap()),
        ),
        (
            b"EPRT |2|1080::8:800:200c:417a|5282|",
            Command::Eprt("[1080::8:800:200c:417a]:5282".parse().unwrap()),
        ),
        (b"EPSV", Command::Epsv(None)),
        (b"EPSV ALL", Command::Epsv(Some(EpsvArg::All))),
        (b"EPSV 2", Command::Epsv(Some(EpsvArg::Protocol(2)))),
        (b"LANG", Command::Lang(None)),
        (b"LANG fr-FR", Command::Lang(Some(arg("fr-FR")))),
        (b"SIZE big-sparse.bin", Command::Size(arg("big-sparse.bin"))),
        (b"MDTM old.txt", Command::Mdtm(arg("old.txt"))),
        (b"MLST", Command::Mlst(None)),
        (b"MLST subdir", Command::Mlst(Some(arg("subdir")))),
        (b"MLSD", Command::Mlsd(None)),
        (
            b"HOST ftp.example.com",
            Command::Host(arg("ftp.example.com")),
        ),
        (b"XPWD", Command::Xpwd),
        (b"XCWD a", Command::Xcwd(arg("a"))),
        (b"XCUP", Command::Xcup),
        (b"XMKD a", Command::Xmkd(arg("a"))),
        (b"XRMD a", Command::Xrmd(arg("a"))),
        (
            b"MFMT 20261124082839 with spaces.txt",
            Command::Mfmt {
                time: Timestamp::parse(b"20261124082839").unwrap(),
                path: arg("with spaces.txt"),
            },
        ),
        (b"HASH my file.iso", Command::Hash(arg("my file.iso"))),
        (b"RANG 0 49", Command::Rang { start: 0, end: 49 }),
        (b"RANG 1 0", Command::Rang { start: 1, end: 0 }),
        (
            b"XCRC file.bin",
            Command::XChecksum {
                algorithm: HashAlgorithm::Crc32,
                path: arg("file.bin"),
                range: None,
            },
        ),
        (
            b"XSHA256 two words.txt",
            Command::XChecksum {
                algorithm: HashAlgorithm::Sha256,
                path: arg("two words.txt"),
                range: None,
            },
        ),
        (
            b"XMD5 a 10 20",
            Command::XChecksum {
                algorithm: HashAlgorithm::Md5,
                path: arg("a"),
                range: Some((10, 20)),
            },
        ),
        (
            b"XSHA1 a b 0 5",
            Command::XChecksum {
                algorithm: HashAlgorithm::Sha1,
                path: arg("a b"),
                range: Some((0, 5)),
            },
        ),
        // An all-space name is quoted: bare, it would read as no argument (a fuzzer found
        // the encoder writing it bare).
        (
            b"XSHA256 \"   \"",
            Command::XChecksum {
                algorithm: HashAlgorithm::Sha256,
                path: arg("   "),
                range: None,
            },
        ),
        (
            b"XSHA512 x",
            Command::XChecksum {
                algorithm: HashAlgorithm::Sha512,
                path: arg("x"),
                range: None,
            },
        ),
        (
            b"XYZZY plugh",
            Command::Unknown {
                verb: Verb::new("XYZZY").unwrap(),
                arg: Some(arg("plugh")),
            },
        ),
        (
            b"CLNT",
            Command::Unknown {
                verb: Verb::new("CLNT").unwrap(),
                arg: None,
            },
        ),
    ];
    for (line, cmd) in table {
        assert_eq!(
            parse(line).as_ref(),
            Ok(&cmd),
            "parsing {}",
            String::from_utf8_lossy(line)
        );
        let mut wire = line.to_vec();
        wire.extend_from_slice(b"\r\n");
        assert_eq!(
            String::from_utf8_lossy(&cmd.to_bytes()),
            String::from_utf8_lossy(&wire),
            "encoding {cmd:?}"
        );
    }
}

#[test]
fn verbs_are_case_insensitive_and_trailing_spaces_ignored() {
    assert_eq!(parse(b"user bench"), Ok(Command::User(arg("bench"))));
    assert_eq!(parse(b"pAsV "), Ok(Command::Pasv));
    assert_eq!(parse(b"type i"), Ok(Command::Type(TransferType::Image)));
    assert_eq!(parse(b"TYPE L8"), Ok(Command::Type(TransferType::Local(8))));
    assert_eq!(parse(b"epsv all"), Ok(Command::Epsv(Some(EpsvArg::All))));
    assert_eq!(parse(b"PASS"), Ok(Command::Pass(Secret::default())));
    assert_eq!(
        parse(b"EPRT !1!10.0.0.1!2121!"),
        Ok(Command::Eprt("10.0.0.1:2121".parse().unwrap()))
    );
    assert_eq!(parse(b"xyzzy").unwrap().verb(), "xyzzy");
}

#[test]
fn errors_pick_the_right_reply() {
    let code = |s: &[u8]| parse(s).unwrap_err().reply_code().as_u16();
    assert_eq!(kind(b""), ParseErrorKind::Empty);
    assert_eq!(code(b""), 500);
    assert_eq!(kind(b" USER"), ParseErrorKind::InvalidVerb);
    assert_eq!(kind(b"US\x00ER a"), ParseErrorKind::InvalidVerb);
    assert_eq!(code(b"\xffUSER"), 500);
    assert_eq!(kind(b"RETR"), ParseErrorKind::MissingArgument);
    assert_eq!(kind(b"RETR   "), ParseErrorKind::MissingArgument);
    assert_eq!(kind(b"PWD now"), ParseErrorKind::UnexpectedArgument);
    assert_eq!(
        parse(b"RETR a\x00b").unwrap_err(),
        ParseError {
            kind: ParseErrorKind::InvalidByte(0),
            offset: 6
        }
    );
    assert_eq!(code(b"RETR a\rb"), 501);
    assert_eq!(code(b"PORT 1,2,3"), 501);
    assert_eq!(code(b"PORT 127,0,0,1,256,1"), 501);
    assert_eq!(code(b"REST -1"), 501);
    assert_eq!(code(b"REST 99999999999999999999"), 501);
    assert_eq!(code(b"TYPE X"), 504);
    assert_eq!(code(b"TYPE A Q"), 504);
    assert_eq!(code(b"TYPE AB"), 501);
    assert_eq!(code(b"TYPE L"), 501);
    assert_eq!(code(b"MODE Z"), 504);
    assert_eq!(code(b"STRU FF"), 501);
    assert_eq!(code(b"PROT Q"), 504);
    assert_eq!(code(b"EPRT |3|x|1|"), 522);
    assert_eq!(code(b"EPRT |1|::1|21|"), 501);
    assert_eq!(code(b"EPSV x"), 501);
    assert_eq!(code(b"MFMT 2026 x"), 501);
    assert_eq!(code(b"MFMT 20261124082839"), 501);
}

/// What only parses one way: the unquoted forms of the legacy checksum commands, and bad
/// ranges.
#[test]
fn checksum_commands_read_as_clients_send_them() {
    let x = |line: &'static [u8]| match parse(line) {
        Ok(Command::XChecksum {
            algorithm,
            path,
            range,
        }) => (algorithm, path, range),
        other => panic!("{other:?}"),
    };
    // ProFTPD's form: a path, then the start and the end.
    assert_eq!(
        x(b"xcrc dir/file.bin 0 1024"),
        (HashAlgorithm::Crc32, arg("dir/file.bin"), Some((0, 1024)))
    );
    // A name with spaces and no range stays one name; so does a name ending in one number.
    assert_eq!(
        x(b"XMD5 my file 2"),
        (HashAlgorithm::Md5, arg("my file 2"), None)
    );
    assert_eq!(
        x(b"XMD5 my file 2 3"),
        (HashAlgorithm::Md5, arg("my file"), Some((2, 3)))
    );
    assert_eq!(x(b"XSHA256 1 2"), (HashAlgorithm::Sha256, arg("1 2"), None));
    // GlobalSCAPE's form: the path quoted, one number the end.
    assert_eq!(
        x(b"XCRC \"/a b/c.exe\" 42575"),
        (HashAlgorithm::Crc32, arg("/a b/c.exe"), Some((0, 42575)))
    );
    // FlashFXP's form: the path quoted.
    assert_eq!(
        x(b"XSHA256 \"two words 1 2\""),
        (HashAlgorithm::Sha256, arg("two words 1 2"), None)
    );
    assert_eq!(kind(b"XCRC"), ParseErrorKind::MissingArgument);
    assert_eq!(kind(b"XCRC \"unclosed"), ParseErrorKind::InvalidArgument);
    assert_eq!(kind(b"XCRC \"a\" x"), ParseErrorKind::InvalidArgument);
    assert_eq!(kind(b"XCRC \"\""), ParseErrorKind::MissingArgument);
    assert_eq!(kind(b"RANG 5"), ParseErrorKind::InvalidArgument);
    assert_eq!(kind(b"RANG a b"), ParseErrorKind::InvalidArgument);
    assert_eq!(kind(b"HASH"), ParseErrorKind::MissingArgument);
}

#[test]
fn display_redacts_passwords() {
    let cmd = parse(b"PASS hunter2").unwrap();
    assert_eq!(cmd.to_string(), "PASS <redacted>");
    assert!(!format!("{cmd:?}").contains("hunter2"));
    assert_eq!(parse(b"RETR a b").unwrap().to_string(), "RETR a b");
}

#[test]
fn arguments_share_the_line_buffer() {
    let line = Bytes::from_static(b"RETR some/long/path.bin");
    let Ok(Command::Retr(a)) = Command::parse_owned(line.clone()) else {
        panic!()
    };
    assert_eq!(a.as_bytes().as_ptr(), line[5..].as_ptr());
}

#[test]
fn borrowed_arguments_point_into_the_line_until_owned() {
    let line = b"LIST -la /pub/some dir".to_vec();
    let Ok(Command::List(args)) = Command::parse(&line[..]) else {
        panic!()
    };
    let path = args.path.clone().unwrap();
    assert_eq!(path.as_bytes().as_ptr(), line[9..].as_ptr());
    let owned: ListArgs<'static> = args.clone().into_owned();
    let owned_path = owned.path.as_ref().unwrap();
    assert_ne!(owned_path.as_bytes().as_ptr(), line[9..].as_ptr());
    assert_eq!(owned, args);
    assert_eq!(owned_path.as_bytes(), b"/pub/some dir");
    assert_eq!(owned.flags.unwrap().as_bytes(), b"-la");
    let unknown = Command::parse(&b"SITE2 x"[..]).unwrap().into_owned();
    assert_eq!(unknown.verb(), "SITE2");
}
