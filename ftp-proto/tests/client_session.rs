//! The client machine driven by hand with replies as real servers send them.

use ftp_proto::{
    Arg, ClientSession, Command, DataTarget, Progress, ProtocolError, Reply, ReplyCode, Secret,
};

fn reply(code: u16, text: &str) -> Reply {
    Reply::new(ReplyCode::new(code).unwrap(), text.to_owned()).unwrap()
}

fn arg(s: &str) -> Arg<'_> {
    Arg::try_from(s).unwrap()
}

fn sent(c: &mut ClientSession) -> Vec<String> {
    std::iter::from_fn(|| c.poll_command())
        .map(|cmd| cmd.to_string())
        .collect()
}

fn greeted() -> ClientSession {
    let mut c = ClientSession::new();
    assert_eq!(
        sent(&mut c),
        Vec::<String>::new(),
        "nothing is sent before the greeting"
    );
    assert_eq!(
        c.handle_reply(reply(120, "ready in 1 minute")),
        Progress::Continuing {
            op: ClientSession::GREETING,
            reply: reply(120, "ready in 1 minute")
        }
    );
    let r = reply(220, "vsftpd perf peer");
    assert_eq!(
        c.handle_reply(r.clone()),
        Progress::Done {
            op: ClientSession::GREETING,
            reply: r
        }
    );
    c
}

#[test]
fn greeting_refused() {
    let mut c = ClientSession::new();
    let Progress::Failed {
        op,
        error: ProtocolError::Rejected(r),
    } = c.handle_reply(reply(421, "Too many users"))
    else {
        panic!()
    };
    assert_eq!((op, r.code().as_u16()), (ClientSession::GREETING, 421));
}

#[test]
fn login_with_password() {
    let mut c = greeted();
    let op = c.login(arg("bench"), Secret::new(arg("bench")), None);
    assert_eq!(sent(&mut c), ["USER bench"]);
    assert!(matches!(
        c.handle_reply(reply(331, "Please specify the password.")),
        Progress::Continuing { .. }
    ));
    assert_eq!(sent(&mut c), ["PASS <redacted>"]);
    let done = c.handle_reply(reply(230, "Login successful."));
    assert!(matches!(done, Progress::Done { op: o, .. } if o == op));
    assert!(!c.is_busy());
}

#[test]
fn login_without_password_and_with_account() {
    // vsftpd with no_anon_password=YES answers USER anonymous with 230 at once.
    let mut c = greeted();
    let op = c.login(
        arg("anonymous"),
        Secret::new(arg("guest@example.com")),
        None,
    );
    sent(&mut c);
    assert!(
        matches!(c.handle_reply(reply(230, "Login successful.")), Progress::Done { op: o, .. } if o == op)
    );
    let mut c = greeted();
    c.login(
        arg("acme"),
        Secret::new(arg("pw")),
        Some(Secret::new(arg("sales"))),
    );
    sent(&mut c);
    let _ = c.handle_reply(reply(331, "pw"));
    assert_eq!(sent(&mut c).len(), 1);
    let _ = c.handle_reply(reply(332, "Need account for login."));
    let Some(Command::Acct(acct)) = c.poll_command() else {
        panic!()
    };
    assert_eq!(acct.expose_secret().as_bytes(), b"sales");
    assert!(matches!(
        c.handle_reply(reply(230, "ok")),
        Progress::Done { .. }
    ));
    // 332 without an account to give.
    let mut c = greeted();
    c.login(arg("acme"), Secret::new(arg("pw")), None);
    sent(&mut c);
    let _ = c.handle_reply(reply(331, "pw"));
    sent(&mut c);
    let failed = c.handle_reply(reply(332, "Need account"));
    assert!(matches!(
        failed,
        Progress::Failed {
            error: ProtocolError::NeedAccount(_),
            ..
        }
    ));
}

#[test]
fn login_rejected_carries_the_reply() {
    let mut c = greeted();
    c.login(arg("bench"), Secret::new(arg("wrong")), None);
    sent(&mut c);
    let _ = c.handle_reply(reply(331, "pw"));
    sent(&mut c);
    let Progress::Failed { error, .. } = c.handle_reply(reply(530, "Login incorrect.")) else {
        panic!()
    };
    assert_eq!(error.reply().code().as_u16(), 530);
    assert_eq!(error.reply().text(), "Login incorrect.");
    assert!(!error.is_transient());
    assert_eq!(error.to_string(), "server replied 530 Login incorrect.");
}

#[test]
fn epsv_falls_back_to_pasv_and_remembers() {
    let mut c = greeted();
    let op = c.passive();
    assert_eq!(sent(&mut c), ["EPSV"]);
    assert!(matches!(
        c.handle_reply(reply(500, "Unknown command.")),
        Progress::Continuing { .. }
    ));
    assert_eq!(sent(&mut c), ["PASV"]);
    let p = c.handle_reply(reply(227, "Entering Passive Mode (127,0,0,1,82,98)."));
    assert_eq!(
        p,
        Progress::DataReady {
            op,
            target: DataTarget::Passive("127.0.0.1:21090".parse().unwrap())
        }
    );
    assert!(c.epsv_refused());
    c.passive();
    assert_eq!(sent(&mut c), ["PASV"], "the fallback is remembered");
    // A server that knows EPSV.
    let mut c = greeted();
    let op = c.passive();
    sent(&mut c);
    let p = c.handle_reply(reply(229, "Entering Extended Passive Mode (|||21799|)"));
    assert_eq!(
        p,
        Progress::DataReady {
            op,
            target: DataTarget::ExtendedPassive(21799)
        }
    );
    // A malformed 229 is an error that keeps the server's words.
    c.passive();
    sent(&mut c);
    let p = c.handle_reply(reply(229, "Entering Extended Passive Mode"));
    assert!(matches!(
        p,
        Progress::Failed {
            error: ProtocolError::MalformedReply(_),
            ..
        }
    ));
    // 425 from PASV is a failure, not a fallback.
    let mut c = greeted();
    c.passive();
    sent(&mut c);
    assert!(matches!(
        c.handle_reply(reply(425, "no")),
        Progress::Failed { .. }
    ));
}

#[test]
fn active_mode_eprt_then_port() {
    let mut c = greeted();
    let op = c.active("127.0.0.1:50000".parse().unwrap());
    assert_eq!(sent(&mut c), ["EPRT |1|127.0.0.1|50000|"]);
    let _ = c.handle_reply(reply(502, "EPRT not implemented"));
    assert_eq!(sent(&mut c), ["PORT 127,0,0,1,195,80"]);
    assert_eq!(
        c.handle_reply(reply(200, "PORT ok")),
        Progress::DataReady {
            op,
            target: DataTarget::Active
        }
    );
    // vsftpd with port_enable=NO refuses: a failure with its reply.
    c.active("127.0.0.1:50000".parse().unwrap());
    assert_eq!(sent(&mut c), ["PORT 127,0,0,1,195,80"]);
    assert!(matches!(
        c.handle_reply(reply(550, "Permission denied.")),
        Progress::Failed { .. }
    ));
    // IPv6 has no PORT fallback.
    let mut c = greeted();
    c.active("[::1]:50000".parse().unwrap());
    assert_eq!(sent(&mut c), ["EPRT |2|::1|50000|"]);
    assert!(matches!(
        c.handle_reply(reply(502, "no")),
        Progress::Failed { .. }
    ));
}

#[test]
fn transfers_continue_then_complete_or_fail() {
    let mut c = greeted();
    let op = c.command(Command::Retr(arg("regular.txt")));
    assert_eq!(sent(&mut c), ["RETR regular.txt"]);
    assert!(
        matches!(c.handle_reply(reply(150, "Opening")), Progress::Continuing { op: o, .. } if o == op)
    );
    assert!(
        matches!(c.handle_reply(reply(226, "Transfer complete.")), Progress::Done { op: o, .. } if o == op)
    );
    let op = c.command(Command::Rest(10));
    sent(&mut c);
    assert!(
        matches!(c.handle_reply(reply(350, "Restarting at 10.")), Progress::Done { op: o, .. } if o == op)
    );
    c.command(Command::Retr(arg("missing")));
    sent(&mut c);
    let Progress::Failed { error, .. } = c.handle_reply(reply(550, "Failed to open file.")) else {
        panic!()
    };
    assert_eq!(error.reply().code().as_u16(), 550);
    // A 3yz to a command that completes on 2yz is unexpected.
    c.command(Command::Pwd);
    sent(&mut c);
    assert!(matches!(
        c.handle_reply(reply(350, "?")),
        Progress::Failed {
            error: ProtocolError::UnexpectedReply(_),
            ..
        }
    ));
    // A 4yz is transient.
    c.command(Command::Stor(arg("x")));
    sent(&mut c);
    let Progress::Failed { error, .. } = c.handle_reply(reply(452, "full")) else {
        panic!()
    };
    assert!(error.is_transient());
}

#[test]
fn one_command_in_flight_and_unsolicited_replies() {
    let mut c = greeted();
    assert!(matches!(
        c.handle_reply(reply(421, "Timeout")),
        Progress::Closing(_)
    ));
    let a = c.command(Command::Noop);
    let b = c.command(Command::Pwd);
    assert_eq!(
        sent(&mut c),
        ["NOOP"],
        "the next command waits for the reply"
    );
    assert!(matches!(c.handle_reply(reply(200, "ok")), Progress::Done { op, .. } if op == a));
    assert_eq!(sent(&mut c), ["PWD"]);
    assert!(matches!(c.handle_reply(reply(257, "\"/\"")), Progress::Done { op, .. } if op == b));
}

#[test]
fn abort_during_a_transfer_goes_out_at_once_and_takes_the_second_reply() {
    let mut c = greeted();
    let retr = c.command(Command::Retr(arg("big.iso")));
    let after = c.command(Command::Noop);
    assert_eq!(sent(&mut c), ["RETR big.iso"]);
    let _ = c.handle_reply(reply(150, "Opening BINARY mode data connection"));
    let abor = c.abort();
    // ABOR overtakes the queued NOOP; nothing else is sent while the transfer is open.
    assert_eq!(sent(&mut c), ["ABOR"]);
    let Progress::Failed {
        op,
        error: ProtocolError::Rejected(r),
    } = c.handle_reply(reply(426, "Connection closed; transfer aborted."))
    else {
        panic!("the transfer fails on 426")
    };
    assert_eq!((op, r.code().as_u16()), (retr, 426));
    // ABOR is already on the wire: it is not sent again while its reply is awaited.
    assert_eq!(sent(&mut c), Vec::<String>::new());
    let ok = reply(226, "ABOR command successful");
    assert_eq!(
        c.handle_reply(ok.clone()),
        Progress::Done {
            op: abor,
            reply: ok
        }
    );
    assert_eq!(sent(&mut c), ["NOOP"]);
    let noop = reply(200, "NOOP ok");
    assert_eq!(
        c.handle_reply(noop.clone()),
        Progress::Done {
            op: after,
            reply: noop
        }
    );
}

#[test]
fn abort_after_the_transfer_ended_and_with_nothing_in_flight() {
    let mut c = greeted();
    let retr = c.command(Command::Retr(arg("small.txt")));
    assert_eq!(sent(&mut c), ["RETR small.txt"]);
    let _ = c.handle_reply(reply(150, "Opening"));
    let abor = c.abort();
    assert_eq!(sent(&mut c), ["ABOR"]);
    // The transfer had already completed: its 226, then 225 for ABOR.
    let done = reply(226, "Transfer complete");
    assert_eq!(
        c.handle_reply(done.clone()),
        Progress::Done {
            op: retr,
            reply: done
        }
    );
    let none = reply(225, "No transfer to ABOR");
    assert_eq!(
        c.handle_reply(none.clone()),
        Progress::Done {
            op: abor,
            reply: none
        }
    );
    // Idle: ABOR is an ordinary queued command.
    let idle = c.abort();
    assert_eq!(sent(&mut c), ["ABOR"]);
    let Progress::Failed { op, .. } = c.handle_reply(reply(502, "ABOR not implemented")) else {
        panic!("a refused ABOR fails")
    };
    assert_eq!(op, idle);
}

#[test]
fn superfluous_password_logs_in_and_two_aborts_keep_their_order() {
    let mut c = greeted();
    let op = c.login(arg("u"), Secret::new(arg("p")), None);
    assert_eq!(sent(&mut c), ["USER u"]);
    let _ = c.handle_reply(reply(331, "Password"));
    assert_eq!(sent(&mut c), ["PASS <redacted>"]);
    let ok = reply(202, "Password not needed");
    assert_eq!(c.handle_reply(ok.clone()), Progress::Done { op, reply: ok });

    let retr = c.command(Command::Retr(arg("f")));
    assert_eq!(sent(&mut c), ["RETR f"]);
    let first = c.abort();
    let second = c.abort();
    assert_eq!(sent(&mut c), ["ABOR", "ABOR"]);
    let Progress::Failed { op, .. } = c.handle_reply(reply(426, "aborted")) else {
        panic!("426 fails the transfer")
    };
    assert_eq!(op, retr);
    let Progress::Done { op, .. } = c.handle_reply(reply(226, "ABOR ok")) else {
        panic!()
    };
    assert_eq!(op, first, "the first ABOR sent takes the first reply");
    let Progress::Done { op, .. } = c.handle_reply(reply(225, "No transfer")) else {
        panic!()
    };
    assert_eq!(op, second);
    assert!(!c.eprt_refused());
}

#[test]
fn rename_is_one_operation() {
    let mut c = greeted();
    let op = c.rename(arg("old name.txt"), arg("new.txt"));
    let after = c.command(Command::Noop);
    assert_eq!(sent(&mut c), ["RNFR old name.txt"]);
    assert!(matches!(
        c.handle_reply(reply(350, "Ready for RNTO.")),
        Progress::Continuing { op: o, .. } if o == op
    ));
    // RNTO goes out at once, before anything queued behind the rename.
    assert_eq!(sent(&mut c), ["RNTO new.txt"]);
    assert!(matches!(
        c.handle_reply(reply(250, "Rename successful.")),
        Progress::Done { op: o, .. } if o == op
    ));
    assert_eq!(sent(&mut c), ["NOOP"]);
    assert!(matches!(c.handle_reply(reply(200, "ok")), Progress::Done { op: o, .. } if o == after));
    // A refused RNFR fails the rename; no RNTO is sent.
    let op = c.rename(arg("missing"), arg("x"));
    assert_eq!(sent(&mut c), ["RNFR missing"]);
    let Progress::Failed {
        op: o,
        error: ProtocolError::Rejected(r),
    } = c.handle_reply(reply(550, "No such file or directory."))
    else {
        panic!()
    };
    assert_eq!((o, r.code().as_u16()), (op, 550));
    assert_eq!(sent(&mut c), Vec::<String>::new());
    // RNTO refused: the rename fails on it.
    let op = c.rename(arg("a"), arg("/"));
    sent(&mut c);
    let _ = c.handle_reply(reply(350, "Ready for RNTO."));
    sent(&mut c);
    assert!(matches!(
        c.handle_reply(reply(553, "File name not allowed.")),
        Progress::Failed { op: o, .. } if o == op
    ));
}

fn started(p: Progress, op: ftp_proto::OpId) -> Reply {
    match p {
        Progress::Started { op: o, reply } if o == op => reply,
        other => panic!("expected the transfer to start, got {other:?}"),
    }
}

#[test]
fn a_transfer_is_one_operation() {
    use ftp_proto::{DataSetup, TransferRequest, TransferType};
    let mut c = greeted();
    let op = c.transfer(
        TransferRequest::new(Command::Retr(arg("big.bin")), DataSetup::Passive)
            .with_representation(TransferType::Image),
    );
    assert_eq!(sent(&mut c), ["TYPE I"]);
    assert!(matches!(
        c.handle_reply(reply(200, "Binary")),
        Progress::Continuing { .. }
    ));
    assert_eq!(sent(&mut c), ["EPSV"]);
    assert_eq!(
        c.handle_reply(reply(229, "Entering Extended Passive Mode (|||50000|)")),
        Progress::DataReady {
            op,
            target: DataTarget::ExtendedPassive(50000)
        }
    );
    // The machine waits for the data connection before it sends the command.
    assert_eq!(sent(&mut c), Vec::<String>::new());
    c.data_connected(op);
    assert_eq!(sent(&mut c), ["RETR big.bin"]);
    let r = started(c.handle_reply(reply(150, "Opening BINARY mode")), op);
    assert_eq!(r.code().as_u16(), 150);
    assert!(
        matches!(c.handle_reply(reply(226, "Transfer complete.")), Progress::Done { op: o, .. } if o == op)
    );
    assert_eq!(c.type_in_effect(), Some(TransferType::Image));

    // The same type again: no TYPE. EPSV unknown: PASV, remembered. Resuming: REST first.
    let stor = Command::Stor(arg("up.bin"));
    let op = c.transfer(
        TransferRequest::new(stor, DataSetup::Passive)
            .with_representation(TransferType::Image)
            .with_offset(100),
    );
    assert_eq!(sent(&mut c), ["EPSV"]);
    assert!(matches!(
        c.handle_reply(reply(500, "Unknown command")),
        Progress::Continuing { .. }
    ));
    assert_eq!(sent(&mut c), ["PASV"]);
    assert!(matches!(
        c.handle_reply(reply(227, "Entering Passive Mode (127,0,0,1,195,80).")),
        Progress::DataReady {
            target: DataTarget::Passive(_),
            ..
        }
    ));
    c.data_connected(op);
    assert_eq!(sent(&mut c), ["REST 100"]);
    assert!(matches!(
        c.handle_reply(reply(350, "Restarting at 100")),
        Progress::Continuing { .. }
    ));
    assert_eq!(sent(&mut c), ["STOR up.bin"]);
    started(c.handle_reply(reply(150, "Ok to send data.")), op);
    // A transfer cut short fails with the server's reply.
    let Progress::Failed { op: o, error } = c.handle_reply(reply(426, "Connection closed")) else {
        panic!()
    };
    assert_eq!((o, error.reply().code().as_u16()), (op, 426));
    assert!(c.epsv_refused());

    // Active: EPRT refused, PORT; a listing needs no TYPE; a final reply at once ends it.
    let listener = "127.0.0.1:40001".parse().unwrap();
    let op = c.transfer(TransferRequest::new(
        Command::Nlst(Default::default()),
        DataSetup::Active(listener),
    ));
    assert_eq!(sent(&mut c), ["EPRT |1|127.0.0.1|40001|"]);
    assert!(matches!(
        c.handle_reply(reply(502, "EPRT not implemented")),
        Progress::Continuing { .. }
    ));
    assert_eq!(sent(&mut c), ["PORT 127,0,0,1,156,65"]);
    assert_eq!(
        c.handle_reply(reply(200, "PORT command successful")),
        Progress::DataReady {
            op,
            target: DataTarget::Active
        }
    );
    c.data_connected(op);
    assert_eq!(sent(&mut c), ["NLST"]);
    let Progress::Failed { op: o, .. } = c.handle_reply(reply(550, "No files found")) else {
        panic!()
    };
    assert_eq!(o, op);

    // The data connection could not be opened: the operation ends, nothing more is sent, and
    // the next one goes on.
    let op = c.transfer(TransferRequest::new(
        Command::Retr(arg("f")),
        DataSetup::Passive,
    ));
    let next = c.command(Command::Noop);
    assert_eq!(sent(&mut c), ["PASV"]);
    let _ = c.handle_reply(reply(227, "Entering Passive Mode (127,0,0,1,195,81)."));
    assert!(c.cancel_transfer(op));
    assert!(!c.cancel_transfer(op), "once");
    assert_eq!(sent(&mut c), ["NOOP"]);
    assert!(matches!(c.handle_reply(reply(200, "ok")), Progress::Done { op: o, .. } if o == next));
}

/// The abort rules of a transfer the driver gives up: data not ended means ABOR at once;
/// data ended means only the final reply is owed.
#[test]
fn abandoned_transfers() {
    use ftp_proto::{DataSetup, TransferRequest};
    let mut c = greeted();
    let start = |c: &mut ClientSession, name: &str| {
        let op = c.transfer(TransferRequest::new(
            Command::Retr(arg(name)),
            DataSetup::Passive,
        ));
        sent(c);
        let _ = c.handle_reply(reply(229, "Entering Extended Passive Mode (|||50000|)"));
        c.data_connected(op);
        sent(c);
        started(c.handle_reply(reply(150, "Opening")), op);
        op
    };
    // Dropped while the data still flowed: ABOR goes out ahead of the next command.
    let op = start(&mut c, "a");
    let next = c.command(Command::Noop);
    let abor = c.abandon_transfer(op, false).expect("an ABOR");
    assert_eq!(sent(&mut c), ["ABOR"]);
    assert!(
        matches!(c.handle_reply(reply(426, "Connection closed")), Progress::Failed { op: o, .. } if o == op)
    );
    assert!(
        matches!(c.handle_reply(reply(226, "ABOR successful")), Progress::Done { op: o, .. } if o == abor)
    );
    assert_eq!(sent(&mut c), ["NOOP"]);
    assert!(matches!(c.handle_reply(reply(200, "ok")), Progress::Done { op: o, .. } if o == next));
    // Dropped after the data ended: nothing is sent; the final reply comes before the next.
    let op = start(&mut c, "b");
    assert_eq!(c.abandon_transfer(op, true), None);
    let next = c.command(Command::Noop);
    assert_eq!(sent(&mut c), Vec::<String>::new());
    assert!(
        matches!(c.handle_reply(reply(226, "Transfer complete")), Progress::Done { op: o, .. } if o == op)
    );
    assert_eq!(sent(&mut c), ["NOOP"]);
    assert!(matches!(c.handle_reply(reply(200, "ok")), Progress::Done { op: o, .. } if o == next));
    // A transfer already over: nothing to abort.
    assert_eq!(c.abandon_transfer(op, false), None);
    // Pure-FTPd, its data connection closed under it, ends the transfer with a second 150
    // and answers the ABOR with one 226 (captured from Pure-FTPd 1.0.50).
    let op = start(&mut c, "c");
    let next = c.command(Command::Pwd);
    let abor = c.abandon_transfer(op, false).expect("an ABOR");
    assert_eq!(sent(&mut c), ["ABOR"]);
    let summary = reply(
        150,
        "0.000 seconds (measured here), 860.43 Mbytes per second",
    );
    assert!(
        matches!(c.handle_reply(summary), Progress::Failed { op: o, .. } if o == op),
        "the second 150 ends the cut transfer"
    );
    let ok = reply(226, "Since you see this ABOR must've succeeded");
    assert!(matches!(c.handle_reply(ok), Progress::Done { op: o, .. } if o == abor));
    assert_eq!(sent(&mut c), ["PWD"]);
    assert!(matches!(
        c.handle_reply(reply(257, "\"/\" is your current location")),
        Progress::Done { op: o, .. } if o == next
    ));
}

#[test]
fn an_unsolicited_421_means_the_server_is_closing() {
    let mut c = greeted();
    let r = reply(421, "Timeout: closing control connection.");
    assert_eq!(c.handle_reply(r.clone()), Progress::Closing(r));
    assert_eq!(
        c.handle_reply(reply(200, "stray")),
        Progress::Unsolicited(reply(200, "stray"))
    );
}

/// `AUTH TLS`: after the 234 nothing queued goes out until the driver's handshake is done;
/// then `PBSZ 0` and `PROT P` as one operation; a refused `AUTH` leaves the session plain.
#[test]
fn auth_tls_holds_every_command_for_the_handshake() {
    let mut c = greeted();
    let auth = c.auth_tls();
    let login = c.login(arg("alice"), Secret::new(arg("pw")), None);
    assert_eq!(sent(&mut c), ["AUTH TLS"]);
    let r = reply(234, "AUTH TLS successful");
    assert_eq!(
        c.handle_reply(r.clone()),
        Progress::Done { op: auth, reply: r }
    );
    assert!(c.is_awaiting_handshake());
    assert_eq!(sent(&mut c), Vec::<String>::new(), "USER waits for TLS");
    c.handshake_done();
    assert_eq!(sent(&mut c), ["USER alice"]);
    let _ = c.handle_reply(reply(331, "password"));
    assert_eq!(sent(&mut c), ["PASS <redacted>"]);
    assert!(matches!(
        c.handle_reply(reply(230, "in")),
        Progress::Done { op, .. } if op == login
    ));
    let protect = c.protect_data(true);
    assert_eq!(sent(&mut c), ["PBSZ 0"]);
    assert!(matches!(
        c.handle_reply(reply(200, "PBSZ=0")),
        Progress::Continuing { op, .. } if op == protect
    ));
    assert_eq!(sent(&mut c), ["PROT P"]);
    assert!(!c.is_data_protected());
    assert!(matches!(
        c.handle_reply(reply(200, "PROT now Private")),
        Progress::Done { op, .. } if op == protect
    ));
    assert!(c.is_data_protected());
    // PROT C turns it off; a refused PROT leaves it as it was.
    let clear = c.protect_data(false);
    sent(&mut c);
    let _ = c.handle_reply(reply(200, "PBSZ=0"));
    sent(&mut c);
    assert!(matches!(
        c.handle_reply(reply(534, "PROT C refused")),
        Progress::Failed { op, .. } if op == clear
    ));
    assert!(c.is_data_protected());

    let mut plain = greeted();
    let auth = plain.auth_tls();
    sent(&mut plain);
    assert!(matches!(
        plain.handle_reply(reply(502, "AUTH not supported")),
        Progress::Failed { op, .. } if op == auth
    ));
    assert!(!plain.is_awaiting_handshake());
    plain.login(arg("anonymous"), Secret::new(arg("x")), None);
    assert_eq!(sent(&mut plain), ["USER anonymous"]);
}
