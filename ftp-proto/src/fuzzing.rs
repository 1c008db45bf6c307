//! The invariants each fuzz target checks (feature `fuzzing`, not a stable API): the targets in
//! `fuzz/` call these functions, and the ordinary test suite replays the committed corpora
//! through them (`ftp-proto/tests/fuzz_corpus.rs`).
//!
//! Every function must not panic on any input except to report a broken invariant.

// A broken invariant is reported by panicking: that is what the fuzzer looks for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::address::{
    format_eprt, format_port, parse_eprt, parse_epsv_reply, parse_pasv_reply, parse_port,
};
use crate::listing::{DirEntry, FileKind, Metadata, parse_list_line, parse_mlsx_line};
use crate::server::{FailureKind, TransferKind};
use crate::{
    Action, ClientConnection, Command, ConnectionInfo, LineDecoder, Outcome, Permissions,
    ReplyDecoder, ServerConfig, ServerConnection, Timestamp, UserAccess, VirtualPath,
};
use bytes::BytesMut;

/// Command parser: the borrowing and the owning parse agree, and whatever parses encodes to a
/// line that frames and parses to the same value.
pub fn command(data: &[u8]) {
    let borrowed = Command::parse(data);
    let owned = Command::parse_owned(bytes::Bytes::copy_from_slice(data));
    assert_eq!(borrowed, owned, "borrowed and owned parses differ");
    if let Ok(cmd) = borrowed {
        let wire = cmd.to_bytes();
        let mut buf = BytesMut::from(&wire[..]);
        let line = LineDecoder::new(usize::MAX / 2)
            .decode(&mut buf)
            .expect("a line")
            .expect("framed");
        assert!(buf.is_empty(), "one command is one line");
        assert_eq!(Command::parse(&line).expect("reparses"), cmd);
        assert_eq!(cmd.clone().into_owned(), cmd);
    }
}

/// Reply decoder: the first byte picks chunk sizes; decoding chunked input gives the same
/// replies as decoding it whole, each reply re-encodes and decodes to itself, and the buffer
/// never holds more than the line limit plus a chunk.
pub fn reply(data: &[u8]) {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 16) + 1;
    let whole = decode_replies(input, input.len().max(1));
    let chunked = decode_replies(input, step);
    assert_eq!(whole, chunked, "chunking changed the result");
    for reply in whole.into_iter().flatten() {
        checksum_replies(&reply);
        // The encoder doubles every 0xFF, and the decoder keeps the raw bytes of a
        // subnegotiation a line end cut off (`IAC SB` is `ÿú` in Latin-1, see `LineDecoder`),
        // so the wire form can be up to twice as long as the line it came from: decode it
        // with room for that.
        let again = decode_replies_with(&reply.to_bytes(), usize::MAX, 2);
        assert_eq!(again, vec![Some(reply)]);
    }
}

/// The readers of checksum replies and of FEAT's HASH line: never a digest of the wrong
/// length for its algorithm.
fn checksum_replies(reply: &crate::Reply) {
    use crate::checksum::{HashAlgorithm, parse_hash_reply, parse_legacy_reply};
    if let Some(r) = parse_hash_reply(reply) {
        assert_eq!(r.digest.as_bytes().len(), r.algorithm.digest_len());
    }
    for alg in HashAlgorithm::ALL {
        if let Some(d) = parse_legacy_reply(reply, alg) {
            assert_eq!(d.as_bytes().len(), alg.digest_len());
        }
    }
    if let Some((list, selected)) = crate::FeatureList::parse(reply).hash_algorithms() {
        assert!(selected.is_none_or(|s| list.contains(&s)));
    }
}

fn decode_replies(input: &[u8], step: usize) -> Vec<Option<crate::Reply>> {
    decode_replies_with(input, step, 1)
}

/// Decodes with limits `scale` times the fuzzed ones: 256-byte lines, 4096-byte replies.
fn decode_replies_with(input: &[u8], step: usize, scale: usize) -> Vec<Option<crate::Reply>> {
    let mut config = crate::ReplyDecoderConfig::default();
    config
        .max_line_len(256 * scale)
        .max_lines(64)
        .max_reply_bytes(4096 * scale);
    let mut dec = ReplyDecoder::new(config);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in input.chunks(step.max(1)) {
        buf.extend_from_slice(chunk);
        while let Some(r) = dec.decode(&mut buf) {
            out.push(r.ok());
        }
        assert!(
            buf.len() <= 256 * scale + 2 + chunk.len(),
            "buffered {} bytes",
            buf.len()
        );
    }
    out
}

/// Line framing: lines never exceed the limit, the buffer stays bounded, and chunking does not
/// change the lines.
pub fn framing(data: &[u8]) {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 32) + 1;
    let lines = |step: usize| {
        let mut dec = LineDecoder::new(64);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in input.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Some(line) = dec.decode(&mut buf) {
                if let Ok(l) = &line {
                    assert!(l.len() <= 64);
                }
                out.push(line);
            }
            assert!(buf.len() <= 66 + chunk.len());
        }
        out
    };
    assert_eq!(lines(step), lines(input.len().max(1)));
}

/// Address parsers: what parses formats back to the same address.
pub fn address(data: &[u8]) {
    if let Ok(a) = parse_port(data) {
        assert_eq!(parse_port(format_port(a).as_bytes()), Ok(a));
    }
    if let Ok(a) = parse_eprt(data) {
        assert_eq!(parse_eprt(format_eprt(a).as_bytes()), Ok(a));
    }
    if let Ok(a) = parse_pasv_reply(data) {
        assert_eq!(
            parse_pasv_reply(crate::address::pasv_reply(a).first_line()),
            Ok(a)
        );
    }
    if let Ok(p) = parse_epsv_reply(data) {
        assert_eq!(
            parse_epsv_reply(crate::address::epsv_reply(p).first_line()),
            Ok(p)
        );
    }
    let _ = Timestamp::parse(data);
}

/// LIST and MLSx parsers: no panic; MLSx entries re-encode and parse to the same name.
pub fn listing(data: &[u8]) {
    let _ = parse_list_line(data);
    if let Ok(entry) = parse_mlsx_line(data) {
        let mut out = BytesMut::new();
        entry.encode(crate::listing::FactSet::ALL, &mut out);
        if !entry.name.is_empty() && !entry.name.contains(&b'\r') && !entry.name.contains(&b'\n') {
            let again = parse_mlsx_line(&out).expect("re-encoded entry parses");
            assert_eq!(again.name, entry.name);
        }
    }
}

/// The server session fed an arbitrary command stream, with actions answered by outcomes the
/// input also picks: no panic, every reply decodes, no path leaves the root, input stays bounded.
pub fn server_session(data: &[u8]) {
    let info = ConnectionInfo {
        local: "127.0.0.1:21".parse().expect("addr"),
        peer: "127.0.0.1:40000".parse().expect("addr"),
    };
    // The input also moves the clock, so that every deadline (login, idle, the failed-login
    // delay, data connections, stalls, unread replies) can come due.
    let start = std::time::Instant::now();
    let mut now = start;
    // The first byte picks the TLS settings: off, or on with each control and data policy,
    // and now and then an implicit-TLS session.
    let pick = data.first().copied().unwrap_or(0);
    let mut config = ServerConfig::default();
    let tls = pick % 2 == 1;
    if tls {
        config.features(crate::server::Features {
            tls: true,
            ..Default::default()
        });
        config.control_tls(match (pick / 2) % 3 {
            0 => crate::server::ControlTls::Optional,
            1 => crate::server::ControlTls::PasswordLogins,
            _ => crate::server::ControlTls::Required,
        });
        if (pick / 6) % 2 == 1 {
            config.data_tls(crate::server::DataTls::Required);
        }
    }
    let control_required = tls && config.control_tls == crate::server::ControlTls::Required;
    let data_required = tls && config.data_tls == crate::server::DataTls::Required;
    let mut server = ServerConnection::new(config, info, 128, start);
    if tls && pick >= 0xf0 {
        server.session_mut().set_implicit_tls();
    }
    let mut input = BytesMut::new();
    let mut output = BytesMut::new();
    let mut choices = data.iter().rev().copied().cycle();
    for chunk in data.chunks(9) {
        let step = chunk.first().copied().unwrap_or(0);
        now += std::time::Duration::from_secs(u64::from(step % 8) * u64::from(step / 8));
        server.handle_timeout(now);
        assert!(
            server.poll_timeout().is_none_or(|t| t > now),
            "nothing due is left"
        );
        input.extend_from_slice(chunk);
        server.handle_input(&mut input);
        assert!(input.len() <= 4096);
        while let Some(action) = server.poll_action() {
            let fail = choices.next().unwrap_or(0) % 4 == 0;
            let check = |p: &VirtualPath| {
                assert!(
                    p.as_bytes().starts_with(b"/")
                        && !p.components().any(|c| c == b".." || c == b".")
                )
            };
            let (id, outcome) = match action {
                Action::Authenticate { id, .. } | Action::Account { id, .. } => (
                    id,
                    if fail {
                        Outcome::LoginRejected
                    } else {
                        // Sometimes with an upload-only directory, so its rules are exercised,
                        // and with each per-user TLS policy.
                        let mut access = UserAccess::new(Permissions::ALL);
                        let c = choices.next().unwrap_or(0);
                        access.anonymous = c & 8 != 0;
                        access.require_tls = c & 16 != 0;
                        access.require_protected_data = c & 32 != 0;
                        Outcome::LoggedIn(match c % 3 {
                            0 => access.with_upload_only(VirtualPath::root().join(b"in")),
                            _ => access,
                        })
                    },
                ),
                // The handshake on the control connection: done, or failed.
                Action::UpgradeTls { id } => (
                    id,
                    if fail {
                        Outcome::Failed(FailureKind::LocalError)
                    } else {
                        Outcome::Done
                    },
                ),
                Action::OpenPassive { id, .. } => (
                    id,
                    Outcome::PassiveListening("127.0.0.1:50000".parse().expect("addr")),
                ),
                Action::Transfer(t) => {
                    check(&t.path);
                    assert!(
                        t.protected || !data_required,
                        "unprotected data under PROT P policy"
                    );
                    let _ = server
                        .handle_outcome(t.id, Outcome::TransferStarting { unique_name: None });
                    if choices.next().unwrap_or(0) % 3 != 0 {
                        let _ = server.handle_outcome(t.id, Outcome::DataConnected);
                        let _ = server.handle_outcome(t.id, Outcome::TransferProgress);
                    }
                    let end = if fail {
                        Outcome::Failed(FailureKind::Aborted)
                    } else {
                        Outcome::TransferComplete { bytes: 1 }
                    };
                    if matches!(t.kind, TransferKind::Retrieve { .. })
                        && choices.next().unwrap_or(0) % 2 == 0
                    {
                        // Leave it running: later commands queue behind it.
                        continue;
                    }
                    (t.id, end)
                }
                Action::MakeDirectory { id, path }
                | Action::RemoveDirectory { id, path }
                | Action::Delete { id, path }
                | Action::ProbeDirectory { id, path }
                | Action::SetModified { id, path, .. } => {
                    check(&path);
                    (
                        id,
                        if fail {
                            Outcome::Failed(FailureKind::NotFound)
                        } else {
                            Outcome::Done
                        },
                    )
                }
                Action::Metadata { id, path } => {
                    check(&path);
                    let kind = match choices.next().unwrap_or(0) % 3 {
                        0 => FileKind::File,
                        1 => FileKind::Directory,
                        _ => FileKind::Symlink,
                    };
                    (
                        id,
                        if fail {
                            Outcome::Failed(FailureKind::NotFound)
                        } else {
                            Outcome::Metadata(Box::new(Metadata::new(kind, 7)))
                        },
                    )
                }
                Action::Rename { id, from, to } => {
                    check(&from);
                    check(&to);
                    (id, Outcome::Done)
                }
                // The machine gave the file's size as 7: the range lies inside it.
                Action::Checksum {
                    id,
                    path,
                    algorithm,
                    offset,
                    length,
                } => {
                    check(&path);
                    assert!(offset.saturating_add(length) <= 7, "range outside the file");
                    let _ = server.handle_outcome(id, Outcome::TransferProgress);
                    match choices.next().unwrap_or(0) % 3 {
                        // Left running: ABOR, QUIT and later commands meet it.
                        0 => continue,
                        1 => (id, Outcome::Failed(FailureKind::Aborted)),
                        _ => (
                            id,
                            Outcome::Checksum(crate::checksum::digest(algorithm, &[0; 7])),
                        ),
                    }
                }
                Action::StatusListing { id, path, .. } => {
                    check(&path);
                    let entry = DirEntry::new(&b"f\r\nx"[..], Metadata::new(FileKind::File, 7));
                    let now = Timestamp::from_unix(0, 0).expect("epoch");
                    (
                        id,
                        Outcome::Listed {
                            entries: vec![entry],
                            now,
                        },
                    )
                }
                _ => continue,
            };
            let _ = server.handle_outcome(id, outcome);
        }
        assert!(
            !control_required
                || server.session().user().is_none()
                || server.session().is_control_tls(),
            "a login without TLS under a policy that requires it"
        );
        let before = output.len();
        server.poll_transmit(&mut output);
        // Now and then the "client" reads nothing of what was sent.
        let unsent = if step % 5 == 0 { output.len() } else { 0 };
        server.handle_write(output.len() - before, unsent);
        if server.is_abandoned() {
            break;
        }
    }
    let mut dec = ReplyDecoder::default();
    while let Some(r) = dec.decode(&mut output) {
        r.expect("every reply the server sends decodes");
    }
    assert!(output.is_empty(), "replies end with a line end");
}

/// The client machine fed arbitrary replies while it runs a login, a passive negotiation and a
/// transfer: no panic, and the buffer stays bounded.
pub fn client_session(data: &[u8]) {
    let mut config = crate::ReplyDecoderConfig::default();
    config.max_line_len(128).max_lines(32);
    let mut client = ClientConnection::new(config);
    let arg = |s: &'static str| crate::Arg::from_static(s).expect("arg");
    // With an odd first byte, FTPS first: AUTH TLS, then (once the "handshake" is done) PBSZ
    // and PROT around the login.
    let tls = data.first().is_some_and(|b| b % 2 == 1);
    if tls {
        client.session().auth_tls();
    }
    client
        .session()
        .login(arg("u"), crate::Secret::new(arg("p")), None);
    if tls {
        client.session().protect_data(true);
    }
    client.session().passive();
    client.session().command(Command::Retr(arg("f")));
    let mut input = BytesMut::new();
    let mut out = BytesMut::new();
    for chunk in data.chunks(7) {
        input.extend_from_slice(chunk);
        if client.handle_input(&mut input).is_err() {
            return;
        }
        assert!(input.len() <= 136);
        while client.poll_progress().is_some() {}
        let before = out.len();
        client.poll_transmit(&mut out);
        if client.session_ref().is_awaiting_handshake() {
            assert_eq!(
                out.len(),
                before,
                "nothing is sent during the TLS handshake"
            );
            if chunk.first().is_some_and(|b| b % 3 == 0) {
                client.session().handshake_done();
            }
        }
    }
}

/// Wildcard matching: any pattern and name (split at the first NUL) match without panicking,
/// within bounded work; a name matches itself escaped byte by byte, and `*` matches exactly
/// the names without a leading dot.
pub fn glob(data: &[u8]) {
    let (pattern, name) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"name"[..]),
    };
    let _ = crate::glob::matches(pattern, name);
    let _ = crate::glob::NamePattern::from_arg(pattern);
    let name = &name[..name.len().min(255)];
    let escaped: Vec<u8> = name.iter().flat_map(|&b| [b'\\', b]).collect();
    let dotted = name.first() == Some(&b'.');
    assert_eq!(
        crate::glob::matches(&escaped, name),
        !dotted,
        "escaped name"
    );
    assert_eq!(crate::glob::matches(b"*", name), !dotted, "star");
}
