//! Real conversations captured from vsftpd, Pure-FTPd, ProFTPD, pyftpdlib and libunftp
//! (`fixtures/servers/*/control.txt`, see `fixtures/README.md`), replayed through the parsers and
//! the client machine.

use bytes::BytesMut;
use ftp_proto::address::{parse_epsv_reply, parse_pasv_reply};
use ftp_proto::{
    Arg, ClientConnection, Command, ParseErrorKind, Progress, Reply, ReplyDecoder, Secret, Verb,
};

const SERVERS: [&str; 5] = [
    "vsftpd-3.0.3",
    "pure-ftpd-1.0.50",
    "proftpd-1.3.8",
    "pyftpdlib-2.2.0",
    "libunftp-0.24",
];

/// One exchange: the command line (none for the greeting) and the reply bytes that followed.
struct Exchange {
    command: Option<String>,
    wire: Vec<u8>,
}

fn transcript(server: &str, file: &str) -> Vec<Exchange> {
    let path = format!(
        "{}/tests/fixtures/servers/{server}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = vec![Exchange {
        command: None,
        wire: Vec::new(),
    }];
    for line in text.lines() {
        if let Some(cmd) = line.strip_prefix("C: ") {
            out.push(Exchange {
                command: Some(cmd.to_owned()),
                wire: Vec::new(),
            });
        } else if let Some(reply) = line.strip_prefix("S: ") {
            let last = out.last_mut().unwrap();
            last.wire.extend_from_slice(reply.as_bytes());
            last.wire.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn decode(wire: &[u8]) -> Vec<Reply> {
    let mut dec = ReplyDecoder::default();
    let mut buf = BytesMut::from(wire);
    let replies: Vec<Reply> = std::iter::from_fn(|| dec.decode(&mut buf))
        .map(Result::unwrap)
        .collect();
    assert!(buf.is_empty() && !dec.is_inside_reply());
    replies
}

/// The command as the client would queue it; the deliberately bad lines of the capture are kept
/// verbatim as unknown commands so they go out unchanged.
fn command(line: &str) -> Command<'static> {
    match Command::parse_owned(line.to_owned()) {
        Ok(cmd) => cmd,
        Err(e) => {
            assert_eq!(e.kind, ParseErrorKind::InvalidArgument, "{line}");
            let (verb, arg) = line.split_once(' ').unwrap();
            Command::Unknown {
                verb: Verb::new(verb.to_owned()).unwrap(),
                arg: Some(Arg::try_from(arg).unwrap()),
            }
        }
    }
}

#[test]
fn every_command_line_parses_as_expected() {
    for server in SERVERS {
        for ex in transcript(server, "control.txt")
            .iter()
            .chain(&transcript(server, "anonymous.txt"))
        {
            let Some(line) = &ex.command else { continue };
            let parsed = Command::parse_owned(line.clone());
            match line.as_str() {
                "XYZZY" => assert!(matches!(parsed, Ok(Command::Unknown { .. }))),
                "PORT 1,2,3" | "PORT 127,0,0,1,256,1" => {
                    assert_eq!(parsed.unwrap_err().reply_code().as_u16(), 501)
                }
                _ => {
                    let cmd = parsed.unwrap();
                    // And it encodes back to the same line.
                    assert_eq!(
                        cmd.to_bytes().as_ref(),
                        format!("{line}\r\n").as_bytes(),
                        "{server}: {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_reply_decodes_whole_and_split_anywhere() {
    for server in SERVERS {
        let exchanges = transcript(server, "control.txt");
        let wire: Vec<u8> = exchanges.iter().flat_map(|e| e.wire.clone()).collect();
        let whole = decode(&wire);
        let per_exchange: usize = exchanges.iter().map(|e| decode(&e.wire).len()).sum();
        assert_eq!(whole.len(), per_exchange, "{server}");
        // Every exchange got at least one reply, transfers two (150 then 226).
        for e in &exchanges {
            let replies = decode(&e.wire);
            let cmd = e.command.as_deref().unwrap_or("greeting");
            let expected = if ["LIST", "LIST -la", "NLST", "MLSD"].contains(&cmd)
                && replies[0].code().is_preliminary()
            {
                2
            } else {
                1
            };
            assert_eq!(replies.len(), expected, "{server}: {cmd}");
        }
        for cut in (0..wire.len()).step_by(7) {
            let mut dec = ReplyDecoder::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                buf.extend_from_slice(part);
                got.extend(std::iter::from_fn(|| dec.decode(&mut buf)).map(Result::unwrap));
            }
            assert_eq!(got, whole, "{server} cut at {cut}");
        }
    }
}

#[test]
fn concrete_replies_of_each_server() {
    for server in SERVERS {
        let exchanges = transcript(server, "control.txt");
        let reply_to = |cmd: &str| -> Reply {
            let e = exchanges
                .iter()
                .find(|e| e.command.as_deref() == Some(cmd))
                .unwrap();
            decode(&e.wire).remove(0)
        };
        assert_eq!(reply_to("PASS bench").code().as_u16(), 230, "{server}");
        let pasv = reply_to("PASV");
        if pasv.code().as_u16() == 227 {
            assert_eq!(
                parse_pasv_reply(pasv.first_line()).unwrap().ip().octets(),
                [127, 0, 0, 1],
                "{server}"
            );
        }
        let epsv = reply_to("EPSV");
        assert!(
            parse_epsv_reply(epsv.first_line()).unwrap() > 1024,
            "{server}"
        );
        let size = reply_to("SIZE big-sparse.bin");
        assert_eq!(
            (size.code().as_u16(), size.first_line().as_ref()),
            (213, &b"5368709120"[..]),
            "{server}"
        );
        let feat = reply_to("FEAT");
        assert_eq!(feat.code().as_u16(), 211, "{server}");
        assert!(
            feat.lines()
                .any(|l| l.as_ref() == b" EPSV" || l.as_ref() == b"EPSV"),
            "{server}: {feat:?}"
        );
        assert_eq!(reply_to("XYZZY").code().as_u16() / 100, 5, "{server}");
    }
    let vsftpd = transcript("vsftpd-3.0.3", "control.txt");
    let feat = decode(
        &vsftpd
            .iter()
            .find(|e| e.command.as_deref() == Some("FEAT"))
            .unwrap()
            .wire,
    )
    .remove(0);
    let lines: Vec<_> = feat
        .lines()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "Features:",
            " EPSV",
            " MDTM",
            " PASV",
            " REST STREAM",
            " SIZE",
            " TVFS",
            "End"
        ]
    );
    // Pure-FTPd's multi-line greeting.
    let pure = transcript("pure-ftpd-1.0.50", "anonymous.txt");
    let greeting = decode(&pure[0].wire).remove(0);
    assert_eq!(greeting.code().as_u16(), 220);
    assert!(greeting.lines().count() >= 3);
}

/// The client machine holds the whole conversation: it sends exactly the captured command lines
/// and reads each reply as a success or failure by the server's own code.
#[test]
fn client_machine_replays_each_conversation() {
    for server in SERVERS {
        let exchanges = transcript(server, "control.txt");
        let mut client = ClientConnection::default();
        let commands: Vec<&str> = exchanges
            .iter()
            .filter_map(|e| e.command.as_deref())
            .collect();
        assert_eq!(&commands[..2], ["USER bench", "PASS bench"]);
        client.session().login(
            Arg::try_from("bench").unwrap(),
            Secret::new(Arg::try_from("bench").unwrap()),
            None,
        );
        for line in &commands[2..] {
            client.session().command(command(line));
        }
        let mut sent = BytesMut::new();
        let mut progress = Vec::new();
        let mut input = BytesMut::new();
        for e in &exchanges {
            // Reply bytes arrive in small chunks, as from a slow link.
            for chunk in e.wire.chunks(5) {
                input.extend_from_slice(chunk);
                client
                    .handle_input(&mut input)
                    .unwrap_or_else(|err| panic!("{server}: {err}"));
                progress.extend(std::iter::from_fn(|| client.poll_progress()));
            }
            client.poll_transmit(&mut sent);
        }
        let expected: String = commands.iter().map(|c| format!("{c}\r\n")).collect();
        assert_eq!(String::from_utf8_lossy(&sent), expected, "{server}");
        let done = progress
            .iter()
            .filter(|p| matches!(p, Progress::Done { .. }))
            .count();
        let failed = progress
            .iter()
            .filter(|p| matches!(p, Progress::Failed { .. }))
            .count();
        let finals: usize = exchanges
            .iter()
            .skip(2)
            .map(|e| {
                decode(&e.wire)
                    .iter()
                    .filter(|r| !r.code().is_preliminary())
                    .count()
            })
            .sum();
        // The greeting, then one final reply per command after USER (the 331 only continues).
        assert_eq!(done + failed, 1 + finals, "{server}");
        assert!(failed >= 3, "{server}: XYZZY and the two bad PORTs fail");
    }
}
