//! What real clients send that the RFCs' happy path does not: `ABOR` with TCP urgent data (the
//! Telnet Synch of tnftp and inetutils ftp, `MSG_OOB` of Python's ftplib), in one burst and in
//! pieces; a 0xFF 0xFA in a name that looks like an unclosed Telnet subnegotiation; and a data
//! connection opened before a transfer that is then refused (Node's basic-ftp). On both
//! runtimes, over real sockets on 127.0.0.1.

#[macro_use]
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Client, Rt, data, options, start, storage, users};
use ftp_server::storage::fs::FsStorage;
use socket2::SockRef;

on_both_runtimes!(
    synch_then_abor_in_one_burst,
    synch_then_abor_in_pieces,
    abor_sent_with_msg_oob,
    abor_mid_stor_with_urgent_data,
    unclosed_subnegotiation_is_answered,
    refused_transfer_keeps_the_data_connection,
    pipelining_during_a_download,
    wildcards_in_nlst_and_list,
);

#[cfg(unix)]
on_both_runtimes!(@unix replies_that_say_what_happened);

const BIG: usize = 16 << 20;

/// A server with one large file and alice logged in, a download of it under way that the test
/// does not read (so it is surely still running when the `ABOR` comes).
fn downloading(rt: Rt) -> (common::Running, Client, TcpStream) {
    let files = storage();
    files.insert_file("/big.bin", data(BIG, 7)).unwrap();
    let server = start(rt, files, users(), options());
    let mut c = binary(server.addr);
    let data = c.passive();
    assert_eq!(c.code("RETR /big.bin"), 150);
    (server, c, data)
}

/// alice, logged in, in binary mode.
fn binary(addr: std::net::SocketAddr) -> Client {
    let mut c = Client::login(addr, "alice", "wonderland");
    assert_eq!(c.code("TYPE I"), 200);
    c
}

/// Sends `bytes` as TCP urgent data: the kernel marks the last one.
fn send_urgent(stream: &TcpStream, bytes: &[u8]) {
    assert_eq!(
        SockRef::from(stream).send_out_of_band(bytes).unwrap(),
        bytes.len()
    );
}

/// After the abort: 426 for the transfer, 226 for the `ABOR`, and the session goes on.
fn aborted_and_usable(c: &mut Client, data: TcpStream) {
    assert_eq!(c.reply().code().as_u16(), 426);
    assert_eq!(c.reply().code().as_u16(), 226);
    drop(data);
    assert_eq!(c.code("NOOP"), 200);
    let (got, code) = c.retr("RETR /pub/readme.txt");
    assert_eq!((got.as_slice(), code), (&b"line one\nline two\n"[..], 226));
}

/// tnftp and inetutils ftp: `IAC IP IAC` as ordinary data with the `DM` as the urgent byte,
/// then `ABOR`, all arriving together: the server's read stops at the urgent mark, and the
/// rest must still be read at once.
fn synch_then_abor_in_one_burst(rt: Rt) {
    let (_server, mut c, data) = downloading(rt);
    c.ctl.set_nodelay(false).unwrap();
    c.send(b"\xff\xf4\xff");
    send_urgent(&c.ctl, b"\xf2");
    c.send(b"ABOR\r\n");
    aborted_and_usable(&mut c, data);
}

fn synch_then_abor_in_pieces(rt: Rt) {
    let (_server, mut c, data) = downloading(rt);
    c.ctl.set_nodelay(true).unwrap();
    c.send(b"\xff\xf4");
    std::thread::sleep(Duration::from_millis(50));
    c.send(b"\xff");
    std::thread::sleep(Duration::from_millis(50));
    send_urgent(&c.ctl, b"\xf2");
    std::thread::sleep(Duration::from_millis(50));
    c.send(b"AB");
    std::thread::sleep(Duration::from_millis(50));
    c.send(b"OR\r\n");
    aborted_and_usable(&mut c, data);
}

/// Python's ftplib: `sock.sendall(b"ABOR\r\n", MSG_OOB)`, so the LF is the urgent byte. Without
/// `SO_OOBINLINE` the kernel takes it out of the stream and the server waits for a line end.
fn abor_sent_with_msg_oob(rt: Rt) {
    let (_server, mut c, data) = downloading(rt);
    send_urgent(&c.ctl, b"ABOR\r\n");
    aborted_and_usable(&mut c, data);
}

fn abor_mid_stor_with_urgent_data(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = binary(server.addr);
    let mut data = c.passive();
    assert_eq!(c.code("STOR /part.bin"), 150);
    data.write_all(&[7; 64 << 10]).unwrap();
    send_urgent(&c.ctl, b"ABOR\r\n");
    assert_eq!(c.reply().code().as_u16(), 426);
    assert_eq!(c.reply().code().as_u16(), 226);
    drop(data);
    assert_eq!(c.code("NOOP"), 200);
    assert_eq!(c.stor("STOR /whole.bin", b"complete"), 226);
    assert_eq!(c.cmd("SIZE /whole.bin").to_string(), "213 8");
}

/// A Latin-1 name with `ÿú` (FF FA) that the client did not double reads as `IAC SB`, a
/// subnegotiation that never ends: the line end ends it, the line is answered, and the
/// commands after it are read.
fn unclosed_subnegotiation_is_answered(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = binary(server.addr);
    c.send(b"SIZE /pub/caf\xff\xfa.txt\r\nNOOP\r\n");
    assert_eq!(c.reply().code().as_u16(), 550);
    assert_eq!(c.reply().code().as_u16(), 200);
    assert_eq!(c.code("SIZE /pub/readme.txt"), 213);
}

/// basic-ftp connects the data channel, then sends the transfer command. A transfer refused
/// with 550 leaves that connection open (no reset, no end of stream), and the next transfer
/// uses it.
fn refused_transfer_keeps_the_data_connection(rt: Rt) {
    let server = start(rt, storage(), users(), options());
    let mut c = binary(server.addr);
    let mut data = c.passive();
    for refused in [
        "RETR /pub/missing.txt",
        "LIST /missing",
        "MLSD /pub/readme.txt",
    ] {
        assert_eq!(c.code(refused), 550, "{refused}");
        data.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut byte = [0; 1];
        let err = data
            .read(&mut byte)
            .expect_err("the data connection stays open, with nothing on it");
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "after {refused}: {err}"
        );
    }
    data.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    assert_eq!(c.code("RETR /pub/readme.txt"), 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"line one\nline two\n");
    assert_eq!(c.reply().code().as_u16(), 226);
    // A listing refused at the machine (no data channel is left after a transfer) is 425.
    assert_eq!(c.code("LIST /pub"), 425);
}

/// Replies that said something else than what happened: port 0, an offset no file has, a
/// FIFO's size, a directory retrieved, MLSD of a link to a file.
#[cfg(unix)]
fn replies_that_say_what_happened(rt: Rt) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f.txt"), b"hello").unwrap();
    std::fs::create_dir(root.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("f.txt", root.path().join("link")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(root.path().join("fifo"))
        .status()
        .unwrap();
    assert!(fifo.success());
    let server = start(rt, FsStorage::new(root.path()).unwrap(), users(), options());
    let mut c = binary(server.addr);
    assert_eq!(c.code("EPRT |1|127.0.0.1|0|"), 501);
    assert_eq!(c.code("PORT 127,0,0,1,0,0"), 501);
    let r = c.cmd("REST 18446744073709551615");
    assert_eq!(r.to_string(), "501 Restart offset out of range.");
    // The refused REST is not applied: the next RETR starts at 0.
    assert_eq!(c.retr("RETR f.txt"), (b"hello".to_vec(), 226));
    assert_eq!(c.cmd("SIZE fifo").to_string(), "550 Not a plain file.");
    assert_eq!(c.cmd("SIZE f.txt").to_string(), "213 5");
    let _data = c.passive();
    assert_eq!(c.cmd("RETR sub").to_string(), "550 Not a plain file.");
    assert_eq!(c.cmd("MLSD link").to_string(), "550 Not a directory.");
    // The listing shows the FIFO, as `ls` shows a type it does not know.
    assert_eq!(c.code("LIST"), 150);
}

/// A client that pipelines its next commands during a download (mirroring tools do) keeps
/// its download: the queue is bounded by bytes, not by a count of 16; QUIT then answers
/// every command before it.
fn pipelining_during_a_download(rt: Rt) {
    let files = storage();
    files.insert_file("/big.bin", data(BIG, 3)).unwrap();
    let server = start(rt, files, users(), options());
    let mut c = binary(server.addr);
    let mut data = c.passive();
    assert_eq!(c.code("RETR /big.bin"), 150);
    let mut pipelined = Vec::new();
    for i in 0..100 {
        pipelined.extend_from_slice(format!("SIZE /pub/missing-{i}.txt\r\n").as_bytes());
    }
    pipelined.extend_from_slice(b"PWD\r\nQUIT\r\nNOOP\r\n");
    c.send(&pipelined);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert!(got == data_of(3), "the whole file arrives");
    assert_eq!(c.reply().code().as_u16(), 226);
    for _ in 0..100 {
        assert_eq!(c.reply().code().as_u16(), 550);
    }
    assert_eq!(c.reply().code().as_u16(), 257);
    assert_eq!(c.reply().code().as_u16(), 221);
    assert!(c.try_reply().is_none(), "nothing after QUIT is answered");
}

fn data_of(seed: u64) -> Vec<u8> {
    data(BIG, seed)
}

/// `mget *` (tnftp, inetutils ftp) and `ncftpget host dir 'f*.bin'` send `NLST` with
/// wildcards in the last component and fetch each name returned.
fn wildcards_in_nlst_and_list(rt: Rt) {
    let files = storage();
    for name in ["/w/f1.bin", "/w/f2.bin", "/w/g.bin", "/w/.f3.bin", "/w/a*b"] {
        files.insert_file(name, &b"x"[..]).unwrap();
    }
    let server = start(rt, files, users(), options());
    let mut c = binary(server.addr);
    let nlst = |c: &mut Client, line: &str| {
        let (got, code) = c.retr(line);
        assert_eq!(code, 226, "{line}");
        let mut names: Vec<String> = String::from_utf8(got)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    };
    // Named as the client wrote the directory, so that each can be fetched as given.
    assert_eq!(nlst(&mut c, "NLST /w/f*.bin"), ["/w/f1.bin", "/w/f2.bin"]);
    assert_eq!(c.code("CWD /w"), 250);
    assert_eq!(nlst(&mut c, "NLST f?.bin"), ["f1.bin", "f2.bin"]);
    assert_eq!(nlst(&mut c, "NLST [fg]*"), ["f1.bin", "f2.bin", "g.bin"]);
    // `*` skips dot names, as the shell does; `.*` finds them.
    assert_eq!(nlst(&mut c, "NLST *"), ["a*b", "f1.bin", "f2.bin", "g.bin"]);
    assert_eq!(nlst(&mut c, "NLST .f*"), [".f3.bin"]);
    // A name that exists literally wins over the pattern.
    assert_eq!(nlst(&mut c, "NLST a*b"), ["a*b"]);
    // No match: an empty listing of a directory that exists.
    assert_eq!(nlst(&mut c, "NLST zz*"), Vec::<String>::new());
    let long = nlst(&mut c, "LIST f*");
    assert_eq!(long.len(), 2);
    assert!(
        long[0].ends_with(" f1.bin") && long[0].starts_with('-'),
        "{long:?}"
    );
    // MLSD takes no wildcards (RFC 3659 §7.1); neither does a missing directory.
    let _data = c.passive();
    assert_eq!(c.code("MLSD f*"), 550);
    assert_eq!(c.code("NLST /nowhere/f*"), 550);
}
