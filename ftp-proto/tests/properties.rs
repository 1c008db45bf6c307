//! Property tests: wire round trips for commands, replies and addresses, and arbitrary bytes
//! through every parser and both connection machines without a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use bytes::BytesMut;
use ftp_proto::address::{
    epsv_reply, format_eprt, format_port, parse_eprt, parse_epsv_reply, parse_pasv_reply,
    parse_port, pasv_reply,
};
use ftp_proto::checksum::HashAlgorithm;
use ftp_proto::listing::{FileKind, Metadata};
use ftp_proto::{
    Action, Arg, ClientConnection, Command, ConnectionInfo, EpsvArg, FormatControl, LineDecoder,
    ListArgs, Opts, Outcome, Permissions, ProtectionLevel, Reply, ReplyCode, ReplyDecoder,
    ReplyDecoderConfig, Secret, ServerConfig, ServerConnection, Structure, Timestamp, TransferMode,
    TransferType, Verb, VirtualPath,
};
use proptest::prelude::*;

/// Argument bytes: anything but CR, LF and NUL, with at least one byte that is not a space
/// (an all-blank argument reads as no argument).
fn arg() -> impl Strategy<Value = Arg<'static>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no line ends", |b| !matches!(b, b'\r' | b'\n' | 0)),
        0..40,
    )
    .prop_map(|mut v| {
        v.push(b'x');
        let half = v.len() / 2;
        v.rotate_right(half);
        Arg::try_from(v).unwrap()
    })
}

/// A path argument that does not start with `-` (a LIST flag) or a space.
fn list_path() -> impl Strategy<Value = Arg<'static>> {
    arg().prop_map(|a| {
        let mut v = a.as_bytes().to_vec();
        v.insert(0, b'p');
        Arg::try_from(v).unwrap()
    })
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (1970u64..4_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| Timestamp::from_unix(s, n).unwrap())
}

/// Addresses with a port a data connection can use (port 0 is malformed in PORT and EPRT).
fn socket_v4() -> impl Strategy<Value = SocketAddrV4> {
    (any::<u32>(), 1..=u16::MAX).prop_map(|(ip, port)| SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn socket() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        socket_v4().prop_map(SocketAddr::V4),
        (any::<u128>(), 1..=u16::MAX)
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

fn command() -> impl Strategy<Value = Command<'static>> {
    let form = prop_oneof![
        Just(FormatControl::NonPrint),
        Just(FormatControl::Telnet),
        Just(FormatControl::Asa)
    ];
    let opt_arg = || proptest::option::of(arg());
    let list_args = || {
        let flags = "-[a-zA-Z]{1,3}( -[a-z]{1,2})?".prop_map(|s| Arg::try_from(s).unwrap());
        (
            proptest::option::of(flags),
            proptest::option::of(list_path()),
        )
            .prop_map(|(flags, path)| ListArgs { flags, path })
    };
    prop_oneof![
        arg().prop_map(Command::User),
        proptest::option::of(arg()).prop_map(|a| Command::Pass(Secret::new(a.unwrap_or_default()))),
        arg().prop_map(|a| Command::Acct(Secret::new(a))),
        arg().prop_map(Command::Cwd),
        arg().prop_map(Command::Smnt),
        socket_v4().prop_map(Command::Port),
        prop_oneof![
            form.clone().prop_map(TransferType::Ascii),
            form.prop_map(TransferType::Ebcdic),
            Just(TransferType::Image),
            any::<u8>().prop_map(TransferType::Local),
        ]
        .prop_map(Command::Type),
        prop_oneof![
            Just(Structure::File),
            Just(Structure::Record),
            Just(Structure::Page)
        ]
        .prop_map(Command::Stru),
        prop_oneof![
            Just(TransferMode::Stream),
            Just(TransferMode::Block),
            Just(TransferMode::Compressed)
        ]
        .prop_map(Command::Mode),
        arg().prop_map(Command::Retr),
        arg().prop_map(Command::Stor),
        opt_arg().prop_map(Command::Stou),
        arg().prop_map(Command::Appe),
        (any::<u64>(), proptest::option::of(any::<u64>()))
            .prop_map(|(size, record)| Command::Allo { size, record }),
        any::<u64>().prop_map(Command::Rest),
        arg().prop_map(Command::Rnfr),
        arg().prop_map(Command::Rnto),
        arg().prop_map(Command::Dele),
        arg().prop_map(Command::Rmd),
        arg().prop_map(Command::Mkd),
        list_args().prop_map(Command::List),
        list_args().prop_map(Command::Nlst),
        arg().prop_map(Command::Site),
        opt_arg().prop_map(Command::Stat),
        opt_arg().prop_map(Command::Help),
        arg().prop_map(Command::Auth),
        any::<u64>().prop_map(Command::Pbsz),
        prop_oneof![
            Just(ProtectionLevel::Clear),
            Just(ProtectionLevel::Safe),
            Just(ProtectionLevel::Confidential),
            Just(ProtectionLevel::Private)
        ]
        .prop_map(Command::Prot),
        ("[A-Z0-9]{1,8}", opt_arg()).prop_map(|(n, value)| Command::Opts(Opts {
            name: Verb::new(n).unwrap(),
            value
        })),
        socket().prop_map(Command::Eprt),
        prop_oneof![
            Just(None),
            Just(Some(EpsvArg::All)),
            any::<u16>().prop_map(|n| Some(EpsvArg::Protocol(n)))
        ]
        .prop_map(Command::Epsv),
        opt_arg().prop_map(Command::Lang),
        arg().prop_map(Command::Size),
        arg().prop_map(Command::Mdtm),
        opt_arg().prop_map(Command::Mlst),
        opt_arg().prop_map(Command::Mlsd),
        arg().prop_map(Command::Host),
        arg().prop_map(Command::Xcwd),
        arg().prop_map(Command::Xmkd),
        arg().prop_map(Command::Xrmd),
        (timestamp(), arg()).prop_map(|(time, path)| Command::Mfmt { time, path }),
        arg().prop_map(Command::Hash),
        (any::<u64>(), any::<u64>()).prop_map(|(start, end)| Command::Rang { start, end }),
        (
            prop::sample::select(&HashAlgorithm::ALL[..]),
            arg().prop_filter("quotes end a quoted path", |a| !a
                .as_bytes()
                .contains(&b'"')),
            proptest::option::of((any::<u64>(), any::<u64>())),
        )
            .prop_map(|(algorithm, path, range)| Command::XChecksum {
                algorithm,
                path,
                range
            }),
        ("[A-Z][A-Z0-9!-~]{4,9}", opt_arg()).prop_map(|(v, arg)| Command::Unknown {
            verb: Verb::new(v).unwrap(),
            arg
        }),
        prop_oneof![
            Just(Command::Cdup),
            Just(Command::Rein),
            Just(Command::Quit),
            Just(Command::Pasv),
            Just(Command::Abor),
            Just(Command::Pwd),
            Just(Command::Syst),
            Just(Command::Noop),
            Just(Command::Ccc),
            Just(Command::Feat),
            Just(Command::Xpwd),
            Just(Command::Xcup),
        ],
    ]
}

/// Every verb the parser knows, and a few it does not.
const VERBS: &[&str] = &[
    "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "REIN", "QUIT", "PORT", "PASV", "TYPE", "STRU",
    "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR", "DELE", "RMD",
    "MKD", "PWD", "LIST", "NLST", "SITE", "SYST", "STAT", "HELP", "NOOP", "AUTH", "PBSZ", "PROT",
    "CCC", "FEAT", "OPTS", "EPRT", "EPSV", "LANG", "SIZE", "MDTM", "MLST", "MLSD", "HOST", "XPWD",
    "XCWD", "XCUP", "XMKD", "XRMD", "MFMT", "HASH", "RANG", "XCRC", "XMD5", "XSHA1", "XSHA256",
    "XSHA512", "xsha1", "XYZ", "ABCD", "XYZZY", "retr", "List",
];

/// Command lines as a client might send them: a verb, then nothing, or a space and an argument
/// drawn from bytes that matter to some grammar (spaces, `-`, digits, `,`, `|`, 0xFF, ...).
fn command_line() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(&b" -,|.:0123456789aAlLiIeEnNtTcCsSrRpP;="[..]),
        1 => any::<u8>().prop_filter("no line ends", |b| !matches!(b, b'\r' | b'\n' | 0)),
    ];
    (
        prop::sample::select(VERBS),
        proptest::option::of(proptest::collection::vec(byte, 0..24)),
    )
        .prop_map(|(verb, arg)| {
            let mut line = verb.as_bytes().to_vec();
            if let Some(arg) = arg {
                line.push(b' ');
                line.extend(arg);
            }
            line
        })
}

fn reply() -> impl Strategy<Value = Reply> {
    let line = proptest::collection::vec(
        any::<u8>().prop_filter("no line ends", |b| *b != b'\r' && *b != b'\n'),
        0..30,
    );
    (100u16..600, proptest::collection::vec(line, 1..6))
        .prop_map(|(code, lines)| Reply::multiline(ReplyCode::new(code).unwrap(), lines).unwrap())
}

/// Control-connection bytes: mostly pieces that matter to framing and replies (line ends,
/// Telnet commands, reply codes), with arbitrary bytes and runs long enough to pass a limit.
fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            &b"\r\n"[..], b"\n", b"\r", b"\xff", b"\xff\xff", b"\xff\xf4", b"\xff\xfd",
            b"\xff\xfa", b"\xff\xf0", b"211-", b"211 ", b"211", b"200 ok", b"230-",
            b"220 ", b" text", b"12", b"x",
        ]).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
        1 => (1usize..90, prop::sample::select(&b"a \n"[..])).prop_map(|(n, b)| vec![b; n]),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// Where to cut a stream into chunks.
fn cut_points() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    proptest::collection::vec(any::<prop::sample::Index>(), 0..12)
}

/// `input` cut at `cuts` into consecutive chunks that together are all of it.
fn chunks<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut from = 0;
    points
        .into_iter()
        .map(|to| {
            let chunk = &input[from..to];
            from = to;
            chunk
        })
        .collect()
}

/// Frames `wire` with a fresh line decoder and parses the one line in it.
fn through_the_wire(wire: &[u8]) -> Command<'static> {
    let mut buf = BytesMut::from(wire);
    let line = LineDecoder::default().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    Command::parse_owned(line).unwrap()
}

/// The values `Command`'s doc names as not round-tripping, and what they come back as, so the
/// doc cannot drift from the code.
#[test]
fn documented_exceptions_to_round_trips() {
    use ftp_proto::ParseErrorKind;
    let a = |s: &str| Arg::try_from(s).unwrap();
    let list = |flags: Option<&str>, path: Option<&str>| ListArgs {
        flags: flags.map(a),
        path: path.map(a),
    };
    let back = |cmd: &Command<'_>| {
        let mut buf = BytesMut::from(&cmd.to_bytes()[..]);
        let line = LineDecoder::default().decode(&mut buf).unwrap().unwrap();
        Command::parse_owned(line)
    };
    let missing = |cmd: Command<'_>| {
        assert_eq!(
            back(&cmd).map_err(|e| e.kind),
            Err(ParseErrorKind::MissingArgument),
            "{cmd:?}"
        );
    };
    missing(Command::Retr(Arg::default()));
    missing(Command::Retr(a("   ")));
    missing(Command::Acct(Secret::new(Arg::default())));
    missing(Command::Mfmt {
        time: Timestamp::from_unix(0, 0).unwrap(),
        path: Arg::default(),
    });
    let cases = [
        (Command::Stat(Some(Arg::default())), Command::Stat(None)),
        (Command::Help(Some(a("  "))), Command::Help(None)),
        (
            Command::Opts(Opts {
                name: Verb::new("UTF8").unwrap(),
                value: Some(a("  ")),
            }),
            Command::Opts(Opts {
                name: Verb::new("UTF8").unwrap(),
                value: None,
            }),
        ),
        (
            Command::Unknown {
                verb: Verb::new("RETR").unwrap(),
                arg: Some(a("f")),
            },
            Command::Retr(a("f")),
        ),
        (
            Command::Unknown {
                verb: Verb::new("XYZ").unwrap(),
                arg: Some(Arg::default()),
            },
            Command::Unknown {
                verb: Verb::new("XYZ").unwrap(),
                arg: None,
            },
        ),
        (
            Command::List(list(Some("la"), None)),
            Command::List(list(None, Some("la"))),
        ),
        (
            Command::List(list(None, Some("-name"))),
            Command::List(list(Some("-name"), None)),
        ),
        (
            Command::List(list(Some("-l"), Some("-name"))),
            Command::List(list(Some("-l -name"), None)),
        ),
        (
            Command::List(list(Some("-l"), Some(" name"))),
            Command::List(list(Some("-l"), Some("name"))),
        ),
        (
            Command::Nlst(list(Some("-l name"), None)),
            Command::Nlst(list(Some("-l"), Some("name"))),
        ),
        (
            Command::Nlst(list(Some("-l "), None)),
            Command::Nlst(list(Some("-l"), None)),
        ),
        (
            Command::List(list(Some(""), None)),
            Command::List(list(None, None)),
        ),
        (
            Command::Eprt("[fe80::1%7]:5000".parse().unwrap()),
            Command::Eprt("[fe80::1]:5000".parse().unwrap()),
        ),
    ];
    for (sent, received) in cases {
        assert_eq!(back(&sent), Ok(received), "{sent:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn command_round_trip(cmd in command()) {
        prop_assert_eq!(through_the_wire(&cmd.to_bytes()), cmd);
    }

    /// What the doc of `Command` promises: every value `parse` returns encodes to a line that
    /// parses back to the same value.
    #[test]
    fn parsed_commands_round_trip(line in command_line()) {
        // The borrowing parse and the owning one read every line alike.
        let borrowed = Command::parse(&line[..]);
        prop_assert_eq!(&borrowed, &Command::parse_owned(line.clone()));
        prop_assert_eq!(borrowed.clone().map(Command::into_owned), borrowed.clone());
        if let Ok(cmd) = Command::parse_owned(line.clone()) {
            prop_assert_eq!(
                through_the_wire(&cmd.to_bytes()),
                cmd,
                "line {:?}",
                String::from_utf8_lossy(&line)
            );
        }
    }

    #[test]
    fn reply_round_trip_split_anywhere(replies in proptest::collection::vec(reply(), 1..4), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let mut wire = BytesMut::new();
        for r in &replies {
            r.encode(&mut wire);
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.push(wire.len());
        points.sort_unstable();
        let mut dec = ReplyDecoder::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut from = 0;
        for to in points {
            buf.extend_from_slice(&wire[from..to]);
            from = to;
            while let Some(r) = dec.decode(&mut buf) {
                got.push(r.unwrap());
            }
        }
        prop_assert_eq!(got, replies);
    }

    #[test]
    fn address_round_trips(v4 in socket_v4(), any_addr in socket(), port in any::<u16>()) {
        prop_assert_eq!(parse_port(format_port(v4).as_bytes()), Ok(v4));
        prop_assert_eq!(parse_eprt(format_eprt(any_addr).as_bytes()), Ok(any_addr));
        prop_assert_eq!(parse_pasv_reply(pasv_reply(v4).first_line()), Ok(v4));
        prop_assert_eq!(parse_epsv_reply(epsv_reply(port).first_line()), Ok(port));
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_parser(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(Command::parse(&bytes), Command::parse_owned(bytes.clone()));
        let _ = parse_port(&bytes);
        let _ = parse_eprt(&bytes);
        let _ = parse_pasv_reply(&bytes);
        let _ = parse_epsv_reply(&bytes);
        let _ = Timestamp::parse(&bytes);
        let _ = ftp_proto::listing::parse_list_line(&bytes);
        let _ = ftp_proto::listing::parse_mlsx_line(&bytes);
        let path = VirtualPath::root().resolve(&bytes);
        prop_assert!(path.as_bytes().starts_with(b"/"));
        prop_assert!(path.components().all(|c| c != b"." && c != b".." && !c.is_empty() && !c.contains(&0)));
    }

    /// One continuous stream fed in arbitrary chunks decodes to exactly the lines (and errors)
    /// of the whole input at once, and between calls the decoder holds at most the line limit
    /// (plus the CR of a CRLF whose LF is still in flight).
    #[test]
    fn chunked_lines_match_whole_and_stay_bounded(input in wire_bytes(), cuts in cut_points()) {
        const LIMIT: usize = 64;
        let whole = {
            let mut dec = LineDecoder::new(LIMIT);
            let mut buf = BytesMut::from(&input[..]);
            std::iter::from_fn(|| dec.decode_eof(&mut buf)).collect::<Vec<_>>()
        };
        let mut dec = LineDecoder::new(LIMIT);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for chunk in chunks(&input, &cuts) {
            buf.extend_from_slice(chunk);
            while let Some(line) = dec.decode(&mut buf) {
                got.push(line);
            }
            prop_assert!(buf.len() <= LIMIT + 1, "{} bytes held", buf.len());
        }
        got.extend(std::iter::from_fn(|| dec.decode_eof(&mut buf)));
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, whole);
    }

    /// The same for replies: chunked decoding gives exactly the replies and errors of whole
    /// decoding, and the bytes held stay under the line limit.
    #[test]
    fn chunked_replies_match_whole_and_stay_bounded(input in wire_bytes(), cuts in cut_points()) {
        let mut config = ReplyDecoderConfig::default();
        config.max_line_len(64).max_lines(4).max_reply_bytes(100);
        let whole = {
            let mut dec = ReplyDecoder::new(config.clone());
            let mut buf = BytesMut::from(&input[..]);
            std::iter::from_fn(|| dec.decode_eof(&mut buf)).collect::<Vec<_>>()
        };
        let mut dec = ReplyDecoder::new(config);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for chunk in chunks(&input, &cuts) {
            buf.extend_from_slice(chunk);
            while let Some(reply) = dec.decode(&mut buf) {
                got.push(reply);
            }
            prop_assert!(buf.len() <= 65, "{} bytes held", buf.len());
        }
        got.extend(std::iter::from_fn(|| dec.decode_eof(&mut buf)));
        prop_assert_eq!(got, whole);
    }

    /// A whole server session fed arbitrary input: no panic, every reply it sends decodes, and
    /// it never asks for a path outside the root.
    #[test]
    fn server_connection_survives_any_input(
        lines in proptest::collection::vec(prop_oneof![
            command().prop_map(|c| c.to_bytes().to_vec()),
            proptest::collection::vec(any::<u8>(), 0..40),
            // Longer than the line limit.
            proptest::collection::vec(any::<u8>(), 250..600),
        ], 0..30),
    ) {
        let info = ConnectionInfo { local: "127.0.0.1:21".parse().unwrap(), peer: "127.0.0.1:40000".parse().unwrap() };
        let mut server = ServerConnection::new(ServerConfig::default(), info, 256, std::time::Instant::now());
        let mut input = BytesMut::new();
        let mut output = BytesMut::new();
        server.poll_transmit(&mut output);
        for line in lines {
            input.extend_from_slice(&line);
            // As a driver does: feed, answer the actions, feed what was held meanwhile.
            loop {
                server.handle_input(&mut input);
                // A session that wants more has taken every whole line; what is left is part
                // of one, within the limit (256, plus the CR of a CRLF).
                prop_assert!(
                    !server.wants_read() || input.len() <= 257,
                    "{} bytes left unread", input.len()
                );
                let Some(action) = server.poll_action() else {
                    break;
                };
                let (id, outcome) = match action {
                    Action::Authenticate { id, .. } | Action::Account { id, .. } => (id, Outcome::LoggedIn(Permissions::ALL.into())),
                    Action::OpenPassive { id, .. } => (id, Outcome::PassiveListening("127.0.0.1:50000".parse().unwrap())),
                    Action::Transfer(t) => {
                        prop_assert!(t.path.as_bytes().starts_with(b"/"));
                        let _ = server.handle_outcome(t.id, Outcome::TransferStarting { unique_name: None });
                        (t.id, Outcome::TransferComplete { bytes: 0 })
                    }
                    Action::Metadata { id, path } => {
                        prop_assert!(!path.components().any(|c| c == b".."));
                        (id, Outcome::Metadata(Box::new(Metadata::new(FileKind::Directory, 0))))
                    }
                    Action::MakeDirectory { id, path } | Action::Delete { id, path } => {
                        prop_assert!(!path.components().any(|c| c == b".."));
                        (id, Outcome::Done)
                    }
                    Action::RemoveDirectory { id, .. } | Action::ProbeDirectory { id, .. } | Action::Rename { id, .. }
                    | Action::SetModified { id, .. } => (id, Outcome::Done),
                    Action::StatusListing { id, .. } => (id, Outcome::Failed(ftp_proto::server::FailureKind::NotFound)),
                    _ => continue,
                };
                prop_assert!(server.handle_outcome(id, outcome).is_ok());
            }
            server.poll_transmit(&mut output);
        }
        let mut dec = ReplyDecoder::default();
        let mut count = 0;
        while let Some(r) = dec.decode(&mut output) {
            prop_assert!(r.is_ok(), "{:?}", r);
            count += 1;
        }
        prop_assert!(output.is_empty());
        prop_assert!(count >= 1);
    }

    #[test]
    fn client_connection_survives_any_input(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 0..20)) {
        let mut client = ClientConnection::default();
        client.session().login(Arg::try_from("a").unwrap(), Secret::new(Arg::try_from("b").unwrap()), None);
        client.session().passive();
        let mut input = BytesMut::new();
        let mut out = BytesMut::new();
        for chunk in chunks {
            input.extend_from_slice(&chunk);
            if client.handle_input(&mut input).is_err() {
                break;
            }
            while client.poll_progress().is_some() {}
            client.poll_transmit(&mut out);
        }
    }
}
